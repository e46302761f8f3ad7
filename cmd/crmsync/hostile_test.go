package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
)

// TestLedgerLinkedToDevice: a -ledger that links to a device (/dev/null,
// mode 0666) is refused as no regular file, and crmsync does not advise
// a chmod of it, which would change the device's mode.
func TestLedgerLinkedToDevice(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	if err := os.Symlink("/dev/null", db); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"run", "-sandbox", "-ledger", db, dir}, {"status", "-ledger", db}} {
		code, _, stderr := cliNoInit(t, nil, args...)
		if code == crmsync.ExitOK || !strings.Contains(stderr, "not a regular file") || strings.Contains(stderr, "chmod") {
			t.Errorf("crmsync %q: exit %d, stderr %q; want it refused as no regular file, with no chmod advice", args, code, stderr)
		}
	}
}
