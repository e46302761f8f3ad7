package mallcoo_test

import (
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
