package importer

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// xc is a cell of a hand-written worksheet: its t attribute and <v> text
// (or inline string text, for t "inlineStr").
type xc struct{ t, v string }

func str(s string) xc { return xc{"inlineStr", s} }
func num(s string) xc { return xc{"", s} }

// writeRawXLSX writes a one-sheet workbook by hand, for the cells excelize
// cannot write: error cells (t="e"), numbers stored with more digits than
// a double holds, formula strings. excelize reads it as any workbook.
func writeRawXLSX(t *testing.T, dir, name, sheet string, rows [][]xc) string {
	t.Helper()
	var sd strings.Builder
	for r, row := range rows {
		fmt.Fprintf(&sd, `<row r="%d">`, r+1)
		for c, cell := range row {
			ref, _ := excelize.CoordinatesToCellName(c+1, r+1)
			var b strings.Builder
			_ = xmlEscape(&b, cell.v)
			switch cell.t {
			case "inlineStr":
				fmt.Fprintf(&sd, `<c r="%s" t="inlineStr"><is><t xml:space="preserve">%s</t></is></c>`, ref, b.String())
			case "":
				fmt.Fprintf(&sd, `<c r="%s"><v>%s</v></c>`, ref, b.String())
			default:
				fmt.Fprintf(&sd, `<c r="%s" t="%s"><v>%s</v></c>`, ref, cell.t, b.String())
			}
		}
		sd.WriteString(`</row>`)
	}
	files := map[string]string{
		"[Content_Types].xml":        `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/data.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
		"_rels/.rels":                `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
		"xl/workbook.xml":            `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="` + sheet + `" sheetId="1" r:id="rId7"/></sheets></workbook>`,
		"xl/_rels/workbook.xml.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/data.xml"/></Relationships>`,
		"xl/worksheets/data.xml":     `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` + sd.String() + `</sheetData></worksheet>`,
	}
	p := filepath.Join(dir, name)
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(out)
	for _, n := range []string{"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/_rels/workbook.xml.rels", "xl/worksheets/data.xml"} {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

func xmlEscape(b *strings.Builder, s string) error {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		default:
			if r < 0x20 && r != '\t' && r != '\n' && r != '\r' {
				fmt.Fprintf(b, "_x%04X_", r) // not representable in XML 1.0
				continue
			}
			b.WriteRune(r)
		}
	}
	return nil
}

// bodyField returns field's JSON text in an event body ("1280.5", `"C1"`).
func bodyField(t *testing.T, ev *crmsync.Event, field string) string {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(ev.Body, &m); err != nil {
		t.Fatalf("body %s: %v", ev.Body, err)
	}
	return string(m[field])
}

// cellCase is one cell put into the column under test of a score row: want
// is the field's exact JSON in the body, or "" when the row must be
// invalid on that column.
type cellCase struct {
	name string
	xlsx xc     // the XLSX cell
	csv  string // the CSV cell ("" to skip CSV: the case is XLSX-only)
	want string
}

// scoreRows reads score rows whose column col (a field of scoreHeader, or
// TradeSerialNo) takes each case's cell, from a CSV and from an XLSX
// workbook, and checks each outcome.
func checkCells(t *testing.T, col string, cases []cellCase) {
	t.Helper()
	header := strings.Split(scoreHeader+",TradeSerialNo", ",")
	base := []string{"T1", "C1", "1", "2024-11-01 10:00:00", "10", "S1", "1", "SN1"}
	at := -1
	for i, h := range header {
		if h == col {
			at = i
		}
	}
	dir := t.TempDir()
	check := func(format string, rows []*crmsync.Row, cs []cellCase) {
		t.Helper()
		if len(rows) != len(cs) {
			t.Fatalf("%s: %d rows, want %d", format, len(rows), len(cs))
		}
		for i, c := range cs {
			r := rows[i]
			if c.want == "" {
				if r.Problem == nil || r.Problem.Column != col {
					t.Errorf("%s %s: got %v, want invalid on %s", format, c.name, outcome(r), col)
				} else if !strings.Contains(r.Problem.Reason, " / ") {
					t.Errorf("%s %s: reason %q is not Chinese / English", format, c.name, r.Problem.Reason)
				}
				continue
			}
			if r.Problem != nil || r.Event == nil {
				t.Errorf("%s %s: got %v, want %s", format, c.name, outcome(r), c.want)
				continue
			}
			if got := bodyField(t, r.Event, col); got != c.want {
				t.Errorf("%s %s: %s = %s, want %s", format, c.name, col, got, c.want)
			}
		}
	}
	// CSV
	var lines []string
	var csvCases []cellCase
	lines = append(lines, strings.Join(header, ","))
	for _, c := range cases {
		if c.csv == "" {
			continue
		}
		cells := append([]string(nil), base...)
		cells[at] = `"` + strings.ReplaceAll(c.csv, `"`, `""`) + `"`
		lines = append(lines, strings.Join(cells, ","))
		csvCases = append(csvCases, c)
	}
	rows, _ := readAll(t, &Reader{}, writeFile(t, dir, "score.csv", csvText(lines...)))
	check("CSV", rows, csvCases)
	// XLSX
	var xrows [][]xc
	var hr []xc
	for _, h := range header {
		hr = append(hr, str(h))
	}
	xrows = append(xrows, hr)
	for _, c := range cases {
		var row []xc
		for i, v := range base {
			if i == at {
				row = append(row, c.xlsx)
			} else {
				row = append(row, str(v))
			}
		}
		xrows = append(xrows, row)
	}
	rows, _ = readAll(t, &Reader{}, writeRawXLSX(t, dir, "score.xlsx", "score", xrows))
	check("XLSX", rows, cases)
}

func outcome(r *crmsync.Row) string {
	if r.Problem != nil {
		return fmt.Sprintf("problem on %s: %s", r.Problem.Column, r.Problem.Reason)
	}
	if r.Event != nil {
		return "event " + string(r.Event.Body)
	}
	return "nothing"
}

// Amounts are exact or refused, in CSV and XLSX alike; XLSX cells are read
// by their type.
func TestAmountCells(t *testing.T) {
	cases := []cellCase{
		{"plain", str("1280.50"), "1280.50", "1280.5"},
		{"negative", str("-0.5"), "-0.5", "-0.5"},
		{"leading point", str(".5"), ".5", "0.5"},
		{"grouped", str("1,280.50"), "1,280.50", "1280.5"},
		{"grouped full-width", str("1，280.50"), "1，280.50", "1280.5"},
		{"yuan sign", str("¥1,280.50"), "¥1,280.50", "1280.5"},
		{"plus", str("+20"), "+20", "20"},
		{"text keeps its digits", str("12345678901234567.89"), "12345678901234567.89", "12345678901234567.89"},
		{"number cell", num("1280.5"), "", "1280.5"},
		{"number cell noise", num("100.09999999999999"), "", "100.1"},
		{"number cell 0.1+0.2", num("0.30000000000000004"), "", "0.3"},
		{"number cell exponent", num("1.25E+2"), "", "125"},
		{"number cell exponent beyond fen", num("1.5E-3"), "", ""},
		{"number cell beyond fen (a formula shown as 333.33)", num("333.333333333333"), "", ""},
		{"beyond fen", str("12.345"), "12.345", ""},
		{"fen with trailing zeros", str("12.300"), "12.300", "12.3"},
		{"number cell integer", num("1280"), "", "1280"},
		{"number cell too precise", num("12345678901234567.89"), "", ""},
		{"number cell 17 digits", num("10000000000000001"), "", ""},
		{"bad groups 12,34", str("12,34"), "12,34", ""},
		{"bad groups 1,2,3", str("1,2,3"), "1,2,3", ""},
		{"decimal comma", str("1.234,56"), "1.234,56", ""},
		{"double sign +-5", str("+-5"), "+-5", ""},
		{"double sign --5", str("--5"), "--5", ""},
		{"empty group", str("1,,234"), "1,,234", ""},
		{"leading comma", str(",123"), ",123", ""},
		{"inner space", str("1 234"), "1 234", ""},
		{"percent", str("5%"), "5%", ""},
		{"exponent", str("1e3"), "1e3", ""},
		{"text TRUE", str("TRUE"), "TRUE", ""},
		{"boolean TRUE", xc{"b", "1"}, "", ""},
		{"boolean FALSE", xc{"b", "0"}, "", ""},
		{"formula string", xc{"str", "12.5"}, "", "12.5"},
	}
	for _, e := range []string{"#N/A", "#VALUE!", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "#NULL!"} {
		cases = append(cases, cellCase{"error " + e, xc{"e", e}, e, ""})
	}
	checkCells(t, "TradeAmount", cases)
}

// IDs are exact or refused, in CSV and XLSX alike.
func TestIDCells(t *testing.T) {
	cases := []cellCase{
		{"text", str("0201710000001"), "0201710000001", `"0201710000001"`},
		{"number cell integer", num("201710000009"), "", `"201710000009"`},
		{"apostrophe", str("'1.23457E+11"), "'00E1", ""}, // filled below
		{"sci E+", str("1.23457E+11"), "1.23457E+11", ""},
		{"sci E", str("1.23457E11"), "1.23457E11", ""},
		{"sci e", str("1.23457e11"), "1.23457e11", ""},
		{"sci 12.3457E+10", str("12.3457E+10"), "12.3457E+10", ""},
		{"point zero", str("201710000009.0"), "201710000009.0", ""},
		{"number cell fraction", num("201710000009.5"), "", ""},
		{"number cell 16 digits", num("1234567890123456"), "", ""},
		{"number cell 20 digits", num("12345678901234567890"), "", ""},
		{"boolean", xc{"b", "1"}, "TRUE", ""},
		{"error #N/A", xc{"e", "#N/A"}, "#N/A", ""},
		{"full-width digits", str("２０１７１０"), "２０１７１０", ""},
		{"full-width letters", str("ＴＸ１"), "ＴＸ１", ""},
		// A NUL byte makes a CSV a file problem (not text: TestCSVEncodingEvidence).
		{"NUL", str("2017\x0010"), "", ""},
		{"ESC", str("2017\x1b10"), "2017\x1b10", ""},
		{"tab", str("2017\t10"), "2017\t10", ""},
		{"newline", str("2017\n10"), "2017\n10", ""},
		{"NBSP", str("2017\u00a010"), "2017\u00a010", ""},
		{"zero-width space", str("2017\u200b10"), "2017\u200b10", ""},
		{"RLO", str("2017\u202e10"), "2017\u202e10", ""},
		{"BOM inside", str("2017\ufeff10"), "2017\ufeff10", ""},
		{"emoji", str("2017😀"), "2017😀", ""},
		{"65 characters", str(strings.Repeat("1", 65)), strings.Repeat("1", 65), ""},
		{"64 characters", str(strings.Repeat("1", 64)), strings.Repeat("1", 64), `"` + strings.Repeat("1", 64) + `"`},
	}
	cases[2] = cellCase{"apostrophe keeps text", str("'00E1"), "'00E1", `"00E1"`}
	checkCells(t, "ThirdPartyCardID", cases)
	checkCells(t, "TradeSerialNo", []cellCase{
		// 5 MB is over max_cell_bytes: a file problem (TestCSVCaps, TestXLSXCaps).
		{"long serial", str(strings.Repeat("x", 1000)), strings.Repeat("x", 1000), ""},
		{"serial", str("POS-88812"), "POS-88812", `"POS-88812"`},
	})
}

// The same classes in a workbook written by excelize (shared strings,
// typed cells), as CRM exports write them.
func TestExcelizeTypedCells(t *testing.T) {
	dir := t.TempDir()
	f := excelize.NewFile()
	defer f.Close()
	sh := "score"
	if err := f.SetSheetName("Sheet1", sh); err != nil {
		t.Fatal(err)
	}
	header := strings.Split(scoreHeader, ",")
	for c, h := range header {
		cell, _ := excelize.CoordinatesToCellName(c+1, 1)
		if err := f.SetCellStr(sh, cell, h); err != nil {
			t.Fatal(err)
		}
	}
	type set func(cell string) error
	rows := []struct {
		card, amount set
		want         string // "" invalid; else card|amount
		col          string
	}{
		{func(c string) error { return f.SetCellValue(sh, c, 201710000009.0) }, func(c string) error { return f.SetCellValue(sh, c, true) }, "", "TradeAmount"},
		{func(c string) error { return f.SetCellValue(sh, c, 201710000009.0) }, func(c string) error { return f.SetCellValue(sh, c, false) }, "", "TradeAmount"},
		{func(c string) error { return f.SetCellValue(sh, c, 201710000009.0) }, func(c string) error { return f.SetCellStr(sh, c, "12345678901234567.89") }, `"201710000009"|12345678901234567.89`, ""},
		{func(c string) error { return f.SetCellStr(sh, c, "C1") }, func(c string) error { return f.SetCellDefault(sh, c, "100.09999999999999") }, `"C1"|100.1`, ""},
		{func(c string) error { return f.SetCellStr(sh, c, "C1") }, func(c string) error { return f.SetCellDefault(sh, c, "12345678901234567.89") }, "", "TradeAmount"},
		{func(c string) error { return f.SetCellValue(sh, c, 201710000009.5) }, func(c string) error { return f.SetCellValue(sh, c, 1280.5) }, "", "ThirdPartyCardID"},
		{func(c string) error { return f.SetCellValue(sh, c, true) }, func(c string) error { return f.SetCellValue(sh, c, 1280.5) }, "", "ThirdPartyCardID"},
		{func(c string) error { return f.SetCellStr(sh, c, "201710000009.0") }, func(c string) error { return f.SetCellValue(sh, c, 1280.5) }, "", "ThirdPartyCardID"},
	}
	for i, r := range rows {
		n := i + 2
		vals := []any{"T1", nil, "1", "2024-11-01 10:00:00", nil, "S1", 1}
		for c, v := range vals {
			cell, _ := excelize.CoordinatesToCellName(c+1, n)
			if v != nil {
				if err := f.SetCellValue(sh, cell, v); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := r.card(fmt.Sprintf("B%d", n)); err != nil {
			t.Fatal(err)
		}
		if err := r.amount(fmt.Sprintf("E%d", n)); err != nil {
			t.Fatal(err)
		}
	}
	p := filepath.Join(dir, "score.xlsx")
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, &Reader{}, p)
	if len(got) != len(rows) {
		t.Fatalf("%d rows, want %d", len(got), len(rows))
	}
	for i, r := range rows {
		row := got[i]
		if r.want == "" {
			if row.Problem == nil || row.Problem.Column != r.col {
				t.Errorf("row %d: %s, want invalid on %s", i+2, outcome(row), r.col)
			}
			continue
		}
		if row.Event == nil {
			t.Errorf("row %d: %s, want %s", i+2, outcome(row), r.want)
			continue
		}
		if g := bodyField(t, row.Event, "ThirdPartyCardID") + "|" + bodyField(t, row.Event, "TradeAmount"); g != r.want {
			t.Errorf("row %d: card|amount = %s, want %s", i+2, g, r.want)
		}
	}
}

// A score-v2 list cell with a field given twice is invalid, every time (the
// list parser reads keys in order; no map iteration decides the amount).
func TestListCellDuplicateFields(t *testing.T) {
	head := "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,ConsumePayList"
	for _, tc := range []struct {
		name, cell, want string // want: the ConsumePayList JSON, or "" for invalid
		reason           string
	}{
		{"two names", `[{"PayType":12,"Amount":"10","支付金额":"1000"}]`, "", `Amount given twice, as "Amount" and "支付金额"`},
		{"two names, label first", `[{"支付金额":"1000","PayType":12,"Amount":"10"}]`, "", "given twice"},
		{"same key twice", `[{"PayType":12,"Amount":10,"Amount":1000}]`, "", `key "Amount" given twice`},
		{"same key, other case", `[{"PayType":12,"amount":10,"Amount":1000}]`, "", "given twice"},
		{"null then value", `[{"PayType":12,"Amount":null,"Amount":1000}]`, "", "given twice"},
		{"second item", `[{"PayType":12,"Amount":10},{"PayType":1,"PayType":2}]`, "", "item 2"},
		{"one object", `{"PayType":12,"Amount":"10"}`, `[{"PayType":12,"Amount":10}]`, ""},
		{"two items", `[{"PayType":12,"Amount":"10"},{"支付方式":1,"支付金额":"5.50"}]`, `[{"PayType":12,"Amount":10},{"PayType":1,"Amount":5.5}]`, ""},
		{"bad grouping inside", `[{"PayType":12,"Amount":"12,34"}]`, "", "item 1 Amount"},
		{"exponent number", `[{"PayType":12,"Amount":1e3}]`, "", "item 1 Amount"},
		{"boolean", `[{"PayType":12,"Amount":true}]`, "", "not a string or number"},
		{"nested", `[{"PayType":12,"Amount":{"v":1}}]`, "", "not a string or number"},
		{"trailing text", `[{"PayType":12}] x`, "", "text after the array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 { // a map-order bug shows within a few runs
				p := writeFile(t, t.TempDir(), "score-v2.csv", csvText(head, "T1,C1,1,2024-11-01,10,S1,10,"+quoteCSV(tc.cell)))
				row := oneRow(t, &Reader{}, p)
				if tc.want == "" {
					prob := mustProblem(t, row)
					if prob.Column != "ConsumePayList" || !strings.Contains(prob.Reason, tc.reason) {
						t.Fatalf("problem = %+v, want ConsumePayList containing %q", prob, tc.reason)
					}
					continue
				}
				if got := bodyField(t, mustEvent(t, row), "ConsumePayList"); got != tc.want {
					t.Fatalf("ConsumePayList = %s, want %s", got, tc.want)
				}
			}
		})
	}
}

// List sheets are read by cell type too: a TRUE payment amount is invalid,
// a text amount keeps its digits.
func TestListSheetCellTypes(t *testing.T) {
	dir := t.TempDir()
	p := writeXLSX(t, dir, "orders.xlsx",
		xsheet{"score-v2", [][]any{
			{"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "PayAmount", "CrmShopID", "Score"},
			{"V1", "C1", 1, "2024-11-01 10:00:00", 10, "S1", 10},
			{"V2", "C2", 1, "2024-11-01 11:00:00", 10, "S1", 10},
		}},
		xsheet{"支付明细", [][]any{
			{"交易ID", "支付方式", "支付单号", "支付金额"},
			{"V1", 12, "P1", true},
			{"V2", 12, "P2", "12345678901234567.89"},
		}},
	)
	rows, _ := readAll(t, &Reader{}, p)
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	if prob := mustProblem(t, rows[0]); prob.Column != "ConsumePayList" || !strings.Contains(prob.Reason, "item 1 Amount") {
		t.Errorf("V1 problem = %+v, want ConsumePayList item 1 Amount", prob)
	}
	if got := bodyField(t, mustEvent(t, rows[1]), "ConsumePayList"); got != `[{"PayType":12,"PayNo":"P2","Amount":12345678901234567.89}]` {
		t.Errorf("V2 ConsumePayList = %s", got)
	}
}

// Every sheet of a workbook is read, or listed with why not: no data
// sheet is skipped without a word.
func TestEverySheetAccounted(t *testing.T) {
	dir := t.TempDir()
	bonus := [][]any{{"ThirdPartyCardID", "BonusAction", "GetBonus", "AfterBonus", "RefID", "CreateTime"}, {"C1", 4, 20, 220, "R1", "2020-06-24 15:16:45"}}
	pay := [][]any{{"交易ID", "支付方式", "支付单号", "支付金额"}, {"V1", 12, "P1", 10}}
	for _, tc := range []struct {
		name   string
		sheets []xsheet
		want   map[string]string // sheet → "read", "skipped" or "problem"
	}{
		{"data sheet named 说明", []xsheet{{"积分说明", bonus}}, map[string]string{"积分说明": "problem"}},
		{"notes", []xsheet{{"bonus", bonus}, {"填写说明", [][]any{{"每行一个事件"}, {"日期按北京时间"}}}}, map[string]string{"bonus": "read", "填写说明": "skipped"}},
		{"payments without a main sheet", []xsheet{{"bonus", bonus}, {"bonus.payments", pay}}, map[string]string{"bonus": "read", "bonus.payments": "problem"}},
		{"payments alone", []xsheet{{"orders.payments", pay}}, map[string]string{"orders.payments": "problem"}},
		{"two payment sheets", []xsheet{{"score-v2", [][]any{{"TransID", "ThirdPartyCardID", "ScoreEvent", "TradeTime", "PayAmount", "CrmShopID", "Score"}, {"V1", "C1", 1, "2024-11-01", 10, "S1", 10}}},
			{"score-v2.payments", pay}, {"score-v2 .payments", pay}}, map[string]string{"score-v2": "read", "score-v2.payments": "read", "score-v2 .payments": "problem"}},
		{"empty", []xsheet{{"bonus", bonus}, {"Sheet2", nil}}, map[string]string{"bonus": "read", "Sheet2": "skipped"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeXLSX(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".xlsx", tc.sheets...)
			_, sums := readAll(t, &Reader{}, p)
			got := map[string]string{}
			for _, s := range sums {
				switch {
				case !s.Problem.IsZero():
					got[s.Sheet] = "problem"
				case !s.Skipped.IsZero():
					got[s.Sheet] = "skipped"
				default:
					got[s.Sheet] = "read"
				}
			}
			for _, sh := range tc.sheets {
				if _, ok := got[sh.name]; !ok && tc.want[sh.name] == "read" && strings.Contains(sh.name, ".payments") {
					got[sh.name] = "read" // joined to its main sheet, not listed
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("sheets = %v, want %v (summaries %+v)", got, tc.want, sums)
			}
		})
	}
	// The import templates: the instructions sheet is skipped, no problem.
	for _, k := range crmsync.Kinds {
		_, sums := readAll(t, &Reader{}, filepath.Join("..", "templates", string(k)+".xlsx"))
		for _, s := range sums {
			if !s.Problem.IsZero() {
				t.Errorf("template %s sheet %s: problem %s", k, s.Sheet, s.Problem)
			}
		}
	}
}

// Every ID field of every kind refuses a mangled ID, and every free-text
// field refuses a control character: no field slips through as written.
func TestEveryIDField(t *testing.T) {
	notID := map[string]bool{"Mobile": true, "Value": true, "RuleValue": true} // Value, RuleValue: points or counts, as text
	for _, k := range crmsync.Kinds {
		spec := mallcoo.SpecOf(k)
		var names, base []string
		for _, f := range spec.Fields {
			names = append(names, f.Name)
			v := f.Example
			switch {
			case f.Name == "Mobile":
				v = "" // member: the card alone
			case f.Type == mallcoo.String && v == "":
				v = "X1"
			}
			base = append(base, v)
		}
		row := func(vals []string) string {
			var cells []string
			for _, v := range vals {
				cells = append(cells, quoteCSV(v))
			}
			return strings.Join(cells, ",")
		}
		dir := t.TempDir()
		mustEvent(t, oneRow(t, &Reader{}, writeFile(t, dir, string(k)+".csv", csvText(strings.Join(names, ","), row(base)))))
		for i, f := range spec.Fields {
			if f.Type != mallcoo.String || notID[f.Name] {
				continue
			}
			bad := "1.23457e11"
			if f.FreeText() {
				bad = "a\x1bb"
			}
			vals := append([]string(nil), base...)
			vals[i] = bad
			r := oneRow(t, &Reader{}, writeFile(t, dir, string(k)+".csv", csvText(strings.Join(names, ","), row(vals))))
			if r.Problem == nil || r.Problem.Column != f.Name {
				t.Errorf("%s %s = %q: %s, want invalid on %s", k, f.Name, bad, outcome(r), f.Name)
			}
		}
	}
	// List item IDs and texts too.
	head := "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,ConsumePromotionList,ConsumePayList"
	for _, c := range []struct{ promo, pay string }{
		{"", `[{"PayType":12,"PayNo":"1.2E+5","Amount":1}]`},
		{`[{"PromotionType":6,"RuleNo":"1.2E+5","Amount":1}]`, ""},
		{`[{"PromotionType":6,"No":"No\u00a01","Amount":1}]`, ""},
		{`[{"PromotionType":6,"Desc":"a\u0000b","Amount":1}]`, ""},
	} {
		p := writeFile(t, t.TempDir(), "score-v2.csv", csvText(head, "T1,C1,1,2024-11-01,10,S1,10,"+quoteCSV(c.promo)+","+quoteCSV(c.pay)))
		r := oneRow(t, &Reader{}, p)
		if r.Problem == nil || !strings.HasPrefix(r.Problem.Column, "Consume") {
			t.Errorf("lists %s %s: %s, want invalid on the list", c.promo, c.pay, outcome(r))
		}
	}
}

// Free text keeps line breaks and tabs, refuses other control characters,
// direction overrides, U+FFFD and more than 500 characters.
func TestFreeTextCells(t *testing.T) {
	head := "RefID,BonusAction,Desc"
	for _, tc := range []struct {
		name, desc, want string // want: the Desc JSON, "" for invalid
	}{
		{"plain", "当日积分超上限", `"%e5%bd%93%e6%97%a5%e7%a7%af%e5%88%86%e8%b6%85%e4%b8%8a%e9%99%90"`},
		{"line break", "a\nb", `"a%0ab"`},
		{"tab", "a\tb", `"a%09b"`},
		{"emoji", "好😀", `"%e5%a5%bd%f0%9f%98%80"`},
		{"ESC", "a\x1bb", ""},
		{"DEL", "a\x7fb", ""},
		{"RLO", "a\u202eb", ""},
		{"U+FFFD", "a\ufffdb", ""},
		{"500 characters", strings.Repeat("字", 500), ""},
		{"501 characters", strings.Repeat("字", 501), ""},
	} {
		p := writeFile(t, t.TempDir(), "invalid.csv", csvText(head, "R1,4,"+quoteCSV(tc.desc)))
		r := oneRow(t, &Reader{}, p)
		if tc.name == "500 characters" {
			mustEvent(t, r)
			continue
		}
		if tc.want == "" {
			if r.Problem == nil || r.Problem.Column != "Desc" {
				t.Errorf("%s: %s, want invalid on Desc", tc.name, outcome(r))
			}
			continue
		}
		if got := bodyField(t, mustEvent(t, r), "Desc"); got != tc.want {
			t.Errorf("%s: Desc = %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestMoneyCents: every field of money in yuan (mallcoo.Field.Cents) takes
// at most two decimal places, in every kind and inside list cells; points
// are not money and keep theirs. A value beyond fen is invalid on its
// column with code amount-cents, never rounded.
func TestMoneyCents(t *testing.T) {
	for _, tc := range []struct {
		name, file, head, row string
		column                string // "" for a valid row
	}{
		{"sale amount", "score.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score", "T1,C1,1,2024-11-01 10:00:00,12.345,S1,12", "TradeAmount"},
		{"return amount", "score.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score,ReturnTime,ReturnAmount",
			"T1,C1,2101,2024-11-01 10:00:00,100,S1,-10,2024-11-02 10:00:00,10.005", "ReturnAmount"},
		{"v2 pay amount", "score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score", "T1,C1,1,2024-11-01,0.001,S1,0", "PayAmount"},
		{"v2 promotion", "score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,PromotionAmount", "T1,C1,1,2024-11-01,10,S1,10,1.239", "PromotionAmount"},
		{"v2 list item", "score-v2.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,PayAmount,CrmShopID,Score,ConsumePayList",
			`T1,C1,1,2024-11-01,10,S1,10,"[{""PayType"":12,""Amount"":""9.999""}]"`, "ConsumePayList"},
		{"fen and trailing zeros", "score.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score", "T1,C1,1,2024-11-01 10:00:00,12.3400,S1,12", ""},
		{"points keep decimals", "score.csv", "TransID,ThirdPartyCardID,ScoreEvent,TradeTime,TradeAmount,CrmShopID,Score", "T1,C1,1,2024-11-01 10:00:00,12.34,S1,12.345", ""},
		{"bonus points keep decimals", "bonus.csv", "ThirdPartyCardID,BonusAction,GetBonus,AfterBonus,RefID,CreateTime", "C1,4,10.125,110.125,B1,2024-11-01 10:00:00", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			row := oneRow(t, &Reader{}, writeFile(t, t.TempDir(), tc.file, csvText(tc.head, tc.row)))
			if tc.column == "" {
				mustEvent(t, row)
				return
			}
			if p := mustProblem(t, row); p.Column != tc.column || (p.Code != crmsync.ReasonAmountCents && tc.column != "ConsumePayList") {
				t.Errorf("problem %+v, want %s on %s", p, crmsync.ReasonAmountCents, tc.column)
			}
		})
	}
}
