package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/crmsync/crmsync"
	"github.com/gocarina/gocsv"
)

// resultLine is one row of the results CSV: where the input row came from,
// what became of it and why.
type resultLine struct {
	File           string `csv:"file"`
	Sheet          string `csv:"sheet"`
	Row            string `csv:"row"` // a number, formatted here: gocsv formats an int with fmt.Sprintf
	Kind           string `csv:"kind"`
	Key            string `csv:"key"`
	Outcome        string `csv:"outcome"`
	Cause          string `csv:"cause_code"` // the reason code of an invalid row's first problem, else the outcome when it needs a person
	Column         string `csv:"column"`
	Reason         string `csv:"reason"`
	MallcooCode    string `csv:"mallcoo_code"` // empty when Mallcoo gave no answer
	MallcooMessage string `csv:"mallcoo_message"`
	Attempts       string `csv:"attempts"` // a number, as Row
}

// ResultsHeader is the first line of a results CSV WriteResults writes
// (after its BOM).
func ResultsHeader() string {
	t := reflect.TypeOf(resultLine{})
	names := make([]string, t.NumField())
	for i := range names {
		names[i] = t.Field(i).Tag.Get("csv")
	}
	return strings.Join(names, ",")
}

// ResultsOwned reports whether the regular file at path is a results CSV
// crmsync wrote: it begins with the BOM and the header WriteResults writes.
func ResultsOwned(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	want := "\ufeff" + ResultsHeader() + "\r\n"
	buf := make([]byte, len(want))
	if _, err := io.ReadFull(f, buf); err != nil {
		return false, nil // shorter than the header: not ours
	}
	return string(buf) == want, nil
}

// WriteResults writes every row's outcome of run s to path as CSV (UTF-8
// with a BOM, so Excel opens it as UTF-8; CRLF line ends), one line per
// input row in the order of the kinds and their rows. Rows are streamed
// from src: a million rows cost no memory. Card IDs and mobile numbers are
// masked as in the report unless opt.ShowPersonal. The file is written to a
// temporary name and renamed. Write writes the same file in its own pass
// over the results when Options.Results names it.
func WriteResults(ctx context.Context, path string, s *crmsync.Summary, src Source, opt Options) error {
	if s == nil {
		return fmt.Errorf("write results %s: no run summary", path)
	}
	rf, err := createResults(path, opt)
	if err != nil {
		return err
	}
	defer rf.abort()
	for _, k := range crmsync.Kinds {
		n := 0
		err := src.Results(ctx, s.RunID, k, func(r *crmsync.Result) error {
			if n++; n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			return rf.add(k, r)
		})
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return fmt.Errorf("write results %s: %w", path, err)
		}
	}
	return rf.commit()
}

// ResultsError is a results CSV Write could not write (Options.Results);
// the report is then not written either. Err names the file.
type ResultsError struct {
	Path string
	Err  error
}

func (e *ResultsError) Error() string { return e.Err.Error() }
func (e *ResultsError) Unwrap() error { return e.Err }

// resultsFile is a results CSV being written to a temporary file. Lines
// are marshalled by gocsv from resultLine's tags, a batch at a time (no
// goroutine, so Write can feed it from its own pass over the results).
type resultsFile struct {
	lines
	path string
	f    *os.File
	bw   *bufio.Writer
	mode os.FileMode
	done bool
}

// lines writes results CSV lines (resultLine) through gocsv, a batch at a
// time: the results CSV's, or a kind's spool of them (Live).
type lines struct {
	w     *gocsv.SafeCSVWriter
	m     masker
	l     lang
	batch []resultLine
}

// resultsBatch is how many lines gocsv marshals at a time.
const resultsBatch = 512

// newLines writes lines to w (CRLF line ends), masked as opt says.
func newLines(w io.Writer, opt Options) lines {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	return lines{w: gocsv.NewSafeCSVWriter(cw), m: masker{show: opt.ShowPersonal}, l: parseLang(opt.Lang),
		batch: make([]resultLine, 0, resultsBatch)}
}

// createResults starts the results CSV at path (its directory created if
// need be): the BOM and the header are written.
func createResults(path string, opt Options) (*resultsFile, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, opt.dirMode()); err != nil {
		return nil, fmt.Errorf("write results: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("write results: %w", err)
	}
	rf := &resultsFile{path: path, f: f, bw: bufio.NewWriterSize(f, 1<<16), mode: opt.fileMode()}
	rf.bw.WriteString("\ufeff")
	rf.lines = newLines(rf.bw, opt)
	if err := gocsv.MarshalCSV([]resultLine{}, rf.w); err != nil { // the header
		rf.abort()
		return nil, fmt.Errorf("write results %s: %w", path, err)
	}
	return rf, nil
}

// add writes the line of one result of kind k.
func (rf *lines) add(k crmsync.Kind, r *crmsync.Result) error {
	m := &rf.m
	m.row(k, r.Values, r.Body) // the body holds the card ID and mobile as cleaned, as keys use them
	cause := ""
	if ps := r.Problems(); r.Outcome == crmsync.OutcomeInvalid && len(ps) > 0 && ps[0].Code != "" {
		cause = ps[0].Code
	} else if r.Outcome.NeedsPerson() {
		cause = string(r.Outcome)
	}
	code := ""
	if r.HasCode {
		code = strconv.Itoa(r.Code)
	}
	rf.batch = append(rf.batch, resultLine{File: asText(r.Source.File), Sheet: asText(r.Source.Sheet), Row: strconv.Itoa(r.Source.Row), Kind: string(k),
		Key: asText(m.text(r.Key)), Outcome: string(r.Outcome), Cause: cause, Column: asText(r.Column),
		Reason: asText(m.text(reasonText(k, r, rf.l))), MallcooCode: code, MallcooMessage: asText(m.text(r.Message)), Attempts: strconv.Itoa(r.Attempts)})
	if len(rf.batch) == resultsBatch {
		return rf.flush()
	}
	return nil
}

// asText is a text field of the results CSV as a spreadsheet must take
// it: one that begins with = + - @ (or a tab or CR) would be a formula to
// Excel, LibreOffice and WPS when a person opens the file (a key or a
// Mallcoo message is text from outside: "=HYPERLINK(…)"), so it gets a
// leading ' as OWASP's CSV-injection advice says; the spreadsheet shows
// the text, a script sees the '.
func asText(s string) string {
	if s != "" && strings.IndexByte("=+-@\t\r", s[0]) >= 0 {
		return "'" + s
	}
	return s
}

// flush marshals the batched lines.
func (rf *lines) flush() error {
	if len(rf.batch) == 0 {
		return nil
	}
	err := gocsv.MarshalCSVWithoutHeaders(rf.batch, rf.w)
	rf.batch = rf.batch[:0]
	return err
}

// end marshals the batched lines and flushes the CSV writer.
func (rf *lines) end() error {
	err := rf.flush()
	rf.w.Flush()
	if err == nil {
		err = rf.w.Error()
	}
	return err
}

// copyLines appends lines written elsewhere (a kind's spool) after those
// written so far.
func (rf *resultsFile) copyLines(r io.Reader) error {
	if err := rf.end(); err != nil {
		return err
	}
	_, err := io.Copy(rf.bw, r)
	return err
}

// commit finishes the file and renames it into place.
func (rf *resultsFile) commit() error {
	err := rf.end()
	if err == nil {
		err = rf.bw.Flush()
	}
	if err == nil {
		err = rf.f.Chmod(rf.mode)
	}
	if err == nil {
		err = rf.f.Close()
	}
	if err == nil {
		err = os.Rename(rf.f.Name(), rf.path)
	}
	if err != nil {
		rf.abort()
		return fmt.Errorf("write results %s: %w", rf.path, err)
	}
	rf.done = true
	return nil
}

// abort drops the temporary file unless committed.
func (rf *resultsFile) abort() {
	if rf.done {
		return
	}
	rf.done = true
	_ = rf.f.Close()
	_ = os.Remove(rf.f.Name())
}
