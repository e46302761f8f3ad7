package report

import (
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
)

// Templates writes blank import templates for kinds (all kinds when empty)
// into dir, creating it if needed: "<kind>.xlsx" (a data sheet named by kind
// whose header cells carry a comment with the field's rule, text-formatted
// ID columns, drop-down lists for enums, the list sheets of score-v2 and a
// 说明/README sheet) and "<kind>.csv" (UTF-8 with BOM, the header row only).
// The files are reproducible: the same inputs give the same bytes. It returns
// the paths written.
func Templates(dir string, kinds []crmsync.Kind, opt Options) ([]string, error) {
	l := parseLang(opt.Lang)
	if len(kinds) == 0 {
		kinds = crmsync.Kinds
	}
	if err := os.MkdirAll(dir, opt.dirMode()); err != nil {
		return nil, fmt.Errorf("write templates: %w", err)
	}
	var paths []string
	for _, k := range kinds {
		x := filepath.Join(dir, string(k)+".xlsx")
		if err := templateXLSX(x, k, l, opt.fileMode()); err != nil {
			return paths, fmt.Errorf("write template %s: %w", x, err)
		}
		paths = append(paths, x)
		c := filepath.Join(dir, string(k)+".csv")
		if err := templateCSV(c, k, l, opt.fileMode()); err != nil {
			return paths, fmt.Errorf("write template %s: %w", c, err)
		}
		paths = append(paths, c)
	}
	return paths, nil
}

func templateCSV(path string, k crmsync.Kind, l lang, mode os.FileMode) (err error) {
	var b strings.Builder
	b.WriteString("\uFEFF")
	w := csv.NewWriter(&b)
	w.UseCRLF = true
	if err := w.Write(columns(k, l)); err != nil {
		return err
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	return writeFileAtomic(path, []byte(b.String()), mode)
}

// writeFileAtomic writes data to a temporary file beside path and renames it.
func writeFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return err
	}
	if err = tmp.Chmod(mode); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func templateXLSX(path string, k crmsync.Kind, l lang, mode os.FileMode) error {
	spec := mallcoo.SpecOf(k)
	b, err := newBook(l, l.T("templateTitle")+" "+string(k), time.Time{})
	if err != nil {
		return err
	}
	defer b.close()
	b.mode = mode
	if err := b.f.SetDocProps(&excelize.DocProperties{
		Title: l.T("templateTitle") + " " + string(k), Subject: spec.Title,
		Creator: "crmsync", LastModifiedBy: "crmsync",
		Language: map[lang]string{"zh": "zh-CN", "en": "en-US"}[l],
		Created:  fixedTime, Modified: fixedTime,
	}); err != nil {
		return err
	}
	if err := templateSheet(b, string(k), nil, spec.Fields, l); err != nil {
		return err
	}
	for _, it := range items(spec) {
		join := joinField(spec)
		if err := templateSheet(b, it.Sheet, &join, it.Fields, l); err != nil {
			return err
		}
	}
	if err := readmeSheet(b, spec, l); err != nil {
		return err
	}
	b.f.SetActiveSheet(0)
	return b.save(context.Background(), path)
}

// joinField is the first column of a list sheet: the TransID of the main
// sheet's row the item belongs to.
func joinField(spec *mallcoo.Spec) mallcoo.Field {
	return mallcoo.Field{Name: "TransID", Label: "交易ID", Type: mallcoo.String, Required: true,
		Rule: "必填;对应主表的交易ID", RuleEN: "required; the TransID of the main sheet's row", Example: spec.Fields[0].Example}
}

// items returns the list sheets of a spec in template order.
func items(spec *mallcoo.Spec) []*mallcoo.ItemSpec {
	var out []*mallcoo.ItemSpec
	for _, f := range spec.Fields {
		if it := spec.Items[f.Name]; it != nil {
			out = append(out, it)
		}
	}
	return out
}

// templateSheet writes the header row of a data sheet, with a comment on
// every header cell, text format for string columns and drop-down lists for
// enum columns.
func templateSheet(b *book, name string, join *mallcoo.Field, fields []mallcoo.Field, l lang) error {
	if join != nil {
		fields = append([]mallcoo.Field{*join}, fields...)
	}
	if err := b.useSheet(name); err != nil {
		return err
	}
	f := b.f
	header := make([]any, len(fields))
	for i, fd := range fields {
		header[i] = fieldHeader(fd, l)
	}
	if err := f.SetSheetRow(name, "A1", &header); err != nil {
		return err
	}
	last, _ := excelize.ColumnNumberToName(len(fields))
	if err := f.SetCellStyle(name, "A1", last+"1", b.st.header); err != nil {
		return err
	}
	if err := f.SetPanes(name, &excelize.Panes{
		Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft",
		Selection: []excelize.Selection{{SQRef: "A2", ActiveCell: "A2", Pane: "bottomLeft"}},
	}); err != nil {
		return err
	}
	for i, fd := range fields {
		col, _ := excelize.ColumnNumberToName(i + 1)
		c := templateColumn(fd, l, &b.st)
		if err := f.SetColWidth(name, col, col, c.width); err != nil {
			return err
		}
		if c.style != 0 {
			if err := f.SetColStyle(name, col, c.style); err != nil {
				return err
			}
			// The header keeps its own style over the column's.
			if err := f.SetCellStyle(name, col+"1", col+"1", b.st.header); err != nil {
				return err
			}
		}
		if err := f.AddComment(name, excelize.Comment{
			Author: "crmsync", Cell: col + "1", Width: 300, Height: 120,
			Paragraph: []excelize.RichTextRun{
				{Text: fd.Name + "\n", Font: &excelize.Font{Bold: true}},
				{Text: fieldNote(fd, l)},
			},
		}); err != nil {
			return err
		}
		if len(fd.Enum) > 0 {
			if err := enumValidation(f, name, col, fd, l); err != nil {
				return err
			}
		}
	}
	return nil
}

// fieldNote is the comment on a header cell: required or optional, the rule
// and the example.
func fieldNote(fd mallcoo.Field, l lang) string {
	lines := []string{requiredWord(fd, l)}
	if r := rule(fd, l); r != "" {
		lines = append(lines, l.T("rule")+": "+r)
	}
	if len(fd.Enum) > 0 {
		lines = append(lines, l.T("enum")+": "+enumText(fd, l))
	}
	if fd.Example != "" {
		lines = append(lines, l.T("example")+": "+fd.Example)
	}
	return strings.Join(lines, "\n")
}

func requiredWord(fd mallcoo.Field, l lang) string {
	if fd.Required {
		return l.T("required")
	}
	return l.T("optional")
}

func rule(fd mallcoo.Field, l lang) string {
	r, limit := fd.Rule, ""
	if l == "en" {
		r = fd.RuleEN
	}
	if fd.MaxLen > 0 {
		limit = fmt.Sprintf("最长%d字符", fd.MaxLen)
		if l == "en" {
			limit = fmt.Sprintf("at most %d characters", fd.MaxLen)
		}
	}
	switch {
	case r == "":
		return limit
	case limit == "":
		return r
	case l == "en":
		return r + "; " + limit
	}
	return r + ";" + limit
}

// enumText lists an enum's values: "1 消费积分; 2101 退货退积分".
func enumText(fd mallcoo.Field, l lang) string {
	s := fd.Enum.Text(string(l), "; ")
	if !fd.Closed {
		s += " " + l.T("openEnum")
	}
	return s
}

// enumValidation adds a drop-down of the enum's codes to the column. A
// closed enum refuses other values; an open one only suggests.
func enumValidation(f *excelize.File, sheet, col string, fd mallcoo.Field, l lang) error {
	dv := excelize.NewDataValidation(true)
	dv.SetSqref(col + "2:" + col + strconv.Itoa(excelize.TotalRows))
	codes := make([]string, len(fd.Enum))
	for i, e := range fd.Enum {
		codes[i] = strconv.Itoa(e.Code)
	}
	if err := dv.SetDropList(codes); err != nil {
		return err
	}
	msg := enumText(fd, l)
	if len(msg) > 250 {
		msg = msg[:250]
	}
	dv.SetInput(fieldHeader(fd, l), msg)
	if fd.Closed {
		dv.SetError(excelize.DataValidationErrorStyleStop, fieldHeader(fd, l), msg)
	} else {
		dv.ShowErrorMessage = false
	}
	return f.AddDataValidation(sheet, dv)
}

// readmeSheet lists every column of the template's sheets.
func readmeSheet(b *book, spec *mallcoo.Spec, l lang) error {
	name := l.T("readme")
	if err := b.useSheet(name); err != nil {
		return err
	}
	f := b.f
	row := 1
	put := func(style int, vals ...any) error {
		cell := "A" + strconv.Itoa(row)
		if err := f.SetSheetRow(name, cell, &vals); err != nil {
			return err
		}
		if style != 0 {
			last, _ := excelize.CoordinatesToCellName(len(vals), row)
			if err := f.SetCellStyle(name, cell, last, style); err != nil {
				return err
			}
		}
		row++
		return nil
	}
	title := string(spec.Kind) + " — " + spec.Title + " (" + spec.Path + ")"
	if err := put(b.st.title, title); err != nil {
		return err
	}
	if err := put(0, l.T("readmeIntro")); err != nil {
		return err
	}
	if err := put(0, l.T("readmeEventID")); err != nil {
		return err
	}
	if spec.Kind == crmsync.KindMember {
		if err := put(0, l.T("readmeBizDate")); err != nil {
			return err
		}
	}
	table := func(sheet string, fields []mallcoo.Field) error {
		row++
		if err := put(b.st.bold, l.T("sheet")+": "+sheet); err != nil {
			return err
		}
		if err := put(b.st.header, l.T("label"), l.T("apiName"), l.T("type"), l.T("reqCol"), l.T("rule"), l.T("example"), l.T("enum")); err != nil {
			return err
		}
		for _, fd := range fields {
			enum := ""
			if len(fd.Enum) > 0 {
				enum = enumText(fd, l)
			}
			if err := put(0, fd.Label, fd.Name, l.T("t."+fd.Type.String()), requiredWord(fd, l), rule(fd, l), fd.Example, enum); err != nil {
				return err
			}
		}
		return nil
	}
	if err := table(string(spec.Kind), spec.Fields); err != nil {
		return err
	}
	for _, it := range items(spec) {
		if err := table(it.Sheet, append([]mallcoo.Field{joinField(spec)}, it.Fields...)); err != nil {
			return err
		}
	}
	for col, w := range map[string]float64{"A": 20, "B": 22, "C": 12, "D": 10, "E": 44, "F": 22, "G": 44} {
		if err := f.SetColWidth(name, col, col, w); err != nil {
			return err
		}
	}
	return nil
}
