package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestFilesArePrivate: with umask 000, every file run, plan, reconcile,
// report and template write — ledger and side files, reports, problems
// workbooks, results CSV, templates — is 0600, its folders 0700; with file_mode =
// "0640", 0640 and 0750 (templates, written without a config, stay 0600).
// A ledger others can read draws a warning naming chmod.
func TestFilesArePrivate(t *testing.T) {
	old := syscall.Umask(0)
	defer syscall.Umask(old)
	for _, c := range []struct {
		config    string
		file, dir fs.FileMode
	}{
		{"", 0o600, 0o700},
		{"file_mode = \"0640\"\n", 0o640, 0o750},
	} {
		dir := t.TempDir()
		cfg := filepath.Join(dir, "c.toml")
		os.WriteFile(cfg, []byte(c.config), 0o600)
		out := filepath.Join(dir, "out")
		os.Mkdir(out, 0o700)
		db := filepath.Join(out, "l.db")
		reports := filepath.Join(out, "reports")
		for _, args := range [][]string{
			{"run", "-sandbox", "-config", cfg, "-ledger", db, "-report", filepath.Join(reports, "run.xlsx"), samplesDir(t)},
			{"plan", "-config", cfg, "-ledger", db, "-report", filepath.Join(reports, "plan.xlsx"), "-results", filepath.Join(out, "results", "plan.csv"), samplesDir(t)},
			{"reconcile", "-config", cfg, "-ledger", db, "-report", filepath.Join(reports, "rec.xlsx"), samplesDir(t)},
			{"report", "-config", cfg, "-ledger", db, "-report", filepath.Join(reports, "again.xlsx"), "1"},
			{"template", "-dir", filepath.Join(out, "templates")},
		} {
			if code, _, stderr := cliNoInit(t, nil, args...); code != 0 && code != 3 {
				t.Fatalf("%s: exit %d\n%s", args[0], code, stderr)
			}
		}
		n := 0
		filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
			if err != nil || p == out {
				return err
			}
			fi, _ := d.Info()
			want := c.file
			if d.IsDir() {
				want = c.dir
			}
			if strings.Contains(p, "templates") { // blank templates: no config, owner only
				want = map[bool]fs.FileMode{true: 0o700, false: 0o600}[d.IsDir()]
			}
			if got := fi.Mode().Perm(); got != want {
				t.Errorf("config %q: %s has mode %04o, want %04o", c.config, p, got, want)
			}
			n++
			return nil
		})
		if n < 10 {
			t.Errorf("only %d files and folders were written", n)
		}
	}

	// A ledger made readable by others draws a warning.
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "p.xlsx"), samplesDir(t))
	os.Chmod(db, 0o644)
	_, _, stderr := cli(t, nil, "plan", "-ledger", db, "-report", filepath.Join(dir, "p2.xlsx"), samplesDir(t))
	if !strings.Contains(stderr, "chmod 0600 "+db) {
		t.Errorf("no warning naming chmod for a ledger others can read:\n%s", stderr)
	}
}
