package main

import (
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestPruneMemberCommand: crmsync prune -member CARD after a run leaves no
// result holding the card in the ledger, keeps the other members', and the
// next run of the same file sends nothing again (the events stay).
func TestPruneMemberCommand(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "grade.csv")
	csv := "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n" +
		"C0001,普卡,银卡,0,2024-11-01 10:00:00,GC1\n" +
		"C0002,普卡,银卡,0,2024-11-01 10:00:00,GC2\n"
	if err := os.WriteFile(in, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ledger.db")
	vars := sandboxEnv(srv)
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-member", "C0001", "-json")
	if code != crmsync.ExitOK || !strings.Contains(stdout, `"results": 1`) {
		t.Fatalf("prune -member C0001: exit %d, %s %s; want 1 result deleted", code, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, "C0001") {
		t.Errorf("prune -member echoes the card ID:\n%s%s", stdout, stderr)
	}
	rows := func(card string) (n int) {
		d, err := sql.Open("sqlite3", "file:"+db+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		if err := d.QueryRow(`SELECT count(*) FROM results WHERE lane = ? OR vals LIKE ?`, card, "%"+card+"%").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := rows("C0001"); n != 0 {
		t.Errorf("after prune -member C0001: %d results hold the card, want 0", n)
	}
	if n := rows("C0002"); n != 1 {
		t.Errorf("after prune -member C0001: %d results of C0002, want 1 (kept)", n)
	}
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("run again: exit %d\n%s", code, stderr)
	}
	if n := len(srv.Delivered(crmsync.KindGrade)); n != 2 {
		t.Errorf("%d grade changes delivered over both runs, want 2 (none sent twice after prune -member)", n)
	}
	if code, _, _ := cli(t, nil, "prune", "-ledger", db, "-member", "C0001", "-keep", "30d"); code != crmsync.ExitUsage {
		t.Errorf("prune -member with -keep: exit %d, want 2", code)
	}
}

// TestPruneMemberKeepsPlan: prune -member between a plan and its apply
// keeps the member's rows the plan found new (an outstanding item: apply
// sends them), so apply sends every row the plan showed, not one less
// without a word; once the plan is applied they go.
func TestPruneMemberKeepsPlan(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "grade.csv")
	csv := "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n" +
		"C0001,普卡,银卡,0,2024-11-01 10:00:00,GC1\n" +
		"C0002,普卡,银卡,0,2024-11-01 10:00:00,GC2\n"
	if err := os.WriteFile(in, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ledger.db")
	vars := sandboxEnv(srv)
	if code, _, stderr := cli(t, vars, "plan", "-ledger", db, "-report", filepath.Join(dir, "p.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	if code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-member", "C0001", "-json"); code != crmsync.ExitOK || !strings.Contains(stdout, `"kept": 1`) {
		t.Fatalf("prune -member C0001 before apply: exit %d, %s %s; want 1 kept (the plan's row)", code, stdout, stderr)
	}
	if code, _, stderr := cli(t, vars, "apply", "-ledger", db, "-report", filepath.Join(dir, "a.xlsx"), "1"); code != crmsync.ExitOK {
		t.Fatalf("apply 1: exit %d\n%s", code, stderr)
	}
	if n := len(srv.Delivered(crmsync.KindGrade)); n != 2 {
		t.Errorf("apply after prune -member sent %d grade changes, want the plan's 2", n)
	}
	if code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-member", "C0001", "-json"); code != crmsync.ExitOK || !strings.Contains(stdout, `"kept": 0`) {
		t.Errorf("prune -member C0001 after apply: exit %d, %s %s; want none kept", code, stdout, stderr)
	}
}

// TestPruneMemberDecidedRow: a member's changed row a person dismissed is
// no longer outstanding, so prune -member deletes it like any other row:
// it was kept as outstanding ("resolve them, then prune again") however
// often it was resolved.
func TestPruneMemberDecidedRow(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "grade.csv")
	write := func(after string) {
		csv := "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n" +
			"C0001,普卡," + after + ",0,2024-11-01 10:00:00,GC1\n"
		if err := os.WriteFile(in, []byte(csv), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	db := filepath.Join(dir, "ledger.db")
	vars := sandboxEnv(srv)
	write("银卡")
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	write("金卡") // GC1 changed after it was delivered
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run of the changed row: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", "dismiss", "GC1"); code != crmsync.ExitOK {
		t.Fatalf("resolve -as dismiss GC1: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-member", "C0001", "-json")
	if code != crmsync.ExitOK || !strings.Contains(stdout, `"kept": 0`) || !strings.Contains(stdout, `"results": 2`) {
		t.Fatalf("prune -member C0001 after the dismissal: exit %d, %s %s; want both results deleted, none kept", code, stdout, stderr)
	}
}
