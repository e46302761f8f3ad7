package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestRetryNothingToSendMasked: retry with nothing to send lists what is
// still outstanding as status does: card IDs and mobiles masked (text and
// -json), in full only with mask_personal = false.
func TestRetryNothingToSendMasked(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{Required: map[crmsync.Kind][]string{crmsync.KindMember: {"Mobile"}}})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	in := filepath.Join(dir, "2024-11-01_member.csv")
	os.WriteFile(in, []byte("ThirdPartyCardID,Mobile\n0201710000001,\n"), 0o644)
	if code, _, stderr := cli(t, sandboxEnv(srv), "run", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want 3 (the member notice rejected)\n%s", code, stderr)
	}
	for _, args := range [][]string{{"retry", "-ledger", db}, {"retry", "-json", "-ledger", db}} {
		code, stdout, stderr := cli(t, sandboxEnv(srv), args...)
		if code != crmsync.ExitNeedsPerson || args[1] == "-json" && !strings.Contains(stdout, "*********0001") {
			t.Errorf("crmsync %q: exit %d, want 3 and the rejected member listed, masked:\n%s%s", args, code, stdout, stderr)
		}
		if strings.Contains(stdout+stderr, "0201710000001") {
			t.Errorf("crmsync %q shows a card ID in full:\n%s%s", args, stdout, stderr)
		}
	}
	cfg := writeConfig(t, "mask_personal = false\n")
	if _, stdout, stderr := cli(t, sandboxEnv(srv), "retry", "-json", "-config", cfg, "-ledger", db); !strings.Contains(stdout+stderr, "0201710000001") {
		t.Errorf("retry with mask_personal = false: the card ID not in full:\n%s%s", stdout, stderr)
	}
}
