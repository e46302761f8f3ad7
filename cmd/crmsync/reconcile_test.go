package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

const scoreHeader = "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,TradeSerialNo,PosID,ReturnTime,ReturnAmount,Score,PayType\n"

// cleanScore is a small clean score export over two days and two shops,
// with a return.
var cleanScore = []string{
	"T1,C001,1,2024-11-01 10:00:00,1280.50,S1,,POS1,,,128,",
	"T2,C002,1,2024-11-01 11:00:00,300.00,S2,,POS1,,,30,",
	"T3,C001,1,2024-11-02 09:00:00,99.90,S1,,POS2,,,10,",
	"R1,C001,2101,2024-11-01 10:00:00,1280.50,S1,T1,POS1,2024-11-02 12:00:00,1280.50,-128,",
	"T4,C003,1,2024-11-02 15:00:00,45.00,S2,,POS2,,,4,",
}

func writeScore(t *testing.T, dir, name string, rows []string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(scoreHeader+strings.Join(rows, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type reconcileOut struct {
	Matched    int    `json:"matched"`
	Mismatched int    `json:"mismatched"`
	Missing    int    `json:"missing"`
	Orphans    int    `json:"orphans"`
	Invalid    int    `json:"invalid"`
	Duplicates int    `json:"duplicates"`
	Fixed      int    `json:"fixed"`
	TiesOut    bool   `json:"ties_out"`
	Report     string `json:"report"`
	Totals     []struct {
		Date            string `json:"date"`
		Shop            string `json:"shop"`
		Kind            string `json:"kind"`
		FileAmount      string `json:"file_amount"`
		SentAmount      string `json:"sent_amount"`
		ConfirmedAmount string `json:"confirmed_amount"`
		FileScore       string `json:"file_score"`
		SentScore       string `json:"sent_score"`
		ConfirmedScore  string `json:"confirmed_score"`
		Differs         bool   `json:"differs"`
	} `json:"totals"`
}

// sentLedger runs the clean export against the fake Mallcoo and returns the
// ledger's path.
func sentLedger(t *testing.T, dir string) string {
	t.Helper()
	srv := mallcootest.NewServer(mallcootest.Options{})
	t.Cleanup(srv.Close)
	db := filepath.Join(dir, "ledger.db")
	in := writeScore(t, filepath.Join(dir, "sent"), "score.csv", cleanScore)
	code, _, stderr := cli(t, sandboxEnv(srv), "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "run.xlsx"), in)
	if code != crmsync.ExitOK {
		t.Fatalf("run: exit %d, want 0\n%s", code, stderr)
	}
	if n := len(srv.Requests()); n != len(cleanScore) {
		t.Fatalf("run: %d requests, want %d", n, len(cleanScore))
	}
	return db
}

func reconcileJSONOf(t *testing.T, stdout string) reconcileOut {
	t.Helper()
	var out reconcileOut
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatalf("reconcile -json output is not one JSON object: %v\n%s", err, stdout)
	}
	return out
}

// TestReconcileClean: the export that was sent ties out; the ledger is not
// touched.
func TestReconcileClean(t *testing.T) {
	dir := t.TempDir()
	db := sentLedger(t, dir)
	before, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	in := writeScore(t, filepath.Join(dir, "export"), "score.csv", cleanScore)
	code, stdout, stderr := cli(t, nil, "reconcile", "-json", "-ledger", db, "-report", filepath.Join(dir, "rec.xlsx"), in)
	if code != crmsync.ExitOK {
		t.Fatalf("reconcile clean export: exit %d, want 0\n%s\n%s", code, stdout, stderr)
	}
	out := reconcileJSONOf(t, stdout)
	if out.Matched != len(cleanScore) || out.Mismatched+out.Missing+out.Orphans+out.Invalid != 0 || !out.TiesOut {
		t.Errorf("reconcile clean export = %+v, want %d matched and nothing else", out, len(cleanScore))
	}
	for _, tt := range out.Totals {
		if tt.Differs || tt.FileAmount != tt.ConfirmedAmount || tt.FileScore != tt.ConfirmedScore {
			t.Errorf("totals %+v differ on a clean export", tt)
		}
	}
	if len(out.Totals) != 4 {
		t.Errorf("%d totals lines, want 4 (2 days × 2 shops): %+v", len(out.Totals), out.Totals)
	}
	if _, err := os.Stat(out.Report); err != nil {
		t.Errorf("report: %v", err)
	}
	after, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if string(after) != string(before) {
		t.Errorf("reconcile changed the ledger file")
	}
}

// TestReconcileChanges: one changed amount, one removed sale and one new
// sale are exactly 1 mismatched, 1 orphan and 1 missing, and the totals
// differ by exactly those amounts.
func TestReconcileChanges(t *testing.T) {
	dir := t.TempDir()
	db := sentLedger(t, dir)
	changed := []string{
		strings.Replace(cleanScore[0], "1280.50,S1", "1300,S1", 1), // T1: 1280.50 → 1300
		cleanScore[1],
		// T3 (2024-11-02, S1, 99.90, 10 points) removed
		cleanScore[3],
		cleanScore[4],
		"T5,C004,1,2024-11-02 16:00:00,60.00,S2,,POS2,,,6,", // new
	}
	in := writeScore(t, filepath.Join(dir, "export"), "score.csv", changed)
	rep := filepath.Join(dir, "rec.xlsx")
	code, stdout, stderr := cli(t, nil, "reconcile", "-json", "-lang", "en", "-ledger", db, "-report", rep, in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("reconcile changed export: exit %d, want %d\n%s\n%s", code, crmsync.ExitNeedsPerson, stdout, stderr)
	}
	out := reconcileJSONOf(t, stdout)
	if out.Matched != 3 || out.Mismatched != 1 || out.Orphans != 1 || out.Missing != 1 || out.Invalid != 0 || out.TiesOut {
		t.Errorf("reconcile changed export = %+v, want 3 matched, 1 mismatched, 1 orphan, 1 missing", out)
	}
	type line struct{ date, shop, file, sent, confirmed, fileScore, confirmedScore string }
	var got []line
	for _, tt := range out.Totals {
		if tt.Differs {
			got = append(got, line{tt.Date, tt.Shop, tt.FileAmount, tt.SentAmount, tt.ConfirmedAmount, tt.FileScore, tt.ConfirmedScore})
		}
	}
	want := []line{
		{"2024-11-01", "S1", "1300.00", "1280.50", "1280.50", "128.00", "128.00"},      // T1 +19.50
		{"2024-11-02", "S1", "-1280.50", "-1180.60", "-1180.60", "-128.00", "-118.00"}, // T3 −99.90, −10 points
		{"2024-11-02", "S2", "105.00", "45.00", "45.00", "10.00", "4.00"},              // T5 +60, +6 points
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(line{})); diff != "" {
		t.Errorf("differing totals (-want +got):\n%s", diff)
	}

	f, err := excelize.OpenFile(rep)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := func(sheet, key, text string) {
		t.Helper()
		rows, err := f.GetRows(sheet)
		if err != nil {
			t.Errorf("sheet %s: %v", sheet, err)
			return
		}
		if len(rows) != 2 || len(rows[1]) < 9 || rows[1][1] != key || !strings.Contains(strings.Join(rows[1], "|"), text) {
			t.Errorf("sheet %s = %q, want one row for %s saying %q", sheet, rows, key, text)
		}
	}
	check("mismatched", "T1", "TradeAmount: 1280.5 → 1300")
	check("missing", "T5", "never sent")
	check("orphans", "T3", `"TradeAmount":99.9`)
}

// TestReconcileDuplicatesAndInvalid: a repeated key and a bad row are
// invalid; the repeated row is compared once.
func TestReconcileDuplicatesAndInvalid(t *testing.T) {
	dir := t.TempDir()
	db := sentLedger(t, dir)
	rows := append(append([]string{}, cleanScore...), cleanScore[0], "T9,C009,1,2024-11-01 10:00:00,abc,S1,,,,,1,")
	in := writeScore(t, filepath.Join(dir, "export"), "score.csv", rows)
	code, stdout, stderr := cli(t, nil, "reconcile", "-json", "-ledger", db, "-report", filepath.Join(dir, "rec.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("reconcile: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	out := reconcileJSONOf(t, stdout)
	if out.Matched != len(cleanScore) || out.Invalid != 2 || out.Duplicates != 1 || out.Missing+out.Mismatched+out.Orphans != 0 {
		t.Errorf("reconcile = %+v, want %d matched, 2 invalid of which 1 duplicate", out, len(cleanScore))
	}
	for _, tt := range out.Totals {
		if tt.Differs {
			t.Errorf("totals %+v differ: a duplicate must be counted once", tt)
		}
	}
}

func TestReconcileUsage(t *testing.T) {
	dir := t.TempDir()
	in := writeScore(t, dir, "score.csv", cleanScore)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"reconcile"}, crmsync.ExitUsage},
		{[]string{"reconcile", "-lang", "fr", in}, crmsync.ExitUsage},
		{[]string{"reconcile", "-since", "2024-11-02", "-until", "2024-11-01", in}, crmsync.ExitUsage},
		{[]string{"reconcile", filepath.Join(dir, "missing.csv")}, crmsync.ExitUsage},
		{[]string{"reconcile", "-ledger", filepath.Join(dir, "none.db"), in}, crmsync.ExitFailed},
	} {
		if code, _, stderr := cli(t, nil, tc.args...); code != tc.want {
			t.Errorf("crmsync %q: exit %d, want %d\n%s", tc.args, code, tc.want, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); err == nil {
		t.Errorf("reconcile created a ledger that did not exist")
	}
}

// TestReconcileWindow: -since/-until limit the comparison to a day; rows
// outside are skipped and the removed sale of the next day is no orphan.
func TestReconcileWindow(t *testing.T) {
	dir := t.TempDir()
	db := sentLedger(t, dir)
	changed := []string{
		strings.Replace(cleanScore[0], "1280.50,S1", "1300,S1", 1), // 2024-11-01: mismatched
		cleanScore[1], // 2024-11-01: matched
		cleanScore[3], // a return on 2024-11-02: skipped
		cleanScore[4], // 2024-11-02: skipped (T3 of that day removed: outside the window)
	}
	in := writeScore(t, filepath.Join(dir, "export"), "score.csv", changed)
	code, stdout, stderr := cli(t, nil, "reconcile", "-json", "-since", "2024-11-01", "-until", "2024-11-02", "-ledger", db, "-report", filepath.Join(dir, "rec.xlsx"), in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("reconcile: exit %d, want %d\n%s", code, crmsync.ExitNeedsPerson, stderr)
	}
	var out struct {
		reconcileOut
		Skipped int `json:"skipped"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil {
		t.Fatal(err)
	}
	if out.Matched != 1 || out.Mismatched != 1 || out.Skipped != 2 || out.Orphans+out.Missing+out.Invalid != 0 {
		t.Errorf("reconcile -since 2024-11-01 -until 2024-11-02 = %+v, want 1 matched, 1 mismatched, 2 skipped", out)
	}
}
