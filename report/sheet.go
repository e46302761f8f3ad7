package report

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// column is one column of a streamed sheet.
type column struct {
	header string
	width  float64
	style  int // column style (e.g. text), 0 for none
}

// stream writes rows to a sheet named base with a StreamWriter, continuing on
// "base (2)", "base (3)"… when a sheet is full. Every sheet gets the header
// row, frozen, with an autofilter over the rows written.
type stream struct {
	b       *book
	base    string
	cols    []column
	maxRows int

	n      int // sheets started
	name   string
	sw     *excelize.StreamWriter
	row    int // last row written on the current sheet
	header []any
}

func newStream(b *book, base string, cols []column, maxRows int) *stream {
	h := make([]any, len(cols))
	for i, c := range cols {
		h[i] = excelize.Cell{StyleID: b.st.header, Value: c.header}
	}
	return &stream{b: b, base: base, cols: cols, maxRows: maxRows, header: h}
}

// add writes one row of cells (nil cells are left empty).
func (s *stream) add(cells []any) error {
	if s.sw == nil || s.row >= s.maxRows {
		if err := s.next(); err != nil {
			return err
		}
	}
	s.row++
	return s.sw.SetRow("A"+strconv.Itoa(s.row), cells)
}

// next finishes the current sheet and starts the next one.
func (s *stream) next() error {
	if err := s.finish(); err != nil {
		return err
	}
	s.n++
	s.name = s.base
	if s.n > 1 {
		s.name = fmt.Sprintf("%s (%d)", s.base, s.n)
	}
	if err := s.b.useSheet(s.name); err != nil {
		return err
	}
	// Before the stream writer: it writes the sheet properties first.
	if err := printSetup(s.b.f, s.name); err != nil {
		return err
	}
	sw, err := s.b.f.NewStreamWriter(s.name)
	if err != nil {
		return err
	}
	s.sw = sw
	for i, c := range s.cols {
		if c.width > 0 {
			if err := sw.SetColWidth(i+1, i+1, c.width); err != nil {
				return err
			}
		}
		if c.style != 0 {
			if err := sw.SetColStyle(i+1, i+1, c.style); err != nil {
				return err
			}
		}
	}
	if err := sw.SetPanes(&excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	s.row = 1
	return sw.SetRow("A1", s.header, excelize.RowOpts{Height: 20})
}

// printSetup makes a sheet print well: A4 landscape, one page wide, the
// header row repeated on every page.
func printSetup(f *excelize.File, sheet string) error {
	if err := pageSetup(f, sheet); err != nil {
		return err
	}
	return f.SetDefinedName(&excelize.DefinedName{Name: "_xlnm.Print_Titles", RefersTo: fmt.Sprintf("'%s'!$1:$1", sheet), Scope: sheet})
}

// pageSetup prints a sheet on A4 landscape, one page wide.
func pageSetup(f *excelize.File, sheet string) error {
	size, land, one, any := 9, "landscape", 1, 0 // 9: A4
	if err := f.SetPageLayout(sheet, &excelize.PageLayoutOptions{Size: &size, Orientation: &land, FitToWidth: &one, FitToHeight: &any}); err != nil {
		return err
	}
	fit := true
	return f.SetSheetProps(sheet, &excelize.SheetPropsOptions{FitToPage: &fit})
}

// comment adds a cell comment to column col (0-based) of the row last
// written.
func (s *stream) comment(col int, text string) error {
	cell, err := excelize.CoordinatesToCellName(col+1, s.row)
	if err != nil {
		return err
	}
	return s.b.f.AddComment(s.name, excelize.Comment{Author: "crmsync", Cell: cell, Text: text, Width: 320, Height: 100})
}

// finish flushes the current sheet, if any, with its autofilter.
func (s *stream) finish() error {
	if s.sw == nil {
		return nil
	}
	last, err := excelize.CoordinatesToCellName(len(s.cols), s.row)
	if err != nil {
		return err
	}
	// The stream writer writes the autoFilter element of its worksheet at
	// Flush, so setting it now covers exactly the rows written.
	if err := s.b.f.AutoFilter(s.name, "A1:"+last, nil); err != nil {
		return err
	}
	err = s.sw.Flush()
	s.sw = nil
	return err
}

// kindSheet writes every result of one kind to the report.
type kindSheet struct {
	kind    crmsync.Kind
	l       lang
	st      *styles
	nfields int
	bodies  bool // show what changed (the kind has changed rows)
	s       *stream
	cells   []any
	mask    masker
	fields  []mallcoo.Field
}

// fixed report columns before the template columns.
const kindFixed = 9

func newKindSheet(b *book, k crmsync.Kind, sum *crmsync.Summary, w *writer) *kindSheet {
	l := w.lang
	cols := []column{
		{header: l.T("sourceFile"), width: 28},
		{header: l.T("sheet"), width: 14},
		{header: l.T("row"), width: 8},
		{header: l.T("key"), width: 24},
		{header: l.T("outcome"), width: 10},
		{header: l.T("reasonCol"), width: 40},
		{header: l.T("code"), width: 12},
		{header: l.T("message"), width: 30},
		{header: l.T("attempts"), width: 10},
	}
	fields := mallcoo.SpecOf(k).Fields
	for _, f := range fields {
		cols = append(cols, templateColumn(f, l, &b.st))
	}
	ks := &kindSheet{kind: k, l: l, st: &b.st, nfields: len(fields), fields: fields, mask: masker{show: w.show}}
	if sum != nil && sum.ByKind[k][crmsync.OutcomeChanged] > 0 {
		ks.bodies = true
		cols = append(cols, column{header: l.T("changes"), width: 60, style: b.st.wrap})
	}
	if w.cut {
		// The header cell right of the columns says where the other rows
		// are: it stays in view (frozen) above the rows that need a person.
		cols = append(cols, column{header: w.cutNote(k, sum), width: 100})
	}
	ks.s = newStream(b, string(k), cols, w.maxRows)
	ks.cells = make([]any, len(cols))
	return ks
}

// cutNote is the note on a kind sheet that lists only the rows that need a
// person.
func (w *writer) cutNote(k crmsync.Kind, s *crmsync.Summary) string {
	all, needs := 0, 0
	for o, n := range s.ByKind[k] {
		all += n
		if o.NeedsPerson() {
			needs += n
		}
	}
	if w.lang == "en" {
		return fmt.Sprintf("This sheet lists only the %d rows that need a person, of %d (the run has more rows than report_rows); every row's outcome is in %s", needs, all, w.resultsName)
	}
	return fmt.Sprintf("本表只列出需要人工处理的 %d 行(本类型共 %d 行,本次运行超过 report_rows 行);每一行的结果见 %s", needs, all, w.resultsName)
}

// start begins the sheet before its first row: a cut sheet of a kind with
// rows, none of which needs a person, still says where they are.
func (ks *kindSheet) start() error {
	if ks.s.sw != nil {
		return nil
	}
	return ks.s.next()
}

// templateColumn is the column of a template field in the report and the
// problems workbook: text format for strings, a width that fits the header.
func templateColumn(f mallcoo.Field, l lang, st *styles) column {
	h := fieldHeader(f, l)
	w := float64(displayWidth(h)) + 4
	if w < 12 {
		w = 12
	}
	if f.Type == mallcoo.String || f.Type == mallcoo.DateTime {
		if w < 18 {
			w = 18
		}
	}
	c := column{header: h, width: w}
	if f.Type == mallcoo.String {
		c.style = st.text
	}
	return c
}

// displayWidth approximates the width of s in Excel's character units: wide
// (CJK) characters count twice.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		if r >= 0x1100 {
			n += 2
		} else {
			n++
		}
	}
	return n
}

func (ks *kindSheet) add(r *crmsync.Result) error {
	c := ks.cells
	clear(c)
	m := &ks.mask
	changed := ks.bodies && r.Outcome == crmsync.OutcomeChanged
	if changed {
		m.row(ks.kind, r.Values, r.Previous, r.Body)
	} else {
		m.row(ks.kind, r.Values, r.Body) // the body holds the card ID and mobile as cleaned, as keys use them
	}
	c[0] = str(r.Source.File)
	c[1] = str(r.Source.Sheet)
	if r.Source.Row > 0 {
		c[2] = r.Source.Row
	}
	c[3] = str(m.text(r.Key))
	c[4] = excelize.Cell{StyleID: ks.st.outcome[r.Outcome], Value: ks.l.outcome(r.Outcome)}
	c[5] = str(m.text(reasonText(ks.kind, r, ks.l)))
	if r.HasCode {
		c[6] = r.Code
	}
	c[7] = str(m.text(r.Message))
	if r.Attempts > 0 {
		c[8] = r.Attempts
	}
	for i := 0; i < ks.nfields && i < len(r.Values); i++ {
		c[kindFixed+i] = str(m.value(ks.fields[i].Name, r.Values[i]))
	}
	if changed {
		c[kindFixed+ks.nfields] = str(m.text(changesText(ks.kind, r.Previous, r.Body, ks.l)))
	}
	return ks.s.add(c)
}

func (ks *kindSheet) close() error { return ks.s.finish() }

// changesText lists the fields a changed row differs in from the event
// sent before, one a line: "消费金额(TradeAmount): 50 → 55".
func changesText(k crmsync.Kind, previous, body []byte, l lang) string {
	ds := FieldDiffs(previous, body, l == "en")
	for i, d := range ds {
		if name, rest, ok := strings.Cut(d, ": "); ok {
			ds[i] = columnName(k, name, l) + ": " + rest
		}
	}
	return strings.Join(ds, "\n")
}

// str returns s as a cell value: nil (no cell) when empty. Strings are
// written as inline strings, never as formulas or numbers, so "=1+1",
// "0201710000001" and "1280.50" stay exactly as the file had them.
func str(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// reasonText is the reason of a result in the report's language, each
// problem with the column it concerns: "支付方式(PayType): …; 积分事件(ScoreEvent): …".
// ReasonText is result r's reason as a person reads it in lang ("zh" or
// "en"), each problem after its column's name: what the report shows.
func ReasonText(k crmsync.Kind, r *crmsync.Result, lang string) string {
	return reasonText(k, r, parseLang(lang))
}

func reasonText(k crmsync.Kind, r *crmsync.Result, l lang) string {
	if !crmsync.HasProblems(r.Reason) { // a reason of one text, as kept
		if r.Column == "" {
			return r.Reason
		}
		return columnName(k, r.Column, l) + ": " + r.Reason
	}
	ps := r.Problems()
	if len(ps) == 1 {
		return problemText(k, &ps[0], l)
	}
	parts := make([]string, len(ps))
	for i := range ps {
		parts[i] = problemText(k, &ps[i], l)
	}
	return strings.Join(parts, "; ")
}

// problemText is one problem's reason with its column.
func problemText(k crmsync.Kind, p *crmsync.Problem, l lang) string {
	t := p.Text(string(l))
	if p.Column == "" {
		return t
	}
	return columnName(k, p.Column, l) + ": " + t
}
