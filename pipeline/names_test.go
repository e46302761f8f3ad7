package pipeline

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestRunName: the name of a run's outputs is the mall's, made safe for a
// file system (no separator, no character Windows refuses, no leading dot),
// else the ledger file's.
func TestRunName(t *testing.T) {
	for _, c := range []struct{ mall, ledger, want string }{
		{"万象城", "/var/lib/crmsync/crmsync.db", "万象城-run-7"},
		{"", "/var/lib/crmsync/crmsync.db", "crmsync-run-7"},
		{"", "other-mall.db", "other-mall-run-7"},
		{"../../etc/passwd", "x.db", "etc_passwd-run-7"},
		{`A:B*C?"D"<E>|F\G`, "x.db", "A_B_C__D__E__F_G-run-7"},
		{" . ", "x.db", "x-run-7"},
		{"", "", "crmsync-run-7"},
		{"", ".db", "crmsync-run-7"},
	} {
		s := &crmsync.Summary{RunID: 7, Command: "run", Mall: c.mall, Ledger: c.ledger}
		if got := RunName(s); got != c.want {
			t.Errorf("RunName(mall %q, ledger %q) = %q, want %q", c.mall, c.ledger, got, c.want)
		}
	}
}

// TestReportPathNeverExisting: a default report name already taken (by
// the report or by its problems workbook) gets -2, -3, …; -report is kept.
func TestReportPathNeverExisting(t *testing.T) {
	dir := t.TempDir()
	s := &crmsync.Summary{RunID: 3, Command: "plan", Mall: "万象城"}
	if got, want := ReportPath("", dir, s), filepath.Join(dir, "万象城-plan-3.xlsx"); got != want {
		t.Fatalf("ReportPath = %q, want %q", got, want)
	}
	os.WriteFile(filepath.Join(dir, "万象城-plan-3.xlsx"), nil, 0o600)
	os.WriteFile(filepath.Join(dir, "万象城-plan-3-2-problems.xlsx"), nil, 0o600)
	if got, want := ReportPath("", dir, s), filepath.Join(dir, "万象城-plan-3-3.xlsx"); got != want {
		t.Errorf("ReportPath with the name and -2's problems taken = %q, want %q", got, want)
	}
	if got := ReportPath(filepath.Join(dir, "万象城-plan-3.xlsx"), dir, s); got != filepath.Join(dir, "万象城-plan-3.xlsx") {
		t.Errorf("ReportPath with -report = %q, want it as given", got)
	}
	if got, want := ResultsPath("", dir, s), filepath.Join(dir, "万象城-plan-3-results.csv"); got != want {
		t.Errorf("ResultsPath = %q, want %q", got, want)
	}
}
