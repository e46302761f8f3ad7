package ledger

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// wireResult is benchResult of a score event whose content hash is not
// its body's, as the importer makes them (the hash is of the full form,
// the body the wire form, mallcoo.WireBody), with outcome o.
func wireResult(seq int64, i int, o crmsync.Outcome) *crmsync.Result {
	ev := benchEvent(i)
	ev.Hash = crmsync.ContentHash(ev.Kind, append([]byte("full "), ev.Body...))
	r := benchResult(seq, ev)
	r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = o, false, 0, "", 0
	return r
}

// readResults returns the results of run id, times in UTC.
func readResults(t *testing.T, l *Ledger, id int64) []*crmsync.Result {
	t.Helper()
	var got []*crmsync.Result
	if err := l.Results(context.Background(), id, "", func(r *crmsync.Result) error { got = append(got, r); return nil }); err != nil {
		t.Fatalf("Results(%d) = %v", id, err)
	}
	for _, r := range got {
		r.Time = r.Time.UTC()
	}
	return got
}

// recordPlan records rs as a whole plan run of the locked l that started
// and ended at at, and returns its ID.
func recordPlan(t testing.TB, l *Ledger, at time.Time, rs []*crmsync.Result) int64 {
	t.Helper()
	ctx := context.Background()
	id, err := l.BeginRun(ctx, "plan", nil, at)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "plan", at)
	s.Ended, s.Rows = at, len(rs)
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	return id
}

// mixedRows returns n score results with outcome o, Seqs 1 to n: every
// other one's content hash is not its body's (wireResult), the others'
// is.
func mixedRows(n int, o crmsync.Outcome) []*crmsync.Result {
	rs := make([]*crmsync.Result, n)
	for i := range rs {
		if i%2 == 0 {
			rs[i] = wireResult(int64(i+1), i, o)
		} else { // the hash is the body's
			rs[i] = benchResult(int64(i+1), benchEvent(i))
			rs[i].Outcome, rs[i].HasCode, rs[i].Code, rs[i].Message, rs[i].Attempts = o, false, 0, "", 0
		}
	}
	return rs
}

// queuedEvents returns the events of run id's queue (Queued), as the
// sender claims them, and checks there are n.
func queuedEvents(t testing.TB, l *Ledger, id int64, n int) []*crmsync.Event {
	t.Helper()
	var evs []*crmsync.Event
	err := l.Queued(context.Background(), id, func(r *crmsync.Result) error {
		evs = append(evs, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
		return nil
	})
	if err != nil || len(evs) != n {
		t.Fatalf("Queued(%d): %d rows, %v; want %d", id, len(evs), err, n)
	}
	return evs
}

func utc(rs []*crmsync.Result) []*crmsync.Result {
	for _, r := range rs {
		r.Time = r.Time.UTC()
	}
	return rs
}

// TestPlanThenRunStoresOnce: a run of the rows a plan recorded (a plan
// makes no events, so the run finds nothing of the plan's by key) refers
// to the plan's bodies and cells, found in the plan's queue, whether the
// hash is the body's or not; so does a second plan. Claiming and sending
// them stores nothing more. Every run reads back as recorded.
func TestPlanThenRunStoresOnce(t *testing.T) {
	ctx := context.Background()
	l := lockedLedger(t)
	const n = 40
	rows := func(o crmsync.Outcome) []*crmsync.Result { return mixedRows(n, o) }
	begin := func(command string) int64 {
		t.Helper()
		id, err := l.BeginRun(ctx, command, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	stored := func(when string, bodies, cells int) {
		t.Helper()
		if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != bodies || c != cells {
			t.Errorf("%s: %d bodies, %d cells; want %d, %d", when, b, c, bodies, cells)
		}
	}
	plan := begin("plan")
	if err := l.Record(ctx, plan, rows(crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	stored("after the plan", n, n)
	plan2 := begin("plan")
	if err := l.Record(ctx, plan2, rows(crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	stored("after a second plan", n, n)
	run := begin("run")
	if err := l.Record(ctx, run, rows(crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	stored("after the run's diff", n, n)
	claim := queuedEvents(t, l, run, n)
	if err := l.Claim(ctx, run, claim); err != nil {
		t.Fatal(err)
	}
	sent := rows(crmsync.OutcomeSent)
	for _, r := range sent {
		r.HasCode, r.Code, r.Message, r.Attempts = true, 1, "成功", 1
	}
	if err := l.Record(ctx, run, sent); err != nil {
		t.Fatal(err)
	}
	stored("after the run", n, n)
	for _, c := range []struct {
		id   int64
		want []*crmsync.Result
	}{{plan, utc(rows(crmsync.OutcomeNew))}, {plan2, utc(rows(crmsync.OutcomeNew))}, {run, utc(sent)}} {
		if diff := cmp.Diff(c.want, readResults(t, l, c.id)); diff != "" {
			t.Errorf("Results(%d) mismatch (-want +got):\n%s", c.id, diff)
		}
	}
	var evs []*crmsync.Event
	err := l.Events(ctx, []crmsync.State{crmsync.StateSent}, func(ev *crmsync.Event, _ crmsync.Prior) error { evs = append(evs, ev); return nil })
	if err != nil || len(evs) != n {
		t.Fatalf("sent events: %d, %v; want %d", len(evs), err, n)
	}
	for _, ev := range evs {
		i := strings.TrimLeft(strings.TrimPrefix(ev.Key, "T"), "0")
		for _, r := range sent {
			if r.Key == ev.Key && (string(r.Body) != string(ev.Body) || r.Hash != ev.Hash) {
				t.Errorf("event %s (%s): body %q, hash %s; want %q, %s", ev.Key, i, ev.Body, ev.Hash, r.Body, r.Hash)
			}
		}
	}
}

// TestContentComparedInFull: a plan's row shares what the plan before it
// stored of the same event only when it is the same bytes: a body of
// another content (with the same content hash here: a body stored
// otherwise) gets its own; other cells of the same body get their own
// cells; only the latest plan is looked in. Each reads back its own.
func TestContentComparedInFull(t *testing.T) {
	l := lockedLedger(t)
	row := func(body string) *crmsync.Result {
		r := wireResult(1, 1, crmsync.OutcomeNew)
		r.Body = []byte(body)
		return r
	}
	runs := [][]*crmsync.Result{
		{row(`{"TransID":"A"}`)},
		// The same hash, another body.
		{row(`{"TransID":"B"}`)},
		// The same body, other cells.
		{row(`{"TransID":"B"}`)},
		// All the same as the plan before: shared.
		{row(`{"TransID":"B"}`)},
		// The first again: the plan before stored B, so stored again.
		{row(`{"TransID":"A"}`)},
	}
	runs[2][0].Values[5] = "2"
	runs[3][0].Values[5] = "2"
	var ids []int64
	for _, rs := range runs {
		ids = append(ids, recordPlan(t, l, time.Now(), rs))
	}
	// Cells: the first plan's (the second's are the same bytes: cells
	// hold no body), the third's, and the fifth's (the plan before holds
	// the fourth's).
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != 3 || c != 3 {
		t.Errorf("%d bodies, %d cells; want 3 (A, B, A again) and 3", b, c)
	}
	for i, id := range ids {
		if diff := cmp.Diff(utc(runs[i]), readResults(t, l, id)); diff != "" {
			t.Errorf("Results(%d) mismatch (-want +got):\n%s", id, diff)
		}
	}
}

// TestPruneSharedBody: a body and cells shared by the rows of two runs (a
// plan and the run after it) stay while one of them is kept: pruning the
// plan leaves the run's report and the failed event's retry reading them. Prune -member
// deletes the bodies, cells and content entries only its rows referred to.
func TestPruneSharedBody(t *testing.T) {
	ctx := context.Background()
	l := lockedLedger(t)
	day := func(d int) time.Time { return time.Date(2026, 11, d, 12, 0, 0, 0, time.UTC) }
	// The member of event 1 (failed in the second run: an event keeps its
	// body), and of event 2 (new in both runs: no event refers to it).
	first := recordPlan(t, l, day(1), []*crmsync.Result{wireResult(1, 1, crmsync.OutcomeNew), wireResult(2, 2, crmsync.OutcomeNew)})
	failed := wireResult(1, 1, crmsync.OutcomeFailed)
	failed.Attempts, failed.Reason = 3, "timeout"
	second := recordRun(t, l, day(2), []*crmsync.Result{failed, wireResult(2, 2, crmsync.OutcomeNew)})
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != 2 || c != 2 {
		t.Fatalf("after the plan and the run: %d bodies, %d cells; want 2 of each (shared)", b, c)
	}
	p, err := l.Prune(ctx, day(2).Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	// Event 1's row of the first run stays (the event is outstanding).
	if p.Runs != 1 || p.Results != 1 || p.Kept != 1 || p.Bodies != 0 {
		t.Errorf("Prune() = %+v, want run %d's row of event 2 pruned, event 1's kept, no body deleted", p, first)
	}
	want := utc([]*crmsync.Result{failed, wireResult(2, 2, crmsync.OutcomeNew)})
	if diff := cmp.Diff(want, readResults(t, l, second)); diff != "" {
		t.Errorf("Results(%d) after pruning run %d mismatch (-want +got):\n%s", second, first, diff)
	}
	var retry []*crmsync.Event
	err = l.Events(ctx, []crmsync.State{crmsync.StateFailed}, func(ev *crmsync.Event, _ crmsync.Prior) error { retry = append(retry, ev); return nil })
	if err != nil || len(retry) != 1 || string(retry[0].Body) != string(failed.Body) || retry[0].Hash != failed.Hash {
		t.Fatalf("failed events after prune: %v, %v; want event 1 with its body and hash", retry, err)
	}
	// Prune -member of event 2's member: its rows go, and with them the
	// body and cells only they referred to.
	card := wireResult(2, 2, crmsync.OutcomeNew).Lane
	pm, err := l.PruneMember(ctx, card)
	if err != nil {
		t.Fatal(err)
	}
	if pm.Results != 1 || pm.Bodies != 1 {
		t.Errorf("PruneMember(%s) = %+v, want 1 result and 1 body deleted", card, pm)
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != 1 || c != 1 {
		t.Errorf("after prune -member: %d bodies, %d cells; want event 1's alone", b, c)
	}
}

// TestResultHashInHead: a result whose content hash is not its body's
// keeps it once, in the head of its cells, not in results as well (a
// changed row keeps it there: resolve reads it); it reads back, from the
// report and the queue, as recorded.
func TestResultHashInHead(t *testing.T) {
	ctx := context.Background()
	l := lockedLedger(t)
	changed := wireResult(2, 2, crmsync.OutcomeChanged)
	changed.Previous = []byte(`{"TransID":"old"}`)
	rs := []*crmsync.Result{wireResult(1, 1, crmsync.OutcomeNew), changed}
	id := recordRun(t, l, time.Now(), rs)
	var kept []int
	rows, err := l.db.QueryContext(ctx, `SELECT length(hash) FROM results WHERE run_id = ? ORDER BY seq`, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		kept = append(kept, n)
	}
	if diff := cmp.Diff([]int{0, 32}, kept); diff != "" {
		t.Errorf("bytes of results.hash (new, changed) mismatch (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(utc(rs), readResults(t, l, id)); diff != "" {
		t.Errorf("Results(%d) mismatch (-want +got):\n%s", id, diff)
	}
	var queued []*crmsync.Result
	if err := l.Queued(ctx, id, func(r *crmsync.Result) error { queued = append(queued, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].Hash != rs[0].Hash {
		t.Errorf("Queued(%d) = %v, want the new row with hash %s", id, queued, rs[0].Hash)
	}
}

// TestClaimFarBehindQueue: the sender reads the queue ahead of its claims
// (lanes gather while others are out, and a long lane is read whole), so
// an event may be claimed long after its page was read, past what the
// ledger remembers of read pages (maxQueued). Its claim still refers to
// its queued row's body and cells, found in the run's queue, and its
// answer is still written in place: a run of members with many rows each
// stores every row's body and cells once (at 10,000,000 rows of 50 a
// member, 70% were stored twice). A claim of another body than its queued
// row's (it changed meanwhile) stores that body.
func TestClaimFarBehindQueue(t *testing.T) {
	ctx := context.Background()
	l := lockedLedger(t)
	n := 3*maxQueued + 17
	rows := func(o crmsync.Outcome) []*crmsync.Result { return mixedRows(n, o) }
	run, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, run, rows(crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	claim := queuedEvents(t, l, run, n)
	// One event's body changed between its queued row and its claim.
	changed := claim[len(claim)/2]
	changed.Body = append([]byte(nil), changed.Body...)
	changed.Body[len(changed.Body)-2] ^= 1
	changed.Hash = crmsync.ContentHash(changed.Kind, changed.Body)
	for start := 0; start < len(claim); start += 256 {
		if err := l.Claim(ctx, run, claim[start:min(start+256, len(claim))]); err != nil {
			t.Fatal(err)
		}
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n+1 || c != n {
		t.Errorf("after the claims: %d bodies, %d cells; want %d (and the changed one) and %d", b, c, n+1, n)
	}
	// The answers, but the changed one's (it stays in flight).
	var sent []*crmsync.Result
	for _, r := range rows(crmsync.OutcomeSent) {
		r.HasCode, r.Code, r.Message, r.Attempts = true, 1, "成功", 1
		if r.Key != changed.Key {
			sent = append(sent, r)
		}
	}
	before := l.inPlace.Load()
	for start := 0; start < len(sent); start += 1000 {
		if err := l.Record(ctx, run, sent[start:min(start+1000, len(sent))]); err != nil {
			t.Fatal(err)
		}
	}
	if got := l.inPlace.Load() - before; got != int64(len(sent)) {
		t.Errorf("%d answers written in place, want %d", got, len(sent))
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n+1 || c != n {
		t.Errorf("after the answers: %d bodies, %d cells; want %d and %d", b, c, n+1, n)
	}
	var got []*crmsync.Result
	for _, r := range readResults(t, l, run) {
		if r.Key != changed.Key {
			got = append(got, r)
		}
	}
	if diff := cmp.Diff(utc(sent), got); diff != "" {
		t.Errorf("Results(%d) mismatch (-want +got):\n%s", run, diff)
	}
	want := make(map[string]*crmsync.Result, n)
	for _, r := range sent {
		want[r.Key] = r
	}
	seen := 0
	err = l.Events(ctx, []crmsync.State{crmsync.StateSent}, func(ev *crmsync.Event, _ crmsync.Prior) error {
		seen++
		if r := want[ev.Key]; r == nil || string(r.Body) != string(ev.Body) || r.Hash != ev.Hash {
			t.Errorf("event %s: body %q, hash %s; want those of %+v", ev.Key, ev.Body, ev.Hash, r)
		}
		return nil
	})
	if err != nil || seen != len(sent) {
		t.Fatalf("sent events: %d, %v; want %d", seen, err, len(sent))
	}
	err = l.Events(ctx, []crmsync.State{crmsync.StateInFlight}, func(ev *crmsync.Event, _ crmsync.Prior) error {
		if ev.Key != changed.Key || string(ev.Body) != string(changed.Body) || ev.Hash != changed.Hash {
			t.Errorf("in flight: event %s, body %q, hash %s; want %s with its claimed body %q", ev.Key, ev.Body, ev.Hash, changed.Key, changed.Body)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestClaimOtherHashSameBody: a claim found in the run's queue by its
// body (the ledger forgot the queue's page) whose content hash is not the
// hash of the row it found — a full-form hash claimed against a row whose
// hash is its body's, the body's own hash against a row with a full-form
// hash, another kind of the key space, no hash — keeps its own kind, hash
// and body, in flight (Events, Lookup) and once answered.
func TestClaimOtherHashSameBody(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	run := beginRun(t, l)
	const n = 8
	if err := l.Record(ctx, run, mixedRows(n, crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	evs := queuedEvents(t, l, run, n)
	l.qmu.Lock()
	l.queued = nil
	l.qmu.Unlock()
	for i, ev := range evs { // even: a row whose hash is not its body's
		switch i {
		case 0:
			ev.Hash = crmsync.ContentHash(ev.Kind, ev.Body)
		case 1, 6:
			ev.Hash = crmsync.ContentHash(ev.Kind, append([]byte("other "), ev.Body...))
		case 2:
			ev.Kind = crmsync.KindScoreV2
			ev.Hash = crmsync.ContentHash(ev.Kind, append([]byte("full "), ev.Body...))
		case 3, 4:
			ev.Hash = ""
		case 5:
			ev.Kind = crmsync.KindScoreV2
			ev.Hash = crmsync.ContentHash(ev.Kind, ev.Body)
		}
	}
	if err := l.Claim(ctx, run, evs); err != nil {
		t.Fatal(err)
	}
	check := func(when string, state crmsync.State) {
		t.Helper()
		want := make(map[string]*crmsync.Event, n)
		for _, ev := range evs {
			want[ev.Key] = ev
		}
		seen := 0
		err := l.Events(ctx, []crmsync.State{state}, func(ev *crmsync.Event, p crmsync.Prior) error {
			seen++
			w := want[ev.Key]
			if w == nil || p.Kind != w.Kind || ev.Hash != w.Hash || string(ev.Body) != string(w.Body) {
				t.Errorf("%s: event %s: kind %s, hash %q, body %s; want those claimed: %+v", when, ev.Key, p.Kind, ev.Hash, ev.Body, w)
			}
			return nil
		})
		if err != nil || seen != n {
			t.Fatalf("%s: %d events %s, %v; want %d", when, seen, state, err, n)
		}
		priors, err := l.Lookup(ctx, evs)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range priors {
			if p.State != state || p.Kind != evs[i].Kind || p.Hash != evs[i].Hash || string(p.Body) != string(evs[i].Body) {
				t.Errorf("%s: Lookup(%s) = %s, kind %s, hash %q, body %s; want %s and those claimed: %+v", when, evs[i].Key, p.State, p.Kind, p.Hash, p.Body, state, evs[i])
			}
		}
	}
	check("claimed", crmsync.StateInFlight)
	var answers []*crmsync.Result
	for i, ev := range evs {
		answers = append(answers, &crmsync.Result{Seq: int64(i + 1), Kind: ev.Kind, Key: ev.Key, Lane: ev.Lane, Time: ev.Time,
			Body: ev.Body, Hash: ev.Hash, Values: mixedRows(n, crmsync.OutcomeNew)[i].Values,
			Outcome: crmsync.OutcomeSent, HasCode: true, Code: 1, Message: "成功", Attempts: 1})
	}
	if err := l.Record(ctx, run, answers); err != nil {
		t.Fatal(err)
	}
	check("answered", crmsync.StateSent)
}
