package importer

import (
	"archive/zip"
	"encoding/xml"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/xuri/excelize/v2"
)

// excelize's row iterator gives a cell's value but not its type: a TRUE
// cell reads "1", and a text cell "12345678901234567.89" reads like a
// number. typeScanner streams the same worksheet XML beside it and reports
// each cell's t attribute (b boolean, e error, s/str/inlineStr text, d date,
// none or n number), row by row, so values are read by their type. It keeps
// one row in memory, as the iterator does.

// workbookParts maps a workbook's sheet names to their worksheet parts in
// the package (xl/worksheets/sheet1.xml).
func workbookParts(zr *zip.Reader) (map[string]string, error) {
	wbPath := "xl/workbook.xml"
	if rels, err := readRels(zr, "_rels/.rels"); err == nil {
		for _, r := range rels {
			if strings.HasSuffix(r.typ, "/officeDocument") {
				wbPath = strings.TrimPrefix(r.target, "/")
			}
		}
	}
	dir := path.Dir(wbPath)
	rels, err := readRels(zr, path.Join(dir, "_rels", path.Base(wbPath)+".rels"))
	if err != nil {
		return nil, err
	}
	targets := map[string]string{}
	for _, r := range rels {
		t := r.target
		if strings.HasPrefix(t, "/") {
			t = strings.TrimPrefix(t, "/")
		} else {
			t = path.Join(dir, t)
		}
		targets[r.id] = t
	}
	f, err := zr.Open(wbPath)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]string{}
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		se, ok := tok.(xml.StartElement)
		if !ok || se.Name.Local != "sheet" {
			continue
		}
		var name, id string
		for _, a := range se.Attr {
			switch a.Name.Local {
			case "name":
				name = a.Value
			case "id":
				id = a.Value
			}
		}
		if t, ok := targets[id]; ok && name != "" {
			out[name] = t
		}
	}
}

type rel struct{ id, typ, target string }

func readRels(zr *zip.Reader, name string) ([]rel, error) {
	f, err := zr.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []rel
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "Relationship" {
			var r rel
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "Id":
					r.id = a.Value
				case "Type":
					r.typ = a.Value
				case "Target":
					r.target = a.Value
				}
			}
			out = append(out, r)
		}
	}
}

// typeScanner reads the cell types of one worksheet, row by row.
type typeScanner struct {
	rc      io.ReadCloser
	dec     *xml.Decoder
	row     int      // the row number of types, 0 before the first
	types   []string // t attribute by column index (0-based), of row
	lastRow int
	done    bool
}

func openTypes(zr *zip.Reader, part string) (*typeScanner, error) {
	rc, err := zr.Open(part)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", part, err)
	}
	return &typeScanner{rc: rc, dec: xml.NewDecoder(rc)}, nil
}

func (s *typeScanner) Close() error { return s.rc.Close() }

// typeNoValue is the type rowTypes gives a formula cell without a
// computed value (an <f> and no <v>): a workbook a program wrote and Excel
// never recalculated. Its value reads as empty.
const typeNoValue = "formula-no-value"

// rowTypes returns the t attributes of row n's cells by column (0-based);
// rows are asked for in increasing order. A row absent from the XML has
// none.
func (s *typeScanner) rowTypes(n int) ([]string, error) {
	for !s.done && s.row < n {
		if err := s.readRow(); err != nil {
			return nil, err
		}
	}
	if s.row == n {
		return s.types, nil
	}
	return nil, nil
}

// readRow reads up to and including the next <row> element.
func (s *typeScanner) readRow() error {
	s.types = s.types[:0]
	inRow, col := false, 0
	// inCell: within a <c>; formula, value: it has an <f>, a <v> or <is>.
	inCell, formula, value := false, false, false
	for {
		tok, err := s.dec.RawToken()
		if err == io.EOF {
			s.done = true
			s.row = 1 << 30
			return nil
		}
		if err != nil {
			return err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			switch el.Name.Local {
			case "row":
				inRow = true
				s.lastRow++
				for _, a := range el.Attr {
					if a.Name.Local == "r" {
						if r, err := strconv.Atoi(a.Value); err == nil && r > 0 {
							s.lastRow = r
						}
					}
				}
				s.row = s.lastRow
			case "c":
				if !inRow {
					continue
				}
				col++
				t := ""
				for _, a := range el.Attr {
					switch a.Name.Local {
					case "r":
						if c, _, err := excelize.CellNameToCoordinates(a.Value); err == nil {
							col = c
						}
					case "t":
						t = a.Value
					}
				}
				for len(s.types) < col {
					s.types = append(s.types, "")
				}
				s.types[col-1] = t
				inCell, formula, value = true, false, false
			case "f":
				formula = formula || inCell
			case "v", "is":
				value = value || inCell
			}
		case xml.EndElement:
			switch el.Name.Local {
			case "c":
				if inCell && formula && !value && col > 0 {
					s.types[col-1] = typeNoValue
				}
				inCell = false
			case "row":
				if inRow {
					return nil
				}
			case "sheetData":
				s.done = true
				s.row = 1 << 30
				return nil
			}
		}
	}
}

// typedCells applies cell types to a row's raw values: a number becomes
// the text Excel shows, a boolean TRUE or FALSE. It returns the type of
// each cell.
func typedCells(cells []string, ts []string, types []cellType) []cellType {
	types = types[:0]
	for i := range cells {
		t := ""
		if i < len(ts) {
			t = ts[i]
		}
		ct := cellText
		switch t {
		case typeNoValue:
			ct = cellNoValue
		case "b":
			ct = cellBool
			switch cells[i] {
			case "1":
				cells[i] = "TRUE"
			case "0":
				cells[i] = "FALSE"
			}
		case "e":
			ct = cellError
		case "", "n":
			if cells[i] != "" {
				cells[i], ct = numberText(cells[i])
			}
		}
		types = append(types, ct)
	}
	return types
}
