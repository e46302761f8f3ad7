package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestRateRetriesThatNeverEnd: a -rate or rate so low, or -retries or
// retries so high, that a run would wait for hours or forever is refused
// before anything runs, naming the setting: a usage error for a flag, a
// config error for the file.
func TestRateRetriesThatNeverEnd(t *testing.T) {
	for _, args := range [][]string{
		{"run", "-rate", "1e-300", "samples/"},
		{"retry", "-rate", "0.001"},
		{"run", "-retries", "1000000000", "samples/"},
		{"apply", "-retries", "2147483647", "1"},
	} {
		code, _, stderr := cli(t, nil, args...)
		if code != crmsync.ExitUsage || !strings.Contains(stderr, args[1]+": want") {
			t.Errorf("crmsync %q: exit %d, stderr %q: want %d naming the flag and what it takes", args, code, stderr, crmsync.ExitUsage)
		}
	}
	for _, setting := range []string{"rate = 1e-300\n", "retries = 1000000000\n"} {
		file := filepath.Join(t.TempDir(), "crmsync.toml")
		if err := os.WriteFile(file, []byte(setting), 0o600); err != nil {
			t.Fatal(err)
		}
		name, _, _ := strings.Cut(setting, " ")
		code, _, stderr := cli(t, nil, "config", "-config", file)
		if code != crmsync.ExitFailed || !strings.Contains(stderr, name) {
			t.Errorf("crmsync config with %q: exit %d, stderr %q: want %d naming %s", setting, code, stderr, crmsync.ExitFailed, name)
		}
	}
}
