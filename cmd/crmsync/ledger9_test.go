package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestLedgerOff30bf85: a ledger crmsync f30bf85 (schema 8) made in
// testdata/ledger-f30bf85 (run a/, the samples, into the sandbox: 84 sent,
// 9 invalid, 1 duplicate; then plan b/, 20 score rows: new) is taken to
// schema 9. A re-run of a/ sends nothing and stores no body; a plan of b/
// again and the run of b/ after it store no body and no cells (the old
// plan's are found in its queue, as stored by schema 8) and send its 20
// rows once; a re-run of b/ sends nothing.
func TestLedgerOff30bf85(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-f30bf85", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	input := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", "ledger-f30bf85", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	vars := sandboxEnv(srv)
	code, stdout, stderr := cli(t, vars, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st struct {
		Schema int `json:"schema"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || st.Schema != ledger.SchemaVersion() || st.Schema < 9 {
		t.Errorf("status -json of the f30bf85 ledger: schema %d (%v), want %d", st.Schema, err, ledger.SchemaVersion())
	}
	ldb, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	stored := func() (bodies, cells int) {
		t.Helper()
		if err := ldb.QueryRow(`SELECT (SELECT count(*) FROM bodies), (SELECT count(*) FROM cells)`).Scan(&bodies, &cells); err != nil {
			t.Fatal(err)
		}
		return bodies, cells
	}
	step := func(what string, wantCode int, want map[crmsync.Outcome]int, wantRequests int, args ...string) {
		t.Helper()
		before := len(srv.Requests())
		code, stdout, stderr := cli(t, vars, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", what, code, wantCode, stderr)
		}
		s := decodeSummary(t, stdout)
		for o, n := range want {
			if s.Counts[o] != n {
				t.Errorf("%s: counts %v, want %d %s", what, s.Counts, n, o)
			}
		}
		if n := len(srv.Requests()) - before; n != wantRequests {
			t.Errorf("%s sent %d requests, want %d", what, n, wantRequests)
		}
	}
	b0, c0 := stored()
	step("re-run of a/", crmsync.ExitNeedsPerson, map[crmsync.Outcome]int{crmsync.OutcomeUnchanged: 84, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "a.xlsx"), input("a"))
	if b, _ := stored(); b != b0 {
		t.Errorf("bodies: %d before the re-run of a/, %d after; want none stored", b0, b)
	}
	b0, c0 = stored()
	step("plan of b/ again", crmsync.ExitOK, map[crmsync.Outcome]int{crmsync.OutcomeNew: 20}, 0,
		"plan", "-json", "-ledger", db, "-report", filepath.Join(dir, "plan.xlsx"), input("b"))
	if b, c := stored(); b != b0 || c != c0 {
		t.Errorf("bodies, cells: %d, %d before the plan of b/ again; %d, %d after; want the old plan's shared", b0, c0, b, c)
	}
	step("run of b/", crmsync.ExitOK, map[crmsync.Outcome]int{crmsync.OutcomeSent: 20}, 20,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "b.xlsx"), input("b"))
	if b, c := stored(); b != b0 || c != c0 {
		t.Errorf("bodies, cells: %d, %d before the run of b/; %d, %d after; want the plans' shared", b0, c0, b, c)
	}
	step("re-run of b/", crmsync.ExitOK, map[crmsync.Outcome]int{crmsync.OutcomeUnchanged: 20, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "b2.xlsx"), input("b"))
}
