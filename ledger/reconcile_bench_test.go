package ledger

import (
	"context"
	"runtime"
	"testing"

	"github.com/crmsync/crmsync"
)

// BenchmarkReconcile reconciles benchKeys file rows against the bench
// ledger of benchKeys sent events: nine rows in ten match, one in ten was
// changed (mismatched, its stored body read), and the ledger's events of
// the changed rows' keys are all there, so the orphans' anti-join probes
// every event of the window. It reports rows per second and the heap in use
// at the end (the keys live in a TEMP table, not in Go memory).
func BenchmarkReconcile(b *testing.B) {
	path := benchLedger(b)
	ctx := context.Background()
	l, err := Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	// Rows are made as they are fed, as a reader would: the heap measured
	// is the reconciliation's.
	row := func(i int) *crmsync.Row {
		ev := benchEvent(i)
		if i%10 == 9 {
			ev.Body[len(ev.Body)-2] = '!'
			ev.Hash = crmsync.ContentHash(ev.Kind, ev.Body)
		}
		return &crmsync.Row{Source: crmsync.SourceRef{File: "score.csv", Row: i + 2}, Kind: ev.Kind, Event: ev}
	}
	var heap uint64
	b.ResetTimer()
	for range b.N {
		counts := map[Category]int{}
		rec, err := l.Reconcile(ctx, ReconcileOptions{}, func(e *Entry) error {
			counts[e.Category]++
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		for i := range benchKeys {
			if err := rec.Add(row(i)); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := rec.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		heap = ms.HeapInuse
		if err := rec.Close(); err != nil {
			b.Fatal(err)
		}
		if counts[Matched] != benchKeys*9/10 || counts[Mismatched] != benchKeys/10 || counts[Orphan] != 0 {
			b.Fatalf("counts %v", counts)
		}
	}
	b.ReportMetric(float64(benchKeys)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(heap)/(1<<20), "heapMB")
}
