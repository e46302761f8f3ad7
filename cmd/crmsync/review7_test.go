package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/xuri/excelize/v2"
)

// summaryValue is the value beside label on the summary sheet of the
// report at path.
func summaryValue(t *testing.T, path, label string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(f.GetSheetList()[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if len(r) > 1 && r[0] == label {
			return r[1]
		}
	}
	t.Fatalf("%s: no row %q on the summary sheet", path, label)
	return ""
}

// TestStoppedReportAgain: the report of a run that stopped because most
// sends failed, written again from the ledger (crmsync report RUN-ID),
// says why it stopped as the run's own report did, in either language;
// -json's stopped splits at its first " / " into its two texts. The
// Chinese text said "(25 / 25 次)", and the summary kept in the ledger
// ("中文 / English") was split there.
func TestStoppedReportAgain(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{FailRate: 1})
	defer srv.Close()
	dir := t.TempDir()
	in := scoreSales(t, dir, 100)
	db := filepath.Join(dir, "l.db")
	for i, lang := range []string{"zh", "en"} {
		rep := filepath.Join(dir, lang+".xlsx")
		code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-lang", lang, "-retries", "0", "-concurrency", "2", "-ledger", db, "-report", rep, in)
		if code != crmsync.ExitFailed {
			t.Fatalf("run -lang %s against a dead API: exit %d, want %d\n%s", lang, code, crmsync.ExitFailed, stderr)
		}
		// -json's stopped is "中文 / English" (README): a script splits it
		// at its first " / ".
		var s struct {
			Stopped string `json:"stopped"`
		}
		json.Unmarshal([]byte(stdout), &s)
		if zh, en, _ := strings.Cut(s.Stopped, " / "); !strings.HasPrefix(zh, "最近的发送大多失败") || !strings.HasSuffix(zh, "后重新运行") || !strings.HasPrefix(en, "most recent sends failed") {
			t.Errorf("run -json: stopped %q does not split at its first \" / \" into Chinese and English", s.Stopped)
		}
		label := map[string]string{"zh": "提前停止原因", "en": "Stopped early because"}[lang]
		want := summaryValue(t, rep, label)
		again := filepath.Join(dir, lang+"-again.xlsx")
		if code, _, stderr := cli(t, nil, "report", "-lang", lang, "-ledger", db, "-report", again, fmt.Sprint(i+1)); code != 0 {
			t.Fatalf("report %d -lang %s: exit %d\n%s", i+1, lang, code, stderr)
		}
		if got := summaryValue(t, again, label); got != want {
			t.Errorf("report %d -lang %s: stopped because %q, want %q (the run's own report)", i+1, lang, got, want)
		}
	}
}

// TestStatusJSONProblemsOfInvalidRows: status -json lists problems (column,
// code, value) for an invalid row's item only, as before reasons became
// codes: a failed event's item has its reason, and no problems of a code
// and args with no reason text.
func TestStatusJSONProblemsOfInvalidRows(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{FailRate: 1})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n"+
		"T1,C0001,1,2024-11-01 10:00:00,10,S1,10\n"+
		"T2,C0002,1,2024-11-01 10:00:00,ten,S1,10\n"), 0o644)
	db := filepath.Join(dir, "l.db")
	if code, _, stderr := cli(t, sandboxEnv(srv), "run", "-retries", "0", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want 3\n%s", code, stderr)
	}
	_, stdout, _ := cli(t, nil, "status", "-json", "-ledger", db)
	var st struct {
		Outstanding struct {
			Items []map[string]any `json:"items"`
		} `json:"outstanding"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -json: %v\n%s", err, stdout)
	}
	states := map[string]bool{}
	for _, it := range st.Outstanding.Items {
		_, has := it["problems"]
		states[it["state"].(string)] = true
		if want := it["state"] == "invalid"; has != want {
			t.Errorf("status -json item %v: has problems %v, want %v", it, has, want)
		}
	}
	if !states["invalid"] || !states["failed"] {
		t.Errorf("status -json items %v: want a failed and an invalid one", st.Outstanding.Items)
	}
}

// TestStatusRunReasonsInItsLanguage: status, in Chinese or English, shows
// why a run was interrupted or died in that language alone, as the rest
// of its text; status -json keeps the ledger's reason as it is.
func TestStatusRunReasonsInItsLanguage(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.db")
	l, unlock, id := begunRun(t, db)
	s := crmsync.NewSummary(id, "run", time.Now())
	s.Interrupt = true
	if err := l.EndRun(ctx, s); err != nil {
		t.Fatal(err)
	}
	l.BeginRun(ctx, "run", nil, time.Now()) // dies
	unlock()
	l.Close()
	for lang, want := range map[string][2]string{
		"zh": {"中断(SIGINT/SIGTERM),已完成的工作已记录", "进程未结束运行即退出"},
		"en": {"interrupted (SIGINT/SIGTERM); the work done is recorded", "the process ended without ending the run"},
	} {
		cfg := writeConfig(t, "lang = \""+lang+"\"\n")
		_, text, stderr := cli(t, nil, "status", "-config", cfg, "-ledger", db)
		other := map[string]string{"zh": "interrupted (SIGINT", "en": "中断"}[lang]
		if !strings.Contains(text, want[0]) || !strings.Contains(text, want[1]) || strings.Contains(text, other) || strings.Contains(text, " / ") {
			t.Errorf("status (lang %s): want the runs' reasons %q in that language alone:\n%s%s", lang, want, text, stderr)
		}
	}
	_, stdout, _ := cli(t, nil, "status", "-json", "-ledger", db)
	if !strings.Contains(stdout, ledger.ReasonInterrupted.String()) {
		t.Errorf("status -json: want the interrupted run's reason %q as kept:\n%s", ledger.ReasonInterrupted, stdout)
	}
}

// TestWarnedRowReasonKeptOnce: a sent row's warning (a date without a
// time) is kept in the ledger with its texts once, as before it was a
// Problem (its Reason is those texts joined), and reads back whole: the
// ledger keeps the reason of each such row twice (results, events), on
// every row of a file exported without times.
func TestWarnedRowReasonKeptOnce(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n"+
		"W1,C0001,1,2024-11-01,10,S1,10\n"), 0o644)
	db := filepath.Join(dir, "l.db")
	if code, _, stderr := cli(t, sandboxEnv(srv), "run", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in); code != crmsync.ExitOK {
		t.Fatalf("run: exit %d, want 0\n%s", code, stderr)
	}
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var got *crmsync.Result
	l.Results(context.Background(), 1, "", func(r *crmsync.Result) error { got = r; return nil })
	if got == nil || got.Outcome != crmsync.OutcomeSent {
		t.Fatalf("run 1's result %+v, want W1 sent", got)
	}
	if n := strings.Count(got.Reason, "只有日期没有时间"); n != 1 {
		t.Errorf("W1's reason as kept holds its Chinese text %d times, want once:\n%s", n, got.Reason)
	}
	ps := got.Problems()
	if len(ps) != 1 || ps[0].Code != crmsync.ReasonDateOnly || ps[0].Reason != ps[0].ZH+" / "+ps[0].EN || ps[0].ZH == "" {
		t.Errorf("W1's problems read back %+v, want the date-only warning with its Reason", ps)
	}
}

// TestRefusedKeyRowsInTheRunsLanguage: with credentials Mallcoo refuses,
// every failed row's reason is in the run's language, those whose request
// met the refusal too (they said the client's English stop after a Chinese
// "发送失败").
func TestRefusedKeyRowsInTheRunsLanguage(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{AuthCode: 40001})
	defer srv.Close()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n")
	for i := 0; i < 50; i++ {
		fmt.Fprintf(&b, "C%04d,普卡,银卡,0,2024-11-01 10:00:00,GC%04d\n", i, i)
	}
	in := filepath.Join(dir, "grade.csv")
	os.WriteFile(in, []byte(b.String()), 0o644)
	vars := sandboxEnv(srv)
	vars["MALLCOO_PRIVATE_KEY"] = "0123456789abcdef" // not the sandbox's
	for _, lang := range []string{"zh", "en"} {
		res := filepath.Join(dir, lang+".csv")
		code, _, stderr := cli(t, vars, "run", "-lang", lang, "-concurrency", "4", "-ledger", filepath.Join(dir, lang+".db"), "-report", filepath.Join(dir, lang+".xlsx"), "-results", res, in)
		if code != crmsync.ExitFailed {
			t.Fatalf("run -lang %s with a wrong key: exit %d, want %d\n%s", lang, code, crmsync.ExitFailed, stderr)
		}
		f, err := os.Open(res)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		other := map[string]string{"zh": "refused the credentials", "en": "猫酷拒绝了凭据"}[lang]
		for _, l := range lines[1:] { // file,sheet,row,kind,key,outcome,cause_code,column,reason,…
			if l[5] != string(crmsync.OutcomeFailed) || strings.Contains(l[8], other) {
				t.Errorf("run -lang %s with a wrong key: %s %s: %q", lang, l[4], l[5], l[8])
			}
		}
	}
}

// TestStatusStoppedRunInItsLanguage: status says why a run's sending
// stopped in its language (the run's reason was the English error, in a
// Chinese table); status -json keeps the reason as it was.
func TestStatusStoppedRunInItsLanguage(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{FailRate: 1})
	defer srv.Close()
	dir := t.TempDir()
	in := scoreSales(t, dir, 100)
	db := filepath.Join(dir, "l.db")
	if code, _, stderr := cli(t, sandboxEnv(srv), "run", "-retries", "0", "-concurrency", "2", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in); code != crmsync.ExitFailed {
		t.Fatalf("run against a dead API: exit %d, want %d\n%s", code, crmsync.ExitFailed, stderr)
	}
	for lang, want := range map[string][2]string{
		"zh": {"发送已停止:最近的发送大多失败", "most recent sends failed"},
		"en": {"sending stopped: most recent sends failed", "最近的发送大多失败"},
	} {
		_, text, stderr := cli(t, nil, "status", "-config", writeConfig(t, "lang = \""+lang+"\"\n"), "-ledger", db)
		if !strings.Contains(text, want[0]) || strings.Contains(text, want[1]) {
			t.Errorf("status (lang %s): want the stopped run's reason %q, not %q:\n%s%s", lang, want[0], want[1], text, stderr)
		}
	}
	_, stdout, _ := cli(t, nil, "status", "-json", "-ledger", db)
	if !strings.Contains(stdout, `"reason": "sending stopped: most recent sends failed`) {
		t.Errorf("status -json: want the run's reason as kept:\n%s", stdout)
	}
}
