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
	"syscall"
	"unicode/utf8"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"

	"github.com/crmsync/crmsync"
)

// bufSize is the read buffer of a CSV file.
const bufSize = 1 << 20

// rowCells is how many cells of MaxCellBytes one CSV row may hold before the
// reader stops buffering it: the cap on a row's bytes.
const rowCells = 64

// syntaxError is a table that breaks off with a file problem (a CSV syntax
// error, a cap exceeded, bytes that do not decode); the rows before it were
// read. code is one of the Problem* codes ("" when unset).
type syntaxError struct {
	code   string
	reason crmsync.Text
}

func (e *syntaxError) Error() string { return e.reason.String() }

func isEOF(err error) bool { return errors.Is(err, io.EOF) }

// csvTable reads a CSV file record by record and numbers the rows as a
// spreadsheet shows them: blank lines (which encoding/csv skips) count, and
// a quoted cell spanning lines is one row.
type csvTable struct {
	cr       *csv.Reader
	guard    *csvGuard
	path     string
	row      int
	lastEnd  int  // the line the previous record ended on
	decoded  bool // the text went through a decoder (not UTF-8 in the file)
	maxCell  int
	encoding string // the encoding read, for messages
}

func (t *csvTable) next() ([]string, error) {
	rec, err := t.cr.Read()
	if g := t.guard; g.bad != nil && (err != nil || t.cr.InputOffset() > g.badStart) {
		return nil, g.bad // this record is the one the guard stopped
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, &syntaxError{code: ProblemSyntax, reason: reason(
				fmt.Sprintf("CSV格式错误(第%d行: %v),该行及之后的行未读取;请检查引号后重新导出", pe.StartLine, pe.Err),
				fmt.Sprintf("CSV syntax error on line %d (%v); that row and the rows after it were not read; check the quotes and export again", pe.StartLine, pe.Err))}
		}
		if err == io.EOF {
			return nil, err
		}
		return nil, &syntaxError{code: ProblemRead, reason: reason(fmt.Sprintf("读取文件出错(%v),之后的行未读取", err),
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
	for i, c := range rec {
		if len(c) > t.maxCell {
			return nil, &syntaxError{code: ProblemCellTooBig, reason: reason(
				fmt.Sprintf("第%d行第%d列的单元格超过%d字节(配置项 max_cell_bytes),该行及之后的行未读取;请检查文件或调大 max_cell_bytes", line, i+1, t.maxCell),
				fmt.Sprintf("the cell on line %d, column %d is longer than %d bytes (the setting max_cell_bytes); that row and the rows after it were not read; check the file or raise max_cell_bytes", line, i+1, t.maxCell))}
		}
		// The whole file was checked before reading, but it may have
		// changed since; no cell goes on with bytes that did not decode.
		if bad := t.decoded && strings.ContainsRune(c, utf8.RuneError) || !t.decoded && !utf8.ValidString(c); bad {
			return nil, &syntaxError{code: ProblemEncoding, reason: reason(
				fmt.Sprintf("第%d行有不是%s编码的字节(文件在读取中被改动?),该行及之后的行未读取;请重新导出后再试", line, t.encoding),
				fmt.Sprintf("line %d holds bytes that are not %s (did the file change while it was read?); that row and the rows after it were not read; export it again and retry", line, t.encoding))}
		}
	}
	return rec, nil
}

func (t *csvTable) ref() crmsync.SourceRef { return crmsync.SourceRef{File: t.path, Row: t.row} }
func (t *csvTable) xlsx() bool             { return false }

// csvGuard passes a file's text to encoding/csv while following its quotes,
// and stops at the first record that is broken or too long, before the
// parser sees the end of it. The parser runs with LazyQuotes, so that a
// quote inside an unquoted cell (the ="0201…" that keeps Excel from
// dropping leading zeros, an inch mark) is text; the guard is strict about
// quoted cells: a quote that never closes, or is followed by anything but a
// separator or a line end, would otherwise swallow the rows after it into
// one cell. A record longer than max bytes is refused too, so a line without
// an end is never buffered whole.
type csvGuard struct {
	r     io.Reader
	comma byte
	max   int64

	n        int64 // bytes passed on
	state    int
	line     int   // the current line, from 1
	recStart int64 // where the current record starts
	recLine  int   // and its line
	bad      *syntaxError
	badStart int64 // where the record bad stops starts
	stopped  bool
}

// The states of csvGuard.
const (
	gFieldStart = iota
	gUnquoted
	gQuoted
	gQuoteInQuoted // a quote inside a quoted cell: its end, or the first of ""
)

var errGuard = errors.New("csv: stopped at a broken record")

func (g *csvGuard) Read(p []byte) (int, error) {
	if g.stopped {
		return 0, errGuard
	}
	n, err := g.r.Read(p)
	for i, c := range p[:n] {
		switch g.state {
		case gFieldStart, gUnquoted:
			switch c {
			case '\n':
				g.endRecord(i)
			case g.comma:
				g.state = gFieldStart
			case '"':
				if g.state == gFieldStart {
					g.state = gQuoted
				}
			default:
				g.state = gUnquoted
			}
		case gQuoted:
			switch c {
			case '"':
				g.state = gQuoteInQuoted
			case '\n':
				g.line++
			}
		case gQuoteInQuoted:
			switch c {
			case '"':
				g.state = gQuoted
			case g.comma:
				g.state = gFieldStart
			case '\n':
				g.endRecord(i)
			case '\r': // of a CRLF
			default:
				g.stop(i, ProblemSyntax, reason(
					fmt.Sprintf("CSV格式错误:第%d行起的带引号单元格在第%d行的引号后还有文字(引号不成对?),该行及之后的行未读取;请检查引号后重新导出", g.recLine, g.line),
					fmt.Sprintf("CSV syntax error: the quoted cell from line %d has text after its closing quote on line %d (unbalanced quotes?); that row and the rows after it were not read; check the quotes and export again", g.recLine, g.line)))
				return i + 1, nil
			}
		}
		if g.n+int64(i)+1-g.recStart > g.max {
			g.stop(i, ProblemRowTooLong, reason(
				fmt.Sprintf("第%d行起的一行超过%d字节(配置项 max_cell_bytes × %d个单元格),该行及之后的行未读取;请检查文件(引号是否成对)或调大 max_cell_bytes", g.recLine, g.max, rowCells),
				fmt.Sprintf("the row from line %d is longer than %d bytes (the setting max_cell_bytes × %d cells); that row and the rows after it were not read; check the file (unbalanced quotes?) or raise max_cell_bytes", g.recLine, g.max, rowCells)))
			return i + 1, nil
		}
	}
	g.n += int64(n)
	if err == io.EOF && (g.state == gQuoted) {
		g.stop(-1, ProblemSyntax, reason(
			fmt.Sprintf("CSV格式错误:第%d行的引号到文件末尾都没有闭合,该行及之后的行未读取;请检查引号后重新导出", g.recLine),
			fmt.Sprintf("CSV syntax error: the quote opened on line %d never closes; that row and the rows after it were not read; check the quotes and export again", g.recLine)))
		return n, nil
	}
	return n, err
}

// endRecord notes a line end at p[i] that ends a record.
func (g *csvGuard) endRecord(i int) {
	g.line++
	g.state = gFieldStart
	g.recStart = g.n + int64(i) + 1
	g.recLine = g.line
}

// stop ends the stream after p[i] with a problem in the current record.
func (g *csvGuard) stop(i int, code string, why crmsync.Text) {
	g.n += int64(i) + 1
	g.bad = &syntaxError{code: code, reason: why}
	g.badStart = g.recStart
	g.stopped = true
}

// openRegular opens path for reading if it is a regular file (a symbolic
// link to one included). A FIFO, device, socket or directory gets a reason
// instead and is never read: the open does not block, and the file opened is
// checked again.
func openRegular(path string) (*os.File, *syntaxError) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, openProblem(err)
	}
	if p := notRegular(fi); p != nil {
		return nil, p
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, openProblem(err)
	}
	fi, err = f.Stat()
	if err == nil {
		if p := notRegular(fi); p != nil {
			f.Close()
			return nil, p
		}
	} else {
		f.Close()
		return nil, openProblem(err)
	}
	return f, nil
}

func openProblem(err error) *syntaxError {
	return &syntaxError{code: ProblemOpen, reason: reason(fmt.Sprintf("无法打开文件: %v", err),
		fmt.Sprintf("cannot open the file: %v; check the path and permissions", err))}
}

// notRegular returns a reason when fi is not a regular file.
func notRegular(fi os.FileInfo) *syntaxError {
	m := fi.Mode()
	if m.IsRegular() {
		return nil
	}
	zh, en := "特殊文件", "a special file"
	switch {
	case m.IsDir():
		zh, en = "文件夹", "a directory"
	case m&os.ModeNamedPipe != 0:
		zh, en = "管道(FIFO)", "a named pipe (FIFO)"
	case m&os.ModeSocket != 0:
		zh, en = "套接字", "a socket"
	case m&os.ModeDevice != 0:
		zh, en = "设备", "a device"
	}
	return &syntaxError{code: ProblemNotRegular, reason: reason(
		fmt.Sprintf("这不是普通文件而是%s,未读取;请指定导出的CSV或XLSX文件", zh),
		fmt.Sprintf("this is %s, not a regular file, and was not read; name the exported CSV or XLSX file", en))}
}

// openCSV opens a CSV file for reading in the session's encoding. It returns
// a problem instead when the file is not a regular file or cannot be
// decoded; the error is only ctx's.
func (s *session) openCSV(ctx context.Context, path string) (*csvTable, io.Closer, *syntaxError, error) {
	f, p := openRegular(path)
	if p != nil {
		return nil, nil, p, nil
	}
	enc, skip, p, err := detectEncoding(ctx, f, s.r.Encoding)
	if err == nil && p == nil {
		_, err = f.Seek(skip, io.SeekStart)
	}
	if err != nil || p != nil {
		f.Close()
		if ctx.Err() != nil {
			return nil, nil, nil, ctx.Err()
		}
		if err != nil {
			p = &syntaxError{code: ProblemRead, reason: reason(fmt.Sprintf("读取文件出错: %v", err), fmt.Sprintf("cannot read the file: %v", err))}
		}
		return nil, nil, p, nil
	}
	var src io.Reader = f
	name := "UTF-8"
	if enc != nil {
		src = transform.NewReader(src, enc.NewDecoder())
		name = encName(enc)
	}
	maxCell := s.r.maxCellBytes()
	pre := bufio.NewReaderSize(transform.NewReader(src, lineEnds{}), bufSize)
	guard := &csvGuard{r: pre, comma: byte(sniffComma(pre)), max: int64(maxCell) * rowCells, line: 1, recLine: 1}
	cr := csv.NewReader(bufio.NewReaderSize(guard, bufSize))
	cr.Comma = rune(guard.comma)
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	cr.ReuseRecord = true
	return &csvTable{cr: cr, guard: guard, path: path, decoded: enc != nil, maxCell: maxCell, encoding: name}, f, nil, nil
}

func encName(enc encoding.Encoding) string {
	switch enc {
	case simplifiedchinese.GBK:
		return "GBK"
	case simplifiedchinese.GB18030:
		return "GB18030"
	}
	return "UTF-16"
}

// lineEnds turns a carriage return that does not start a CRLF into a line
// feed, so a file with old Mac (CR-only) line ends, or a mix, reads as
// lines. encoding/csv itself reads LF and CRLF.
type lineEnds struct{ transform.NopResetter }

func (lineEnds) Transform(dst, src []byte, atEOF bool) (nDst, nSrc int, err error) {
	for nSrc < len(src) {
		i := bytes.IndexByte(src[nSrc:], '\r')
		end := len(src)
		if i >= 0 {
			end = nSrc + i
		}
		n := copy(dst[nDst:], src[nSrc:end])
		nDst += n
		nSrc += n
		if nSrc < end {
			return nDst, nSrc, transform.ErrShortDst
		}
		if i < 0 {
			break
		}
		// src[nSrc] is a CR.
		if nSrc+1 == len(src) && !atEOF {
			return nDst, nSrc, transform.ErrShortSrc
		}
		if nDst == len(dst) {
			return nDst, nSrc, transform.ErrShortDst
		}
		if nSrc+1 < len(src) && src[nSrc+1] == '\n' {
			dst[nDst] = '\r'
		} else {
			dst[nDst] = '\n'
		}
		nDst++
		nSrc++
	}
	return nDst, nSrc, nil
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

// encodingProblem is a file whose bytes do not decode; what says why and
// what to try.
func encodingProblem(zh, en string) *syntaxError {
	return &syntaxError{code: ProblemEncoding, reason: reason(zh, en)}
}

// detectEncoding decides a CSV file's encoding (nil for UTF-8) on the
// evidence of all its bytes, and how many bytes of BOM to skip. A UTF-8 BOM
// is trusted only when the text after it is UTF-8; "auto" takes GB18030 (a
// superset of GBK) only for a file without a BOM that is not mostly UTF-8.
// An explicit encoding wins when the whole file decodes in it. Whatever is
// chosen, a byte that does not decode is a problem naming what to try: no
// text is ever read with replacement characters. The error is a read
// error or ctx's.
func detectEncoding(ctx context.Context, f *os.File, want string) (encoding.Encoding, int64, *syntaxError, error) {
	head := make([]byte, 3)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, 0, nil, err
	}
	head = head[:n]
	var skip int64
	var u16 encoding.Encoding
	switch {
	case bytes.Equal(head, bom):
		skip = 3
	case n >= 2 && head[0] == 0xff && head[1] == 0xfe:
		u16 = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM)
	case n >= 2 && head[0] == 0xfe && head[1] == 0xff:
		u16 = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM)
	}
	rewind := func() error { _, err := f.Seek(skip, io.SeekStart); return err }
	mode := encodingMode(want)
	if CheckEncoding(want) != nil {
		return nil, 0, encodingProblem(fmt.Sprintf("不认识的编码 %q,可用 auto, utf-8, gbk, gb18030", want),
			fmt.Sprintf("unknown encoding %q; use auto, utf-8, gbk or gb18030", want)), nil
	}
	if u16 != nil {
		// Excel's "Unicode text" is UTF-16 with a BOM (and tabs).
		if err := rewind(); err != nil {
			return nil, 0, nil, err
		}
		ok, line, err := decodesCleanly(ctx, f, u16, false)
		if err != nil {
			return nil, 0, nil, err
		}
		if !ok {
			return nil, 0, encodingProblem(fmt.Sprintf("文件以UTF-16的BOM开头,但第%d行不是UTF-16;请另存为UTF-8的CSV", line),
				fmt.Sprintf("the file starts with a UTF-16 BOM but line %d is not UTF-16; save it as a UTF-8 CSV", line)), nil
		}
		if mode != "" && mode != "auto" {
			return nil, 0, encodingProblem(fmt.Sprintf("文件是UTF-16编码,不是 %s;请使用 -encoding auto", want),
				fmt.Sprintf("the file is UTF-16, not %s; use -encoding auto", want)), nil
		}
		return u16, 0, nil, nil
	}
	if err := rewind(); err != nil {
		return nil, 0, nil, err
	}
	u, err := scanUTF8(ctx, f)
	if err != nil {
		return nil, 0, nil, err
	}
	if u.nulLine > 0 {
		return nil, 0, encodingProblem(fmt.Sprintf("第%d行含空字节(NUL),这不是文本CSV(可能是没有BOM的UTF-16或二进制文件);请另存为UTF-8的CSV", u.nulLine),
			fmt.Sprintf("line %d holds a NUL byte: this is not a text CSV (UTF-16 without a BOM, or a binary file?); save it as a UTF-8 CSV", u.nulLine)), nil
	}
	// gb says which of GBK and GB18030 decode the text after any BOM:
	// "gbk", "gb18030" or "" for neither.
	gb := func() (string, int, error) {
		line := 0
		for _, c := range []struct {
			name string
			enc  encoding.Encoding
		}{{"gbk", simplifiedchinese.GBK}, {"gb18030", simplifiedchinese.GB18030}} {
			if err := rewind(); err != nil {
				return "", 0, err
			}
			ok, l, err := decodesCleanly(ctx, f, c.enc, true)
			if err != nil || ok {
				return c.name, 0, err
			}
			if line == 0 || l > line {
				line = l
			}
		}
		return "", line, nil
	}
	bad := fmt.Sprintf("%d", u.badLine)
	switch mode {
	case "", "auto":
		if u.badLine == 0 {
			return nil, skip, nil, nil
		}
		if skip > 0 {
			try, _, err := gb()
			if err != nil {
				return nil, 0, nil, err
			}
			if try != "" {
				return nil, 0, encodingProblem(
					fmt.Sprintf("文件以UTF-8的BOM开头,但内容不是UTF-8(第%s行),像是%s编码;请确认后使用 -encoding %s,或另存为UTF-8的CSV", bad, strings.ToUpper(try), try),
					fmt.Sprintf("the file starts with a UTF-8 BOM but its text is not UTF-8 (line %s); it looks like %s: try -encoding %s, or save it as a UTF-8 CSV", bad, strings.ToUpper(try), try)), nil
			}
			return nil, 0, encodingProblem(
				fmt.Sprintf("文件以UTF-8的BOM开头,但第%s行不是UTF-8,也不是GBK/GB18030;请另存为UTF-8的CSV", bad),
				fmt.Sprintf("the file starts with a UTF-8 BOM but line %s is not UTF-8, nor GBK/GB18030; save it as a UTF-8 CSV", bad)), nil
		}
		if u.mostlyUTF8() {
			return nil, 0, encodingProblem(
				fmt.Sprintf("文件是UTF-8编码,但第%s行有不是UTF-8的字节;请修正该行或重新导出为UTF-8的CSV", bad),
				fmt.Sprintf("the file is UTF-8 but line %s holds bytes that are not UTF-8; correct that line or export it again as a UTF-8 CSV", bad)), nil
		}
		try, line, err := gb()
		if err != nil {
			return nil, 0, nil, err
		}
		if try == "" {
			return nil, 0, encodingProblem(
				fmt.Sprintf("文件既不是UTF-8(第%s行)也不是GBK/GB18030编码(第%d行);请另存为UTF-8的CSV", bad, line),
				fmt.Sprintf("the file is neither UTF-8 (line %s) nor GBK/GB18030 (line %d); save it as a UTF-8 CSV", bad, line)), nil
		}
		return simplifiedchinese.GB18030, 0, nil, nil
	case "utf-8", "utf8":
		if u.badLine == 0 {
			return nil, skip, nil, nil
		}
		try := ""
		if !u.mostlyUTF8() {
			if try, _, err = gb(); err != nil {
				return nil, 0, nil, err
			}
		}
		if try != "" {
			return nil, 0, encodingProblem(fmt.Sprintf("文件不是UTF-8编码(第%s行),请尝试 -encoding %s", bad, try),
				fmt.Sprintf("the file is not UTF-8 (line %s); try -encoding %s", bad, try)), nil
		}
		return nil, 0, encodingProblem(fmt.Sprintf("文件第%s行不是UTF-8;请修正该行或重新导出为UTF-8的CSV", bad),
			fmt.Sprintf("line %s of the file is not UTF-8; correct that line or export it again as a UTF-8 CSV", bad)), nil
	}
	// GBK or GB18030 asked for.
	enc, name := simplifiedchinese.GB18030, "GB18030"
	if mode != "gb18030" {
		enc, name = simplifiedchinese.GBK, "GBK"
	}
	if u.badLine == 0 && u.extra > 0 {
		return nil, 0, encodingProblem(fmt.Sprintf("文件是UTF-8编码,不是%s;请使用 -encoding utf-8 或 auto", name),
			fmt.Sprintf("the file is UTF-8, not %s; use -encoding utf-8 or auto", name)), nil
	}
	if err := rewind(); err != nil {
		return nil, 0, nil, err
	}
	ok, line, err := decodesCleanly(ctx, f, enc, true)
	if err != nil {
		return nil, 0, nil, err
	}
	if !ok {
		if enc == simplifiedchinese.GBK {
			if t, _, err := gb(); err != nil {
				return nil, 0, nil, err
			} else if t == "gb18030" {
				return nil, 0, encodingProblem(fmt.Sprintf("文件第%d行不是GBK编码,请尝试 -encoding gb18030", line),
					fmt.Sprintf("line %d of the file is not GBK; try -encoding gb18030", line)), nil
			}
		}
		// Not UTF-8 either (that was checked first): auto cannot read it.
		return nil, 0, encodingProblem(fmt.Sprintf("文件第%d行不是%s编码,也不是UTF-8;请另存为UTF-8的CSV", line, name),
			fmt.Sprintf("line %d of the file is not %s, nor UTF-8; save it as a UTF-8 CSV", line, name)), nil
	}
	return enc, skip, nil, nil
}

// utf8Scan is what one pass over a file's bytes found about UTF-8.
type utf8Scan struct {
	extra   int // bytes past the first of valid multi-byte sequences
	invalid int // bytes that are not UTF-8
	badLine int // the line of the first byte that is not UTF-8; 0 for none
	nulLine int // the line of the first NUL byte; 0 for none
}

// mostlyUTF8 reports whether the file is UTF-8 text with a few bad bytes
// rather than text in another encoding: GBK text forms a valid UTF-8
// sequence now and then, but far more often not.
func (u utf8Scan) mostlyUTF8() bool { return u.extra > 2*u.invalid }

// scanChunk is the size of the reads of the encoding checks; ctx is checked
// between them.
const scanChunk = 256 << 10

// scanUTF8 reads r to the end (or its first NUL byte) and reports on its
// bytes as UTF-8.
func scanUTF8(ctx context.Context, r io.Reader) (utf8Scan, error) {
	var u utf8Scan
	buf := make([]byte, scanChunk)
	carry, lines := 0, 1
	for {
		if err := ctx.Err(); err != nil {
			return u, err
		}
		n, err := r.Read(buf[carry:])
		data := buf[:carry+n]
		eof := err == io.EOF
		if err != nil && !eof {
			return u, err
		}
		// Hold back a rune cut at the end of the buffer.
		cut := len(data)
		if !eof {
			for i := len(data) - 1; i >= 0 && i >= len(data)-utf8.UTFMax; i-- {
				if utf8.RuneStart(data[i]) {
					if !utf8.FullRune(data[i:]) {
						cut = i
					}
					break
				}
			}
		}
		chunk := data[:cut]
		if u.nulLine == 0 {
			if i := bytes.IndexByte(chunk, 0); i >= 0 {
				u.nulLine = lines + lineBreaks(chunk[:i])
				return u, nil // not text: the rest does not matter
			}
		}
		if utf8.Valid(chunk) {
			u.extra += len(chunk) - utf8.RuneCount(chunk)
		} else {
			for i := 0; i < len(chunk); {
				c, size := utf8.DecodeRune(chunk[i:])
				switch {
				case c == utf8.RuneError && size == 1:
					if u.badLine == 0 {
						u.badLine = lines + lineBreaks(chunk[:i])
					}
					u.invalid++
				case size > 1:
					u.extra += size - 1
				}
				i += size
			}
		}
		lines += lineBreaks(chunk)
		if eof {
			return u, nil
		}
		carry = copy(buf, data[cut:])
	}
}

// lineBreaks counts the line ends in b: LF, CRLF or a lone CR.
func lineBreaks(b []byte) int {
	n := bytes.Count(b, []byte{'\n'})
	for i := bytes.IndexByte(b, '\r'); i >= 0; {
		if i+1 < len(b) && b[i+1] != '\n' || i+1 == len(b) {
			n++
		}
		j := bytes.IndexByte(b[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return n
}

// decodesCleanly reads r through enc's decoder and reports whether no byte
// sequence was replaced by U+FFFD, and if one was, its line. gb says enc is
// GBK or GB18030, where a lone 0x80 also counts as undecodable: Go decodes
// it as "€" (Windows code page 936), which real GBK text never holds.
func decodesCleanly(ctx context.Context, r io.Reader, enc encoding.Encoding, gb bool) (bool, int, error) {
	var lead *gbLeads
	if gb {
		lead = &gbLeads{r: r, gb18030: enc == simplifiedchinese.GB18030}
		r = lead
	}
	tr := transform.NewReader(r, enc.NewDecoder())
	buf := make([]byte, scanChunk)
	var tail []byte
	repl := []byte(string(utf8.RuneError))
	lines := 1
	for {
		if err := ctx.Err(); err != nil {
			return false, 0, err
		}
		n, err := tr.Read(buf)
		chunk := append(tail, buf[:n]...)
		if i := bytes.Index(chunk, repl); i >= 0 {
			return false, lines + lineBreaks(chunk[:i]), nil
		}
		if lead != nil && lead.badLine > 0 {
			return false, lead.badLine, nil
		}
		if len(chunk) >= 2 {
			lines += lineBreaks(chunk[:len(chunk)-2])
			tail = append(tail[:0], chunk[len(chunk)-2:]...)
		} else {
			tail = append(tail[:0], chunk...)
		}
		if err == io.EOF {
			return true, 0, nil
		}
		if err != nil {
			return false, 0, err
		}
	}
}

// gbLeads passes GBK/GB18030 bytes through and notes the line of the first
// 0x80 or 0xFF where a character starts.
type gbLeads struct {
	r       io.Reader
	gb18030 bool
	state   int // 0 a character starts; 1 after a lead byte; 2, 3 inside a four-byte sequence
	lines   int
	badLine int
}

func (g *gbLeads) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	for _, c := range p[:n] {
		switch g.state {
		case 0:
			switch {
			case c == '\n':
				g.lines++
			case c == 0x80 || c == 0xff:
				if g.badLine == 0 {
					g.badLine = g.lines + 1
				}
			case c > 0x80:
				g.state = 1
			}
		case 1:
			g.state = 0
			if g.gb18030 && c >= 0x30 && c <= 0x39 {
				g.state = 2
			}
		case 2:
			g.state = 3
		case 3:
			g.state = 0
		}
	}
	return n, err
}

// readCSV reads one CSV file: one table, its kind from -kind, the file name
// or the headers; a score-v2 file's list files are joined.
func (r *Reader) readCSV(ctx context.Context, path string, emit func(*crmsync.Row) error) ([]crmsync.FileSummary, error) {
	s := r.session(path)
	kind := r.Kind
	if kind == "" {
		kind, _ = kindFromName(baseName(path))
	}
	t, c, p, err := s.openCSV(ctx, path)
	if err != nil {
		return nil, err
	}
	if p != nil {
		return []crmsync.FileSummary{{Path: path, Kind: kind, Problem: p.reason, Code: p.code}}, nil
	}
	defer c.Close()
	var extra []crmsync.FileSummary
	sh := &sheet{s: s, t: t, kind: kind}
	sh.listsFor = func() (map[string]*listSource, error) {
		lists := map[string]*listSource{}
		for field, lp := range siblingLists(path) {
			lt, lc, p, err := s.openCSV(ctx, lp)
			if err != nil {
				return nil, err
			}
			var (
				problem crmsync.Text
				code    string
			)
			if p != nil {
				problem, code = p.reason, p.code
			} else {
				var ls *listSource
				ls, problem, err = loadList(field, lt)
				lc.Close()
				if err != nil {
					return nil, err
				}
				lists[field] = ls
			}
			if !problem.IsZero() {
				extra = append(extra, crmsync.FileSummary{Path: lp, Kind: crmsync.KindScoreV2, Problem: problem, Code: code})
			}
		}
		return lists, nil
	}
	sum, empty, err := sh.read(ctx, emit)
	if err != nil {
		return nil, err
	}
	switch {
	case empty:
		sum.Problem, sum.Code = reason("文件是空的(没有表头也没有数据);请检查导出", "the file is empty (no header, no rows); check the export"), ProblemEmpty
	case sum.Problem.IsZero() && sum.Rows == 0 && r.AllowEmpty:
		sum.Skipped = reason("只有表头,没有数据行(allow_empty)", "a header and no data rows (allow_empty)")
	case sum.Problem.IsZero() && sum.Rows == 0:
		sum.Problem, sum.Code = reason("文件只有表头,没有数据行;请检查导出,没有数据的夜晚属正常时用 -allow-empty", "the file has a header but no data rows; check the export, or use -allow-empty where nights without data are normal"), ProblemNoRows
	}
	return append([]crmsync.FileSummary{sum}, extra...), nil
}
