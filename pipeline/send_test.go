package pipeline_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/pipeline"
)

// TestRequestsBoundedByConcurrency: lanes run on more workers than
// Job.Concurrency (their claims commit while other requests are out), but
// no more than Concurrency requests are ever out at once.
func TestRequestsBoundedByConcurrency(t *testing.T) {
	const concurrency, events = 3, 40
	h := mallcootest.NewHandler(mallcootest.Options{Latency: 10 * time.Millisecond})
	var out, most atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := out.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		defer out.Add(-1)
		h.ServeHTTP(w, r)
	}))
	defer ts.Close()
	cl, err := mallcoo.NewClient(mallcoo.Config{BaseURL: ts.URL, Credentials: mallcootest.Sandbox, Concurrency: concurrency})
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t)
	lines := []string{"TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score"}
	for i := range events {
		lines = append(lines, fmt.Sprintf("T%03d,C%03d,1,2024-11-01 10:00:00,10.00,S1,10", i, i))
	}
	f := w.file("score.csv", lines...)
	ctx := context.Background()
	id, err := w.l.BeginRun(ctx, "run", []string{f}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "run", time.Now())
	j := &pipeline.Job{Reader: &importer.Reader{}, Ledger: w.l, Sender: cl, Concurrency: concurrency}
	if err := j.Run(ctx, id, []string{f}, s); err != nil {
		t.Fatalf("Job.Run() = %v", err)
	}
	if got := s.Counts[crmsync.OutcomeSent]; got != events {
		t.Fatalf("sent %d of %d: %v", got, events, s.Counts)
	}
	if m := most.Load(); m > concurrency {
		t.Errorf("%d requests out at once, want at most Concurrency %d", m, concurrency)
	}
}
