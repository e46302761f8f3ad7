package importer

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// xlsxTable reads one worksheet in one pass over its XML (see sheetRows),
// with raw cell values: numbers keep all their digits and dates come as
// serials.
type xlsxTable struct {
	rows     *sheetRows
	path     string
	sheet    string
	row      int
	date1904 bool       // the workbook counts dates from 1904 (old Mac Excel)
	types    []cellType // of the row last returned, by column
}

func (t *xlsxTable) next() ([]string, error) {
	cells, ts, eof, err := t.rows.row(t.row + 1)
	if err != nil {
		return nil, brokenSheet(t.row+1, err)
	}
	if eof {
		return nil, io.EOF
	}
	t.row++
	t.types = typedCells(cells, ts, t.types)
	return cells, nil
}

// cellTypes returns the cell types of the row a table returned last; nil
// (all text) for a CSV.
func cellTypes(t table) []cellType {
	if xt, ok := t.(*xlsxTable); ok {
		return xt.types
	}
	return nil
}

// typeAt returns the type of cell c of a row.
func typeAt(types []cellType, c int) cellType {
	if c >= 0 && c < len(types) {
		return types[c]
	}
	return cellText
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
	notXLSX := func(err error) []crmsync.FileSummary {
		return []crmsync.FileSummary{{Path: path, Kind: r.Kind, Problem: reason(
			fmt.Sprintf("无法作为XLSX打开(%v),请在Excel中另存为.xlsx", err),
			fmt.Sprintf("cannot open it as XLSX (%v); save it again as .xlsx in Excel", err))}}
	}
	f, err := excelize.OpenFile(path)
	if err != nil {
		return notXLSX(err), nil
	}
	defer f.Close()
	// The sheets are read from the package itself (see sheetRows).
	zf, err := zip.OpenReader(path)
	if err != nil {
		return notXLSX(err), nil
	}
	defer zf.Close()
	parts, partsErr := workbookParts(&zf.Reader)
	var sst []string
	sstRead := false
	// openSheet opens a sheet's rows.
	openSheet := func(name string) (*sheetRows, error) {
		part, ok := parts[name]
		if partsErr != nil || !ok {
			if partsErr == nil {
				partsErr = fmt.Errorf("no worksheet part for sheet %q", name)
			}
			return nil, fmt.Errorf("sheet part: %w", partsErr)
		}
		if !sstRead {
			var err error
			if sst, err = sharedStrings(f, &zf.Reader, r.maxCellBytes()); err != nil {
				return nil, err
			}
			sstRead = true
		}
		return openSheetPart(f, &zf.Reader, part, sst, r.maxCellBytes())
	}
	fileKind, _ := kindFromName(baseName(path))
	var date1904 bool
	if props, err := f.GetWorkbookProps(); err == nil && props.Date1904 != nil {
		date1904 = *props.Date1904
	}
	var mains, notes []string
	type listSheet struct{ name, field, prefix string }
	var listSheets []listSheet
	for _, name := range f.GetSheetList() {
		if isNoteSheet(name) {
			notes = append(notes, name)
			continue
		}
		if field, prefix, ok := listOf(name); ok {
			listSheets = append(listSheets, listSheet{name, field, prefix})
			continue
		}
		mains = append(mains, name)
	}
	var out []crmsync.FileSummary
	// Every sheet is read or listed: an instructions sheet is listed as
	// skipped, unless it holds a data table (then it is a problem: its
	// rows are not sent from a sheet named like instructions).
	for _, name := range notes {
		rows, err := openSheet(name)
		if err != nil {
			out = append(out, crmsync.FileSummary{Path: path, Sheet: name, Problem: reason(
				fmt.Sprintf("无法读取工作表(%v)", err), fmt.Sprintf("cannot read the sheet (%v)", err))})
			continue
		}
		data, err := holdsTable(&xlsxTable{rows: rows, path: path, sheet: name})
		rows.Close()
		if err != nil {
			return out, fmt.Errorf("read %s[%s]: %w", path, name, err)
		}
		if data != "" {
			out = append(out, crmsync.FileSummary{Path: path, Sheet: name, Kind: data, Problem: reason(
				fmt.Sprintf("工作表名像说明页(%s),但含有%s数据表;未读取。若是数据,请改名(如 %s)后重新导入", name, data, data),
				fmt.Sprintf("the sheet is named like instructions (%s) but holds a %s table; it was not read: if it is data, rename it (e.g. %s) and import again", name, data, data))})
			continue
		}
		out = append(out, crmsync.FileSummary{Path: path, Sheet: name, Skipped: reason("说明页,未读取", "instructions, not read")})
	}
	srcOf := map[string]*listSource{} // list sheet name → its list
	used := map[*listSource]bool{}    // the lists joined to a score-v2 sheet
	// List sheets are loaded once, when the first score-v2 sheet needs them.
	var loaded map[string]map[string]*listSource // prefix → field → list
	loadLists := func() error {
		if loaded != nil {
			return nil
		}
		loaded = map[string]map[string]*listSource{}
		for _, ls := range listSheets {
			rows, err := openSheet(ls.name)
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
			if !problem.IsZero() {
				out = append(out, crmsync.FileSummary{Path: path, Sheet: ls.name, Kind: crmsync.KindScoreV2, Problem: problem})
			}
			if !problem.IsZero() {
				used[src] = true // listed with its problem already
			}
			srcOf[ls.name] = src
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
		rows, err := openSheet(name)
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
			for _, src := range lists {
				used[src] = true
			}
			return lists, nil
		}
		sum, empty, err := sh.read(ctx, emit)
		rows.Close()
		if err != nil {
			return out, err
		}
		if empty {
			sum.Skipped = reason("空工作表", "empty sheet")
		}
		out = append(out, sum)
	}
	// A list sheet no score-v2 sheet joined is a problem: its payments or
	// promotions would be lost without a word.
	for _, ls := range listSheets {
		src, ok := srcOf[ls.name]
		if ok && used[src] {
			continue
		}
		if ok || loaded == nil || !sheetListed(out, ls.name) {
			out = append(out, crmsync.FileSummary{Path: path, Sheet: ls.name, Kind: crmsync.KindScoreV2, Problem: reason(
				fmt.Sprintf("这是score-v2的明细表(%s),但没有可关联的score-v2主表(或已有同名明细表);未读取。请与其主表放在同一工作簿,命名为“<主表名>.%s”,若不是明细请改名", ls.name, listSuffix(ls.field)),
				fmt.Sprintf("the sheet is named like a score-v2 list (%s) but no score-v2 sheet joins it (none in the workbook, or another list sheet of the same name came first); it was not read: put it beside its main sheet as \"<main sheet>.%s\", or rename it if it is not a list", ls.name, listSuffix(ls.field)))})
		}
	}
	// Summaries in the workbook's sheet order.
	order := map[string]int{}
	for i, name := range f.GetSheetList() {
		order[name] = i
	}
	sort.SliceStable(out, func(i, j int) bool { return order[out[i].Sheet] < order[out[j].Sheet] })
	return out, nil
}

// sheetListed reports whether out already has a summary of sheet.
func sheetListed(out []crmsync.FileSummary, sheet string) bool {
	for _, f := range out {
		if f.Sheet == sheet {
			return true
		}
	}
	return false
}

// listSuffix is the sheet-name suffix of a list field.
func listSuffix(field string) string {
	for _, lk := range listKinds {
		if lk.field == field {
			return lk.suffixes[0]
		}
	}
	return field
}

// holdsTable reports the kind of the data table at the top of a sheet, ""
// when it has none.
func holdsTable(t table) (crmsync.Kind, error) {
	var heads [][]string
	for len(heads) < headerRows {
		cells, err := t.next()
		if err != nil {
			if isEOF(err) {
				break
			}
			if _, ok := err.(*syntaxError); ok {
				break
			}
			return "", err
		}
		if !emptyRow(cells) {
			heads = append(heads, append([]string(nil), cells...))
		}
	}
	if len(heads) == 0 {
		return "", nil
	}
	if _, hm, problem := findHeader(headerSets, "", heads); problem.IsZero() && hm != nil {
		return hm.kind, nil
	}
	return "", nil
}

func brokenSheet(row int, err error) error {
	return &syntaxError{reason: reason(
		fmt.Sprintf("工作表在第%d行损坏(%v),之后的行未读取;请在Excel中另存后重试", row, err),
		fmt.Sprintf("the sheet is damaged at row %d (%v); the rows after it were not read; save it again in Excel and retry", row, err))}
}
