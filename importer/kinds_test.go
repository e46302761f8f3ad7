package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// Every kind's happy path: the exact body, key, lane and time.
func TestKindsHappyPath(t *testing.T) {
	tests := []struct {
		name     string
		file     string
		csv      string
		kind     crmsync.Kind
		body     string
		key      string
		lane     string
		time     time.Time
		warnings int
	}{
		{
			name: "member by card", file: "member-20241101.csv",
			csv:  csvText("ThirdPartyCardID,Mobile", "0201610000343,"),
			kind: crmsync.KindMember,
			body: `{"ThirdPartyCardID":"0201610000343"}`,
			key:  "0201610000343|2024-11-01", lane: "0201610000343", time: cst(2024, 11, 1, 0, 0, 0),
		},
		{
			name: "member by mobile, date from now", file: "member.csv",
			csv:  csvText("第三方会员ID,手机号", ",151 5514 5475"),
			kind: crmsync.KindMember,
			body: `{"Mobile":"15155145475"}`,
			key:  "m:15155145475|2024-11-05", lane: "m:15155145475", time: cst(2024, 11, 5, 0, 0, 0),
		},
		{
			name: "grade", file: "grade.csv",
			csv: csvText("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,Remark,GradeChangeRuleID,GradeChangeType,GradeChangeID",
				"201710000001,Vip123,金卡,0,2018-09-10 12:13:14,,,,"),
			kind: crmsync.KindGrade,
			body: `{"ThirdPartyCardID":"201710000001","BeforeCardCode":"Vip123","AfterCardCode":"金卡","ChangeType":0,"ChangeTime":"2018-09-10 12:13:14","GradeChangeRuleID":null,"GradeChangeType":null,"GradeChangeID":null}`,
			key:  "201710000001|2018-09-10 12:13:14|金卡", lane: "201710000001", time: cst(2018, 9, 10, 12, 13, 14),
		},
		{
			name: "grade with id and words", file: "grade.csv",
			csv: csvText("第三方会员ID,变更前卡等级,变更后卡等级,变更类型,变更时间,变更备注,升降级规则ID,升降级变更类型,等级变更记录ID",
				"201710000001,金卡,银卡,降级,2024-11-01 08:00:00,年度降级 <a&b>,42,手工,GC000001"),
			kind: crmsync.KindGrade,
			body: `{"ThirdPartyCardID":"201710000001","BeforeCardCode":"金卡","AfterCardCode":"银卡","ChangeType":1,"ChangeTime":"2024-11-01 08:00:00","Remark":"年度降级 <a&b>","GradeChangeRuleID":42,"GradeChangeType":2,"GradeChangeID":"GC000001"}`,
			key:  "GC000001", lane: "201710000001", time: cst(2024, 11, 1, 8, 0, 0),
		},
		{
			name: "score sale", file: "score.csv",
			csv: csvText("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,TradeSerialNo,PosID,ReturnTime,ReturnAmount,Score,PayType",
				`T20241101000123,0201710000001,1,2024-11-01 10:05:03,"1,280.50",S0012,POS-88812,POS01,,,1280,12`),
			kind: crmsync.KindScore,
			body: `{"TransID":"T20241101000123","ThirdPartyCardID":"0201710000001","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","TradeAmount":1280.5,"CrmShopID":"S0012","TradeSerialNo":"POS-88812","PosID":"POS01","ReturnTime":"","ReturnAmount":null,"Score":1280,"PayType":12}`,
			key:  "T20241101000123", lane: "0201710000001", time: cst(2024, 11, 1, 10, 5, 3),
		},
		{
			name: "score return", file: "score.csv",
			csv: csvText("交易ID,会员卡号ID,积分事件,消费时间,消费金额,消费商户,交易流水号,退货时间,退货金额,积分值",
				"R1,0201710000001,退货退积分,2024-11-01 10:05:03,100,S0012,T1,2024-11-03 09:00:00,100,-100"),
			kind: crmsync.KindScore,
			body: `{"TransID":"R1","ThirdPartyCardID":"0201710000001","ScoreEvent":2101,"TradeTime":"2024-11-01 10:05:03","TradeAmount":100,"CrmShopID":"S0012","TradeSerialNo":"T1","PosID":"","ReturnTime":"2024-11-03 09:00:00","ReturnAmount":100,"Score":-100}`,
			key:  "R1", lane: "0201710000001", time: cst(2024, 11, 3, 9, 0, 0),
		},
		{
			name: "score-v2 with JSON lists", file: "score-v2.csv",
			csv: csvText("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,TotalAmount,PromotionAmount,ConsumePromotionList,ConsumePayList",
				`T9,C1,1,2024-11-01 10:05:03,1280.50,S0012,1280,1380.50,100,"[{""PromotionType"":6,""RuleNo"":""RNO123"",""No"":""No123456"",""Amount"":100,""Desc"":""满减""}]","[{""支付方式"":""12"",""支付单号"":""PNO1"",""支付金额"":""1,280.50""}]"`),
			kind: crmsync.KindScoreV2,
			body: `{"TransID":"T9","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","PayAmount":1280.5,"CrmShopID":"S0012","TradeSerialNo":null,"PosID":null,"ReturnTime":null,"ReturnAmount":null,"Score":1280,"TotalAmount":1380.5,"PromotionAmount":100,"ConsumePromotionList":[{"PromotionType":6,"RuleNo":"RNO123","No":"No123456","Amount":100,"Desc":"满减"}],"ConsumePayList":[{"PayType":12,"PayNo":"PNO1","Amount":1280.5}]}`,
			key:  "T9", lane: "C1", time: cst(2024, 11, 1, 10, 5, 3),
		},
		{
			name: "score-v2 total mismatch warns", file: "score-v2.csv",
			csv: csvText("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,TotalAmount,PromotionAmount",
				"T10,C1,1,2024-11-01 10:05:03,100,S1,100,150,20"),
			kind: crmsync.KindScoreV2,
			body: `{"TransID":"T10","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","PayAmount":100,"CrmShopID":"S1","TradeSerialNo":null,"PosID":null,"ReturnTime":null,"ReturnAmount":null,"Score":100,"TotalAmount":150,"PromotionAmount":20}`,
			key:  "T10", lane: "C1", time: cst(2024, 11, 1, 10, 5, 3), warnings: 1,
		},
		{
			name: "over-limit", file: "over-limit.csv",
			csv: csvText("RefID,ShopCode,Value,RuleValue,BonusAction,CurBonusAction,BonusLimitSceneType,BonusLimitObjType,BonusLimitActionType,BonusLimitTimeType,Desc",
				"201610000095,S0012,5000,3000,消费积分,1,商场,个人,1,每天,当日积分超上限"),
			kind: crmsync.KindOverLimit,
			body: `{"RefID":"201610000095","ShopCode":"S0012","Value":"5000","RuleValue":"3000","BonusAction":1,"CurBonusAction":1,"BonusLimitSceneType":1,"BonusLimitObjType":2,"BonusLimitActionType":1,"BonusLimitTimeType":1,"Desc":"%e5%bd%93%e6%97%a5%e7%a7%af%e5%88%86%e8%b6%85%e4%b8%8a%e9%99%90"}`,
			key:  "201610000095|1", lane: "201610000095",
		},
		{
			name: "over-limit minimal", file: "overlimit.csv",
			csv:  csvText("RefID", "R7"),
			kind: crmsync.KindOverLimit,
			body: `{"RefID":"R7"}`,
			key:  "R7|", lane: "R7",
		},
		{
			name: "bonus", file: "bonus.csv",
			csv: csvText("会员卡号ID,积分事件,变更积分,变更后积分,业务单号,积分变动时间,积分变更备注",
				"201610000095,4,+20,220,12ddd3,2020-06-24 15:16:45,测试备注"),
			kind: crmsync.KindBonus,
			body: `{"ThirdPartyCardID":"201610000095","BonusAction":4,"GetBonus":20,"AfterBonus":220,"RefID":"12ddd3","CreateTime":"2020-06-24 15:16:45","Desc":"%e6%b5%8b%e8%af%95%e5%a4%87%e6%b3%a8"}`,
			key:  "12ddd3|201610000095", lane: "201610000095", time: cst(2020, 6, 24, 15, 16, 45),
		},
		{
			name: "verify", file: "verify.csv",
			csv: csvText("RefID,BonusAction,Bonus,CurrentBonus,BonusVerifyStatus,BonusVerifyTime,Desc",
				"12ddd3,积分调整,20,220,拒绝,2020-06-24 15:16:45,"),
			kind: crmsync.KindVerify,
			body: `{"RefID":"12ddd3","BonusAction":4,"Bonus":20,"CurrentBonus":220,"BonusVerifyStatus":-1,"BonusVerifyTime":"2020-06-24 15:16:45"}`,
			key:  "12ddd3", lane: "12ddd3", time: cst(2020, 6, 24, 15, 16, 45),
		},
		{
			name: "invalid", file: "invalid.csv",
			csv:  csvText("积分申请单号,积分类型,作废原因", "12ddd3,4,a b"),
			kind: crmsync.KindInvalid,
			body: `{"RefID":"12ddd3","BonusAction":4,"Desc":"a+b"}`,
			key:  "12ddd3", lane: "12ddd3",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeFile(t, t.TempDir(), tc.file, tc.csv)
			row := oneRow(t, &Reader{}, p)
			ev := mustEvent(t, row)
			if row.Kind != tc.kind || ev.Kind != tc.kind {
				t.Errorf("kind = %s/%s, want %s", row.Kind, ev.Kind, tc.kind)
			}
			if string(ev.Body) != tc.body {
				t.Errorf("Body = %s\nwant   %s", ev.Body, tc.body)
			}
			if ev.Key != tc.key || ev.Lane != tc.lane {
				t.Errorf("Key, Lane = %q, %q, want %q, %q", ev.Key, ev.Lane, tc.key, tc.lane)
			}
			if !ev.Time.Equal(tc.time) {
				t.Errorf("Time = %v, want %v", ev.Time, tc.time)
			}
			if !ev.Time.IsZero() && ev.Time.Location() != cst(2024, 1, 1, 0, 0, 0).Location() {
				t.Errorf("Time location = %v, want CST", ev.Time.Location())
			}
			if c, err := mallcoo.Canonical(tc.kind, ev.Body); err != nil || ev.Hash != crmsync.ContentHash(tc.kind, c) {
				t.Errorf("Hash = %s, want ContentHash of the body's canonical form (%v)", ev.Hash, err)
			}
			if len(row.Warnings) != tc.warnings {
				t.Errorf("Warnings = %q, want %d", row.Warnings, tc.warnings)
			}
			if tc.warnings > 0 && !strings.Contains(row.Warnings[0].Text("en"), "TotalAmount 150 is not PayAmount + PromotionAmount (100 + 20 = 120)") {
				t.Errorf("Warnings[0] = %q", row.Warnings[0])
			}
			if row.Source.Row != 2 || row.Source.File != p || row.Source.Sheet != "" {
				t.Errorf("Source = %+v, want %s row 2", row.Source, p)
			}
		})
	}
}

// Values follow the template's columns whatever the file's column order;
// the cell of an unknown column follows them, with its header.
func TestValuesInTemplateOrder(t *testing.T) {
	p := writeFile(t, t.TempDir(), "bonus.csv", csvText(
		"Desc,RefID,CreateTime,GetBonus,AfterBonus,BonusAction,ThirdPartyCardID,Extra",
		"  备注 ,R1,2020-06-24 15:16:45,20,220,4,C1,x"))
	row := oneRow(t, &Reader{}, p)
	want := []string{"C1", "4", "20", "220", "R1", "2020-06-24 15:16:45", "备注", "Extra" + crmsync.ExtraSep + "x"}
	if diff := cmp.Diff(want, row.Values); diff != "" {
		t.Errorf("Values (-want +got):\n%s", diff)
	}
}

// An EventID column is the key when present.
func TestEventIDColumn(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", csvText("事件ID,RefID,BonusAction", "'00E1,R1,4", ",R2,4"))
	rows, _ := readAll(t, &Reader{}, p)
	if len(rows) != 2 {
		t.Fatalf("got %d rows, want 2", len(rows))
	}
	if k := mustEvent(t, rows[0]).Key; k != "00E1" {
		t.Errorf("Key = %q, want 00E1 (the EventID)", k)
	}
	if k := mustEvent(t, rows[1]).Key; k != "R2" {
		t.Errorf("Key = %q, want R2 (no EventID: the natural key)", k)
	}
}

// A member's business date: the BusinessDate column, else the file name,
// else today in China.
func TestMemberBusinessDate(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "member-2024-10-31.csv", csvText("Mobile,业务日期", "15155145475,2024/10/30", "15155145476,"))
	rows, _ := readAll(t, &Reader{}, p)
	if k := mustEvent(t, rows[0]).Key; k != "m:15155145475|2024-10-30" {
		t.Errorf("Key = %q, want the BusinessDate column's date", k)
	}
	if k := mustEvent(t, rows[1]).Key; k != "m:15155145476|2024-10-31" {
		t.Errorf("Key = %q, want the file name's date", k)
	}
	late := func() time.Time { return time.Date(2024, 11, 5, 17, 0, 0, 0, time.UTC) } // 01:00 on the 6th in China
	p2 := writeFile(t, dir, "member.csv", csvText("ThirdPartyCardID", "C1"))
	if k := mustEvent(t, oneRow(t, &Reader{Now: late}, p2)).Key; k != "C1|2024-11-06" {
		t.Errorf("Key = %q, want today's date in China", k)
	}
}
