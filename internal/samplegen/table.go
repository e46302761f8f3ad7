package main

import (
	"fmt"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// File names of the samples; the reader detects the kind from them.
const (
	scoreCSVName  = "2024-11-01_消费积分变更通知.csv"
	memberCSVName = "2024-11-01_member.csv"
	xlsxName      = "2024-11-01_crm_export.xlsx"
)

// businessDate is the day every sample event happened (China Standard Time,
// written without a zone as the CRM does).
var businessDate = time.Date(2024, 11, 1, 0, 0, 0, 0, time.UTC)

type cellKind int

const (
	cellEmpty  cellKind = iota
	cellText            // a text cell (IDs keep their leading zeros)
	cellNumber          // a plain numeric cell
	cellDate            // a numeric cell (Excel serial) with a date number format
)

// cell is one value as the CRM wrote it.
type cell struct {
	kind cellKind
	text string
	num  float64
}

func text(s string) cell {
	if s == "" {
		return cell{}
	}
	return cell{kind: cellText, text: s}
}

func number(f float64) cell { return cell{kind: cellNumber, num: f} }

// at returns a date cell for hh:mm:ss on the business date.
func at(hms string) cell { return cell{kind: cellDate, num: serial(hms)} }

// serial returns the Excel serial number (1900 date system) of hh:mm:ss on
// the business date.
func serial(hms string) float64 {
	var h, m, s int
	if _, err := fmt.Sscanf(hms, "%d:%d:%d", &h, &m, &s); err != nil {
		panic("samplegen: bad time " + hms)
	}
	days := businessDate.Sub(time.Date(1899, 12, 30, 0, 0, 0, 0, time.UTC)).Hours() / 24
	return days + float64(h*3600+m*60+s)/86400
}

// mark records a deliberately bad (or noteworthy) row for the README.
type mark struct {
	index   int    // index into table.rows
	field   string // the API field of the column at fault
	outcome string // invalid, duplicate or warning
	why     string
}

// table is one CSV file or one worksheet.
type table struct {
	file   string
	sheet  string // "" for a CSV file
	kind   crmsync.Kind
	item   string // the list field for a score-v2 item sheet, else ""
	style  string // how the headers are written, for the README
	fields []string
	header []string
	rows   [][]cell
	marks  []mark
	notes  bool // the 说明 sheet: lines of text, no header, skipped by the reader
}

// newTable returns a table whose header is the fields' Chinese labels when
// chinese is set, else the API names as given.
func newTable(file, sheet string, kind crmsync.Kind, item string, chinese bool, fields ...string) *table {
	t := &table{file: file, sheet: sheet, kind: kind, item: item, fields: fields}
	t.style = "API names"
	for _, f := range fields {
		h := f
		if chinese {
			h = label(kind, item, f)
		}
		t.header = append(t.header, h)
	}
	if chinese {
		t.style = "Chinese labels"
	}
	return t
}

// add appends a row and returns its index.
func (t *table) add(r ...cell) int {
	if len(r) != len(t.fields) {
		panic(fmt.Sprintf("samplegen: %s %s: row has %d cells, want %d", t.file, t.sheet, len(r), len(t.fields)))
	}
	t.rows = append(t.rows, r)
	return len(t.rows) - 1
}

// addText appends a row of text cells and returns its index.
func (t *table) addText(r ...string) int {
	c := make([]cell, len(r))
	for i, s := range r {
		c[i] = text(s)
	}
	return t.add(c...)
}

func (t *table) mark(index int, field, outcome, why string) {
	t.col(field) // panics on a typo
	t.marks = append(t.marks, mark{index: index, field: field, outcome: outcome, why: why})
}

// col returns the column index of an API field.
func (t *table) col(field string) int {
	for i, f := range t.fields {
		if f == field {
			return i
		}
	}
	panic("samplegen: no column " + field + " in " + t.file + " " + t.sheet)
}

// excelRow is the row number a person sees in Excel for a row index (the
// header is row 1).
func excelRow(index int) int { return index + 2 }

// label returns the vendor's Chinese label of a field, from the endpoint
// specs the reader maps headers with.
func label(kind crmsync.Kind, item, name string) string {
	spec := mallcoo.SpecOf(kind)
	fields := spec.Fields
	if item != "" {
		if name == "TransID" {
			return spec.Field("TransID").Label
		}
		fields = spec.Items[item].Fields
	}
	for _, f := range fields {
		if f.Name == name {
			return f.Label
		}
	}
	panic("samplegen: no field " + name + " in " + string(kind) + " " + item)
}

// fieldsOf returns the API names of every field of kind, in spec order.
func fieldsOf(kind crmsync.Kind) []string {
	var names []string
	for _, f := range mallcoo.SpecOf(kind).Fields {
		names = append(names, f.Name)
	}
	return names
}
