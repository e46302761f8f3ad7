package ledger

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// TestQueued: rows recorded as new come back in lane, event-time, Seq order
// across pages (NULL times first), rows re-recorded with a final outcome
// leave the queue, and a re-record replaces the outcome.
func TestQueued(t *testing.T) {
	ctx := context.Background()
	l := openLedger(t, filepath.Join(t.TempDir(), "crmsync.db"))
	id := beginRun(t, l)

	var rs []*crmsync.Result
	var want []int64
	n := queuePage*2 + 7 // three pages
	for i := 0; i < n; i++ {
		ev := event(crmsync.KindGrade, fmt.Sprintf("G%05d", i), fmt.Sprintf(`{"g":%d}`, i))
		ev.Lane = fmt.Sprintf("lane-%03d", i%250)
		// Later Seqs of a lane carry earlier times: order is by time first.
		ev.Time = t0.Add(-time.Duration(i) * time.Minute)
		if i%97 == 0 {
			ev.Time = time.Time{} // no event time: first in its lane
		}
		r := result(int64(i+1), ev, crmsync.OutcomeNew, 0, 0)
		r.HasCode = false
		rs = append(rs, r)
	}
	// One row without a body (an invalid row) is never queued.
	rs = append(rs, &crmsync.Result{Seq: int64(n + 1), Kind: crmsync.KindGrade, Outcome: crmsync.OutcomeNew, Source: crmsync.SourceRef{File: "in.csv", Row: 2}})
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatalf("Record(new) = %v", err)
	}
	sorted := slices.Clone(rs[:n])
	slices.SortStableFunc(sorted, func(a, b *crmsync.Result) int {
		if a.Lane != b.Lane {
			if a.Lane < b.Lane {
				return -1
			}
			return 1
		}
		if c := a.Time.Compare(b.Time); c != 0 {
			return c
		}
		return int(a.Seq - b.Seq)
	})
	for _, r := range sorted {
		want = append(want, r.Seq)
	}

	var got []int64
	err := l.Queued(ctx, id, func(r *crmsync.Result) error {
		got = append(got, r.Seq)
		if len(got) == 10 {
			// Settling rows while walking: they leave the queue behind
			// the cursor, nothing is skipped or repeated.
			done := *r
			done.Outcome, done.HasCode, done.Code = crmsync.OutcomeSent, true, 1
			return l.Record(ctx, id, []*crmsync.Result{&done})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Queued() = %v", err)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Queued() order: got %d seqs, want %d; first differing at %d", len(got), len(want), firstDiff(got, want))
	}

	var again []int64
	if err := l.Queued(ctx, id, func(r *crmsync.Result) error { again = append(again, r.Seq); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(again) != n-1 || slices.Contains(again, got[9]) {
		t.Errorf("Queued() after settling seq %d = %d rows, want %d without it", got[9], len(again), n-1)
	}
	var outcome crmsync.Outcome
	l.Results(ctx, id, crmsync.KindGrade, func(r *crmsync.Result) error {
		if r.Seq == got[9] {
			outcome = r.Outcome
		}
		return nil
	})
	if outcome != crmsync.OutcomeSent {
		t.Errorf("Results(seq %d).Outcome = %q after a re-record, want sent", got[9], outcome)
	}
}

func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
