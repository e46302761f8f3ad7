package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// TestCausesOfAnUnmappedWord: 3,000 rows whose 支付方式 is the unmapped
// word "微信" (and a card ID each of its own) make one cause, with the
// config line that fixes them all, in -json, on the terminal (Chinese by
// default, English with -lang en) and in the ledger's results, each row
// with both of its problems.
func TestCausesOfAnUnmappedWord(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("交易ID,会员卡号ID,积分事件,消费时间,消费金额,消费商户,积分值,支付方式\n")
	const n = 3000
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, "TM%05d,1.%dE+11,1,2024-11-01 10:05:03,128.50,S0012,128,微信\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(in, "2024-11-01_score.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "l.db")
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	var s struct {
		RunID  int64           `json:"run_id"`
		Causes []crmsync.Cause `json:"causes"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatalf("-json: %v\n%s", err, stdout)
	}
	byCode := map[string]crmsync.Cause{}
	for _, c := range s.Causes {
		byCode[c.Code+"|"+c.Column] = c
	}
	if len(s.Causes) != 2 {
		t.Errorf("causes = %+v, want two (PayType, ThirdPartyCardID)", s.Causes)
	}
	pay := byCode[crmsync.ReasonUnmapped+"|PayType"]
	if pay.Count != n || pay.Value != "微信" || !strings.Contains(pay.Fix, `[mappings.PayType] "微信" = 12`) {
		t.Errorf("PayType cause = %+v, want %d rows of 微信 with the config line as hint", pay, n)
	}
	card := byCode[crmsync.ReasonIDFormat+"|ThirdPartyCardID"]
	if card.Count != n || card.Value != "" || strings.Contains(card.Text, "E+11") {
		t.Errorf("card ID cause = %+v, want %d rows, no card ID in value or text", card, n)
	}

	ctx := context.Background()
	l, err := ledger.Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	rows := 0
	err = l.Results(ctx, s.RunID, crmsync.KindScore, func(r *crmsync.Result) error {
		rows++
		var cols []string
		for _, p := range r.Problems() {
			cols = append(cols, p.Code+"@"+p.Column)
		}
		if got := strings.Join(cols, " "); got != "id-format@ThirdPartyCardID enum-unmapped@PayType" {
			t.Fatalf("row %v: problems %q, want the card ID's and PayType's", r.Source, got)
		}
		return nil
	})
	if err != nil || rows != n {
		t.Fatalf("Results: %d rows, %v", rows, err)
	}

	// The terminal: the top causes and the next step, Chinese by default.
	for _, tc := range []struct{ lang, want, step string }{
		{"", "支付方式(PayType) \"微信\": 无对应代码", "在待处理文件中修正"},
		{"en", "PayType \"微信\": no code for this word", "fix the marked cells"},
	} {
		args := []string{"run", "-ledger", filepath.Join(t.TempDir(), "l.db"), "-report", filepath.Join(t.TempDir(), "r.xlsx")}
		if tc.lang != "" {
			args = append(args, "-lang", tc.lang)
		}
		_, _, stderr := cli(t, sandboxEnv(srv), append(args, in)...)
		if !strings.Contains(stderr, fmt.Sprintf("%6d  %s", n, tc.want)) || !strings.Contains(stderr, `[mappings.PayType] "微信" = 12`) ||
			!strings.Contains(stderr, tc.step) || strings.Contains(stderr, "fix the cells and run") {
			t.Errorf("-lang %q: terminal lacks the cause %q with its hint, or the next step %q:\n%s", tc.lang, tc.want, tc.step, stderr)
		}
	}
}

// TestColumnAliases: [columns] and [kinds.score.columns] read a mall's own
// headers (退款时间, 会员卡号); a header that matches nothing is a warning
// naming the nearest field, and the problems workbook keeps its column.
func TestColumnAliases(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	csv := "交易ID,会员卡号,积分事件,消费时间,消费金额,消费商户,退款时间,退货金额,积分值,备注说明\n" +
		"R1,C1,2101,2024-11-01 10:05:03,100,S1,2024-11-02 10:00:00,100,-100,第一行\n" +
		"R2,C2,2101,2024-11-01 10:05:03,abc,S1,2024-11-02 10:00:00,100,-100,第二行\n"
	if err := os.WriteFile(filepath.Join(in, "2024-11-01_score.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()

	// Without aliases the file lacks its card ID column.
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", filepath.Join(dir, "a.db"), "-report", filepath.Join(dir, "a.xlsx"), in)
	if code != crmsync.ExitNeedsPerson || len(srv.Requests()) != 0 || !strings.Contains(stdout, "ThirdPartyCardID") {
		t.Fatalf("run without aliases: exit %d, %d requests, want a file problem naming ThirdPartyCardID\n%s\n%s", code, len(srv.Requests()), stdout, stderr)
	}

	cfg := writeConfig(t, "[columns]\n\"退款时间\" = \"ReturnTime\"\n[kinds.score.columns]\n\"会员卡号\" = \"ThirdPartyCardID\"\n")
	code, stdout, stderr = cli(t, sandboxEnv(srv), "run", "-json", "-config", cfg, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run with aliases: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	got := srv.Delivered(crmsync.KindScore)
	if len(got) != 1 || !strings.Contains(string(got[0].Body), `"ThirdPartyCardID":"C1"`) || !strings.Contains(string(got[0].Body), `"ReturnTime":"2024-11-02 10:00:00"`) {
		t.Fatalf("delivered %d score events, want R1 with its card ID and ReturnTime read through the aliases", len(got))
	}
	var s struct {
		Problems string                `json:"problems"`
		Files    []crmsync.FileSummary `json:"files"`
	}
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Files) != 1 || len(s.Files[0].Unknown) != 1 || s.Files[0].Unknown[0] != "备注说明" || len(s.Files[0].Warnings) != 1 ||
		!strings.Contains(s.Files[0].Warnings[0].ZH, "备注说明") {
		t.Fatalf("files = %+v, want one unknown column 备注说明 with a warning", s.Files)
	}
	f, err := excelize.OpenFile(s.Problems)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, _ := f.GetRows("score")
	if len(rows) != 2 {
		t.Fatalf("problems rows = %q, want the header and R2", rows)
	}
	col := slices.Index(rows[0], "备注说明")
	if col < 0 || col >= len(rows[1]) || rows[1][col] != "第二行" {
		t.Errorf("problems workbook: header %q, row %q: want the 备注说明 column kept with 第二行", rows[0], rows[1])
	}
	if _, stderr := cliOut(t, sandboxEnv(srv), "run", "-config", cfg, "-ledger", filepath.Join(dir, "l2.db"), "-report", filepath.Join(dir, "r2.xlsx"), in); !strings.Contains(stderr, "文件警告") {
		t.Errorf("terminal lacks the unknown column's warning:\n%s", stderr)
	}
}

func cliOut(t *testing.T, vars map[string]string, args ...string) (string, string) {
	t.Helper()
	_, stdout, stderr := cli(t, vars, args...)
	return stdout, stderr
}

// TestColumnAliasErrors: an alias must name a field (of its kind).
func TestColumnAliasErrors(t *testing.T) {
	for _, tc := range []struct{ text, key string }{
		{"[columns]\n\"退款时间\" = \"RefundTime\"\n", `columns."退款时间"`},
		{"[columns]\n\"退款时间\" = 3\n", `columns."退款时间"`},
		{"[kinds.member.columns]\n\"卡号\" = \"TransID\"\n", `kinds.member.columns."卡号"`},
	} {
		cfg := writeConfig(t, tc.text)
		code, _, stderr := cli(t, nil, "config", "-config", cfg)
		if code == crmsync.ExitOK || !strings.Contains(stderr, tc.key) {
			t.Errorf("config %q: exit %d, stderr %q: want an error naming %s", tc.text, code, stderr, tc.key)
		}
	}
}

// TestResultsCSV: -results writes one line per input row (UTF-8 with a
// BOM, a header, CRLF: Excel's layout), card IDs masked as in the report;
// results_dir names it by command and run; -report and -results refuse
// names of the other format.
func TestResultsCSV(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "2024-11-01_score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,PayType\n"+
		"T1,0201710000001,1,2024-11-01 10:00:00,10,S1,10,\n"+
		"T2,0201710000002,1,2024-11-01 10:00:00,abc,S1,20,微信\n"+
		"T3,0201710000003,1,2024-11-01 10:00:00,30,S1,30,\n"), 0o644)
	res := filepath.Join(dir, "out", "results.csv")
	code, _, stderr := cli(t, sandboxEnv(srv), "run", "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "r.xlsx"), "-results", res, in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run -results: exit %d\n%s", code, stderr)
	}
	b, err := os.ReadFile(res)
	if err != nil {
		t.Fatal(err)
	}
	text, ok := strings.CutPrefix(string(b), "\ufeff")
	if !ok {
		t.Fatalf("results CSV does not start with a BOM: %q", b[:min(len(b), 20)])
	}
	lines := strings.Split(strings.TrimSuffix(text, "\r\n"), "\r\n")
	if len(lines) != 4 {
		t.Fatalf("results CSV has %d lines, want a header and 3 rows (CRLF):\n%s", len(lines), text)
	}
	if lines[0] != "file,sheet,row,kind,key,outcome,cause_code,column,reason,mallcoo_code,mallcoo_message,attempts" {
		t.Errorf("header = %q", lines[0])
	}
	if !strings.HasSuffix(lines[1], ",,2,score,T1,sent,,,,1,成功,1") {
		t.Errorf("T1 line = %q, want sent with Code 1 after 1 attempt", lines[1])
	}
	if !strings.Contains(lines[2], ",,3,score,T2,invalid,amount,TradeAmount,") { // an invalid row keeps the key its cells give
		t.Errorf("T2 line = %q, want invalid with the cause code and column", lines[2])
	}
	if strings.Contains(text, "0201710000002") {
		t.Errorf("results CSV holds a card ID in full:\n%s", text)
	}

	cfg := writeConfig(t, "results_dir = "+strconv.Quote(filepath.Join(dir, "res"))+"\n")
	if code, stdout, stderr := cli(t, sandboxEnv(srv), "plan", "-json", "-config", cfg, "-ledger", filepath.Join(dir, "l.db"), "-report", filepath.Join(dir, "p.xlsx"), in); code == crmsync.ExitFailed || code == crmsync.ExitUsage {
		t.Fatalf("plan with results_dir: exit %d\n%s", code, stderr)
	} else {
		var s struct {
			RunID int64 `json:"run_id"`
		}
		json.Unmarshal([]byte(stdout), &s)
		if _, err := os.Stat(filepath.Join(dir, "res", fmt.Sprintf("l-plan-%d-results.csv", s.RunID))); err != nil {
			t.Errorf("results_dir: %v", err)
		}
	}

	for _, args := range [][]string{{"-report", filepath.Join(dir, "out.csv")}, {"-results", filepath.Join(dir, "out.xlsx")}} {
		code, _, stderr := cli(t, sandboxEnv(srv), append(append([]string{"run", "-ledger", filepath.Join(dir, "l.db")}, args...), in)...)
		if code != crmsync.ExitUsage {
			t.Errorf("run %q: exit %d, want %d\n%s", args, code, crmsync.ExitUsage, stderr)
		}
	}
}

// TestSubcommandHelp: each subcommand's -h starts with its usage line and
// arguments, says what it does, lists only the flags it uses and ends with
// an example.
func TestSubcommandHelp(t *testing.T) {
	for _, tc := range []struct {
		cmd, usage string
		has, lacks []string
	}{
		{"run", "Usage: crmsync run [flags] FILE|DIR...", []string{"-concurrency", "-sandbox", "-results"}, nil},
		{"plan", "Usage: crmsync plan [flags] FILE|DIR...", []string{"-ledger", "-report"}, []string{"-concurrency", "-rate", "-sandbox", "-retries"}},
		{"retry", "Usage: crmsync retry [flags]", []string{"-uncertain"}, nil},
		{"report", "Usage: crmsync report [flags] RUN-ID", []string{"-ledger"}, nil},
	} {
		code, stdout, stderr := cli(t, nil, tc.cmd, "-h")
		out := stdout + stderr
		if code != crmsync.ExitOK || !strings.HasPrefix(out, tc.usage+"\n\n") || !strings.Contains(out, "\nExample:\n  crmsync "+tc.cmd+" ") {
			t.Errorf("%s -h: exit %d, want it to start %q and end with an example:\n%s", tc.cmd, code, tc.usage, out)
		}
		for _, f := range tc.has {
			if !strings.Contains(out, "  "+f+" ") && !strings.Contains(out, "  "+f+"\n") {
				t.Errorf("%s -h lacks %s:\n%s", tc.cmd, f, out)
			}
		}
		for _, f := range tc.lacks {
			if strings.Contains(out, "  "+f) {
				t.Errorf("%s -h lists %s, which it does not use:\n%s", tc.cmd, f, out)
			}
		}
	}
}

// TestReportRows: a run of more rows than report_rows lists on its kind
// sheets only the rows that need a person and writes every row's outcome
// beside the report (r-results.csv), which the summary names; crmsync
// report RUN-ID does the same from the ledger.
func TestReportRows(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "2024-11-01_score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,PayType\n"+
		"T1,0201710000001,1,2024-11-01 10:00:00,10,S1,10,\n"+
		"T2,0201710000002,1,2024-11-01 10:00:00,abc,S1,20,微信\n"+
		"T3,0201710000003,1,2024-11-01 10:00:00,30,S1,30,\n"), 0o644)
	cfg := writeConfig(t, "report_rows = 2\n")
	rep := filepath.Join(dir, "r.xlsx")
	code, stdout, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-config", cfg, "-ledger", filepath.Join(dir, "l.db"), "-report", rep, in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	check := func(rep, results string) {
		t.Helper()
		f, err := excelize.OpenFile(rep)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		rs, _ := f.GetRows("score")
		if len(rs) != 2 || rs[1][3] != "T2" || !strings.Contains(rs[0][len(rs[0])-1], filepath.Base(results)) {
			t.Errorf("%s: score sheet = %q, want the header naming %s and T2 alone", rep, rs, filepath.Base(results))
		}
		sum, _ := f.GetRows("汇总")
		named := false
		for _, r := range sum {
			named = named || len(r) > 1 && r[0] == "逐行结果" && strings.Contains(r[1], filepath.Base(results))
		}
		if !named {
			t.Errorf("%s: the summary does not name %s", rep, results)
		}
		b, err := os.ReadFile(results)
		if err != nil {
			t.Fatalf("results beside the report: %v", err)
		}
		if n := strings.Count(string(b), "\r\n"); n != 4 {
			t.Errorf("%s has %d lines, want a header and 3 rows", results, n)
		}
	}
	check(rep, filepath.Join(dir, "r-results.csv"))

	var s struct {
		RunID int64 `json:"run_id"`
	}
	json.Unmarshal([]byte(stdout), &s)
	again := filepath.Join(dir, "again.xlsx")
	if code, _, stderr := cli(t, nil, "report", "-config", cfg, "-ledger", filepath.Join(dir, "l.db"), "-report", again, strconv.FormatInt(s.RunID, 10)); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	check(again, filepath.Join(dir, "again-results.csv"))
}

// TestReportRowsResultsUnwritable: when the results CSV cannot be written,
// the report is still written, listing every row (report_rows or not), and
// the run says the results were not written.
func TestReportRowsResultsUnwritable(t *testing.T) {
	srv := mallcootest.NewServer(mallcootest.Options{})
	defer srv.Close()
	dir := t.TempDir()
	in := filepath.Join(dir, "2024-11-01_score.csv")
	os.WriteFile(in, []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,PayType\n"+
		"T1,0201710000001,1,2024-11-01 10:00:00,10,S1,10,\n"+
		"T2,0201710000002,1,2024-11-01 10:00:00,abc,S1,20,微信\n"+
		"T3,0201710000003,1,2024-11-01 10:00:00,30,S1,30,\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "afile"), nil, 0o644)
	cfg := writeConfig(t, "report_rows = 2\n")
	rep := filepath.Join(dir, "r.xlsx")
	code, _, stderr := cli(t, sandboxEnv(srv), "run", "-config", cfg, "-ledger", filepath.Join(dir, "l.db"), "-report", rep,
		"-results", filepath.Join(dir, "afile", "results.csv"), in)
	if code == 0 || code == crmsync.ExitNeedsPerson || !strings.Contains(stderr, "results not written") {
		t.Errorf("run with an unwritable -results: exit %d, want a failure saying the results were not written\n%s", code, stderr)
	}
	f, err := excelize.OpenFile(rep)
	if err != nil {
		t.Fatalf("no report: %v", err)
	}
	defer f.Close()
	rs, _ := f.GetRows("score")
	if len(rs) != 4 {
		t.Errorf("score sheet has %d rows, want the header and all 3: %q", len(rs), rs)
	}
}
