package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// ledgerBytes is the ledger's size once its log is checkpointed.
func ledgerBytes(b *testing.B, l *Ledger) int64 {
	b.Helper()
	ctx := context.Background()
	if _, err := l.db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		b.Fatal(err)
	}
	var pages, size int64
	l.db.QueryRowContext(ctx, `PRAGMA page_count`).Scan(&pages)
	l.db.QueryRowContext(ctx, `PRAGMA page_size`).Scan(&size)
	return pages * size
}

// BenchmarkLedgerSize measures the ledger's bytes per delivered event after
// a run of sizeRows score rows (recorded new, claimed, recorded sent, as
// the job does), and the bytes a re-run (all unchanged), a plan (all new,
// a fresh key range) and the run of the plan's rows after it add per
// input row. The bars (DESIGN.md): ≤ ~500
// bytes per event, ≤ ~64 bytes per re-run row.
func BenchmarkLedgerSize(b *testing.B) {
	const sizeRows = 20_000
	for range b.N {
		ctx := context.Background()
		l, err := Open(ctx, filepath.Join(b.TempDir(), "size.db"))
		if err != nil {
			b.Fatal(err)
		}
		unlock, _ := l.Lock("bench")
		empty := ledgerBytes(b, l)
		evs := make([]*crmsync.Event, sizeRows)
		for i := range evs {
			evs[i] = benchEvent(i)
		}
		// A row classified new or unchanged carries no answer of Mallcoo's
		// (pipeline/diff.go: classify); sent ones get theirs when sent.
		results := func(from int, o crmsync.Outcome) []*crmsync.Result {
			rs := make([]*crmsync.Result, sizeRows)
			for i := range rs {
				ev := evs[i]
				if from > 0 {
					ev = benchEvent(from + i)
				}
				rs[i] = benchResult(int64(i+1), ev)
				rs[i].Outcome, rs[i].HasCode, rs[i].Code, rs[i].Message, rs[i].Attempts = o, false, 0, "", 0
			}
			return rs
		}
		batches := func(id int64, rs []*crmsync.Result, claim bool) {
			for i := 0; i < len(rs); i += 1000 {
				end := min(i+1000, len(rs))
				if claim {
					if err := l.Claim(ctx, id, evs[i:end]); err != nil {
						b.Fatal(err)
					}
				}
				if err := l.Record(ctx, id, rs[i:end]); err != nil {
					b.Fatal(err)
				}
			}
		}
		run := func(cmd string, fn func(id int64)) {
			id, err := l.BeginRun(ctx, cmd, nil, time.Now())
			if err != nil {
				b.Fatal(err)
			}
			fn(id)
			if err := l.EndRun(ctx, crmsync.NewSummary(id, cmd, time.Now())); err != nil {
				b.Fatal(err)
			}
		}
		// send records rs new and sends them as the job does.
		send := func(id int64, rs []*crmsync.Result) {
			batches(id, rs, false)
			// As the job sends: the queue read from the ledger, each batch
			// claimed, then recorded sent.
			var page []*crmsync.Result
			flush := func() {
				claim := make([]*crmsync.Event, len(page))
				for i, r := range page {
					claim[i] = &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash}
					r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = crmsync.OutcomeSent, true, 1, "成功", 1
				}
				if err := l.Claim(ctx, id, claim); err != nil {
					b.Fatal(err)
				}
				if err := l.Record(ctx, id, page); err != nil {
					b.Fatal(err)
				}
				page = page[:0]
			}
			err := l.Queued(ctx, id, func(r *crmsync.Result) error {
				if page = append(page, r); len(page) == 1000 {
					flush()
				}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
			flush()
		}
		run("run", func(id int64) { send(id, results(0, crmsync.OutcomeNew)) })
		afterRun := ledgerBytes(b, l)
		run("run", func(id int64) { batches(id, results(0, crmsync.OutcomeUnchanged), false) })
		afterRerun := ledgerBytes(b, l)
		run("plan", func(id int64) { batches(id, results(sizeRows, crmsync.OutcomeNew), false) })
		afterPlan := ledgerBytes(b, l)
		// The run after the plan, of the same rows: it finds the plan's
		// bodies and cells (content, schema 9).
		run("run", func(id int64) { send(id, results(sizeRows, crmsync.OutcomeNew)) })
		afterPlanRun := ledgerBytes(b, l)
		b.ReportMetric(float64(afterRun-empty)/sizeRows, "B/event")
		b.ReportMetric(float64(afterRerun-afterRun)/sizeRows, "B/rerun-row")
		b.ReportMetric(float64(afterPlan-afterRerun)/sizeRows, "B/plan-row")
		b.ReportMetric(float64(afterPlanRun-afterPlan)/sizeRows, "B/run-after-plan-row")
		unlock()
		l.Close()
	}
}

// BenchmarkPrune times Prune over a ledger of pruneRows per-row results
// (PRUNE_ROWS, default 1,000,000) in 10 runs, all older than the
// retention; ns/op is the whole prune.
func BenchmarkPrune(b *testing.B) {
	rows := 1_000_000
	if s := os.Getenv("PRUNE_ROWS"); s != "" {
		rows, _ = strconv.Atoi(s)
	}
	const runs = 10
	ctx := context.Background()
	for range b.N {
		b.StopTimer()
		l, err := Open(ctx, filepath.Join(b.TempDir(), "prune.db"))
		if err != nil {
			b.Fatal(err)
		}
		unlock, _ := l.Lock("bench")
		long := time.Now().Add(-200 * 24 * time.Hour)
		per := rows / runs
		for r := 0; r < runs; r++ {
			id, err := l.BeginRun(ctx, "run", nil, long)
			if err != nil {
				b.Fatal(err)
			}
			for i := 0; i < per; i += 1000 {
				rs := make([]*crmsync.Result, 0, 1000)
				for j := i; j < min(i+1000, per); j++ {
					r := benchResult(int64(j+1), benchEvent(j))
					if r.Seq%100 == 0 {
						r.Outcome = crmsync.OutcomeFailed // some outstanding: kept
					}
					rs = append(rs, r)
				}
				if err := l.Record(ctx, id, rs); err != nil {
					b.Fatal(err)
				}
			}
			s := crmsync.NewSummary(id, "run", long)
			s.Ended = long
			l.EndRun(ctx, s)
		}
		before := ledgerBytes(b, l)
		b.StartTimer()
		p, err := l.Prune(ctx, time.Now().Add(-90*24*time.Hour))
		b.StopTimer()
		if err != nil || p.Results == 0 {
			b.Fatalf("Prune = %+v, %v", p, err)
		}
		b.ReportMetric(float64(rows), "rows")
		b.ReportMetric(float64(before)/1e6, "MB-before")
		unlock()
		l.Close()
	}
}
