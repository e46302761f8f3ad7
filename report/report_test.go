package report

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// memSource is a Source over a slice of results, as the ledger would
// return them.
type memSource []*crmsync.Result

func (m memSource) Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	for _, r := range m {
		if err := ctx.Err(); err != nil {
			return err
		}
		if r.Kind != kind {
			continue
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// scoreValues returns the template cells of a score row.
func scoreValues(trans, card, amount, score string) []string {
	return []string{trans, card, "1", "2024-11-01 10:05:03", amount, "S0012", "", "", "", "", score, ""}
}

func scoreBody(trans, card, amount, score string) []byte {
	return []byte(`{"TransID":"` + trans + `","ThirdPartyCardID":"` + card + `","ScoreEvent":1,"TradeTime":"2024-11-01 10:05:03","TradeAmount":` + amount +
		`,"CrmShopID":"S0012","TradeSerialNo":null,"PosID":null,"ReturnTime":null,"ReturnAmount":null,"Score":` + score + `,"PayType":null}`)
}

// testRun is a run with rows of several kinds and outcomes.
func testRun() (*crmsync.Summary, memSource) {
	src := memSource{
		{Kind: crmsync.KindMember, Key: "0201610000343", Outcome: crmsync.OutcomeUnchanged,
			Source: crmsync.SourceRef{File: "in/member.csv", Row: 2}, Values: []string{"0201610000343", ""},
			Body: []byte(`{"ThirdPartyCardID":"0201610000343","Mobile":null}`)},
		{Kind: crmsync.KindScore, Key: "T1", Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Message: "成功", Attempts: 1,
			Source: crmsync.SourceRef{File: "in/day.xlsx", Sheet: "score", Row: 2},
			Values: scoreValues("T1", "0201710000001", "0.1", "1"), Body: scoreBody("T1", "0201710000001", "0.1", "1")},
		{Kind: crmsync.KindScore, Key: "T2", Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Attempts: 2,
			Source: crmsync.SourceRef{File: "in/day.xlsx", Sheet: "score", Row: 3},
			Values: scoreValues("T2", "0201710000002", "0.2", "2"), Body: scoreBody("T2", "0201710000002", "0.2", "2")},
		{Kind: crmsync.KindScore, Key: "T3", Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 3001, Message: "会员不存在", Attempts: 1,
			Source: crmsync.SourceRef{File: "in/day.xlsx", Sheet: "score", Row: 4},
			Values: scoreValues("T3", "0201710000003", "1280.50", "1280"), Body: scoreBody("T3", "0201710000003", "1280.50", "1280")},
		{Kind: crmsync.KindScore, Key: "T4", Outcome: crmsync.OutcomeInvalid, Column: "TradeAmount", Reason: "不是数字",
			Source: crmsync.SourceRef{File: "in/day.xlsx", Sheet: "score", Row: 5},
			Values: scoreValues("T4", "=HYPERLINK(\"http://x\")", "abc", "+5")},
		{Kind: crmsync.KindScoreV2, Key: "V1", Outcome: crmsync.OutcomeChanged, Reason: "内容与上次发送的不同",
			Source: crmsync.SourceRef{File: "in/v2.csv", Row: 2},
			Values: []string{"V1", "0201710000009", "1", "2024-11-01 10:05:03", "99.99", "S1", "", "", "", "", "99", "", "", "", ""},
			Body:   []byte(`{"TransID":"V1","PayAmount":99.99,"Score":99,"ConsumePromotionList":[],"ConsumePayList":[{"PayType":12,"PayNo":"P1","Amount":99.99}]}`), Previous: []byte(`{"TransID":"V1","PayAmount":88,"Score":88}`)},
		{Kind: crmsync.KindBonus, Key: "R1|C1", Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Attempts: 1,
			Source: crmsync.SourceRef{File: "in/bonus.csv", Row: 2},
			Values: []string{"C1", "4", "-20.5", "200", "R1", "2020-06-24 15:16:45", "-desc"},
			Body:   []byte(`{"ThirdPartyCardID":"C1","BonusAction":4,"GetBonus":-20.5,"AfterBonus":200,"RefID":"R1","CreateTime":"2020-06-24 15:16:45","Desc":null}`)},
		{Kind: crmsync.KindBonus, Key: "R2|C1", Outcome: crmsync.OutcomeFailed, Reason: "连接超时", Attempts: 4,
			Source: crmsync.SourceRef{File: "in/bonus.csv", Row: 3},
			Values: []string{"C1", "4", "10", "210", "R2", "2020-06-24 15:17:45", ""},
			Body:   []byte(`{"ThirdPartyCardID":"C1","BonusAction":4,"GetBonus":10,"AfterBonus":210,"RefID":"R2","CreateTime":"2020-06-24 15:17:45","Desc":null}`)},
	}
	started := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	s := crmsync.NewSummary(7, "run in/", started)
	for i, r := range src {
		r.Seq = int64(i + 1)
		s.Add(r.Kind, r.Outcome)
	}
	s.Ended = started.Add(10 * time.Second)
	s.DurationS = 10
	s.Requests = 9
	s.Files = []crmsync.FileSummary{
		{Path: "in/day.xlsx", Sheet: "score", Kind: crmsync.KindScore, Rows: 4},
		{Path: "in/broken.xlsx", Problem: crmsync.Say("不是有效的Excel文件", "not a valid Excel file")},
	}
	return s, src
}

func writeTest(t *testing.T, lang string) (report, problems string) {
	t.Helper()
	s, src := testRun()
	path := filepath.Join(t.TempDir(), "out", "run-7.xlsx")
	// Full values: these tests check the layout cell by cell
	// (TestWriteMasksPersonalData checks the default, masked).
	problems, err := Write(context.Background(), path, s, src, Options{Lang: lang, ShowPersonal: true})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	return path, problems
}

func open(t *testing.T, path string) *excelize.File {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("OpenFile(%s): %v", path, err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func rows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rs, err := f.GetRows(sheet)
	if err != nil {
		t.Fatalf("GetRows(%q): %v", sheet, err)
	}
	return rs
}

// findRow returns the first row whose first cells are prefix.
func findRow(rs [][]string, prefix ...string) []string {
	for _, r := range rs {
		if len(r) >= len(prefix) && slices.Equal(r[:len(prefix)], prefix) {
			return r
		}
	}
	return nil
}

func TestProblemsPath(t *testing.T) {
	for in, want := range map[string]string{
		"out/run-7.xlsx": "out/run-7-problems.xlsx",
		"run.XLSX":       "run-problems.XLSX",
		"report":         "report-problems.xlsx",
	} {
		if got := ProblemsPath(in); got != want {
			t.Errorf("ProblemsPath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWriteSheets(t *testing.T) {
	path, _ := writeTest(t, "")
	f := open(t, path)
	want := []string{"汇总", "member", "score", "score-v2", "bonus"}
	if diff := cmp.Diff(want, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	if got := f.GetActiveSheetIndex(); got != 0 {
		t.Errorf("active sheet = %d, want 0 (summary)", got)
	}
	props, err := f.GetDocProps()
	if err != nil {
		t.Fatal(err)
	}
	if props.Title != "crmsync 运行报告" {
		t.Errorf("Title = %q, want %q", props.Title, "crmsync 运行报告")
	}

	rs := rows(t, f, "score")
	wantHeader := append([]string{"来源文件", "工作表", "行号", "键", "结果", "原因", "猫酷Code", "猫酷Message", "尝试次数"}, Columns(crmsync.KindScore, "zh")...)
	if diff := cmp.Diff(wantHeader, rs[0]); diff != "" {
		t.Errorf("score header (-want +got):\n%s", diff)
	}
	if len(rs) != 5 {
		t.Fatalf("score sheet has %d rows, want 5", len(rs))
	}
	wantRow := []string{"in/day.xlsx", "score", "4", "T3", "被拒绝", "", "3001", "会员不存在", "1",
		"T3", "0201710000003", "1", "2024-11-01 10:05:03", "1280.50", "S0012", "", "", "", "", "1280"}
	if diff := cmp.Diff(wantRow, rs[3]); diff != "" {
		t.Errorf("rejected row (-want +got):\n%s", diff)
	}
	if got, want := rs[4][5], "消费金额(TradeAmount): 不是数字"; got != want {
		t.Errorf("invalid row reason = %q, want %q", got, want)
	}

	// Values that look like formulas or numbers stay text.
	for cell, want := range map[string]string{"K5": `=HYPERLINK("http://x")`, "T5": "+5", "K2": "0201710000001"} {
		got, err := f.GetCellValue("score", cell)
		if err != nil || got != want {
			t.Errorf("GetCellValue(score, %s) = %q, %v; want %q", cell, got, err, want)
		}
		if formula, _ := f.GetCellFormula("score", cell); formula != "" {
			t.Errorf("GetCellFormula(score, %s) = %q, want none", cell, formula)
		}
		if typ, _ := f.GetCellType("score", cell); typ != excelize.CellTypeInlineString {
			t.Errorf("GetCellType(score, %s) = %v, want inline string", cell, typ)
		}
	}

	panes, err := f.GetPanes("score")
	if err != nil || !panes.Freeze || panes.YSplit != 1 {
		t.Errorf("GetPanes(score) = %+v, %v; want the header row frozen", panes, err)
	}

	// Changed rows show what changed, field by field.
	v2 := rows(t, f, "score-v2")
	if got := v2[0][len(v2[0])-1]; got != "改动(之前 → 本次)" {
		t.Errorf("score-v2 last header = %q, want the changes column", got)
	}
	if got := v2[1][len(v2[1])-1]; !strings.Contains(got, "支付金额(PayAmount): 88 → ") {
		t.Errorf("score-v2 changes = %q, want the PayAmount diff named", got)
	}
	if got := rows(t, f, "score")[0]; slices.Contains(got, "改动(之前 → 本次)") {
		t.Errorf("score header has body columns without changed rows: %q", got)
	}
}

func TestWriteAutoFilter(t *testing.T) {
	path, problems := writeTest(t, "")
	for _, c := range []struct{ file, sheet, want string }{
		{path, "xl/worksheets/sheet3.xml", `<autoFilter ref="$A$1:$U$5"`},
		{problems, "xl/worksheets/sheet1.xml", `<autoFilter ref="$A$1:$P$3"`},
	} {
		got := zipEntry(t, c.file, c.sheet)
		if !strings.Contains(got, c.want) {
			t.Errorf("%s %s lacks %s: %.300s", c.file, c.sheet, c.want, got[max(0, strings.Index(got, "</sheetData>")):])
		}
	}
}

func zipEntry(t *testing.T, file, name string) string {
	t.Helper()
	z, err := zip.OpenReader(file)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	for _, e := range z.File {
		if e.Name == name {
			rc, err := e.Open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			var b strings.Builder
			if _, err := io.Copy(&b, rc); err != nil {
				t.Fatal(err)
			}
			return b.String()
		}
	}
	t.Fatalf("%s has no %s", file, name)
	return ""
}

func TestWriteSummary(t *testing.T) {
	path, problems := writeTest(t, "")
	f := open(t, path)
	rs := rows(t, f, "汇总")
	for _, c := range []struct{ prefix, want []string }{
		{[]string{"运行ID"}, []string{"运行ID", "7"}},
		{[]string{"开始时间(北京时间)"}, []string{"开始时间(北京时间)", "2026-11-25 09:00:00"}},
		{[]string{"吞吐(行/秒)"}, []string{"吞吐(行/秒)", "0.8"}},
		{[]string{"待处理文件"}, []string{"待处理文件", filepath.Base(problems)}},
		{[]string{"需要人工处理"}, []string{"需要人工处理", "是"}},
		{[]string{"in/broken.xlsx"}, []string{"in/broken.xlsx", "", "", "0", "不是有效的Excel文件"}},
		{[]string{"类型", "待发送"}, nil}, // no plan rows: no "new" column
		{[]string{"类型"}, []string{"类型", "已发送", "未变化", "内容已变", "无效", "被拒绝", "失败", "合计"}},
		{[]string{"会员信息变更通知"}, []string{"会员信息变更通知", "0", "1", "0", "0", "0", "0", "1"}},
		{[]string{"消费积分变更通知"}, []string{"消费积分变更通知", "2", "0", "0", "1", "1", "0", "4"}},
		{[]string{"CRM积分变更事件"}, []string{"CRM积分变更事件", "1", "0", "0", "0", "0", "1", "2"}},
		{[]string{"合计"}, []string{"合计", "3", "1", "1", "1", "1", "1", "8"}},
		// Finance: read, attempted, confirmed; exact sums.
		{[]string{"消费积分变更通知", "行数"}, []string{"消费积分变更通知", "行数", "4", "3", "2"}},
		// T4's amount "abc" is not a number; T4's score "+5" is read as 5.
		{[]string{"消费积分变更通知", "消费金额(TradeAmount)"}, []string{"消费积分变更通知", "消费金额(TradeAmount)", "1,280.80", "1,280.80", "0.30"}},
		{[]string{"消费积分变更通知", "积分值(Score)"}, []string{"消费积分变更通知", "积分值(Score)", "1,288.00", "1,283.00", "3.00"}},
		{[]string{"消费积分变更通知", "退货金额(ReturnAmount)"}, []string{"消费积分变更通知", "退货金额(ReturnAmount)", "0.00", "0.00", "0.00"}},
		{[]string{"消费积分变更通知V2", "支付金额(PayAmount)"}, []string{"消费积分变更通知V2", "支付金额(PayAmount)", "99.99", "0.00", "0.00"}},
		{[]string{"CRM积分变更事件", "变更积分(GetBonus)"}, []string{"CRM积分变更事件", "变更积分(GetBonus)", "-10.50", "-10.50", "-20.50"}},
	} {
		got := findRow(rs, c.prefix...)
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("summary row %q (-want +got):\n%s", c.prefix, diff)
		}
	}
	if r := findRow(rs, "in/broken.xlsx"); r != nil {
		// The file problem is red.
		for i, row := range rs {
			if slices.Equal(row, r) {
				cell, _ := excelize.CoordinatesToCellName(5, i+1)
				id, _ := f.GetCellStyle("汇总", cell)
				st, _ := f.GetStyle(id)
				if st == nil || st.Font == nil || st.Font.Color != "C00000" {
					t.Errorf("file problem cell %s style = %+v, want red font", cell, st)
				}
			}
		}
	}
	// The finance cells hold exact numbers.
	raw, err := excelize.OpenFile(path, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rawRows, _ := raw.GetRows("汇总")
	if got := findRow(rawRows, "消费积分变更通知", "消费金额(TradeAmount)"); len(got) < 5 || got[4] != "0.30" {
		t.Errorf("raw confirmed TradeAmount = %q, want 0.30", got)
	}
	if typ, _ := raw.GetCellType("汇总", "A1"); typ == excelize.CellTypeUnset {
		t.Errorf("summary A1 is empty")
	}

	// The chart's first series is the "sent" column of the count table.
	h := slices.IndexFunc(rs, func(r []string) bool { return len(r) > 1 && r[0] == "类型" && r[1] == "已发送" }) + 1
	series := fmt.Sprintf("汇总&#39;!$B$%d:$B$%d", h+1, h+4)
	chart := zipEntry(t, path, "xl/charts/chart1.xml")
	for _, want := range []string{"<barChart>", `<barDir val="bar">`, `<grouping val="stacked">`, series} {
		if !strings.Contains(chart, want) {
			t.Errorf("chart1.xml lacks %s", want)
		}
	}
}

func TestWriteProblems(t *testing.T) {
	path, problems := writeTest(t, "")
	if want := ProblemsPath(path); problems != want {
		t.Fatalf("Write returned problems %q, want %q", problems, want)
	}
	f := open(t, problems)
	if diff := cmp.Diff([]string{"score", "score-v2", "bonus"}, f.GetSheetList()); diff != "" {
		t.Errorf("problems sheets (-want +got):\n%s", diff)
	}
	rs := rows(t, f, "score")
	if diff := cmp.Diff(append(append([]string{"原因", "下一步", "来源"}, Columns(crmsync.KindScore, "zh")...), "事件ID"), rs[0]); diff != "" {
		t.Errorf("problems score header (-want +got):\n%s", diff)
	}
	if len(rs) != 3 {
		t.Fatalf("problems score has %d rows, want 3 (header, rejected, invalid)", len(rs))
	}
	if got, want := rs[1], append(append([]string{"被拒绝; 猫酷 Code 3001: 会员不存在", nextStep(crmsync.OutcomeRejected, false, "zh"), "in/day.xlsx[score]:4"},
		scoreValues("T3", "0201710000003", "1280.50", "1280")[:11]...), "", "T3"); !slices.Equal(got, want) {
		t.Errorf("rejected problem row = %q, want %q", got, want)
	}
	if got, want := rs[2][0], "无效: 消费金额(TradeAmount): 不是数字"; got != want {
		t.Errorf("invalid problem reason = %q, want %q", got, want)
	}
	// The bad cell (TradeAmount, template column 5) is filled red and
	// carries its reason as a comment; the others are not.
	amountCell, _ := excelize.CoordinatesToCellName(problemFixed+5, 3)
	if id, _ := f.GetCellStyle("score", amountCell); id == 0 {
		t.Errorf("bad cell %s has no style", amountCell)
	} else if st, _ := f.GetStyle(id); st == nil || len(st.Fill.Color) == 0 || st.Fill.Color[0] != "FFC7CE" {
		t.Errorf("bad cell %s style = %+v, want a red fill", amountCell, st)
	}
	comments, _ := f.GetComments("score")
	if len(comments) != 1 || comments[0].Cell != amountCell || !strings.Contains(comments[0].Text, "不是数字") {
		t.Errorf("problems comments = %+v, want one on %s with the reason", comments, amountCell)
	}
	// List items read from a sibling sheet come back as a JSON array.
	v2 := rows(t, f, "score-v2")
	if got, want := v2[1][problemFixed+14], `[{"PayType":12,"PayNo":"P1","Amount":99.99}]`; got != want {
		t.Errorf("problems score-v2 ConsumePayList = %q, want %q", got, want)
	}
	if got := v2[1][problemFixed+13]; got != "" {
		t.Errorf("problems score-v2 ConsumePromotionList = %q, want empty", got)
	}
	b := rows(t, f, "bonus")
	if len(b) != 2 || b[1][problemFixed+4] != "R2" || b[1][problemFixed+7] != "R2|C1" || b[1][0] != "失败: 连接超时" || !strings.Contains(b[1][1], "无需修改") {
		t.Errorf("problems bonus rows = %q, want the failed R2 row only", b)
	}
	if props, _ := f.GetDocProps(); props.Title != "crmsync 待处理行" {
		t.Errorf("problems Title = %q", props.Title)
	}
	if panes, _ := f.GetPanes("score"); !panes.Freeze {
		t.Errorf("problems header not frozen")
	}
}

func TestWriteNoProblems(t *testing.T) {
	_, src := testRun()
	var ok memSource
	s := crmsync.NewSummary(8, "run", time.Time{})
	for _, r := range src {
		if !r.Outcome.NeedsPerson() {
			ok = append(ok, r)
			s.Add(r.Kind, r.Outcome)
		}
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "run-8.xlsx")
	problems, err := Write(context.Background(), path, s, ok, Options{})
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if problems != "" {
		t.Errorf("Write returned problems %q, want none", problems)
	}
	entries, _ := os.ReadDir(dir)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if diff := cmp.Diff([]string{"run-8.xlsx"}, names); diff != "" {
		t.Errorf("files in dir (-want +got):\n%s", diff)
	}
}

func TestWriteEnglish(t *testing.T) {
	path, problems := writeTest(t, "en")
	f := open(t, path)
	if got := f.GetSheetName(0); got != "Summary" {
		t.Errorf("first sheet = %q, want Summary", got)
	}
	rs := rows(t, f, "score")
	want := append([]string{"Source file", "Sheet", "Row", "Key", "Outcome", "Reason", "Mallcoo Code", "Mallcoo Message", "Attempts"}, Columns(crmsync.KindScore, "en")...)
	if diff := cmp.Diff(want, rs[0]); diff != "" {
		t.Errorf("en score header (-want +got):\n%s", diff)
	}
	if rs[3][4] != "rejected" || rs[4][5] != "TradeAmount: 不是数字" {
		t.Errorf("en rows = %q", rs[3:])
	}
	p := open(t, problems)
	pr := rows(t, p, "score")
	if diff := cmp.Diff(append(append([]string{"reason", "next step", "source"}, Columns(crmsync.KindScore, "en")...), "EventID"), pr[0]); diff != "" {
		t.Errorf("en problems header (-want +got):\n%s", diff)
	}
	if got := pr[1][0]; got != "rejected; Mallcoo Code 3001: 会员不存在" {
		t.Errorf("en problem reason = %q", got)
	}
	if Columns(crmsync.KindScore, "en")[0] != "TransID" || Columns(crmsync.KindScore, "")[0] != "交易ID" {
		t.Errorf("Columns(score) = %q / %q", Columns(crmsync.KindScore, "en"), Columns(crmsync.KindScore, ""))
	}
}

func TestWriteContinuesFullSheets(t *testing.T) {
	s, src := testRun()
	path := filepath.Join(t.TempDir(), "run.xlsx")
	w := &writer{lang: "zh", maxRows: 3} // header + 2 rows a sheet
	problems, err := w.write(context.Background(), path, s, src)
	if err != nil {
		t.Fatalf("write: %v", err)
	}
	f := open(t, path)
	want := []string{"汇总", "member", "score", "score (2)", "score-v2", "bonus"}
	if diff := cmp.Diff(want, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	var keys []string
	for _, sh := range []string{"score", "score (2)"} {
		rs := rows(t, f, sh)
		if rs[0][0] != "来源文件" {
			t.Errorf("%s has no header row: %q", sh, rs[0])
		}
		for _, r := range rs[1:] {
			keys = append(keys, r[3])
		}
	}
	if diff := cmp.Diff([]string{"T1", "T2", "T3", "T4"}, keys); diff != "" {
		t.Errorf("score keys across sheets (-want +got):\n%s", diff)
	}
	p := open(t, problems)
	if got := p.GetSheetList(); !slices.Equal(got, []string{"score", "score-v2", "bonus"}) {
		t.Errorf("problems sheets = %q", got)
	}
}

func TestWriteCancelled(t *testing.T) {
	s, src := testRun()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	path := filepath.Join(dir, "run.xlsx")
	_, err := Write(ctx, path, s, src, Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Write(cancelled) = %v, want context.Canceled", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cancelled Write left %d files", len(entries))
	}
}

func TestDecimal(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"0.1", "0.2"}, "0.30"},
		{nil, "0.00"},
		{[]string{"1280.50", "-0.5", "20"}, "1300.00"},
		{[]string{"-0.125"}, "-0.125"},
		{[]string{"99999999999999999999", "1"}, "100000000000000000000.00"},
		{[]string{"0.1", "x", "1e3"}, "0.10"},
	} {
		var d decimal
		for _, s := range c.in {
			d.add(s)
		}
		if got := d.String(); got != c.want {
			t.Errorf("sum of %q = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestDecimalCarry(t *testing.T) {
	var d decimal
	for i := 0; i < 100; i++ {
		d.add("999999999999999999") // 18 digits: the int64 part must carry
	}
	d.add("0.001")
	if got, want := d.String(), "99999999999999999900.001"; got != want {
		t.Errorf("sum = %q, want %q", got, want)
	}
}

func TestTopFields(t *testing.T) {
	names := []string{"PayAmount", "ReturnAmount", "Score"}
	for _, c := range []struct {
		body string
		want []string
	}{
		{`{"TransID":"V1","PayAmount":99.99,"ReturnAmount":null,"Score":-5}`, []string{"99.99", "", "-5"}},
		{` { "Desc" : "x\"Score\":7" , "ConsumePayList":[{"Amount":1,"Score":3}], "Score" : 2 } `, []string{"", "", "2"}},
		{`{"PayAmount":"12.5"}`, []string{"12.5", "", ""}},
		{`{}`, []string{"", "", ""}},
	} {
		got := make([]string, len(names))
		if !topFields([]byte(c.body), names, got) {
			t.Errorf("topFields(%s) = false, want true", c.body)
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("topFields(%s) = %q, want %q", c.body, got, c.want)
		}
	}
	for _, bad := range []string{``, `[1]`, `{"Score":}`, `{"Score":1`, `{"Score" 1}`, `{"a":"x}`, `{"Score":1} x`, `{"Score":"1\u0030"}`} {
		if topFields([]byte(bad), names, make([]string, 3)) {
			t.Errorf("topFields(%q) = true, want false", bad)
		}
	}
}

func TestWriteStoppedAndStyles(t *testing.T) {
	s, src := testRun()
	s.Stopped = crmsync.Say("签名被拒绝:请检查 MALLCOO_PRIVATE_KEY", "signature refused: check MALLCOO_PRIVATE_KEY")
	s.Interrupt = true
	path := filepath.Join(t.TempDir(), "run.xlsx")
	// Writing twice to the same path replaces the report.
	for i := 0; i < 2; i++ {
		if _, err := Write(context.Background(), path, s, src, Options{}); err != nil {
			t.Fatalf("Write #%d: %v", i+1, err)
		}
	}
	f := open(t, path)
	rs := rows(t, f, "汇总")
	if got := findRow(rs, "提前停止原因"); !slices.Equal(got, []string{"提前停止原因", s.Stopped.ZH}) {
		t.Errorf("stopped row = %q", got)
	}
	if got := findRow(rs, "已中断"); !slices.Equal(got, []string{"已中断", "是"}) {
		t.Errorf("interrupted row = %q", got)
	}
	fill := func(sheet, cell string) string {
		id, err := f.GetCellStyle(sheet, cell)
		if err != nil {
			t.Fatal(err)
		}
		st, err := f.GetStyle(id)
		if err != nil || len(st.Fill.Color) == 0 {
			return ""
		}
		return st.Fill.Color[0]
	}
	for cell, want := range map[string]string{"E2": "C6EFCE", "E4": "FFC7CE", "E5": "FFC7CE", "A1": "D9E1F2"} {
		if got := fill("score", cell); got != want {
			t.Errorf("score %s fill = %q, want %q", cell, got, want)
		}
	}
	if got := fill("score-v2", "E2"); got != "FFEB9C" {
		t.Errorf("changed row fill = %q, want amber FFEB9C", got)
	}
	// ID columns are text-formatted, so a person editing them keeps the zeros.
	id, _ := f.GetColStyle("score", "K")
	if st, _ := f.GetStyle(id); st == nil || st.CustomNumFmt == nil || *st.CustomNumFmt != "@" {
		t.Errorf("score column K (ThirdPartyCardID) style = %+v, want text", st)
	}
}

// TestWritePrintable: every sheet of both workbooks prints A4 landscape,
// one page wide, and a row sheet repeats its header row on each page.
func TestWritePrintable(t *testing.T) {
	path, problems := writeTest(t, "")
	for _, p := range []string{path, problems} {
		f := open(t, p)
		for _, sh := range f.GetSheetList() {
			pl, err := f.GetPageLayout(sh)
			if err != nil {
				t.Fatal(err)
			}
			props, _ := f.GetSheetProps(sh)
			if pl.Size == nil || *pl.Size != 9 || pl.Orientation == nil || *pl.Orientation != "landscape" || pl.FitToWidth == nil || *pl.FitToWidth != 1 ||
				props.FitToPage == nil || !*props.FitToPage {
				t.Errorf("%s [%s]: page layout %+v, fit to page %v: want A4 landscape, one page wide", filepath.Base(p), sh, pl, props.FitToPage)
			}
		}
		titles := 0
		for _, dn := range f.GetDefinedName() {
			if dn.Name == "_xlnm.Print_Titles" && strings.HasSuffix(dn.RefersTo, "!$1:$1") {
				titles++
			}
		}
		if rowSheets := len(f.GetSheetList()); p == path {
			rowSheets-- // the summary
			if titles != rowSheets {
				t.Errorf("%s: %d sheets repeat their header, want %d", filepath.Base(p), titles, rowSheets)
			}
		} else if titles != rowSheets {
			t.Errorf("%s: %d sheets repeat their header, want %d", filepath.Base(p), titles, rowSheets)
		}
	}
}

// TestWriteRemovesStaleProblems: the same report path on another night
// (-report FILE) with no row needing a person removes the problems
// workbook an earlier run left there; one a person saved is refused, kept.
func TestWriteRemovesStaleProblems(t *testing.T) {
	path, problems := writeTest(t, "zh")
	if problems == "" {
		t.Fatal("the first run wrote no problems workbook")
	}
	_, src := testRun()
	var ok memSource
	s := crmsync.NewSummary(8, "run", time.Time{})
	for _, r := range src {
		if !r.Outcome.NeedsPerson() {
			ok = append(ok, r)
			s.Add(r.Kind, r.Outcome)
		}
	}
	got, err := Write(context.Background(), path, s, ok, Options{})
	if err != nil {
		t.Fatalf("Write of run 8 over run 7's report: %v", err)
	}
	if got != "" {
		t.Errorf("Write returned problems %q, want none", got)
	}
	if _, err := os.Stat(problems); !os.IsNotExist(err) {
		t.Errorf("run 7's problems workbook %s still beside run 8's report (stat: %v)", problems, err)
	}
}

// TestWriteCutsListingAboveReportRows: a run of more rows than report_rows
// lists on its kind sheets only the rows that need a person (all of them);
// the sheets and the summary name the results CSV written beside the report
// in the same pass, with every row. At the limit every row is listed and no
// CSV is written unless asked for.
func TestWriteCutsListingAboveReportRows(t *testing.T) {
	s, src := testRun() // 8 rows: 3 sent or unchanged, 5 need a person
	dir := t.TempDir()
	path := filepath.Join(dir, "run-7.xlsx")
	// A file of someone else's where the CSV would go: the next name.
	if err := os.WriteFile(filepath.Join(dir, "run-7-results.csv"), []byte("mine\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Write(context.Background(), path, s, src, Options{ShowPersonal: true, ReportRows: 7}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	f := open(t, path)
	if diff := cmp.Diff([]string{"汇总", "member", "score", "score-v2", "bonus"}, f.GetSheetList()); diff != "" {
		t.Errorf("sheets (-want +got):\n%s", diff)
	}
	for sheet, want := range map[string][]string{"member": nil, "score": {"T3", "T4"}, "score-v2": {"V1"}, "bonus": {"R2|C1"}} {
		rs := rows(t, f, sheet)
		note := rs[0][len(rs[0])-1]
		if !strings.Contains(note, "run-7-results-2.csv") || !strings.Contains(note, "report_rows") {
			t.Errorf("%s: the header's last cell does not say where every row is: %q", sheet, note)
		}
		var keys []string
		for _, r := range rs[1:] {
			keys = append(keys, r[3])
		}
		if diff := cmp.Diff(want, keys); diff != "" {
			t.Errorf("%s keys (-want +got):\n%s", sheet, diff)
		}
	}
	if r := findRow(rows(t, f, "汇总"), "逐行结果"); r == nil || !strings.Contains(r[1], "run-7-results-2.csv") {
		t.Errorf("the summary does not say where every row is: %q", r)
	}
	b, err := os.ReadFile(filepath.Join(dir, "run-7-results-2.csv"))
	if err != nil {
		t.Fatalf("results CSV beside the report: %v", err)
	}
	if lines := strings.Split(strings.TrimSuffix(string(b), "\r\n"), "\r\n"); len(lines) != 9 || lines[0] != "\ufeff"+ResultsHeader() {
		t.Errorf("results CSV: want the header and 8 rows, got %d lines:\n%s", len(lines), b)
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "run-7-results.csv")); string(b) != "mine\n" {
		t.Errorf("another's file was overwritten: %q", b)
	}

	// At the limit, and with no limit: every row, no CSV beside.
	for _, limit := range []int{8, -1} {
		dir := t.TempDir()
		path := filepath.Join(dir, "run-7.xlsx")
		if _, err := Write(context.Background(), path, s, src, Options{ShowPersonal: true, ReportRows: limit}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		f := open(t, path)
		if n := len(rows(t, f, "score")); n != 5 {
			t.Errorf("report_rows %d: score sheet has %d rows, want the header and 4", limit, n)
		}
		if r := findRow(rows(t, f, "汇总"), "逐行结果"); r != nil {
			t.Errorf("report_rows %d: summary says the listing is cut: %q", limit, r)
		}
		if _, err := os.Stat(filepath.Join(dir, "run-7-results.csv")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("report_rows %d: a results CSV was written unasked: %v", limit, err)
		}
	}
}

// TestWriteResultsInTheSamePass: Options.Results makes Write write the
// results CSV too, the same bytes WriteResults writes.
func TestWriteResultsInTheSamePass(t *testing.T) {
	s, src := testRun()
	dir := t.TempDir()
	opt := Options{Results: filepath.Join(dir, "a.csv")}
	if _, err := Write(context.Background(), filepath.Join(dir, "run.xlsx"), s, src, opt); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if err := WriteResults(context.Background(), filepath.Join(dir, "b.csv"), s, src, Options{}); err != nil {
		t.Fatalf("WriteResults: %v", err)
	}
	a, err := os.ReadFile(filepath.Join(dir, "a.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "b.csv"))
	if string(a) != string(b) || strings.Count(string(a), "\r\n") != 9 {
		t.Errorf("Write's results CSV differs from WriteResults':\n%s\n---\n%s", a, b)
	}
}

// personOnly is a Source that streams only the rows that need a person
// (PersonSource); reading every row fails.
type personOnly struct{ memSource }

func (p personOnly) Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	return errors.New("every row read again")
}

func (p personOnly) ResultsNeedingPerson(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	return p.memSource.Results(ctx, runID, kind, func(r *crmsync.Result) error {
		if !r.Outcome.NeedsPerson() {
			return nil
		}
		return fn(r)
	})
}

// TestWriteFromLive: a cut report given a Live fed every row of the run
// reads back only the rows that need a person, and is the report (and the
// results CSV, byte for byte) Write makes reading every row. A Live that
// misses a row, or was dropped, is not used.
func TestWriteFromLive(t *testing.T) {
	s, src := testRun()
	write := func(dir string, src Source, lv *Live) (string, string) {
		t.Helper()
		path := filepath.Join(dir, "run.xlsx")
		if _, err := Write(context.Background(), path, s, src, Options{ReportRows: 7, Live: lv}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "run-results.csv"))
		if err != nil {
			t.Fatal(err)
		}
		var cells strings.Builder
		for _, p := range []string{path, ProblemsPath(path)} {
			f := open(t, p)
			for _, sh := range f.GetSheetList() {
				fmt.Fprintf(&cells, "== %s\n%q\n", sh, rows(t, f, sh))
			}
		}
		return string(b), cells.String()
	}
	wantCSV, want := write(t.TempDir(), src, nil)
	seq := slices.Clone(src)
	slices.SortFunc(seq, func(a, b *crmsync.Result) int { return int(a.Seq - b.Seq) })

	lv := NewLive(t.TempDir(), Options{})
	defer lv.Close()
	lv.Add(seq)
	gotCSV, got := write(t.TempDir(), personOnly{src}, lv)
	if diff := cmp.Diff(wantCSV, gotCSV); diff != "" {
		t.Errorf("results CSV from the Live (-read +live):\n%s", diff)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("report from the Live (-read +live):\n%s", diff)
	}

	short := NewLive(t.TempDir(), Options{})
	defer short.Close()
	short.Add(seq[1:])
	dropped := NewLive(t.TempDir(), Options{})
	dropped.Add(seq)
	dropped.Drop()
	for name, lv := range map[string]*Live{"a row short": short, "dropped": dropped} {
		if _, err := Write(context.Background(), filepath.Join(t.TempDir(), "run.xlsx"), s, personOnly{src}, Options{ReportRows: 7, Live: lv}); err == nil {
			t.Errorf("%s: Write used the Live", name)
		}
		if gotCSV, got := write(t.TempDir(), src, lv); gotCSV != wantCSV || got != want {
			t.Errorf("%s: the report differs from the one read from the Source", name)
		}
	}
}

// TestResultsCSVFormulaAsText: a text field of the results CSV that a
// spreadsheet would take for a formula (= + - @ first: a key, a Mallcoo
// message, a file name from outside) is written with a leading ', so
// Excel and LibreOffice show it as text; other text and numbers are as
// they were.
func TestResultsCSVFormulaAsText(t *testing.T) {
	s, _ := testRun()
	src := memSource{
		{Kind: crmsync.KindScore, Key: `=HYPERLINK("http://x","y")`, Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 3001,
			Message: "+cmd|' /C calc'!A0", Attempts: 1, Source: crmsync.SourceRef{File: "-in/day.csv", Row: 2}},
		{Kind: crmsync.KindScore, Key: "@SUM(1)", Outcome: crmsync.OutcomeFailed, Message: "\tx", Source: crmsync.SourceRef{File: "in/day.csv", Sheet: "=s", Row: 3}},
		{Kind: crmsync.KindScore, Key: "T-1=2", Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Message: "成功", Source: crmsync.SourceRef{File: "in/day.csv", Row: 4}},
	}
	path := filepath.Join(t.TempDir(), "r.csv")
	if err := WriteResults(context.Background(), path, s, src, Options{ShowPersonal: true}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	type line struct{ file, sheet, row, key, code, message string }
	var got []line
	for _, r := range recs[1:] {
		got = append(got, line{r[0], r[1], r[2], r[4], r[9], r[10]})
	}
	want := []line{
		{"'-in/day.csv", "", "2", `'=HYPERLINK("http://x","y")`, "3001", "'+cmd|' /C calc'!A0"},
		{"in/day.csv", "'=s", "3", "'@SUM(1)", "", "'\tx"},
		{"in/day.csv", "", "4", "T-1=2", "1", "成功"},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(line{})); diff != "" {
		t.Errorf("results CSV lines (-want +got):\n%s", diff)
	}
}

// FuzzDecimalAdd: a decimal's sum of up to four values (each a decimal such
// as "-1280.50", or ignored as add ignores it) is their exact sum, as
// big.Rat adds them, at the scale of the most decimals met (at least two).
func FuzzDecimalAdd(f *testing.F) {
	f.Add("1280.50", "-0.5", "20", "0.125")
	f.Add("999999999999999999", "999999999999999999", "0.001", "-1")
	f.Add("12345678901234567.8", "0.00000000000000000001", "x", "1e3")
	f.Add("-000123.4500", "", ".5", "5.")
	f.Fuzz(func(t *testing.T, a, b, c, e string) {
		var d decimal
		sum, scale := new(big.Rat), 2
		for _, s := range []string{a, b, c, e} {
			d.add(s)
			ip, fp, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
			if ip == "" || !digits(ip) || !digits(fp) || len(fp) > 30 {
				continue // add ignores it
			}
			r, ok := new(big.Rat).SetString(strings.TrimSuffix(s, "."))
			if !ok {
				t.Fatalf("big.Rat cannot read %q", s)
			}
			sum.Add(sum, r)
			scale = max(scale, len(strings.TrimRight(fp, "0")))
		}
		if got, want := d.String(), sum.FloatString(scale); got != want && !(want == "-"+got && sum.Sign() == 0) {
			t.Errorf("sum of %q = %s, want %s", []string{a, b, c, e}, got, want)
		}
	})
}

// TestSummarySumsFit: sums too wide for the summary's number columns (a
// backfill's run to billions: LibreOffice and Excel show ### then) widen
// them to the widest sum as shown; small sums leave them as they are.
func TestSummarySumsFit(t *testing.T) {
	for _, c := range []struct {
		amount string
		want   float64 // width of C to E
	}{
		{"1280.50", summaryNumberWidth},
		{"25045000000.00", 19},  // "25,045,000,000.00": 17 + 2
		{"-99999999999.99", 20}, // read: -99,999,999,999.69 (with T1's and T2's 0.30): 18 + 2
	} {
		s, src := testRun()
		src[3].Values = scoreValues("T3", "0201710000003", c.amount, "1280")
		src[3].Body = scoreBody("T3", "0201710000003", c.amount, "1280")
		path := filepath.Join(t.TempDir(), "run-7.xlsx")
		if _, err := Write(context.Background(), path, s, src, Options{ShowPersonal: true}); err != nil {
			t.Fatalf("Write: %v", err)
		}
		f := open(t, path)
		for _, col := range []string{"C", "D", "E"} {
			if w, err := f.GetColWidth("汇总", col); err != nil || w != c.want {
				t.Errorf("amount %s: column %s width %v, %v; want %v", c.amount, col, w, err, c.want)
			}
		}
		if got := findRow(rows(t, f, "汇总"), "消费积分变更通知", "消费金额(TradeAmount)"); len(got) < 3 || amountWidth(strings.ReplaceAll(got[2], ",", "")) > int(c.want)-2 {
			t.Errorf("amount %s: read sum shown %q, wider than its column %v", c.amount, got, c.want)
		}
	}
	for v, want := range map[string]int{"0": 4, "0.3": 4, "-10.50": 6, "1280.80": 8, "999": 6, "1000": 8, "-1000000": 13} {
		if got := amountWidth(v); got != want {
			t.Errorf("amountWidth(%q) = %d, want %d", v, got, want)
		}
	}
}

// TestChartBesideSums: the counts chart never covers the finance sums
// below the count table (columns A to E), also when the count table is
// narrow (one outcome: 类型, 已发送, 合计), where it hid the confirmed sums.
func TestChartBesideSums(t *testing.T) {
	s, all := testRun()
	var src memSource
	s = crmsync.NewSummary(7, "run in/", s.Started)
	for _, r := range all {
		if r.Kind == crmsync.KindScore && r.Outcome == crmsync.OutcomeSent {
			src = append(src, r)
			s.Add(r.Kind, r.Outcome)
		}
	}
	path := filepath.Join(t.TempDir(), "run-7.xlsx")
	if _, err := Write(context.Background(), path, s, src, Options{ShowPersonal: true}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if got := findRow(rows(t, open(t, path), "汇总"), "类型"); len(got) != 3 {
		t.Fatalf("count table header %q, want 3 columns (the narrow case)", got)
	}
	drawing := zipEntry(t, path, "xl/drawings/drawing1.xml")
	_, from, ok := strings.Cut(drawing, "<xdr:from><xdr:col>")
	col, _, _ := strings.Cut(from, "<")
	if n, err := strconv.Atoi(col); !ok || err != nil || n < 5 {
		t.Errorf("chart anchored at column %q (0-based), want F or right of it: the sums are in A to E", col)
	}
}

// TestStoppedNextSteps: after sending stopped, what to do about a failed
// row is to fix the stop's cause first — on the summary sheet, in the
// causes, and in the problems workbook for the rows the stop left unsent —
// not "nothing to fix"; a row that failed on its own (a timeout) keeps
// its step.
func TestStoppedNextSteps(t *testing.T) {
	s, src := testRun()
	unsent := &crmsync.Result{Kind: crmsync.KindScore, Key: "T9", Outcome: crmsync.OutcomeFailed, Reason: crmsync.Because(crmsync.ReasonNotSent, "HTTP 503"),
		Seq: int64(len(src) + 1), Source: crmsync.SourceRef{File: "in/day.xlsx", Sheet: "score", Row: 9},
		Values: scoreValues("T9", "0201710000009", "9", "9"), Body: scoreBody("T9", "0201710000009", "9", "9")}
	src = append(src, unsent)
	s.Add(unsent.Kind, unsent.Outcome)
	s.Stopped = crmsync.Say("签名被拒绝", "signature refused")
	path := filepath.Join(t.TempDir(), "run.xlsx")
	problems, err := Write(context.Background(), path, s, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	fix, plain := nextStep(crmsync.OutcomeFailed, true, "zh"), nextStep(crmsync.OutcomeFailed, false, "zh")
	if fix == plain {
		t.Fatal("the stopped step is the plain one")
	}
	f := open(t, path)
	summary := fmt.Sprint(rows(t, f, "汇总"))
	if !strings.Contains(summary, fix) || strings.Contains(summary, plain) {
		t.Errorf("summary sheet: want the stopped step %q and not %q:\n%s", fix, plain, summary)
	}
	for _, c := range s.Causes {
		if c.Outcome == crmsync.OutcomeFailed && c.Fix != fix {
			t.Errorf("cause %q: fix %q, want %q", c.Text, c.Fix, fix)
		}
	}
	p := open(t, problems)
	step := map[string]string{}
	for _, sheet := range p.GetSheetList() {
		for _, r := range rows(t, p, sheet) {
			if len(r) > 2 {
				step[r[2]] = r[1]
			}
		}
	}
	if got := step["in/day.xlsx[score]:9"]; got != fix {
		t.Errorf("problems workbook, the row the stop left unsent: step %q, want %q", got, fix)
	}
	if got := step["in/bonus.csv:3"]; got != plain {
		t.Errorf("problems workbook, a row that timed out: step %q, want %q", got, plain)
	}
}
