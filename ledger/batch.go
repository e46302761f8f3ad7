package ledger

import (
	"context"
	"strings"
)

// rowsPerInsert is how many rows one multi-row INSERT carries. Most of the
// cost of a small insert through database/sql and cgo is per statement, not
// per row; 64 rows of the widest table (19 columns) bind 1216 parameters,
// well under SQLite's limit of 32766.
const rowsPerInsert = 64

// multiInsert batches rows into multi-row INSERT statements on the writer
// connection: head + " VALUES (?,…),(?,…)…" + tail. Statements are prepared
// once per Ledger: one for rowsPerInsert rows, and one per power of two
// below it for the rows left at the end. It is used inside writeTx only.
type multiInsert struct {
	l     *Ledger
	head  string
	tail  string
	tuple string // one row's values: "(?,?,…)", or with constants among them
	width int    // parameters per row
	args  []any
	// lead, when set, is the value of ?1, which the tuple may name: bound
	// once per statement, not once per row (the run's ID).
	lead []any
}

func (l *Ledger) newMultiInsert(head string, width int, tail string) *multiInsert {
	return l.newMultiInsertTuple(head, "(?"+strings.Repeat(",?", width-1)+")", tail)
}

// newMultiInsertTuple is newMultiInsert with a row's values written out:
// constants in it cost no parameter to bind.
func (l *Ledger) newMultiInsertTuple(head, tuple, tail string) *multiInsert {
	width := strings.Count(tuple, "?")
	// args grow as rows come: most transactions of a run's send stage (a
	// claim, an answer) insert a row or two, and room for rowsPerInsert
	// rows made for each was ~7 KB an event (BENCHMARKS.md, "CPU per sent
	// event").
	return &multiInsert{l: l, head: head, tail: tail, tuple: tuple, width: width}
}

// newMultiInsertLead is newMultiInsertTuple where the tuple's ?1 is
// lead, bound once per statement: SQLite numbers every "?" after it on
// from the largest number given, so row i's parameters follow row i-1's
// and ?1 names lead in every row.
func (l *Ledger) newMultiInsertLead(head, tuple, tail string, lead any) *multiInsert {
	m := l.newMultiInsertTuple(head, tuple, tail)
	m.width -= strings.Count(tuple, "?1")
	m.lead = []any{lead}
	return m
}

func (m *multiInsert) sql(rows int) string {
	tuple := m.tuple
	var b strings.Builder
	b.Grow(len(m.head) + len(m.tail) + rows*(len(tuple)+1) + 8)
	b.WriteString(m.head)
	b.WriteString(" VALUES ")
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(tuple)
	}
	b.WriteString(" ")
	b.WriteString(m.tail)
	return b.String()
}

// add queues one row (width values), executing a statement when enough rows
// are queued.
func (m *multiInsert) add(ctx context.Context, vals ...any) error {
	m.args = append(m.args, vals...)
	if len(m.args) < m.width*rowsPerInsert {
		return nil
	}
	return m.flush(ctx)
}

// flush executes the rows queued.
func (m *multiInsert) flush(ctx context.Context) error {
	args := m.args
	defer func() { m.args = m.args[:0] }()
	for len(args) > 0 {
		rows := len(args) / m.width
		n := rowsPerInsert
		for n > rows {
			n /= 2
		}
		st, err := m.l.prep(ctx, m.sql(n))
		if err != nil {
			return err
		}
		vals := args[:n*m.width]
		if m.lead != nil {
			vals = append(append(make([]any, 0, len(vals)+len(m.lead)), m.lead...), vals...)
		}
		if _, err := st.ExecContext(ctx, vals...); err != nil {
			return err
		}
		args = args[n*m.width:]
	}
	return nil
}
