package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// BenchmarkSendPath prices the ledger's share of sending one event, as the
// job's send stage pays it (issue 18): the run's rows recorded new first
// (untimed), then, timed, the queue read back (Queued), each group of
// batch events claimed durably, and the answers to the group before
// recorded sent: as separate commits (Claim, then Record) or in one
// (ClaimRecord). batch is about how many events a group commit of
// -concurrency 16 gathers. b.N counts events; cpu-µs/event is the
// process's CPU (SQLite's included) per event.
func BenchmarkSendPath(b *testing.B) {
	for _, together := range []bool{false, true} {
		for _, batch := range []int{16, 256} {
			b.Run(fmt.Sprintf("together=%v/batch=%d", together, batch), func(b *testing.B) {
				sendPath(b, batch, together)
			})
		}
	}
}

func sendPath(b *testing.B, batch int, together bool) {
	ctx := context.Background()
	l := openLedger(b, filepath.Join(b.TempDir(), "crmsync.db"))
	unlock, err := l.Lock("bench")
	if err != nil {
		b.Fatal(err)
	}
	defer unlock()
	id, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	rs := make([]*crmsync.Result, 0, 1000)
	for i := 0; i < b.N; i++ {
		r := benchResult(int64(i+1), benchEvent(i))
		r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = crmsync.OutcomeNew, false, 0, "", 0
		if rs = append(rs, r); len(rs) == cap(rs) || i == b.N-1 {
			if err := l.Record(ctx, id, rs); err != nil {
				b.Fatal(err)
			}
			rs = rs[:0]
		}
	}
	var (
		cpu      cpuClock
		claim    []*crmsync.Event
		answered []*crmsync.Result
		group    []*crmsync.Result
		commits  int
	)
	commit := func() {
		var err error
		if together {
			err = l.ClaimRecord(ctx, id, claim, answered)
		} else {
			if err = l.Claim(ctx, id, claim); err == nil {
				err = l.Record(ctx, id, answered)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
		commits++
		// The group claimed now is answered by the next commit.
		answered = answered[:0]
		for _, r := range group {
			r.Outcome, r.HasCode, r.Code, r.Message, r.Attempts = crmsync.OutcomeSent, true, 1, "成功", 1
			answered = append(answered, r)
		}
		claim, group = claim[:0], group[:0]
	}
	b.ResetTimer()
	cpu.start()
	err = l.Queued(ctx, id, func(r *crmsync.Result) error {
		claim = append(claim, &crmsync.Event{Kind: r.Kind, Key: r.Key, Lane: r.Lane, Time: r.Time, Body: r.Body, Hash: r.Hash})
		if group = append(group, r); len(group) == batch {
			commit()
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	commit()
	commit()
	cpu.stop()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(b.N)/float64(commits), "events/commit")
	b.ReportMetric(float64(l.inPlace.Load())/float64(b.N), "in-place")
	cpu.report(b)
}
