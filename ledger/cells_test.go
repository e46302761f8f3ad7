package ledger

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/google/go-cmp/cmp"
)

// count returns the rows of table.
func count(t *testing.T, l *Ledger, table string) int {
	t.Helper()
	var n int
	if err := l.db.QueryRowContext(context.Background(), `SELECT count(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestRowStoredOnce: a run that sends rows (recorded new, read from the
// queue, claimed, recorded sent, as the job does) stores each row's body
// and values once; a re-run that finds them unchanged stores neither
// again. Every run's results read back exactly as recorded: values (one
// with the encoding's separator in it), hash and body; a row with the same
// content but other cells keeps its own cells. The source file is named
// once.
func TestRowStoredOnce(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "l.db"))
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	const n = 30
	rows := func(o crmsync.Outcome) []*crmsync.Result {
		rs := make([]*crmsync.Result, n)
		for i := range rs {
			rs[i] = benchResult(int64(i+1), benchEvent(i))
			rs[i].Outcome = o
		}
		rs[3].Values[7] = "a\x1fb" // not the compact encoding: JSON
		return rs
	}
	first, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Record(ctx, first, rows(crmsync.OutcomeNew)); err != nil {
		t.Fatal(err)
	}
	var queued []*crmsync.Result
	if err := l.Queued(ctx, first, func(r *crmsync.Result) error { queued = append(queued, r); return nil }); err != nil {
		t.Fatal(err)
	}
	claim := make([]*crmsync.Event, len(queued))
	for i, r := range queued {
		claim[i] = &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash}
	}
	if err := l.Claim(ctx, first, claim); err != nil {
		t.Fatal(err)
	}
	sent := rows(crmsync.OutcomeSent)
	if err := l.Record(ctx, first, sent); err != nil {
		t.Fatal(err)
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n || c != n {
		t.Errorf("after the run: %d bodies, %d cells; want %d of each", b, c, n)
	}
	again, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	unchanged := rows(crmsync.OutcomeUnchanged)
	unchanged[5].Values[3] = "12.5" // the same content, written otherwise
	if err := l.Record(ctx, again, unchanged); err != nil {
		t.Fatal(err)
	}
	if b, c := count(t, l, "bodies"), count(t, l, "cells"); b != n || c != n+1 {
		t.Errorf("after the re-run: %d bodies, %d cells; want %d and %d", b, c, n, n+1)
	}
	if f := count(t, l, "files"); f != 1 {
		t.Errorf("after the re-run: %d files named, want 1 (score-20261124.csv)", f)
	}
	for _, run := range []struct {
		id   int64
		want []*crmsync.Result
	}{{first, sent}, {again, unchanged}} {
		var got []*crmsync.Result
		if err := l.Results(ctx, run.id, "", func(r *crmsync.Result) error { got = append(got, r); return nil }); err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			r.Time = r.Time.UTC()
		}
		for _, r := range run.want {
			r.Time = r.Time.UTC()
		}
		if diff := cmp.Diff(run.want, got); diff != "" {
			t.Errorf("results of run %d (-recorded +read):\n%s", run.id, diff)
		}
	}
}
