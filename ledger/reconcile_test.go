package ledger

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// reconcileAll runs a reconciliation of rows against l and returns the
// entries by category as "key state" strings, and the windows.
func reconcileAll(t *testing.T, l *Ledger, opt ReconcileOptions, rows []*crmsync.Row) (map[Category][]string, []Window) {
	t.Helper()
	ctx := context.Background()
	got := map[Category][]string{}
	rec, err := l.Reconcile(ctx, opt, func(e *Entry) error {
		s := e.Key
		switch {
		case e.Category == Missing:
			s += " " + string(e.State)
			if e.State == "" {
				s += "none"
			}
		case e.Duplicate:
			s += " dup of " + e.First.String()
		case e.Category == Invalid:
			s = e.Source.String() + " " + e.Column
		}
		got[e.Category] = append(got[e.Category], s)
		return nil
	})
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	defer rec.Close()
	for _, r := range rows {
		if err := rec.Add(r); err != nil {
			t.Fatalf("Add(%v) = %v", r.Source, err)
		}
	}
	ws, err := rec.Finish(ctx)
	if err != nil {
		t.Fatalf("Finish() = %v", err)
	}
	if err := rec.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	return got, ws
}

func fileRow(n int, ev *crmsync.Event) *crmsync.Row {
	return &crmsync.Row{Source: crmsync.SourceRef{File: "f.csv", Row: n + 1}, Kind: ev.Kind, Event: ev}
}

func timed(ev *crmsync.Event, t time.Time) *crmsync.Event {
	ev.Time = t
	return ev
}

// TestReconcileCategories builds a ledger with events in every state and
// checks where each file row and ledger event lands.
func TestReconcileCategories(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	l := openLedger(t, path)
	id := beginRun(t, l)
	day := t0
	sent := []*crmsync.Event{
		event(crmsync.KindScore, "S1", `{"a":1}`),
		event(crmsync.KindScore, "S2", `{"a":2}`),
		event(crmsync.KindScore, "ORPHAN", `{"a":3}`),
		timed(event(crmsync.KindScore, "EARLIER", `{"a":4}`), day.AddDate(0, 0, -1)), // outside the window
		event(crmsync.KindBonus, "B-ORPHAN", `{"b":1}`),                              // a kind not in the files
	}
	failed := event(crmsync.KindScore, "F1", `{"a":5}`)
	rejected := event(crmsync.KindScore, "R1", `{"a":6}`)
	inflight := event(crmsync.KindScore, "I1", `{"a":7}`)
	all := append(append([]*crmsync.Event{}, sent...), failed, rejected, inflight)
	if err := l.Claim(ctx, id, all); err != nil {
		t.Fatal(err)
	}
	var rs []*crmsync.Result
	for i, ev := range sent {
		rs = append(rs, result(int64(i+1), ev, crmsync.OutcomeSent, 1, 1))
	}
	rs = append(rs, result(10, failed, crmsync.OutcomeFailed, 0, 3), result(11, rejected, crmsync.OutcomeRejected, 400, 1))
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatal(err)
	}

	rows := []*crmsync.Row{
		fileRow(1, event(crmsync.KindScore, "S1", `{"a":1}`)),  // matched
		fileRow(2, event(crmsync.KindScore, "S2", `{"a":20}`)), // mismatched
		fileRow(3, event(crmsync.KindScore, "NEW", `{"a":8}`)), // missing: never seen
		fileRow(4, event(crmsync.KindScore, "F1", `{"a":5}`)),  // missing: failed
		fileRow(5, event(crmsync.KindScore, "R1", `{"a":6}`)),  // missing: rejected
		fileRow(6, event(crmsync.KindScore, "I1", `{"a":7}`)),  // missing: in flight
		fileRow(7, event(crmsync.KindScore, "S1", `{"a":1}`)),  // duplicate
		{Source: crmsync.SourceRef{File: "f.csv", Row: 9}, Kind: crmsync.KindScore, Problem: &crmsync.Problem{Column: "TradeAmount", Reason: "bad"}},
	}
	// More rows than a batch: duplicates across batches are found too.
	for i := range 3 {
		rows = append(rows, fileRow(10+i, event(crmsync.KindScore, fmt.Sprintf("NEW%d", i), `{"n":1}`)))
	}
	rows = append(rows, fileRow(20, event(crmsync.KindScore, "NEW", `{"a":8}`)))
	got, ws := reconcileAll(t, l, ReconcileOptions{Batch: 4}, rows)
	want := map[Category][]string{
		Matched:    {"S1"},
		Mismatched: {"S2"},
		Missing:    {"NEW none", "F1 failed", "R1 rejected", "I1 inflight", "NEW0 none", "NEW1 none", "NEW2 none"},
		Invalid:    {"S1 dup of f.csv:2", "f.csv:9 TradeAmount", "NEW dup of f.csv:4"},
		Orphan:     {"ORPHAN"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reconcile entries (-want +got):\n%s", diff)
	}
	wantWin := []Window{{Kind: crmsync.KindScore, Since: time.Date(2026, 11, 24, 0, 0, 0, 0, cst), Until: time.Date(2026, 11, 25, 0, 0, 0, 0, cst)}}
	if diff := cmp.Diff(wantWin, ws); diff != "" {
		t.Errorf("windows (-want +got):\n%s", diff)
	}

	// -since/-until widen the window to the day before: EARLIER is an
	// orphan too, and rows outside are skipped.
	opt := ReconcileOptions{Since: time.Date(2026, 11, 23, 0, 0, 0, 0, cst), Until: time.Date(2026, 11, 24, 9, 0, 0, 0, cst)}
	got, _ = reconcileAll(t, l, opt, rows[:2])
	want = map[Category][]string{
		Skipped: {"S1", "S2"},
		Orphan:  {"EARLIER"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reconcile with -since/-until (-want +got):\n%s", diff)
	}
}

// TestReconcileReadOnly: a reconciliation changes nothing in the ledger
// file, and works while another process holds the run lock.
func TestReconcileReadOnly(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "l.db")
	l := openLedger(t, path)
	id := beginRun(t, l)
	ev := event(crmsync.KindScore, "S1", `{"a":1}`)
	if err := l.Claim(ctx, id, []*crmsync.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, ev, crmsync.OutcomeSent, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	before := fileBytes(t, path)

	r, err := OpenReadOnly(ctx, path) // l holds the run lock
	if err != nil {
		t.Fatalf("OpenReadOnly(%q) = %v", path, err)
	}
	defer r.Close()
	if err := r.Claim(ctx, id, []*crmsync.Event{event(crmsync.KindScore, "S2", `{}`)}); err == nil {
		t.Errorf("Claim on a read-only ledger = nil, want an error")
	}
	if _, err := OpenReadOnly(ctx, path+".missing"); err == nil {
		t.Errorf("OpenReadOnly(missing) = nil error, want one")
	} else if _, serr := os.Stat(path + ".missing"); serr == nil {
		t.Errorf("OpenReadOnly(missing) created the file")
	}
	var n int
	rec, err := r.Reconcile(ctx, ReconcileOptions{}, func(e *Entry) error {
		if e.Category != Matched {
			t.Errorf("entry %s %s, want matched", e.Key, e.Category)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("Reconcile() = %v", err)
	}
	if !rec.RunActive() {
		t.Errorf("RunActive() = false while another Ledger holds the run lock")
	}
	if err := rec.Add(fileRow(1, event(crmsync.KindScore, "S1", `{"a":1}`))); err != nil {
		t.Fatal(err)
	}
	if _, err := rec.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("%d entries, want 1", n)
	}
	if after := fileBytes(t, path); after != before {
		t.Errorf("the ledger files changed during a reconciliation")
	}
}

// fileBytes returns the ledger file and its WAL, concatenated.
func fileBytes(t *testing.T, path string) string {
	t.Helper()
	var s string
	for _, p := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(p)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		s += string(b)
	}
	return s
}

// TestReconcileSameContent: a key sent with a body whose hash differs from
// the file row's, but which ReconcileOptions.SameContent says holds the
// same content (a body sent by an older crmsync), is matched, as a run
// calls it unchanged (crmsync.Diff); without the hook it is mismatched.
func TestReconcileSameContent(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	id := beginRun(t, l)
	old := event(crmsync.KindOverLimit, "L1", `{"Value":"5,000"}`)
	if err := l.Claim(ctx, id, []*crmsync.Event{old}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, old, crmsync.OutcomeSent, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	row := fileRow(1, event(crmsync.KindOverLimit, "L1", `{"Value":"5000"}`))
	var asked []string
	same := func(ev *crmsync.Event, prior []byte) bool {
		asked = append(asked, string(prior))
		return string(prior) == `{"Value":"5,000"}`
	}
	got, _ := reconcileAll(t, l, ReconcileOptions{SameContent: same}, []*crmsync.Row{row})
	if diff := cmp.Diff(map[Category][]string{Matched: {"L1"}}, got); diff != "" {
		t.Errorf("reconcile with SameContent (-want +got):\n%s", diff)
	}
	if len(asked) != 1 {
		t.Errorf("SameContent asked %d times (%q), want once with the ledger's body", len(asked), asked)
	}
	got, _ = reconcileAll(t, l, ReconcileOptions{}, []*crmsync.Row{row})
	if diff := cmp.Diff(map[Category][]string{Mismatched: {"L1"}}, got); diff != "" {
		t.Errorf("reconcile without SameContent (-want +got):\n%s", diff)
	}
}

// TestReconcileFixedRows: with KeyOf, a bad row whose key the ledger has
// delivered is matched as fixed, with the delivered body and time, and its
// key is no orphan; a row of the fixed version read after it is no
// duplicate; a bad row whose key was not delivered stays invalid.
func TestReconcileFixedRows(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	id := beginRun(t, l)
	fixed := event(crmsync.KindScore, "FIX", `{"a":1}`)
	failed := event(crmsync.KindScore, "FAILED", `{"a":2}`)
	if err := l.Claim(ctx, id, []*crmsync.Event{fixed, failed}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, []*crmsync.Result{result(1, fixed, crmsync.OutcomeSent, 1, 1), result(2, failed, crmsync.OutcomeFailed, 0, 1)}); err != nil {
		t.Fatal(err)
	}
	bad := func(n int, key string) *crmsync.Row {
		return &crmsync.Row{Source: crmsync.SourceRef{File: "f.csv", Row: n}, Kind: crmsync.KindScore, Values: []string{key},
			Problem: &crmsync.Problem{Column: "TradeAmount", Reason: "bad"}}
	}
	keyOf := func(r *crmsync.Row) (string, bool) { return r.Values[0], r.Values[0] != "" }
	var entries []Entry
	rec, err := l.Reconcile(ctx, ReconcileOptions{KeyOf: keyOf}, func(e *Entry) error {
		entries = append(entries, *e)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	for _, r := range []*crmsync.Row{bad(2, "FIX"), bad(3, "FAILED"), bad(4, ""), fileRow(5, event(crmsync.KindScore, "FIX", `{"a":1}`))} {
		if err := rec.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := rec.Finish(ctx); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, fmt.Sprintf("%s %s %s fixed=%v body=%s", e.Source, e.Category, e.Key, e.Fixed, e.Body))
	}
	want := []string{
		"f.csv:2 matched FIX fixed=true body={\"a\":1}",
		"f.csv:3 invalid FAILED fixed=false body=",
		"f.csv:4 invalid  fixed=false body=",
		"f.csv:6 matched FIX fixed=false body={\"a\":1}",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reconcile entries (-want +got):\n%s", diff)
	}
	if e := entries[0]; !e.Time.Equal(t0) || e.Column != "" || e.Reason == "" {
		t.Errorf("fixed entry: time %v, column %q, reason %q; want the delivered event's time %v, no column, a reason", e.Time, e.Column, e.Reason, t0)
	}
}
