package ledger

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

func TestValuesRoundTrip(t *testing.T) {
	for _, vs := range [][]string{
		nil,
		{},
		{""},
		{"T1", "C00001234", "2026-11-24 10:00:00", "12.50", ""},
		{"门店 A", "积分", "a,b", "[x]"},
		{`say "hi"`, `back\slash`, "tab\there", "line\nbreak", "\x01", "<&>"},
		{"bad \xff utf-8"},
	} {
		b := appendValues(nil, vs)
		if !json.Valid(b) {
			t.Errorf("appendValues(%q) = %s, not valid JSON", vs, b)
		}
		got, err := parseValues(b)
		if err != nil {
			t.Errorf("parseValues(%s) = %v", b, err)
			continue
		}
		var want []string
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("parseValues(%s) mismatch with encoding/json (-want +got):\n%s", b, diff)
		}
		if utf8.ValidString(strings.Join(vs, "")) { // else encoding/json's U+FFFD stands in

			if diff := cmp.Diff(vs, got); diff != "" {
				t.Errorf("parseValues(appendValues(%q)) mismatch (-want +got):\n%s", vs, diff)
			}
		}
	}
}

func TestParseValuesRefusesMalformed(t *testing.T) {
	for _, b := range []string{``, `[`, `["a"`, `["a",]`, `["a" "b"]`, `[1]`, `{}`} {
		if vs, err := parseValues([]byte(b)); err == nil {
			t.Errorf("parseValues(%q) = %q, nil; want an error", b, vs)
		}
	}
}

// TestCellsRoundTrip: the compact encoding gives back every value list
// exactly (bytes that are not UTF-8 too), and is shorter than JSON unless
// a value holds its separator (then it is JSON).
func TestCellsRoundTrip(t *testing.T) {
	for _, vs := range [][]string{
		nil,
		{},
		{""},
		{"", ""},
		{"T1", "C00001234", "2026-11-24 10:00:00", "12.50", ""},
		{"门店 A", "积分", "a,b", "[x]"},
		{`say "hi"`, `back\slash`, "tab\there", "line\nbreak", "\x01", "<&>"},
		{"a\x1fb", "c"},
		{"bad \xff utf-8"},
	} {
		b := appendCells(nil, vs)
		got, err := parseValues(b)
		if err != nil {
			t.Errorf("parseValues(appendCells(%q)) = %v", vs, err)
			continue
		}
		if diff := cmp.Diff(vs, got); diff != "" {
			t.Errorf("parseValues(appendCells(%q)) mismatch (-want +got):\n%s", vs, diff)
		}
		if len(vs) > 0 && !strings.Contains(strings.Join(vs, ""), "\x1f") && len(b) >= len(appendValues(nil, vs)) {
			t.Errorf("appendCells(%q) = %d bytes, not shorter than JSON", vs, len(b))
		}
	}
}

// TestHashRoundTrip: a content hash is stored as its 32 bytes and reads
// back as the same text; anything else (old or foreign text) is kept.
func TestHashRoundTrip(t *testing.T) {
	h := crmsync.ContentHash(crmsync.KindScore, []byte(`{"a":1}`))
	if b, ok := hashArg(h).([]byte); !ok || len(b) != 32 {
		t.Errorf("hashArg(%s) = %v, want 32 bytes", h, hashArg(h))
	}
	for _, s := range []string{h, "", "abc", strings.ToUpper(h), "z" + h[1:], h[:63] + "g", h[:63] + "F"} {
		var b []byte
		switch v := hashArg(s).(type) {
		case []byte:
			b = v
		case string:
			b = []byte(v)
		}
		if got := hashText(b); got != s {
			t.Errorf("hashText(hashArg(%q)) = %q", s, got)
		}
	}
}
