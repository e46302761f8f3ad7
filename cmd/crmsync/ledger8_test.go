package main

import (
	"database/sql"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/google/go-cmp/cmp"
)

// TestLedgerOfe7b7ead: a ledger crmsync e7b7ead (schema 7) made of the
// samples in testdata/ledger-e7b7ead (run a/ into the sandbox: sent and
// invalid rows; run a/ again: unchanged; plan all/: the score file's rows
// new) is taken to schema 8, whose unchanged rows and bodies are stored
// otherwise. Then: status reads it; a re-run of a/ sends nothing and its
// report lists the same rows, cells and outcomes as the old re-run's
// (regenerated from the ledger); the old runs' reports regenerate; apply
// of the old plan sends exactly its 34 new rows, bodies as planned; retry
// finds nothing to send.
func TestLedgerOfe7b7ead(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-e7b7ead", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	input, err := filepath.Abs(filepath.Join("testdata", "ledger-e7b7ead", "a"))
	if err != nil {
		t.Fatal(err)
	}
	vars := sandboxEnv(srv)
	code, stdout, stderr := cli(t, vars, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st struct {
		Schema int `json:"schema"`
		Runs   []struct {
			ID int64 `json:"id"`
		} `json:"runs"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil || len(st.Runs) != 3 {
		t.Fatalf("status -json: %v, %d runs, want 3\n%s", err, len(st.Runs), stdout)
	}
	code, stdout, stderr = cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "new.xlsx"), input)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want %d (the samples hold bad rows)\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeUnchanged] != 50 || s.Counts[crmsync.OutcomeSent] != 0 || s.Counts[crmsync.OutcomeInvalid] != 4 {
		t.Errorf("re-run on the e7b7ead ledger: counts %v, want 50 unchanged, 4 invalid, none sent", s.Counts)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("re-run on the e7b7ead ledger sent %d requests, want 0", n)
	}
	// The re-run's unchanged rows are stored narrow, the events taken to
	// cells with a head on the way.
	ldb, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	var narrow, full int
	if err := ldb.QueryRow(`SELECT (SELECT count(*) FROM same WHERE run_id = ?1), (SELECT count(*) FROM results WHERE run_id = ?1 AND outcome = 'unchanged')`,
		s.RunID).Scan(&narrow, &full); err != nil || narrow != 49 || full != 1 {
		t.Errorf("unchanged rows of the re-run: %d in same, %d in results (%v); want 49 and 1 (its warning kept)", narrow, full, err)
	}
	// Another re-run stores no cells and no bodies: the events now refer
	// to cells with a head.
	stored := func() (n int) {
		if err := ldb.QueryRow(`SELECT (SELECT count(*) FROM cells) + (SELECT count(*) FROM bodies)`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	was := stored()
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "again.xlsx"), input); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run again: exit %d\n%s", code, stderr)
	}
	if now := stored(); now != was+4 { // the invalid rows' cells, stored per run
		t.Errorf("cells and bodies: %d after the first re-run on schema 8, %d after the second; want 4 more (the invalid rows')", was, now)
	}
	sheets := func(id int64) map[string][][]string {
		// e7b7ead ran in the fixture's folder.
		return reportSheets(t, db, dir, id, strings.NewReplacer(input, "a").Replace)
	}
	before, after := sheets(2), sheets(s.RunID)
	if len(before) == 0 {
		t.Fatal("the report of run 2 has no per-kind sheet")
	}
	chineseOnly(before)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("per-kind sheets of run 2 (recorded by e7b7ead) and run %d (-old +new):\n%s", s.RunID, diff)
	}
	if got := sheets(1); len(got) == 0 {
		t.Error("the report of run 1 (sent by e7b7ead) has no per-kind sheet")
	}
	// The plan of e7b7ead, applied: its new rows, no others.
	code, stdout, stderr = cli(t, vars, "apply", "-json", "-ledger", db, "-report", filepath.Join(dir, "apply.xlsx"), "3")
	if code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
		t.Fatalf("apply 3: exit %d\n%s", code, stderr)
	}
	if s := decodeSummary(t, stdout); s.Counts[crmsync.OutcomeSent] != 34 {
		t.Errorf("apply 3: counts %v, want 34 sent", s.Counts)
	}
	reqs := srv.Requests()
	if len(reqs) != 34 {
		t.Errorf("apply 3 sent %d requests, want 34", len(reqs))
	}
	// The bodies as e7b7ead stored them for the plan's new rows.
	fx, err := sql.Open("sqlite3", "file:"+filepath.Join("testdata", "ledger-e7b7ead", "crmsync.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer fx.Close()
	rows, err := fx.Query(`SELECT b.body FROM results r JOIN bodies b ON b.id = r.body_id WHERE r.run_id = 3 AND r.outcome = 'new'`)
	if err != nil {
		t.Fatal(err)
	}
	var planned, sent []string
	for rows.Next() {
		var b string
		if err := rows.Scan(&b); err != nil {
			t.Fatal(err)
		}
		planned = append(planned, b)
	}
	rows.Close()
	for _, r := range reqs {
		sent = append(sent, string(r.Body))
	}
	slices.Sort(planned)
	slices.Sort(sent)
	if diff := cmp.Diff(planned, sent); diff != "" || len(planned) != 34 {
		t.Errorf("apply 3: bodies sent are not the %d planned (-planned +sent):\n%s", len(planned), diff)
	}
	// Nothing to send; the invalid rows still wait for a person.
	code, _, stderr = cli(t, vars, "retry", "-ledger", db, "-report", filepath.Join(dir, "retry.xlsx"))
	if code != crmsync.ExitNeedsPerson || !strings.Contains(stderr, "invalid=17") {
		t.Errorf("retry: exit %d, want %d with the 17 invalid rows outstanding\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	if n := len(srv.Requests()); n != 34 {
		t.Errorf("after retry %d requests, want the 34 of apply", n)
	}
}
