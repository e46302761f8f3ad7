package ledger

import (
	"bytes"
	"fmt"
)

// Request bodies are stored with their JSON field names replaced by short
// tokens (schema 8). Field names are half a body or more (a score body:
// 150 of its 242 bytes), and there are only the few dozen of mallcoo's wire
// types. The encoding is exact: decoding gives back the body's bytes, which
// are what is hashed, signed and sent.
//
// A stored body that starts with bodyMark is encoded; anything else (every
// body stored before schema 8, or one the encoding cannot hold) is the body
// as it is. In the encoded form a byte below 0x1f stands for
// bodyFields[b-1], and bodyWide followed by a byte i for bodyFields[30+i];
// every other byte is itself, but bodyWide followed by packDateTime or
// packDigits, a packed date-time or run of digits (schema 10, pack.go).
// A body holding a control byte (which JSON
// never has outside whitespace, and Marshal writes none) is stored as it
// is (behind two bodyMarks if it starts with one).
const (
	bodyMark = 0x00
	bodyWide = 0x1f
)

// bodyFields are the tokens: `"Name":` for each field name of mallcoo's
// request bodies (mallcoo/wire.go), the most common first. Stored bodies
// depend on this list: never reorder it or remove from it; append only.
var bodyFields = [...]string{
	// 1-byte tokens (30): the fields of the most frequent kinds.
	`"ThirdPartyCardID":`, `"TransID":`, `"ScoreEvent":`, `"TradeTime":`, `"TradeAmount":`,
	`"CrmShopID":`, `"TradeSerialNo":`, `"PosID":`, `"ReturnTime":`, `"ReturnAmount":`,
	`"Score":`, `"PayType":`, `"RefID":`, `"BonusAction":`, `"Desc":`,
	`"GetBonus":`, `"AfterBonus":`, `"CreateTime":`, `"BeforeCardCode":`, `"AfterCardCode":`,
	`"ChangeType":`, `"ChangeTime":`, `"Remark":`, `"GradeChangeRuleID":`, `"GradeChangeType":`,
	`"GradeChangeID":`, `"Mobile":`, `"PayAmount":`, `"TotalAmount":`, `"PromotionAmount":`,
	// 2-byte tokens.
	`"ConsumePromotionList":`, `"ConsumePayList":`, `"PromotionType":`, `"RuleNo":`, `"No":`,
	`"Amount":`, `"PayNo":`, `"Value":`, `"ShopCode":`, `"RuleValue":`,
	`"CurBonusAction":`, `"BonusLimitSceneType":`, `"BonusLimitObjType":`, `"BonusLimitActionType":`, `"BonusLimitTimeType":`,
	`"Bonus":`, `"CurrentBonus":`, `"BonusVerifyStatus":`, `"BonusVerifyTime":`,
}

const bodyNarrow = 30 // bodyFields with a 1-byte token

// bodyByName maps a field name (without its quotes and colon) to its
// index in bodyFields.
var bodyByName = func() map[string]int {
	m := make(map[string]int, len(bodyFields))
	for i, f := range bodyFields {
		m[f[1:len(f)-2]] = i
	}
	return m
}()

// encodeBody appends the stored form of body to dst.
func encodeBody(dst, body []byte) []byte {
	if dst == nil {
		dst = make([]byte, 0, len(body)+2) // one allocation: never longer than that
	}
	for _, c := range body {
		if c < 0x20 {
			if body[0] == bodyMark { // would read as encoded
				dst = append(dst, bodyMark, bodyMark)
			}
			return append(dst, body...)
		}
	}
	dst = append(dst, bodyMark)
	for i := 0; i < len(body); {
		c := body[i]
		if c == '"' {
			// A name: '"' Name '"' ':' with no quote or backslash inside.
			if end := bytes.IndexByte(body[i+1:], '"'); end >= 0 && i+1+end+1 < len(body) && body[i+1+end+1] == ':' {
				name := body[i+1 : i+1+end]
				if n, ok := bodyByName[string(name)]; ok {
					if n < bodyNarrow {
						dst = append(dst, byte(n+1))
					} else {
						dst = append(dst, bodyWide, byte(n-bodyNarrow))
					}
					i += end + 3
					continue
				}
			}
		}
		// A date-time or a long run of digits, packed (pack.go).
		if d, n := packAt(dst, body, i, bodyWide); n > 0 {
			dst, i = d, i+n
			continue
		}
		dst = append(dst, c)
		i++
	}
	return dst
}

// decodeBody returns the body stored as b (encodeBody).
func decodeBody(b []byte) ([]byte, error) {
	if len(b) == 0 || b[0] != bodyMark {
		return b, nil
	}
	if len(b) > 1 && b[1] == bodyMark {
		return b[2:], nil // stored as it is behind two marks
	}
	out := make([]byte, 0, 2*len(b))
	for i := 1; i < len(b); i++ {
		c := b[i]
		switch {
		case c == bodyWide && i+1 < len(b) && b[i+1] >= packDateTime:
			var n int
			var err error
			if out, n, err = unpackRun(out, b[i+1], b[i+2:]); err != nil {
				return nil, fmt.Errorf("stored body: %w at byte %d", err, i)
			}
			i += 1 + n
		case c == bodyWide:
			if i+1 >= len(b) || bodyNarrow+int(b[i+1]) >= len(bodyFields) {
				return nil, fmt.Errorf("stored body: bad field token at byte %d", i)
			}
			i++
			out = append(out, bodyFields[bodyNarrow+int(b[i])]...)
		case c < 0x20:
			if c == 0 || int(c) > bodyNarrow {
				return nil, fmt.Errorf("stored body: bad field token at byte %d", i)
			}
			out = append(out, bodyFields[c-1]...)
		default:
			out = append(out, c)
		}
	}
	return out, nil
}

// storedBody scans a stored body column, decoding it (nil for NULL).
type storedBody []byte

func (s *storedBody) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s = nil
		return nil
	case []byte:
		b, err := decodeBody(v)
		if err != nil {
			return err
		}
		if len(b) > 0 && &b[0] == &v[0] {
			b = bytes.Clone(b) // the driver reuses its buffer
		}
		*s = b
		return nil
	case string:
		b, err := decodeBody([]byte(v))
		*s = b
		return err
	}
	return fmt.Errorf("stored body: cannot scan %T", src)
}

// sameBody reports whether stored (as stored, in any encoding an older
// crmsync wrote) is body.
func sameBody(stored, body []byte) bool {
	b, err := decodeBody(stored)
	return err == nil && bytes.Equal(b, body)
}
