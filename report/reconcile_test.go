package report

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

func TestFieldDiffs(t *testing.T) {
	sent := []byte(`{"TransID":"T1","TradeAmount":1280.5,"CrmShopID":"S1","PosID":null,"Score":12}`)
	file := []byte(`{"TransID":"T1","TradeAmount":1300,"CrmShopID":"S1","PosID":"P9","Score":12}`)
	got := FieldDiffs(sent, file, true)
	want := []string{"TradeAmount: 1280.5 → 1300", "PosID: (none) → P9"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("FieldDiffs (-want +got):\n%s", diff)
	}
}

func TestExactSums(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "0.00"},
		{[]string{"0.1", "0.2"}, "0.30"},
		{[]string{"1280.5", "-1280.50"}, "0.00"},
		{[]string{"12", "0.125", "-1"}, "11.125"},
		{[]string{"9223372036854775807", "1"}, "9223372036854775808.00"},
		{[]string{"99999999999999999.99", "0.01"}, "100000000000000000.00"},
		{[]string{"1e5", "abc", "5"}, "5.00"},
	} {
		var d decimal
		for _, s := range tc.in {
			d.add(s)
		}
		if got := d.String(); got != tc.want {
			t.Errorf("sum of %q = %s, want %s", tc.in, got, tc.want)
		}
	}
}

var recDay = time.Date(2024, 11, 1, 10, 0, 0, 0, mallcoo.CST)

func recScoreBody(id, shop, amount, score string) []byte {
	return []byte(`{"TransID":"` + id + `","ThirdPartyCardID":"C1","ScoreEvent":1,"TradeTime":"2024-11-01 10:00:00","TradeAmount":` + amount + `,"CrmShopID":"` + shop + `","Score":` + score + `}`)
}

// TestReconcileReport writes entries of every category, interleaved,
// reopens the workbook and checks its sheets and totals.
func TestReconcileReport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.xlsx")
	r, err := NewReconcile(path, Options{Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	sk := crmsync.KindScore
	entries := []*crmsync.ReconcileEntry{
		{Category: crmsync.CategoryMatched, Kind: sk, Key: "T1", Time: recDay, Body: recScoreBody("T1", "S1", "100.10", "100"),
			State: crmsync.StateSent, LedgerKind: sk, LedgerTime: recDay, LedgerBody: recScoreBody("T1", "S1", "100.10", "100")},
		{Category: crmsync.CategoryMismatched, Kind: sk, Key: "T2", Source: crmsync.SourceRef{File: "f.csv", Row: 3}, Time: recDay,
			Body: recScoreBody("T2", "S1", "1300", "13"), State: crmsync.StateSent, LedgerKind: sk, LedgerTime: recDay,
			LedgerBody: recScoreBody("T2", "S1", "1280.5", "13"), HasCode: true, Code: 1},
		{Category: crmsync.CategoryMissing, Kind: sk, Key: "T9", Source: crmsync.SourceRef{File: "f.csv", Row: 4}, Time: recDay,
			Body: recScoreBody("T9", "S2", "50", "5"), Reason: "never sent"},
		{Category: crmsync.CategoryOrphan, Kind: sk, Key: "T3", State: crmsync.StateSent, LedgerKind: sk, LedgerTime: recDay,
			LedgerBody: recScoreBody("T3", "S1", "20", "2"), HasCode: true, Code: 1},
		{Category: crmsync.CategoryInvalid, Kind: sk, Source: crmsync.SourceRef{File: "f.csv", Row: 6}, Column: "TradeAmount", Reason: "not a number", Values: []string{"T5", "x"}},
		{Category: crmsync.CategoryMissing, Kind: sk, Key: "T8", Source: crmsync.SourceRef{File: "f.csv", Row: 7}, Time: recDay,
			Body: recScoreBody("T8", "S2", "7", "1"), State: crmsync.StateRejected, LedgerKind: sk, LedgerTime: recDay,
			LedgerBody: recScoreBody("T8", "S2", "7", "1"), HasCode: true, Code: 400, Message: "bad card"},
	}
	for _, e := range entries {
		if err := r.Add(e); err != nil {
			t.Fatalf("Add(%s) = %v", e.Key, err)
		}
	}
	wantCounts := map[crmsync.Category]int{crmsync.CategoryMatched: 1, crmsync.CategoryMismatched: 1, crmsync.CategoryMissing: 2, crmsync.CategoryOrphan: 1, crmsync.CategoryInvalid: 1}
	if diff := cmp.Diff(wantCounts, r.Counts()); diff != "" {
		t.Errorf("Counts() (-want +got):\n%s", diff)
	}
	wantTotals := []Total{
		{Date: "2024-11-01", Shop: "S1", Kind: sk, FileRows: 2, SentRows: 3, ConfirmedRows: 3,
			FileAmount: "1400.10", SentAmount: "1400.60", ConfirmedAmount: "1400.60",
			FileScore: "113.00", SentScore: "115.00", ConfirmedScore: "115.00", Differs: true},
		{Date: "2024-11-01", Shop: "S2", Kind: sk, FileRows: 2, SentRows: 1, ConfirmedRows: 0,
			FileAmount: "57.00", SentAmount: "7.00", ConfirmedAmount: "0.00",
			FileScore: "6.00", SentScore: "1.00", ConfirmedScore: "0.00", Differs: true},
	}
	if diff := cmp.Diff(wantTotals, r.Totals().All()); diff != "" {
		t.Errorf("Totals() (-want +got):\n%s", diff)
	}
	info := ReconcileInfo{Ledger: "l.db", Generated: recDay, Windows: []crmsync.Window{{Kind: sk, Since: recDay, Until: recDay.AddDate(0, 0, 1)}}}
	if err := r.Close(info); err != nil {
		t.Fatalf("Close() = %v", err)
	}

	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	wantSheets := []string{"Summary", "mismatched", "missing", "orphans", "invalid"}
	if got := f.GetSheetList(); !slices.Equal(got, wantSheets) {
		t.Errorf("sheets = %q, want %q", got, wantSheets)
	}
	rows, err := f.GetRows("mismatched")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1][1] != "T2" || !strings.Contains(rows[1][8], "TradeAmount: 1280.5 → 1300") {
		t.Errorf("mismatched sheet = %q, want T2 with TradeAmount: 1280.5 → 1300", rows)
	}
	rows, _ = f.GetRows("missing")
	if len(rows) != 3 || rows[1][1] != "T9" || rows[1][6] != "never sent" || rows[2][6] != "rejected" || rows[2][9] != "400" {
		t.Errorf("missing sheet = %q, want T9 never sent and T8 rejected 400", rows)
	}
	rows, _ = f.GetRows("orphans")
	if len(rows) != 2 || rows[1][1] != "T3" {
		t.Errorf("orphans sheet = %q, want T3", rows)
	}
	rows, _ = f.GetRows("invalid")
	if len(rows) != 2 || !strings.Contains(rows[1][8], "not a number") {
		t.Errorf("invalid sheet = %q, want the reason", rows)
	}
	rows, _ = f.GetRows("Summary")
	var found bool
	for _, r := range rows {
		if len(r) >= 12 && r[0] == "2024-11-01" && r[1] == "S1" {
			found = true
			if r[6] != "1,400.10" || r[7] != "1,400.60" {
				t.Errorf("summary totals row = %q, want file 1,400.10 and sent 1,400.60", r)
			}
		}
	}
	if !found {
		t.Errorf("summary has no totals row for 2024-11-01 S1:\n%q", rows)
	}
}

// TestReconcileTotalsOrder: the totals are lines per business day (in
// Beijing time: 23:30 and 00:30 are two days), shop and kind, sorted by
// date (none first), shop and the order of the kinds, whatever order the
// entries came in; Differ counts the lines whose columns disagree.
func TestReconcileTotalsOrder(t *testing.T) {
	r, err := NewReconcile(filepath.Join(t.TempDir(), "rec.xlsx"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	sk, v2 := crmsync.KindScore, crmsync.KindScoreV2
	late := time.Date(2024, 11, 1, 23, 30, 0, 0, mallcoo.CST)
	early := time.Date(2024, 11, 2, 0, 30, 0, 0, mallcoo.CST).UTC() // 16:30 UTC on 1 November
	matched := func(k crmsync.Kind, at time.Time, shop, amount string) *crmsync.ReconcileEntry {
		b := recScoreBody("T", shop, amount, "1")
		return &crmsync.ReconcileEntry{Category: crmsync.CategoryMatched, Kind: k, Key: "T", Time: at, Body: b,
			State: crmsync.StateSent, LedgerKind: k, LedgerTime: at, LedgerBody: b}
	}
	for _, e := range []*crmsync.ReconcileEntry{
		matched(sk, early, "S2", "1"),
		matched(v2, late, "S1", "2"),
		matched(sk, late, "S2", "3"),
		matched(sk, late, "S1", "4"),
		{Category: crmsync.CategoryMatched, Kind: crmsync.KindMember, Key: "C1", State: crmsync.StateSent, LedgerKind: crmsync.KindMember},
		{Category: crmsync.CategoryMissing, Kind: sk, Key: "T9", Time: early, Body: recScoreBody("T9", "S1", "5", "1")},
		matched(sk, late, "S1", "6"),
	} {
		if err := r.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	ts := r.Totals()
	for _, tot := range ts.All() {
		got = append(got, fmt.Sprintf("%s %s %s %d %s %v", tot.Date, tot.Shop, tot.Kind, tot.FileRows, tot.FileAmount, tot.Differs))
	}
	want := []string{
		"  member 1 0.00 true", // no body as sent
		"2024-11-01 S1 score 2 10.00 false",
		"2024-11-01 S1 score-v2 1 0.00 false", // not score's field names
		"2024-11-01 S2 score 1 3.00 false",
		"2024-11-02 S1 score 1 5.00 true",
		"2024-11-02 S2 score 1 1.00 false",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("totals (-want +got):\n%s", diff)
	}
	if ts.Len() != len(want) || ts.Differ() != 2 {
		t.Errorf("Len %d, Differ %d; want %d and 2", ts.Len(), ts.Differ(), len(want))
	}
}

// TestReconcileTotalsFit: the summary's amount and score columns (G to L)
// widen to the widest total as shown, as the run report's do; small totals
// leave them as they are.
func TestReconcileTotalsFit(t *testing.T) {
	sk := crmsync.KindScore
	for _, c := range []struct {
		amount         string
		amounts, score float64 // width of G (file amount) and J (file score)
	}{
		{"100.10", 14, 12},
		{"25045000000.00", 19, 19}, // "25,045,000,000.00": 17 + 2
	} {
		path := filepath.Join(t.TempDir(), "rec.xlsx")
		r, err := NewReconcile(path, Options{Lang: "en"})
		if err != nil {
			t.Fatal(err)
		}
		e := &crmsync.ReconcileEntry{Category: crmsync.CategoryMissing, Kind: sk, Key: "T9", Source: crmsync.SourceRef{File: "f.csv", Row: 2}, Time: recDay,
			Body: recScoreBody("T9", "S2", c.amount, c.amount), Reason: "never sent"}
		if err := r.Add(e); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(ReconcileInfo{Ledger: "l.db", Generated: recDay}); err != nil {
			t.Fatal(err)
		}
		f, err := excelize.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for col, want := range map[string]float64{"G": c.amounts, "J": c.score} {
			if w, err := f.GetColWidth("Summary", col); err != nil || w != want {
				t.Errorf("amount %s: column %s width %v, %v; want %v", c.amount, col, w, err, want)
			}
		}
		f.Close()
	}
}
