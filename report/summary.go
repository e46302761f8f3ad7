package report

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// summaryWriter lays out the summary sheet top to bottom.
type summaryWriter struct {
	b     *book
	sheet string
	l     lang
	row   int // next row
}

func (w *summaryWriter) cell(col, row int) string {
	c, _ := excelize.CoordinatesToCellName(col, row)
	return c
}

// put writes values from column A of the next row and returns that row.
func (w *summaryWriter) put(vals ...any) (int, error) {
	r := w.row
	w.row++
	return r, w.b.f.SetSheetRow(w.sheet, w.cell(1, r), &vals)
}

// pairs writes a row per label and value, the label in bold.
func (w *summaryWriter) pairs(kv [][2]any) error {
	for _, p := range kv {
		r, err := w.put(p[0], p[1])
		if err != nil {
			return err
		}
		if err := w.style(1, r, 1, w.b.st.bold); err != nil {
			return err
		}
	}
	return nil
}

func (w *summaryWriter) style(fromCol, row, toCol, style int) error {
	return w.b.f.SetCellStyle(w.sheet, w.cell(fromCol, row), w.cell(toCol, row), style)
}

// section writes a section title and a header row.
func (w *summaryWriter) section(title string, header ...any) (int, error) {
	w.row++
	r, err := w.put(title)
	if err != nil {
		return 0, err
	}
	if err := w.style(1, r, 1, w.b.st.bold); err != nil {
		return 0, err
	}
	if len(header) == 0 {
		return r, nil
	}
	h, err := w.put(header...)
	if err != nil {
		return 0, err
	}
	// A header wider than its column wraps instead of being cut.
	widest := 0
	for _, c := range header {
		if s, ok := c.(string); ok {
			widest = max(widest, displayWidth(s))
		}
	}
	if widest > 14 {
		if err := w.b.f.SetRowHeight(w.sheet, h, float64(15*((widest+13)/14))); err != nil {
			return 0, err
		}
	}
	return h, w.style(1, h, len(header), w.b.st.wrapHeader)
}

// writeSummary fills the summary sheet: the run, its files, the counts per
// kind and outcome with a chart, and the finance totals.
//
// listing, when set, says where every row's outcome is (the kind sheets are
// cut to the rows that need a person).
func writeSummary(b *book, sheet string, s *crmsync.Summary, fin *finance, problems, listing string, l lang) error {
	w := &summaryWriter{b: b, sheet: sheet, l: l, row: 1}
	f := b.f
	if err := pageSetup(f, sheet); err != nil {
		return err
	}
	for col, width := range map[string]float64{"A": 42, "B": 22, "C": summaryNumberWidth, "D": summaryNumberWidth, "E": summaryNumberWidth} {
		if err := f.SetColWidth(sheet, col, col, width); err != nil {
			return err
		}
	}
	if err := f.SetColWidth(sheet, "F", "N", 12); err != nil {
		return err
	}
	r, err := w.put(l.T("title"))
	if err != nil {
		return err
	}
	if err := w.style(1, r, 1, b.st.title); err != nil {
		return err
	}
	w.row++

	dur := s.DurationS
	if dur == 0 && !s.Started.IsZero() && s.Ended.After(s.Started) {
		dur = s.Ended.Sub(s.Started).Seconds()
	}
	kv := [][2]any{}
	if s.Mall != "" {
		kv = append(kv, [2]any{l.T("mall"), s.Mall})
	}
	if s.Ledger != "" {
		kv = append(kv, [2]any{l.T("ledgerFile"), s.Ledger})
	}
	kv = append(kv, [][2]any{
		{l.T("runID"), s.RunID},
		{l.T("command"), s.Command},
		{l.T("started"), clock(s.Started)},
		{l.T("ended"), clock(s.Ended)},
		{l.T("duration"), round(dur, 1)},
		{l.T("rows"), s.Rows},
	}...)
	if s.Interrupt {
		kv = append(kv, [2]any{l.T("interrupted"), l.T("yes")})
	}
	if s.Command == "plan" && s.AppliedBy > 0 {
		kv = append(kv, [2]any{l.T("applied"), fmt.Sprintf(l.T("appliedBy"), s.AppliedBy)})
	}
	needs := l.T("no")
	if s.NeedsPerson() {
		needs = l.T("yes")
	}
	kv = append(kv, [2]any{l.T("needsPerson"), needs})
	if problems != "" {
		kv = append(kv, [2]any{l.T("problemsFile"), problems})
	}
	if listing != "" {
		kv = append(kv, [2]any{l.T("listing"), listing})
	}
	if err := w.pairs(kv); err != nil {
		return err
	}
	if !s.Stopped.IsZero() {
		r, err := w.put(l.T("stopped"), s.Stopped.In(string(l)))
		if err != nil {
			return err
		}
		if err := w.style(1, r, 2, b.st.problem); err != nil {
			return err
		}
	}

	if len(s.Files) > 0 {
		if _, err := w.section(l.T("files"), l.T("path"), l.T("sheet"), l.T("kind"), l.T("rowsRead"), l.T("problem")); err != nil {
			return err
		}
		for _, fs := range s.Files {
			r, err := w.put(fs.Path, str(fs.Sheet), str(kindName(fs.Kind, l)), fs.Rows, str(fs.Note(string(l))))
			if err != nil {
				return err
			}
			if !fs.Problem.IsZero() {
				if err := w.style(1, r, 5, b.st.problem); err != nil {
					return err
				}
			}
		}
	}

	if err := writeCauses(w, s); err != nil {
		return err
	}
	if err := writeCounts(w, s); err != nil {
		return err
	}
	if err := writeFinance(w, fin); err != nil {
		return err
	}
	// How the run went, apart from the finance totals.
	if _, err := w.section(l.T("performance")); err != nil {
		return err
	}
	perf := [][2]any{}
	if dur > 0 {
		perf = append(perf, [2]any{l.T("rowsPerSec"), round(float64(s.Rows)/dur, 1)})
	}
	perf = append(perf, [2]any{l.T("requests"), s.Requests})
	if dur > 0 {
		perf = append(perf, [2]any{l.T("reqPerSec"), round(float64(s.Requests)/dur, 1)})
	}
	return w.pairs(perf)
}

// writeCauses writes the causes of the rows that need a person, most rows
// first, each with the one action that fixes them all, then the next step
// for each outcome that needs a person.
func writeCauses(w *summaryWriter, s *crmsync.Summary) error {
	l := w.l
	if len(s.Causes) > 0 {
		// The hint is last: a long one runs on over the empty cells to
		// its right.
		if _, err := w.section(l.T("causes"), l.T("cause"), l.T("rows"), l.T("firstRow"), l.T("hint")); err != nil {
			return err
		}
		for _, c := range s.Causes {
			first := ""
			if c.First != nil {
				first = c.First.String()
			}
			r, err := w.put(c.Text, c.Count, first, c.Fix)
			if err != nil {
				return err
			}
			if err := w.style(1, r, 1, w.b.st.wrap); err != nil {
				return err
			}
		}
	}
	started := false
	for _, o := range crmsync.Outcomes {
		n := s.Counts[o]
		step := nextStep(o, !s.Stopped.IsZero(), l)
		if n == 0 || step == "" {
			continue
		}
		if !started {
			started = true
			if _, err := w.section(l.T("nextSteps"), l.T("outcome"), l.T("rows"), l.T("nextStep")); err != nil {
				return err
			}
		}
		if _, err := w.put(l.outcome(o), n, step); err != nil {
			return err
		}
	}
	return nil
}

// kindName is a kind as the report names it: the endpoint's Chinese title
// (会员等级变更通知), the kind in English.
func kindName(k crmsync.Kind, l lang) string {
	if k == "" {
		return ""
	}
	if l != "en" && slices.Contains(crmsync.Kinds, k) {
		if sp := mallcoo.SpecOf(k); sp.Title != "" {
			return sp.Title
		}
	}
	return string(k)
}

// writeCounts writes the kind × outcome table (only the kinds and outcomes
// that occur, with totals) and a stacked bar chart of it.
func writeCounts(w *summaryWriter, s *crmsync.Summary) error {
	var kinds []crmsync.Kind
	used := map[crmsync.Outcome]bool{}
	for _, k := range crmsync.Kinds {
		seen := false
		for o, n := range s.ByKind[k] {
			if n != 0 {
				seen = true
				used[o] = true
			}
		}
		if seen {
			kinds = append(kinds, k)
		}
	}
	var outs []crmsync.Outcome
	for _, o := range crmsync.Outcomes {
		if used[o] {
			outs = append(outs, o)
		}
	}
	l := w.l
	header := []any{l.T("kind")}
	for _, o := range outs {
		header = append(header, l.outcome(o))
	}
	header = append(header, l.T("total"))
	h, err := w.section(l.T("counts"), header...)
	if err != nil {
		return err
	}
	for i, o := range outs {
		if err := w.style(2+i, h, 2+i, w.b.st.outcome[o]); err != nil {
			return err
		}
	}
	colTotals := make([]int, len(outs)+1)
	first := w.row
	for _, k := range kinds {
		vals := []any{kindName(k, l)}
		sum := 0
		for i, o := range outs {
			n := s.ByKind[k][o]
			vals = append(vals, n)
			sum += n
			colTotals[i] += n
		}
		vals = append(vals, sum)
		colTotals[len(outs)] += sum
		if _, err := w.put(vals...); err != nil {
			return err
		}
	}
	last := w.row - 1
	vals := []any{l.T("total")}
	for _, n := range colTotals {
		vals = append(vals, n)
	}
	r, err := w.put(vals...)
	if err != nil {
		return err
	}
	if err := w.style(1, r, len(vals), w.b.st.bold); err != nil {
		return err
	}
	if len(kinds) == 0 {
		return nil
	}

	ref := func(col, from, to int) string {
		c, _ := excelize.ColumnNumberToName(col)
		if from == to {
			return fmt.Sprintf("'%s'!$%s$%d", w.sheet, c, from)
		}
		return fmt.Sprintf("'%s'!$%s$%d:$%s$%d", w.sheet, c, from, c, to)
	}
	var series []excelize.ChartSeries
	for i, o := range outs {
		series = append(series, excelize.ChartSeries{
			Name:       ref(2+i, h, h),
			Categories: ref(1, first, last),
			Values:     ref(2+i, first, last),
			Fill:       excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{chartColor(o)}},
		})
	}
	height := uint(160 + 40*len(kinds))
	// Right of the count table, and never over the finance table below
	// it (columns A to 2+stages): a run of one outcome has a narrow
	// count table, and the chart hid the confirmed sums.
	anchor := w.cell(max(len(header), 2+stages)+2, h)
	return w.b.f.AddChart(w.sheet, anchor, &excelize.Chart{
		Type:      excelize.BarStacked,
		Series:    series,
		Title:     excelize.ChartTitle{Paragraph: []excelize.RichTextRun{{Text: l.T("chartTitle")}}},
		Legend:    excelize.ChartLegend{Position: "bottom"},
		Dimension: excelize.ChartDimension{Width: 640, Height: height},
	})
}

// chartColor is the bar colour of an outcome: a stronger shade of its cell
// fill.
func chartColor(o crmsync.Outcome) string {
	switch outcomeColors[o][0] {
	case "C6EFCE":
		return "70AD47"
	case "DDEBF7":
		return "5B9BD5"
	case "FFC7CE":
		return "E06666"
	case "FFEB9C":
		return "FFC000"
	}
	return "A5A5A5"
}

// writeFinance writes the exact sums of amounts and points per kind: read,
// attempted and confirmed.
func writeFinance(w *summaryWriter, fin *finance) error {
	l := w.l
	started := false
	widest := 0 // characters of the widest sum as shown (#,##0.00)
	for _, k := range crmsync.Kinds {
		fk := fin.kinds[k]
		if fk == nil || fk.rows[stageRead] == 0 {
			continue
		}
		if !started {
			started = true
			if _, err := w.section(l.T("finance"), l.T("kind"), l.T("field"), l.T("read"), l.T("attempted"), l.T("confirmed")); err != nil {
				return err
			}
		}
		if _, err := w.put(kindName(k, l), l.T("rowCount"), fk.rows[stageRead], fk.rows[stageAttempted], fk.rows[stageConfirmed]); err != nil {
			return err
		}
		spec := mallcoo.SpecOf(k)
		for i, name := range fk.fields {
			label := name
			if fld := spec.Field(name); fld != nil && l == "zh" {
				label = fld.Label + "(" + name + ")"
			}
			r, err := w.put(kindName(k, l), label)
			if err != nil {
				return err
			}
			for st := 0; st < stages; st++ {
				c := w.cell(3+st, r)
				// The exact decimal goes into the cell as a number.
				v := fk.sums[st][i].String()
				if err := w.b.f.SetCellDefault(w.sheet, c, v); err != nil {
					return err
				}
				widest = max(widest, amountWidth(v))
			}
			if err := w.style(3, r, 3+stages-1, w.b.st.amount); err != nil {
				return err
			}
		}
	}
	// A number wider than its column shows as ### (a backfill's sums
	// run to billions): the sums' columns are widened to the widest.
	if widest+2 > summaryNumberWidth {
		return w.b.f.SetColWidth(w.sheet, "C", "E", float64(widest+2))
	}
	return nil
}

// summaryNumberWidth is the width of the summary's number columns (C to E).
const summaryNumberWidth = 14

// clock formats a time in China Standard Time, as the files and Mallcoo
// write them.
func clock(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.In(mallcoo.CST).Format(mallcoo.DateTimeLayout)
}

func round(v float64, places int) float64 {
	f, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'f', places, 64), 64)
	return f
}
