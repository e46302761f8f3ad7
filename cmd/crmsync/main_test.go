package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// cli runs crmsync in-process with the given environment and returns the exit
// code, stdout and stderr.
//
// A ledger named by -ledger that does not exist yet is created first, as
// `crmsync init` would (the tests' ledgers live in fresh temporary
// folders); cliNoInit leaves it missing.
func cli(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	if len(args) > 0 && slices.Contains([]string{"run", "plan", "retry", "status", "report"}, args[0]) {
		for i := 1; i+1 < len(args); i++ {
			if args[i] == "-ledger" {
				if _, err := os.Lstat(args[i+1]); os.IsNotExist(err) {
					l, err := ledger.Create(context.Background(), args[i+1], ledger.Options{})
					if err != nil {
						t.Fatalf("create ledger %s: %v", args[i+1], err)
					}
					l.Close()
				}
			}
		}
	}
	return cliNoInit(t, vars, args...)
}

// cliNoInit is cli without creating a missing ledger.
func cliNoInit(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{
		stdin:  strings.NewReader(""),
		stdout: &out,
		stderr: &errb,
		getenv: func(k string) string { return vars[k] },
	}
	e.logger = slog.New(slog.NewTextHandler(&errb, nil))
	code := e.main(context.Background(), args)
	return code, out.String(), errb.String()
}

// sandboxEnv returns the environment of a run against srv with the sandbox
// credentials.
func sandboxEnv(srv *mallcootest.Server) map[string]string {
	return map[string]string{
		"MALLCOO_APP_ID":      mallcootest.Sandbox.AppID,
		"MALLCOO_PUBLIC_KEY":  mallcootest.Sandbox.PublicKey,
		"MALLCOO_PRIVATE_KEY": mallcootest.Sandbox.PrivateKey,
		"MALLCOO_BASE_URL":    srv.URL,
	}
}

type jsonSummary struct {
	RunID     int64                                    `json:"run_id"`
	Rows      int                                      `json:"rows"`
	Counts    map[crmsync.Outcome]int                  `json:"counts"`
	ByKind    map[crmsync.Kind]map[crmsync.Outcome]int `json:"by_kind"`
	Report    string                                   `json:"report"`
	Problems  string                                   `json:"problems"`
	DurationS float64                                  `json:"duration_s"`
	Requests  int                                      `json:"requests"`
}

func decodeSummary(t *testing.T, stdout string) jsonSummary {
	t.Helper()
	var s jsonSummary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("-json output is not one JSON object: %v\n%s", err, stdout)
	}
	return s
}

func samplesDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("../../samples")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("samples: %v", err)
	}
	return dir
}

// TestRunSamples runs the samples through the real client into the fake
// Mallcoo, checks every body received against a golden file, the order
// within each member, the counts and the exit code; then runs again and
// checks that nothing is sent twice.
func TestRunSamples(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	rep := filepath.Join(dir, "report.xlsx")
	vars := sandboxEnv(srv)

	code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", rep, "-concurrency", "4", samplesDir(t))
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run samples: exit %d, want %d (the samples hold bad rows)\nstderr:\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeSent] == 0 {
		t.Fatalf("run samples: nothing sent: %+v\n%s", s.Counts, stderr)
	}
	for _, o := range []crmsync.Outcome{crmsync.OutcomeFailed, crmsync.OutcomeRejected, crmsync.OutcomeUncertain, crmsync.OutcomeNew} {
		if s.Counts[o] != 0 {
			t.Errorf("run samples: %d rows %s, want 0\n%s", s.Counts[o], o, stderr)
		}
	}
	for _, k := range crmsync.Kinds {
		if s.ByKind[k][crmsync.OutcomeSent] == 0 {
			t.Errorf("run samples: no %s event sent (by_kind %v)", k, s.ByKind[k])
		}
	}
	reqs := srv.Requests()
	if len(reqs) != s.Counts[crmsync.OutcomeSent] || s.Requests != len(reqs) {
		t.Errorf("run samples: server got %d requests, summary says %d requests and %d sent", len(reqs), s.Requests, s.Counts[crmsync.OutcomeSent])
	}
	if _, err := os.Stat(rep); err != nil {
		t.Errorf("report not written: %v", err)
	}
	if s.Problems == "" {
		t.Errorf("no problems workbook, though rows need a person")
	} else if _, err := os.Stat(s.Problems); err != nil {
		t.Errorf("problems workbook: %v", err)
	}

	// Every body received, per kind, sorted: the exact JSON Mallcoo gets.
	var lines []string
	for _, r := range reqs {
		lines = append(lines, string(r.Kind)+" "+string(r.Body))
	}
	sort.Strings(lines)
	golden(t, "testdata/samples-delivered.golden", strings.Join(lines, "\n")+"\n")

	// Within a member, events arrive in event-time order (a return after
	// its sale; successive grade changes in order).
	checkLaneOrder(t, reqs)

	// A second run sends nothing.
	before := len(srv.Requests())
	code, stdout, stderr = cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "again.xlsx"), samplesDir(t))
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("second run: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	again := decodeSummary(t, stdout)
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("second run sent %d requests, want 0", n)
	}
	if again.Counts[crmsync.OutcomeUnchanged] != s.Counts[crmsync.OutcomeSent] || again.Counts[crmsync.OutcomeSent] != 0 {
		t.Errorf("second run counts %v, want %d unchanged and 0 sent", again.Counts, s.Counts[crmsync.OutcomeSent])
	}
	if again.Counts[crmsync.OutcomeInvalid] != s.Counts[crmsync.OutcomeInvalid] {
		t.Errorf("second run: %d invalid, first %d", again.Counts[crmsync.OutcomeInvalid], s.Counts[crmsync.OutcomeInvalid])
	}
}

// checkLaneOrder checks that requests of one member arrived in event-time
// order.
func checkLaneOrder(t *testing.T, reqs []mallcootest.Request) {
	t.Helper()
	type seen struct {
		time string
		body string
	}
	last := map[string]seen{}
	for _, r := range reqs {
		var m map[string]any
		if err := json.Unmarshal(r.Body, &m); err != nil {
			t.Fatalf("body %s: %v", r.Body, err)
		}
		card, _ := m["ThirdPartyCardID"].(string)
		if card == "" || r.Kind == crmsync.KindMember {
			continue
		}
		tm := ""
		for _, f := range []string{"ReturnTime", "TradeTime", "ChangeTime", "CreateTime"} {
			if v, ok := m[f].(string); ok && v != "" {
				tm = v
				break
			}
		}
		if p, ok := last[card]; ok && tm < p.time {
			t.Errorf("member %s: %s arrived after %s", card, r.Body, p.body)
		}
		last[card] = seen{tm, string(r.Body)}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (go test -update rewrites it):\nwant:\n%s\ngot:\n%s", path, want, got)
	}
}

func TestPlanSendsNothing(t *testing.T) {
	dir := t.TempDir()
	code, stdout, stderr := cli(t, nil, "plan", "-json", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "p.xlsx"), samplesDir(t))
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("plan: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeNew] == 0 || s.Counts[crmsync.OutcomeSent] != 0 || s.Requests != 0 {
		t.Errorf("plan counts %v requests %d: want some new, none sent", s.Counts, s.Requests)
	}
}

func TestMissingCredentials(t *testing.T) {
	dir := t.TempDir()
	vars := map[string]string{"MALLCOO_PUBLIC_KEY": "x", "MALLCOO_PRIVATE_KEY": "y"}
	code, _, stderr := cli(t, vars, "run", "-ledger", filepath.Join(dir, "l.db"), samplesDir(t))
	if code != crmsync.ExitFailed {
		t.Errorf("run without MALLCOO_APP_ID: exit %d, want %d", code, crmsync.ExitFailed)
	}
	if !strings.Contains(stderr, "MALLCOO_APP_ID") {
		t.Errorf("run without MALLCOO_APP_ID: stderr does not name the variable:\n%s", stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"run"},
		{"run", "-kind", "nope", dir},
		{"run", "-encoding", "latin1", dir},
		{"plan", "-since", "yesterday", dir},
		{"plan", "-no-such-flag", dir},
		{"plan", filepath.Join(dir, "missing.csv")},
	} {
		if code, _, _ := cli(t, nil, args...); code != crmsync.ExitUsage {
			t.Errorf("crmsync %q: exit %d, want %d", args, code, crmsync.ExitUsage)
		}
	}
}

// TestBadFileDoesNotStopOthers: a file that is not CSV/XLSX is a file-level
// problem; the other files still run; exit 3.
func TestBadFileDoesNotStopOthers(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	os.WriteFile(filepath.Join(in, "notes.xlsx"), []byte("this is not a workbook"), 0o644)
	os.WriteFile(filepath.Join(in, "2024-11-01_invalid.csv"), []byte("RefID,BonusAction,Desc\nR1,4,作废\n"), 0o644)
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeSent] != 1 {
		t.Errorf("run: counts %v, want the good file's 1 row sent", s.Counts)
	}
	if !strings.Contains(stderr, "notes.xlsx") {
		t.Errorf("stderr does not name the bad file:\n%s", stderr)
	}
	got := srv.Delivered(crmsync.KindInvalid)
	want := `{"RefID":"R1","BonusAction":4,"Desc":"%e4%bd%9c%e5%ba%9f"}`
	var bodies []string
	for _, r := range got {
		bodies = append(bodies, string(r.Body))
	}
	if len(bodies) != 1 || bodies[0] != want {
		t.Errorf("delivered invalid bodies = %q, want [%s]", bodies, want)
	}
}

// TestProblemsRoundTrip: a person fixes one cell of the problems workbook
// and runs crmsync on it: exactly the fixed row is sent; the untouched rows
// come back as problems again.
func TestProblemsRoundTrip(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "ledger.db")
	vars := sandboxEnv(srv)
	code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "first.xlsx"), samplesDir(t))
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	first := decodeSummary(t, stdout)

	f, err := excelize.OpenFile(first.Problems)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := f.GetRows("score")
	if err != nil {
		t.Fatal(err)
	}
	header := rows[0]
	amountCol := slices.Index(header, "消费金额")
	transCol := slices.Index(header, "交易ID")
	fixed := ""
	for i, r := range rows[1:] {
		// The reason is the first column.
		if strings.Contains(r[0], "TradeAmount") || strings.Contains(r[0], "消费金额") {
			cell, _ := excelize.CoordinatesToCellName(amountCol+1, i+2)
			f.SetCellStr("score", cell, "123.00")
			fixed = r[transCol]
			break
		}
	}
	if fixed == "" {
		t.Fatalf("no row with a bad TradeAmount in the problems workbook: %q", rows)
	}
	fixedPath := filepath.Join(dir, "fixed.xlsx")
	if err := f.SaveAs(fixedPath); err != nil {
		t.Fatal(err)
	}
	f.Close()

	before := len(srv.Requests())
	code, stdout, stderr = cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "second.xlsx"), fixedPath)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run on the fixed problems workbook: exit %d, want %d (other rows still need a person)\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	second := decodeSummary(t, stdout)
	reqs := srv.Requests()[before:]
	if len(reqs) != 1 || !strings.Contains(string(reqs[0].Body), `"TransID":"`+fixed+`"`) || !strings.Contains(string(reqs[0].Body), `"TradeAmount":123,`) {
		var got []string
		for _, r := range reqs {
			got = append(got, string(r.Body))
		}
		t.Fatalf("run on the fixed workbook sent %q, want exactly the fixed row %s with TradeAmount 123", got, fixed)
	}
	if second.Counts[crmsync.OutcomeSent] != 1 || second.Counts[crmsync.OutcomeInvalid] != first.Counts[crmsync.OutcomeInvalid]-1 {
		t.Errorf("run on the fixed workbook: counts %v; want 1 sent and %d invalid", second.Counts, first.Counts[crmsync.OutcomeInvalid]-1)
	}
}

// TestSinceUntil: rows outside the event-time window are skipped, not sent.
func TestSinceUntil(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "2024-11-01_score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n"+
		"T1,C1,1,2024-10-31 23:59:59,10,S1,10\n"+
		"T2,C1,1,2024-11-01 00:00:00,20,S1,20\n"+
		"T3,C1,1,2024-11-01 23:59:59,30,S1,30\n"+
		"T4,C1,1,2024-11-02 00:00:00,40,S1,40\n"), 0o644)
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-since", "2024-11-01", "-until", "2024-11-02",
		"-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in)
	if code != crmsync.ExitOK {
		t.Fatalf("run -since -until: exit %d, want 0 (skipped rows need no one)\n%s", code, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeSent] != 2 || s.Counts[crmsync.OutcomeSkipped] != 2 {
		t.Errorf("run -since 2024-11-01 -until 2024-11-02: counts %v, want 2 sent (T2, T3) and 2 skipped", s.Counts)
	}
	for _, r := range srv.Requests() {
		if !strings.Contains(string(r.Body), `"T2"`) && !strings.Contains(string(r.Body), `"T3"`) {
			t.Errorf("sent a row outside the window: %s", r.Body)
		}
	}
	// A window that ends before it starts would skip every row: refused, as
	// reconcile refuses it, before anything is read.
	for _, cmd := range []string{"run", "plan"} {
		if code, _, stderr := cli(t, sandboxEnv(srv), cmd, "-since", "2024-11-02", "-until", "2024-11-01", "-ledger", filepath.Join(dir, "l.db"), in); code != crmsync.ExitUsage || !strings.Contains(stderr, "-until") {
			t.Errorf("%s -since 2024-11-02 -until 2024-11-01: exit %d, want %d naming -until\n%s", cmd, code, crmsync.ExitUsage, stderr)
		}
	}
}

// TestSystemicStop: when every request fails, the run stops sending after a
// window of failures instead of trying every row, records the rest as
// failed for the next run, writes the report and exits 1.
func TestSystemicStop(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{FailRate: 1})
	defer srv.Close()
	dir := t.TempDir()
	in := scoreSales(t, dir, 500)
	rep := filepath.Join(dir, "r.xlsx")
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-retries", "0", "-concurrency", "4",
		"-ledger", filepath.Join(dir, "l.db"), "-report", rep, in)
	if code != crmsync.ExitFailed {
		t.Fatalf("run against a dead API: exit %d, want %d\n%s", code, crmsync.ExitFailed, stderr)
	}
	s := decodeSummary(t, stdout)
	if n := len(srv.Requests()); n >= 200 {
		t.Errorf("run against a dead API made %d requests for 500 rows: it should stop after a window of failures", n)
	}
	if s.Counts[crmsync.OutcomeFailed] != 500 {
		t.Errorf("counts %v, want all 500 failed (recorded for the next run)", s.Counts)
	}
	if !strings.Contains(stderr, "发送已停止") {
		t.Errorf("stderr does not say sending stopped:\n%s", stderr)
	}
	if _, err := os.Stat(rep); err != nil {
		t.Errorf("no report after a systemic stop: %v", err)
	}

	// The API is back: retry sends what failed, once.
	srv.SetFailRate(0)
	code, stdout, stderr = cli(t, sandboxEnv(srv), "retry", "-json", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "retry.xlsx"))
	if code != crmsync.ExitOK {
		t.Fatalf("retry: exit %d, want 0\n%s", code, stderr)
	}
	if s := decodeSummary(t, stdout); s.Counts[crmsync.OutcomeSent] != 500 || len(srv.Delivered(crmsync.KindScore)) != 500 {
		t.Errorf("retry: counts %v, %d delivered; want 500 sent once", s.Counts, len(srv.Delivered(crmsync.KindScore)))
	}
}

// TestStatusListsHeld: events left in flight by a dead run show in status as
// held for a person (uncertain), with their key.
func TestStatusListsHeld(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "l.db")
	l, unlock, id := begunRun(t, db)
	body := []byte(`{"g":1}`)
	ev := &crmsync.Event{Kind: crmsync.KindGrade, Key: "GC1", Lane: "C1", Time: time.Now(), Body: body, Hash: crmsync.ContentHash(crmsync.KindGrade, body)}
	if err := l.Claim(ctx, id, []*crmsync.Event{ev}); err != nil {
		t.Fatal(err)
	}
	// The run dies; the next one turns the claim uncertain.
	if _, err := l.BeginRun(ctx, "run", nil, time.Now()); err != nil {
		t.Fatal(err)
	}
	unlock()
	l.Close()

	code, stdout, stderr := cli(t, nil, "status", "-json", "-ledger", db)
	if code != crmsync.ExitOK {
		t.Fatalf("status: exit %d\n%s", code, stderr)
	}
	var st struct {
		Held      int `json:"held"`
		Uncertain []struct {
			Kind crmsync.Kind `json:"kind"`
			Key  string       `json:"key"`
		} `json:"uncertain_events"`
	}
	if err := json.Unmarshal([]byte(stdout), &st); err != nil {
		t.Fatalf("status -json: %v\n%s", err, stdout)
	}
	if st.Held != 1 || len(st.Uncertain) != 1 || st.Uncertain[0].Key != "GC1" {
		t.Errorf("status -json: held %d, uncertain %+v; want GC1 listed", st.Held, st.Uncertain)
	}
	_, text, _ := cli(t, nil, "status", "-ledger", db)
	if !strings.Contains(text, "GC1") || !strings.Contains(text, "retry -uncertain") {
		t.Errorf("status does not list the held event and what to do:\n%s", text)
	}
}

// TestLedgerOf9a7aaa3 re-runs the files of testdata/ledger-9a7aaa3/input
// on the ledger crmsync 9a7aaa3 made of them (every empty field sent as
// null, over-limit Value "5,000", return fields on a sale): the content
// hashes must still match, so every row sent then is unchanged now and
// nothing is sent.
func TestLedgerOf9a7aaa3(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-9a7aaa3", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o644); err != nil {
		t.Fatal(err)
	}
	input, err := filepath.Abs(filepath.Join("testdata", "ledger-9a7aaa3", "input"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), input)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want %d (the samples hold bad rows)\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	// 9a7aaa3 sent 88 rows of these files (9 invalid, 1 duplicate).
	if s.Counts[crmsync.OutcomeUnchanged] != 88 || s.Counts[crmsync.OutcomeChanged] != 0 || s.Counts[crmsync.OutcomeSent] != 0 {
		t.Errorf("run on the 9a7aaa3 ledger: counts %v, want 88 unchanged, none changed or sent", s.Counts)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("run on the 9a7aaa3 ledger sent %d requests, want 0", n)
	}
}

// TestRefusedKeyAnsweredHTTP200: Mallcoo may refuse a wrong private key
// with HTTP 200 and a Code rather than HTTP 401. A 500-row grade run stops
// within 25 requests, exits 1, and records no row rejected (they would
// never be sent again); with the key fixed, the next run delivers all 500
// once.
func TestRefusedKeyAnsweredHTTP200(t *testing.T) {
	for _, mode := range []struct {
		name string
		opt  mallcootest.Options
	}{
		{"HTTP 200 and Code 40001", mallcootest.Options{AuthStatus: http.StatusOK, AuthCode: 40001}},
		{"HTTP 401", mallcootest.Options{AuthCode: 40001}},
	} {
		t.Run(mode.name, func(t *testing.T) { testRefusedKey(t, mode.opt) })
	}
}

func testRefusedKey(t *testing.T, opt mallcootest.Options) {
	srv := mallcootest.NewServer(opt)
	defer srv.Close()
	dir := t.TempDir()
	lines := []string{"ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID"}
	for i := 0; i < 500; i++ {
		lines = append(lines, fmt.Sprintf("C%04d,普卡,银卡,0,2024-11-01 10:00:00,GC%04d", i, i))
	}
	in := filepath.Join(dir, "grade.csv")
	if err := os.WriteFile(in, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "ledger.db")
	vars := sandboxEnv(srv)
	vars["MALLCOO_PRIVATE_KEY"] = "0123456789abcdef" // not the sandbox's

	code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), in)
	if code != crmsync.ExitFailed {
		t.Fatalf("run with a wrong key: exit %d, want %d\n%s", code, crmsync.ExitFailed, stderr)
	}
	s := decodeSummary(t, stdout)
	if n := len(srv.Requests()); n > 25 {
		t.Errorf("run with a wrong key made %d requests, want at most 25", n)
	}
	if s.Counts[crmsync.OutcomeRejected] != 0 || s.Counts[crmsync.OutcomeFailed] != 500 {
		t.Errorf("run with a wrong key: counts %v, want 500 failed and none rejected", s.Counts)
	}
	for _, want := range []string{"40001", "MALLCOO_PRIVATE_KEY", "本机时钟"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("run with a wrong key: stderr does not say %q:\n%s", want, stderr)
		}
	}
	// In English the stop and what to do about the rows not sent say so
	// in English alone.
	_, _, stderr = cli(t, vars, "run", "-lang", "en", "-ledger", db, "-report", filepath.Join(dir, "r1en.xlsx"), in)
	for _, want := range []string{"sending stopped: ", "this machine's clock", "first fix what 'sending stopped' says"} {
		if !strings.Contains(stderr, want) || strings.Contains(stderr, "本机时钟") {
			t.Errorf("run -lang en with a wrong key: stderr does not say %q in English alone:\n%s", want, stderr)
		}
	}

	vars["MALLCOO_PRIVATE_KEY"] = mallcootest.Sandbox.PrivateKey
	code, stdout, stderr = cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r2.xlsx"), in)
	if code != crmsync.ExitOK {
		t.Fatalf("run with the key fixed: exit %d, want %d\n%s", code, crmsync.ExitOK, stderr)
	}
	if s := decodeSummary(t, stdout); s.Counts[crmsync.OutcomeSent] != 500 {
		t.Errorf("run with the key fixed: counts %v, want 500 sent", s.Counts)
	}
	delivered := map[string]int{}
	for _, r := range srv.Delivered(crmsync.KindGrade) {
		delivered[string(r.Body)]++
	}
	if len(delivered) != 500 {
		t.Errorf("%d grade changes delivered, want 500", len(delivered))
	}
	for b, n := range delivered {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", b, n)
		}
	}
}

// TestMockSwitches starts `crmsync mock` with the switches of a looser API
// and checks a wrong key is answered HTTP 200 with the Code asked for.
func TestMockSwitches(t *testing.T) {
	if code, _, _ := cli(t, nil, "mock", "-auth-status", "99"); code != crmsync.ExitUsage {
		t.Errorf("mock -auth-status 99: exit %d, want %d", code, crmsync.ExitUsage)
	}
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	e := &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: pw, getenv: func(string) string { return "" }}
	e.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	done := make(chan int, 1)
	go func() {
		done <- e.main(ctx, []string{"mock", "-addr", "127.0.0.1:0", "-auth-status", "200", "-auth-code", "40001", "-accept-duplicates", "-ignore-unknown"})
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	go io.Copy(io.Discard, pr)
	_, addr, ok := strings.Cut(strings.TrimSpace(line), "http://")
	if err != nil || !ok {
		cancel()
		t.Fatalf("mock printed %q (%v), want its address", line, err)
	}
	cl, err := mallcoo.NewClient(mallcoo.Config{BaseURL: "http://" + addr, Credentials: mallcoo.Credentials{AppID: "sandbox", PublicKey: "1ULYkA", PrivateKey: "wrong"}, Retries: -1})
	if err != nil {
		t.Fatal(err)
	}
	r, err := cl.Send(ctx, crmsync.KindMember, []byte(`{"Mobile":"15155145475"}`))
	if err != nil || r.Code != 40001 {
		t.Errorf("Send with a wrong key to mock -auth-status 200 -auth-code 40001 = %+v, %v; want a rejection with Code 40001", r, err)
	}
	cancel()
	if code := <-done; code != crmsync.ExitOK {
		t.Errorf("mock: exit %d after its context ended, want 0", code)
	}
}

// TestUncertainScoreAgainstSilentDuplicates: against a Mallcoo that accepts a
// repeated TransID silently (it would count the points twice), a score
// event whose request got no answer is held for a person, run after run;
// only score_resend_uncertain = true (once Mallcoo confirms repeats are
// refused) sends it again.
func TestUncertainScoreAgainstSilentDuplicates(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{AcceptDuplicates: true})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\nT1,C1,1,2024-11-01 10:00:00,10,S1,10\n"), 0o644)
	db := filepath.Join(dir, "l.db")
	vars := sandboxEnv(srv)
	srv.FailNext(1, 0, "") // the connection drops after the request was written
	for i := 0; i < 2; i++ {
		code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("r%d.xlsx", i)), in)
		if s := decodeSummary(t, stdout); code != crmsync.ExitNeedsPerson || s.Counts[crmsync.OutcomeUncertain] != 1 {
			t.Fatalf("run %d: exit %d, counts %v; want %d and 1 uncertain\n%s", i, code, s.Counts, crmsync.ExitNeedsPerson, stderr)
		}
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want 1: an uncertain score event is not sent again without a person", n)
	}
	conf := writeConfig(t, "score_resend_uncertain = true\n")
	code, stdout, stderr := cli(t, vars, "run", "-json", "-config", conf, "-ledger", db, "-report", filepath.Join(dir, "r3.xlsx"), in)
	if s := decodeSummary(t, stdout); code != crmsync.ExitOK || s.Counts[crmsync.OutcomeSent] != 1 {
		t.Errorf("run with score_resend_uncertain: exit %d, counts %v; want 0 and 1 sent\n%s", code, s.Counts, stderr)
	}
}

// TestLedgerOf75db61f: a ledger crmsync 75db61f (schema 5) made of the
// samples in testdata/ledger-75db61f/input (run, run again, plan) is taken
// to this schema: running the files again sends nothing (every row sent
// then is unchanged), and the report of an old run, regenerated from the
// ledger, lists the same rows, cells and outcomes on its per-kind sheets as
// that of the new run, whose values are stored once.
func TestLedgerOf75db61f(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "crmsync.db")
	old, err := os.ReadFile(filepath.Join("testdata", "ledger-75db61f", "crmsync.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, old, 0o600); err != nil {
		t.Fatal(err)
	}
	input, err := filepath.Abs(filepath.Join("testdata", "ledger-75db61f", "input"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "new.xlsx"), input)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want %d (the samples hold bad rows)\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	s := decodeSummary(t, stdout)
	if s.Counts[crmsync.OutcomeUnchanged] != 42 || s.Counts[crmsync.OutcomeSent] != 0 || s.Counts[crmsync.OutcomeChanged] != 0 {
		t.Errorf("run on the 75db61f ledger: counts %v, want 42 unchanged, none sent or changed", s.Counts)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("run on the 75db61f ledger sent %d requests, want 0", n)
	}
	sheets := func(id int64) map[string][][]string {
		// 75db61f read the files from /tmp/fx/input.
		return reportSheets(t, db, dir, id, strings.NewReplacer("/tmp/fx/input", "INPUT", input, "INPUT").Replace)
	}
	before, after := sheets(2), sheets(s.RunID) // run 2 of 75db61f was a re-run too
	if len(before) == 0 {
		t.Fatal("the report of run 2 has no per-kind sheet")
	}
	chineseOnly(before)
	if diff := cmp.Diff(before, after); diff != "" {
		t.Errorf("per-kind sheets of run 2 (recorded by 75db61f) and run %d (-old +new):\n%s", s.RunID, diff)
	}
}

// chineseOnly cuts the English half of each cell of sheets written as
// "中文 / English": an older crmsync kept a reason of an outcome as text in
// both languages, shown as kept; today's is a code, shown in the report's
// language (Chinese).
func chineseOnly(sheets map[string][][]string) {
	for _, rows := range sheets {
		for _, row := range rows {
			for i, cell := range row {
				if zh, _, ok := strings.Cut(cell, " / "); ok {
					row[i] = zh
				}
			}
		}
	}
}

// reportSheets writes the report of run id of ledger db into dir with
// crmsync report and returns its per-kind sheets (not the summary: run ID
// and times differ), each cell passed through clean.
func reportSheets(t *testing.T, db, dir string, id int64, clean func(string) string) map[string][][]string {
	t.Helper()
	out := filepath.Join(dir, fmt.Sprintf("run%d.xlsx", id))
	if code, _, stderr := cli(t, nil, "report", "-ledger", db, "-report", out, fmt.Sprint(id)); code != crmsync.ExitNeedsPerson && code != crmsync.ExitOK {
		t.Fatalf("report %d: exit %d\n%s", id, code, stderr)
	}
	f, err := excelize.OpenFile(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string][][]string{}
	for i, name := range f.GetSheetList() {
		if i == 0 {
			continue // the summary
		}
		rows, err := f.GetRows(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range rows {
			for j, c := range row {
				row[j] = clean(c)
			}
		}
		m[name] = rows
	}
	return m
}

// scoreSales writes dir/score.csv of n sales (T0000…, card C0000…, 10.00
// each) and returns its path.
func scoreSales(t *testing.T, dir string, n int) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score\n")
	for i := range n {
		fmt.Fprintf(&b, "T%04d,C%04d,1,2024-11-01 10:00:00,10,S1,10\n", i, i)
	}
	in := filepath.Join(dir, "score.csv")
	if err := os.WriteFile(in, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

// begunRun opens (or creates) the ledger db, takes its lock and begins a
// run in it, as a run does: the ledger, the lock's release and the run.
func begunRun(t *testing.T, db string) (*ledger.Ledger, func() error, int64) {
	t.Helper()
	l, err := ledger.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := l.Lock("test")
	if err != nil {
		t.Fatal(err)
	}
	id, err := l.BeginRun(context.Background(), "run", nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return l, unlock, id
}
