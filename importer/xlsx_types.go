package importer

import (
	"archive/zip"
	"encoding/xml"
	"io"
	"path"
	"strings"
)

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
	out := map[string]string{}
	err = eachElement(zr, wbPath, "sheet", func(se xml.StartElement) {
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
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachElement calls fn with each start element named local (any
// namespace) of the XML part name of the package.
func eachElement(zr *zip.Reader, name, local string, fn func(xml.StartElement)) error {
	f, err := zr.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := xml.NewDecoder(f)
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == local {
			fn(se)
		}
	}
}

type rel struct{ id, typ, target string }

func readRels(zr *zip.Reader, name string) ([]rel, error) {
	var out []rel
	err := eachElement(zr, name, "Relationship", func(se xml.StartElement) {
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
	})
	if err != nil {
		return nil, err
	}
	return out, nil
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
		case "d":
			ct = cellDate
			cells[i] = dateCellText(cells[i])
		case "", "n":
			if cells[i] != "" {
				cells[i], ct = numberText(cells[i])
			}
		}
		types = append(types, ct)
	}
	return types
}
