package importer

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// xlsxTable reads one worksheet through excelize's row iterator, with raw
// cell values: numbers keep all their digits and dates come as serials.
type xlsxTable struct {
	rows     *excelize.Rows
	path     string
	sheet    string
	row      int
	date1904 bool // the workbook counts dates from 1904 (old Mac Excel)
}

func (t *xlsxTable) next() ([]string, error) {
	if !t.rows.Next() {
		if err := t.rows.Error(); err != nil {
			return nil, brokenSheet(t.row+1, err)
		}
		return nil, io.EOF
	}
	t.row++
	cells, err := t.rows.Columns(excelize.Options{RawCellValue: true})
	if err != nil {
		return nil, brokenSheet(t.row, err)
	}
	return cells, nil
}

func (t *xlsxTable) ref() crmsync.SourceRef {
	return crmsync.SourceRef{File: t.path, Sheet: t.sheet, Row: t.row}
}
func (t *xlsxTable) xlsx() bool { return true }

// dateText turns a date cell's serial into the datetime a person sees.
func (t *xlsxTable) dateText(s string) (string, bool) {
	if !serialRE.MatchString(s) {
		return "", false
	}
	if t.date1904 {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return "", false
		}
		s = strconv.FormatFloat(v+1462, 'f', -1, 64)
	}
	tm, err := excelSerial(s)
	if err != nil {
		return "", false
	}
	if !strings.Contains(s, ".") {
		// A whole serial is a date cell without a time of day: shown as
		// the date alone, so a datetime field warns (strict_datetime).
		return tm.Format("2006-01-02"), true
	}
	return tm.Format(mallcoo.DateTimeLayout), true
}

// isNoteSheet reports whether a sheet holds instructions, not data.
func isNoteSheet(name string) bool {
	n := strings.ToLower(trimCell(name))
	return n == "readme" || n == "instructions" || strings.Contains(n, "说明")
}

// readXLSX reads every data sheet of a workbook in order. Instruction
// sheets and empty sheets are skipped; score-v2 list sheets are joined to
// their main sheet, not read as rows.
func (r *Reader) readXLSX(ctx context.Context, path string, emit func(*crmsync.Row) error) ([]crmsync.FileSummary, error) {
	s := r.session(path)
	if _, err := os.Stat(path); err != nil {
		return []crmsync.FileSummary{{Path: path, Kind: r.Kind, Problem: reason(fmt.Sprintf("无法打开文件: %v", err),
			fmt.Sprintf("cannot open the file: %v; check the path and permissions", err))}}, nil
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		return []crmsync.FileSummary{{Path: path, Kind: r.Kind, Problem: reason(
			fmt.Sprintf("无法作为XLSX打开(%v),请在Excel中另存为.xlsx", err),
			fmt.Sprintf("cannot open it as XLSX (%v); save it again as .xlsx in Excel", err))}}, nil
	}
	defer f.Close()
	fileKind, _ := kindFromName(baseName(path))
	var date1904 bool
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	var mains []string
	type listSheet struct{ name, field, prefix string }
	var listSheets []listSheet
	for _, name := range f.GetSheetList() {
		if isNoteSheet(name) {
			continue
		}
		if field, prefix, ok := listOf(name); ok {
			listSheets = append(listSheets, listSheet{name, field, prefix})
			continue
		}
		mains = append(mains, name)
	}
	var out []crmsync.FileSummary
	// List sheets are loaded once, when the first score-v2 sheet needs them.
	var loaded map[string]map[string]*listSource // prefix → field → list
	loadLists := func() error {
		if loaded != nil {
			return nil
		}
		loaded = map[string]map[string]*listSource{}
		for _, ls := range listSheets {
			rows, err := f.Rows(ls.name)
			if err != nil {
				out = append(out, crmsync.FileSummary{Path: path, Sheet: ls.name, Kind: crmsync.KindScoreV2, Problem: reason(
					fmt.Sprintf("无法读取工作表(%v)", err), fmt.Sprintf("cannot read the sheet (%v)", err))})
				continue
			}
			src, problem, err := loadList(ls.field, &xlsxTable{rows: rows, path: path, sheet: ls.name})
			rows.Close()
			if err != nil {
				return fmt.Errorf("read %s[%s]: %w", path, ls.name, err)
			}
			if problem != "" {
				out = append(out, crmsync.FileSummary{Path: path, Sheet: ls.name, Kind: crmsync.KindScoreV2, Problem: problem})
			}
			p := strings.ToLower(ls.prefix)
			if loaded[p] == nil {
				loaded[p] = map[string]*listSource{}
			}
			if loaded[p][ls.field] == nil {
				loaded[p][ls.field] = src
			}
		}
		return nil
	}
	isMain := map[string]bool{}
	for _, m := range mains {
		isMain[strings.ToLower(m)] = true
	}
	for _, name := range mains {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		kind := r.Kind
		if kind == "" {
			if k, ok := kindFromName(name); ok {
				kind = k
			} else {
				kind = fileKind
			}
		}
		rows, err := f.Rows(name)
		if err != nil {
			out = append(out, crmsync.FileSummary{Path: path, Sheet: name, Kind: kind, Problem: reason(
				fmt.Sprintf("无法读取工作表(%v)", err), fmt.Sprintf("cannot read the sheet (%v)", err))})
			continue
		}
		sheetName := name
		sh := &sheet{s: s, t: &xlsxTable{rows: rows, path: path, sheet: name, date1904: date1904}, name: name, kind: kind}
		sh.listsFor = func() (map[string]*listSource, error) {
			if err := loadLists(); err != nil {
				return nil, err
			}
			// A sheet's own lists ("<sheet>.promotions"), else the
			// workbook's lists that belong to no other sheet.
			lists := map[string]*listSource{}
			for field, src := range loaded[strings.ToLower(sheetName)] {
				lists[field] = src
			}
			for prefix, m := range loaded {
				if isMain[strings.ToLower(prefix)] {
					continue
				}
				for field, src := range m {
					if lists[field] == nil {
						lists[field] = src
					}
				}
			}
			return lists, nil
		}
		sum, empty, err := sh.read(ctx, emit)
		rows.Close()
		if err != nil {
			return out, err
		}
		if !empty {
			out = append(out, sum)
		}
	}
	return out, nil
}

func brokenSheet(row int, err error) error {
	return &syntaxError{reason: reason(
		fmt.Sprintf("工作表在第%d行损坏(%v),之后的行未读取;请在Excel中另存后重试", row, err),
		fmt.Sprintf("the sheet is damaged at row %d (%v); the rows after it were not read; save it again in Excel and retry", row, err))}
}
