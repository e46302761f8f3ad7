package importer

import (
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestEveryProblemOfARow: a row with three bad cells lists three problems,
// each with its column, code and value, in the order of the template; the
// first is Problem too.
func TestEveryProblemOfARow(t *testing.T) {
	const head = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,PayType"
	p := writeFile(t, t.TempDir(), "score.csv", csvText(head, "T1,C1,消费,2024-11-01 10:00:00,12a,S1,100,现金"))
	row := oneRow(t, &Reader{}, p)
	mustProblem(t, row)
	type got struct{ col, code, value string }
	var gs []got
	for _, pr := range row.Problems {
		gs = append(gs, got{pr.Column, pr.Code, pr.Value})
		if pr.ZH == "" || pr.EN == "" || !strings.Contains(pr.Reason, " / ") {
			t.Errorf("%s: texts zh %q, en %q, reason %q: want both", pr.Column, pr.ZH, pr.EN, pr.Reason)
		}
	}
	want := []got{
		{"ScoreEvent", crmsync.ReasonNotAllowed, "消费"},
		{"TradeAmount", crmsync.ReasonAmount, "12a"},
		{"PayType", crmsync.ReasonUnmapped, "现金"},
	}
	if len(gs) != len(want) {
		t.Fatalf("problems = %v, want %v", gs, want)
	}
	for i := range want {
		if gs[i] != want[i] {
			t.Errorf("problem %d = %v, want %v", i, gs[i], want[i])
		}
	}
	if row.Problem != &row.Problems[0] {
		t.Errorf("Problem is not the first of Problems")
	}
}

// TestProblemsRoundTrip: the problems of a result, kept as its reason text
// (what the ledger stores), come back whole and render in either language.
func TestProblemsRoundTrip(t *testing.T) {
	ps := []crmsync.Problem{
		crmsync.NewProblem("PayType", crmsync.ReasonUnmapped, "微信", "不是整数代码(微信)", `"微信" is not an integer code`),
		crmsync.NewProblem("TradeAmount", crmsync.ReasonAmount, "12a", "不是有效的数字(12a)", `"12a" is not a valid number`),
	}
	r := &crmsync.Result{Column: "PayType", Reason: crmsync.EncodeProblems(ps)}
	back := r.Problems()
	if len(back) != 2 || !reflect.DeepEqual(back, ps) {
		t.Fatalf("Problems() = %+v, want %+v", back, ps)
	}
	if got := back[0].Text("en"); got != `"微信" is not an integer code` {
		t.Errorf("Text(en) = %q", got)
	}
	if got := back[0].Text("zh"); got != "不是整数代码(微信)" {
		t.Errorf("Text(zh) = %q", got)
	}
	old := &crmsync.Result{Column: "TradeAmount", Reason: "不是数字 / not a number"}
	if ps := old.Problems(); len(ps) != 1 || ps[0].Text("en") != "不是数字 / not a number" || ps[0].Column != "TradeAmount" {
		t.Errorf("an old reason: Problems() = %+v, want it whole", ps)
	}
}

// TestUnknownColumn: a header that matches no field is a warning of the
// file naming the nearest field, its cells kept after the row's values;
// with an alias it is read as that field.
func TestUnknownColumn(t *testing.T) {
	const head = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,退款时间,ReturnAmount,Score"
	p := writeFile(t, t.TempDir(), "score.csv", csvText(head, "R1,C1,2101,2024-11-01 10:00:00,100,S1,2024-11-02 10:00:00,100,-100"))
	rows, sums := readAll(t, &Reader{}, p)
	if len(sums) != 1 || len(sums[0].Unknown) != 1 || sums[0].Unknown[0] != "退款时间" || len(sums[0].Warnings) != 1 ||
		!strings.Contains(sums[0].Warnings[0].ZH, "退货时间(ReturnTime)") {
		t.Fatalf("summaries = %+v, want the unknown 退款时间 with a warning naming 退货时间(ReturnTime)", sums)
	}
	pr := mustProblem(t, rows[0])
	if pr.Column != "ReturnTime" || pr.Code != crmsync.ReasonRule {
		t.Errorf("problem = %+v, want the return rule on ReturnTime", pr)
	}
	if last := rows[0].Values[len(rows[0].Values)-1]; last != "退款时间"+crmsync.ExtraSep+"2024-11-02 10:00:00" {
		t.Errorf("last value = %q, want the unknown column's cell", last)
	}
	for _, aliases := range []map[crmsync.Kind]map[string]string{{"": {"退款时间": "ReturnTime"}}, {crmsync.KindScore: {"退款时间": "ReturnTime"}}} {
		rows, sums = readAll(t, &Reader{Columns: aliases}, p)
		mustEvent(t, rows[0])
		if len(sums[0].Warnings) != 0 {
			t.Errorf("aliases %v: warnings %q, want none", aliases, sums[0].Warnings)
		}
	}
}
