package pipeline_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/pipeline"
)

// world is one test's world: a real ledger file, the fake Mallcoo (behind a
// hook that can answer 503 to chosen bodies) and the real client without
// retries, and a directory for input files.
type world struct {
	t    *testing.T
	dir  string
	l    *ledger.Ledger
	srv  *mallcootest.Handler
	cl   *mallcoo.Client
	mu   sync.Mutex
	fail func(body []byte) bool
	// resendScores sets Job.ResendUncertainScores.
	resendScores bool
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, dir: t.TempDir(), srv: mallcootest.NewHandler(mallcootest.Options{})}
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		fail := w.fail != nil && w.fail(body)
		w.mu.Unlock()
		if fail {
			http.Error(rw, "busy", http.StatusServiceUnavailable)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		w.srv.ServeHTTP(rw, r)
	}))
	t.Cleanup(ts.Close)
	cl, err := mallcoo.NewClient(mallcoo.Config{BaseURL: ts.URL, Credentials: mallcootest.Sandbox, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	w.cl = cl
	l, err := ledger.Open(context.Background(), filepath.Join(w.dir, "ledger.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unlock() })
	w.l = l
	return w
}

// failIf makes the server answer 503 to the bodies f picks (nil: none).
func (w *world) failIf(f func(body []byte) bool) {
	w.mu.Lock()
	w.fail = f
	w.mu.Unlock()
}

// file writes a CSV input and returns its path.
func (w *world) file(name string, lines ...string) string {
	w.t.Helper()
	p := filepath.Join(w.dir, name)
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		w.t.Fatal(err)
	}
	return p
}

// run runs the job over files (a plan when send is false) and returns the
// summary and the results by key (and by "row N" for rows without a key).
func (w *world) run(send bool, files ...string) (*crmsync.Summary, map[string]*crmsync.Result) {
	w.t.Helper()
	ctx := context.Background()
	id, err := w.l.BeginRun(ctx, "run", files, time.Now())
	if err != nil {
		w.t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "run", time.Now())
	j := &pipeline.Job{Reader: &importer.Reader{}, Ledger: w.l, Concurrency: 4, ResendUncertainScores: w.resendScores}
	if send {
		j.Sender = w.cl
	}
	if err := j.Run(ctx, id, files, s); err != nil {
		w.t.Fatalf("Job.Run() = %v", err)
	}
	if err := w.l.EndRun(ctx, s); err != nil {
		w.t.Fatal(err)
	}
	got := map[string]*crmsync.Result{}
	w.l.Results(ctx, id, "", func(r *crmsync.Result) error {
		k := r.Key
		if k == "" || got[k] != nil || r.Outcome == crmsync.OutcomeInvalid {
			k = r.Source.String()
		}
		got[k] = r
		return nil
	})
	return s, got
}

func (w *world) sentBodies(kind crmsync.Kind) []string {
	var out []string
	for _, r := range w.srv.Delivered(kind) {
		out = append(out, string(r.Body))
	}
	return out
}

func wantOutcome(t *testing.T, rs map[string]*crmsync.Result, key string, want crmsync.Outcome) *crmsync.Result {
	t.Helper()
	r := rs[key]
	if r == nil {
		t.Fatalf("no result for %s (have %d)", key, len(rs))
	}
	if r.Outcome != want {
		t.Errorf("%s: outcome %q (%s), want %q", key, r.Outcome, r.Reason, want)
	}
	return r
}

const scoreHeader = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount"

// The diff table of DESIGN.md, row by row, through real runs.
func TestDiffTable(t *testing.T) {
	w := newWorld(t)
	first := w.file("score.csv", scoreHeader,
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,", // new → sent
		"T2,C1,1,2024-11-01 11:00:00,50.00,S1,50,,",   // will be changed
		"T3,C2,1,2024-11-01 10:00:00,30.00,S1,30,,",   // rejected, later resubmitted unchanged
		"T4,C2,1,2024-11-01 10:30:00,40.00,S1,40,,",   // rejected, later fixed
		"T5,C3,1,2024-11-01 10:00:00,20.00,S1,20,,",   // fails (503), retried next run
		"T6,C4,1,2024-11-01 10:00:00,-5.00,S1,-5,,",   // invalid: a sale with a negative score
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,", // duplicate of row 2
	)
	w.srv.RejectIf(func(k crmsync.Kind, body []byte) (int, string, bool) {
		if bytes.Contains(body, []byte(`"T3"`)) || (bytes.Contains(body, []byte(`"T4"`)) && bytes.Contains(body, []byte(`"TradeAmount":40`))) {
			return 3001, "会员不存在", true
		}
		return 0, "", false
	})
	// T5's send gets a 503: a client without retries leaves it failed.
	w.failIf(func(body []byte) bool { return bytes.Contains(body, []byte(`"T5"`)) })

	s, rs := w.run(true, first)
	wantOutcome(t, rs, "T1", crmsync.OutcomeSent)
	wantOutcome(t, rs, "T2", crmsync.OutcomeSent)
	r3 := wantOutcome(t, rs, "T3", crmsync.OutcomeRejected)
	if !r3.HasCode || r3.Code != 3001 || r3.Message != "会员不存在" {
		t.Errorf("T3: Code %d %q, want Mallcoo's 3001 会员不存在 verbatim", r3.Code, r3.Message)
	}
	wantOutcome(t, rs, "T4", crmsync.OutcomeRejected)
	wantOutcome(t, rs, "T5", crmsync.OutcomeFailed)
	inv := wantOutcome(t, rs, first+":7", crmsync.OutcomeInvalid)
	if inv.Column != "Score" {
		t.Errorf("invalid row: column %q, want Score", inv.Column)
	}
	dup := wantOutcome(t, rs, first+":8", crmsync.OutcomeDuplicate)
	if !strings.Contains(dup.Reason, first+":2") {
		t.Errorf("duplicate: reason %q does not point at the first row %s:2", dup.Reason, first)
	}
	if got := s.ExitCode(); got != crmsync.ExitNeedsPerson {
		t.Errorf("first run exit code %d, want 3", got)
	}

	// Second run: T2 changed, T4 fixed, T3 unchanged, T5 healthy now.
	w.failIf(nil)
	before := len(w.srv.Requests())
	second := w.file("score2.csv", scoreHeader,
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,",
		"T2,C1,1,2024-11-01 11:00:00,55.00,S1,55,,",
		"T3,C2,1,2024-11-01 10:00:00,30.00,S1,30,,",
		"T4,C2,1,2024-11-01 10:30:00,45.00,S1,45,,",
		"T5,C3,1,2024-11-01 10:00:00,20.00,S1,20,,",
	)
	_, rs = w.run(true, second)
	wantOutcome(t, rs, "T1", crmsync.OutcomeUnchanged)
	ch := wantOutcome(t, rs, "T2", crmsync.OutcomeChanged)
	if !bytes.Contains(ch.Previous, []byte(`"TradeAmount":50`)) || !bytes.Contains(ch.Body, []byte(`"TradeAmount":55`)) {
		t.Errorf("changed T2: previous %s, new %s; want the old and new amounts side by side", ch.Previous, ch.Body)
	}
	wantOutcome(t, rs, "T3", crmsync.OutcomeRejected)
	wantOutcome(t, rs, "T4", crmsync.OutcomeSent)
	wantOutcome(t, rs, "T5", crmsync.OutcomeSent)
	var resent []string
	for _, r := range w.srv.Requests()[before:] {
		resent = append(resent, string(r.Body))
	}
	if len(resent) != 2 {
		t.Errorf("second run sent %d requests, want 2 (fixed T4, retried T5): %q", len(resent), resent)
	}
}

const gradeHeader = "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID"

// TestUncertainAndBlocked: events in flight when a run died come back
// uncertain: score resent, grade held (and its member's later grade
// changes blocked); a grade change that fails blocks the member's later
// grade changes in the run, not the member's other kinds.
func TestUncertainAndBlocked(t *testing.T) {
	w := newWorld(t)
	grades := w.file("grade.csv", gradeHeader,
		"G,普卡,银卡,0,2024-11-01 12:00:00,G3", // out of order in the file: sent by time
		"G,普卡,银卡,0,2024-11-01 10:00:00,G1",
		"G,银卡,金卡,0,2024-11-01 11:00:00,G2",
		"H,普卡,银卡,0,2024-11-01 10:00:00,H1",
		"K,普卡,银卡,0,2024-11-01 10:00:00,K1",
		"K,银卡,金卡,0,2024-11-01 11:00:00,K2",
	)
	scores := w.file("score.csv", scoreHeader,
		"T9,C9,1,2024-11-01 10:00:00,10.00,S1,10,,",
		"TK,K,1,2024-11-01 12:00:00,10.00,S1,10,,",
	)
	// A run that died after claiming G1 and T9: read them, claim, stop.
	ctx := context.Background()
	var claim []*crmsync.Event
	r := &importer.Reader{}
	for _, f := range []string{grades, scores} {
		r.ReadFile(ctx, f, func(row *crmsync.Row) error {
			if k := row.Event.Key; k == "G1" || k == "T9" {
				claim = append(claim, row.Event)
			}
			return nil
		})
	}
	dead, err := w.l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.l.Claim(ctx, dead, claim); err != nil {
		t.Fatal(err)
	}

	w.failIf(func(body []byte) bool { return bytes.Contains(body, []byte(`"K1"`)) })
	_, rs := w.run(true, grades, scores)
	// Nothing says Mallcoo refuses a repeated TransID: T9 is held too…
	wantOutcome(t, rs, "T9", crmsync.OutcomeUncertain)
	g1 := wantOutcome(t, rs, "G1", crmsync.OutcomeUncertain)
	if g1.ReasonCode() != crmsync.ReasonDiedInFlight || !strings.Contains(g1.Problems()[0].Text("en"), "retry -uncertain") {
		t.Errorf("G1 reason %q: want code %s, saying what to do", g1.Reason, crmsync.ReasonDiedInFlight)
	}
	wantOutcome(t, rs, "G2", crmsync.OutcomeBlocked)
	wantOutcome(t, rs, "G3", crmsync.OutcomeBlocked)
	wantOutcome(t, rs, "H1", crmsync.OutcomeSent)
	wantOutcome(t, rs, "K1", crmsync.OutcomeFailed)
	wantOutcome(t, rs, "K2", crmsync.OutcomeBlocked)
	wantOutcome(t, rs, "TK", crmsync.OutcomeSent)
	for _, b := range w.sentBodies(crmsync.KindGrade) {
		if strings.Contains(b, `"ThirdPartyCardID":"G"`) {
			t.Errorf("a grade change of the held member was sent: %s", b)
		}
	}

	// Next run with K healthy: K1 and K2 go, in order; G stays held; T9
	// goes once the mall knows a repeated TransID is refused
	// (score_resend_uncertain).
	w.failIf(nil)
	w.resendScores = true
	_, rs = w.run(true, scores)
	wantOutcome(t, rs, "T9", crmsync.OutcomeSent)
	before := len(w.srv.Requests())
	_, rs = w.run(true, grades)
	wantOutcome(t, rs, "K1", crmsync.OutcomeSent)
	wantOutcome(t, rs, "K2", crmsync.OutcomeSent)
	wantOutcome(t, rs, "G1", crmsync.OutcomeUncertain)
	var order []string
	for _, r := range w.srv.Requests()[before:] {
		order = append(order, string(r.Body))
	}
	if len(order) != 2 || !strings.Contains(order[0], `"K1"`) || !strings.Contains(order[1], `"K2"`) {
		t.Errorf("second run sent %q, want K1 then K2", order)
	}
}

// TestPlanClassifiesOnly: without a sender the job classifies and records,
// and rows to send end as new.
func TestPlanClassifiesOnly(t *testing.T) {
	w := newWorld(t)
	f := w.file("score.csv", scoreHeader, "T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,")
	s, rs := w.run(false, f)
	wantOutcome(t, rs, "T1", crmsync.OutcomeNew)
	if len(w.srv.Requests()) != 0 || s.ExitCode() != crmsync.ExitOK {
		t.Errorf("plan: %d requests, exit %d; want none and 0", len(w.srv.Requests()), s.ExitCode())
	}
}

func TestCountRows(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.csv")
	b := filepath.Join(dir, "b.csv")
	os.WriteFile(a, []byte("h1,h2\n1,2\n3,4\n"), 0o644)
	os.WriteFile(b, []byte("h1,h2\r\n1,2\r\n3,4"), 0o644) // no final newline
	ctx := context.Background()
	if got := importer.CountRows(ctx, []string{a, b}); got != 4 {
		t.Errorf("CountRows(a, b) = %d, want 4", got)
	}
	if got := importer.CountRows(ctx, []string{a, filepath.Join(dir, "c.xlsx")}); got != 0 {
		t.Errorf("CountRows with an XLSX = %d, want 0 (unknown)", got)
	}
	// A FIFO is not opened (the open would block without a writer), a
	// device not read (/dev/zero never ends).
	fifo := filepath.Join(dir, "fifo.csv")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	zero := filepath.Join(dir, "zero.csv")
	os.Symlink("/dev/zero", zero)
	for _, p := range []string{fifo, zero} {
		if got := importer.CountRows(ctx, []string{a, p}); got != 0 {
			t.Errorf("CountRows with %s = %d, want 0 (unknown)", p, got)
		}
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if got := importer.CountRows(cancelled, []string{a, b}); got != 0 {
		t.Errorf("CountRows(cancelled) = %d, want 0", got)
	}
}

const bonusHeader = "ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime"

// TestHeldAcrossRuns: a points change that failed last run holds back the
// member's later points changes in a run whose files do not have it; once
// retry delivers it, the later ones go.
func TestHeldAcrossRuns(t *testing.T) {
	w := newWorld(t)
	day1 := w.file("bonus1.csv", bonusHeader, "C1,4,10,110,R1,2024-11-01 10:00:00")
	w.failIf(func(body []byte) bool { return bytes.Contains(body, []byte(`"R1"`)) })
	_, rs := w.run(true, day1)
	wantOutcome(t, rs, "R1|C1", crmsync.OutcomeFailed)
	w.failIf(nil)

	day2 := w.file("bonus2.csv", bonusHeader, "C1,4,5,115,R2,2024-11-02 10:00:00", "C2,4,5,15,R3,2024-11-02 10:00:00")
	_, rs = w.run(true, day2)
	b := wantOutcome(t, rs, "R2|C1", crmsync.OutcomeBlocked)
	if !strings.Contains(b.Reason, "R1|C1") {
		t.Errorf("blocked R2: reason %q does not name the held R1", b.Reason)
	}
	wantOutcome(t, rs, "R3|C2", crmsync.OutcomeSent)

	// retry sends R1; then the day-2 file sends R2, in order.
	ctx := context.Background()
	id, _ := w.l.BeginRun(ctx, "retry", nil, time.Now())
	var evs []*crmsync.Event
	w.l.Events(ctx, []crmsync.State{crmsync.StateFailed}, func(ev *crmsync.Event, _ crmsync.Prior) error {
		evs = append(evs, ev)
		return nil
	})
	s := crmsync.NewSummary(id, "retry", time.Now())
	if err := (&pipeline.Job{Ledger: w.l, Sender: w.cl}).Retry(ctx, id, evs, s); err != nil || s.Counts[crmsync.OutcomeSent] != 1 {
		t.Fatalf("retry: %v, counts %v; want R1 sent", err, s.Counts)
	}
	w.l.EndRun(ctx, s)
	_, rs = w.run(true, day2)
	wantOutcome(t, rs, "R2|C1", crmsync.OutcomeSent)
	var order []string
	for _, r := range w.srv.Delivered(crmsync.KindBonus) {
		var m struct{ RefID string }
		json.Unmarshal(r.Body, &m)
		order = append(order, m.RefID)
	}
	if strings.Join(order, ",") != "R3,R1,R2" {
		t.Errorf("points changes delivered in order %v, want R3,R1,R2 (R1 before R2)", order)
	}
}

// TestFixedRowUnblocks: a grade change rejected before, fixed in today's
// file, is sent first and lets the member's later change follow.
func TestFixedRowUnblocks(t *testing.T) {
	w := newWorld(t)
	w.srv.RejectIf(func(k crmsync.Kind, body []byte) (int, string, bool) {
		if bytes.Contains(body, []byte(`"钻石卡"`)) {
			return 3002, "卡等级不存在", true
		}
		return 0, "", false
	})
	_, rs := w.run(true, w.file("g1.csv", gradeHeader, "M,普卡,钻石卡,0,2024-11-01 10:00:00,X1"))
	wantOutcome(t, rs, "X1", crmsync.OutcomeRejected)
	_, rs = w.run(true, w.file("g2.csv", gradeHeader,
		"M,普卡,银卡,0,2024-11-01 10:00:00,X1", // the fix
		"M,银卡,金卡,0,2024-11-01 11:00:00,X2"))
	wantOutcome(t, rs, "X1", crmsync.OutcomeSent)
	wantOutcome(t, rs, "X2", crmsync.OutcomeSent)
}

// TestBadListRowHoldsOrders: a payments row whose TransID Excel mangled
// cannot be joined to its order: the orders are not sent with part of their
// payments, and the list file is reported.
func TestBadListRowHoldsOrders(t *testing.T) {
	w := newWorld(t)
	main := w.file("2024-11-01_score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score",
		"123456789012345678,C1,1,2024-11-01 10:00:00,100,S1,100")
	w.file("2024-11-01_score-v2.payments.csv", "TransID,PayType,PayNo,Amount",
		"1.23457E+17,12,P1,60", "123456789012345678,1,P2,40")
	s, rs := w.run(true, main)
	r := wantOutcome(t, rs, main+":2", crmsync.OutcomeInvalid)
	if r.Column != "ConsumePayList" {
		t.Errorf("order with a bad payments row: column %q, want ConsumePayList", r.Column)
	}
	if len(w.srv.Requests()) != 0 {
		t.Errorf("an order went out with part of its payments: %s", w.srv.Requests()[0].Body)
	}
	problem := ""
	for _, f := range s.Files {
		problem += f.Problem.String()
	}
	if !strings.Contains(problem, "1.23457E+17") || s.ExitCode() != crmsync.ExitNeedsPerson {
		t.Errorf("file problems %q, exit %d: want the bad payments row named and exit 3", problem, s.ExitCode())
	}
}

// TestInvalidRowHoldsLane: an invalid grade change of a member holds back
// the member's later grade changes in the run (sent first, they would be
// overtaken by the fixed row), not the member's earlier ones or other
// members'.
func TestInvalidRowHoldsLane(t *testing.T) {
	w := newWorld(t)
	f := w.file("grade.csv", gradeHeader,
		"M,普卡,银卡,0,2024-11-01 09:00:00,E0",
		"M,银卡,金卡,升降,2024-11-01 10:00:00,E1", // invalid ChangeType
		"M,金卡,铂金卡,0,2024-11-01 11:00:00,E2",
		"N,普卡,银卡,0,2024-11-01 11:00:00,F1",
	)
	_, rs := w.run(true, f)
	wantOutcome(t, rs, "E0", crmsync.OutcomeSent)
	b := wantOutcome(t, rs, "E2", crmsync.OutcomeBlocked)
	if !strings.Contains(b.Reason, f+":3") {
		t.Errorf("blocked E2: reason %q does not name the invalid row %s:3", b.Reason, f)
	}
	wantOutcome(t, rs, "F1", crmsync.OutcomeSent)
}

// TestLaneOrderByTime: a member's events go in event-time order whatever the
// file order (a return listed before its sale), one at a time, while other
// members' go in parallel.
func TestLaneOrderByTime(t *testing.T) {
	w := newWorld(t)
	lines := []string{scoreHeader}
	for m := 0; m < 20; m++ {
		// Listed newest first: the return, then the sales in reverse.
		lines = append(lines, fmt.Sprintf("R%02d,C%02d,2101,2024-11-01 09:00:00,10,S1,-10,2024-11-01 20:00:00,10", m, m))
		for e := 3; e >= 1; e-- {
			lines = append(lines, fmt.Sprintf("T%02d%d,C%02d,1,2024-11-01 1%d:00:00,10,S1,10,,", m, e, m, e))
		}
	}
	_, rs := w.run(true, w.file("score.csv", lines...))
	if n := len(w.srv.Delivered(crmsync.KindScore)); n != 80 {
		t.Fatalf("delivered %d, want 80 (%d results)", n, len(rs))
	}
	last := map[string]string{}
	for _, r := range w.srv.Delivered(crmsync.KindScore) {
		var m struct{ TransID, ThirdPartyCardID string }
		json.Unmarshal(r.Body, &m)
		want := map[string]string{"": "1", "1": "2", "2": "3", "3": "R"}[last[m.ThirdPartyCardID]]
		got := m.TransID[len(m.TransID)-1:]
		if m.TransID[0] == 'R' {
			got = "R"
		}
		if got != want {
			t.Errorf("member %s: %s arrived after %q, want the next in time order", m.ThirdPartyCardID, m.TransID, last[m.ThirdPartyCardID])
		}
		last[m.ThirdPartyCardID] = got
	}
}

// TestRetryOldBodyInWireForm: a body an older crmsync stored (every empty
// field null) goes out in the wire form when it is retried.
func TestRetryOldBodyInWireForm(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	old := []byte(`{"RefID":"R1","ShopCode":null,"Value":"12","RuleValue":null,"BonusAction":null,"CurBonusAction":null,"BonusLimitSceneType":null,"BonusLimitObjType":null,"BonusLimitActionType":null,"BonusLimitTimeType":null,"Desc":null}`)
	ev := &crmsync.Event{Kind: crmsync.KindOverLimit, Key: "R1|", Lane: "R1", Body: old, Hash: crmsync.ContentHash(crmsync.KindOverLimit, old)}
	id, _ := w.l.BeginRun(ctx, "retry", nil, time.Now())
	s := crmsync.NewSummary(id, "retry", time.Now())
	if err := (&pipeline.Job{Ledger: w.l, Sender: w.cl}).Retry(ctx, id, []*crmsync.Event{ev}, s); err != nil || s.Counts[crmsync.OutcomeSent] != 1 {
		t.Fatalf("retry: %v, counts %v; want R1 sent", err, s.Counts)
	}
	w.l.EndRun(ctx, s)
	if got, want := strings.Join(w.sentBodies(crmsync.KindOverLimit), "\n"), `{"RefID":"R1","Value":"12"}`; got != want {
		t.Errorf("retried body = %s, want %s", got, want)
	}
}

// TestRejectStreakRowsRetryable: after an accepted answer and one row
// rejected with its own Code, 100 rejections in a row with one Code stop
// the run; those 100 and the rows not sent are recorded failed (sent again
// once the setup is fixed), the lone rejection stays rejected.
func TestRejectStreakRowsRetryable(t *testing.T) {
	w := newWorld(t)
	lines := []string{"RefID,BonusAction"}
	for i := 0; i <= 200; i++ {
		lines = append(lines, fmt.Sprintf("R%03d,4", i))
	}
	in := w.file("invalid.csv", lines...)
	w.srv.RejectIf(func(_ crmsync.Kind, body []byte) (int, string, bool) {
		switch {
		case bytes.Contains(body, []byte(`"R000"`)):
			return 0, "", false
		case bytes.Contains(body, []byte(`"R001"`)):
			return 4002, "单号格式错误", true
		}
		return 4001, "商场不存在", true
	})
	ctx := context.Background()
	id, _ := w.l.BeginRun(ctx, "run", nil, time.Now())
	s := crmsync.NewSummary(id, "run", time.Now())
	j := &pipeline.Job{Reader: &importer.Reader{}, Ledger: w.l, Sender: w.cl, Concurrency: 1}
	if err := j.Run(ctx, id, []string{in}, s); err == nil || s.Stopped.IsZero() {
		t.Fatalf("Job.Run = %v, stopped %q; want it stopped by the streak", err, s.Stopped)
	}
	w.l.EndRun(ctx, s)
	// Each row is a lane of its own, and lanes go in parallel: a 4001
	// answered before R000's success or R001's 4002 is not part of the
	// streak (another answer ends it) and is a rejection of its own.
	early, last := 0, 0
	reqs := w.srv.Requests()
	for i, r := range reqs {
		if r.Code != 4001 {
			last = i
		}
	}
	for _, r := range reqs[:last] {
		if r.Code == 4001 {
			early++
		}
	}
	if got := s.Counts; got[crmsync.OutcomeSent] != 1 || got[crmsync.OutcomeRejected] != 1+early || got[crmsync.OutcomeFailed] != 199-early {
		t.Errorf("counts %v, want 1 sent, %d rejected (R001 and the 4001s answered before R000 or R001), %d failed", got, 1+early, 199-early)
	}
	if n := len(w.srv.Requests()); n != 102+early {
		t.Errorf("%d requests, want %d (R000, R001, %d 4001s answered before them and the 100 of the streak): none after the streak", n, 102+early, early)
	}
	rs := map[string]*crmsync.Result{}
	w.l.Results(ctx, id, "", func(r *crmsync.Result) error { rs[r.Key] = r; return nil })
	wantOutcome(t, rs, "R001", crmsync.OutcomeRejected)
	if r := wantOutcome(t, rs, "R050", crmsync.OutcomeFailed); !r.HasCode || r.Code != 4001 || r.ReasonCode() != crmsync.ReasonRejectedStopped || !strings.Contains(r.Problems()[0].Text("en"), "setup") {
		t.Errorf("R050: Code %v %d, reason %q; want Code 4001 kept and a reason naming the setup", r.HasCode, r.Code, r.Reason)
	}
}
