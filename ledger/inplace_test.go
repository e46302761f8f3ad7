package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/crmsync/crmsync"
)

// dumpTables returns every row of the tables a run's answers write, all
// columns, in key order.
func dumpTables(t *testing.T, l *Ledger) []string {
	t.Helper()
	var out []string
	for _, q := range []string{
		`SELECT * FROM events ORDER BY keyspace, key`,
		`SELECT * FROM results ORDER BY run_id, seq`,
		`SELECT * FROM open_rows ORDER BY kind, key`,
		`SELECT * FROM bodies ORDER BY id`,
		`SELECT * FROM cells ORDER BY id`,
	} {
		rows, err := l.db.Query(q)
		if err != nil {
			t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			b.WriteString(q[len("SELECT * FROM "):strings.Index(q, " ORDER")])
			for i, v := range vals {
				fmt.Fprintf(&b, " %s=%v", cols[i], v)
			}
			out = append(out, b.String())
		}
		rows.Close()
	}
	return out
}

// sendSteps records a run's rows new, claims them from the queue, lets
// tamper change the ledger between claim and answer, then records the
// answers (sent, rejected, failed, uncertain in turn), as the job does. It
// returns the answers written in place.
func sendSteps(t *testing.T, l *Ledger, longWay bool, tamper func(*Ledger)) int64 {
	t.Helper()
	ctx := context.Background()
	l.Now = func() time.Time { return t0 }
	// A run before failed T000000000 after two attempts: its attempts add
	// up.
	prior := beginRun(t, l)
	r0 := benchResult(1, benchEvent(0))
	r0.Outcome, r0.HasCode, r0.Code, r0.Message, r0.Attempts, r0.Reason = crmsync.OutcomeFailed, false, 0, "", 2, "timeout"
	if err := l.Claim(ctx, prior, []*crmsync.Event{benchEvent(0)}); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, prior, []*crmsync.Result{r0}); err != nil {
		t.Fatal(err)
	}
	id, err := l.BeginRun(ctx, "run", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	var rs []*crmsync.Result
	for i := range 12 {
		r := benchResult(int64(i+1), benchEvent(i))
		r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = crmsync.OutcomeNew, false, 0, "", 0
		if i == 3 {
			r.Previous = []byte(`{"TransID":"old"}`)
		}
		rs = append(rs, r)
	}
	// A row invalid before, which the delivery of T000000004 fixes.
	bad := &crmsync.Result{Seq: 100, Source: crmsync.SourceRef{File: "old.csv", Row: 9}, Kind: crmsync.KindScore,
		Key: "T000000004", Outcome: crmsync.OutcomeInvalid, Column: "Score", Reason: "not a number", Values: []string{"x"}}
	if err := l.Record(ctx, id, append(rs, bad)); err != nil {
		t.Fatal(err)
	}
	var queued []*crmsync.Result
	if err := l.Queued(ctx, id, func(r *crmsync.Result) error { queued = append(queued, r); return nil }); err != nil {
		t.Fatal(err)
	}
	var evs []*crmsync.Event
	for _, r := range queued {
		evs = append(evs, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
	}
	if err := l.Claim(ctx, id, evs); err != nil {
		t.Fatal(err)
	}
	if longWay {
		l.claimed = nil
	}
	if tamper != nil {
		tamper(l)
	}
	for i, r := range queued {
		answer(r, i, 1+i%2)
	}
	before := l.inPlace.Load()
	// Two batches, the second holding its event twice (the long way).
	if err := l.Record(ctx, id, queued[:8]); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, append(queued[8:], queued[8])); err != nil {
		t.Fatal(err)
	}
	return l.inPlace.Load() - before
}

// TestRecordInPlace: the answers to a run's claims, written in place
// (recordTx), leave the ledger exactly as the long way does (every column
// of events, results, open_rows, bodies and cells), including when an
// event was changed between its claim and its answer (then the write is
// rolled back and done the long way).
func TestRecordInPlace(t *testing.T) {
	t.Run("claimed", func(t *testing.T) {
		fast := openLedger(t, filepath.Join(t.TempDir(), "fast.db"))
		slow := openLedger(t, filepath.Join(t.TempDir(), "slow.db"))
		if n := sendSteps(t, fast, false, nil); n != 11 {
			t.Errorf("answers written in place: %d, want 11 (all but the event recorded twice)", n)
		}
		if n := sendSteps(t, slow, true, nil); n != 0 {
			t.Errorf("answers written in place the long way: %d, want 0", n)
		}
		if d := cmp.Diff(dumpTables(t, slow), dumpTables(t, fast)); d != "" {
			t.Errorf("ledger after answers in place (-long way +in place):\n%s", d)
		}
	})
	t.Run("changed meanwhile", func(t *testing.T) {
		// Another write changed an event after its claim: the answers
		// are not where the claim left them.
		tamper := func(l *Ledger) {
			if _, err := l.db.Exec(`UPDATE events SET state = 'failed', reason = 'x' WHERE key = 'T000000001'`); err != nil {
				t.Fatal(err)
			}
			if _, err := l.db.Exec(`DELETE FROM results WHERE seq = 6`); err != nil {
				t.Fatal(err)
			}
		}
		fast := openLedger(t, filepath.Join(t.TempDir(), "fast.db"))
		slow := openLedger(t, filepath.Join(t.TempDir(), "slow.db"))
		if n := sendSteps(t, fast, false, tamper); n != 3 {
			t.Errorf("answers written in place: %d, want 3 (the first batch rolled back and written the long way)", n)
		}
		sendSteps(t, slow, true, tamper)
		if d := cmp.Diff(dumpTables(t, slow), dumpTables(t, fast)); d != "" {
			t.Errorf("ledger after answers (-long way +in place):\n%s", d)
		}
	})
}

// claimSteps records a run's rows new (mixedRows: hashes the body's and
// not), with events that a run before left failed (one with its body now,
// one with another body, one of another kind of its key space) and a plan
// of some of them whose bodies are stored as they are (before schema 8),
// reads the
// queue, claims every event in two batches (forget: with what the ledger
// remembered of the queue's pages forgotten first, as when the sender
// claims long after it read them) and records the answers, but leaves the
// last claim in flight.
func claimSteps(t *testing.T, l *Ledger, forget bool) {
	t.Helper()
	ctx := context.Background()
	l.Now = func() time.Time { return t0 }
	const n = 12
	rows := mixedRows(n, crmsync.OutcomeNew)
	prior := beginRun(t, l)
	var before []*crmsync.Event
	var failed []*crmsync.Result
	for _, i := range []int{0, 1, 4, 7} {
		r := *rows[i]
		switch i {
		case 4: // another body before
			r.Body = []byte(strings.Replace(string(r.Body), `"Score":`, `"Score":1`, 1))
			r.Hash = crmsync.ContentHash(r.Kind, r.Body)
		case 7: // score-v2 before: the same key space
			r.Kind = crmsync.KindScoreV2
			r.Hash = crmsync.ContentHash(r.Kind, r.Body)
		}
		r.Outcome, r.Attempts, r.Reason = crmsync.OutcomeFailed, 1, "timeout"
		before = append(before, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
		failed = append(failed, &r)
	}
	if err := l.Claim(ctx, prior, before); err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, prior, failed); err != nil {
		t.Fatal(err)
	}
	// A plan of some of the rows, whose bodies are stored as they are
	// (as before schema 8): the run's rows refer to them.
	var plan []*crmsync.Result
	for _, i := range []int{2, 3, 5, 10} {
		r := *rows[i]
		r.Seq = int64(len(plan) + 1)
		plan = append(plan, &r)
	}
	planID := recordPlan(t, l, t0, plan)
	for _, r := range plan {
		if _, err := l.db.Exec(`UPDATE bodies SET body = ?1 WHERE id = (SELECT body_id FROM results WHERE run_id = ?2 AND seq = ?3)`, r.Body, planID, r.Seq); err != nil {
			t.Fatal(err)
		}
	}
	id, err := l.BeginRun(ctx, "run", nil, t0)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, id, rows); err != nil {
		t.Fatal(err)
	}
	var raw int
	if err := l.db.QueryRow(`SELECT count(*) FROM results r JOIN bodies b ON b.id = r.body_id WHERE r.run_id = ?1 AND hex(substr(b.body, 1, 1)) = '7B'`, id).Scan(&raw); err != nil || raw != len(plan) {
		t.Fatalf("rows of run %d referring to a body stored as it is: %d, %v; want %d", id, raw, err, len(plan))
	}
	var queued []*crmsync.Result
	if err := l.Queued(ctx, id, func(r *crmsync.Result) error { queued = append(queued, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(queued) != n {
		t.Fatalf("Queued(%d): %d rows, want %d", id, len(queued), n)
	}
	if forget {
		l.qmu.Lock()
		l.queued = nil
		l.qmu.Unlock()
	}
	var evs []*crmsync.Event
	for _, r := range queued {
		evs = append(evs, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
	}
	for _, b := range [][]*crmsync.Event{evs[:5], evs[5:]} {
		if err := l.Claim(ctx, id, b); err != nil {
			t.Fatal(err)
		}
	}
	for i, r := range queued {
		answer(r, i, 1)
	}
	if err := l.Record(ctx, id, queued[:n-1]); err != nil {
		t.Fatal(err)
	}
}

// TestClaimLookedUpAsRemembered: a claim whose queue page the ledger no
// longer remembers (it looks its row up in the run's queue) and the
// answer to it leave the ledger exactly as when the page is remembered:
// every column of events, results, open_rows, bodies and cells, for
// hashes the body's and not, events failed before with the same body,
// with another, and of another kind of the key space, rows referring to
// a plan's body stored as it is (before schema 8), and an event left in
// flight.
func TestClaimLookedUpAsRemembered(t *testing.T) {
	remembered := openLedger(t, filepath.Join(t.TempDir(), "remembered.db"))
	looked := openLedger(t, filepath.Join(t.TempDir(), "looked.db"))
	claimSteps(t, remembered, false)
	claimSteps(t, looked, true)
	if d := cmp.Diff(dumpTables(t, remembered), dumpTables(t, looked)); d != "" {
		t.Errorf("ledger after claims looked up in the queue (-remembered +looked up):\n%s", d)
	}
}

// answer makes queued result r the i-th answer of a run, in turn sent,
// rejected, failed and uncertain, after attempts attempts.
func answer(r *crmsync.Result, i, attempts int) {
	outcomes := []crmsync.Outcome{crmsync.OutcomeSent, crmsync.OutcomeRejected, crmsync.OutcomeFailed, crmsync.OutcomeUncertain}
	r.Outcome, r.Attempts = outcomes[i%len(outcomes)], attempts
	switch r.Outcome {
	case crmsync.OutcomeSent:
		r.HasCode, r.Code, r.Message = true, 1, "成功"
	case crmsync.OutcomeRejected:
		r.HasCode, r.Code, r.Message, r.Reason = true, 1001, "重复", "猫酷拒绝 / rejected by Mallcoo"
	default:
		r.Reason = "发送失败 / not delivered: timeout"
	}
}
