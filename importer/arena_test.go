package importer

import (
	"bytes"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// cmpRows reads path whole with r and then each of its rows (lines, under
// header) alone, and fails where a row read among the others differs from
// the same row read alone: a buffer reused from row to row (the sheet's
// room for bodies and values) must leave nothing of one row in another.
func cmpRows(t *testing.T, r *Reader, path string, header string, lines []string) {
	all, _ := readAll(t, r, path)
	dir := t.TempDir()
	good := 0
	for i, row := range all {
		p := writeFile(t, dir, fmt.Sprintf("one-%d.csv", i), csvText(header, lines[row.Source.Row-2]))
		one := oneRow(t, r, p)
		if (row.Event == nil) != (one.Event == nil) {
			t.Errorf("%s row %d: event presence differs %v vs %v", path, row.Source.Row, row.Problem, one.Problem)
			continue
		}
		if !reflect.DeepEqual(row.Values, one.Values) || !reflect.DeepEqual(row.Warnings, one.Warnings) || !reflect.DeepEqual(row.Problem, one.Problem) {
			t.Errorf("%s row %d: values/warnings/problem differ", path, row.Source.Row)
		}
		if row.Event == nil {
			continue
		}
		good++
		a, b := row.Event, one.Event
		if !bytes.Equal(a.Body, b.Body) || a.Hash != b.Hash || a.Key != b.Key || a.Lane != b.Lane || !a.Time.Equal(b.Time) {
			t.Errorf("%s row %d:\n batch %s %s %s\n alone %s %s %s", path, row.Source.Row, a.Key, a.Lane, a.Body, b.Key, b.Lane, b.Body)
		}
	}
	if good == 0 {
		t.Errorf("%s: %d rows, none with an event: the test compares nothing", filepath.Base(path), len(all))
	}
}

// TestRowsInBatchAsAlone: every row of a CSV of each kind (optional
// fields empty in every third, IDs varied) reads the same within the file
// as alone: values, warnings, problem, body, hash, key, lane and time.
func TestRowsInBatchAsAlone(t *testing.T) {
	for _, k := range []crmsync.Kind{crmsync.KindMember, crmsync.KindGrade, crmsync.KindScore, crmsync.KindScoreV2, crmsync.KindOverLimit, crmsync.KindBonus, crmsync.KindVerify, crmsync.KindInvalid} {
		spec := mallcoo.SpecOf(k)
		var names []string
		for _, f := range spec.Fields {
			names = append(names, f.Name)
		}
		header := strings.Join(names, ",")
		var lines []string
		for i := 0; i < 40; i++ {
			var cells []string
			for _, f := range spec.Fields {
				v := f.Example
				if !f.Required && i%3 == 1 {
					v = ""
				}
				if v != "" && f.Type == mallcoo.String && f.Enum == nil && !strings.Contains(f.Name, "List") {
					v = fmt.Sprintf("%s%d", v, i)
				}
				if f.Name == "Mobile" && i%4 == 2 {
					v = ""
				}
				if strings.Contains(v, ",") || strings.Contains(v, "\"") {
					v = `"` + strings.ReplaceAll(v, `"`, `""`) + `"`
				}
				cells = append(cells, v)
			}
			lines = append(lines, strings.Join(cells, ","))
		}
		dir := t.TempDir()
		p := writeFile(t, dir, string(k)+".csv", csvText(append([]string{header}, lines...)...))
		cmpRows(t, &Reader{Now: fixedNow}, p, header, lines)
	}
}

// TestRowsInBatchAsAloneXLSX: the same over one workbook with a sheet
// of each kind.
func TestRowsInBatchAsAloneXLSX(t *testing.T) {
	dir := t.TempDir()
	var sheets []xsheet
	want := map[string][][]string{}
	heads := map[string]string{}
	for _, k := range []crmsync.Kind{crmsync.KindMember, crmsync.KindGrade, crmsync.KindScore, crmsync.KindScoreV2, crmsync.KindOverLimit, crmsync.KindBonus, crmsync.KindVerify, crmsync.KindInvalid} {
		spec := mallcoo.SpecOf(k)
		var names []string
		var hdr []any
		for _, f := range spec.Fields {
			names = append(names, f.Name)
			hdr = append(hdr, f.Name)
		}
		rows := [][]any{hdr}
		var lines [][]string
		for i := 0; i < 30; i++ {
			var row []any
			var cells []string
			for _, f := range spec.Fields {
				v := f.Example
				if !f.Required && i%3 == 1 {
					v = ""
				}
				if v != "" && f.Type == mallcoo.String && f.Enum == nil && !strings.Contains(f.Name, "List") {
					v = fmt.Sprintf("%s%d", v, i)
				}
				if f.Name == "ThirdPartyCardID" && k == crmsync.KindMember {
					v = fmt.Sprintf("C%05d", i)
				}
				row = append(row, v)
				cells = append(cells, v)
			}
			rows = append(rows, row)
			lines = append(lines, cells)
		}
		sheets = append(sheets, xsheet{name: string(k), rows: rows})
		want[string(k)] = lines
		heads[string(k)] = strings.Join(names, ",")
	}
	p := writeXLSX(t, dir, "all.xlsx", sheets...)
	r := &Reader{Now: fixedNow}
	all, _ := readAll(t, r, p)
	n := 0
	for i, row := range all {
		sh := row.Source.Sheet
		cells := want[sh][row.Source.Row-2]
		one := oneRow(t, r, writeXLSX(t, dir, fmt.Sprintf("o%d.xlsx", i), xsheet{name: sh, rows: [][]any{toAny(strings.Split(heads[sh], ",")), toAny(cells)}}))
		if (row.Event == nil) != (one.Event == nil) {
			t.Errorf("%s %d presence", sh, row.Source.Row)
			continue
		}
		if row.Event == nil {
			continue
		}
		n++
		if !bytes.Equal(row.Event.Body, one.Event.Body) || row.Event.Key != one.Event.Key || row.Event.Hash != one.Event.Hash {
			t.Errorf("%s row %d:\n batch %s\n alone %s", sh, row.Source.Row, row.Event.Body, one.Event.Body)
		}
	}
	if n == 0 {
		t.Errorf("%d rows, none with an event: the test compares nothing", len(all))
	}
}

func toAny(s []string) []any {
	var a []any
	for _, v := range s {
		if v == "" {
			a = append(a, nil)
		} else {
			a = append(a, v)
		}
	}
	return a
}
