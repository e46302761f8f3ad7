package main

import (
	"bytes"
	"encoding/csv"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"
)

var update = flag.Bool("update", false, "rewrite samples/ from the generator")

const samplesDir = "../../samples"

// generated writes the samples into a temporary directory (or samples/
// with -update) and returns it.
func generated(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if *update {
		dir = samplesDir
	}
	if err := generate(dir); err != nil {
		t.Fatalf("generate(%q) = %v", dir, err)
	}
	return dir
}

func TestSamplesUpToDate(t *testing.T) {
	dir := generated(t)
	want := fileNames(t, dir)
	if got := fileNames(t, samplesDir); !slices.Equal(got, want) {
		t.Fatalf("files in samples/ = %q, want %q (run go test ./internal/samplegen -update)", got, want)
	}
	for _, name := range want {
		gen, committed := filepath.Join(dir, name), filepath.Join(samplesDir, name)
		if filepath.Ext(name) == ".xlsx" {
			if diff := cmp.Diff(xlsxCells(t, gen), xlsxCells(t, committed)); diff != "" {
				t.Errorf("cells of samples/%s differ from the generator (-generated +committed; run -update):\n%s", name, diff)
			}
			continue
		}
		a, b := readFile(t, gen), readFile(t, committed)
		if !bytes.Equal(a, b) {
			t.Errorf("samples/%s differs from the generator (run go test ./internal/samplegen -update)", name)
		}
	}
}

func TestDeterministic(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	if err := generate(a); err != nil {
		t.Fatal(err)
	}
	if err := generate(b); err != nil {
		t.Fatal(err)
	}
	for _, name := range fileNames(t, a) {
		if !bytes.Equal(readFile(t, filepath.Join(a, name)), readFile(t, filepath.Join(b, name))) {
			t.Errorf("two runs of generate wrote different bytes for %s", name)
		}
	}
}

// TestMarkedRows re-opens the files and checks that every row the README
// lists as bad is where it says, with the value it says.
func TestMarkedRows(t *testing.T) {
	dir := generated(t)
	s := build()
	for _, tb := range s.tables() {
		if tb.notes {
			continue
		}
		rows := readTable(t, dir, tb)
		if got, want := len(rows)-1, len(tb.rows); got != want {
			t.Errorf("%s %s: %d data rows, want %d", tb.file, tb.sheet, got, want)
		}
		for _, m := range tb.marks {
			r, c := excelRow(m.index)-1, tb.col(m.field)
			if got := rows[0][c]; got != tb.header[c] {
				t.Errorf("%s %s: header of column %s = %q, want %q", tb.file, tb.sheet, tb.colName(m.field), got, tb.header[c])
			}
			want := cellShown(tb.rows[m.index][c])
			if want == "(empty)" {
				want = ""
			}
			got := ""
			if r < len(rows) && c < len(rows[r]) {
				got = rows[r][c]
			}
			if got != want {
				t.Errorf("%s %s: cell %s%d = %q, want %q", tb.file, tb.sheet, tb.colName(m.field), r+1, got, want)
			}
		}
	}
}

// TestHeadersMapToSpec checks that every header the files carry maps to a
// field of the kind's spec, by API name (any case) or by Chinese label.
func TestHeadersMapToSpec(t *testing.T) {
	dir := generated(t)
	for _, tb := range build().tables() {
		if tb.notes {
			continue
		}
		spec := mallcoo.SpecOf(tb.kind)
		fields := spec.Fields
		if tb.item != "" {
			fields = append([]mallcoo.Field{*spec.Field("TransID")}, spec.Items[tb.item].Fields...)
		}
		header := readTable(t, dir, tb)[0]
		for i, h := range header {
			found := ""
			for _, f := range fields {
				if strings.EqualFold(h, f.Name) || h == f.Label {
					found = f.Name
				}
			}
			if found != tb.fields[i] {
				t.Errorf("%s %s: header %q maps to field %q, want %q", tb.file, tb.sheet, h, found, tb.fields[i])
			}
		}
	}
}

// TestScoreCSV checks the GBK file as the reader will see it.
func TestScoreCSV(t *testing.T) {
	dir := generated(t)
	raw := readFile(t, filepath.Join(dir, scoreCSVName))
	if !bytes.Contains(raw, []byte("\r\n")) || bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("%s: want CRLF line ends only", scoreCSVName)
	}
	if _, err := simplifiedchinese.GBK.NewDecoder().Bytes(raw); err != nil {
		t.Fatalf("GBK decode %s: %v", scoreCSVName, err)
	}
	rows := readTable(t, dir, build().score)
	if got, want := rows[0][0], "交易ID"; got != want {
		t.Errorf("%s: first header = %q, want %q", scoreCSVName, got, want)
	}
	if got, want := rows[1][1], "0201710000001"; got != want {
		t.Errorf("%s: B2 = %q, want %q", scoreCSVName, got, want)
	}
}

// TestDateCells checks that XLSX date cells read back as the times written.
func TestDateCells(t *testing.T) {
	dir := generated(t)
	f, err := excelize.OpenFile(filepath.Join(dir, xlsxName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	checks := map[[2]string]string{
		{"会员等级变更通知", "E2"}:          "2024-11-01 00:30:00",
		{"会员等级变更通知", "E4"}:          "2024-11-01 10:06:10",
		{"score-v2", "D2"}:          "2024-11-01 10:45:00",
		{"score-v2", "D4"}:          "45597.4375",
		{"score-v2", "B5"}:          "201710000009",
		{"CRM积分变更事件", "F2"}:         "2024-11-01 09:01:12",
		{"verify", "F3"}:            "2024-11-01 10:12:30",
		{"score-v2.payments", "D3"}: "280.5",
	}
	for at, want := range checks {
		got, err := f.GetCellValue(at[0], at[1])
		if err != nil || got != want {
			t.Errorf("GetCellValue(%q, %q) = %q, %v, want %q", at[0], at[1], got, err, want)
		}
	}
}

// TestBonusBalances checks that AfterBonus runs per member in CreateTime order.
func TestBonusBalances(t *testing.T) {
	var bonus *table
	for _, tb := range build().sheets {
		if tb.kind == crmsync.KindBonus {
			bonus = tb
		}
	}
	last := map[string]float64{}
	prev := 0.0
	for i, r := range bonus.rows {
		at := r[bonus.col("CreateTime")].num
		if at < prev {
			t.Errorf("bonus row %d: CreateTime before the row above", excelRow(i))
		}
		prev = at
		id := r[bonus.col("ThirdPartyCardID")].text
		get, after := r[bonus.col("GetBonus")].num, r[bonus.col("AfterBonus")].num
		if b, ok := last[id]; ok && b+get != after {
			t.Errorf("bonus row %d: AfterBonus %v, want %v + %v", excelRow(i), after, b, get)
		}
		last[id] = after
	}
}

func fileNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// readTable reads a table's file or sheet back as text rows, header first:
// CSV decoded (GBK, or UTF-8 without its BOM), XLSX cells as stored.
func readTable(t *testing.T, dir string, tb *table) [][]string {
	t.Helper()
	path := filepath.Join(dir, tb.file)
	if tb.sheet == "" {
		b := readFile(t, path)
		if tb.file == scoreCSVName {
			var err error
			if b, err = simplifiedchinese.GBK.NewDecoder().Bytes(b); err != nil {
				t.Fatalf("GBK decode %s: %v", tb.file, err)
			}
		}
		b = bytes.TrimPrefix(b, []byte(utf8BOM))
		rows, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
		if err != nil {
			t.Fatalf("read %s: %v", tb.file, err)
		}
		return rows
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.GetRows(tb.sheet, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("GetRows(%q) = %v", tb.sheet, err)
	}
	return rows
}

// xlsxCells lists every cell of a workbook: sheet, reference, type, raw
// value and value as shown.
func xlsxCells(t *testing.T, path string) []string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cells []string
	for _, sheet := range f.GetSheetList() {
		rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		for r, row := range rows {
			for c, raw := range row {
				ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
				typ, _ := f.GetCellType(sheet, ref)
				shown, _ := f.GetCellValue(sheet, ref)
				cells = append(cells, fmt.Sprintf("%s!%s type=%d raw=%q shown=%q", sheet, ref, typ, raw, shown))
			}
		}
	}
	return cells
}
