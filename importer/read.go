// Package importer reads CRM export files (CSV in UTF-8 or GBK/GB18030, and
// XLSX workbooks) into validated crmsync.Rows, one at a time. It only
// reads: package pipeline drives the runs that diff and send the rows.
//
// Reading streams: a CSV goes through encoding/csv over a 1 MiB buffer, a
// worksheet through one pass over its XML (values and cell types together;
// excelize opens the package), so memory stays flat whatever the file's
// size; caps on rows and cell size bound a hostile file. A CSV's
// encoding is decided on the evidence of all its bytes before its first row
// is read, and only regular files are opened. Each sheet's kind comes from
// -kind, else from the sheet or file name (a kind name or the endpoint's
// Chinese title), else from its headers. Headers are the API field names
// (any case) or the vendor's Chinese labels. A row that fails validation is
// data, not an error: it comes back with a crmsync.Problem naming the column
// and the reason. A mall's own tables (column aliases, word → code mappings,
// fields it requires) reach a Reader through NewReader, which checks them
// against mallcoo.Spec and names a mistake by its config key.
package importer

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"iter"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// Reader reads CRM export files. Its fields are read-only once reading
// starts; a Reader may be used by several goroutines at once.
type Reader struct {
	Encoding string           // "auto" (default when ""), "utf-8", "gbk", "gb18030" for CSV
	Kind     crmsync.Kind     // when set (-kind), every file/sheet is read as this kind
	Now      func() time.Time // default time.Now; used for the member business-date fallback
	// Mappings holds, per field name, a mall's own words and the code
	// they stand for, e.g. "PayType": {"微信": 12}; applied before parsing
	// enum and integer fields. NewReader checks a config's tables.
	Mappings map[string]map[string]int
	// Required lists, per kind, the optional fields this mall requires
	// (mallcoo.SpecFor), e.g. score TradeSerialNo and PosID: a row leaving
	// one empty is invalid.
	Required map[crmsync.Kind][]string
	// StrictDateTime makes a date alone where a datetime is due (no time
	// of day: it would be sent as 00:00:00) a problem of the row rather
	// than a warning.
	StrictDateTime bool
	// MaxRowsPerFile caps the data rows of one file (the setting
	// max_rows_per_file; 0 means DefaultMaxRowsPerFile): the rows up to the
	// cap are read, then the file gets a problem.
	MaxRowsPerFile int
	// MaxCellBytes caps the size of one cell (the setting max_cell_bytes;
	// 0 means DefaultMaxCellBytes); a CSV row may hold rowCells such cells.
	// A cell or row beyond the cap is a file problem after the rows before
	// it, and is never buffered whole.
	MaxCellBytes int
	// AllowEmpty says nights without data are normal (-allow-empty): a CSV
	// with a header and no data rows is listed as skipped, not a problem.
	// A file with no header at all (0 bytes) stays a problem.
	AllowEmpty bool
	// Columns holds a mall's own column names, header text → field name
	// (API name): Columns[""] for every kind, Columns[kind] for one, e.g.
	// {"": {"退款时间": "ReturnTime"}, "score": {"会员卡号": "ThirdPartyCardID"}}.
	Columns map[crmsync.Kind]map[string]string
}

// The caps on one file when the Reader does not set them.
const (
	DefaultMaxRowsPerFile = 2_000_000
	DefaultMaxCellBytes   = 64 << 10
)

func (r *Reader) maxRows() int {
	if r.MaxRowsPerFile > 0 {
		return r.MaxRowsPerFile
	}
	return DefaultMaxRowsPerFile
}

func (r *Reader) maxCellBytes() int {
	if r.MaxCellBytes > 0 {
		// Beyond maxMaxCellBytes a cap holds nothing back, and the
		// readers' sums with it (max+1, rowCells × max) would overflow.
		return min(r.MaxCellBytes, maxMaxCellBytes)
	}
	return DefaultMaxCellBytes
}

// maxMaxCellBytes is the largest cap on a cell that has an effect (2^56
// bytes; 2^24 where an int has 32 bits).
const maxMaxCellBytes = math.MaxInt / (2 * rowCells)

// The codes of the file problems the reader finds (crmsync.FileSummary.Code),
// for programs and tests; Problem says the same to a person.
const (
	ProblemKind        = "kind"             // -kind names no kind
	ProblemFormat      = "format"           // not a CSV or XLSX file (an old .xls among them)
	ProblemListFile    = "list-file"        // a score-v2 list file named instead of its main file
	ProblemOpen        = "open"             // the file cannot be opened or stat'ed
	ProblemNotRegular  = "not-regular-file" // a directory, FIFO, device or socket
	ProblemRead        = "read"             // a read error
	ProblemEncoding    = "encoding"         // bytes that do not decode in the encoding chosen
	ProblemSyntax      = "csv-syntax"       // e.g. a quote that does not close
	ProblemHeader      = "header"           // no header of a kind found
	ProblemEmpty       = "empty"            // no header and no rows (0 bytes, a BOM only, blank lines)
	ProblemNoRows      = "no-rows"          // a header and no data rows
	ProblemNoInput     = "no-input"         // a run found no input file at all (its Path is the folders named)
	ProblemTooManyRows = "too-many-rows"    // more data rows than MaxRowsPerFile
	ProblemCellTooBig  = "cell-too-big"     // a cell longer than MaxCellBytes
	ProblemRowTooLong  = "row-too-long"     // a CSV row longer than rowCells × MaxCellBytes
	ProblemOrphanItems = "orphan-items"     // score-v2 list items whose TransID no order row of the file has
	ProblemSameFile    = "same-file"        // the file another input name reaches too (a link): read under that one
)

// Expand turns FILE|DIR arguments into input files, sorted: a directory
// yields its *.csv, *.xlsx, *.xlsm files (not recursive), skipping Office lock
// files (~$*), hidden files, and the sibling list files of score-v2, which
// ReadFile joins with their main file. A named path that does not exist is
// an error that names it. Other file types named explicitly are returned
// (ReadFile reports them as a file problem); so is a named list file whose
// main file does not exist, and so is an entry of a directory with a CSV or
// XLSX name that is not a regular file (a subdirectory, a FIFO, a dangling
// symbolic link): ReadFile reports it rather than it vanishing unseen.
func Expand(paths []string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	for _, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			if os.IsNotExist(err) {
				return nil, fmt.Errorf("input %s does not exist", p)
			}
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		if !fi.IsDir() {
			if isListFile(p) && mainExists(p) {
				continue // read with its main file
			}
			add(p)
			continue
		}
		names, err := readDirNames(p)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", p, err)
		}
		for _, name := range names {
			if strings.HasPrefix(name, "~$") || strings.HasPrefix(name, ".") {
				continue
			}
			switch strings.ToLower(filepath.Ext(name)) {
			case ".csv", ".xlsx", ".xlsm":
			default:
				continue
			}
			full := filepath.Join(p, name)
			if isListFile(full) && (strongListName(full) || mainExists(full)) {
				continue
			}
			add(full)
		}
	}
	sort.Strings(out)
	return sameFileOnce(out), nil
}

// sameFileOnce keeps one path of each file that paths (sorted) reach
// under the same name through several folders (a folder named twice, once
// through a symbolic link): read under each, its rows would be read twice.
// A file reached under another name (a symbolic or hard link named
// 2024-11-02_member.csv to the 11-01 export) is kept: ReadFiles reports it
// as the file problem same-file rather than read it twice (a member notice
// would be sent again under the other name's business date) or drop it
// without a word. A path that cannot be stat'ed is kept: ReadFile reports
// it.
func sameFileOnce(paths []string) []string {
	out := paths[:0:0]
	seen := map[[2]string]bool{} // the path read, and a name of it
	for p, read := range sameFiles(paths) {
		k := [2]string{cmp.Or(read, p), filepath.Base(p)}
		if !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out
}

// sameFiles yields each of paths with the path of the same file read
// under it ("" for none: it is read itself), in order. The one read is
// the first that is no symbolic link, else the first.
func sameFiles(paths []string) iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		type file struct {
			fi   os.FileInfo
			path string
			link bool
		}
		var files []file
		num := make([]int, len(paths)) // the file's number in files, from 1; 0: not stat'ed
		for i, p := range paths {
			fi, err := os.Stat(p)
			if err != nil || !fi.Mode().IsRegular() {
				continue
			}
			lfi, err := os.Lstat(p)
			link := err == nil && lfi.Mode()&os.ModeSymlink != 0
			j := slices.IndexFunc(files, func(f file) bool { return os.SameFile(f.fi, fi) })
			switch {
			case j < 0:
				files = append(files, file{fi, p, link})
				j = len(files) - 1
			case files[j].link && !link:
				files[j].path, files[j].link = p, false
			}
			num[i] = j + 1
		}
		for i, p := range paths {
			at := ""
			if n := num[i]; n > 0 && files[n-1].path != p {
				at = files[n-1].path
			}
			if !yield(p, at) {
				return
			}
		}
	}
}

// ReadFiles reads paths one after the other as ReadFile does, calling done
// with each file's summaries when it has been read. A file a path reaches
// that an earlier or a later one reaches too under another name (a link)
// is read once, under the name sameFiles chooses; the other name gets the
// file problem same-file and no rows.
func (r *Reader) ReadFiles(ctx context.Context, paths []string, row func(*crmsync.Row) error, done func([]crmsync.FileSummary) error) error {
	for path, same := range sameFiles(paths) {
		if err := ctx.Err(); err != nil {
			return err
		}
		sums := []crmsync.FileSummary{{Path: path, Kind: r.Kind, Code: ProblemSameFile, Problem: reason(
			"与 "+same+" 是同一个文件(链接),只在那个名字下读取一次;请删除多余的名字",
			"the same file as "+same+" (a link): read once, under that name; remove the other name")}}
		if same == "" {
			var err error
			if sums, err = r.ReadFile(ctx, path, row); err != nil {
				return err
			}
		}
		if err := done(sums); err != nil {
			return err
		}
	}
	return nil
}

// isListFile reports whether a path is a score-v2 list CSV.
func isListFile(path string) bool {
	if !strings.EqualFold(filepath.Ext(path), ".csv") {
		return false
	}
	_, _, ok := listOf(baseName(path))
	return ok
}

// mainExists reports whether a list file's main CSV is beside it.
func mainExists(path string) bool {
	_, prefix, _ := listOf(baseName(path))
	if prefix == "" {
		return false
	}
	names, err := readDirNames(filepath.Dir(path))
	if err != nil {
		return false
	}
	for _, n := range names {
		if strings.EqualFold(n, prefix+".csv") {
			return true
		}
	}
	return false
}

func readDirNames(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, nil
}

// ReadFile streams the data rows of one file in file order to row; each
// Row is freshly allocated and may be kept. It returns one FileSummary per
// data sheet (one for a CSV) with Rows counted. A file that is not a regular
// CSV/XLSX file, cannot be decoded, is empty or has no recognisable headers
// gets FileSummary.Problem (what to do about it) and yields no rows; one that
// breaks off (a CSV syntax error, a cap exceeded) gets a Problem after the
// rows before the break. That is not an error. The error is only ctx's or
// row's.
func (r *Reader) ReadFile(ctx context.Context, path string, row func(*crmsync.Row) error) ([]crmsync.FileSummary, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.Kind != "" {
		if k, err := crmsync.ParseKind(string(r.Kind)); err != nil || k != r.Kind {
			return []crmsync.FileSummary{{Path: path, Problem: reason("未知的数据类型 "+string(r.Kind),
				fmt.Sprintf("unknown kind %q; use one of %s", r.Kind, crmsync.KindList())), Code: ProblemKind}}, nil
		}
	}
	// Only a regular file is read: opening a FIFO blocks, and a device
	// such as /dev/zero never ends.
	if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
		p := openProblem(err)
		if err == nil {
			p = notRegular(fi)
		}
		return []crmsync.FileSummary{{Path: path, Kind: r.Kind, Problem: p.reason, Code: p.code}}, nil
	}
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		if isListFile(path) && (strongListName(path) || mainExists(path)) {
			return []crmsync.FileSummary{{Path: path, Kind: crmsync.KindScoreV2, Problem: reason(
				"这是score-v2的明细文件,会与同名主文件一起读取;请读取主文件(如 score-v2.csv)",
				"this is a score-v2 list file, read together with its main file; name the main file (e.g. score-v2.csv) instead"), Code: ProblemListFile}}, nil
		}
		return r.readCSV(ctx, path, row)
	case ".xlsx", ".xlsm":
		return r.readXLSX(ctx, path, row)
	case ".xls":
		return []crmsync.FileSummary{{Path: path, Problem: reason("不支持旧版.xls格式,请在Excel中另存为.xlsx或CSV",
			"old .xls workbooks are not supported; save it as .xlsx or CSV in Excel"), Code: ProblemFormat}}, nil
	}
	return []crmsync.FileSummary{{Path: path, Problem: reason("不是CSV或XLSX文件,请导出为CSV或XLSX",
		"not a CSV or XLSX file; export it as CSV or XLSX"), Code: ProblemFormat}}, nil
}

// session is one ReadFile call's settings.
type session struct {
	r        *Reader
	path     string
	now      func() time.Time
	mappings map[string]map[string]string // field → lower-case word → code
	fileDate *time.Time
	rows     int // data rows read from the file so far, all its sheets
	headers  map[crmsync.Kind]headerSet
}

func (r *Reader) session(path string) *session {
	s := &session{r: r, path: path, now: r.Now, headers: withAliases(r.Columns)}
	if s.now == nil {
		s.now = time.Now
	}
	if len(r.Mappings) > 0 {
		s.mappings = map[string]map[string]string{}
		for f, m := range r.Mappings {
			lm := map[string]string{}
			for w, c := range m {
				lm[strings.ToLower(trimCell(w))] = strconv.Itoa(c)
			}
			s.mappings[strings.ToLower(f)] = lm
		}
	}
	if t, ok := fileDate(filepath.Base(path)); ok {
		s.fileDate = &t
	}
	return s
}

func (s *session) mapping(field string) map[string]string {
	if s.mappings == nil {
		return nil
	}
	return s.mappings[strings.ToLower(field)]
}

// table is one sheet or CSV file read row by row.
type table interface {
	// next returns the next row's cells (possibly none), or io.EOF. The
	// slice may be reused by the following call.
	next() ([]string, error)
	// ref says where the row last returned is.
	ref() crmsync.SourceRef
	// xlsx reports whether cells are raw XLSX values.
	xlsx() bool
}

func emptyRow(cells []string) bool {
	for _, c := range cells {
		if c != "" && trimCell(c) != "" {
			return false
		}
	}
	return true
}

// sheet reads one table of a known or detectable kind.
type sheet struct {
	s     *session
	t     table
	name  string       // sheet name, "" for CSV
	kind  crmsync.Kind // from -kind or a name; "" to detect from headers
	lists map[string]*listSource
	// listsFor is called once the kind is known to be score-v2.
	listsFor func() (map[string]*listSource, error)
	// Scratch: the last row's body in the full form and the wire form.
	full, wire []byte
	parser     fieldParser
	// The room of the row being built: its optional values and its body.
	arena  valueArena
	bodies bodies
}

// read streams a table's rows. empty reports a table without any non-empty
// row (skipped silently in workbooks). A table that breaks off (a
// syntaxError from next, or the session's row cap reached) gets its Problem
// after the rows before the break; ctx is checked every 1024 lines, blank
// ones included.
func (sh *sheet) read(ctx context.Context, emit func(*crmsync.Row) error) (sum crmsync.FileSummary, empty bool, err error) {
	sum = crmsync.FileSummary{Path: sh.s.path, Sheet: sh.name, Kind: sh.kind}
	lines := 0
	// next returns the next row that is not empty; a problem ends the
	// table with io.EOF and sets sum's Problem.
	next := func() ([]string, error) {
		for {
			lines++
			if lines&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
			}
			cells, err := sh.t.next()
			if err != nil {
				if pe, ok := err.(*syntaxError); ok {
					sum.Problem, sum.Code = pe.reason, pe.code
					return nil, io.EOF
				}
				return nil, err
			}
			if sh.t.xlsx() { // a CSV table checks its own cells as it parses
				if c := longCell(cells, sh.s.r.maxCellBytes()); c >= 0 {
					max := sh.s.r.maxCellBytes()
					sum.Code, sum.Problem = ProblemCellTooBig, reason(
						fmt.Sprintf("第%d行第%d列的单元格超过%d字节(配置项 max_cell_bytes),该行及之后的行未读取;请检查文件或调大 max_cell_bytes", sh.t.ref().Row, c+1, max),
						fmt.Sprintf("the cell on row %d, column %d is longer than %d bytes (the setting max_cell_bytes); that row and the rows after it were not read; check the file or raise max_cell_bytes", sh.t.ref().Row, c+1, max))
					return nil, io.EOF
				}
			}
			if !emptyRow(cells) {
				return cells, nil
			}
		}
	}
	type held struct {
		cells []string
		types []cellType
		ref   crmsync.SourceRef
	}
	var top []held
	for len(top) < headerRows {
		cells, err := next()
		if err != nil {
			if isEOF(err) {
				break
			}
			return sum, false, err
		}
		top = append(top, held{append([]string(nil), cells...), append([]cellType(nil), cellTypes(sh.t)...), sh.t.ref()})
	}
	if len(top) == 0 {
		return sum, sum.Problem.IsZero(), nil
	}
	heads := make([][]string, len(top))
	for i := range top {
		heads[i] = top[i].cells
	}
	at, hm, problem := findHeader(sh.s.headers, sh.kind, heads)
	if !problem.IsZero() {
		if sum.Problem.IsZero() { // else the rows after the break may hold it
			sum.Problem, sum.Code = problem, ProblemHeader
		}
		return sum, false, nil
	}
	sum.Kind = hm.kind
	for _, name := range hm.extraNames {
		near := nearestField(hm.kind, name)
		sum.Unknown = append(sum.Unknown, name)
		sum.Warnings = append(sum.Warnings, reason(
			fmt.Sprintf("未识别的列“%s”(最接近的字段: %s),未读取;若它就是该字段,在配置 [columns] 中加 \"%s\" = \"%s\"", name, near, name, fieldOf(near)),
			fmt.Sprintf("unknown column %q (nearest field: %s), not read; if it is that field, add \"%s\" = \"%s\" to the config's [columns]", name, near, name, fieldOf(near))))
	}
	if hm.kind == crmsync.KindScoreV2 && sh.listsFor != nil {
		if sh.lists, err = sh.listsFor(); err != nil {
			return sum, false, err
		}
	}
	rest := top[at+1:]
	if len(rest) > 0 && isSecondHeader(hm, rest[0].cells) {
		rest = rest[1:]
	}
	spec, err := mallcoo.SpecFor(hm.kind, sh.s.r.Required[hm.kind])
	if err != nil {
		return sum, false, fmt.Errorf("read %s: required fields: %w", sh.s.path, err)
	}
	max := sh.s.r.maxRows()
	// one emits a data row; false when the file's cap is reached first.
	one := func(cells []string, types []cellType, ref crmsync.SourceRef) (bool, error) {
		if sh.s.rows >= max {
			sum.Code = ProblemTooManyRows
			sum.Problem = reason(
				fmt.Sprintf("文件超过%d行数据(配置项 max_rows_per_file),第%d行及之后的行未读取;请拆分文件或调大 max_rows_per_file", max, ref.Row),
				fmt.Sprintf("the file has more than %d data rows (the setting max_rows_per_file); row %d and the rows after it were not read; split the file or raise max_rows_per_file", max, ref.Row))
			return false, nil
		}
		sh.s.rows++
		sum.Rows++
		if sum.Rows&1023 == 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		return true, emit(sh.row(spec, hm, cells, types, ref))
	}
	for _, h := range rest {
		if ok, err := one(h.cells, h.types, h.ref); !ok || err != nil {
			return sum, false, err
		}
	}
	if len(top) < headerRows {
		sh.orphanItems(&sum)
		return sum, false, nil // the table ended among the top rows
	}
	for {
		cells, err := next()
		if err != nil {
			if isEOF(err) {
				sh.orphanItems(&sum)
				return sum, false, nil
			}
			return sum, false, err
		}
		if ok, err := one(cells, cellTypes(sh.t), sh.t.ref()); !ok || err != nil {
			return sum, false, err
		}
	}
}

// orphanItems makes a file problem of score-v2 list items (payments,
// promotions) whose TransID no order row of the sheet had, once the whole
// sheet was read: they were sent with no order, so they would be lost
// without a word.
func (sh *sheet) orphanItems(sum *crmsync.FileSummary) {
	if !sum.Problem.IsZero() {
		return
	}
	for _, f := range slices.Sorted(maps.Keys(sh.lists)) {
		ls := sh.lists[f]
		if ls == nil || !ls.problem.IsZero() {
			continue
		}
		n, first := ls.orphans()
		if n == 0 {
			continue
		}
		ids := strings.Join(first, ", ")
		sum.Code, sum.Problem = ProblemOrphanItems, reason(
			fmt.Sprintf("%s明细中有%d个交易ID在订单表中没有对应的行(如 %s),这些明细未发送;请检查明细表的交易ID,或把订单行补进订单表后重新导入", itemSpec(f).Titles[0], n, ids),
			fmt.Sprintf("the %s list holds items of %d TransIDs that no order row has (e.g. %s): they were not sent; check the list's TransIDs, or add the orders and import again", itemSpec(f).Sheet, n, ids))
		return
	}
}

// longCell returns the index of the first cell longer than max bytes, or -1.
func longCell(cells []string, max int) int {
	for i, c := range cells {
		if len(c) > max {
			return i
		}
	}
	return -1
}

// damaged returns the column of the first cell holding U+FFFD, "" when none
// does. The reader never makes one (bytes that do not decode are a file
// problem), so one in the file is text an earlier conversion destroyed: in
// an ID it names nobody, in a remark it sends garbage.
func damaged(spec *mallcoo.Spec, values []string, eventID, bizDate string) string {
	for i, v := range values {
		if strings.ContainsRune(v, utf8.RuneError) {
			return spec.Fields[i].Name
		}
	}
	switch {
	case strings.ContainsRune(eventID, utf8.RuneError):
		return colEventID
	case strings.ContainsRune(bizDate, utf8.RuneError):
		return colBizDate
	}
	return ""
}

// fieldOf is the API name in "label(Name)".
func fieldOf(labelName string) string {
	if i := strings.LastIndexByte(labelName, '('); i >= 0 {
		return strings.TrimSuffix(labelName[i+1:], ")")
	}
	return labelName
}

// usedCells is the number of cells up to the last non-empty one.
func usedCells(cells []string) int {
	for n := len(cells); n > 0; n-- {
		if trimCell(cells[n-1]) != "" {
			return n
		}
	}
	return 0
}

// invalidRow sets the problems of row r: every one, the first as Problem.
func invalidRow(r *crmsync.Row, ps ...crmsync.Problem) *crmsync.Row {
	r.Problems = ps
	r.Problem = &r.Problems[0]
	return r
}

// row validates one data row into a Row.
func (sh *sheet) row(spec *mallcoo.Spec, hm *headerMap, cells []string, ct []cellType, ref crmsync.SourceRef) *crmsync.Row {
	r := sh.validRow(spec, hm, cells, ct, ref)
	if hm.eventID >= 0 && hm.eventID < len(cells) {
		r.EventID = trimCell(cells[hm.eventID])
	}
	return r
}

func (sh *sheet) validRow(spec *mallcoo.Spec, hm *headerMap, cells []string, ct []cellType, ref crmsync.SourceRef) *crmsync.Row {
	values := make([]string, len(spec.Fields), len(spec.Fields)+len(hm.extra))
	for i, c := range hm.cols {
		if c >= 0 && c < len(cells) {
			values[i] = trimCell(cells[c])
		}
	}
	// The cells of unknown columns follow, as "header\x1fvalue", so the
	// problems workbook keeps them.
	for n, c := range hm.extra {
		if c < len(cells) {
			if v := trimCell(cells[c]); v != "" {
				values = append(values, hm.extraNames[n]+crmsync.ExtraSep+v)
			}
		}
	}
	cell := func(c int) string {
		if c >= 0 && c < len(cells) {
			return trimCell(cells[c])
		}
		return ""
	}
	if _, ok := sh.t.(*xlsxTable); !ok {
		if n := usedCells(cells); n > hm.width {
			// An unquoted comma split a cell: the cells after it are in the
			// wrong columns, whichever of them read.
			return invalidRow(&crmsync.Row{Source: ref, Kind: hm.kind, Values: values}, crmsync.NewProblem("", crmsync.ReasonExtraCells, "",
				fmt.Sprintf("这一行有%d个单元格,表头只有%d列:某个单元格含有未加引号的逗号(如 1,280.50 或备注中的逗号),其后的值都错了列;请导出时给这样的单元格加上双引号,或去掉逗号", n, hm.width),
				fmt.Sprintf("the row has %d cells but the header %d columns: a cell holds a comma without quotes (1,280.50, a remark), so the cells after it are in the wrong columns; export with such cells in double quotes, or without the comma", n, hm.width)))
		}
	}
	for i, c := range hm.cols {
		if typeAt(ct, c) == cellNoValue {
			return invalidRow(&crmsync.Row{Source: ref, Kind: hm.kind, Values: values}, crmsync.NewProblem(spec.Fields[i].Name, crmsync.ReasonFormula, "",
				fmt.Sprintf("%s(%s)是公式,但文件中没有计算结果(由程序生成、未在Excel中打开保存);请在Excel中打开并保存,或导出数值", spec.Fields[i].Label, spec.Fields[i].Name),
				fmt.Sprintf("%s(%s) is a formula without a computed value in the file (written by a program, never saved in Excel); open and save it in Excel, or export the values", spec.Fields[i].Label, spec.Fields[i].Name)))
		}
	}
	bizDate := cell(hm.bizDate)
	if col := damaged(spec, values, cell(hm.eventID), bizDate); col != "" {
		return invalidRow(&crmsync.Row{Source: ref, Kind: hm.kind, Values: values}, crmsync.NewProblem(col, crmsync.ReasonDamaged, "",
			"单元格含有替换字符 \uFFFD(�),是编码转换时损坏的文字;请在源系统中修正后重新导出",
			"the cell holds the replacement character U+FFFD (�), text damaged by a wrong encoding conversion; correct it at the source and export again"))
	}
	if xt, ok := sh.t.(*xlsxTable); ok {
		// A date cell reads as its serial number; show it as a person sees
		// it, and parse that.
		for i := range spec.Fields {
			if spec.Fields[i].Type == mallcoo.DateTime {
				if s, ok := xt.dateText(values[i]); ok {
					values[i] = s
				}
			}
		}
		if s, ok := xt.dateText(bizDate); ok {
			bizDate = s
		}
	}
	out := &crmsync.Row{Source: ref, Kind: hm.kind, Values: values}
	// One parser per sheet, reset for each row: its problems and warnings
	// go to the row, fresh slices every time.
	p := &sh.parser
	sh.arena.reset()
	*p = fieldParser{fields: spec.Fields, vals: values, strict: sh.s.r.StrictDateTime, arena: &sh.arena}
	if sh.s.mappings != nil {
		p.mappings = sh.s.mapping
	}
	if ct != nil {
		p.types = make([]cellType, len(spec.Fields))
		for i, c := range hm.cols {
			p.types[i] = typeAt(ct, c)
		}
	}
	in := &rowInput{p: p, bizDate: bizDate, fileDate: sh.s.fileDate, now: sh.s.now, lists: sh.lists, values: values, bodies: &sh.bodies}
	b, probs := build(hm.kind, in)
	if probs != nil {
		return invalidRow(out, probs...)
	}
	// The full form (every field, null when empty) is hashed and dropped;
	// the wire form is what is stored and sent.
	full, wire, err := mallcoo.AppendBody(sh.full[:0], sh.wire[:0], b.body)
	sh.full, sh.wire = full, wire
	body := bytes.Clone(wire)
	if err != nil {
		return invalidRow(out, crmsync.NewProblem("", crmsync.ReasonBuild, "", "无法生成请求: "+err.Error(), "cannot build the request: "+err.Error()))
	}
	key := b.key
	if id := cell(hm.eventID); id != "" {
		t, fault := cleanID(id, typeAt(ct, hm.eventID), mallcoo.MaxIDLen)
		if fault != idOK {
			zh, en := idReason(t, fault, mallcoo.MaxIDLen)
			return invalidRow(out, crmsync.NewProblem(colEventID, idCode(fault), shown(t), "事件"+zh, "EventID: "+en))
		}
		if t != "" {
			key = t
		}
	}
	// The full form's hash is the content hash, the same as ledgers made
	// before empty fields followed the vendor's examples.
	out.Event = &crmsync.Event{Kind: hm.kind, Key: key, Lane: b.lane, Time: b.time, Body: body, Hash: crmsync.ContentHash(hm.kind, full)}
	out.Warnings = b.warnings
	return out
}
