package importer

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// A workbook as CRM exports write them: a notes sheet, an empty sheet, typed
// cells (numeric IDs, date cells, serials), sheets named by kind or title.
func TestXLSXSheets(t *testing.T) {
	dir := t.TempDir()
	changed := time.Date(2024, 11, 1, 10, 5, 3, 0, time.UTC) // a date cell holds wall-clock time
	p := writeXLSX(t, dir, "2024-11-01_export.xlsx",
		xsheet{"说明", [][]any{{"本工作簿为CRM导出"}, {"第二行说明"}}},
		xsheet{"会员等级变更通知", [][]any{
			{"第三方会员ID", "变更前卡等级", "变更后卡等级", "变更类型", "变更时间", "升降级规则ID", "升降级变更类型"},
			{201710000001.0, "Vip123", "金卡", 0, changed, 7, "自动"},
			{nil},
			{"0201710000002", "金卡", "银卡", "降级", 45597.4375, nil, 2},
			{"0201710000003", "金卡", "银卡", "升降", "2024-11-01 10:00:00"},
		}},
		xsheet{"empty", nil},
		xsheet{"Sheet9", [][]any{{"hello", "world"}, {1, 2}}},
		xsheet{"README", [][]any{{"RefID", "BonusAction"}, {"R1", 4}}},
		xsheet{"over-limit", [][]any{{"RefID", "BonusAction", "Value"}, {"R1", 1, 5000}}},
	)
	rows, sums := readAll(t, &Reader{}, p)
	// Every sheet is read or listed: the notes and the empty sheet as
	// skipped, a README holding a data table as a problem.
	wantSums := []crmsync.FileSummary{
		{Path: p, Sheet: "说明", Skipped: crmsync.Say("说明页,未读取", "instructions, not read")},
		{Path: p, Sheet: "会员等级变更通知", Kind: crmsync.KindGrade, Rows: 3},
		{Path: p, Sheet: "empty", Skipped: crmsync.Say("空工作表", "empty sheet")},
		{Path: p, Sheet: "Sheet9", Code: ProblemHeader},
		{Path: p, Sheet: "README", Kind: crmsync.KindInvalid},
		{Path: p, Sheet: "over-limit", Kind: crmsync.KindOverLimit, Rows: 1},
	}
	if len(sums) == len(wantSums) {
		for _, i := range []int{3, 4} {
			if sums[i].Problem.IsZero() {
				t.Errorf("%s has no problem", sums[i].Sheet)
			}
			sums[i].Problem = crmsync.Text{}
		}
	}
	if diff := cmp.Diff(wantSums, sums); diff != "" {
		t.Errorf("summaries (-want +got):\n%s", diff)
	}
	if len(rows) != 4 {
		t.Fatalf("got %d rows, want 4", len(rows))
	}
	want0 := `{"ThirdPartyCardID":"201710000001","BeforeCardCode":"Vip123","AfterCardCode":"金卡","ChangeType":0,"ChangeTime":"2024-11-01 10:05:03","GradeChangeRuleID":7,"GradeChangeType":1,"GradeChangeID":null}`
	if got := string(mustEvent(t, rows[0]).Body); got != want0 {
		t.Errorf("row 2 Body = %s\nwant %s", got, want0)
	}
	want1 := `{"ThirdPartyCardID":"0201710000002","BeforeCardCode":"金卡","AfterCardCode":"银卡","ChangeType":1,"ChangeTime":"2024-11-01 10:30:00","GradeChangeRuleID":null,"GradeChangeType":2,"GradeChangeID":null}`
	if got := string(mustEvent(t, rows[1]).Body); got != want1 {
		t.Errorf("row 4 Body = %s\nwant %s", got, want1)
	}
	if got := rows[1].Values[4]; got != "2024-11-01 10:30:00" {
		t.Errorf("Values[ChangeTime] = %q, want the serial shown as a datetime", got)
	}
	if p := mustProblem(t, rows[2]); p.Column != "ChangeType" {
		t.Errorf("row 5 problem column = %q, want ChangeType", p.Column)
	}
	wantRefs := []crmsync.SourceRef{
		{File: p, Sheet: "会员等级变更通知", Row: 2}, {File: p, Sheet: "会员等级变更通知", Row: 4},
		{File: p, Sheet: "会员等级变更通知", Row: 5}, {File: p, Sheet: "over-limit", Row: 2},
	}
	for i, r := range rows {
		if r.Source != wantRefs[i] {
			t.Errorf("rows[%d].Source = %+v, want %+v", i, r.Source, wantRefs[i])
		}
	}
	if got := string(mustEvent(t, rows[3]).Body); !strings.Contains(got, `"Value":"5000"`) {
		t.Errorf("over-limit Body = %s, want Value as the string 5000", got)
	}
}

// A sheet without a kind in its name takes the file's; a sheet without
// headers is a problem named by its sheet.
func TestXLSXKindFromFileName(t *testing.T) {
	dir := t.TempDir()
	p := writeXLSX(t, dir, "verify.xlsx",
		xsheet{"Sheet1", [][]any{{"RefID", "BonusAction", "Bonus", "CurrentBonus", "BonusVerifyStatus", "BonusVerifyTime"},
			{"R1", 4, 20, 220, 1, "2020-06-24 15:16:45"}}},
		xsheet{"Sheet2", [][]any{{"R2", 4, 20, 220, 1, "2020-06-24 15:16:45"}}},
	)
	rows, sums := readAll(t, &Reader{}, p)
	if len(rows) != 1 || rows[0].Kind != crmsync.KindVerify {
		t.Fatalf("got %d rows, want one verify row", len(rows))
	}
	mustEvent(t, rows[0])
	if len(sums) != 2 || sums[1].Sheet != "Sheet2" || !strings.Contains(sums[1].Problem.String(), "verify") {
		t.Errorf("summaries = %+v, want a header problem for Sheet2", sums)
	}
}

// score-v2 orders with their promotions and payments on sibling sheets.
func TestScoreV2FromSheets(t *testing.T) {
	dir := t.TempDir()
	main := [][]any{
		{"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "PayAmount", "CrmShopID", "Score", "TotalAmount", "PromotionAmount"},
		{"V1", "C1", 1, "2024-11-01 10:00:00", 1280.5, "S1", 1280, 1380.5, 100},
		{"V2", "C2", 1, "2024-11-01 11:00:00", 99.9, "S1", 99, nil, nil},
		{"V3", "C3", 1, "2024-11-01 12:00:00", 10, "S1", 10, nil, nil},
	}
	p := writeXLSX(t, dir, "orders.xlsx",
		xsheet{"score-v2", main},
		xsheet{"score-v2.promotions", [][]any{
			{"TransID", "PromotionType", "RuleNo", "No", "Amount", "Desc"},
			{"V1", 6, "RNO1", "No1", 60, "满减"},
			{"V1", 7, "RNO2", nil, 40, nil},
			{"V9", 6, nil, nil, 1, nil}, // an order not in the file
		}},
		xsheet{"支付明细", [][]any{
			{"交易ID", "支付方式", "支付单号", "支付金额"},
			{"V1", "微信", "P1", 1280.5},
			{"V2", 12, "P2", 99.9},
			{"V3", "现金?", "P3", 10},
		}},
	)
	r := &Reader{Mappings: map[string]map[string]int{"PayType": {"微信": 12}}}
	rows, sums := readAll(t, r, p)
	if len(sums) != 1 || sums[0].Sheet != "score-v2" || sums[0].Rows != 3 || sums[0].Kind != crmsync.KindScoreV2 {
		t.Errorf("summaries = %+v, want the score-v2 sheet only", sums)
	}
	// V9's promotion joins no order: it is not sent, and said so (after
	// every row was read), not dropped without a word.
	if len(sums) == 1 && (sums[0].Code != ProblemOrphanItems || !strings.Contains(sums[0].Problem.String(), "V9") || !strings.Contains(sums[0].Problem.String(), "promotions")) {
		t.Errorf("summary problem %q (%s), want %s naming V9 and the promotions list", sums[0].Problem.String(), sums[0].Code, ProblemOrphanItems)
	}
	if len(rows) != 3 {
		t.Fatalf("got %d rows, want 3", len(rows))
	}
	want := `{"TransID":"V1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","PayAmount":1280.5,"CrmShopID":"S1","TradeSerialNo":null,"PosID":null,"ReturnTime":null,"ReturnAmount":null,"Score":1280,"TotalAmount":1380.5,"PromotionAmount":100,` +
		`"ConsumePromotionList":[{"PromotionType":6,"RuleNo":"RNO1","No":"No1","Amount":60,"Desc":"满减"},{"PromotionType":7,"RuleNo":"RNO2","Amount":40}],` +
		`"ConsumePayList":[{"PayType":12,"PayNo":"P1","Amount":1280.5}]}`
	if got := string(mustEvent(t, rows[0]).Body); got != want {
		t.Errorf("V1 Body = %s\nwant %s", got, want)
	}
	if got, want := rows[0].Values[14], `[{"PayType":12,"PayNo":"P1","Amount":1280.5}]`; got != want {
		t.Errorf("V1 Values[ConsumePayList] = %s, want %s", got, want)
	}
	if got := string(mustEvent(t, rows[1]).Body); !strings.Contains(got, `"Score":99,"ConsumePayList":[{"PayType":12,"PayNo":"P2","Amount":99.9}]`) {
		t.Errorf("V2 Body = %s, want no promotions and one payment", got)
	}
	prob := mustProblem(t, rows[2])
	if prob.Column != "ConsumePayList" || !strings.Contains(prob.Reason, "item 1 PayType") {
		t.Errorf("V3 problem = %+v, want ConsumePayList item 1 PayType", prob)
	}
	if got, want := rows[2].Values[14], `[{"PayType":"现金?","PayNo":"P3","Amount":"10"}]`; got != want {
		t.Errorf("V3 Values[ConsumePayList] = %s, want %s", got, want)
	}
	// The shown lists read back as JSON cells to the same events: what the
	// problems workbook relies on.
	var names []string
	for _, f := range mallcoo.SpecOf(crmsync.KindScoreV2).Fields {
		names = append(names, f.Name)
	}
	csvRows := []string{strings.Join(names, ",")}
	for _, row := range rows[:2] {
		var cells []string
		for _, v := range row.Values {
			cells = append(cells, quoteCSV(v))
		}
		csvRows = append(csvRows, strings.Join(cells, ","))
	}
	again, _ := readAll(t, &Reader{}, writeFile(t, t.TempDir(), "score-v2.csv", csvText(csvRows...)))
	for i := range again {
		if a, b := string(mustEvent(t, again[i]).Body), string(rows[i].Event.Body); a != b {
			t.Errorf("row %d read back from Values: Body = %s\nwant %s", i, a, b)
		}
	}
}

func quoteCSV(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// score-v2 lists in CSV files beside the main file.
func TestScoreV2FromSiblingCSV(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "20241101-score-v2.csv", csvText(
		"TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score",
		"V1,C1,1,2024-11-01 10:00:00,100,S1,100"))
	writeGBK(t, dir, "20241101-score-v2.promotions.csv", csvText("交易ID,优惠类型,优惠金额", "V1,6,5"))
	writeFile(t, dir, "20241101-score-v2支付明细.csv", csvText("TransID,PayType,PayNo,Amount", "V1,12,P1,100", "V1,13,P2,0"))
	orphan := writeFile(t, dir, "other.payments.csv", csvText("TransID,PayType", "V1,99"))
	writeFile(t, dir, "bonus_payments.csv", csvText("ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime", "C1,4,1,1,R1,2024-11-01"))
	row := oneRow(t, &Reader{}, p)
	got := string(mustEvent(t, row).Body)
	for _, w := range []string{
		`"ConsumePromotionList":[{"PromotionType":6,"Amount":5}]`,
		`"ConsumePayList":[{"PayType":12,"PayNo":"P1","Amount":100},{"PayType":13,"PayNo":"P2","Amount":0}]`,
	} {
		if !strings.Contains(got, w) {
			t.Errorf("Body = %s, want it to contain %s", got, w)
		}
	}
	files, err := Expand([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	// A list file without its main file is not dropped silently: it is
	// read, and its headers fit no kind; "bonus_payments" is no list.
	if diff := cmp.Diff([]string{p, filepath.Join(dir, "bonus_payments.csv"), orphan}, files); diff != "" {
		t.Errorf("Expand (-want +got):\n%s", diff)
	}
	if _, sums := readAll(t, &Reader{}, orphan); len(sums) != 1 || sums[0].Problem.IsZero() {
		t.Errorf("ReadFile(%s) = %+v, want a file problem", orphan, sums)
	}
	mustEvent(t, oneRow(t, &Reader{}, filepath.Join(dir, "bonus_payments.csv")))
	if _, sums := readAll(t, &Reader{}, filepath.Join(dir, "20241101-score-v2支付明细.csv")); len(sums) != 1 || !strings.Contains(sums[0].Problem.String(), "main file") {
		t.Errorf("ReadFile(list file) = %+v, want a problem naming the main file", sums)
	}
}

// A workbook in the 1904 date system (old Mac Excel) counts serials from
// 1904-01-01.
func TestXLSXDate1904(t *testing.T) {
	dir := t.TempDir()
	f := excelize.NewFile()
	yes := true
	if err := f.SetWorkbookProps(&excelize.WorkbookPropsOptions{Date1904: &yes}); err != nil {
		t.Fatal(err)
	}
	f.SetSheetRow("Sheet1", "A1", &[]any{"RefID", "BonusAction", "Bonus", "CurrentBonus", "BonusVerifyStatus", "BonusVerifyTime"})
	f.SetSheetRow("Sheet1", "A2", &[]any{"R1", 4, 20, 220, 1, 45597.4375 - 1462})
	p := filepath.Join(dir, "verify.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ev := mustEvent(t, oneRow(t, &Reader{}, p))
	if want := cst(2024, 11, 1, 10, 30, 0); !ev.Time.Equal(want) {
		t.Errorf("Time = %v, want %v", ev.Time, want)
	}
}

func TestUnknownKind(t *testing.T) {
	p := writeFile(t, t.TempDir(), "invalid.csv", csvText("RefID,BonusAction", "R1,4"))
	if _, sums := readAll(t, &Reader{Kind: "score_v2"}, p); len(sums) != 1 || sums[0].Problem.IsZero() {
		t.Errorf("ReadFile(-kind score_v2 unparsed) = %+v, want a file problem", sums)
	}
}

// formula is a cell holding a formula and no computed value, as a
// workbook written by a program (excelize, openpyxl) and never opened in
// Excel has it.
type formula string

// TestXLSXFormulaWithoutValue: a formula cell whose value was never
// computed reads as empty; the row is invalid naming that column (never
// sent without the value, or under another key once Excel has computed
// it). A formula with its computed value reads as that value.
func TestXLSXFormulaWithoutValue(t *testing.T) {
	hdr := []any{"ThirdPartyCardID", "BeforeCardCode", "AfterCardCode", "ChangeType", "ChangeTime", "Remark", "GradeChangeID"}
	for _, tc := range []struct {
		name    string
		remark  any
		id      any
		problem string // the column of the row's problem, "" for an event
		key     string
	}{
		{"key by formula", "升级", formula(`"GX"&"2"`), "GradeChangeID", ""},
		{"remark by formula", formula(`CONCATENATE("升","级")`), "GX1", "Remark", ""},
		{"plain cells", "升级", "GX3", "", "GX3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "g.xlsx")
			f := excelize.NewFile()
			row := []any{"0201710000001", "普卡", "金卡", 0, "2024-11-01 10:00:00", tc.remark, tc.id}
			for r, cells := range [][]any{hdr, row} {
				for c, v := range cells {
					cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
					var err error
					if fm, ok := v.(formula); ok {
						err = f.SetCellFormula("Sheet1", cell, string(fm))
					} else {
						err = f.SetCellValue("Sheet1", cell, v)
					}
					if err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := f.SaveAs(p); err != nil {
				t.Fatal(err)
			}
			got := oneRow(t, &Reader{}, p)
			switch {
			case tc.problem != "":
				if got.Problem == nil || got.Problem.Column != tc.problem || got.Problem.Code != crmsync.ReasonFormula {
					t.Errorf("row %v: problem %+v, event %v; want invalid in %s (%s)", got.Values, got.Problem, got.Event, tc.problem, crmsync.ReasonFormula)
				}
			case got.Problem != nil:
				t.Errorf("row %v: problem %+v, want an event", got.Values, got.Problem)
			case mustEvent(t, got).Key != tc.key:
				t.Errorf("event key %q, want %q", got.Event.Key, tc.key)
			}
		})
	}
}

// TestScoreV2OrphanItemsCSV: a payment in a sibling list file whose TransID
// no order row of the main file has is not sent and is a file problem of the
// main file, read to its end; the joined orders go as usual.
func TestScoreV2OrphanItemsCSV(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "score-v2.csv", csvText(
		"TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score",
		"V1,C1,1,2024-11-01 10:00:00,100,S1,100", "V2,C2,1,2024-11-01 11:00:00,50,S1,50"))
	writeFile(t, dir, "score-v2.payments.csv", csvText("TransID,PayType,PayNo,Amount", "V1,12,P1,100", "V7,12,P7,70", "V2,12,P2,50", "V8,12,P8,80"))
	// An order row that is invalid still has its items: they are not orphans.
	bad := writeFile(t, t.TempDir(), "score-v2.csv", csvText(
		"TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score", "V1,C1,1,2024-11-01 10:00:00,12.345,S1,100"))
	writeFile(t, filepath.Dir(bad), "score-v2.payments.csv", csvText("TransID,PayType,PayNo,Amount", "V1,12,P1,100"))
	if rows, sums := readAll(t, &Reader{}, bad); len(rows) != 1 || rows[0].Problem == nil || len(sums) != 1 || sums[0].Code == ProblemOrphanItems {
		t.Errorf("an invalid order with its payment: rows %+v, summaries %+v; want the row invalid and no orphan-items", rows, sums)
	}
	rows, sums := readAll(t, &Reader{}, p)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	for _, r := range rows {
		mustEvent(t, r)
	}
	if len(sums) != 1 || sums[0].Code != ProblemOrphanItems || !strings.Contains(sums[0].Problem.String(), "V7, V8") || !strings.Contains(sums[0].Problem.String(), " 2 ") {
		t.Errorf("summaries %+v, want %s naming 2 TransIDs, V7 and V8", sums, ProblemOrphanItems)
	}
}
