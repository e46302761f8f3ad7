package mallcoo

import (
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// TestCanonicalIsTheFullForm checks that Canonical of a marshalled wire
// type is its bytes unchanged (so content hashes of ledgers made before
// WireBody stay valid), and that WireBody loses nothing Canonical keeps.
func TestCanonicalIsTheFullForm(t *testing.T) {
	s := func(v string) *string { return &v }
	n := func(v int) *int { return &v }
	a := func(v string) *Amount { x := Amount(v); return &x }
	at := LocalTime{time.Date(2024, 11, 1, 10, 0, 0, 0, CST)}
	bodies := map[crmsync.Kind]any{
		crmsync.KindMember:    MemberNotice{Mobile: s("15155145475")},
		crmsync.KindGrade:     GradeInform{ThirdPartyCardID: "C1", BeforeCardCode: "A", AfterCardCode: "B", ChangeTime: at, GradeChangeType: n(1)},
		crmsync.KindScore:     ScoreInform{TransID: "T1", ThirdPartyCardID: "C1", ScoreEvent: 2101, TradeTime: at, TradeAmount: "10", CrmShopID: "S", ReturnTime: &at, ReturnAmount: a("10"), Score: "-10"},
		crmsync.KindScoreV2:   ScoreInformV2{TransID: "T2", ThirdPartyCardID: "C1", ScoreEvent: 1, TradeTime: at, PayAmount: "10", CrmShopID: "S", Score: "10", ConsumePayList: []Payment{{PayType: n(12), Amount: a("10")}}},
		crmsync.KindOverLimit: OverLimitInform{RefID: "R1", Value: s("5000")},
		crmsync.KindBonus:     BonusChange{ThirdPartyCardID: "C1", BonusAction: 4, GetBonus: "20", AfterBonus: "220", RefID: "R", CreateTime: at},
		crmsync.KindVerify:    VerifyInform{RefID: "R", BonusAction: 4, Bonus: "1", CurrentBonus: "2", BonusVerifyStatus: 1, BonusVerifyTime: at},
		crmsync.KindInvalid:   InvalidInform{RefID: "R", BonusAction: 4},
	}
	for k, v := range bodies {
		full, err := Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		c, err := Canonical(k, full)
		if err != nil || string(c) != string(full) {
			t.Errorf("Canonical(%s, %s) = %s, %v, want it unchanged", k, full, c, err)
		}
		wire := WireBody(k, full)
		if c, err := Canonical(k, wire); err != nil || string(c) != string(full) {
			t.Errorf("Canonical(%s, WireBody) = %s, %v, want %s", k, c, err, full)
		}
		if again := WireBody(k, wire); string(again) != string(wire) {
			t.Errorf("WireBody(%s, WireBody(x)) = %s, want %s", k, again, wire)
		}
		if err := CheckBody(k, wire); err != nil {
			t.Errorf("CheckBody(%s, %s) = %v", k, wire, err)
		}
	}
}

// TestCanonicalSameContent: forms an older crmsync sent are the same
// content as today's.
func TestCanonicalSameContent(t *testing.T) {
	for _, tc := range []struct {
		kind     crmsync.Kind
		old, new string
	}{
		{crmsync.KindOverLimit, `{"RefID":"R1","ShopCode":null,"Value":"5,000","RuleValue":"3000.0","BonusAction":null,"CurBonusAction":null,"BonusLimitSceneType":null,"BonusLimitObjType":null,"BonusLimitActionType":null,"BonusLimitTimeType":null,"Desc":null}`,
			`{"RefID":"R1","Value":"5000","RuleValue":"3000"}`},
		{crmsync.KindScore, `{"TransID":"T1","ThirdPartyCardID":"C","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":10,"CrmShopID":"S","TradeSerialNo":null,"PosID":null,"ReturnTime":"2024-11-02 10:00:00","ReturnAmount":5,"Score":10,"PayType":null}`,
			`{"TransID":"T1","ThirdPartyCardID":"C","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":10,"CrmShopID":"S","TradeSerialNo":"","PosID":"","ReturnTime":"","ReturnAmount":null,"Score":10}`},
	} {
		o, err1 := Canonical(tc.kind, []byte(tc.old))
		n, err2 := Canonical(tc.kind, []byte(tc.new))
		if err1 != nil || err2 != nil || string(o) != string(n) {
			t.Errorf("Canonical(%s):\nold %s (%v)\nnew %s (%v)\nwant equal", tc.kind, o, err1, n, err2)
		}
	}
}

func TestEachMember(t *testing.T) {
	for _, c := range []struct {
		body string
		want []string // name=value, in order
	}{
		{`{}`, nil},
		{` { "a" : 1 , "b":"x" } `, []string{`"a"=1`, `"b"="x"`}},
		{`{"a":"x\"y","b":"z\\","c":[1,{"d":"]"}],"e":null}`, []string{`"a"="x\"y"`, `"b"="z\\"`, `"c"=[1,{"d":"]"}]`, `"e"=null`}},
		{`{"a\"":true}`, []string{`"a\""=true`}},
	} {
		var got []string
		if !EachMember([]byte(c.body), func(name, val []byte) bool {
			got = append(got, string(name)+"="+string(val))
			return true
		}) {
			t.Errorf("EachMember(%s) = false, want true", c.body)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("EachMember(%s) met %q, want %q", c.body, got, c.want)
		}
	}
	for _, bad := range []string{``, `[1]`, `{"a":}`, `{"a":1`, `{"a" 1}`, `{"a":"x}`, `{"a":"x\"}`, `{"a":"x\\"`, `{"a":1}x`, `{a:1}`, `{"a":1,}`, `{"a":1 "b":2}`, `{,}`} {
		if EachMember([]byte(bad), func(name, val []byte) bool { return true }) {
			t.Errorf("EachMember(%q) = true, want false", bad)
		}
	}
}

func TestElements(t *testing.T) {
	for _, c := range []struct {
		body string
		want []string
	}{
		{`[]`, nil},
		{` [ 1 , "a]" ,{"b":[2]} ] `, []string{`1`, `"a]"`, `{"b":[2]}`}},
	} {
		var got []string
		if !elements([]byte(c.body), func(val []byte) bool {
			got = append(got, string(val))
			return true
		}) {
			t.Errorf("elements(%s) = false, want true", c.body)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("elements(%s) met %q, want %q", c.body, got, c.want)
		}
	}
	for _, bad := range []string{``, `{}`, `[1,]`, `[1 2]`, `[,]`, `[1`, `["a]`} {
		if elements([]byte(bad), func(val []byte) bool { return true }) {
			t.Errorf("elements(%q) = true, want false", bad)
		}
	}
}
