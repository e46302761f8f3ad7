package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
)

func TestMask(t *testing.T) {
	for _, c := range []struct {
		mask     func(string) string
		in, want string
	}{
		{MaskMobile, "13800138000", "138****8000"},
		{MaskMobile, "1380013800", "******3800"}, // not a mobile: masked as an ID
		{MaskID, "201710000001", "********0001"},
		{MaskID, "0201710000001", "*********0001"},
		{MaskID, "C1", "**"},
		{MaskID, "会员卡号12345", "*****2345"},
	} {
		if got := c.mask(c.in); got != c.want {
			t.Errorf("mask(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// TestWriteMasksPersonalData writes the report of a run with card IDs and
// mobiles by default: no card ID or mobile appears in full anywhere in the
// report — cells, keys, bodies, reasons, Mallcoo's messages — while the
// problems workbook keeps them whole for the person fixing the rows.
func TestWriteMasksPersonalData(t *testing.T) {
	s, src := testRun()
	src = append(src,
		&crmsync.Result{Kind: crmsync.KindMember, Key: "13800138000|2024-11-01", Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 3001,
			Message: "会员 13800138000 不存在", Source: crmsync.SourceRef{File: "in/member.csv", Row: 3}, Values: []string{"", "13800138000"},
			Body: []byte(`{"ThirdPartyCardID":null,"Mobile":"13800138000"}`)})
	s.Add(crmsync.KindMember, crmsync.OutcomeRejected)
	path := filepath.Join(t.TempDir(), "run-7.xlsx")
	problems, err := Write(context.Background(), path, s, src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	personal := []string{"0201610000343", "0201710000001", "0201710000002", "0201710000003", "0201710000009", "13800138000"}
	f := open(t, path)
	seen := map[string]bool{}
	for _, sheet := range f.GetSheetList() {
		for _, r := range rows(t, f, sheet) {
			for _, c := range r {
				for _, p := range personal {
					if strings.Contains(c, p) {
						t.Errorf("report sheet %s: cell %q shows %s in full", sheet, c, p)
					}
				}
				seen[c] = true
			}
		}
	}
	for _, want := range []string{"*********0001", "138****8000", "138****8000|2024-11-01", "会员 138****8000 不存在"} {
		if !seen[want] {
			t.Errorf("report has no cell %q", want)
		}
	}
	p := open(t, problems)
	full := map[string]bool{}
	for _, sheet := range p.GetSheetList() {
		for _, r := range rows(t, p, sheet) {
			for _, c := range r {
				full[c] = true
			}
		}
	}
	for _, want := range []string{"0201710000003", "13800138000"} {
		if !full[want] {
			t.Errorf("problems workbook has no cell %q: it must keep full values", want)
		}
	}
}

// TestReconcileMasksPersonalData: the reconciliation workbook masks card IDs
// in keys, bodies and the cells of invalid rows.
func TestReconcileMasksPersonalData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.xlsx")
	r, err := NewReconcile(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	body := scoreBody("T1", "0201710000001", "10", "10")
	for _, e := range []*crmsync.ReconcileEntry{
		{Category: crmsync.CategoryMismatched, Kind: crmsync.KindScore, Key: "T1", Body: body, LedgerBody: scoreBody("T1", "0201710000007", "10", "10"), State: crmsync.StateSent},
		{Category: crmsync.CategoryInvalid, Kind: crmsync.KindScore, Key: "T2", Values: scoreValues("T2", "0201710000002", "x", "1"), Column: "TradeAmount", Reason: "不是数字"},
		{Category: crmsync.CategoryOrphan, Kind: crmsync.KindBonus, Key: "R1|0201710000003", LedgerKind: crmsync.KindBonus, State: crmsync.StateSent,
			LedgerBody: []byte(`{"ThirdPartyCardID":"0201710000003","BonusAction":4,"GetBonus":1,"AfterBonus":2,"RefID":"R1","CreateTime":"2020-06-24 15:16:45"}`)},
	} {
		if err := r.Add(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(ReconcileInfo{}); err != nil {
		t.Fatal(err)
	}
	f := open(t, path)
	n := 0
	for _, sheet := range f.GetSheetList() {
		for _, row := range rows(t, f, sheet) {
			for _, c := range row {
				for _, p := range []string{"0201710000001", "0201710000002", "0201710000003", "0201710000007"} {
					if strings.Contains(c, p) {
						t.Errorf("reconciliation sheet %s: cell %q shows %s in full", sheet, c, p)
					}
				}
				if strings.Contains(c, "*********000") {
					n++
				}
			}
		}
	}
	if n < 3 {
		t.Errorf("only %d cells hold a masked card ID, want at least 3", n)
	}
}

// TestMaskNormalisedMobileAndCard: the importer sends and keys a member by
// the mobile and card ID it cleaned ("+86 138-0013-8000" → 13800138000,
// '0201710000005 → 0201710000005), so the key differs from the cell. The
// report and the results CSV mask the key as well as the cell.
func TestMaskNormalisedMobileAndCard(t *testing.T) {
	s := crmsync.NewSummary(7, "run", time.Now())
	src := memSource{
		{Seq: 1, Kind: crmsync.KindMember, Key: "m:13800138000|2024-11-01", Lane: "m:13800138000", Outcome: crmsync.OutcomeNew,
			Source: crmsync.SourceRef{File: "in/member.csv", Row: 2}, Values: []string{"", "+86 138-0013-8000"},
			Body: []byte(`{"ThirdPartyCardID":null,"Mobile":"13800138000"}`)},
		{Seq: 2, Kind: crmsync.KindMember, Key: "0201710000005|2024-11-01", Lane: "0201710000005", Outcome: crmsync.OutcomeNew,
			Source: crmsync.SourceRef{File: "in/member.csv", Row: 3}, Values: []string{"'0201710000005", ""},
			Body: []byte(`{"ThirdPartyCardID":"0201710000005","Mobile":null}`)},
	}
	s.Add(crmsync.KindMember, crmsync.OutcomeNew)
	s.Add(crmsync.KindMember, crmsync.OutcomeNew)
	dir := t.TempDir()
	path := filepath.Join(dir, "run-7.xlsx")
	if _, err := Write(context.Background(), path, s, src, Options{Results: filepath.Join(dir, "run-7.csv")}); err != nil {
		t.Fatal(err)
	}
	personal := []string{"13800138000", "0201710000005"}
	f := open(t, path)
	for _, sheet := range f.GetSheetList() {
		for _, r := range rows(t, f, sheet) {
			for _, c := range r {
				for _, p := range personal {
					if strings.Contains(c, p) {
						t.Errorf("report sheet %s: cell %q shows %s in full", sheet, c, p)
					}
				}
			}
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "run-7.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range personal {
		if strings.Contains(string(csv), p) {
			t.Errorf("results CSV shows %s in full:\n%s", p, csv)
		}
	}
}

// TestMaskQuotedInReason: an English reason quotes a cell with %q, which
// escapes a line break or a quote: a mobile cell holding two numbers on two
// lines is "13800138000\n13900139000" in the reason, which holds neither
// the cell nor a masked form. The report, the results CSV and the
// reconciliation workbook (which shows both languages) mask it too.
func TestMaskQuotedInReason(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "member_20241101.csv")
	if err := os.WriteFile(in, []byte("ThirdPartyCardID,Mobile\n,\"13800138000\n13900139000\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var row *crmsync.Row
	if _, err := (&importer.Reader{}).ReadFile(context.Background(), in, func(r *crmsync.Row) error { row = r; return nil }); err != nil || row == nil || row.Problem == nil {
		t.Fatalf("ReadFile = %v, row %+v: want one invalid row", err, row)
	}
	personal := []string{"13800138000", "13900139000"}
	if !strings.Contains(row.Problem.EN, `13800138000\n13900139000`) {
		t.Fatalf("the importer's reason %q no longer quotes the cell with %%q: the test needs another value", row.Problem.EN)
	}
	res := &crmsync.Result{Seq: 1, Kind: row.Kind, Source: row.Source, Values: row.Values, Outcome: crmsync.OutcomeInvalid,
		Column: row.Problem.Column, Reason: crmsync.EncodeProblems(row.Problems)}
	s := crmsync.NewSummary(7, "run", time.Now())
	s.Add(row.Kind, crmsync.OutcomeInvalid)
	path := filepath.Join(dir, "run-7.xlsx")
	if _, err := Write(context.Background(), path, s, memSource{res}, Options{Lang: "en", Results: filepath.Join(dir, "run-7.csv")}); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(dir, "rec.xlsx")
	r, err := NewReconcile(rec, Options{Lang: "en"})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Add(&crmsync.ReconcileEntry{Category: crmsync.CategoryInvalid, Kind: row.Kind, Source: row.Source, Values: row.Values,
		Column: row.Problem.Column, Reason: row.Problem.Reason}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(ReconcileInfo{}); err != nil {
		t.Fatal(err)
	}
	for _, book := range []string{path, rec} {
		f := open(t, book)
		for _, sheet := range f.GetSheetList() {
			for _, r := range rows(t, f, sheet) {
				for _, c := range r {
					for _, p := range personal {
						if strings.Contains(c, p) {
							t.Errorf("%s sheet %s: cell %q shows %s in full", filepath.Base(book), sheet, c, p)
						}
					}
				}
			}
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "run-7.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range personal {
		if strings.Contains(string(csv), p) {
			t.Errorf("results CSV shows %s in full:\n%s", p, csv)
		}
	}
}

// TestMaskCutInReason: a reason shows at most 40 characters of a cell, then
// "…": a mobile cell of four numbers showed the first three in full.
func TestMaskCutInReason(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "member_20241101.csv")
	if err := os.WriteFile(in, []byte("ThirdPartyCardID,Mobile\n,13800138000/13900139000/13700137000/13600136000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var row *crmsync.Row
	if _, err := (&importer.Reader{}).ReadFile(context.Background(), in, func(r *crmsync.Row) error { row = r; return nil }); err != nil || row == nil || row.Problem == nil {
		t.Fatalf("ReadFile = %v, row %+v: want one invalid row", err, row)
	}
	if !strings.Contains(row.Problem.ZH, "13800138000/13900139000/13700137000/1360…") {
		t.Fatalf("the importer's reason %q no longer cuts the cell at 40 characters: the test needs another value", row.Problem.ZH)
	}
	res := &crmsync.Result{Seq: 1, Kind: row.Kind, Source: row.Source, Values: row.Values, Outcome: crmsync.OutcomeInvalid,
		Column: row.Problem.Column, Reason: crmsync.EncodeProblems(row.Problems)}
	s := crmsync.NewSummary(7, "run", time.Now())
	s.Add(row.Kind, crmsync.OutcomeInvalid)
	for _, lang := range []string{"zh", "en"} {
		path := filepath.Join(dir, lang+".xlsx")
		if _, err := Write(context.Background(), path, s, memSource{res}, Options{Lang: lang, Results: filepath.Join(dir, lang+".csv")}); err != nil {
			t.Fatal(err)
		}
		f := open(t, path)
		csv, err := os.ReadFile(filepath.Join(dir, lang+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		texts := []string{string(csv)}
		for _, sheet := range f.GetSheetList() {
			for _, r := range rows(t, f, sheet) {
				texts = append(texts, r...)
			}
		}
		for _, c := range texts {
			for _, p := range []string{"13800138000", "13900139000", "13700137000"} {
				if strings.Contains(c, p) {
					t.Errorf("%s: %q shows %s in full", lang, c, p)
				}
			}
		}
	}
}

// TestMaskQuotedBadBytes: %q escapes a byte that is not UTF-8 (\xff), so
// that spelling of a cell is masked too.
func TestMaskQuotedBadBytes(t *testing.T) {
	var m masker
	cell := "13800138000\xff"
	m.row(crmsync.KindMember, []string{"", cell})
	if got := m.text(fmt.Sprintf("%q is not an 11-digit mainland mobile number", cell)); strings.Contains(got, "13800138000") {
		t.Errorf("masker.text = %q: shows the mobile in full", got)
	}
}

// TestMaskShortCardInKey: a card ID shorter than six characters is still a
// member's: the report and the results CSV mask it inside the keys built
// from it (a bonus's RefID|card, a grade change's card|time|grade, a
// member notice's card|day) and where a reason quotes it, though not
// inside other text, where "C12" could be part of anything.
func TestMaskShortCardInKey(t *testing.T) {
	s := crmsync.NewSummary(7, "run", time.Now())
	src := memSource{
		{Seq: 1, Kind: crmsync.KindBonus, Key: "R1|C12", Lane: "C12", Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 3001, Message: "会员不存在",
			Source: crmsync.SourceRef{File: "in/bonus.csv", Row: 2}, Values: []string{"C12", "4", "5", "115", "R1", "2024-11-01 10:00:00"},
			Body: []byte(`{"ThirdPartyCardID":"C12","BonusAction":4,"GetBonus":5,"AfterBonus":115,"RefID":"R1","CreateTime":"2024-11-01 10:00:00"}`)},
		{Seq: 2, Kind: crmsync.KindGrade, Key: "7788|2024-11-01 10:00:00|金卡", Lane: "7788", Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 3001,
			Source: crmsync.SourceRef{File: "in/grade.csv", Row: 2}, Values: []string{"7788", "普卡", "金卡", "0", "2024-11-01 10:00:00"},
			Body: []byte(`{"ThirdPartyCardID":"7788","BeforeCardCode":"普卡","AfterCardCode":"金卡","ChangeType":0,"ChangeTime":"2024-11-01 10:00:00"}`)},
		{Seq: 3, Kind: crmsync.KindMember, Key: "X9|2024-11-01", Lane: "X9", Outcome: crmsync.OutcomeRejected, HasCode: true, Code: 3001,
			Message: `会员 "X9" 不存在`, Source: crmsync.SourceRef{File: "in/member.csv", Row: 2}, Values: []string{"X9", ""},
			Body: []byte(`{"ThirdPartyCardID":"X9","Mobile":null}`)},
	}
	for _, r := range src {
		s.Add(r.Kind, r.Outcome)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "run-7.xlsx")
	if _, err := Write(context.Background(), path, s, src, Options{Results: filepath.Join(dir, "run-7.csv")}); err != nil {
		t.Fatal(err)
	}
	cells := map[string]bool{}
	f := open(t, path)
	for _, sheet := range f.GetSheetList() {
		for _, r := range rows(t, f, sheet) {
			for _, c := range r {
				cells[c] = true
			}
		}
	}
	for _, want := range []string{"R1|***", "****|2024-11-01 10:00:00|金卡", "**|2024-11-01", `会员 "**" 不存在`} {
		if !cells[want] {
			t.Errorf("report has no cell %q", want)
		}
	}
	for _, bad := range []string{"R1|C12", "7788|2024-11-01 10:00:00|金卡", "X9|2024-11-01"} {
		if cells[bad] {
			t.Errorf("report shows key %q in full", bad)
		}
	}
	csv, err := os.ReadFile(filepath.Join(dir, "run-7.csv"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"R1|C12", "7788|", "X9|"} {
		if strings.Contains(string(csv), bad) {
			t.Errorf("results CSV shows %s in full:\n%s", bad, csv)
		}
	}
	if !strings.Contains(string(csv), "R1|***") {
		t.Errorf("results CSV has no R1|***:\n%s", csv)
	}
}

// FuzzPersonalOf: the one pass over a body finds what the two searches
// (bodyField of each member) find, in bodies of every kind, with escapes,
// spaces, nested and repeated members.
func FuzzPersonalOf(f *testing.F) {
	for _, b := range []string{
		`{"TransID":"T1","ThirdPartyCardID":"02017000001","Score":"10"}`,
		`{"ThirdPartyCardID":"02017000001","Mobile":"13800138000"}`,
		`{"Mobile":"13800138000","ThirdPartyCardID":"0201\"7"}`,
		`{"Desc":"x\"Mobile\":\"1\"","Mobile": "139","ThirdPartyCardID":null}`,
		`{"List":[{"ThirdPartyCardID":"a"}],"ThirdPartyCardID":"b","Mobile":"c","Mobile":"d"}`,
		`{"Mobile":"a","Mobile":"b","ThirdPartyCardID":"c"}`,
		`{"ThirdPartyCardID":"\u0030201","Mobile":`, `"Mobile":"`, `""""`, ``,
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		card, mobile := personalOf(body)
		if wc, wm := bodyField(body, "ThirdPartyCardID"), bodyField(body, "Mobile"); card != wc || mobile != wm {
			t.Errorf("personalOf(%q) = %q, %q; want %q, %q (bodyField)", body, card, mobile, wc, wm)
		}
	})
}

// TestMaskReasonArgs: the parameters of a reason (crmsync.Because) are
// masked with its texts: an earlier event's key holds a member's mobile.
func TestMaskReasonArgs(t *testing.T) {
	m := NewMasker(false)
	m.Row(crmsync.KindMember, []byte(`{"ThirdPartyCardID":null,"Mobile":"13800138000"}`), nil)
	ps := []crmsync.Problem{crmsync.BecauseOf(crmsync.ReasonHeldOrder, "m:13800138000|2024-11-01", "failed")}
	m.Problems(ps)
	if got := ps[0].Text("en"); strings.Contains(got, "13800138000") || !strings.Contains(got, "138****8000") {
		t.Errorf("masked reason %q (args %q): want the mobile masked", got, ps[0].Args)
	}
}
