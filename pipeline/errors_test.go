package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/pipeline"
)

// TestErrorsWrappedOnce: a ledger that fails under a run gives an error that
// names the operation once (the ledger's words: operation, count, run,
// file), not once per layer.
func TestErrorsWrappedOnce(t *testing.T) {
	for _, c := range []struct {
		name, op string
		row      string
		since    time.Time
	}{
		{"record", "record ", "T1,C1,1,2024-11-01 10:00:00,10.50,S01,10", time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}, // outside -since: recorded at once
		{"decisions", "decisions ", ",C1,1,2024-11-01 10:00:00,x,S01,10", time.Time{}},                                 // invalid, no key: a person may have decided on it
		{"look up", "look up ", "T1,C1,1,2024-11-01 10:00:00,10.50,S01,10", time.Time{}},                               // valid: looked up first
	} {
		w := newWorld(t)
		in := w.file("score.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score", c.row)
		ctx := context.Background()
		id, err := w.l.BeginRun(ctx, "run", nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		w.l.Close() // the ledger goes away under the run
		j := &pipeline.Job{Reader: &importer.Reader{}, Ledger: w.l, Sender: w.cl, Since: c.since}
		err = j.Run(ctx, id, []string{in}, crmsync.NewSummary(id, "run", time.Now()))
		if err == nil {
			t.Fatalf("%s: Job.Run() with a closed ledger = nil, want an error", c.name)
		}
		if n := strings.Count(err.Error(), c.op); n != 1 {
			t.Errorf("%s: Job.Run() = %q: says %q %d times, want once", c.name, err, c.op, n)
		}
		if !strings.Contains(err.Error(), "ledger.db") {
			t.Errorf("%s: Job.Run() = %q, want the ledger file named", c.name, err)
		}
	}
}
