package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestChangedSaleNotResent: a sale sent at 100.00 and exported again at
// 110.00 is changed; resend under the same TransID is refused (Mallcoo
// answers a repeated TransID with 1001, which the mall's config counts as
// already delivered: the ledger would then say 110.00 was delivered while
// Mallcoo kept 100.00). Dismissing it works; nothing is sent again.
func TestChangedSaleNotResent(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	cfg := writeConfig(t, "already_delivered_codes = [1001]\n")
	in := filepath.Join(dir, "2024-11-01_score.csv")
	night := func(amount string) {
		os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n"+
			"T1,0201710000001,1,2024-11-01 10:00:00,"+amount+",S1,100\n"), 0o644)
	}
	night("100.00")
	if code, _, stderr := cli(t, sandboxEnv(srv), "run", "-config", cfg, "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	night("110.00")
	if code, _, stderr := cli(t, sandboxEnv(srv), "run", "-config", cfg, "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run of the changed sale: exit %d, want 3\n%s", code, stderr)
	}
	code, _, stderr := cli(t, nil, "resolve", "-config", cfg, "-ledger", db, "-kind", "score", "-as", "resend", "T1")
	if code != crmsync.ExitFailed || !strings.Contains(stderr, "new TransID") {
		t.Errorf("resolve -as resend of a changed sale: exit %d, want %d naming a new TransID\n%s", code, crmsync.ExitFailed, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 1 || st.Outstanding.Items[0].State != "changed" {
		t.Errorf("after the refused resend: outstanding %+v, want T1 changed", st.Outstanding)
	}
	if code, _, stderr := cli(t, sandboxEnv(srv), "retry", "-config", cfg, "-ledger", db, "-report", filepath.Join(dir, "r3.xlsx")); code != crmsync.ExitNeedsPerson {
		t.Errorf("retry: exit %d, want 3 (nothing to send, T1 outstanding)\n%s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-config", cfg, "-ledger", db, "-kind", "score", "-as", "dismiss", "T1"); code != crmsync.ExitOK {
		t.Errorf("resolve -as dismiss: exit %d\n%s", code, stderr)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1 (the first night's sale)", n)
	}
}
