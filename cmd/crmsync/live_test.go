package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// TestPlanReportAsRecorded: the report of a plan of more rows than
// report_rows, written from the rows as the plan recorded them (the results
// CSV's lines and the finance totals; the rows that need a person read
// back), is the one crmsync report RUN-ID writes from the ledger: the same
// results CSV byte for byte, the same cells in every sheet of the report
// and of the problems workbook. The plan meets every kind, rows unchanged
// (in same), changed, duplicate, invalid and new.
func TestPlanReportAsRecorded(t *testing.T) {
	dir := t.TempDir()
	sent := filepath.Join(dir, "sent")
	in := filepath.Join(dir, "in")
	for _, d := range []string{sent, in} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	samples, err := os.ReadDir("../../samples")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range samples {
		b, err := os.ReadFile(filepath.Join("../../samples", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(sent, e.Name()), b, 0o644)
		if e.Name() == "2024-11-01_crm_export.xlsx" || e.Name() == "2024-11-01_member.csv" {
			os.WriteFile(filepath.Join(in, e.Name()), b, 0o644)
		}
	}
	os.WriteFile(filepath.Join(in, "2024-11-01_score.csv"), []byte("TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,PayType\n"+
		"T20241101000101,0201710000001,1,2024/11/1 10:05:03,1280.60,S0012,1280,\n"+
		"T20241101000103,0201710000003,1,2024/11/1 10:18:30,356.00,S0031,356,\n"+
		"T20241101000103,0201710000003,1,2024/11/1 10:18:30,356.00,S0031,356,\n"+
		"T9,0201710000009,1,2024/11/1 10:18:30,abc,S0031,356,\n"+
		"T10,0201710000010,1,2024/11/1 10:18:30,35,S0031,35,\n"), 0o644)
	db := filepath.Join(dir, "l.db")
	if code, _, stderr := cli(t, nil, "run", "-sandbox", "-ledger", db, "-report", filepath.Join(dir, "sent.xlsx"), sent); code != crmsync.ExitNeedsPerson {
		t.Fatalf("run: exit %d\n%s", code, stderr)
	}
	cfg := writeConfig(t, "report_rows = 1\n")
	rep := filepath.Join(dir, "r.xlsx")
	code, stdout, stderr := cli(t, nil, "plan", "-json", "-config", cfg, "-ledger", db, "-report", rep, in)
	if code != crmsync.ExitNeedsPerson {
		t.Fatalf("plan: exit %d\n%s", code, stderr)
	}
	var s crmsync.Summary
	if err := json.Unmarshal([]byte(stdout), &s); err != nil {
		t.Fatal(err)
	}
	for _, o := range []crmsync.Outcome{crmsync.OutcomeUnchanged, crmsync.OutcomeChanged, crmsync.OutcomeDuplicate, crmsync.OutcomeInvalid, crmsync.OutcomeNew} {
		if s.Counts[o] == 0 {
			t.Errorf("the plan has no %s row: %v", o, s.Counts)
		}
	}
	if len(s.ByKind) != len(crmsync.Kinds) {
		t.Errorf("the plan has rows of %d kinds, want all %d: %v", len(s.ByKind), len(crmsync.Kinds), s.ByKind)
	}
	again := filepath.Join(dir, "again.xlsx")
	if code, _, stderr := cli(t, nil, "report", "-config", cfg, "-ledger", db, "-report", again, strconv.FormatInt(s.RunID, 10)); code != 0 {
		t.Fatalf("report: exit %d\n%s", code, stderr)
	}
	live, err := os.ReadFile(filepath.Join(dir, "r-results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	read, err := os.ReadFile(filepath.Join(dir, "again-results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(live), "\r\n"); n != s.Rows+1 {
		t.Errorf("the plan's results CSV has %d lines, want a header and %d rows", n, s.Rows)
	}
	if diff := cmp.Diff(string(read), string(live)); diff != "" {
		t.Errorf("results CSV of the plan (+) vs crmsync report's (-):\n%s", diff)
	}
	for _, pair := range [][2]string{{rep, again}, {filepath.Join(dir, "r-problems.xlsx"), filepath.Join(dir, "again-problems.xlsx")}} {
		got, want := bookCells(t, pair[0]), bookCells(t, pair[1])
		// The two name their own results CSV and problems workbook.
		got = strings.NewReplacer("r-results.csv", "again-results.csv", "r-problems.xlsx", "again-problems.xlsx").Replace(got)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (+) vs %s (-):\n%s", pair[0], pair[1], diff)
		}
	}
}

// bookCells is every sheet of the workbook at path, by name, as text.
func bookCells(t *testing.T, path string) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	for _, sh := range f.GetSheetList() {
		rows, err := f.GetRows(sh)
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString("== " + sh + "\n")
		for _, r := range rows {
			b.WriteString(strings.Join(r, "|") + "\n")
		}
	}
	return b.String()
}
