package ledger

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// TestPrune: the per-row results of runs older than the retention go, the
// runs and their summaries stay; what an outstanding item needs stays (an
// invalid row's result, a failed event's result and body); bodies nothing
// refers to any more are deleted; a recent run is untouched.
func TestPrune(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "l.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, _ := l.Lock("test")
	defer unlock()
	now := time.Now()
	run := func(ended time.Time, rs []*crmsync.Result) int64 { return recordRun(t, l, ended, rs) }
	res := func(seq int64, key string, o crmsync.Outcome, body string) *crmsync.Result {
		r := &crmsync.Result{Seq: seq, Kind: crmsync.KindScore, Key: key, Lane: "C1", Outcome: o, Source: crmsync.SourceRef{File: "s.csv", Row: int(seq) + 1}}
		if body != "" {
			r.Body, r.Hash = []byte(body), crmsync.ContentHash(crmsync.KindScore, []byte(body))
		}
		return r
	}
	var old []*crmsync.Result
	for i := 1; i <= 50; i++ {
		old = append(old, res(int64(i), fmt.Sprintf("T%d", i), crmsync.OutcomeSent, fmt.Sprintf(`{"T":%d}`, i)))
	}
	old = append(old, res(51, "", crmsync.OutcomeInvalid, ""), res(52, "TF", crmsync.OutcomeFailed, `{"T":"F"}`))
	oldRun := run(now.Add(-100*24*time.Hour), old)
	// A re-run of the same rows: unchanged, sharing the events' bodies.
	var again []*crmsync.Result
	for i := 1; i <= 50; i++ {
		again = append(again, res(int64(i), fmt.Sprintf("T%d", i), crmsync.OutcomeUnchanged, fmt.Sprintf(`{"T":%d}`, i)))
	}
	recent := run(now.Add(-time.Hour), again)

	p, err := l.Prune(ctx, now.Add(-90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if p.Runs != 1 || p.Results != 50 || p.Kept != 2 {
		t.Errorf("Prune = %+v, want 1 run, 50 results deleted, 2 kept (the invalid row and the failed event)", p)
	}
	count := func(id int64) (n int) {
		l.Results(ctx, id, "", func(*crmsync.Result) error { n++; return nil })
		return n
	}
	if n := count(recent); n != 50 {
		t.Errorf("recent run: %d results left, want 50", n)
	}
	if s, err := l.Summary(ctx, oldRun); err != nil || s.Rows != 52 {
		t.Errorf("pruned run's summary: %+v, %v; want it kept (52 rows)", s, err)
	}
	if at, err := l.RunPruned(ctx, oldRun); err != nil || at.IsZero() {
		t.Errorf("RunPruned(old) = %v, %v; want when", at, err)
	}
	o, err := l.Outstanding(ctx, 10)
	if err != nil || o.Total != 2 {
		t.Errorf("outstanding after prune: %+v, %v; want the invalid row and the failed event", o, err)
	}
	var failed []*crmsync.Event
	l.Events(ctx, []crmsync.State{crmsync.StateFailed}, func(ev *crmsync.Event, _ crmsync.Prior) error {
		failed = append(failed, ev)
		return nil
	})
	if len(failed) != 1 || string(failed[0].Body) != `{"T":"F"}` {
		t.Errorf("failed events after prune: %v, want TF with its body", failed)
	}
	// Pruning again changes nothing; nor does a prune that keeps everything.
	if p, err := l.Prune(ctx, now.Add(-90*24*time.Hour)); err != nil || p.Runs != 0 {
		t.Errorf("second Prune = %+v, %v; want nothing", p, err)
	}
	if _, err := l.RunPruned(ctx, 999); !errors.Is(err, ErrNoRun) {
		t.Errorf("RunPruned(999) = %v, want ErrNoRun", err)
	}
}
