package importer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// fixedNow is the clock of the tests: 2024-11-05 09:00 in China.
func fixedNow() time.Time { return time.Date(2024, 11, 5, 9, 0, 0, 0, mallcoo.CST) }

// writeFile writes text (UTF-8) to dir/name and returns the path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeGBK writes text encoded as GBK.
func writeGBK(t *testing.T, dir, name, text string) string {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// csvText joins lines with CRLF, as Excel writes CSV.
func csvText(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// xsheet is one sheet of a test workbook; a cell is a string, or any value
// excelize writes typed (int, float64, time.Time), or nil for none.
type xsheet struct {
	name string
	rows [][]any
}

// writeXLSX writes a workbook of sheets to dir/name.
func writeXLSX(t *testing.T, dir, name string, sheets ...xsheet) string {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	for i, sh := range sheets {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", sh.name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(sh.name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sh.rows {
			for c, v := range row {
				if v == nil {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if err := f.SetCellValue(sh.name, cell, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	p := filepath.Join(dir, name)
	if err := f.SaveAs(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// readAll reads a file with r and returns its rows and summaries.
func readAll(t *testing.T, r *Reader, path string) ([]*crmsync.Row, []crmsync.FileSummary) {
	t.Helper()
	if r.Now == nil {
		r.Now = fixedNow
	}
	var rows []*crmsync.Row
	sums, err := r.ReadFile(context.Background(), path, func(row *crmsync.Row) error {
		rows = append(rows, row)
		return nil
	})
	if err != nil {
		t.Fatalf("ReadFile(%s) error: %v", path, err)
	}
	return rows, sums
}

// oneRow reads a file that must give exactly one row.
func oneRow(t *testing.T, r *Reader, path string) *crmsync.Row {
	t.Helper()
	rows, sums := readAll(t, r, path)
	for _, s := range sums {
		if !s.Problem.IsZero() {
			t.Fatalf("ReadFile(%s) file problem: %s", path, s.Problem)
		}
	}
	if len(rows) != 1 {
		t.Fatalf("ReadFile(%s) gave %d rows, want 1", path, len(rows))
	}
	return rows[0]
}

// mustEvent returns the row's event, failing on a problem.
func mustEvent(t *testing.T, row *crmsync.Row) *crmsync.Event {
	t.Helper()
	if row.Problem != nil {
		t.Fatalf("row %v: problem %q, want an event", row.Source, row.Problem.Error())
	}
	if row.Event == nil {
		t.Fatalf("row %v: neither event nor problem", row.Source)
	}
	return row.Event
}

// mustProblem returns the row's problem, failing on an event.
func mustProblem(t *testing.T, row *crmsync.Row) *crmsync.Problem {
	t.Helper()
	if row.Problem == nil {
		body := ""
		if row.Event != nil {
			body = string(row.Event.Body)
		}
		t.Fatalf("row %v: event %s, want a problem", row.Source, body)
	}
	return row.Problem
}

// cst builds a China time.
func cst(y int, mo time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, mo, d, h, mi, s, 0, mallcoo.CST)
}
