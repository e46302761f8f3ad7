package report

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/gocarina/gocsv"

	"github.com/crmsync/crmsync"
)

// resultLine is one row of the results CSV: where the input row came from,
// what became of it and why.
type resultLine struct {
	File           string `csv:"file"`
	Sheet          string `csv:"sheet"`
	Row            int    `csv:"row"`
	Kind           string `csv:"kind"`
	Key            string `csv:"key"`
	Outcome        string `csv:"outcome"`
	Cause          string `csv:"cause_code"` // the reason code of an invalid row's first problem, else the outcome when it needs a person
	Column         string `csv:"column"`
	Reason         string `csv:"reason"`
	MallcooCode    string `csv:"mallcoo_code"` // empty when Mallcoo gave no answer
	MallcooMessage string `csv:"mallcoo_message"`
	Attempts       int    `csv:"attempts"`
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
// temporary name and renamed.
func WriteResults(ctx context.Context, path string, s *crmsync.Summary, src Source, opt Options) (err error) {
	if s == nil {
		return fmt.Errorf("write results %s: no run summary", path)
	}
	l := parseLang(opt.Lang)
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, opt.dirMode()); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+"-*.tmp")
	if err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<16)
	bw.WriteString("\ufeff")
	w := csv.NewWriter(bw)
	w.UseCRLF = true
	cw := gocsv.NewSafeCSVWriter(w)

	lines := make(chan any, 256)
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srcErr := make(chan error, 1)
	go func() {
		defer close(lines)
		m := masker{show: opt.ShowPersonal}
		for _, k := range crmsync.Kinds {
			err := src.Results(sctx, s.RunID, k, func(r *crmsync.Result) error {
				m.row(k, r.Values)
				line := &resultLine{File: r.Source.File, Sheet: r.Source.Sheet, Row: r.Source.Row, Kind: string(k),
					Key: m.text(r.Key), Outcome: string(r.Outcome), Column: r.Column, Reason: m.text(reasonText(k, r, l)),
					MallcooMessage: m.text(r.Message), Attempts: r.Attempts}
				if ps := r.Problems(); r.Outcome == crmsync.OutcomeInvalid && len(ps) > 0 && ps[0].Code != "" {
					line.Cause = ps[0].Code
				} else if r.Outcome.NeedsPerson() {
					line.Cause = string(r.Outcome)
				}
				if r.HasCode {
					line.MallcooCode = strconv.Itoa(r.Code)
				}
				select {
				case lines <- line:
					return nil
				case <-sctx.Done():
					return sctx.Err()
				}
			})
			if err != nil {
				srcErr <- err
				return
			}
		}
		srcErr <- nil
	}()
	merr := gocsv.MarshalChan(lines, cw)
	cancel()
	for range lines { // let the reader finish
	}
	serr := <-srcErr
	if errors.Is(merr, gocsv.ErrChannelIsClosed) && serr == nil {
		merr = gocsv.MarshalCSV([]resultLine{}, cw) // no rows: the header alone
	}
	switch {
	case serr != nil && !errors.Is(serr, context.Canceled):
		return fmt.Errorf("write results %s: %w", path, serr)
	case merr != nil:
		return fmt.Errorf("write results %s: %w", path, merr)
	case ctx.Err() != nil:
		return fmt.Errorf("write results %s: %w", path, ctx.Err())
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := f.Chmod(opt.fileMode()); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write results %s: %w", path, err)
	}
	return nil
}
