package report

import (
	"github.com/xuri/excelize/v2"

	"strconv"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// problemSheet writes the rows of one kind that need a person to the
// problems workbook: first the reason, the next step and the source row
// (columns the reader ignores), then the template columns (Columns) with
// the row's values, each bad cell filled red with its reason as a comment,
// then the event's key (EventID: empty for duplicate rows and for invalid
// rows whose key cells do not read, which a person may re-key; to re-key
// another invalid row, clear it).
type problemSheet struct {
	kind     crmsync.Kind
	l        lang
	nfields  int
	s        *stream
	cells    []any
	badStyle int
	comments int // cell comments written (at most maxComments)
	// extra maps the header of each unknown column of the run's files of
	// this kind to its column: kept, so no cell is lost.
	extra map[string]int
	// lists are the list fields (score-v2) and their template columns:
	// when the row's cell is empty but the body has items (read from a
	// sibling sheet), the items go into the cell as the JSON array the
	// reader also accepts, so the fixed row keeps them.
	lists    []string
	listCols []int
	listVals []string
}

func newProblemSheet(b *book, k crmsync.Kind, w *writer, unknown []string) *problemSheet {
	l := w.lang
	fields := mallcoo.SpecOf(k).Fields
	cols := make([]column, 0, len(fields)+5)
	cols = append(cols,
		column{header: l.T("reason"), width: 50, style: b.st.wrap},
		column{header: l.T("nextStepCol"), width: 36, style: b.st.wrap},
		column{header: l.T("source"), width: 28})
	for _, f := range fields {
		cols = append(cols, templateColumn(f, l, &b.st))
	}
	// EventID ties a fixed row to the event the ledger knows, so a fixed
	// row is sent under the same key (and never also retried under its old
	// one). The reader takes the column as the key.
	eventID := "事件ID"
	if l == "en" {
		eventID = "EventID"
	}
	cols = append(cols, column{header: eventID, width: 24, style: b.st.text})
	extra := map[string]int{}
	for _, h := range unknown {
		if _, ok := extra[h]; !ok {
			extra[h] = len(cols)
			cols = append(cols, column{header: h, width: float64(max(12, displayWidth(h)+4)), style: b.st.text})
		}
	}
	ps := &problemSheet{
		extra: extra,
		kind:  k, l: l, nfields: len(fields), badStyle: b.st.badCell,
		s:     newStream(b, string(k), cols, w.maxRows),
		cells: make([]any, len(cols)),
	}
	for i, f := range fields {
		if f.Type == mallcoo.List {
			ps.lists = append(ps.lists, f.Name)
			ps.listCols = append(ps.listCols, problemFixed+i)
		}
	}
	ps.listVals = make([]string, len(ps.lists))
	return ps
}

// problemFixed is the number of columns before the template columns.
const problemFixed = 3

// maxComments bounds the cell comments of one problems sheet: each costs
// the workbook a shape; past it, bad cells are only filled.
const maxComments = 1000

func (ps *problemSheet) add(r *crmsync.Result) error {
	c := ps.cells
	clear(c)
	c[0] = problemReason(ps.kind, r, ps.l)
	c[1] = str(nextStep(r.Outcome, stoppedRow(r), ps.l))
	c[2] = str(r.Source.String())
	for i := 0; i < ps.nfields && i < len(r.Values); i++ {
		c[problemFixed+i] = str(r.Values[i])
	}
	var bad []crmsync.Problem
	if r.Outcome == crmsync.OutcomeInvalid {
		bad = r.Problems()
	}
	fields := mallcoo.SpecOf(ps.kind).Fields
	var marked []int
	for i := range bad {
		for j := range fields {
			if fields[j].Name == bad[i].Column {
				col := problemFixed + j
				c[col] = excelize.Cell{StyleID: ps.badStyle, Value: c[col]}
				marked = append(marked, col)
				break
			}
		}
	}
	if len(ps.lists) > 0 && len(r.Body) > 0 {
		clear(ps.listVals)
		if topFields(r.Body, ps.lists, ps.listVals) {
			for j, col := range ps.listCols {
				if v := ps.listVals[j]; c[col] == nil && strings.HasPrefix(v, "[") && v != "[]" {
					c[col] = v
				}
			}
		}
	}
	if r.Outcome != crmsync.OutcomeDuplicate {
		// An invalid row has a key when its key cells (or its own
		// EventID) read: its fixed version goes under it, and settles it.
		c[problemFixed+ps.nfields] = str(r.Key)
	}
	for _, v := range r.Values[min(ps.nfields, len(r.Values)):] {
		if h, cell, ok := strings.Cut(v, crmsync.ExtraSep); ok {
			if col, ok := ps.extra[h]; ok {
				c[col] = str(cell)
			}
		}
	}
	if err := ps.s.add(c); err != nil {
		return err
	}
	for n, col := range marked {
		if ps.comments >= maxComments {
			break
		}
		ps.comments++
		if err := ps.s.comment(col, problemText(ps.kind, &bad[n], ps.l)); err != nil {
			return err
		}
	}
	return nil
}

func (ps *problemSheet) close() error { return ps.s.finish() }

// problemReason says in one cell what is wrong with a row: the outcome, the
// reason (with its column) and Mallcoo's answer when there was one, e.g.
// "被拒绝: 会员不存在; 猫酷 Code 3001: 会员不存在".
func problemReason(k crmsync.Kind, r *crmsync.Result, l lang) string {
	var b strings.Builder
	b.WriteString(l.outcome(r.Outcome))
	if t := reasonText(k, r, l); t != "" {
		b.WriteString(": ")
		b.WriteString(t)
	}
	if r.HasCode || r.Message != "" {
		b.WriteString("; ")
		if l == "en" {
			b.WriteString("Mallcoo")
		} else {
			b.WriteString("猫酷")
		}
		if r.HasCode {
			b.WriteString(" Code ")
			b.WriteString(strconv.Itoa(r.Code))
		}
		if r.Message != "" {
			b.WriteString(": ")
			b.WriteString(r.Message)
		}
	}
	return b.String()
}
