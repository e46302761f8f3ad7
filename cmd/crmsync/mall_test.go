package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestMallsShareAFolder: two malls' ledgers (and one of no mall) in one
// folder, each planned with its config: every run's report is its own file
// named by its mall (or the ledger's name) and run ID, naming its mall on
// the summary sheet; a second ledger of the same mall gets another name
// and leaves the first report as it was.
func TestMallsShareAFolder(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	in := filepath.Join(dir, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	cfgA := writeConfig(t, "mall = \"万象城\"\n")
	cfgB := writeConfig(t, "mall = \"大悦城 / 北京\"\n")
	cfgNone := writeConfig(t, "")
	plan := func(ledgerFile, cfg string) string {
		t.Helper()
		code, stdout, stderr := cliNoInit(t, nil, "plan", "-json", "-config", cfg, "-ledger", ledgerFile, in)
		if code != crmsync.ExitOK {
			t.Fatalf("plan -ledger %s: exit %d\n%s", ledgerFile, code, stderr)
		}
		var s struct {
			Report string `json:"report"`
		}
		if err := json.Unmarshal([]byte(stdout), &s); err != nil {
			t.Fatal(err)
		}
		return s.Report
	}
	for _, c := range []struct{ ledger, cfg string }{{"a.db", cfgA}, {"b.db", cfgB}, {"c.db", cfgNone}, {"a2.db", cfgA}} {
		if code, _, stderr := cliNoInit(t, nil, "init", "-ledger", c.ledger, "-config", c.cfg); code != 0 {
			t.Fatalf("init -ledger %s: exit %d\n%s", c.ledger, code, stderr)
		}
	}
	repA := plan("a.db", cfgA)
	firstA, _ := os.ReadFile(repA)
	got := []string{repA, plan("b.db", cfgB), plan("c.db", cfgNone), plan("a2.db", cfgA)}
	want := []string{
		filepath.Join("reports", "万象城-plan-1.xlsx"),
		filepath.Join("reports", "大悦城___北京-plan-1.xlsx"),
		filepath.Join("reports", "c-plan-1.xlsx"),
		filepath.Join("reports", "万象城-plan-1-2.xlsx"),
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("report %d = %q, want %q", i, got[i], want[i])
		}
	}
	if again, _ := os.ReadFile(repA); len(firstA) == 0 || !bytes.Equal(again, firstA) {
		t.Errorf("%s changed after another ledger's run of the same mall", repA)
	}
	for i, mall := range []string{"万象城", "大悦城 / 北京", "", "万象城"} {
		if mall != "" && !strings.Contains(cellsOf(t, got[i]), mall) {
			t.Errorf("report %s does not name its mall %q", got[i], mall)
		}
	}
	for _, other := range []string{"大悦城", "万象城"} {
		if strings.Contains(cellsOf(t, got[2]), other) {
			t.Errorf("report %s of a ledger without mall names %q", got[2], other)
		}
	}
}

// TestMallMismatch: a ledger that remembers mall A, run or planned with a
// config naming mall B, is refused with exit 1 naming both malls; no run
// is recorded. A config without mall still works on it.
func TestMallMismatch(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	db := filepath.Join(dir, "a.db")
	cfgA := writeConfig(t, "mall = \"万象城\"\n")
	cfgB := writeConfig(t, "mall = \"大悦城\"\n")
	if code, _, stderr := cliNoInit(t, nil, "init", "-ledger", db); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	// The first run naming a mall makes the ledger that mall's.
	if code, _, stderr := cliNoInit(t, nil, "plan", "-config", cfgA, "-ledger", db, "-report", filepath.Join(dir, "1.xlsx"), in); code != 0 {
		t.Fatalf("plan with mall A: exit %d\n%s", code, stderr)
	}
	for _, cmd := range []string{"plan", "run"} {
		code, _, stderr := cliNoInit(t, nil, cmd, "-sandbox", "-config", cfgB, "-ledger", db, "-report", filepath.Join(dir, cmd+"-b.xlsx"), in)
		if code != crmsync.ExitFailed || !strings.Contains(stderr, "万象城") || !strings.Contains(stderr, "大悦城") {
			t.Errorf("%s with mall B on mall A's ledger: exit %d, want 1 naming both malls\n%s", cmd, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(dir, cmd+"-b.xlsx")); err == nil {
			t.Errorf("%s with mall B wrote a report", cmd)
		}
	}
	if code, _, stderr := cliNoInit(t, nil, "reconcile", "-config", cfgB, "-ledger", db, "-report", filepath.Join(dir, "rec-b.xlsx"), in); code != crmsync.ExitFailed || !strings.Contains(stderr, "万象城") || !strings.Contains(stderr, "大悦城") {
		t.Errorf("reconcile with mall B on mall A's ledger: exit %d, want 1 naming both malls\n%s", code, stderr)
	}
	if code, _, stderr := cliNoInit(t, nil, "reconcile", "-config", cfgA, "-ledger", db, "-report", filepath.Join(dir, "rec-a.xlsx"), in); code == crmsync.ExitFailed || code == crmsync.ExitUsage {
		t.Errorf("reconcile with mall A on its ledger: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cliNoInit(t, nil, "report", "-config", cfgB, "-ledger", db, "-report", filepath.Join(dir, "again-b.xlsx"), "1"); code != crmsync.ExitFailed || !strings.Contains(stderr, "大悦城") {
		t.Errorf("report with mall B on mall A's ledger: exit %d, want 1\n%s", code, stderr)
	}
	if code, _, stderr := cliNoInit(t, nil, "report", "-ledger", db, "-report", filepath.Join(dir, "again.xlsx"), "1"); code != 0 || !strings.Contains(cellsOf(t, filepath.Join(dir, "again.xlsx")), "万象城") {
		t.Errorf("report without config on mall A's ledger: exit %d, want 0 and 万象城 on the report\n%s", code, stderr)
	}
	if code, _, stderr := cliNoInit(t, nil, "retry", "-sandbox", "-config", cfgB, "-ledger", db); code != crmsync.ExitFailed || !strings.Contains(stderr, "大悦城") {
		t.Errorf("retry with mall B on mall A's ledger: exit %d, want 1\n%s", code, stderr)
	}
	code, stdout, stderr := cliNoInit(t, nil, "status", "-json", "-ledger", db)
	var st struct {
		Mall string            `json:"mall"`
		Runs []json.RawMessage `json:"runs"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); code != 0 || err != nil || st.Mall != "万象城" || len(st.Runs) != 1 {
		t.Errorf("status -json: exit %d, mall %q, %d runs; want 万象城 and the one run of mall A\n%s%s", code, st.Mall, len(st.Runs), stdout, stderr)
	}
	if _, stdout, _ := cliNoInit(t, nil, "status", "-ledger", db); !strings.Contains(stdout, "万象城") {
		t.Errorf("status does not show the ledger's mall:\n%s", stdout)
	}
	// A config naming no mall runs as the ledger's mall: its name on the
	// report file and in the summary.
	cfgNone := writeConfig(t, "report_dir = "+strconv.Quote(filepath.Join(dir, "out"))+"\n")
	code, stdout, stderr = cliNoInit(t, nil, "plan", "-json", "-config", cfgNone, "-ledger", db, in)
	var s struct {
		Mall   string `json:"mall"`
		Report string `json:"report"`
	}
	json.Unmarshal([]byte(stdout), &s)
	if code != 0 || s.Mall != "万象城" || !strings.HasPrefix(filepath.Base(s.Report), "万象城-plan-") {
		t.Errorf("plan without mall on mall A's ledger: exit %d, mall %q, report %q; want 0, 万象城 and 万象城-plan-…\n%s", code, s.Mall, s.Report, stderr)
	}
}
