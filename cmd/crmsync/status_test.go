package main

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// personalLedger makes a ledger whose backlog, held events and decisions
// hold members' card IDs and mobiles in keys, lanes, reasons and Mallcoo's
// messages, and returns its path and those values.
func personalLedger(t *testing.T) (string, []string) {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.db")
	l, err := ledger.Create(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	at := time.Date(2024, 11, 1, 2, 0, 0, 0, time.UTC)
	res := func(seq int64, kind crmsync.Kind, key, lane string, o crmsync.Outcome, body string) *crmsync.Result {
		r := &crmsync.Result{Seq: seq, Kind: kind, Key: key, Lane: lane, Time: at, Outcome: o,
			Source: crmsync.SourceRef{File: "in.csv", Row: int(seq) + 1}}
		if body != "" {
			r.Body, r.Hash = []byte(body), crmsync.ContentHash(kind, []byte(body))
		}
		return r
	}
	id, _ := l.BeginRun(ctx, "run", nil, time.Now())
	failed := res(1, crmsync.KindBonus, "R1|0201710000001", "0201710000001", crmsync.OutcomeFailed,
		`{"ThirdPartyCardID":"0201710000001","BonusAction":4,"GetBonus":5,"AfterBonus":115,"RefID":"R1","CreateTime":"2024-11-01 10:00:00"}`)
	failed.Reason = "发送失败 / not delivered: member 0201710000001 busy"
	dismissed := res(2, crmsync.KindBonus, "R2|0201710000002", "0201710000002", crmsync.OutcomeFailed,
		`{"ThirdPartyCardID":"0201710000002","BonusAction":4,"GetBonus":5,"AfterBonus":115,"RefID":"R2","CreateTime":"2024-11-01 10:00:00"}`)
	rejected := res(3, crmsync.KindMember, "13800138000|2024-11-01", "13800138000", crmsync.OutcomeRejected, `{"Mobile":"13800138000"}`)
	rejected.HasCode, rejected.Code, rejected.Message, rejected.Reason = true, 3001, "会员 13800138000 不存在", "猫酷拒绝 / rejected by Mallcoo"
	invalid := res(4, crmsync.KindMember, "", "", crmsync.OutcomeInvalid, "")
	invalid.Values, invalid.Column = []string{"0201610000343", "1380013800"}, "Mobile"
	invalid.Reason = crmsync.EncodeProblems([]crmsync.Problem{crmsync.NewProblem("Mobile", crmsync.ReasonMobile, "1380013800",
		"“1380013800” 不是有效的手机号", `"1380013800" is not an 11-digit mainland mobile number`)})
	if err := l.Record(ctx, id, []*crmsync.Result{failed, dismissed, rejected, invalid}); err != nil {
		t.Fatal(err)
	}
	s := crmsync.NewSummary(id, "run", time.Now())
	l.EndRun(ctx, s)
	// A grade change in flight when its run died: uncertain, listed as
	// waiting for a person.
	body := []byte(`{"ThirdPartyCardID":"0201710000009","BeforeCardCode":"普卡","AfterCardCode":"金卡","ChangeType":0,"ChangeTime":"2024-11-01 10:00:00"}`)
	dead, _ := l.BeginRun(ctx, "run", nil, time.Now())
	ev := &crmsync.Event{Kind: crmsync.KindGrade, Key: "0201710000009|2024-11-01 10:00:00|金卡", Lane: "0201710000009", Time: at, Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body)}
	if err := l.Claim(ctx, dead, []*crmsync.Event{ev}); err != nil {
		t.Fatal(err)
	}
	if _, err := l.BeginRun(ctx, "run", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Resolve(ctx, crmsync.KindBonus, []string{"R2|0201710000002"}, ledger.DecideDismiss, "ops", "卡 0201710000002 已注销"); err != nil {
		t.Fatal(err)
	}
	return db, []string{"0201710000001", "0201710000002", "0201710000009", "13800138000", "1380013800"}
}

// TestStatusMasksPersonalData: status (text and -json) shows card IDs and
// mobiles masked as the report does — in keys, lanes, reasons, Mallcoo's
// messages, problems and decisions — unless mask_personal = false.
func TestStatusMasksPersonalData(t *testing.T) {
	db, personal := personalLedger(t)
	for _, args := range [][]string{{"status", "-ledger", db}, {"status", "-json", "-ledger", db}} {
		code, stdout, stderr := cli(t, nil, args...)
		if code != crmsync.ExitOK {
			t.Fatalf("%s: exit %d\n%s", args, code, stderr)
		}
		for _, p := range personal {
			if strings.Contains(stdout, p) {
				t.Errorf("%s shows %s in full:\n%s", args, p, stdout)
			}
		}
		for _, want := range []string{"*********0001", "138****8000", "*********0009", "*********0002"} {
			if !strings.Contains(stdout, want) {
				t.Errorf("%s shows no %s:\n%s", args, want, stdout)
			}
		}
	}
	// The held events must be looked up in Mallcoo: status says how to
	// see their members in full.
	if _, text, _ := cli(t, nil, "status", "-ledger", db); !strings.Contains(text, "mask_personal = false") {
		t.Errorf("status lists held events masked without saying how to see their members in full:\n%s", text)
	}
	// The recovery works on what status shows: resolve takes a masked key
	// of the list for the one outstanding key it stands for, and shows
	// it masked.
	code, stdout, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "bonus", "-as", "resend", "R1|*********0001")
	if code != crmsync.ExitOK || strings.Contains(stdout+stderr, "0201710000001") || !strings.Contains(stderr, "R1|*********0001") {
		t.Errorf("resolve of the masked key: exit %d\n%s%s", code, stdout, stderr)
	}
	cfg := filepath.Join(t.TempDir(), "crmsync.toml")
	if err := os.WriteFile(cfg, []byte("mask_personal = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"status", "-ledger", db, "-config", cfg}, {"status", "-json", "-ledger", db, "-config", cfg}} {
		_, stdout, _ := cli(t, nil, args...)
		for _, p := range personal {
			if !strings.Contains(stdout, p) {
				t.Errorf("%s with mask_personal = false: no %s in full:\n%s", args, p, stdout)
			}
		}
	}
}

// storedBodyLedger makes a ledger holding score T1 failed with a body an
// older crmsync stored (money with three decimals, which today's rules
// refuse), and returns its path.
func storedBodyLedger(t *testing.T, dir string) string {
	t.Helper()
	ctx := context.Background()
	db := filepath.Join(dir, "l.db")
	l, err := ledger.Create(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	body := []byte(`{"TransID":"T1","ThirdPartyCardID":"0201710000001","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":12.345,"CrmShopID":"S1","Score":12}`)
	id, _ := l.BeginRun(ctx, "run", nil, time.Now())
	r := &crmsync.Result{Seq: 1, Kind: crmsync.KindScore, Key: "T1", Lane: "0201710000001", Time: time.Date(2024, 11, 1, 2, 0, 0, 0, time.UTC),
		Body: body, Hash: crmsync.ContentHash(crmsync.KindScore, body), Outcome: crmsync.OutcomeFailed,
		Source: crmsync.SourceRef{File: "old.csv", Row: 2}, Reason: "发送失败 / not delivered: HTTP 503"}
	if err := l.Record(ctx, id, []*crmsync.Result{r}); err != nil {
		t.Fatal(err)
	}
	l.EndRun(ctx, crmsync.NewSummary(id, "run", time.Now()))
	return db
}

// TestStatusStoredBodyOnce: an event whose stored body retry refused
// (stored-body) is listed once in status, as invalid with the refusal and
// what to do (fix the row and run it, or resolve -as dismiss); not also as
// failed with its old reason, nor counted among the events "crmsync retry
// resends". resolve -as resend, which would be refused again, is refused;
// resolve -as dismiss empties the backlog.
func TestStatusStoredBodyOnce(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := storedBodyLedger(t, dir)
	if code, _, stderr := cli(t, sandboxEnv(srv), "retry", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx")); code != crmsync.ExitNeedsPerson {
		t.Fatalf("retry: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Fatalf("retry posted %d requests, want none (the stored body is refused)", n)
	}
	st := readStatus(t, db)
	if st.Outstanding.Total != 1 || len(st.Outstanding.Items) != 1 || st.Outstanding.ByState["failed"] != 0 {
		t.Fatalf("status -json outstanding: total %d, by state %v, items %+v; want T1 once, as invalid",
			st.Outstanding.Total, st.Outstanding.ByState, st.Outstanding.Items)
	}
	it := st.Outstanding.Items[0]
	if it.Key != "T1" || it.State != "invalid" || len(it.Problems) != 1 || it.Problems[0].Code != crmsync.ReasonStoredBody {
		t.Errorf("status -json item %+v; want T1 invalid with one %s problem", it, crmsync.ReasonStoredBody)
	}
	code, text, stderr := cli(t, nil, "status", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	if strings.Contains(text, "个事件发送失败") || strings.Contains(text, "HTTP 503") {
		t.Errorf("status says retry resends the refused event, or shows its old reason:\n%s", text)
	}
	if !strings.Contains(text, "resolve -as dismiss") {
		t.Errorf("status does not say what to do with the refused event (fix the row and run it, or resolve -as dismiss):\n%s", text)
	}
	// Resent, it would be refused again: resolve -as resend says so.
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "score", "-as", "resend", "T1"); code != crmsync.ExitUsage || !strings.Contains(stderr, "stored-body") {
		t.Errorf("resolve -as resend of the refused event: exit %d, want %d naming stored-body\n%s", code, crmsync.ExitUsage, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 1 || st.Outstanding.Items[0].State != "invalid" {
		t.Errorf("after resolve -as resend was refused: outstanding %+v, want T1 still invalid", st.Outstanding)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "score", "-as", "dismiss", "T1"); code != crmsync.ExitOK {
		t.Fatalf("resolve -as dismiss T1: exit %d\n%s", code, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 0 {
		t.Errorf("after resolve -as dismiss: outstanding %+v, want none", st.Outstanding)
	}
}

// TestRunErrorMasked: a run stopped by trouble met on one event (its claim
// could not be written: here a trigger refuses it, as a full disk would)
// names the event's key with its card ID masked, as the rest of what
// crmsync shows, in stderr and in the run's reason that status shows;
// with mask_personal = false in full.
func TestRunErrorMasked(t *testing.T) {
	const card = "0201710000001"
	for _, show := range []bool{false, true} {
		srv := mallcootest.NewServer(mallcootest.Options{})
		defer srv.Close()
		dir := t.TempDir()
		db := filepath.Join(dir, "l.db")
		if code, _, stderr := cli(t, nil, "init", "-ledger", db); code != crmsync.ExitOK {
			t.Fatalf("init: exit %d\n%s", code, stderr)
		}
		raw, err := sql.Open("sqlite3", db)
		if err != nil {
			t.Fatal(err)
		}
		for _, op := range []string{"INSERT", "UPDATE"} {
			if _, err := raw.Exec(`CREATE TRIGGER refuse_` + op + ` BEFORE ` + op + ` ON events WHEN NEW.key LIKE 'R1|%' BEGIN SELECT RAISE(ABORT, 'disk full'); END`); err != nil {
				t.Fatal(err)
			}
		}
		raw.Close()
		in := filepath.Join(dir, "bonus.csv")
		os.WriteFile(in, []byte("ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime\n"+card+",4,5,115,R1,2024-11-01 10:00:00\n"), 0o644)
		args := []string{"run", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx")}
		if show {
			cfg := filepath.Join(dir, "crmsync.toml")
			os.WriteFile(cfg, []byte("mask_personal = false\n"), 0o600)
			args = append(args, "-config", cfg)
		}
		code, _, stderr := cli(t, sandboxEnv(srv), append(args, in)...)
		if code != crmsync.ExitFailed || !strings.Contains(stderr, "claim bonus R1|") {
			t.Fatalf("run whose claim fails (mask_personal = %v): exit %d, want %d and the claim named\n%s", !show, code, crmsync.ExitFailed, stderr)
		}
		st := readStatus(t, db)
		if len(st.Runs) == 0 || !strings.Contains(st.Runs[0].Reason, "claim bonus R1|") {
			t.Fatalf("runs %+v: want the run failed with the claim as its reason", st.Runs)
		}
		if got := strings.Contains(stderr, card) || strings.Contains(st.Runs[0].Reason, card); got != show {
			t.Errorf("mask_personal = %v: card ID %s in stderr or the run's reason: %v, want %v\nstderr: %s\nreason: %s",
				!show, card, got, show, stderr, st.Runs[0].Reason)
		}
	}
}

// TestResolveMaskedKeyAmbiguous: status shows two outstanding bonus keys
// alike — R1|0201710000001 masked, and R1|*********0001 itself (a CRM
// that exported the card ID masked) — so resolve of what status shows
// stands for both: it is refused (exit 2) and neither is settled, not the
// one whose key is that text taken silently. Named in full, each is
// settled alone; a masked key of another kind is not taken for it.
func TestResolveMaskedKeyAmbiguous(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.db")
	l, err := ledger.Create(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 11, 1, 2, 0, 0, 0, time.UTC)
	id, _ := l.BeginRun(ctx, "run", nil, time.Now())
	var rs []*crmsync.Result
	for i, card := range []string{"0201710000001", "*********0001"} {
		body := []byte(`{"ThirdPartyCardID":"` + card + `","BonusAction":4,"GetBonus":5,"AfterBonus":115,"RefID":"R1","CreateTime":"2024-11-01 10:00:00"}`)
		rs = append(rs, &crmsync.Result{Seq: int64(i + 1), Kind: crmsync.KindBonus, Key: "R1|" + card, Lane: card, Time: at,
			Body: body, Hash: crmsync.ContentHash(crmsync.KindBonus, body), Outcome: crmsync.OutcomeFailed,
			Source: crmsync.SourceRef{File: "in.csv", Row: i + 2}})
	}
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatal(err)
	}
	l.EndRun(ctx, crmsync.NewSummary(id, "run", time.Now()))
	unlock()
	l.Close()

	st := readStatus(t, db)
	shown := map[string]int{}
	for _, it := range st.Outstanding.Items {
		shown[it.Key]++
	}
	if shown["R1|*********0001"] != 2 {
		t.Fatalf("status shows keys %v; want R1|*********0001 twice", shown)
	}
	code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "bonus", "-as", "delivered", "R1|*********0001")
	if code != crmsync.ExitUsage {
		t.Errorf("resolve of a key status shows for two: exit %d, want %d\n%s", code, crmsync.ExitUsage, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 2 {
		t.Fatalf("after the refused resolve: %d outstanding, want both still", st.Outstanding.Total)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", "delivered", "R1|*********0001"); code == crmsync.ExitOK {
		t.Errorf("resolve -kind grade of a bonus key: exit 0, want refused\n%s", stderr)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "bonus", "-as", "delivered", "R1|0201710000001"); code != crmsync.ExitOK {
		t.Fatalf("resolve of the full key: exit %d\n%s", code, stderr)
	}
	st = readStatus(t, db)
	if st.Outstanding.Total != 1 {
		t.Fatalf("after resolving R1|0201710000001: %d outstanding, want 1", st.Outstanding.Total)
	}
	// Now the masked text stands for one key only: its own.
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "bonus", "-as", "dismiss", "R1|*********0001"); code != crmsync.ExitOK {
		t.Fatalf("resolve of R1|*********0001, the one key it now stands for: exit %d\n%s", code, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 0 {
		t.Errorf("after both resolved: %d outstanding, want none", st.Outstanding.Total)
	}
}

// TestResolveMaskedKeyTwoMembers: two members whose card IDs end alike
// upgraded at the same time to the same grade (a nightly batch): their
// keys are shown alike masked, so resolve of the masked key is refused for
// -as delivered and -as resend alike and neither is settled; the keys in
// full settle each one.
func TestResolveMaskedKeyTwoMembers(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.db")
	l, err := ledger.Create(ctx, db, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 10, 31, 16, 0, 0, 0, time.UTC)
	id, _ := l.BeginRun(ctx, "run", nil, time.Now())
	cards := []string{"0201710000001", "0201720000001"}
	var rs []*crmsync.Result
	for i, card := range cards {
		body := []byte(`{"ThirdPartyCardID":"` + card + `","BeforeCardCode":"普卡","AfterCardCode":"金卡","ChangeType":0,"ChangeTime":"2024-11-01 00:00:00"}`)
		rs = append(rs, &crmsync.Result{Seq: int64(i + 1), Kind: crmsync.KindGrade, Key: card + "|2024-11-01 00:00:00|金卡", Lane: card, Time: at,
			Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body), Outcome: crmsync.OutcomeFailed,
			Source: crmsync.SourceRef{File: "grade.csv", Row: i + 2}})
	}
	if err := l.Record(ctx, id, rs); err != nil {
		t.Fatal(err)
	}
	l.EndRun(ctx, crmsync.NewSummary(id, "run", time.Now()))
	unlock()
	l.Close()

	masked := "*********0001|2024-11-01 00:00:00|金卡"
	for _, as := range []string{"delivered", "resend"} {
		code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", as, masked)
		if code != crmsync.ExitUsage || !strings.Contains(stderr, "stands for 2 outstanding keys") {
			t.Errorf("resolve -as %s of a masked key of two members: exit %d, want %d naming 2 keys\n%s", as, code, crmsync.ExitUsage, stderr)
		}
	}
	if st := readStatus(t, db); st.Outstanding.Total != 2 {
		t.Fatalf("after the refused resolves: %d outstanding, want both", st.Outstanding.Total)
	}
	for i, card := range cards {
		if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", "delivered", card+"|2024-11-01 00:00:00|金卡"); code != crmsync.ExitOK {
			t.Fatalf("resolve of %s in full: exit %d\n%s", card, code, stderr)
		}
		if st := readStatus(t, db); st.Outstanding.Total != 1-i {
			t.Errorf("after resolving %d in full: %d outstanding, want %d", i+1, st.Outstanding.Total, 1-i)
		}
	}
}
