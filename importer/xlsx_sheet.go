package importer

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// A worksheet is read in one pass over its XML (xmlScanner): each cell's
// value and its type (the t attribute: b boolean, e error, s/str/inlineStr
// text, d date, none or n number) come from the same <c> element, so values
// are read by their type. excelize's row iterator gives the value without
// the type (a TRUE cell reads "1", a text cell "12345678901234567.89" like a
// number); reading the XML a second time beside it for the types cost a
// quarter of the time, and its decoding of every cell into a struct costs
// more than this whole pass. Values are raw, as excelize gives them with
// RawCellValue: numbers keep all their digits and dates come as serials.
// excelize still opens the package (and keeps the parts it unzipped in
// memory, which are read from there), lists the sheets and reads the
// workbook's properties. One row is held in memory, and of a cell at most
// max_cell_bytes + 1 bytes.

// typeNoValue is the type given to a formula cell without a computed value
// (an <f> and no <v>): a workbook a program wrote and Excel never
// recalculated. Its value reads as empty.
const typeNoValue = "formula-no-value"

// maxSheetRows is the most rows a worksheet holds (Excel's limit).
const maxSheetRows = 1 << 20

// sheetRows reads the rows of one worksheet part.
type sheetRows struct {
	rc    io.Closer // nil when the part is read from memory
	toks  tokenizer
	tok   xtok
	sst   []string
	last  int  // the number of the last <row> read
	ahead int  // the number of the row read ahead and not yet returned; 0: none
	done  bool // the end of sheetData (or of the part) was reached
	cells []string
	types []string
	text  []byte // the text of the current <v> or inline string
	max   int    // of text, the bytes beyond max+1 are dropped (0: none)
}

// openSheetPart opens a worksheet part: from excelize's unzipped parts when
// it holds it in memory, else from the package.
// max bounds the text held of one cell (see newTokenizer).
func openSheetPart(f *excelize.File, zr *zip.Reader, part string, sst []string, max int) (*sheetRows, error) {
	s := &sheetRows{sst: sst, max: max}
	r, rc, err := openPart(f, zr, part)
	if err != nil {
		return nil, err
	}
	s.rc = rc
	s.toks = newTokenizer(r, f.CharsetReader, max)
	return s, nil
}

// openPart opens a part of the package: from excelize's unzipped parts
// when it holds it in memory (rc nil), else from the zip.
func openPart(f *excelize.File, zr *zip.Reader, part string) (io.Reader, io.Closer, error) {
	if b, ok := f.Pkg.Load(part); ok {
		data, _ := b.([]byte)
		return bytes.NewReader(data), nil, nil
	}
	rc, err := zr.Open(part)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", part, err)
	}
	return rc, rc, nil
}

func (s *sheetRows) Close() error {
	if s.rc != nil {
		return s.rc.Close()
	}
	return nil
}

// row returns the cells and types of sheet row n (from 1); rows are asked
// for in increasing order, and a row absent from the XML has no cells. eof
// is true once the sheet has no row n or after.
func (s *sheetRows) row(n int) (cells, types []string, eof bool, err error) {
	if s.ahead == 0 && !s.done {
		if err := s.readRow(); err != nil {
			return nil, nil, false, err
		}
	}
	switch {
	case s.ahead == 0:
		return nil, nil, true, nil
	case s.ahead > n:
		return s.cells[:0], s.types[:0], false, nil // a row the XML leaves out
	}
	s.ahead = 0
	return s.cells, s.types, false, nil
}

// readRow reads the next <row> element into cells and types, and sets ahead
// to its number (done when there is none).
func (s *sheetRows) readRow() error {
	s.cells, s.types = s.cells[:0], s.types[:0]
	inRow, col := false, 0
	// Within a <c>: its type, whether it has an <f>, a <v> or an <is>; in
	// a <v>, in an inline string's <t>, how deep in phonetic runs (<rPh>,
	// not part of the text).
	var (
		inCell, formula, value, inV, inIS, inT, sawIS bool
		phonetic                                      int
		typ                                           string
	)
	t := &s.tok
	for {
		err := s.toks.next(t)
		if err == io.EOF {
			s.done = true
			return nil
		}
		if err != nil {
			return err
		}
		switch t.kind {
		case tokStart:
			switch string(t.name) {
			case "row":
				if inRow {
					continue
				}
				inRow = true
				n := s.last + 1
				if r, ok := atoi(t.r); ok && r > s.last {
					n = r
				}
				if n > maxSheetRows {
					return fmt.Errorf("row %d is beyond the %d rows a sheet holds", n, maxSheetRows)
				}
				s.last = n
			case "c":
				if !inRow {
					continue
				}
				col++
				if t.r != nil {
					c, err := cellColumn(t.r)
					if err != nil {
						return err
					}
					col = c
				}
				typ = cellTypeName(t.t)
				inCell, formula, value, inIS, sawIS, phonetic = true, false, false, false, false, 0
				s.text = s.text[:0]
			case "f":
				formula = formula || inCell
			case "v":
				// A cell's last <v> is its value, and an inline string's
				// <is> wins over a <v>, as excelize reads them.
				if inCell && !inIS && !(typ == "inlineStr" && sawIS) {
					inV, value = true, true
					s.text = s.text[:0]
				}
			case "is":
				if inCell {
					inIS, value, sawIS = true, true, true
					s.text = s.text[:0]
				}
			case "rPh":
				if inIS {
					phonetic++
				}
			case "t":
				inT = inIS && phonetic == 0
			}
		case tokText:
			if inV || inT {
				s.text = appendMax(s.text, t.text, s.max)
			}
		case tokEnd:
			switch string(t.name) {
			case "v":
				inV = false
			case "t":
				inT = false
			case "rPh":
				if phonetic > 0 {
					phonetic--
				}
			case "is":
				inIS = false
			case "c":
				if inCell {
					if err := s.cell(col, typ, formula, value); err != nil {
						return err
					}
				}
				inCell, inV, inT = false, false, false
			case "row":
				if inRow {
					s.ahead = s.last
					return nil
				}
			case "sheetData":
				s.done = true
				if inRow {
					s.ahead = s.last
				}
				return nil
			}
		}
	}
}

// cellTypeName is a t attribute as a string, without allocating for the
// types Excel writes.
func cellTypeName(t []byte) string {
	switch string(t) {
	case "":
		return ""
	case "s":
		return "s"
	case "n":
		return "n"
	case "b":
		return "b"
	case "e":
		return "e"
	case "str":
		return "str"
	case "inlineStr":
		return "inlineStr"
	case "d":
		return "d"
	}
	return string(t)
}

// atoi reads a row number.
func atoi(b []byte) (int, bool) {
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, n > 0
}

// cellColumn returns the column (from 1) of a cell reference such as "C12".
func cellColumn(ref []byte) (int, error) {
	col, i := 0, 0
	for i < len(ref) && ref[i] >= 'A' && ref[i] <= 'Z' && i < 3 {
		col = col*26 + int(ref[i]-'A'+1)
		i++
	}
	if _, ok := atoi(ref[i:]); ok && i > 0 && col <= excelize.MaxColumns {
		return col, nil
	}
	c, _, err := excelize.CellNameToCoordinates(string(ref))
	if err != nil {
		return 0, fmt.Errorf("cell reference %q: %w", ref, err)
	}
	return c, nil
}

// cell places the cell just read at column col (from 1), as excelize's
// iterator with RawCellValue gives it: a shared string looked up, an inline
// string's runs joined, any other value as written; an empty cell without
// a formula adds nothing. A shared string the workbook does not hold is
// an error: the cell's value is not in the file.
func (s *sheetRows) cell(col int, typ string, formula, value bool) error {
	var v string
	switch typ {
	case "s":
		if t := strings.TrimSpace(string(s.text)); t != "" {
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(s.sst) {
				return fmt.Errorf("a cell in column %d names shared string %q; the workbook holds %d", col, t, len(s.sst))
			}
			v = s.sst[i]
		}
	case "inlineStr":
		v = unescapeHeld(s.text, s.max)
	default:
		v = string(s.text)
	}
	if formula && !value {
		typ = typeNoValue
	}
	if v == "" && !formula || col < 1 {
		return nil
	}
	for len(s.cells) < col {
		s.cells = append(s.cells, "")
		s.types = append(s.types, "")
	}
	s.cells[col-1], s.types[col-1] = v, typ
	return nil
}

// sharedStrings reads a workbook's shared strings table: each <si>'s text,
// its rich-text runs joined, phonetic runs left out, _xHHHH_ escapes
// decoded, as excelize reads them. A workbook without one has none.
func sharedStrings(f *excelize.File, zr *zip.Reader, max int) ([]string, error) {
	part := "xl/sharedStrings.xml"
	if rels, err := readRels(zr, "xl/_rels/workbook.xml.rels"); err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/sharedStrings") {
				part = strings.TrimPrefix(r.target, "/")
				if !strings.HasPrefix(r.target, "/") {
					part = path.Join("xl", r.target)
				}
			}
		}
	}
	r, rc, err := openPart(f, zr, part)
	if err != nil {
		return nil, nil // no shared strings
	}
	if rc != nil {
		defer rc.Close()
	}
	toks := newTokenizer(r, f.CharsetReader, max)
	var (
		out      []string
		text     []byte
		inSI     bool
		inT      bool
		phonetic int
		t        xtok
	)
	for {
		err := toks.next(&t)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("shared strings: %w", err)
		}
		switch t.kind {
		case tokStart:
			switch string(t.name) {
			case "si":
				inSI, phonetic = true, 0
				text = text[:0]
			case "rPh":
				phonetic++
			case "t":
				inT = inSI && phonetic == 0
			}
		case tokText:
			if inT {
				text = appendMax(text, t.text, max)
			}
		case tokEnd:
			switch string(t.name) {
			case "si":
				if inSI {
					out = append(out, unescapeHeld(text, max))
				}
				inSI = false
			case "rPh":
				if phonetic > 0 {
					phonetic--
				}
			case "t":
				inT = false
			}
		}
	}
}

// appendMax appends b to text up to max+1 bytes (max 0: all): a text
// longer than max is still seen to be, and never held whole.
func appendMax(text, b []byte, max int) []byte {
	if max > 0 && len(text)+len(b) > max+1 {
		if room := max + 1 - len(text); room > 0 {
			return append(text, b[:room]...)
		}
		return text
	}
	return append(text, b...)
}

// unescapeHeld is the text of a string held up to max+1 bytes (appendMax)
// with its _xHHHH_ escapes decoded; one cut short is left as held, so
// that it is still seen to be too long, not read whole from its first
// max+1 bytes decoded into fewer.
func unescapeHeld(text []byte, max int) string {
	if max > 0 && len(text) > max {
		return string(text)
	}
	return bstrUnescape(string(text))
}

// bstrUnescape decodes the _xHHHH_ escapes OOXML writes for characters
// XML cannot hold (_x000D_ a carriage return, _x005F_ an underscore).
func bstrUnescape(s string) string {
	i := strings.Index(s, "_x")
	if i < 0 {
		return s
	}
	var b strings.Builder
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		if len(s) >= 7 && s[6] == '_' && isHex4(s[2:6]) {
			if s[2:6] == "005F" || s[2:6] == "005f" {
				b.WriteByte('_')
			} else {
				r, _ := strconv.ParseUint(s[2:6], 16, 32)
				b.WriteRune(rune(r))
			}
			s = s[7:]
		} else {
			b.WriteString(s[:2])
			s = s[2:]
		}
		i = strings.Index(s, "_x")
	}
	b.WriteString(s)
	return b.String()
}

func isHex4(s string) bool {
	for i := 0; i < 4; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
