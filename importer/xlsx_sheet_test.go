package importer

import (
	"archive/zip"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// writeParts writes a workbook of one sheet, "grade", from its worksheet and
// shared strings XML.
func writeParts(t *testing.T, dir, sheetXML, sstXML string) string {
	t.Helper()
	files := [][2]string{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`},
		{"xl/workbook.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="grade" sheetId="1" r:id="rId1"/></sheets></workbook>`},
		{"xl/_rels/workbook.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`},
		{"xl/worksheets/sheet1.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + sheetXML + `</sheetData></worksheet>`},
		{"xl/sharedStrings.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">` + sstXML + `</sst>`},
	}
	p := filepath.Join(dir, "grade.xlsx")
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	for _, f := range files {
		w, err := zw.Create(f[0])
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(f[1]))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	out.Close()
	return p
}

// excelizeRows is what excelize's row iterator reads from a sheet, with raw
// values: the oracle of sheetRows' values.
func excelizeRows(t *testing.T, path, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := f.Rows(sheet)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out [][]string
	for rows.Next() {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]string{}, cells...))
	}
	return out
}

// sheetValues is what sheetRows reads from a sheet, before cell types
// apply.
func sheetValues(t *testing.T, path, sheet string) [][]string {
	t.Helper()
	f, err := excelize.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zf, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zf.Close()
	parts, err := workbookParts(&zf.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sst, err := sharedStrings(f, &zf.Reader, 0)
	if err != nil {
		t.Fatal(err)
	}
	sr, err := openSheetPart(f, &zf.Reader, parts[sheet], sst, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer sr.Close()
	var out [][]string
	for n := 1; ; n++ {
		cells, _, eof, err := sr.row(n)
		if err != nil {
			t.Fatalf("row %d: %v", n, err)
		}
		if eof {
			return out
		}
		out = append(out, append([]string{}, cells...))
	}
}

// The sheet of TestSheetOnePass: shared strings in rich-text runs with a
// phonetic run, inline strings, _xHHHH_ escapes, entities and CDATA, rows
// and cells without r attributes, a row the XML leaves out, a formula with
// its cached value, a boolean, an error, a number of 17 digits.
const (
	hostileSST = `<si><t>ThirdPartyCardID</t></si>` +
		`<si><r><rPr><b/></rPr><t>Before</t></r><r><t>CardCode</t></r><rPh sb="0" eb="1"><t>ビフォー</t></rPh></si>` +
		`<si><t>AfterCardCode</t></si><si><t>ChangeType</t></si><si><t>ChangeTime</t></si><si><t>Remark</t></si><si><t>GradeChangeID</t></si>` +
		`<si><t xml:space="preserve">普卡_x005F_x</t></si>`
	hostileSheet = `<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c t="s"><v>2</v></c><c t="s"><v>3</v></c><c t="s"><v>4</v></c><c t="s"><v>5</v></c><c t="s"><v>6</v></c></row>` +
		`<row r="3"><c r="A3" t="inlineStr"><is><t>0201710000001</t></is></c><c t="s"><v>7</v></c>` +
		`<c t="inlineStr"><is><r><t>金</t></r><r><rPr/><t><![CDATA[卡]]></t></r><rPh><t>キン</t></rPh></is></c>` +
		`<c><v>0</v></c><c><v>45597.42</v></c><c t="inlineStr"><is><t>年度_x000A_升级 &amp; more</t></is></c>` +
		`<c t="str"><f>"GC"&amp;"1"</f><v>GC1</v></c></row>` +
		`<row><c r="A4" t="b"><v>1</v></c><c r="B4" t="e"><v>#N/A</v></c><c r="D4"><v>12345678901234567</v></c></row>`
)

// TestSheetOnePass: sheetRows reads every value as excelize's row
// iterator does, and the rows keep the numbers a spreadsheet shows.
func TestSheetOnePass(t *testing.T) {
	p := writeParts(t, t.TempDir(), hostileSheet, hostileSST)
	want := excelizeRows(t, p, "grade")
	got := sheetValues(t, p, "grade")
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sheetRows values differ from excelize Rows() (-want +got):\n%s", diff)
	}
	rows, _ := readAll(t, &Reader{}, p)
	if len(rows) != 2 {
		t.Fatalf("ReadFile gave %d rows, want 2", len(rows))
	}
	ev := mustEvent(t, rows[0])
	if rows[0].Source.Row != 3 || ev.Key != "GC1" || rows[0].Values[1] != "普卡_x" || rows[0].Values[2] != "金卡" || rows[0].Values[5] != "年度\n升级 & more" {
		t.Errorf("row 3 = %+v, values %q, key %q; want row 3, 普卡_x, 金卡, a remark over two lines, key GC1", rows[0].Source, rows[0].Values, ev.Key)
	}
	if want := "2024-11-01 10:04:48"; ev.Time.Format("2006-01-02 15:04:05") != want {
		t.Errorf("row 3 time %v, want %s", ev.Time, want)
	}
	p4 := mustProblem(t, rows[1])
	if rows[1].Source.Row != 4 || p4.Column != "ThirdPartyCardID" || p4.Code != crmsync.ReasonIDFormat {
		t.Errorf("row 4 = %+v, problem %+v; want row 4 invalid in ThirdPartyCardID (%s: a TRUE cell)", rows[1].Source, p4, crmsync.ReasonIDFormat)
	}
}

// TestSheetOnePassWriters: the workbooks of other writers read as
// excelize reads them.
func TestSheetOnePassWriters(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "writers", "*.xlsx"))
	if len(paths) == 0 {
		t.Fatal("no workbooks in testdata/writers")
	}
	for _, p := range paths {
		f, err := excelize.OpenFile(p)
		if err != nil {
			t.Fatal(err)
		}
		sheets := f.GetSheetList()
		f.Close()
		for _, sh := range sheets {
			if diff := cmp.Diff(excelizeRows(t, p, sh), sheetValues(t, p, sh)); diff != "" {
				t.Errorf("%s[%s]: sheetRows values differ from excelize Rows() (-want +got):\n%s", p, sh, diff)
			}
		}
	}
}

// TestXLSXCellOverCap: a cell longer than max_cell_bytes, inline, shared
// or in CDATA, ends the sheet with a file problem after the rows before it,
// and the scanner holds no more of it than the cap.
func TestXLSXCellOverCap(t *testing.T) {
	long := strings.Repeat("x&amp;", 40<<10)
	for name, cell := range map[string]string{
		"inline": `<c t="inlineStr"><is><t>` + long + `</t></is></c>`,
		"shared": `<c t="s"><v>8</v></c>`,
		"cdata":  `<c t="inlineStr"><is><t><![CDATA[` + long + `]]></t></is></c>`,
	} {
		t.Run(name, func(t *testing.T) {
			sheet := strings.Replace(hostileSheet, `<row><c r="A4"`, `<row r="4"><c r="A4" t="inlineStr"><is><t>0201710000002</t></is></c><c t="s"><v>7</v></c><c t="s"><v>7</v></c><c><v>0</v></c><c><v>45597.5</v></c>`+cell+`</row><row><c r="A5"`, 1)
			p := writeParts(t, t.TempDir(), sheet, hostileSST+`<si><t>`+long+`</t></si>`)
			rows, sums := readAll(t, &Reader{MaxCellBytes: 1000}, p)
			if len(rows) != 1 || rows[0].Source.Row != 3 || len(sums) != 1 || sums[0].Code != ProblemCellTooBig {
				t.Errorf("ReadFile = %d rows, summaries %+v; want row 3, then %s", len(rows), sums, ProblemCellTooBig)
			}
		})
	}
	sc := &xmlScanner{br: newBufioReader(strings.NewReader("<v>" + long + "</v>")), max: 100}
	var tok xtok
	for sc.next(&tok) == nil {
		if tok.kind == tokText && len(tok.text) != 101 {
			t.Errorf("scanner with max 100 held %d bytes of a text, want 101", len(tok.text))
		}
	}
}

// TestXLSXBytesXMLForbids: a sheet holding bytes XML does not allow
// (encoding/xml refused the whole sheet) reads them into their row, which
// is invalid in that column: not UTF-8 is damaged text, a control character
// has no place in an ID.
func TestXLSXBytesXMLForbids(t *testing.T) {
	for _, tc := range []struct{ name, card, remark, column, code string }{
		{"not UTF-8", "0201710000001", "年度\xff升级", "Remark", crmsync.ReasonDamaged},
		{"control character", "02017\x0100001", "年度", "ThirdPartyCardID", crmsync.ReasonIDFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sheet := `<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c><c t="s"><v>3</v></c><c t="s"><v>4</v></c><c t="s"><v>5</v></c></row>` +
				`<row r="2"><c t="inlineStr"><is><t>` + tc.card + `</t></is></c><c t="inlineStr"><is><t>普卡</t></is></c><c t="inlineStr"><is><t>金卡</t></is></c><c><v>0</v></c><c><v>45597.42</v></c><c t="inlineStr"><is><t>` + tc.remark + `</t></is></c></row>`
			p := writeParts(t, t.TempDir(), sheet, hostileSST)
			rows, sums := readAll(t, &Reader{}, p)
			if len(rows) != 1 || len(sums) != 1 || !sums[0].Problem.IsZero() {
				t.Fatalf("ReadFile = %d rows, summaries %+v; want one row", len(rows), sums)
			}
			if p := mustProblem(t, rows[0]); p.Column != tc.column || p.Code != tc.code {
				t.Errorf("problem %+v, want %s in %s", p, tc.code, tc.column)
			}
		})
	}
}

// TestSheetCellOneValue: a cell written with two values (two <v>, or a
// <v> beside an inline string) reads as excelize reads it, the last <v>
// or the inline string, never the two run together into a value the
// sheet does not hold (0201710000001 and 0201710000002 as one ID).
func TestSheetCellOneValue(t *testing.T) {
	sheet := `<row r="1"><c t="s"><v>0</v></c><c t="s"><v>1</v></c><c t="s"><v>2</v></c><c t="s"><v>3</v></c><c t="s"><v>4</v></c><c t="s"><v>5</v></c></row>` +
		`<row r="2"><c t="str"><v>0201710000001</v><v>0201710000002</v></c><c t="inlineStr"><v>银卡</v><is><t>普卡</t></is></c><c t="inlineStr"><is><t>金卡</t></is><v>银卡</v></c><c><v>0</v></c><c><v>45597.42</v></c><c t="inlineStr"><is><t>年度</t></is></c></row>`
	p := writeParts(t, t.TempDir(), sheet, hostileSST)
	if diff := cmp.Diff(excelizeRows(t, p, "grade"), sheetValues(t, p, "grade")); diff != "" {
		t.Errorf("sheetRows values differ from excelize Rows() (-want +got):\n%s", diff)
	}
	rows, _ := readAll(t, &Reader{}, p)
	if len(rows) != 1 {
		t.Fatalf("ReadFile gave %d rows, want 1", len(rows))
	}
	if v := rows[0].Values; v[0] != "0201710000002" || v[1] != "普卡" || v[2] != "金卡" {
		t.Errorf("row 2 values %q; want 0201710000002, 普卡, 金卡", v)
	}
}

// renameSheet copies the workbook at p (writeParts) to name beside it,
// its sheet "grade" named sheet: the sheet's name gives its kind.
func renameSheet(t *testing.T, p, name, sheet string) string {
	t.Helper()
	zr, err := zip.OpenReader(p)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	out := filepath.Join(filepath.Dir(p), name)
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zw := zip.NewWriter(f)
	for _, e := range zr.File {
		r, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if e.Name == "xl/workbook.xml" {
			b = []byte(strings.Replace(string(b), `name="grade"`, `name="`+sheet+`"`, 1))
		}
		w, err := zw.Create(e.Name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(b)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestXLSXHexNumber: a number cell written in Go's hexadecimal float
// syntax (0x1p4), which strconv.ParseFloat reads as 16 and no spreadsheet
// writes, is not a number: the amount is invalid, not sent as 16.
func TestXLSXHexNumber(t *testing.T) {
	h := func(s string) string { return `<c t="inlineStr"><is><t>` + s + `</t></is></c>` }
	sheet := `<row r="1">` + h("TransID") + h("ThirdPartyCardID") + h("ScoreEvent") + h("TradeTime") + h("TradeAmount") + h("CrmShopID") + h("Score") + `</row>` +
		`<row r="2">` + h("T1") + h("0201710000001") + `<c><v>1</v></c>` + h("2024-11-01 10:00:00") + `<c><v>0x1p4</v></c>` + h("S1") + `<c><v>16</v></c></row>`
	p := renameSheet(t, writeParts(t, t.TempDir(), sheet, ""), "score.xlsx", "score")
	rows, sums := readAll(t, &Reader{}, p)
	if len(rows) != 1 || len(sums) != 1 || !sums[0].Problem.IsZero() {
		t.Fatalf("ReadFile = %d rows, summaries %+v; want one row", len(rows), sums)
	}
	if p := mustProblem(t, rows[0]); p.Column != "TradeAmount" || p.Code != crmsync.ReasonAmount {
		t.Errorf("problem %+v, want %s in TradeAmount", p, crmsync.ReasonAmount)
	}
}

// TestXLSXSharedStringMissing: a cell naming a shared string the workbook
// does not hold (index 99 of 8) is a damaged sheet from that row on, not
// an empty cell: the remark or ID it held is not dropped without a word.
func TestXLSXSharedStringMissing(t *testing.T) {
	for name, cell := range map[string]string{
		"out of range": `<c t="s"><v>99</v></c>`,
		"not a number": `<c t="s"><v>x</v></c>`,
	} {
		t.Run(name, func(t *testing.T) {
			sheet := strings.Replace(hostileSheet, `<row><c r="A4"`, `<row r="4"><c r="A4" t="inlineStr"><is><t>0201710000002</t></is></c><c t="s"><v>7</v></c><c t="s"><v>7</v></c><c><v>0</v></c><c><v>45597.5</v></c>`+cell+`<c t="inlineStr"><is><t>GC2</t></is></c></row><row><c r="A5"`, 1)
			p := writeParts(t, t.TempDir(), sheet, hostileSST)
			rows, sums := readAll(t, &Reader{}, p)
			if len(rows) != 1 || rows[0].Source.Row != 3 || len(sums) != 1 || sums[0].Problem.IsZero() || !strings.Contains(sums[0].Problem.String(), "row 4") {
				t.Errorf("ReadFile = %d rows, summaries %+v; want row 3, then the sheet damaged at row 4", len(rows), sums)
			}
		})
	}
}

// TestMaxCellBytesHuge: the largest max_cell_bytes the config takes
// (math.MaxInt64) is no cap at all, not an overflow: an XLSX sheet read
// every cell empty and was skipped as empty, a CSV got a row limit of -64
// bytes.
func TestMaxCellBytesHuge(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "grade.csv")
	if err := os.WriteFile(c, []byte("ThirdPartyCardID,BeforeCardCode,AfterCardCode,ChangeType,ChangeTime,GradeChangeID\n0201710000001,普卡,金卡,0,2024-11-01 10:00:00,G1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{writeParts(t, dir, hostileSheet, hostileSST), c} {
		rows, sums := readAll(t, &Reader{MaxCellBytes: math.MaxInt64}, p)
		if len(rows) == 0 || len(sums) != 1 || !sums[0].Problem.IsZero() || !sums[0].Skipped.IsZero() {
			t.Errorf("ReadFile(%s) with MaxCellBytes %d = %d rows, summaries %+v; want its rows", filepath.Base(p), math.MaxInt64, len(rows), sums)
		}
	}
}

// TestXLSXEscapesOverCap: a cell whose text is longer than max_cell_bytes
// as written, in _xHHHH_ escapes or CRLF line ends in CDATA that decode to
// less, is a cell too big (as one in entities is), not its first
// max_cell_bytes + 1 bytes decoded and read as the whole value (143
// underscores for 200).
func TestXLSXEscapesOverCap(t *testing.T) {
	esc := strings.Repeat("_x005F_", 200)
	for name, tc := range map[string]struct{ cell, sst string }{
		"inline": {`<c t="inlineStr"><is><t>` + esc + `</t></is></c>`, hostileSST},
		"shared": {`<c t="s"><v>8</v></c>`, hostileSST + `<si><t>` + esc + `</t></si>`},
		"cdata":  {`<c t="inlineStr"><is><t><![CDATA[` + strings.Repeat("a\r\n", 400) + `]]></t></is></c>`, hostileSST},
	} {
		t.Run(name, func(t *testing.T) {
			sheet := strings.Replace(hostileSheet, `<row><c r="A4"`, `<row r="4"><c r="A4" t="inlineStr"><is><t>0201710000002</t></is></c><c t="s"><v>7</v></c><c t="s"><v>7</v></c><c><v>0</v></c><c><v>45597.5</v></c>`+tc.cell+`<c t="inlineStr"><is><t>GC2</t></is></c></row><row><c r="A5"`, 1)
			p := writeParts(t, t.TempDir(), sheet, tc.sst)
			rows, sums := readAll(t, &Reader{MaxCellBytes: 1000}, p)
			for _, r := range rows {
				if r.Source.Row == 4 {
					t.Errorf("row 4 read with remark of %d bytes; want the cell too big", len(r.Values[5]))
				}
			}
			if len(sums) != 1 || sums[0].Code != ProblemCellTooBig {
				t.Errorf("ReadFile summaries %+v; want %s", sums, ProblemCellTooBig)
			}
		})
	}
}
