package report

import (
	"archive/zip"
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// book is a workbook being written with its styles.
type book struct {
	mode  os.FileMode // of the saved file; 0600 when zero
	f     *excelize.File
	fresh bool // the default "Sheet1" is still unused
	st    styles
}

// fixedTime is the creation time written into generated files that must be
// reproducible (templates).
const fixedTime = "2024-01-01T00:00:00Z"

// newBook starts a workbook; created is its creation time in the document
// properties (fixedTime when zero, so templates are reproducible).
func newBook(l lang, title string, created time.Time) (*book, error) {
	stamp := fixedTime
	if !created.IsZero() {
		stamp = created.UTC().Format(time.RFC3339)
	}
	f := excelize.NewFile()
	b := &book{f: f, fresh: true}
	if err := f.SetDocProps(&excelize.DocProperties{
		Title:          title,
		Creator:        "crmsync",
		LastModifiedBy: "crmsync",
		Language:       map[lang]string{"zh": "zh-CN", "en": "en-US"}[l],
		Created:        stamp,
		Modified:       stamp,
	}); err != nil {
		f.Close()
		return nil, err
	}
	st, err := newStyles(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	b.st = st
	return b, nil
}

// useSheet makes a sheet named name, reusing the default sheet for the first.
func (b *book) useSheet(name string) error {
	if b.fresh {
		b.fresh = false
		return b.f.SetSheetName("Sheet1", name)
	}
	_, err := b.f.NewSheet(name)
	return err
}

func (b *book) close() { _ = b.f.Close() }

// save writes the workbook to a temporary file beside path and renames it
// into place; ctx stops it.
func (b *book) save(ctx context.Context, path string) error {
	tmp, err := b.saveTemp(ctx, path)
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// saveTemp writes the workbook to a new temporary file beside path and
// returns its name. The zip is written straight to the file: excelize's own
// Save builds the whole archive in memory first. Zipping a big workbook
// takes a while: every write checks ctx, so cancelling stops it at once.
func (b *book) saveTemp(ctx context.Context, path string) (name string, err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return "", err
	}
	defer func() {
		if err != nil {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(ctxWriter{ctx, tmp}, 1<<20)
	b.f.SetZipWriter(func(io.Writer) excelize.ZipWriter {
		zw := zip.NewWriter(bw)
		// klauspost/compress's deflate at level 5: a 1,000,000-row report
		// in 16–21 s instead of 25 s with compress/flate at the same level,
		// for a file 7% bigger (BenchmarkWrite).
		zw.RegisterCompressor(zip.Deflate, func(w io.Writer) (io.WriteCloser, error) {
			return flate.NewWriter(w, 5)
		})
		return zw
	})
	// The buffer excelize hands to the zip writer stays empty; nothing is
	// left to copy to io.Discard.
	if err = b.f.Write(io.Discard); err != nil {
		return "", err
	}
	if err = bw.Flush(); err != nil {
		return "", err
	}
	mode := b.mode
	if mode == 0 {
		mode = 0o600
	}
	if err = tmp.Chmod(mode); err != nil {
		return "", err
	}
	if err = tmp.Close(); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}

// ctxWriter is a writer that fails once ctx is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// outputMark is the custom document property that marks a workbook crmsync
// wrote as output (report, problems, reconciliation): one crmsync may
// replace (see CheckTarget). Templates do not carry it: a person fills them in.
const outputMark = "crmsync"

// markOutput marks b as crmsync output.
func (b *book) markOutput() error {
	return b.f.SetCustomProps(excelize.CustomProperty{Name: outputMark, Value: "output"})
}

// styles are the cell styles of a workbook.
type styles struct {
	header int
	// wrapHeader is header with its text wrapped (summary sections).
	wrapHeader int
	bold       int
	title      int
	text       int // "@": Excel keeps IDs as typed
	amount     int // numbers with two decimals
	problem    int // red text
	wrap       int // text wrapped in its cell, top aligned
	badCell    int // a cell with a problem (problems workbook): red fill, text format
	outcome    map[crmsync.Outcome]int
}

// Fill colours of outcomes: good green, planned blue, needs a person red or
// amber, skipped grey.
var outcomeColors = map[crmsync.Outcome][2]string{ // fill, font
	crmsync.OutcomeSent:      {"C6EFCE", "006100"},
	crmsync.OutcomeUnchanged: {"C6EFCE", "006100"},
	crmsync.OutcomeNew:       {"DDEBF7", "1F4E78"},
	crmsync.OutcomeInvalid:   {"FFC7CE", "9C0006"},
	crmsync.OutcomeRejected:  {"FFC7CE", "9C0006"},
	crmsync.OutcomeFailed:    {"FFC7CE", "9C0006"},
	crmsync.OutcomeChanged:   {"FFEB9C", "9C5700"},
	crmsync.OutcomeBlocked:   {"FFEB9C", "9C5700"},
	crmsync.OutcomeDuplicate: {"FFEB9C", "9C5700"},
	crmsync.OutcomeUncertain: {"FFEB9C", "9C5700"},
	crmsync.OutcomeSkipped:   {"EDEDED", "595959"},
}

func newStyles(f *excelize.File) (styles, error) {
	st := styles{outcome: map[crmsync.Outcome]int{}}
	text := "@"
	two := "#,##0.00"
	border := []excelize.Border{{Type: "bottom", Color: "8EA9DB", Style: 1}}
	defs := []struct {
		id *int
		s  *excelize.Style
	}{
		{&st.header, &excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
			Border:    border,
			Alignment: &excelize.Alignment{Vertical: "center"},
		}},
		{&st.wrapHeader, &excelize.Style{
			Font:      &excelize.Font{Bold: true},
			Fill:      excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"D9E1F2"}},
			Border:    border,
			Alignment: &excelize.Alignment{Vertical: "center", WrapText: true},
		}},
		{&st.bold, &excelize.Style{Font: &excelize.Font{Bold: true}}},
		{&st.title, &excelize.Style{Font: &excelize.Font{Bold: true, Size: 14}}},
		{&st.text, &excelize.Style{CustomNumFmt: &text}},
		{&st.amount, &excelize.Style{CustomNumFmt: &two}},
		{&st.problem, &excelize.Style{Font: &excelize.Font{Color: "C00000"}}},
		{&st.wrap, &excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}}},
		{&st.badCell, &excelize.Style{CustomNumFmt: &text, Font: &excelize.Font{Color: "9C0006"},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"FFC7CE"}}}},
	}
	for _, d := range defs {
		id, err := f.NewStyle(d.s)
		if err != nil {
			return st, err
		}
		*d.id = id
	}
	for _, o := range crmsync.Outcomes {
		c := outcomeColors[o]
		id, err := f.NewStyle(&excelize.Style{
			Font: &excelize.Font{Color: c[1]},
			Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{c[0]}},
		})
		if err != nil {
			return st, err
		}
		st.outcome[o] = id
	}
	return st, nil
}

// amountWidth is how many characters decimal v ("-1234567.5") takes shown
// as #,##0.00 ("-1,234,567.50").
func amountWidth(v string) int {
	ip, _, _ := strings.Cut(strings.TrimPrefix(v, "-"), ".")
	n := max(len(ip), 1)
	w := n + (n-1)/3 + len(".00")
	if strings.HasPrefix(v, "-") {
		w++
	}
	return w
}
