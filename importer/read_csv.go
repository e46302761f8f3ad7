package importer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/crmsync/crmsync"
)

// bufSize is the read buffer of a CSV file.
const bufSize = 1 << 20

// syntaxError is a CSV file that breaks off with a syntax error; the rows
// before it were read.
type syntaxError struct{ reason string }

func (e *syntaxError) Error() string { return e.reason }

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// csvTable reads a CSV file record by record and numbers the rows as a
// spreadsheet shows them: blank lines (which encoding/csv skips) count, and
// a quoted cell spanning lines is one row.
type csvTable struct {
	cr      *csv.Reader
	path    string
	row     int
	lastEnd int // the line the previous record ended on
}

func (t *csvTable) next() ([]string, error) {
	rec, err := t.cr.Read()
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &syntaxError{reason: reason(
				fmt.Sprintf("CSV格式错误(第%d行: %v),该行及之后的行未读取;请检查引号后重新导出", pe.StartLine, pe.Err),
				fmt.Sprintf("CSV syntax error on line %d (%v); that row and the rows after it were not read; check the quotes and export again", pe.StartLine, pe.Err))}
		}
		if err == io.EOF {
			return nil, err
		}
		return nil, &syntaxError{reason: reason(fmt.Sprintf("读取文件出错(%v),之后的行未读取", err),
			fmt.Sprintf("cannot read the file (%v); the rows after it were not read", err))}
	}
	line, _ := t.cr.FieldPos(0)
	if line > t.lastEnd+1 {
		t.row += line - t.lastEnd - 1 // blank lines
	}
	t.row++
	last := len(rec) - 1
	endLine, _ := t.cr.FieldPos(last)
	t.lastEnd = endLine + strings.Count(rec[last], "\n")
	return rec, nil
}

func (t *csvTable) ref() crmsync.SourceRef { return crmsync.SourceRef{File: t.path, Row: t.row} }
func (t *csvTable) xlsx() bool             { return false }

// openCSV opens a CSV file for reading in the session's encoding. It returns
// a reason instead when the file cannot be decoded.
func (s *session) openCSV(path string) (*csvTable, io.Closer, string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, reason(fmt.Sprintf("无法打开文件: %v", err), fmt.Sprintf("cannot open the file: %v; check the path and permissions", err)), nil
	}
	enc, problem, err := detectEncoding(f, s.r.Encoding)
	if err != nil || problem != "" {
		f.Close()
		if err != nil {
			return nil, nil, reason(fmt.Sprintf("读取文件出错: %v", err), fmt.Sprintf("cannot read the file: %v", err)), nil
		}
		return nil, nil, problem, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, nil, reason(fmt.Sprintf("读取文件出错: %v", err), fmt.Sprintf("cannot read the file: %v", err)), nil
	}
	var src io.Reader = f
	br := bufio.NewReaderSize(src, bufSize)
	if enc == nil {
		if b, _ := br.Peek(3); bytes.Equal(b, bom) {
			br.Discard(3)
		}
	} else {
		br = bufio.NewReaderSize(transform.NewReader(br, enc.NewDecoder()), bufSize)
	}
	cr := csv.NewReader(br)
	cr.Comma = sniffComma(br)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return &csvTable{cr: cr, path: path}, f, "", nil
}

var bom = []byte{0xef, 0xbb, 0xbf}

// sniffComma picks the separator from the first line: a comma unless the
// line has none and has tabs or semicolons.
func sniffComma(br *bufio.Reader) rune {
	b, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if bytes.IndexByte(b, ',') >= 0 {
		return ','
	}
	if bytes.IndexByte(b, '\t') >= 0 {
		return '\t'
	}
	if bytes.IndexByte(b, ';') >= 0 {
		return ';'
	}
	return ','
}

// detectEncoding decides a CSV file's encoding (nil for UTF-8) by reading
// it through once: a BOM or valid UTF-8 means UTF-8; "auto" otherwise tries
// GB18030, a superset of GBK. An explicit encoding wins, but a file it
// cannot decode gets a reason.
func detectEncoding(f *os.File, want string) (encoding.Encoding, string, error) {
	switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(want), "_", "-")) {
	case "", "auto":
		head := make([]byte, 3)
		n, _ := io.ReadFull(f, head)
		if bytes.Equal(head[:n], bom) {
			return nil, "", nil
		}
		// Excel's "Unicode text" is UTF-16 with a BOM (and tabs).
		if n >= 2 && head[0] == 0xff && head[1] == 0xfe {
			return unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM), "", nil
		}
		if n >= 2 && head[0] == 0xfe && head[1] == 0xff {
			return unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM), "", nil
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, "", err
		}
		ok, err := validUTF8(f)
		if err != nil || ok {
			return nil, "", err
		}
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, "", err
		}
		enc := simplifiedchinese.GB18030
		if ok, err := decodesCleanly(f, enc); err != nil || !ok {
			return nil, reason("文件既不是UTF-8也不是GBK/GB18030编码,请另存为UTF-8的CSV",
				"the file is neither UTF-8 nor GBK/GB18030; save it as a UTF-8 CSV"), err
		}
		return enc, "", nil
	case "utf-8", "utf8":
		ok, err := validUTF8(f)
		if err == nil && !ok {
			return nil, reason("文件不是UTF-8编码,请尝试 -encoding gbk", "the file is not UTF-8; try -encoding gbk"), nil
		}
		return nil, "", err
	case "gbk", "cp936", "gb2312":
		if ok, err := decodesCleanly(f, simplifiedchinese.GBK); err != nil || !ok {
			return nil, reason("文件不是GBK编码,请尝试 -encoding utf-8 或 auto", "the file is not GBK; try -encoding utf-8 or auto"), err
		}
		return simplifiedchinese.GBK, "", nil
	case "gb18030":
		if ok, err := decodesCleanly(f, simplifiedchinese.GB18030); err != nil || !ok {
			return nil, reason("文件不是GB18030编码,请尝试 -encoding utf-8 或 auto", "the file is not GB18030; try -encoding utf-8 or auto"), err
		}
		return simplifiedchinese.GB18030, "", nil
	}
	return nil, reason(fmt.Sprintf("不认识的编码 %q,可用 auto, utf-8, gbk, gb18030", want),
		fmt.Sprintf("unknown encoding %q; use auto, utf-8, gbk or gb18030", want)), nil
}

// validUTF8 reads r to the end and reports whether it is valid UTF-8.
func validUTF8(r io.Reader) (bool, error) {
	buf := make([]byte, 256<<10)
	carry := 0
	for {
		n, err := r.Read(buf[carry:])
		data := buf[:carry+n]
		if err == io.EOF {
			return utf8.Valid(data), nil
		}
		if err != nil {
			return false, err
		}
		// Hold back a rune cut at the end of the buffer.
		cut := len(data)
		for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
			if utf8.RuneStart(data[i]) {
				if !utf8.FullRune(data[i:]) {
					cut = i
				}
				break
			}
		}
		if !utf8.Valid(data[:cut]) {
			return false, nil
		}
		carry = copy(buf, data[cut:])
	}
}

// decodesCleanly reads r through enc's decoder and reports whether no byte
// sequence was replaced by U+FFFD.
func decodesCleanly(r io.Reader, enc encoding.Encoding) (bool, error) {
	tr := transform.NewReader(r, enc.NewDecoder())
	buf := make([]byte, 256<<10)
	var tail []byte
	repl := []byte(string(utf8.RuneError))
	for {
		n, err := tr.Read(buf)
		chunk := append(tail, buf[:n]...)
		if bytes.Contains(chunk, repl) {
			return false, nil
		}
		if len(chunk) >= 2 {
			tail = append(tail[:0], chunk[len(chunk)-2:]...)
		} else {
			tail = append(tail[:0], chunk...)
		}
		if err == io.EOF {
			return true, nil
		}
		if err != nil {
			return false, err
		}
	}
}

// readCSV reads one CSV file: one table, its kind from -kind, the file name
// or the headers; a score-v2 file's list files are joined.
func (r *Reader) readCSV(ctx context.Context, path string, emit func(*crmsync.Row) error) ([]crmsync.FileSummary, error) {
	s := r.session(path)
	t, c, problem, err := s.openCSV(path)
	if err != nil {
		return nil, err
	}
	if problem != "" {
		return []crmsync.FileSummary{{Path: path, Kind: r.Kind, Problem: problem}}, nil
	}
	defer c.Close()
	kind := r.Kind
	if kind == "" {
		kind, _ = kindFromName(baseName(path))
	}
	var extra []crmsync.FileSummary
	sh := &sheet{s: s, t: t, kind: kind}
	sh.listsFor = func() (map[string]*listSource, error) {
		lists := map[string]*listSource{}
		for field, p := range siblingLists(path) {
			lt, lc, problem, err := s.openCSV(p)
			if err != nil {
				return nil, err
			}
			if problem == "" {
				var ls *listSource
				ls, problem, err = loadList(field, lt)
				lc.Close()
				if err != nil {
					return nil, err
				}
				lists[field] = ls
			}
			if problem != "" {
				extra = append(extra, crmsync.FileSummary{Path: p, Kind: crmsync.KindScoreV2, Problem: problem})
			}
		}
		return lists, nil
	}
	sum, _, err := sh.read(ctx, emit)
	if err != nil {
		return nil, err
	}
	return append([]crmsync.FileSummary{sum}, extra...), nil
}
