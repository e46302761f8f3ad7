package ledger

import (
	"context"
	"errors"
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

// TestMigrateLedgerOf0fed8bcMall: a ledger made before migration 0006
// remembers no mall; the first run naming one records it, and from then on
// a config naming another mall is refused with both names.
func TestMigrateLedgerOf0fed8bcMall(t *testing.T) {
	ctx := context.Background()
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-0fed8bc", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	copied := filepath.Join(t.TempDir(), "crmsync.db")
	if err := os.WriteFile(copied, old, 0o600); err != nil {
		t.Fatal(err)
	}
	ro, err := OpenReadOnly(ctx, copied)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ro.Mall(ctx); err != nil || m != "" {
		t.Errorf("Mall() of the 0fed8bc ledger read-only (no meta table) = %q, %v; want none", m, err)
	}
	ro.Close()
	l := openFixture(t)
	if m, err := l.Mall(ctx); err != nil || m != "" {
		t.Fatalf("Mall() of the 0fed8bc ledger = %q, %v; want none", m, err)
	}
	if m, err := l.UseMall(ctx, ""); err != nil || m != "" {
		t.Fatalf("UseMall(\"\") = %q, %v; want none", m, err)
	}
	if m, _ := l.Mall(ctx); m != "" {
		t.Fatalf("Mall() after UseMall(\"\") = %q, want none recorded", m)
	}
	if m, err := l.UseMall(ctx, "万象城"); err != nil || m != "万象城" {
		t.Fatalf("UseMall(万象城) = %q, %v", m, err)
	}
	if m, err := l.Mall(ctx); err != nil || m != "万象城" {
		t.Fatalf("Mall() = %q, %v; want 万象城", m, err)
	}
	if _, err := l.UseMall(ctx, "万象城"); err != nil {
		t.Errorf("UseMall(万象城) again = %v, want nil", err)
	}
	if m, err := l.UseMall(ctx, ""); err != nil || m != "万象城" {
		t.Errorf("UseMall(\"\") on a mall's ledger = %q, %v; want 万象城 (a config without mall runs as the ledger's mall)", m, err)
	}
	_, err = l.UseMall(ctx, "大悦城")
	var me *MallError
	if !errors.As(err, &me) || me.Ledger != "万象城" || me.Config != "大悦城" {
		t.Fatalf("UseMall(大悦城) = %v, want *MallError naming 万象城 and 大悦城", err)
	}
	if m, _ := l.Mall(ctx); m != "万象城" {
		t.Errorf("Mall() after a refused UseMall = %q, want 万象城 kept", m)
	}
}
