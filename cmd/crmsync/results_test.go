package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestResultsNeverReplacesInputs: -results naming an input (directly,
// through a symlink or a hard link), a device, a directory or a CSV
// crmsync did not write is a usage error before any work, and leaves the
// file as it was; results over crmsync's own earlier results CSV are fine.
func TestResultsNeverReplacesInputs(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := writeGrades(t, dir, 3)
	db := filepath.Join(dir, "l.db")
	own := filepath.Join(dir, "own.csv")
	if code, _, stderr := cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), "-results", own, in); code != crmsync.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	sym := filepath.Join(dir, "sym.csv")
	os.Symlink(in, sym)
	hard := filepath.Join(dir, "hard.csv")
	os.Link(in, hard)
	foreign := filepath.Join(dir, "members.csv")
	os.WriteFile(foreign, []byte("card,mobile\nC1,13800138000\n"), 0o644)
	sub := filepath.Join(dir, "sub.csv")
	os.Mkdir(sub, 0o755)
	for _, target := range []string{in, sym, hard, foreign, sub, "/dev/null"} {
		before, _ := os.ReadFile(target)
		for _, args := range [][]string{
			{"plan", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), "-results", target, in},
			{"retry", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), "-results", target},
		} {
			code, _, stderr := cli(t, sandboxEnv(srv), args...)
			if code != crmsync.ExitUsage || !strings.Contains(stderr, "-results "+target) {
				t.Errorf("crmsync %s -results %s: exit %d, want %d naming -results:\n%s", args[0], target, code, crmsync.ExitUsage, stderr)
			}
			if after, _ := os.ReadFile(target); string(after) != string(before) {
				t.Errorf("crmsync %s -results %s changed the file", args[0], target)
			}
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent by refused commands, want none", n)
	}
	for i := 0; i < 2; i++ {
		if code, _, stderr := cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), "-results", own, in); code != crmsync.ExitOK {
			t.Errorf("plan -results over its own results (%d): exit %d\n%s", i, code, stderr)
		}
	}
}
