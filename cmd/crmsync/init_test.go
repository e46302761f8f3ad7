package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestLedgerCreatedOnPurpose: every command refuses a missing ledger with
// exit 1, naming the path and crmsync init, and creates no file; init
// creates one and refuses to do it twice; -sandbox (the demo) still starts
// from nothing.
func TestLedgerCreatedOnPurpose(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "typo.db")
	in := filepath.Join(dir, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	for _, args := range [][]string{
		{"run", "-ledger", db, in},
		{"plan", "-ledger", db, in},
		{"retry", "-ledger", db},
		{"status", "-ledger", db},
		{"report", "-ledger", db, "1"},
		{"reconcile", "-ledger", db, in},
	} {
		code, _, stderr := cliNoInit(t, sandboxEnv(srv), args...)
		if code != 1 || !strings.Contains(stderr, db) || !strings.Contains(stderr, "crmsync init") {
			t.Errorf("%s on a missing ledger: exit %d, want 1 naming %s and crmsync init\n%s", args[0], code, db, stderr)
		}
		if matches, _ := filepath.Glob(db + "*"); len(matches) > 0 {
			t.Fatalf("%s on a missing ledger created %v", args[0], matches)
		}
	}
	if len(srv.Requests()) != 0 {
		t.Errorf("%d requests reached the API", len(srv.Requests()))
	}

	if code, _, stderr := cliNoInit(t, nil, "init", "-ledger", db); code != 0 {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cliNoInit(t, nil, "status", "-ledger", db); code != 0 {
		t.Errorf("status after init: exit %d\n%s", code, stderr)
	}
	before, _ := os.ReadFile(db)
	if code, _, stderr := cliNoInit(t, nil, "init", "-ledger", db); code != 1 || !strings.Contains(stderr, "已存在") {
		t.Errorf("init over an existing ledger: exit %d, want 1\n%s", code, stderr)
	}
	if after, _ := os.ReadFile(db); string(after) != string(before) {
		t.Errorf("init over an existing ledger changed it")
	}

	demo := filepath.Join(t.TempDir(), "demo.db")
	if code, _, stderr := cliNoInit(t, nil, "run", "-sandbox", "-ledger", demo, "-report", filepath.Join(t.TempDir(), "r.xlsx"), in); code != 0 {
		t.Errorf("run -sandbox from nothing: exit %d\n%s", code, stderr)
	}
}

// TestConfigPathsRelativeToTheFile: a relative ledger and report_dir in a
// config file are the file's folder's, wherever the command runs.
func TestConfigPathsRelativeToTheFile(t *testing.T) {
	etc := t.TempDir()
	cfg := filepath.Join(etc, "crmsync.toml")
	os.WriteFile(cfg, []byte("ledger = \"data/mall.db\"\nreport_dir = \"out\"\n"), 0o600)
	os.Mkdir(filepath.Join(etc, "data"), 0o700)
	if code, _, stderr := cliNoInit(t, nil, "init", "-config", cfg); code != 0 {
		t.Fatalf("init -config: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(etc, "data", "mall.db")); err != nil {
		t.Fatalf("init -config did not create the ledger beside the config: %v", err)
	}
	elsewhere := t.TempDir()
	old, _ := os.Getwd()
	os.Chdir(elsewhere)
	defer os.Chdir(old)
	in := filepath.Join(elsewhere, "member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID\r\nC1\r\n"), 0o644)
	if code, _, stderr := cliNoInit(t, nil, "status", "-config", cfg); code != 0 {
		t.Errorf("status -config from another folder: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := cliNoInit(t, nil, "plan", "-config", cfg, in); code != 0 {
		t.Errorf("plan -config from another folder: exit %d\n%s", code, stderr)
	}
	if m, _ := filepath.Glob(filepath.Join(etc, "out", "*-plan-*.xlsx")); len(m) != 1 {
		t.Errorf("plan's report is not under the config's report_dir: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(elsewhere, "*.db")); len(m) != 0 {
		t.Errorf("a ledger was created in the current folder: %v", m)
	}
}
