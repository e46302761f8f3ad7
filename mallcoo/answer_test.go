package mallcoo

import (
	"encoding/json"
	"testing"
)

// jsonAnswer is the reading of an answer decodeAnswer must agree with:
// encoding/json's.
func jsonAnswer(raw []byte) (code int, message string, err error) {
	var a answer
	if err := json.Unmarshal(raw, &a); err != nil {
		return 0, "", err
	}
	if a.Code == nil {
		return 0, "", errNoCode
	}
	if a.Message != nil {
		message = *a.Message
	}
	return *a.Code, message, nil
}

// TestFastAnswer: the answers Mallcoo gives (and mallcootest's) are read by
// hand, the same as encoding/json reads them; the others are left to it.
func TestFastAnswer(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		fast bool
	}{
		{`{"Code":1,"Message":"成功","Extension":[]}`, true},
		{`{"Code":1,"Message":"成功"}`, true},
		{`{"Code":-1,"Message":"签名错误"}`, true},
		{`{"Code":1001,"Message":null}`, true},
		{` { "Message" : "x" , "Code" : 307 , "Extension" : null } ` + "\n", true},
		{`{"Code":1,"Extension":{},"Data":"a","N":12,"T":true,"F":false}`, true},
		{`{"Code":1}`, true},
		{`{"code":1,"Message":"lower-case name"}`, false},
		{`{"Code":1,"Code":2}`, false},
		{`{"Code":1.0}`, false},
		{`{"Code":"1"}`, false},
		{`{"Code":null}`, false},
		{`{"Message":"no code"}`, false},
		{`{}`, false},
		{`{"Code":1,"Message":"a\"b"}`, false},
		{`{"Code":1,"Extension":[1]}`, false},
		{`{"Code":01}`, false},
		{`{"Code":1}x`, false},
		{`{"Code":1,}`, false},
		{"{\"Code\":1,\"Message\":\"\xff\"}", false},
		{`<html>502</html>`, false},
		{``, false},
	} {
		code, msg, ok := fastAnswer([]byte(tc.raw))
		if ok != tc.fast {
			t.Errorf("fastAnswer(%q) ok = %v, want %v", tc.raw, ok, tc.fast)
		}
		wantCode, wantMsg, wantErr := jsonAnswer([]byte(tc.raw))
		if ok && (wantErr != nil || code != wantCode || msg != wantMsg) {
			t.Errorf("fastAnswer(%q) = %d, %q; encoding/json: %d, %q, %v", tc.raw, code, msg, wantCode, wantMsg, wantErr)
		}
		gotCode, gotMsg, gotErr := decodeAnswer([]byte(tc.raw))
		if gotCode != wantCode || gotMsg != wantMsg || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("decodeAnswer(%q) = %d, %q, %v; want %d, %q, %v", tc.raw, gotCode, gotMsg, gotErr, wantCode, wantMsg, wantErr)
		}
	}
}

// FuzzFastAnswer: where fastAnswer reads an answer, encoding/json reads
// the same Code and Message without error.
func FuzzFastAnswer(f *testing.F) {
	for _, s := range []string{
		`{"Code":1,"Message":"成功","Extension":[]}`,
		`{"Code":-1,"Message":null}`,
		` {"Message":"x","Code":307,"T":true,"F":false,"N":null,"O":{ }} `,
		`{"code":1}`, `{"Code":1,"Code":2}`, `{"Code":1e3}`, `{"CODE":1,"Code":2}`,
		`{"Code":123456789012345678}`, `{"Code":-0}`, `{"Code":1,"Message":"\u6210"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		code, msg, ok := fastAnswer(raw)
		if !ok {
			return
		}
		wantCode, wantMsg, err := jsonAnswer(raw)
		if err != nil || code != wantCode || msg != wantMsg {
			t.Errorf("fastAnswer(%q) = %d, %q; encoding/json: %d, %q, %v", raw, code, msg, wantCode, wantMsg, err)
		}
	})
}
