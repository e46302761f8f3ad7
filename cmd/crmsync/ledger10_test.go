package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/google/go-cmp/cmp"
)

// TestLedgerOf60ac47c: a ledger crmsync 60ac47c (schema 9) made in
// testdata/ledger-60ac47c (plan of a/, the samples; run of a/ into the
// sandbox: 84 sent, 9 invalid, 1 duplicate; run of b/, 20 score rows, two
// of whose TransIDs the sandbox had seen: 18 sent, 2 rejected) is taken to
// schema 10. status counts what it did (sent events now from
// sent_events); re-runs of a/ and b/ send nothing and store no body and
// no cells; the rejected rows stay rejected; a plan and the run of new
// rows after it send them once, storing their bodies and cells once; the
// old runs' reports and prune -member read the ledger.
func TestLedgerOf60ac47c(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-60ac47c", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	input := func(name string) string {
		p, err := filepath.Abs(filepath.Join("testdata", "ledger-60ac47c", name))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	vars := sandboxEnv(srv)
	ldb, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	// status's totals against a count of the events themselves.
	checkStatus := func(when string) map[crmsync.Kind]map[crmsync.State]int {
		t.Helper()
		code, stdout, stderr := cli(t, vars, "status", "-json", "-ledger", db)
		if code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
			t.Fatalf("status %s: exit %d\n%s", when, code, stderr)
		}
		var st struct {
			Schema int                                    `json:"schema"`
			Totals map[crmsync.Kind]map[crmsync.State]int `json:"totals"`
		}
		if err := json.Unmarshal([]byte(stdout), &st); err != nil || st.Schema != ledger.SchemaVersion() || st.Schema < 10 {
			t.Errorf("status -json %s: schema %d (%v), want %d", when, st.Schema, err, ledger.SchemaVersion())
		}
		if diff := cmp.Diff(eventCounts(t, ldb), st.Totals); diff != "" {
			t.Errorf("status -json %s: totals differ from the events (-events +status):\n%s", when, diff)
		}
		return st.Totals
	}
	stored := func() (bodies, cells int) {
		t.Helper()
		if err := ldb.QueryRow(`SELECT (SELECT count(*) FROM bodies), (SELECT count(*) FROM cells)`).Scan(&bodies, &cells); err != nil {
			t.Fatal(err)
		}
		return bodies, cells
	}
	step := func(what string, wantCode int, want map[crmsync.Outcome]int, wantRequests int, args ...string) int64 {
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
		return s.RunID
	}
	migrated := checkStatus("after the migration")
	if n := migrated[crmsync.KindScore][crmsync.StateRejected]; n != 2 {
		t.Errorf("status -json after the migration: %d score events rejected, want 2", n)
	}

	b0, c0 := stored()
	step("re-run of a/", crmsync.ExitNeedsPerson, map[crmsync.Outcome]int{crmsync.OutcomeUnchanged: 84, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "a.xlsx"), input("a"))
	step("re-run of b/", crmsync.ExitNeedsPerson, map[crmsync.Outcome]int{crmsync.OutcomeUnchanged: 18, crmsync.OutcomeRejected: 2, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "b.xlsx"), input("b"))
	// (A run stores the cells of its invalid rows again, 9 in a/, as
	// 60ac47c does.)
	if b, c := stored(); b != b0 || c != c0+9 {
		t.Errorf("bodies, cells: %d, %d before the re-runs; %d, %d after; want no body and the 9 invalid rows' cells stored", b0, c0, b, c)
	}

	// New rows: b/'s with other TransIDs.
	rows, err := os.ReadFile(input("b/score-b.csv"))
	if err != nil {
		t.Fatal(err)
	}
	c := filepath.Join(dir, "score-c.csv")
	if err := os.WriteFile(c, []byte(strings.NewReplacer("\nT000", "\nC000", "\nR000", "\nD000").Replace(string(rows))), 0o600); err != nil {
		t.Fatal(err)
	}
	plan := step("plan of c", crmsync.ExitOK, map[crmsync.Outcome]int{crmsync.OutcomeNew: 20}, 0,
		"plan", "-json", "-ledger", db, "-report", filepath.Join(dir, "plan.xlsx"), c)
	b0, c0 = stored()
	step("run of c", crmsync.ExitOK, map[crmsync.Outcome]int{crmsync.OutcomeSent: 20}, 20,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "c.xlsx"), c)
	if b, c := stored(); b != b0 || c != c0 {
		t.Errorf("bodies, cells: %d, %d before the run of c after its plan; %d, %d after; want the plan's shared", b0, c0, b, c)
	}
	step("re-run of c", crmsync.ExitOK, map[crmsync.Outcome]int{crmsync.OutcomeUnchanged: 20, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", filepath.Join(dir, "c2.xlsx"), c)
	// The events of c keep their content hash in their cells' head only;
	// those 60ac47c sent keep theirs (the rejected ones were recorded
	// again by the re-run of b/).
	var derived, kept int
	if err := ldb.QueryRow(`SELECT count(*) FILTER (WHERE length(hash) = 0 AND (key LIKE 'C0%' OR key LIKE 'D0%')), count(*) FILTER (WHERE length(hash) = 32 AND (key LIKE 'T0%' OR key LIKE 'R0%') AND state = 'sent')
FROM events WHERE kind = 'score'`).Scan(&derived, &kept); err != nil {
		t.Fatal(err)
	}
	if derived != 20 || kept != 18 {
		t.Errorf("events with the hash in the head only: %d (want 20, c's); sent with their own: %d (want 18, b's)", derived, kept)
	}
	after := checkStatus("after the runs")
	if a, m := after[crmsync.KindScore], migrated[crmsync.KindScore]; a[crmsync.StateSent] != m[crmsync.StateSent]+20 || a[crmsync.StateRejected] != 2 {
		t.Errorf("status -json: score events %v after the runs, %v before; want 20 more sent, 2 rejected", a, m)
	}

	// The old runs read back: run 2 (a/) and run 3 (b/) regenerated.
	for _, id := range []string{"2", "3"} {
		if code, _, stderr := cli(t, nil, "report", "-ledger", db, "-report", filepath.Join(dir, "again-"+id+".xlsx"), id); code != crmsync.ExitOK {
			t.Errorf("report %s of the 60ac47c ledger: exit %d\n%s", id, code, stderr)
		}
	}
	// A member's rows of 60ac47c's runs and of the new ones go, but the
	// plan's (not applied); those of a rejected event stay. (Card
	// 02017000000NN's TransIDs are T00000000NN, and C00000000NN in c.)
	count := func(card string) (n int) {
		t.Helper()
		err := ldb.QueryRow(`SELECT (SELECT count(*) FROM results WHERE lane = ?1 AND run_id <> ?2) + (SELECT count(*) FROM same s JOIN events e ON e.cells_id = s.cells_id WHERE e.key IN ('T00000000' || ?3, 'C00000000' || ?3))`, card, plan, card[len(card)-2:]).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count("0201700000001"); n != 4 { // sent by b/ and by c; unchanged in the re-runs of b/ and of c
		t.Errorf("rows of 0201700000001 before prune -member: %d, want 4", n)
	}
	for card, want := range map[string]int{"0201700000001": 0, "0201700000003": 2} {
		code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-member", card, "-json")
		if code != crmsync.ExitOK {
			t.Errorf("prune -member %s: exit %d, %s %s", card, code, stdout, stderr)
		}
		if n := count(card); n != want {
			t.Errorf("rows of %s after prune -member: %d, want %d", card, n, want)
		}
	}
}

// TestLedgerOf60ac47cDiskFull: taking the 60ac47c ledger to schema 10 on a
// disk that fills up (no room at all, or room for opening it but not for
// all of the migration's writes) fails, saying the disk is full, and
// leaves the ledger as it was (schema 9, whole); once there is room the
// migration goes through.
func TestLedgerOf60ac47cDiskFull(t *testing.T) {
	disk := mountTmpfs(t, "2m")
	db := filepath.Join(disk, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-60ac47c", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(when string, wantSchema int, dsn string) {
		t.Helper()
		ldb, err := sql.Open("sqlite3", "file:"+db+dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer ldb.Close()
		var schema, events int
		var ok string
		if err := ldb.QueryRow(`SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM events), (SELECT integrity_check FROM pragma_integrity_check)`).Scan(&schema, &events, &ok); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if schema != wantSchema || events != 104 || ok != "ok" {
			t.Errorf("%s: schema %d, %d events, integrity %q; want schema %d, 104 events, ok", when, schema, events, ok, wantSchema)
		}
	}
	failed := 0
	for _, room := range []int64{0, 4 << 10, 36 << 10, 40 << 10, 44 << 10, 48 << 10, 56 << 10, 64 << 10, 96 << 10} {
		for _, f := range []string{db, db + "-wal", db + "-shm", db + ".lock"} {
			os.Remove(f)
		}
		if err := os.WriteFile(db, old, 0o600); err != nil {
			t.Fatal(err)
		}
		filler := fillDisk(t, disk)
		fi, err := os.Stat(filler)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filler, max(0, fi.Size()-room)); err != nil {
			t.Fatal(err)
		}
		code, _, stderr := cli(t, nil, "status", "-json", "-ledger", db)
		t.Logf("%d KiB free: status exit %d %.300s", room>>10, code, stderr)
		if code == crmsync.ExitOK || code == crmsync.ExitNeedsPerson {
			check(fmt.Sprintf("migrated with %d KiB free", room>>10), ledger.SchemaVersion(), "?mode=ro&immutable=1")
		} else {
			failed++
			if code != crmsync.ExitFailed || !strings.Contains(stderr, "disk full") {
				t.Errorf("status of the 60ac47c ledger with %d KiB free: exit %d, want %d saying the disk is full\n%s", room>>10, code, crmsync.ExitFailed, stderr)
			}
			// Read as it is on disk (a reader of a WAL ledger needs
			// room for its shared-memory file): nothing of the
			// migration was committed, the ledger is whole.
			check(fmt.Sprintf("after the migration failed with %d KiB free", room>>10), 9, "?mode=ro&immutable=1")
		}
		if err := os.Remove(filler); err != nil {
			t.Fatal(err)
		}
		if code, _, stderr := cli(t, nil, "status", "-json", "-ledger", db); code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
			t.Fatalf("status once there is room: exit %d\n%s", code, stderr)
		}
		check("after the migration once there is room", ledger.SchemaVersion(), "?mode=ro")
	}
	if failed == 0 {
		t.Errorf("the migration never met a full disk")
	}
}

// TestLedgerOf60ac47cChangedResent: rows 60ac47c sent (schema 9: their
// events keep their own hash, their cells are stored unpacked) read again
// with other content after the migration are changed; resend is refused
// (a sale's TransID: Mallcoo keeps its first content), a person records
// them delivered and the ledger keeps exactly the new content (a date-time
// at the packing's edge, an amount, a 19-digit serial number with leading
// zeros, a 20-digit one); re-runs of the new file send nothing and store nothing new,
// a run of the old file finds them changed again, and status counts the
// events as they are.
func TestLedgerOf60ac47cChangedResent(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-60ac47c", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	orig := filepath.Join("testdata", "ledger-60ac47c", "b", "score-b.csv")
	rows, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.NewReplacer(
		"T0000000004,0201700000004,1,2023-01-01 09:02:04,14.04,", "T0000000004,0201700000004,1,2155-12-31 23:59:59,14.05,",
		"T0000000005,0201700000005,1,2023-01-01 09:02:35,15.05,S0005,,", "T0000000005,0201700000005,1,2023-01-01 09:02:35,15.05,S0005,0000000000000000001,",
		"T0000000006,0201700000006,1,2023-01-01 09:03:06,16.06,S0006,,", "T0000000006,0201700000006,1,2023-01-01 09:03:06,16.06,S0006,12345678901234567890,",
	).Replace(string(rows))
	if strings.Count(changed, "\n") != strings.Count(string(rows), "\n") || changed == string(rows) {
		t.Fatal("score-b.csv: the rows to change are not there")
	}
	b2 := filepath.Join(dir, "score-b2.csv")
	if err := os.WriteFile(b2, []byte(changed), 0o600); err != nil {
		t.Fatal(err)
	}
	vars := sandboxEnv(srv)
	step := func(what string, wantCode int, want map[crmsync.Outcome]int, wantRequests int, args ...string) []mallcootest.Request {
		t.Helper()
		before := len(srv.Requests())
		code, stdout, stderr := cli(t, vars, args...)
		if code != wantCode {
			t.Fatalf("%s: exit %d, want %d\n%s", what, code, wantCode, stderr)
		}
		if want != nil {
			s := decodeSummary(t, stdout)
			for o, n := range want {
				if s.Counts[o] != n {
					t.Errorf("%s: counts %v, want %d %s", what, s.Counts, n, o)
				}
			}
		}
		got := srv.Requests()[before:]
		if len(got) != wantRequests {
			t.Errorf("%s sent %d requests, want %d", what, len(got), wantRequests)
		}
		return got
	}
	report := func(name string) string { return filepath.Join(dir, name+".xlsx") }
	step("run of the changed file", crmsync.ExitNeedsPerson,
		map[crmsync.Outcome]int{crmsync.OutcomeChanged: 3, crmsync.OutcomeUnchanged: 15, crmsync.OutcomeRejected: 2, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", report("b2"), b2)
	// A changed sale cannot be resent under its TransID (Mallcoo keeps its
	// first content): a person records the new content as delivered.
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "score", "-as", "resend", "T0000000004", "T0000000005", "T0000000006"); code != crmsync.ExitFailed || !strings.Contains(stderr, "new TransID") {
		t.Fatalf("resolve -as resend of changed sales: exit %d, want %d naming a new TransID\n%s", code, crmsync.ExitFailed, stderr)
	}
	if code, stdout, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "score", "-as", "delivered", "T0000000004", "T0000000005", "T0000000006"); code != crmsync.ExitOK {
		t.Fatalf("resolve -as delivered: exit %d\n%s%s", code, stdout, stderr)
	}
	want := map[string][]string{
		"T0000000004": {`"ThirdPartyCardID":"0201700000004"`, `"TradeTime":"2155-12-31 23:59:59"`, `"TradeAmount":14.05`, `"Score":14`},
		"T0000000005": {`"ThirdPartyCardID":"0201700000005"`, `"TradeSerialNo":"0000000000000000001"`, `"TradeAmount":15.05`},
		"T0000000006": {`"ThirdPartyCardID":"0201700000006"`, `"TradeSerialNo":"12345678901234567890"`, `"TradeAmount":16.06`},
	}
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	var evs []*crmsync.Event
	for key := range want {
		evs = append(evs, &crmsync.Event{Kind: crmsync.KindScore, Key: key})
	}
	priors, err := l.Lookup(context.Background(), evs)
	l.Close()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range priors { // the new content, exactly, is the event's
		if p.State != crmsync.StateSent {
			t.Errorf("%s: %s after resolve -as delivered, want sent", evs[i].Key, p.State)
		}
		for _, w := range want[evs[i].Key] {
			if !strings.Contains(string(mallcoo.WireBody(crmsync.KindScore, p.Body)), w) {
				t.Errorf("the ledger keeps %s for %s: no %s", p.Body, evs[i].Key, w)
			}
		}
	}
	ldb, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer ldb.Close()
	// (The cells are stored again by every re-run: retry's results have
	// no values, and the event then refers to cells of its head alone.)
	stored := func() (n int) {
		t.Helper()
		if err := ldb.QueryRow(`SELECT count(*) FROM bodies`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	n0 := stored()
	step("re-run of the changed file", crmsync.ExitNeedsPerson,
		map[crmsync.Outcome]int{crmsync.OutcomeUnchanged: 18, crmsync.OutcomeRejected: 2, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", report("b2-again"), b2)
	if n := stored(); n != n0 {
		t.Errorf("bodies: %d before the re-run, %d after; want none stored", n0, n)
	}
	step("run of the old file", crmsync.ExitNeedsPerson,
		map[crmsync.Outcome]int{crmsync.OutcomeChanged: 3, crmsync.OutcomeUnchanged: 15, crmsync.OutcomeSent: 0}, 0,
		"run", "-json", "-ledger", db, "-report", report("b-old"), orig)

	code, stdout, stderr := cli(t, vars, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK && code != crmsync.ExitNeedsPerson {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st struct {
		Totals map[crmsync.Kind]map[crmsync.State]int `json:"totals"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(eventCounts(t, ldb), st.Totals); diff != "" {
		t.Errorf("status -json: totals differ from the events (-events +status):\n%s", diff)
	}
}

// TestLedgerOf60ac47cApplyOldPlan: the plan 60ac47c made of a/ (run 1,
// 84 new rows, applied by none: a run of the same files sent them) is
// applied after the migration to schema 10: its rows read back from the
// stored rows of schema 9, and it sends none of them again.
func TestLedgerOf60ac47cApplyOldPlan(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-60ac47c", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, sandboxEnv(srv), "apply", "-json", "-ledger", db, "-report", filepath.Join(dir, "apply.xlsx"), "1")
	if code != crmsync.ExitOK {
		t.Fatalf("apply 1: exit %d\n%s", code, stderr)
	}
	if s := decodeSummary(t, stdout); s.Counts[crmsync.OutcomeSkipped] != 84 || s.Counts[crmsync.OutcomeSent] != 0 {
		t.Errorf("apply 1: counts %v, want 84 skipped (sent by the run after the plan), none sent", s.Counts)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("apply of 60ac47c's plan sent %d requests, want none (a run sent its rows)", n)
	}
}

// eventCounts counts the ledger's events by kind and state, straight from
// the events table: what status -json's totals must say.
func eventCounts(t *testing.T, ldb *sql.DB) map[crmsync.Kind]map[crmsync.State]int {
	t.Helper()
	counted := map[crmsync.Kind]map[crmsync.State]int{}
	rows, err := ldb.Query(`SELECT kind, state, count(*) FROM events GROUP BY kind, state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, s string
		var n int
		if err := rows.Scan(&k, &s, &n); err != nil {
			t.Fatal(err)
		}
		if counted[crmsync.Kind(k)] == nil {
			counted[crmsync.Kind(k)] = map[crmsync.State]int{}
		}
		counted[crmsync.Kind(k)][crmsync.State(s)] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return counted
}
