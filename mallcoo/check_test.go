package mallcoo

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// vendorExample returns the vendor's example body of kind, verbatim
// (testdata/vendor, copied from mallcoo-crm-api.txt).
func vendorExample(t testing.TB, kind crmsync.Kind) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vendor", string(kind)+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckBodyVendorExamples(t *testing.T) {
	for _, k := range crmsync.Kinds {
		if err := CheckBody(k, vendorExample(t, k)); err != nil {
			t.Errorf("CheckBody(%s, vendor example) = %v, want nil", k, err)
		}
	}
}

// mutate returns kind's vendor example with f applied to its fields.
func mutate(t *testing.T, kind crmsync.Kind, f func(m map[string]any)) []byte {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(vendorExample(t, kind)))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	f(m)
	b, err := Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckBodyRejects(t *testing.T) {
	num := func(s string) json.Number { return json.Number(s) }
	cases := []struct {
		name  string
		kind  crmsync.Kind
		f     func(m map[string]any)
		field string
	}{
		{"member without card or mobile", crmsync.KindMember, func(m map[string]any) { m["ThirdPartyCardID"] = nil; m["Mobile"] = "" }, "ThirdPartyCardID"},
		{"member bad mobile", crmsync.KindMember, func(m map[string]any) { m["Mobile"] = "1515514547" }, "Mobile"},
		{"member card as number", crmsync.KindMember, func(m map[string]any) { m["ThirdPartyCardID"] = num("201610000343") }, "ThirdPartyCardID"},
		{"unknown field", crmsync.KindMember, func(m map[string]any) { m["Foo"] = 1 }, "Foo"},
		{"wrong case field", crmsync.KindMember, func(m map[string]any) { delete(m, "Mobile"); m["mobile"] = "15155145475" }, "mobile"},
		{"grade missing required", crmsync.KindGrade, func(m map[string]any) { delete(m, "AfterCardCode") }, "AfterCardCode"},
		{"grade required empty", crmsync.KindGrade, func(m map[string]any) { m["BeforeCardCode"] = "" }, "BeforeCardCode"},
		{"grade required null", crmsync.KindGrade, func(m map[string]any) { m["ThirdPartyCardID"] = nil }, "ThirdPartyCardID"},
		{"grade closed enum", crmsync.KindGrade, func(m map[string]any) { m["ChangeType"] = num("2") }, "ChangeType"},
		{"grade int as string", crmsync.KindGrade, func(m map[string]any) { m["ChangeType"] = "0" }, "ChangeType"},
		{"grade int with fraction", crmsync.KindGrade, func(m map[string]any) { m["ChangeType"] = num("0.5") }, "ChangeType"},
		{"grade optional enum", crmsync.KindGrade, func(m map[string]any) { m["GradeChangeType"] = num("3") }, "GradeChangeType"},
		{"grade long as string", crmsync.KindGrade, func(m map[string]any) { m["GradeChangeRuleID"] = "12" }, "GradeChangeRuleID"},
		{"grade datetime layout", crmsync.KindGrade, func(m map[string]any) { m["ChangeTime"] = "2018/09/10 12:13:34" }, "ChangeTime"},
		{"grade datetime date only", crmsync.KindGrade, func(m map[string]any) { m["ChangeTime"] = "2018-09-10" }, "ChangeTime"},
		{"score amount as string", crmsync.KindScore, func(m map[string]any) { m["TradeAmount"] = "100" }, "TradeAmount"},
		{"score amount beyond fen", crmsync.KindScore, func(m map[string]any) { m["TradeAmount"] = num("12.345") }, "TradeAmount"},
		{"score event not closed", crmsync.KindScore, func(m map[string]any) { m["ScoreEvent"] = num("2") }, "ScoreEvent"},
		{"score sale negative", crmsync.KindScore, func(m map[string]any) { m["Score"] = num("-1") }, "Score"},
		{"score return without time", crmsync.KindScore, func(m map[string]any) {
			m["ScoreEvent"] = num("2101")
			m["ReturnAmount"] = num("100")
			m["Score"] = num("-100")
		}, "ReturnTime"},
		{"score return without amount", crmsync.KindScore, func(m map[string]any) {
			m["ScoreEvent"] = num("2101")
			m["ReturnTime"] = "2017-06-17 10:00:00"
			m["Score"] = num("-100")
		}, "ReturnAmount"},
		{"score return positive", crmsync.KindScore, func(m map[string]any) {
			m["ScoreEvent"] = num("2101")
			m["ReturnTime"] = "2017-06-17 10:00:00"
			m["ReturnAmount"] = num("100")
		}, "Score"},
		{"score-v2 list not array", crmsync.KindScoreV2, func(m map[string]any) { m["ConsumePayList"] = map[string]any{} }, "ConsumePayList"},
		{"score-v2 item unknown field", crmsync.KindScoreV2, func(m map[string]any) {
			m["ConsumePayList"] = []any{map[string]any{"PayType": num("1"), "Bogus": "x"}}
		}, "ConsumePayList[0].Bogus"},
		{"score-v2 item bad type", crmsync.KindScoreV2, func(m map[string]any) {
			m["ConsumePromotionList"] = []any{map[string]any{"Amount": "200"}}
		}, "ConsumePromotionList[0].Amount"},
		{"score-v2 item not object", crmsync.KindScoreV2, func(m map[string]any) { m["ConsumePayList"] = []any{num("1")} }, "ConsumePayList[0]"},
		{"score-v2 has v1 field", crmsync.KindScoreV2, func(m map[string]any) { m["TradeAmount"] = num("100") }, "TradeAmount"},
		{"bonus raw Chinese desc", crmsync.KindBonus, func(m map[string]any) { m["Desc"] = "测试备注" }, "Desc"},
		{"bonus desc with space", crmsync.KindBonus, func(m map[string]any) { m["Desc"] = "a b" }, "Desc"},
		{"bonus desc bad escape", crmsync.KindBonus, func(m map[string]any) { m["Desc"] = "100%" }, "Desc"},
		{"verify status not closed", crmsync.KindVerify, func(m map[string]any) { m["BonusVerifyStatus"] = num("0") }, "BonusVerifyStatus"},
		{"verify status as string", crmsync.KindVerify, func(m map[string]any) { m["BonusVerifyStatus"] = "1" }, "BonusVerifyStatus"},
		{"invalid missing RefID", crmsync.KindInvalid, func(m map[string]any) { delete(m, "RefID") }, "RefID"},
		{"over-limit decimal empty string", crmsync.KindOverLimit, func(m map[string]any) { m["BonusAction"] = "" }, "BonusAction"},
	}
	for _, c := range cases {
		body := mutate(t, c.kind, c.f)
		err := CheckBody(c.kind, body)
		var fe *FieldError
		if !errors.As(err, &fe) {
			t.Errorf("%s: CheckBody(%s, %s) = %v, want a *FieldError", c.name, c.kind, body, err)
			continue
		}
		if fe.Field != c.field {
			t.Errorf("%s: CheckBody(%s, %s) = %v, want it about field %s", c.name, c.kind, body, err, c.field)
		}
	}
}

func TestCheckBodyNotAnObject(t *testing.T) {
	for _, body := range []string{``, `[]`, `null`, `{"RefID":"1"`, `{"RefID":"1"} {}`, `"x"`} {
		err := CheckBody(crmsync.KindInvalid, []byte(body))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "" {
			t.Errorf("CheckBody(invalid, %q) = %v, want a *FieldError about the whole body", body, err)
		}
	}
	var fe *FieldError
	if err := CheckBody("nope", []byte(`{}`)); !errors.As(err, &fe) {
		t.Errorf("CheckBody(nope) = %v, want a *FieldError", err)
	}
}

// TestCheckBodyWireTypes checks that what crmsync marshals from the wire
// types passes, including a return, nulls for empty optional fields and a
// URL-encoded Chinese Desc.
func TestCheckBodyWireTypes(t *testing.T) {
	at := LocalTime{time.Date(2024, 11, 1, 10, 5, 3, 0, CST)}
	desc := URLText("测试 备注 100%")
	ret := Amount("-1280.5")
	retAmt := Amount("1280.5")
	serial := "POS-88812"
	bodies := map[crmsync.Kind]any{
		crmsync.KindScore: ScoreInform{
			TransID: "R1", ThirdPartyCardID: "0201", ScoreEvent: 2101, TradeTime: at, TradeAmount: "1280.5",
			CrmShopID: "S1", TradeSerialNo: &serial, ReturnTime: &at, ReturnAmount: &retAmt, Score: ret,
		},
		crmsync.KindScoreV2: ScoreInformV2{
			TransID: "T1", ThirdPartyCardID: "0201", ScoreEvent: 1, TradeTime: at, PayAmount: "0.01",
			CrmShopID: "S1", Score: "0", ConsumePayList: []Payment{{Amount: &retAmt}},
		},
		crmsync.KindBonus:  BonusChange{ThirdPartyCardID: "0201", BonusAction: 4, GetBonus: "-20", AfterBonus: "0", RefID: "B1", CreateTime: at, Desc: &desc},
		crmsync.KindVerify: VerifyInform{RefID: "V1", BonusAction: 4, Bonus: "20", CurrentBonus: "220", BonusVerifyStatus: -1, BonusVerifyTime: at, Desc: &desc},
		crmsync.KindMember: MemberNotice{Mobile: new("15155145475")},
	}
	for k, v := range bodies {
		b, err := Marshal(v)
		if err != nil {
			t.Fatalf("Marshal(%s): %v", k, err)
		}
		if err := CheckBody(k, b); err != nil {
			t.Errorf("CheckBody(%s, %s) = %v, want nil", k, b, err)
		}
	}
}
