package mallcoo_test

import (
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync/mallcoo"
)

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]string{
		"1,280.50": "1280.5", " 99.9 ": "99.9", "+20": "20", "-0.50": "-0.5", "0": "0", "-0": "0",
		"007.5": "7.5", ".5": "0.5", "100.00": "100", "￥12.30": "12.3", "100.09999999": "100.09999999",
	} {
		got, err := mallcoo.ParseAmount(in)
		if err != nil || string(got) != want {
			t.Errorf("ParseAmount(%q) = %q, %v; want %q", in, got, err, want)
		}
		b, err := got.MarshalJSON()
		if err != nil || string(b) != want {
			t.Errorf("Amount(%q).MarshalJSON() = %s, %v; want %s", got, b, err, want)
		}
	}
	for _, in := range []string{"", "abc", "12,3x.00", "1e5", "1.2.3", "--1", "NaN", "1.23457E+11", ".", "-.", "+.", "¥.", "¥"} {
		if got, err := mallcoo.ParseAmount(in); err == nil {
			t.Errorf("ParseAmount(%q) = %q, want an error", in, got)
		}
	}
	for _, bad := range []mallcoo.Amount{"", "01", "1.", "-", "1e5", "+1", " 1"} {
		if b, err := bad.MarshalJSON(); err == nil {
			t.Errorf("Amount(%q).MarshalJSON() = %s, want an error (not canonical)", bad, b)
		}
	}
}

func TestMarshalBody(t *testing.T) {
	desc := mallcoo.URLText("测试备注")
	body, err := mallcoo.Marshal(mallcoo.BonusChange{
		ThirdPartyCardID: "0201610000095", BonusAction: 4, GetBonus: "20", AfterBonus: "220.5", RefID: "12ddd3",
		CreateTime: mallcoo.LocalTime{Time: time.Date(2020, 6, 24, 7, 16, 45, 0, time.UTC)}, Desc: &desc,
	})
	want := `{"ThirdPartyCardID":"0201610000095","BonusAction":4,"GetBonus":20,"AfterBonus":220.5,"RefID":"12ddd3","CreateTime":"2020-06-24 15:16:45","Desc":"%e6%b5%8b%e8%af%95%e5%a4%87%e6%b3%a8"}`
	if err != nil || string(body) != want {
		t.Errorf("Marshal(BonusChange) = %s, %v\nwant %s", body, err, want)
	}
	if _, err := mallcoo.Marshal(mallcoo.InvalidInform{RefID: "x", BonusAction: 1}); err != nil {
		t.Errorf("Marshal(InvalidInform without Desc) = %v", err)
	}
	if _, err := mallcoo.Marshal(mallcoo.GradeInform{ThirdPartyCardID: "1"}); err == nil {
		t.Errorf("Marshal(GradeInform with a zero ChangeTime) succeeded, want an error")
	}
	if got := mallcoo.URLEncode("a b&c/测"); got != "a+b%26c%2f%e6%b5%8b" {
		t.Errorf("URLEncode = %q", got)
	}
}

// Every form ParseAmount accepts, and every one it refuses with the fault
// that names what is wrong (the reason a person reads is built from it).
func TestParseAmountForms(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"1280.50", "1280.5"}, {"-0.5", "-0.5"}, {".5", "0.5"}, {"-.5", "-0.5"}, {"1,280.50", "1280.5"},
		{"1,234,567", "1234567"}, {"1，280.50", "1280.5"}, {"¥1,280.50", "1280.5"}, {"￥12.30", "12.3"},
		{"¥ 12", "12"}, {"-¥5", "-5"}, {"¥-5", "-5"}, {"+¥5", "5"}, {"+20", "20"}, {"007.5", "7.5"},
		{"12345678901234567.89", "12345678901234567.89"}, {"0.000", "0"}, {"-0", "0"}, {"999,999.999", "999999.999"},
	} {
		got, err := mallcoo.ParseAmount(tc.in)
		if err != nil || string(got) != tc.want {
			t.Errorf("ParseAmount(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, tc := range []struct {
		in   string
		want mallcoo.AmountFault
	}{
		{"12,34", mallcoo.BadGrouping}, {"1,2,3", mallcoo.BadGrouping}, {"1.234,56", mallcoo.BadGrouping},
		{"1,,234", mallcoo.BadGrouping}, {",123", mallcoo.BadGrouping}, {"1,234,56", mallcoo.BadGrouping},
		{"1234,567", mallcoo.BadGrouping}, {"0,123", mallcoo.BadGrouping}, {"1,234.567,8", mallcoo.BadGrouping},
		{"1,234，567", mallcoo.BadGrouping}, {"1,234,", mallcoo.BadGrouping}, {"1.234.567", mallcoo.BadGrouping},
		{"+-5", mallcoo.BadSign}, {"--5", mallcoo.BadSign}, {"-+5", mallcoo.BadSign}, {"5-", mallcoo.BadSign},
		{"-¥-5", mallcoo.BadSign}, {"1-2", mallcoo.BadSign},
		{"1e3", mallcoo.Exponent}, {"1.23457E+11", mallcoo.Exponent}, {"1E-3", mallcoo.Exponent},
		{"5%", mallcoo.Percent}, {"5％", mallcoo.Percent},
		{"1 234", mallcoo.InnerSpace}, {"1\u00a0234", mallcoo.InnerSpace}, {"1\t234", mallcoo.InnerSpace},
		{"TRUE", mallcoo.NotANumber}, {"FALSE", mallcoo.NotANumber}, {"#N/A", mallcoo.NotANumber},
		{"#VALUE!", mallcoo.NotANumber}, {"#DIV/0!", mallcoo.NotANumber}, {"#REF!", mallcoo.NotANumber},
		{"#NAME?", mallcoo.NotANumber}, {"#NUM!", mallcoo.NotANumber}, {"#NULL!", mallcoo.NotANumber},
		{"5.", mallcoo.NotANumber}, {"1.2.3", mallcoo.BadGrouping}, {"", mallcoo.NotANumber}, {"¥", mallcoo.NotANumber},
		{"-.", mallcoo.NotANumber}, {"１２", mallcoo.NotANumber}, {"CNY12", mallcoo.NotANumber}, {"12元", mallcoo.NotANumber},
		{"¥¥5", mallcoo.NotANumber}, {"NaN", mallcoo.NotANumber}, {"Inf", mallcoo.NotANumber}, {"0x10", mallcoo.NotANumber},
		{"123456789012345678901", mallcoo.TooLong},
	} {
		got, err := mallcoo.ParseAmount(tc.in)
		var ae *mallcoo.AmountError
		if !errors.As(err, &ae) || ae.Fault != tc.want {
			t.Errorf("ParseAmount(%q) = %q, %v; want fault %d", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseAmount: no panic; an accepted amount is canonical, parses back
// to itself and means what the input means once padding, the currency sign
// and valid grouping are removed.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"1280.50", "-0.5", ".5", "1,280.50", "1，280", "¥-5", "-¥5", "12,34", "1,2,3",
		"1.234,56", "+-5", "--5", "1,,234", ",123", "1 234", "TRUE", "#N/A", "5%", "1e3", "007.5", "0", "-0",
		"12345678901234567.89", "999,999,999.99", "¥ 1,234"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := mallcoo.ParseAmount(s)
		if err != nil {
			var ae *mallcoo.AmountError
			if !errors.As(err, &ae) {
				t.Fatalf("ParseAmount(%q) error %v is not an *AmountError", s, err)
			}
			return
		}
		if b, err := a.MarshalJSON(); err != nil || string(b) != string(a) {
			t.Fatalf("ParseAmount(%q) = %q, not canonical (%v)", s, a, err)
		}
		if again, err := mallcoo.ParseAmount(string(a)); err != nil || again != a {
			t.Fatalf("ParseAmount(%q) = %q, which reads back as %q, %v", s, a, again, err)
		}
		ref := strings.TrimSpace(s)
		ref = strings.NewReplacer("¥", "", "￥", "", ",", "", "，", "", " ", "").Replace(ref)
		ref = strings.TrimPrefix(ref, "+")
		if strings.ContainsAny(ref, "eE/xXpP_") {
			t.Fatalf("ParseAmount(%q) = %q: accepted an exponent, fraction or base prefix", s, a)
		}
		want, ok := new(big.Rat).SetString(ref)
		got, ok2 := new(big.Rat).SetString(string(a))
		if !ok || !ok2 || want.Cmp(got) != 0 {
			t.Fatalf("ParseAmount(%q) = %q, but the input means %q", s, a, ref)
		}
		if g := strings.Count(s, ",") + strings.Count(s, "，"); g > 0 {
			// Grouped: every group after the first has three digits.
			intPart := strings.TrimLeft(strings.NewReplacer("¥", "", "￥", "", " ", "", "+", "", "-", "").Replace(strings.TrimSpace(s)), "")
			if i := strings.IndexByte(intPart, '.'); i >= 0 {
				intPart = intPart[:i]
			}
			parts := strings.FieldsFunc(intPart, func(r rune) bool { return r == ',' || r == '，' })
			if len(parts) != g+1 {
				t.Fatalf("ParseAmount(%q) = %q: accepted an empty group", s, a)
			}
			for _, p := range parts[1:] {
				if len(p) != 3 {
					t.Fatalf("ParseAmount(%q) = %q: accepted a group of %d digits", s, a, len(p))
				}
			}
		}
	})
}
