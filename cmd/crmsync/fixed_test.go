package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
)

// fixProblem sets the 消费金额 cell of the one row of the score sheet of
// problems workbook path to amount (clearing its 事件ID when clearID), saves
// it as out and returns the 事件ID it held.
func fixProblem(t *testing.T, path, out, amount string, clearID bool) string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatalf("open problems workbook: %v", err)
	}
	defer f.Close()
	rows, _ := f.GetRows("score")
	amt, id := slices.Index(rows[0], "消费金额"), slices.Index(rows[0], "事件ID")
	if len(rows) != 2 || amt < 0 || id < 0 {
		t.Fatalf("problems workbook %s: %q, want the header and the bad row", path, rows)
	}
	held := ""
	if id < len(rows[1]) {
		held = rows[1][id]
	}
	cell, _ := excelize.CoordinatesToCellName(amt+1, 2)
	f.SetCellStr("score", cell, amount)
	if clearID {
		cell, _ = excelize.CoordinatesToCellName(id+1, 2)
		f.SetCellStr("score", cell, "")
	}
	if err := f.SaveAs(out); err != nil {
		t.Fatal(err)
	}
	return held
}

// TestFixedRowReconciles is the Done-when: a row fixed through the
// problems workbook and delivered settles its mistake everywhere: nothing is
// outstanding; running the original file again counts the bad row as fixed
// (exit 0); reconciling it matches the bad row with its delivered fix (no
// orphan, no invalid row), the finance totals tie out and reconcile exits 0.
// The fix goes under the workbook's 事件ID (the original's natural key, or
// the original's own 事件ID column) or, with 事件ID cleared, under its
// natural key; the original is CSV or XLSX; a first fix may itself be
// invalid (fixed again from its own problems workbook); a fix may be run
// twice (sent once).
func TestFixedRowReconciles(t *testing.T) {
	for _, tc := range []struct {
		name     string
		xlsx     bool // the original is an XLSX workbook, else CSV
		eventIDs bool // the original has an 事件ID column: E-T1, E-T2
		clearID  bool // the person clears the 事件ID of the problems workbook
		badFirst bool // the first fix is invalid too
		twice    bool // the fixed workbook is run twice
	}{
		{name: "csv by 事件ID"},
		{name: "csv by natural key", clearID: true},
		{name: "csv with its own 事件ID column", eventIDs: true},
		{name: "xlsx by 事件ID", xlsx: true},
		{name: "xlsx by natural key", xlsx: true, clearID: true},
		{name: "fix itself invalid", badFirst: true},
		{name: "fixed twice", twice: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := mallcootest.NewServer(mallcootest.Options{})
			defer srv.Close()
			vars := sandboxEnv(srv)
			dir := t.TempDir()
			db := filepath.Join(dir, "l.db")
			header := []string{"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "TradeAmount", "CrmShopID", "Score", "ReturnTime", "ReturnAmount"}
			rows := [][]string{
				{"T1", "C1", "1", "2024-11-01 10:00:00", "100.00", "S1", "100", "", ""},
				{"T2", "C2", "1", "2024-11-01 11:00:00", "12.3.4", "S1", "12", "", ""},
			}
			wantKey := "T2"
			if tc.eventIDs {
				header = append(header, "事件ID")
				rows[0], rows[1] = append(rows[0], "E-T1"), append(rows[1], "E-T2")
				wantKey = "E-T2"
			}
			var orig string
			if tc.xlsx {
				orig = filepath.Join(dir, "score.xlsx")
				x := excelize.NewFile()
				for i, r := range append([][]string{header}, rows...) {
					cell, _ := excelize.CoordinatesToCellName(1, i+1)
					x.SetSheetRow("Sheet1", cell, &r)
				}
				if err := x.SaveAs(orig); err != nil {
					t.Fatal(err)
				}
				x.Close()
			} else {
				orig = filepath.Join(dir, "score.csv")
				var b strings.Builder
				for _, r := range append([][]string{header}, rows...) {
					b.WriteString(strings.Join(r, ",") + "\n")
				}
				os.WriteFile(orig, []byte(b.String()), 0o644)
			}

			code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r1.xlsx"), orig)
			if code != crmsync.ExitNeedsPerson {
				t.Fatalf("first run: exit %d, want 3\n%s", code, stderr)
			}
			problems := decodeSummary(t, stdout).Problems
			fixed := filepath.Join(dir, "fixed.xlsx")
			amount := "12.30"
			if tc.badFirst {
				amount = "12,30元"
			}
			if id := fixProblem(t, problems, fixed, amount, tc.clearID); id != wantKey {
				t.Errorf("problems workbook: 事件ID %q, want %q (the bad row's key)", id, wantKey)
			}
			if tc.badFirst {
				code, stdout, stderr := cli(t, vars, "run", "-json", "-ledger", db, "-report", filepath.Join(dir, "r2a.xlsx"), fixed)
				if code != crmsync.ExitNeedsPerson {
					t.Fatalf("run of the invalid fix: exit %d, want 3\n%s", code, stderr)
				}
				if code, stdout, _ := cli(t, vars, "reconcile", "-json", "-ledger", db, "-report", filepath.Join(dir, "rec0.xlsx"), orig); code != crmsync.ExitNeedsPerson {
					t.Errorf("reconcile before the fix was delivered: exit %d, want 3\n%s", code, stdout)
				} else if out := reconcileJSONOf(t, stdout); out.Invalid != 1 || out.Matched != 1 {
					t.Errorf("reconcile before the fix was delivered: %+v, want T1 matched and T2 invalid", out)
				}
				fixed = filepath.Join(dir, "fixed2.xlsx")
				fixProblem(t, decodeSummary(t, stdout).Problems, fixed, "12.30", tc.clearID)
			}
			runs := 1
			if tc.twice {
				runs = 2
			}
			for i := range runs {
				if code, _, stderr := cli(t, vars, "run", "-ledger", db, "-report", filepath.Join(dir, fmt.Sprintf("r2-%d.xlsx", i)), fixed); code != crmsync.ExitOK {
					t.Fatalf("run %d of the fixed workbook: exit %d, want 0\n%s", i+1, code, stderr)
				}
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

			code, stdout, stderr = cli(t, vars, "reconcile", "-json", "-ledger", db, "-report", filepath.Join(dir, "rec.xlsx"), orig)
			out := reconcileJSONOf(t, stdout)
			if code != crmsync.ExitOK || !out.TiesOut {
				t.Errorf("reconcile of the original file: exit %d, ties out %v; want 0, true\n%s\n%s", code, out.TiesOut, stdout, stderr)
			}
			if out.Matched != 2 || out.Fixed != 1 || out.Invalid != 0 || out.Orphans != 0 || out.Missing != 0 {
				t.Errorf("reconcile of the original file: %+v, want 2 matched (T2 as fixed), no invalid row, no orphan", out)
			}
			if len(out.Totals) != 1 {
				t.Fatalf("reconcile totals %+v, want one line (2024-11-01, S1, score)", out.Totals)
			}
			if tot := out.Totals[0]; tot.Differs || tot.FileAmount != tot.ConfirmedAmount || tot.FileScore != tot.ConfirmedScore || !strings.HasPrefix(tot.FileAmount, "112.3") {
				t.Errorf("reconcile totals %+v, want file = sent = confirmed, amount 112.30 (T1 and the fixed T2)", tot)
			}
			if st := readStatus(t, db); st.Outstanding.Total != 0 {
				t.Errorf("outstanding at the end: %+v, want none", st.Outstanding)
			}
			var got []string
			for _, r := range srv.Delivered(crmsync.KindScore) {
				got = append(got, string(r.Body))
			}
			if len(got) != 2 || !strings.Contains(got[1], `"TransID":"T2"`) || !strings.Contains(got[1], `"TradeAmount":12.3`) {
				t.Errorf("delivered %q, want T1 and the fixed T2 (TradeAmount 12.30), each once", got)
			}
		})
	}
}
