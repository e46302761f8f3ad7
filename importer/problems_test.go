package importer

import (
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
	if len(back) != 2 || back[0] != ps[0] || back[1] != ps[1] {
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
