package pipeline_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/pipeline"
)

// storeOld makes the ledger hold body as event key's body, in state
// outcome, as a crmsync from before a rule would have recorded it (the
// ledger's own API: Record inserts or settles the event).
func (w *world) storeOld(kind crmsync.Kind, key, lane string, at time.Time, outcome crmsync.Outcome, body string) {
	w.t.Helper()
	ctx := context.Background()
	id, err := w.l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	r := &crmsync.Result{Seq: 1, Kind: kind, Key: key, Lane: lane, Time: at, Body: []byte(body),
		Hash: crmsync.ContentHash(kind, []byte(body)), Outcome: outcome, Source: crmsync.SourceRef{File: "old.csv", Row: 2}}
	if err := w.l.Record(ctx, id, []*crmsync.Result{r}); err != nil {
		w.t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "run", time.Now())
	s.Add(kind, outcome)
	if err := w.l.EndRun(ctx, s); err != nil {
		w.t.Fatal(err)
	}
}

// posted reports whether any request the fake Mallcoo got holds s.
func (w *world) posted(s string) bool {
	for _, r := range w.srv.Requests() {
		if bytes.Contains(r.Body, []byte(s)) {
			return true
		}
	}
	return false
}

// wantStored checks that r is invalid for a stored body that breaks
// today's rule of column.
func wantStored(t *testing.T, rs map[string]*crmsync.Result, key, column string) {
	t.Helper()
	r := wantOutcome(t, rs, key, crmsync.OutcomeInvalid)
	ps := r.Problems()
	if r.Column != column || len(ps) != 1 || ps[0].Code != crmsync.ReasonStoredBody || ps[0].Column != column {
		t.Errorf("%s: column %q, problems %+v; want one %s problem of %s", key, r.Column, ps, crmsync.ReasonStoredBody, column)
	}
}

// TestRetryRefusesStoredBodyBreakingRule: retry sends bodies from the
// ledger; one stored before today's rules (money with three decimals, an
// enum value no longer allowed) is recorded invalid, naming the field, and
// never posted; the valid ones go, and a later grade change of the refused
// one's member stays held behind it.
func TestRetryRefusesStoredBodyBreakingRule(t *testing.T) {
	w := newWorld(t)
	w.failIf(func([]byte) bool { return true })
	w.run(true, w.file("score.csv", scoreHeader,
		"T1,C1,1,2024-11-01 10:00:00,12.34,S1,12,,",
		"T2,C2,1,2024-11-01 10:00:00,20.00,S1,20,,"),
		w.file("grade.csv", gradeHeader,
			"G,普卡,银卡,0,2024-11-01 10:00:00,G1",
			"G,银卡,金卡,0,2024-11-01 11:00:00,G2"))
	w.storeOld(crmsync.KindScore, "T1", "C1", time.Date(2024, 11, 1, 10, 0, 0, 0, time.UTC), crmsync.OutcomeFailed,
		`{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":12.345,"CrmShopID":"S1","Score":12}`)
	w.storeOld(crmsync.KindGrade, "G1", "G", time.Date(2024, 11, 1, 2, 0, 0, 0, time.UTC), crmsync.OutcomeFailed,
		`{"ThirdPartyCardID":"G","BeforeCardCode":"普卡","AfterCardCode":"银卡","ChangeType":7,"ChangeTime":"2024-11-01 10:00:00","GradeChangeID":"G1"}`)
	w.failIf(nil)

	ctx := context.Background()
	id, _ := w.l.BeginRun(ctx, "retry", nil, time.Now())
	evs, _, err := pipeline.Sendable(ctx, w.l, []crmsync.State{crmsync.StateFailed, crmsync.StateBlocked}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "retry", time.Now())
	if err := (&pipeline.Job{Ledger: w.l, Sender: w.cl}).Retry(ctx, id, evs, s); err != nil {
		t.Fatalf("Job.Retry() = %v", err)
	}
	w.l.EndRun(ctx, s)
	rs := map[string]*crmsync.Result{}
	w.l.Results(ctx, id, "", func(r *crmsync.Result) error { rs[r.Key] = r; return nil })

	wantStored(t, rs, "T1", "TradeAmount")
	wantStored(t, rs, "G1", "ChangeType")
	// Its cells are the stored body's, in template order, so the problems
	// workbook shows the row to fix, not an empty one.
	if v := rs["T1"].Values; len(v) < 6 || v[0] != "T1" || v[1] != "C1" || v[4] != "12.345" || v[5] != "S1" {
		t.Errorf("T1 cells %q, want those of its stored body (TradeAmount 12.345)", v)
	}
	wantOutcome(t, rs, "T2", crmsync.OutcomeSent)
	wantOutcome(t, rs, "G2", crmsync.OutcomeBlocked)
	for _, k := range []string{`"T1"`, `"G1"`, `"G2"`} {
		if w.posted(k) {
			t.Errorf("a body holding %s was posted", k)
		}
	}
	if got := s.Counts; got[crmsync.OutcomeInvalid] != 2 || got[crmsync.OutcomeSent] != 1 || got[crmsync.OutcomeNew] != 0 {
		t.Errorf("retry counts %v, want 2 invalid, 1 sent", got)
	}
	// The backlog names each refused event by its key, with the field.
	_, items := w.outstanding()
	if it, ok := items["invalid T1"]; !ok || len(it.Problems) != 1 || it.Problems[0].Column != "TradeAmount" {
		t.Errorf("outstanding invalid T1 = %+v (%v), want its TradeAmount problem; have %v", it, ok, items)
	}
	// A person giving it up settles both.
	if _, err := w.l.Resolve(ctx, crmsync.KindScore, []string{"T1"}, ledger.DecideDismiss, "test", "old body"); err != nil {
		t.Fatal(err)
	}
	if _, items := w.outstanding(); items["invalid T1"].Key != "" || items["failed T1"].Key != "" {
		t.Errorf("outstanding after dismissing T1: %v, want no T1", items)
	}
}

// TestApplyRefusesStoredBodyBreakingRule: apply sends the bodies a plan
// stored; one stored before today's rules is recorded invalid and not
// posted, the others go.
func TestApplyRefusesStoredBodyBreakingRule(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	plan, _ := w.l.BeginRun(ctx, "plan", nil, time.Now())
	old := `{"TransID":"T1","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":12.345,"CrmShopID":"S1","Score":12}`
	ok := `{"TransID":"T2","ThirdPartyCardID":"C2","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":20,"CrmShopID":"S1","Score":20}`
	var rows []*crmsync.Result
	for i, b := range []string{old, ok} {
		key := []string{"T1", "T2"}[i]
		rows = append(rows, &crmsync.Result{Seq: int64(i + 1), Kind: crmsync.KindScore, Key: key, Lane: "C" + key[1:],
			Time: time.Date(2024, 11, 1, 2, 0, 0, 0, time.UTC), Body: []byte(b), Hash: crmsync.ContentHash(crmsync.KindScore, []byte(b)),
			Outcome: crmsync.OutcomeNew, Source: crmsync.SourceRef{File: "score.csv", Row: i + 2}})
	}
	if err := w.l.Record(ctx, plan, rows); err != nil {
		t.Fatal(err)
	}
	ps := crmsync.NewSummary(plan, "plan", time.Now())
	ps.Add(crmsync.KindScore, crmsync.OutcomeNew)
	ps.Add(crmsync.KindScore, crmsync.OutcomeNew)
	w.l.EndRun(ctx, ps)

	id, _ := w.l.BeginRun(ctx, "apply", nil, time.Now())
	s := crmsync.NewSummary(id, "apply", time.Now())
	if err := (&pipeline.Job{Ledger: w.l, Sender: w.cl}).Apply(ctx, id, plan, w.l, s); err != nil {
		t.Fatalf("Job.Apply() = %v", err)
	}
	w.l.EndRun(ctx, s)
	rs := map[string]*crmsync.Result{}
	w.l.Results(ctx, id, "", func(r *crmsync.Result) error { rs[r.Key] = r; return nil })
	wantStored(t, rs, "T1", "TradeAmount")
	wantOutcome(t, rs, "T2", crmsync.OutcomeSent)
	if w.posted(`"T1"`) {
		t.Error("T1's stored body was posted")
	}
}

// TestBacklogRefusesStoredBodyBreakingRule: a run sends the ledger's
// blocked events once their blocker goes; one whose stored body breaks
// today's rules is recorded invalid and not posted.
func TestBacklogRefusesStoredBodyBreakingRule(t *testing.T) {
	w := newWorld(t)
	w.failIf(func(body []byte) bool { return bytes.Contains(body, []byte(`"R1"`)) })
	w.run(true, w.file("bonus1.csv", bonusHeader,
		"C1,4,10,110,R1,2024-11-01 10:00:00", "C1,4,5,115,R2,2024-11-02 10:00:00"))
	w.storeOld(crmsync.KindBonus, "R2|C1", "C1", time.Date(2024, 11, 2, 2, 0, 0, 0, time.UTC), crmsync.OutcomeBlocked,
		`{"ThirdPartyCardID":"C1","BonusAction":4,"GetBonus":5,"AfterBonus":115,"RefID":"R2","CreateTime":"2024-11-02T10:00:00"}`)
	w.failIf(nil)
	_, rs := w.run(true, w.file("bonus2.csv", bonusHeader, "C1,4,10,110,R1,2024-11-01 10:00:00"))
	wantOutcome(t, rs, "R1|C1", crmsync.OutcomeSent)
	// An invalid result is listed by its source row: the ledger here.
	if r := rs["ledger:0"]; r == nil || r.Key != "R2|C1" {
		t.Fatalf("no invalid result of R2 from the ledger: %v", rs)
	}
	wantStored(t, rs, "ledger:0", "CreateTime")
	if w.posted(`"R2"`) {
		t.Error("R2's stored body was posted")
	}
}
