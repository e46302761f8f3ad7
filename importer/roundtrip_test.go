package importer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/report"
)

// results is a run's results held in memory, as report.Source.
type results []*crmsync.Result

func (rs results) Results(_ context.Context, _ int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	for _, r := range rs {
		if r.Kind == kind {
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}

// The problems workbook the report writes reads back as an import file:
// same kinds, same cell values, same problems.
func TestProblemsWorkbookReadsBack(t *testing.T) {
	dir := t.TempDir()
	files := []string{
		writeFile(t, dir, "score.csv", csvText(scoreHeader+",ReturnTime,ReturnAmount",
			"T1,1.23457E+11,1,2024-11-01 10:00:00,100,S1,100,,",
			"T2,0201710000001,2101,2024/11/1 10:00:00,\"1,280.50\",S1,-5,,100")),
		writeFile(t, dir, "member.csv", csvText("ThirdPartyCardID,Mobile", ",1371234567")),
		writeFile(t, dir, "score-v2.csv", csvText("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,ConsumePayList",
			`T3,C1,1,2024-11-01,1,S1,1,"[{""PayType"":""x"",""PayNo"":""0012""}]"`)),
		writeFile(t, dir, "grade.csv", csvText("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime",
			"0201710000002,金卡,银卡,升降,2024-11-01 10:00:00")),
	}
	var rows []*crmsync.Row
	s := crmsync.NewSummary(1, "run", time.Now())
	var rs results
	for _, f := range files {
		got, sums := readAll(t, &Reader{}, f)
		rows = append(rows, got...)
		s.Files = append(s.Files, sums...)
	}
	for i, r := range rows {
		p := mustProblem(t, r)
		s.Add(r.Kind, crmsync.OutcomeInvalid)
		rs = append(rs, &crmsync.Result{Seq: int64(i + 1), Source: r.Source, Kind: r.Kind, Values: r.Values,
			Outcome: crmsync.OutcomeInvalid, Column: p.Column, Reason: p.Reason})
	}
	problems, err := report.Write(context.Background(), filepath.Join(dir, "out", "run-1.xlsx"), s, rs, report.Options{})
	if err != nil {
		t.Fatalf("report.Write: %v", err)
	}
	again, sums := readAll(t, &Reader{}, problems)
	for _, f := range sums {
		if !f.Problem.IsZero() {
			t.Errorf("problems workbook sheet %s: %s", f.Sheet, f.Problem.String())
		}
	}
	if len(again) != len(rows) {
		t.Fatalf("problems workbook gave %d rows, want %d", len(again), len(rows))
	}
	byKind := map[crmsync.Kind][]*crmsync.Row{}
	for _, r := range again {
		byKind[r.Kind] = append(byKind[r.Kind], r)
	}
	for _, want := range rows {
		got := byKind[want.Kind][0]
		byKind[want.Kind] = byKind[want.Kind][1:]
		if diff := cmp.Diff(want.Values, got.Values); diff != "" {
			t.Errorf("%s row %v read back: Values (-want +got):\n%s", want.Kind, want.Source, diff)
		}
		if got.Problem == nil || got.Problem.Column != want.Problem.Column {
			t.Errorf("%s row %v read back: problem %+v, want one on %s", want.Kind, want.Source, got.Problem, want.Problem.Column)
		}
	}
}
