package ledger

import (
	"bytes"
	"testing"
)

// TestBodyCodec: a stored body decodes to the very bytes stored, whatever
// they hold; field names of mallcoo's bodies take a token of one or two
// bytes, and a body the encoding cannot hold is stored as it is.
func TestBodyCodec(t *testing.T) {
	score := `{"TransID":"T20241101000101","ThirdPartyCardID":"0201710000001","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","TradeAmount":1280.5,"CrmShopID":"S0012","TradeSerialNo":"POS-88812","PosID":"POS01","ReturnTime":"","ReturnAmount":null,"Score":1280}`
	for _, body := range []string{
		score,
		`{"RefID":"OL1","ShopCode":"S0102","BonusLimitTimeType":1,"BonusVerifyTime":"x","Desc":"%e5%8d%95"}`,
		`{"Remark":"quote \"TransID\": inside","TransID":"\"","Unknown":1,"TransID"}`, // names in values, unknown, no colon
		`{"TransID":`, `"`, `""`, `"TransID"`, `{"a":"b"}`, `{}`, ``,
		"{\"TransID\":\"tab\tin\"}", // a control byte: stored as it is
		"\x00\x01raw", "\x00",       // start like an encoded body
		`{"价格":"一二三","TransID":"中文"}`,
	} {
		stored := encodeBody(nil, []byte(body))
		got, err := decodeBody(stored)
		if err != nil || !bytes.Equal(got, []byte(body)) {
			t.Errorf("decodeBody(encodeBody(%q)) = %q, %v", body, got, err)
		}
		if bytes.ContainsAny([]byte(body), "\x01\t") && !bytes.HasSuffix(stored, []byte(body)) {
			t.Errorf("encodeBody(%q) = %q, want the body as it is", body, stored)
		}
	}
	if n := len(encodeBody(nil, []byte(score))); n > len(score)-120 {
		t.Errorf("a score body of %d bytes is stored in %d, want ≤ %d", len(score), n, len(score)-120)
	}
	// Bodies stored before schema 8 read as they are.
	if got, err := decodeBody([]byte(score)); err != nil || string(got) != score {
		t.Errorf("decodeBody(a body stored as it is) = %q, %v", got, err)
	}
	for _, bad := range []string{"\x00\x1f", "\x00\x1f\xff", "\x00{\x00}"} {
		if got, err := decodeBody([]byte(bad)); err == nil {
			t.Errorf("decodeBody(%q) = %q, want an error", bad, got)
		}
	}
}

// TestBodyFieldsUnique: every token stands for one name.
func TestBodyFieldsUnique(t *testing.T) {
	if len(bodyFields) > bodyNarrow+packDateTime {
		t.Fatalf("%d field names, more than tokens", len(bodyFields))
	}
	seen := map[string]bool{}
	for _, f := range bodyFields {
		if seen[f] || len(f) < 4 || f[0] != '"' || f[len(f)-2:] != `":` {
			t.Errorf("field token %q: duplicate or not a quoted name and colon", f)
		}
		seen[f] = true
	}
}
