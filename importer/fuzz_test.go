package importer

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// FuzzCleanID: no panic; an accepted ID is the cell as written, trimmed
// (and unwrapped from '… or ="…"), and holds none of the characters or
// forms that are refused.
func FuzzCleanID(f *testing.F) {
	for _, s := range []string{"0201710000001", "'0201710000001", `="0201710000001"`, "1.23457E+11", "1.23457E11",
		"1.23457e11", "12.3457E+10", "201710000009.0", "#N/A", "TRUE", "２０１７", "2017\x0010", "2017\x1b10",
		"2017\t10", "2017\n10", "2017\u00a010", "2017\u200b10", "2017\u202e10", "2017😀", "金卡", "'00E1", " C1 ", "\ufeffC1"} {
		f.Add(s, uint8(0))
	}
	f.Add("201710000009", uint8(cellNumber))
	f.Add("1", uint8(cellBool))
	f.Fuzz(func(t *testing.T, s string, ct uint8) {
		in := trimCell(s)
		typ := cellType(ct % 5)
		if s != "" && printableASCII(s) {
			for _, forced := range []bool{false, true} {
				if a, b := cleanASCII(s, forced, typ, 20), cleanAny(s, forced, typ, 20); a != b {
					t.Fatalf("cleanASCII(%q, %v, %d) = %d, cleanAny = %d", s, forced, typ, a, b)
				}
			}
		}
		got, fault := cleanID(in, typ, mallcoo.MaxIDLen)
		if fault != idOK {
			return
		}
		if typ == cellBool || typ == cellError || typ == cellLongNumber {
			t.Fatalf("cleanID(%q, %d) accepted a %d cell", in, typ, typ)
		}
		forced := false
		switch {
		case got == in:
		case strings.HasPrefix(in, `="`) && trimCell(in[2:len(in)-1]) == got,
			(strings.HasPrefix(in, "'") || strings.HasPrefix(in, "‘") || strings.HasPrefix(in, "’")) && strings.HasSuffix(in, got):
			forced = true
		default:
			t.Fatalf("cleanID(%q) = %q: not the cell as written", in, got)
		}
		if got == "" {
			return
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > mallcoo.MaxIDLen {
			t.Fatalf("cleanID(%q) = %q: invalid UTF-8 or too long", in, got)
		}
		for _, r := range got {
			if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || (r != ' ' && unicode.IsSpace(r)) ||
				(r > 0x7f && unicode.IsDigit(r)) || (r >= 0xff01 && r <= 0xff5e && unicode.IsLetter(r)) || unicode.Is(unicode.So, r) {
				t.Fatalf("cleanID(%q) = %q: holds %U", in, got, r)
			}
		}
		if !forced && (sciRE.MatchString(got) || isFraction(got)) {
			t.Fatalf("cleanID(%q) = %q: scientific or fractional", in, got)
		}
		if isExcelError(got) {
			t.Fatalf("cleanID(%q) = %q: an error value", in, got)
		}
	})
}

// FuzzNumberText: no panic; a numeric cell's text has at most 15
// significant digits, no exponent, and is within a few doubles of the
// stored value; a value needing more digits is refused, not rounded.
func FuzzNumberText(f *testing.F) {
	for _, s := range []string{"1280.5", "100.09999999999999", "0.30000000000000004", "12345678901234567.89",
		"10000000000000001", "1.5E-3", "201710000009", "201710000009.5", "1E+300", "-0", "0", "4.9E-324", "abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got, ct := numberText(raw)
		v, err := strconv.ParseFloat(raw, 64)
		switch ct {
		case cellText:
			if err == nil && !math.IsInf(v, 0) && !math.IsNaN(v) {
				t.Fatalf("numberText(%q): a number read as text", raw)
			}
		case cellLongNumber:
			if sigDigits(raw) <= 15 || got != raw {
				t.Fatalf("numberText(%q) = %q: refused a number of %d significant digits", raw, got, sigDigits(raw))
			}
		case cellNumber:
			if strings.ContainsAny(got, "eE") || sigDigits(got) > 15 {
				t.Fatalf("numberText(%q) = %q: exponent or more than 15 digits", raw, got)
			}
			g, err := strconv.ParseFloat(got, 64)
			if err != nil || !near(g, v, 8) {
				t.Fatalf("numberText(%q) = %q: not the stored value", raw, got)
			}
			if sigDigits(raw) <= 15 {
				if a, b := mallcoo.ParseAmount(got); b == nil {
					if r, err := mallcoo.ParseAmount(strings.TrimPrefix(raw, "+")); err == nil && r != a {
						t.Fatalf("numberText(%q) = %q, but the stored decimal is %q", raw, got, r)
					}
				}
			}
		}
	})
}

// FuzzListCell: no panic, and the same cell always reads the same way.
func FuzzListCell(f *testing.F) {
	for _, s := range []string{`[{"PayType":12,"Amount":"10","支付金额":"1000"}]`, `[{"PayType":12,"Amount":10,"Amount":1000}]`,
		`{"PayType":12,"Amount":"10"}`, `[{"PayType":1},{"支付方式":2}]`, `[1]`, `[{"x":[1]}]`, `[]`, `[{}] x`} {
		f.Add(s)
	}
	it := mallcoo.SpecOf(crmsync.KindScoreV2).Items["ConsumePayList"]
	f.Fuzz(func(t *testing.T, cell string) {
		a, errA := parseListJSON(it, cell)
		b, errB := parseListJSON(it, cell)
		if (errA == nil) != (errB == nil) || strings.Join(flat(a), "|") != strings.Join(flat(b), "|") {
			t.Fatalf("parseListJSON(%q) is not deterministic: %v %v / %v %v", cell, a, errA, b, errB)
		}
	})
}

func flat(items [][]string) []string {
	var out []string
	for _, it := range items {
		out = append(out, strings.Join(it, ","))
	}
	return out
}
