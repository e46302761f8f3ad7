package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/xuri/excelize/v2"
)

// statusJSON is what the backlog tests read of status -json.
type statusJSON struct {
	Runs []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"runs"`
	Outstanding struct {
		Total   int            `json:"total"`
		ByState map[string]int `json:"by_state"`
		Items   []struct {
			Kind     crmsync.Kind      `json:"kind"`
			Key      string            `json:"key"`
			State    string            `json:"state"`
			Reason   string            `json:"reason"`
			Since    time.Time         `json:"since"`
			Problems []crmsync.Problem `json:"problems"`
		} `json:"items"`
	} `json:"outstanding"`
}

func readStatus(t *testing.T, db string) statusJSON {
	t.Helper()
	code, stdout, stderr := cli(t, nil, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st statusJSON
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -json: %v\n%s", err, stdout)
	}
	return st
}

// TestStatusOutstanding: status lists an invalid row as outstanding (text
// and -json), with its reason, after the run that read it.
func TestStatusOutstanding(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	f := filepath.Join(dir, "score.csv")
	os.WriteFile(f, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"+
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"+
		"T2,C2,1,2024-11-01 10:00:00,-5.00,S1,-5,,\n"), 0o644)
	if code, _, stderr := cli(t, nil, "run", "-sandbox", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), f); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want 3\n%s", code, stderr)
	}
	st := readStatus(t, db)
	o := st.Outstanding
	if o.Total != 1 || o.ByState["invalid"] != 1 || len(o.Items) != 1 {
		t.Fatalf("outstanding %+v, want the one invalid row", o)
	}
	it := o.Items[0]
	if it.Kind != crmsync.KindScore || it.Key != f+":3" || it.State != "invalid" || !strings.Contains(it.Reason, "Score") || it.Since.IsZero() {
		t.Errorf("outstanding item %+v, want score %s:3 invalid, its reason naming Score, and a time", it, f)
	}
	// The reason is for a person (the rule broken, after the column's
	// name), its data for programs: never the encoding the ledger keeps.
	if len(it.Problems) != 1 || it.Problems[0].Code != "rule" || it.Problems[0].Column != "Score" || strings.Contains(it.Reason, "crmsync-problems") {
		t.Errorf("outstanding item reason %q problems %+v, want a readable reason and the problem with code rule on Score", it.Reason, it.Problems)
	}
	_, text, _ := cli(t, nil, "status", "-ledger", db)
	if !strings.Contains(text, "待处理:1") || !strings.Contains(text, f+":3") || !strings.Contains(text, "积分值(Score): ") || strings.Contains(text, "crmsync-problems") {
		t.Errorf("status text does not list the outstanding row with its reason as a person reads it:\n%s", text)
	}
}

// TestInterruptScoreRunExact sends SIGINT to the real binary during a
// 5,000-row score run: afterwards at most -concurrency events may be
// uncertain (those whose request may really have left), the events claimed
// with their batch but never sent are released, and status says the run was
// interrupted, with why. The next run sends the rest, each event once.
// Score events are claimed in batches when Mallcoo refuses a repeated
// TransID (score_resend_uncertain), as here.
func TestInterruptScoreRunExact(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and signals the real binary")
	}
	bin := buildBinary(t)
	srv := mallcootest.NewServer(mallcootest.Options{Latency: 10 * time.Millisecond})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	writeCrashInput(t, in, 1250, 0)
	os.Remove(filepath.Join(in, "grade.csv"))
	db := filepath.Join(dir, "ledger.db")
	mustCreateLedger(t, db)
	const concurrency = 4
	conf := filepath.Join(dir, "crmsync.toml")
	os.WriteFile(conf, []byte("score_resend_uncertain = true\n"), 0o600)
	cmd := exec.Command(bin, "run", "-json", "-config", conf, "-concurrency", fmt.Sprint(concurrency), "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in)
	cmd.Env = processEnv(srv)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); len(srv.Requests()) < 100 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	if code := cmd.ProcessState.ExitCode(); code != crmsync.ExitInterrupted {
		t.Fatalf("interrupted run: exit %d, want %d", code, crmsync.ExitInterrupted)
	}
	st := readStatus(t, db)
	if len(st.Runs) == 0 || st.Runs[0].Status != "interrupted" || st.Runs[0].Reason == "" {
		t.Errorf("status of the interrupted run: %+v, want interrupted with a reason", st.Runs)
	}
	if n := st.Outstanding.ByState["inflight"] + st.Outstanding.ByState["uncertain"]; n > concurrency {
		t.Errorf("after SIGINT %d events in flight or uncertain (%v), want at most -concurrency %d", n, st.Outstanding.ByState, concurrency)
	}
	sentBefore := len(srv.Delivered(crmsync.KindScore))
	if sentBefore >= 5000 {
		t.Fatalf("the interrupt did not stop sending (%d delivered)", sentBefore)
	}

	cmd = exec.Command(bin, "run", "-json", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in)
	cmd.Env = processEnv(srv)
	out, _ := cmd.Output()
	s := decodeSummary(t, string(out))
	if s.Counts[crmsync.OutcomeUncertain] > concurrency {
		t.Errorf("run after the interrupt: %d uncertain, want at most %d", s.Counts[crmsync.OutcomeUncertain], concurrency)
	}
	seen := map[string]int{}
	for _, r := range srv.Delivered(crmsync.KindScore) {
		var b struct{ TransID string }
		json.Unmarshal(r.Body, &b)
		seen[b.TransID]++
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
	}
	if len(seen)+s.Counts[crmsync.OutcomeUncertain] != 5000 {
		t.Errorf("%d events delivered and %d uncertain over both runs, want 5000 in all", len(seen), s.Counts[crmsync.OutcomeUncertain])
	}
}

// TestRunEndsFailed: a run stopped by refused credentials (exit 1) is
// listed as failed, with the reason, and the next (good) one as done.
func TestRunEndsFailed(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	lines := "ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n"
	for i := 0; i < 30; i++ {
		lines += fmt.Sprintf("C%04d,普卡,银卡,0,2024-11-01 10:00:00,GC%04d\n", i, i)
	}
	in := filepath.Join(dir, "grade.csv")
	os.WriteFile(in, []byte(lines), 0o644)
	db := filepath.Join(dir, "l.db")
	vars := sandboxEnv(srv)
	vars["MALLCOO_PRIVATE_KEY"] = "0123456789abcdef" // not the sandbox's
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in); code != crmsync.ExitFailed {
		t.Fatalf("run with a wrong key: exit %d, want 1\n%s", code, stderr)
	}
	vars["MALLCOO_PRIVATE_KEY"] = mallcootest.Sandbox.PrivateKey
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("run with the key fixed: exit %d, want 0\n%s", code, stderr)
	}
	st := readStatus(t, db)
	if len(st.Runs) != 2 || st.Runs[0].Status != "done" || st.Runs[0].Reason != "" ||
		st.Runs[1].Status != "failed" || !strings.Contains(st.Runs[1].Reason, "MALLCOO_PRIVATE_KEY") {
		t.Errorf("runs %+v, want the first failed with the refusal as its reason, the second done", st.Runs)
	}
	_, text, _ := cli(t, nil, "status", "-ledger", db)
	if !strings.Contains(text, "failed") || !strings.Contains(text, "猫酷拒绝了凭据") { // status's language, Chinese
		t.Errorf("status text does not say the first run failed and why:\n%s", text)
	}
}

// TestRetryNothingToSend: a grade change blocked behind one held as
// uncertain cannot go: retry says what is held and why, records no run and
// writes no report.
func TestRetryNothingToSend(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	l, unlock, id := begunRun(t, db)
	ev := func(key string, at time.Time) *crmsync.Event {
		body := []byte(`{"k":"` + key + `"}`)
		return &crmsync.Event{Kind: crmsync.KindGrade, Key: key, Lane: "C1", Time: at, Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body)}
	}
	g1, g2 := ev("GC1", time.Now().Add(-time.Hour)), ev("GC2", time.Now())
	if err := l.Claim(ctx, id, []*crmsync.Event{g1}); err != nil {
		t.Fatal(err)
	}
	err := l.Record(ctx, id, []*crmsync.Result{{Seq: 1, Kind: g2.Kind, Key: g2.Key, Lane: g2.Lane, Time: g2.Time, Body: g2.Body, Hash: g2.Hash,
		Outcome: crmsync.OutcomeBlocked, Reason: "behind GC1"}})
	if err != nil {
		t.Fatal(err)
	}
	unlock()
	l.Close() // the run dies with GC1 in flight

	rep := filepath.Join(dir, "retry.xlsx")
	code, _, stderr := cli(t, nil, "retry", "-sandbox", "-ledger", db, "-report", rep)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("retry: exit %d, want 3 (GC1 needs a person)\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "没有可发送的事件") || !strings.Contains(stderr, "GC2") || !strings.Contains(stderr, "GC1") {
		t.Errorf("retry does not say GC2 is held behind GC1:\n%s", stderr)
	}
	if _, err := os.Stat(rep); err == nil {
		t.Errorf("retry with nothing to send wrote a report")
	}
	if st := readStatus(t, db); len(st.Runs) != 1 {
		t.Errorf("retry with nothing to send recorded a run: %+v", st.Runs)
	}
}

// TestResolve: a decision on held events is recorded with who, when and
// why and shown by status; a key not held is an error naming it, and then
// nothing changes; a dismissed event unblocks its lane.
func TestResolve(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	l, unlock, id := begunRun(t, db)
	ev := func(key string, at time.Time) *crmsync.Event {
		body := []byte(`{"k":"` + key + `"}`)
		return &crmsync.Event{Kind: crmsync.KindGrade, Key: key, Lane: "C1", Time: at, Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body)}
	}
	if err := l.Claim(ctx, id, []*crmsync.Event{ev("GC1", time.Now().Add(-time.Hour)), ev("GC3", time.Now())}); err != nil {
		t.Fatal(err)
	}
	unlock()
	l.Close() // died with GC1 and GC3 in flight

	code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", "delivered", "GC1", "NOPE")
	if code != crmsync.ExitFailed || !strings.Contains(stderr, "NOPE") || strings.Contains(stderr, "GC1,") {
		t.Errorf("resolve of a key not held: exit %d, want 1 naming NOPE (only)\n%s", code, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.ByState["inflight"] != 2 {
		t.Errorf("after a refused resolve: %v, want both still in flight (the run that claimed them died)", st.Outstanding.ByState)
	}
	code, _, stderr = cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", "delivered", "-reason", "seen in Mallcoo", "GC1")
	if code != crmsync.ExitOK {
		t.Fatalf("resolve: exit %d\n%s", code, stderr)
	}
	code, _, stderr = cli(t, nil, "resolve", "-ledger", db, "-kind", "grade", "-as", "dismiss", "GC3")
	if code != crmsync.ExitOK {
		t.Fatalf("resolve: exit %d\n%s", code, stderr)
	}
	code, stdout, _ := cli(t, nil, "status", "-json", "-ledger", db)
	var st struct {
		Outstanding struct{ Total int } `json:"outstanding"`
		Decisions   []ledger.Decision   `json:"decisions"`
	}
	json.Unmarshal([]byte(stdout), &st)
	if code != 0 || st.Outstanding.Total != 0 || len(st.Decisions) != 2 {
		t.Fatalf("status after resolve: %s", stdout)
	}
	d := st.Decisions[1]
	if d.Key != "GC1" || d.Decision != "delivered" || d.State != "uncertain" || d.User == "" || d.At.IsZero() || d.Reason != "seen in Mallcoo" {
		t.Errorf("decision %+v, want GC1 uncertain → delivered with who, when and why", d)
	}
	if _, text, _ := cli(t, nil, "status", "-ledger", db); !strings.Contains(text, "seen in Mallcoo") {
		t.Errorf("status text does not show the decision:\n%s", text)
	}
}

// TestPruneCommand: crmsync prune -keep drops an old run's per-row
// results; report of that run then says they were pruned.
func TestPruneCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	l, err := ledger.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	unlock, _ := l.Lock("test")
	long := time.Now().Add(-40 * 24 * time.Hour)
	id, _ := l.BeginRun(ctx, "run", nil, long)
	body := []byte(`{"T":1}`)
	l.Record(ctx, id, []*crmsync.Result{{Seq: 1, Kind: crmsync.KindScore, Key: "T1", Outcome: crmsync.OutcomeSent, Body: body, Hash: crmsync.ContentHash(crmsync.KindScore, body)}})
	s := crmsync.NewSummary(id, "run", long)
	s.Ended = long
	l.EndRun(ctx, s)
	unlock()
	l.Close()

	if code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-keep", "60d", "-json"); code != 0 || !strings.Contains(stdout, `"runs": 0`) {
		t.Errorf("prune -keep 60d: exit %d, %s %s; want nothing pruned", code, stdout, stderr)
	}
	if code, stdout, stderr := cli(t, nil, "prune", "-ledger", db, "-keep", "30d", "-json"); code != 0 || !strings.Contains(stdout, `"results": 1`) {
		t.Errorf("prune -keep 30d: exit %d, %s %s; want the run's result pruned", code, stdout, stderr)
	}
	code, _, stderr := cli(t, nil, "report", "-ledger", db, "-report", filepath.Join(dir, "again.xlsx"), fmt.Sprint(id))
	if code != crmsync.ExitFailed || !strings.Contains(stderr, "pruned") {
		t.Errorf("report of a pruned run: exit %d, want 1 saying it was pruned\n%s", code, stderr)
	}
	if code, _, _ := cli(t, nil, "prune", "-ledger", db, "-keep", "soon"); code != crmsync.ExitUsage {
		t.Errorf("prune -keep soon: exit %d, want 2", code)
	}
}

// TestApplyPlan: apply sends exactly the rows a plan found new, reading no
// file; a row another run delivered in between is skipped and reported.
func TestApplyPlan(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	const header = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"
	plan := filepath.Join(dir, "plan.csv")
	os.WriteFile(plan, []byte(header+"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\nT2,C2,1,2024-11-01 10:00:00,20.00,S1,20,,\nT3,C3,1,2024-11-01 10:00:00,30.00,S1,30,,\n"), 0o644)
	vars := sandboxEnv(srv)
	code, stdout, stderr := cli(t, vars, "plan", "-json", "-ledger", db, "-report", filepath.Join(dir, "p.xlsx"), plan)
	if code != crmsync.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	planID := decodeSummary(t, stdout).RunID
	os.Remove(plan) // apply reads no file
	other := filepath.Join(dir, "other.csv")
	os.WriteFile(other, []byte(header+"T2,C2,1,2024-11-01 10:00:00,20.00,S1,20,,\n"), 0o644)
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "o.xlsx"), other); code != crmsync.ExitOK {
		t.Fatalf("run of T2: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr = cli(t, vars, "apply", "-json", "-ledger", db, "-report", filepath.Join(dir, "a.xlsx"), fmt.Sprint(planID))
	if code != crmsync.ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeSent] != 2 || s.Counts[crmsync.OutcomeSkipped] != 1 || s.Rows != 3 {
		t.Errorf("apply: counts %v, want T1 and T3 sent, T2 skipped", s.Counts)
	}
	got := map[string]int{}
	for _, r := range srv.Delivered(crmsync.KindScore) {
		var b struct{ TransID string }
		json.Unmarshal(r.Body, &b)
		got[b.TransID]++
	}
	if len(got) != 3 || got["T1"] != 1 || got["T2"] != 1 || got["T3"] != 1 {
		t.Errorf("delivered %v, want T1, T2, T3 once each", got)
	}
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Results(context.Background(), s.RunID, "", func(r *crmsync.Result) error {
		if r.Key == "T2" && (r.Outcome != crmsync.OutcomeSkipped || r.ReasonCode() != crmsync.ReasonPlanStale || !strings.Contains(r.Problems()[0].Text("en"), "since plan run 1 (now sent)")) {
			t.Errorf("T2 in the apply run: %s %q, want skipped saying its state changed since the plan", r.Outcome, r.Reason)
		}
		return nil
	})
	if code, _, _ := cli(t, vars, "apply", "-ledger", db, fmt.Sprint(s.RunID)); code != crmsync.ExitUsage {
		t.Errorf("apply of a run that is not a plan: exit %d, want 2", code)
	}
}

// TestFixedRowSettles: a row fixed through the problems workbook and
// delivered settles its mistake: nothing is outstanding, and running the
// original file again counts the bad row as fixed (unchanged), not
// invalid: the run exits 0.
func TestFixedRowSettles(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	vars := sandboxEnv(srv)
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	orig := filepath.Join(dir, "score.csv")
	os.WriteFile(orig, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"+
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"+
		"T2,C2,1,2024-11-01 10:00:00,12.3.4,S1,12,,\n"), 0o644)
	code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), orig)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("first run: exit %d, want 3\n%s", code, stderr)
	}
	first := decodeSummary(t, stdout)
	f, err := excelize.OpenFile(first.Problems)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("score")
	col := slices.Index(rows[0], "消费金额")
	if len(rows) != 2 || col < 0 {
		t.Fatalf("problems workbook: %q, want the header and T2", rows)
	}
	cell, _ := excelize.CoordinatesToCellName(col+1, 2)
	f.SetCellStr("score", cell, "12.30")
	fixed := filepath.Join(dir, "fixed.xlsx")
	if err := f.SaveAs(fixed); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), fixed); code != crmsync.ExitOK {
		t.Fatalf("run of the fixed workbook: exit %d, want 0\n%s", code, stderr)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 0 {
		t.Errorf("outstanding after the fix was delivered: %+v, want none", st.Outstanding)
	}
	code, stdout, stderr = cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r3.xlsx"), orig)
	if code != crmsync.ExitOK {
		t.Fatalf("run of the original file again: exit %d, want 0 (the bad row is fixed)\n%s", code, stderr)
	}
	if s := decodeSummary(t, stdout); s.Counts[crmsync.OutcomeUnchanged] != 2 || s.Counts[crmsync.OutcomeInvalid] != 0 {
		t.Errorf("run of the original file again: %v, want 2 unchanged (T2 as fixed), none invalid", s.Counts)
	}
	if st := readStatus(t, db); st.Outstanding.Total != 0 {
		t.Errorf("outstanding after the original file ran again: %+v, want none", st.Outstanding)
	}
	if n := len(srv.Delivered(crmsync.KindScore)); n != 2 {
		t.Errorf("%d score events delivered, want 2 (T1, fixed T2)", n)
	}
}

// TestOutstandingSinceStays: an outstanding item's since is the age of the
// problem: a later run that meets the same rejected event and invalid row
// again (and records them again) keeps it.
func TestOutstandingSinceStays(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	srv.RejectIf(func(kind crmsync.Kind, body []byte) (int, string, bool) {
		return 3001, "会员不存在", strings.Contains(string(body), `"TransID":"T1"`)
	})
	vars := sandboxEnv(srv)
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	f := filepath.Join(dir, "score.csv")
	os.WriteFile(f, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"+
		"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"+
		"T2,C2,1,2024-11-01 10:00:00,12.3.4,S1,12,,\n"), 0o644)
	since := func(run int) map[string]time.Time {
		t.Helper()
		if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("r%d.xlsx", run)), f); code != crmsync.ExitNeedsPerson {
			t.Fatalf("run %d: exit %d, want 3\n%s", run, code, stderr)
		}
		o := readStatus(t, db).Outstanding
		if o.Total != 2 || o.ByState["rejected"] != 1 || o.ByState["invalid"] != 1 {
			t.Fatalf("outstanding after run %d: %+v, want T1 rejected and the invalid row", run, o)
		}
		m := map[string]time.Time{}
		for _, it := range o.Items {
			m[it.State] = it.Since
		}
		return m
	}
	first := since(1)
	second := since(2)
	for _, state := range []string{"rejected", "invalid"} {
		if !second[state].Equal(first[state]) || first[state].IsZero() {
			t.Errorf("since of the %s item after run 2 = %v, want %v (run 1's, when it became outstanding)", state, second[state], first[state])
		}
	}
}

// TestDismissedRowsStayDecided: changed and invalid rows a person dismissed
// are not outstanding again when the same file is read again (they are
// skipped, the reason naming the decision), and status lists the decisions
// with who, when and why; the same rows with other content are outstanding
// again.
func TestDismissedRowsStayDecided(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	vars := sandboxEnv(srv)
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	const header = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\n"
	write := func(name, t1, t3 string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(header+"T1,C1,1,2024-11-01 10:00:00,"+t1+",S1,100,,\n"+"T3,C2,1,2024-11-01 10:00:00,"+t3+",S1,12,,\n"), 0o644)
		return p
	}
	run := func(n int, f string, want int) jsonSummary {
		t.Helper()
		code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("r%d.xlsx", n)), f)
		if code != want {
			t.Fatalf("run %d: exit %d, want %d\n%s", n, code, want, stderr)
		}
		return decodeSummary(t, stdout)
	}
	day1 := filepath.Join(dir, "day1.csv")
	os.WriteFile(day1, []byte(header+"T1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"), 0o644)
	run(1, day1, crmsync.ExitOK)
	f := write("day2.csv", "101.00", "12.3.4") // T1 changed, T3 invalid
	run(2, f, crmsync.ExitNeedsPerson)
	if o := readStatus(t, db).Outstanding; o.Total != 2 || o.ByState["changed"] != 1 || o.ByState["invalid"] != 1 {
		t.Fatalf("outstanding after run 2: %+v, want T1 changed and row 3 invalid", o)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "score", "-as", "dismiss", "-reason", "CRM typo, keep what Mallcoo has", "T1", f+":3"); code != crmsync.ExitOK {
		t.Fatalf("resolve -as dismiss: exit %d\n%s", code, stderr)
	}
	s := run(3, f, crmsync.ExitOK)
	if s.Counts[crmsync.OutcomeSkipped] != 2 || s.Counts[crmsync.OutcomeChanged] != 0 || s.Counts[crmsync.OutcomeInvalid] != 0 {
		t.Errorf("run 3 of the same file: %v, want both rows skipped as dismissed", s.Counts)
	}
	code, stdout, stderr := cli(t, nil, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st struct {
		Outstanding struct {
			Total int `json:"total"`
		} `json:"outstanding"`
		Decisions []struct {
			Key      string    `json:"key"`
			State    string    `json:"state"`
			Decision string    `json:"decision"`
			User     string    `json:"user"`
			At       time.Time `json:"at"`
			Reason   string    `json:"reason"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatal(err)
	}
	if st.Outstanding.Total != 0 {
		t.Errorf("outstanding after the dismissed rows were read again: %d, want 0", st.Outstanding.Total)
	}
	decided := map[string]string{}
	for _, d := range st.Decisions {
		if d.Decision == "dismiss" && d.User != "" && !d.At.IsZero() && d.Reason == "CRM typo, keep what Mallcoo has" {
			decided[d.Key] = d.State
		}
	}
	if decided["T1"] != "changed" || decided[f+":3"] != "invalid" {
		t.Errorf("status decisions %+v, want T1 (changed) and %s:3 (invalid) dismissed, with user, time and reason", st.Decisions, f)
	}
	// The report shows the decision on the rows.
	rep, err := excelize.OpenFile(filepath.Join(dir, "r3.xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := rep.GetRows("score")
	rep.Close()
	shown := 0
	for _, r := range rows {
		if strings.Contains(strings.Join(r, "|"), " 决定 dismiss: ") && strings.Contains(strings.Join(r, "|"), "CRM typo") {
			shown++
		}
	}
	if shown != 2 {
		t.Errorf("report of run 3: %d rows name the decision, want 2:\n%q", shown, rows)
	}

	// Other content: a person has not decided on it.
	run(4, write("day2.csv", "102.00", "12.3.5"), crmsync.ExitNeedsPerson)
	if o := readStatus(t, db).Outstanding; o.Total != 2 || o.ByState["changed"] != 1 || o.ByState["invalid"] != 1 {
		t.Errorf("outstanding after the rows changed again: %+v, want T1 changed and row 3 invalid", o)
	}
}

// TestApplyPlanOnce: a plan applied to its end says so (status's run list,
// text and -json; the plan's report written again), and applying it again
// is refused (exit 2, naming the apply run) and sends nothing.
func TestApplyPlanOnce(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	vars := sandboxEnv(srv)
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	in := filepath.Join(dir, "plan.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\nT1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"), 0o644)
	code, stdout, stderr := cli(t, vars, "plan", "-json", "-ledger", db, "-report", filepath.Join(dir, "p.xlsx"), in)
	if code != crmsync.ExitOK {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	planID := decodeSummary(t, stdout).RunID
	code, stdout, stderr = cli(t, vars, "apply", "-json", "-ledger", db, "-report", filepath.Join(dir, "a.xlsx"), fmt.Sprint(planID))
	if code != crmsync.ExitOK {
		t.Fatalf("apply: exit %d\n%s", code, stderr)
	}
	applyID := decodeSummary(t, stdout).RunID

	code, stdout, stderr = cli(t, nil, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st struct {
		Runs []struct {
			ID        int64 `json:"id"`
			AppliedBy int64 `json:"applied_by"`
		} `json:"runs"`
	}
	json.Unmarshal([]byte(stdout), &st)
	applied := map[int64]int64{}
	for _, r := range st.Runs {
		applied[r.ID] = r.AppliedBy
	}
	if applied[planID] != applyID || applied[applyID] != 0 {
		t.Errorf("status -json runs %+v: want plan run %d applied_by %d, and nothing else applied", st.Runs, planID, applyID)
	}
	want := fmt.Sprintf("已执行 apply RUN %d", applyID)
	if _, text, _ := cli(t, nil, "status", "-ledger", db); !strings.Contains(text, want) {
		t.Errorf("status text does not say %q:\n%s", want, text)
	}
	again := filepath.Join(dir, "p-again.xlsx")
	if code, _, stderr := cli(t, nil, "report", "-ledger", db, "-report", again, fmt.Sprint(planID)); code != crmsync.ExitOK {
		t.Fatalf("report of the plan: exit %d\n%s", code, stderr)
	}
	f, err := excelize.OpenFile(again)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("汇总")
	f.Close()
	found := false
	for _, r := range rows {
		found = found || slices.Contains(r, want)
	}
	if !found {
		t.Errorf("report of plan run %d: the summary does not say %q:\n%q", planID, want, rows)
	}

	before := len(srv.Requests())
	code, _, stderr = cli(t, vars, "apply", "-ledger", db, "-report", filepath.Join(dir, "a2.xlsx"), fmt.Sprint(planID))
	if code != crmsync.ExitUsage || !strings.Contains(stderr, fmt.Sprintf("already applied by run %d", applyID)) {
		t.Errorf("apply of an applied plan: exit %d, want 2 naming run %d\n%s", code, applyID, stderr)
	}
	if n := len(srv.Requests()); n != before {
		t.Errorf("apply of an applied plan made %d requests, want none", n-before)
	}
}

// TestDismissedEventShowsDecision: a rejected event a person dismissed is
// skipped when its file is read again, and the run's report names the
// decision (who, when, why) on its row.
func TestDismissedEventShowsDecision(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	srv.RejectIf(func(kind crmsync.Kind, body []byte) (int, string, bool) { return 3001, "会员不存在", true })
	vars := sandboxEnv(srv)
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	f := filepath.Join(dir, "score.csv")
	os.WriteFile(f, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount\nT1,C1,1,2024-11-01 10:00:00,100.00,S1,100,,\n"), 0o644)
	if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), f); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run 1: exit %d, want 3\n%s", code, stderr)
	}
	if code, _, stderr := cli(t, nil, "resolve", "-ledger", db, "-kind", "score", "-as", "dismiss", "-reason", "member left the mall", "T1"); code != crmsync.ExitOK {
		t.Fatalf("resolve: exit %d\n%s", code, stderr)
	}
	code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), f)
	if code != crmsync.ExitOK {
		t.Fatalf("run 2: exit %d, want 0\n%s", code, stderr)
	}
	if s := decodeSummary(t, stdout); s.Counts[crmsync.OutcomeSkipped] != 1 {
		t.Errorf("run 2: %v, want T1 skipped", s.Counts)
	}
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	s := decodeSummary(t, stdout)
	l.Results(context.Background(), s.RunID, "", func(r *crmsync.Result) error {
		if en := r.Problems()[0].Text("en"); r.ReasonCode() != crmsync.ReasonDecided || !strings.Contains(en, "decided dismiss by ") || !strings.Contains(en, "member left the mall") {
			t.Errorf("run 2: T1's reason %q, want the decision with who and why", r.Reason)
		}
		return nil
	})
}

// TestRetryAfterDeadRun: after a run died (killed with grade changes in
// flight), retry with nothing it can send takes the ledger forward as a run
// does: the dead run is died, its events in flight uncertain (held for a
// person, named by status), not left "claimed by run 1: its request may be
// under way" until some later run begins. Found by the soak.
func TestRetryAfterDeadRun(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	mustCreateLedger(t, db)
	ctx := context.Background()
	l, err := ledger.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := l.Lock("crmsync run (test)")
	if err != nil {
		t.Fatal(err)
	}
	id, err := l.BeginRun(ctx, "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	ev := &crmsync.Event{Kind: crmsync.KindGrade, Key: "G1", Lane: "M", Time: time.Now(),
		Body: []byte(`{"ThirdPartyCardID":"M","BeforeCardCode":"普卡","AfterCardCode":"银卡","ChangeType":0,"ChangeTime":"2024-11-01 10:00:00","GradeChangeID":"G1"}`)}
	if err := l.Claim(ctx, id, []*crmsync.Event{ev}); err != nil {
		t.Fatal(err)
	}
	unlock() // the process dies: no EndRun
	l.Close()

	if code, _, stderr := cli(t, sandboxEnv(srv), "retry", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx")); code != crmsync.ExitNeedsPerson {
		t.Fatalf("retry: exit %d, want 3 (G1 held)\n%s", code, stderr)
	}
	st := readStatus(t, db)
	if len(st.Runs) == 0 || st.Runs[0].Status != ledger.RunDied {
		t.Errorf("status after retry: runs %+v, want run %d died", st.Runs, id)
	}
	if len(st.Outstanding.Items) != 1 || st.Outstanding.Items[0].State != string(crmsync.StateUncertain) {
		t.Errorf("status after retry: outstanding %+v, want G1 uncertain", st.Outstanding.Items)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("retry sent %d requests, want none (G1 may have arrived)", n)
	}
}
