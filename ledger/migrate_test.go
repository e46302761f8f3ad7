package ledger

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
)

// openFixture copies testdata/ledger-0fed8bc/crmsync.db, a ledger crmsync
// 0fed8bc (schema 2) made by running score.csv and grade.csv beside it into
// the sandbox (4 sent, 1 invalid), and opens the copy with this binary.
func openFixture(t *testing.T) *Ledger {
	t.Helper()
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-0fed8bc", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(t.TempDir(), "crmsync.db")
	if err := os.WriteFile(db, old, 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Open(context.Background(), db)
	if err != nil {
		t.Fatalf("open the 0fed8bc ledger: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// TestMigrateLedgerOf0fed8bc: a ledger of schema 2 is taken forward: its
// events and runs read as before, the backlog can be listed and written.
func TestMigrateLedgerOf0fed8bc(t *testing.T) {
	ctx := context.Background()
	l := openFixture(t)
	st, err := l.Status(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if st.Schema != SchemaVersion() || st.Schema < 3 {
		t.Errorf("schema %d after open, want %d", st.Schema, SchemaVersion())
	}
	if n := st.Totals[crmsync.KindScore][crmsync.StateSent] + st.Totals[crmsync.KindGrade][crmsync.StateSent]; n != 4 {
		t.Errorf("sent events %d after migration, want 4: %v", n, st.Totals)
	}
	if len(st.Runs) != 1 || st.Runs[0].Status != RunDone || st.Runs[0].Counts[crmsync.OutcomeSent] != 4 {
		t.Errorf("runs after migration: %+v, want run 1 done with 4 sent", st.Runs)
	}
	o, err := l.Outstanding(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if o.Total != 0 {
		t.Errorf("outstanding %+v on a ledger whose only problem row predates the backlog", o)
	}
	// The migrated ledger takes the new writes: a blocked event and an
	// invalid row become outstanding.
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	id, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"g":2}`)
	err = l.Record(ctx, id, []*crmsync.Result{
		{Seq: 1, Kind: crmsync.KindGrade, Key: "E2", Lane: "M", Outcome: crmsync.OutcomeBlocked, Reason: "held", Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body)},
		{Seq: 2, Kind: crmsync.KindScore, Source: crmsync.SourceRef{File: "s.csv", Row: 4}, Outcome: crmsync.OutcomeInvalid, Column: "Score", Reason: "bad"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = l.Outstanding(ctx, 10); err != nil || o.ByState["blocked"] != 1 || o.ByState["invalid"] != 1 {
		t.Errorf("outstanding after writes: %+v, %v; want 1 blocked, 1 invalid", o, err)
	}
}
