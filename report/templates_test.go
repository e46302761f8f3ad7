package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

var update = flag.Bool("update", false, "rewrite ../templates")

// TestTemplatesCurrent keeps the committed templates in step with the specs:
// it regenerates them and compares cell by cell (CSV byte for byte). Run
// `go test ./report -update` to rewrite ../templates.
func TestTemplatesCurrent(t *testing.T) {
	const golden = "../templates"
	if *update {
		if _, err := Templates(golden, nil, Options{}); err != nil {
			t.Fatalf("Templates(%s): %v", golden, err)
		}
	}
	dir := t.TempDir()
	paths, err := Templates(dir, nil, Options{})
	if err != nil {
		t.Fatalf("Templates: %v", err)
	}
	if len(paths) != 2*len(crmsync.Kinds) {
		t.Errorf("Templates wrote %d files, want %d", len(paths), 2*len(crmsync.Kinds))
	}
	for _, p := range paths {
		name := filepath.Base(p)
		want := filepath.Join(golden, name)
		if filepath.Ext(p) == ".csv" {
			got, _ := os.ReadFile(p)
			w, err := os.ReadFile(want)
			if err != nil {
				t.Errorf("%v (run go test ./report -update)", err)
				continue
			}
			if !bytes.Equal(got, w) {
				t.Errorf("%s differs from %s (run go test ./report -update):\ngot  %q\nwant %q", p, want, got, w)
			}
			continue
		}
		if _, err := os.Stat(want); err != nil {
			t.Errorf("%v (run go test ./report -update)", err)
			continue
		}
		if diff := cmp.Diff(workbookContent(t, want), workbookContent(t, p)); diff != "" {
			t.Errorf("%s differs from %s (run go test ./report -update) (-want +got):\n%s", name, want, diff)
		}
	}
}

// content is what a person sees in a workbook: sheets, cells, comments and
// drop-down lists.
type content struct {
	Sheets      []string
	Cells       map[string][][]string
	Comments    map[string][]excelize.Comment
	Validations map[string][]*excelize.DataValidation
	Title       string
}

func workbookContent(t *testing.T, path string) content {
	t.Helper()
	f := open(t, path)
	c := content{Sheets: f.GetSheetList(), Cells: map[string][][]string{},
		Comments: map[string][]excelize.Comment{}, Validations: map[string][]*excelize.DataValidation{}}
	for _, s := range c.Sheets {
		c.Cells[s] = rows(t, f, s)
		cm, err := f.GetComments(s)
		if err != nil {
			t.Fatalf("GetComments(%s): %v", s, err)
		}
		c.Comments[s] = cm
		dv, err := f.GetDataValidations(s)
		if err != nil {
			t.Fatalf("GetDataValidations(%s): %v", s, err)
		}
		c.Validations[s] = dv
	}
	p, err := f.GetDocProps()
	if err != nil {
		t.Fatal(err)
	}
	c.Title = p.Title
	return c
}

func TestTemplates(t *testing.T) {
	dir := t.TempDir()
	paths, err := Templates(dir, []crmsync.Kind{crmsync.KindScoreV2, crmsync.KindGrade}, Options{Lang: "en"})
	if err != nil {
		t.Fatalf("Templates: %v", err)
	}
	want := []string{"score-v2.xlsx", "score-v2.csv", "grade.xlsx", "grade.csv"}
	var got []string
	for _, p := range paths {
		got = append(got, filepath.Base(p))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Templates paths (-want +got):\n%s", diff)
	}

	csv, _ := os.ReadFile(filepath.Join(dir, "grade.csv"))
	if want := "\uFEFFThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,Remark,GradeChangeRuleID,GradeChangeType,GradeChangeID\r\n"; string(csv) != want {
		t.Errorf("grade.csv = %q, want %q", csv, want)
	}

	f := open(t, filepath.Join(dir, "score-v2.xlsx"))
	if diff := cmp.Diff([]string{"score-v2", "score-v2.promotions", "score-v2.payments", "README"}, f.GetSheetList()); diff != "" {
		t.Errorf("score-v2 template sheets (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{Columns(crmsync.KindScoreV2, "en")}, rows(t, f, "score-v2")); diff != "" {
		t.Errorf("score-v2 data sheet (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([][]string{{"TransID", "PayType", "PayNo", "Amount"}}, rows(t, f, "score-v2.payments")); diff != "" {
		t.Errorf("payments sheet (-want +got):\n%s", diff)
	}
	cm, _ := f.GetComments("score-v2")
	if len(cm) != len(Columns(crmsync.KindScoreV2, "en")) {
		t.Errorf("score-v2 has %d header comments, want one per column", len(cm))
	}
	if cm[0].Cell != "A1" || cm[0].Text != "" && !bytes.Contains([]byte(cm[0].Text), []byte("required")) {
		t.Errorf("comment on A1 = %+v", cm[0])
	}
	// ScoreEvent (column C) is a closed enum: a drop-down of codes that refuses others.
	dvs, _ := f.GetDataValidations("score-v2")
	var found bool
	for _, dv := range dvs {
		if dv.Sqref == "C2:C1048576" {
			found = true
			if dv.Formula1 != `"1,2101"` || !dv.ShowErrorMessage {
				t.Errorf("ScoreEvent validation = %+v, want list 1,2101 refusing others", dv)
			}
		}
	}
	if !found {
		t.Errorf("no drop-down on ScoreEvent: %+v", dvs)
	}
	// TransID (column A) is text-formatted so Excel keeps IDs as typed.
	id, _ := f.GetColStyle("score-v2", "A")
	st, _ := f.GetStyle(id)
	if st == nil || st.CustomNumFmt == nil || *st.CustomNumFmt != "@" {
		t.Errorf("TransID column style = %+v, want text (@)", st)
	}
	readme := rows(t, f, "README")
	if r := findRow(readme, "交易ID", "TransID"); r == nil || r[3] != "required" {
		t.Errorf("README TransID row = %q", r)
	}
	if !slices.ContainsFunc(readme, func(r []string) bool { return len(r) > 0 && r[0] == "Sheet: score-v2.promotions" }) {
		t.Errorf("README lacks the promotions sheet")
	}
}
