// Package report writes crmsync's Excel output: the result report of a run
// (a summary sheet and one sheet per kind with every input row and its
// outcome), the problems workbook beside it (only the rows that need a
// person, laid out like the import template so the fixed file can be fed
// back), and the blank import templates.
//
// Row data is always written with excelize's StreamWriter and the workbook is
// zipped straight into a temporary file that is renamed into place, so a
// million-row run costs little memory and a half-written report never has the
// final name. A sheet holds at most 1,048,576 rows; a kind with more rows
// continues on "<kind> (2)", "<kind> (3)" and so on.
//
// Every label goes through one small translation table: Chinese by default,
// English with Options.Lang "en".
package report

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/crmsync/crmsync"
)

// Source streams a run's per-row results; the ledger implements it.
type Source interface {
	// Results calls fn for every result of kind in the run, in Seq order,
	// and stops at the first error fn returns.
	Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error
}

// Options tune the output.
type Options struct {
	// Lang is "zh" (the default) or "en".
	Lang string
	// Progress, when set, is called every few thousand rows with the rows
	// written so far and the run's row count (a million-row report takes
	// a while: the operator sees it move).
	Progress func(stage string, done, total int)
	// ShowPersonal writes members' card IDs and mobile numbers in full in
	// the result report and the reconciliation workbook. By default they
	// are masked (138****5678, ********0001): those files travel by email
	// and chat. The problems workbook always holds full values: a person
	// fixes its rows and imports it again.
	ShowPersonal bool
	// FileMode is the mode of the files written, whatever the umask: 0600
	// when zero (0640 for a group of operators). A folder created for them
	// gets 0700 (0750).
	FileMode os.FileMode
	// ReportRows is how many rows (all kinds together) the report's kind
	// sheets list in full: 0 is DefaultReportRows, negative no limit. The
	// sheets of a run with more rows list only the rows that need a person
	// (all of them), and they and the summary say where every row's outcome
	// is: the results CSV (ResultsPath).
	ReportRows int
	// Results, when set, is the results CSV (see WriteResults) Write writes
	// in the same pass over the results as the report.
	Results string
	// Live, when set, holds what the run fed it of every row (NewLive):
	// a report that lists only the rows that need a person then reads only
	// those from its Source, and takes the results CSV's lines and the
	// finance totals from Live. Unused when the run dropped it, or when it
	// does not hold every row of the run.
	Live *Live
}

// PersonSource is a Source that also streams only the results that need a
// person (crmsync.Outcome.NeedsPerson); the ledger implements it. A report
// that lists only those rows reads them so (Live).
type PersonSource interface {
	ResultsNeedingPerson(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error
}

// DefaultReportRows is the default of Options.ReportRows: a report of up to
// 200,000 rows lists every row.
const DefaultReportRows = 200_000

// Cut reports whether the report of run s lists on its kind sheets only the
// rows that need a person: the run has more rows than opt.ReportRows.
func Cut(s *crmsync.Summary, opt Options) bool {
	limit := opt.ReportRows
	if limit == 0 {
		limit = DefaultReportRows
	}
	return limit > 0 && s != nil && resultRows(s) > limit
}

// kindRows is the number of per-row results of kind k in run s.
func kindRows(s *crmsync.Summary, k crmsync.Kind) int {
	n := 0
	for _, c := range s.ByKind[k] {
		n += c
	}
	return n
}

// resultRows is the number of per-row results of run s.
func resultRows(s *crmsync.Summary) int {
	n := 0
	for k := range s.ByKind {
		n += kindRows(s, k)
	}
	return n
}

// ResultsPath is the results CSV Write writes with the report at path:
// opt.Results, else, when the listing is cut (Cut), one beside the report
// ("out/run-7.xlsx" → "out/run-7-results.csv", "-results-2.csv", … when
// that name is a file crmsync did not write), else "" (none).
func ResultsPath(path string, s *crmsync.Summary, opt Options) string {
	if opt.Results != "" || !Cut(s, opt) {
		return opt.Results
	}
	base := strings.TrimSuffix(path, filepath.Ext(path)) + "-results"
	for i := 1; ; i++ {
		p := base + ".csv"
		if i > 1 {
			p = fmt.Sprintf("%s-%d.csv", base, i)
		}
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return p
		case err != nil:
			return p // writing it says what is wrong (a folder that cannot be read)
		case fi.Mode().IsRegular():
			if ours, _ := ResultsOwned(p); ours {
				return p
			}
		}
	}
}

// fileMode is the mode files are written with.
func (o Options) fileMode() os.FileMode {
	if o.FileMode == 0 {
		return 0o600
	}
	return o.FileMode.Perm()
}

// dirMode is the mode of a folder created for the files: the file mode
// with the search bits of whoever may read.
func (o Options) dirMode() os.FileMode {
	m := o.fileMode()
	return m | (m&0o444)>>2
}

// ProblemsPath returns the path of the problems workbook beside a report:
// "out/run-7.xlsx" → "out/run-7-problems.xlsx".
func ProblemsPath(report string) string {
	ext := filepath.Ext(report)
	if ext == "" {
		return report + "-problems.xlsx"
	}
	return strings.TrimSuffix(report, ext) + "-problems" + ext
}

// Write writes the report of run s to path and, when some row needs a
// person, the problems workbook to ProblemsPath(path), whose path it returns
// ("" when no row needs a person, and then an earlier problems workbook of
// crmsync's at that path is removed, so none is left beside a report it
// does not belong to). It creates the directory if needed. Each
// workbook is written to a temporary file in the same directory and renamed,
// so a half-written report never has the final name. Write reads each kind's
// results once from src, and writes the results CSV ResultsPath names (if
// any) in the same pass.
func Write(ctx context.Context, path string, s *crmsync.Summary, src Source, opt Options) (problems string, err error) {
	w := &writer{lang: parseLang(opt.Lang), maxRows: excelize.TotalRows, progress: opt.Progress, show: opt.ShowPersonal, opt: opt}
	return w.write(ctx, path, s, src)
}

// unknownColumns lists the headers of the columns of kind k that no field
// matched, in the run's files, in order.
func unknownColumns(s *crmsync.Summary, k crmsync.Kind) []string {
	var out []string
	for _, f := range s.Files {
		if f.Kind == k {
			out = append(out, f.Unknown...)
		}
	}
	return out
}

// writer holds the settings of one Write; tests lower maxRows to exercise
// sheet continuation.
type writer struct {
	lang     lang
	maxRows  int // rows per sheet, header included
	progress func(stage string, done, total int)
	show     bool // Options.ShowPersonal
	opt      Options
	// cut: the kind sheets hold only the rows that need a person, and
	// every row's outcome is in results.
	cut         bool
	results     string
	resultsName string // results as the report names it: beside the report, its name alone
}

func (w *writer) write(ctx context.Context, path string, s *crmsync.Summary, src Source) (string, error) {
	if s == nil {
		return "", fmt.Errorf("write report %s: no run summary", path)
	}
	for _, p := range []string{path, ProblemsPath(path)} {
		if err := CheckTarget(p); err != nil {
			return "", err
		}
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, w.opt.dirMode()); err != nil {
			return "", fmt.Errorf("write report: %w", err)
		}
	}
	rep, err := newBook(w.lang, w.lang.T("title"), s.Started)
	if err == nil {
		rep.mode = w.opt.fileMode()
	}
	if err == nil {
		err = rep.markOutput()
	}
	if err != nil {
		return "", fmt.Errorf("write report %s: %w", path, err)
	}
	defer rep.close()
	// The summary sheet comes first; it is filled once every row is counted.
	summarySheet := w.lang.T("summary")
	if err := rep.useSheet(summarySheet); err != nil {
		return "", fmt.Errorf("write report %s: %w", path, err)
	}
	var prob *book
	defer func() {
		if prob != nil {
			prob.close()
		}
	}()
	w.cut = Cut(s, w.opt)
	w.results = ResultsPath(path, s, w.opt)
	w.resultsName = w.results
	if rel, err := filepath.Rel(filepath.Dir(path), w.results); err == nil && !strings.HasPrefix(rel, "..") {
		w.resultsName = rel
	}
	// With a Live, every row's line and amounts are known: only the rows
	// that need a person are read.
	live := w.cut && w.results != "" && w.opt.Live.usable(s, w.opt)
	var res *resultsFile
	if w.results != "" {
		if res, err = createResults(w.results, w.opt); err != nil {
			return "", &ResultsError{Path: w.results, Err: err}
		}
		defer res.abort()
	}
	fin := newFinance()
	walk := src.Results
	if live {
		if err := w.opt.Live.writeTo(res); err != nil {
			return "", &ResultsError{Path: w.results, Err: err}
		}
		fin = w.opt.Live.fin
		walk = needingPerson(src)
	}
	causes := newCauses(w.lang)
	written := 0
	for _, k := range crmsync.Kinds {
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("write report %s: %w", path, err)
		}
		ks := newKindSheet(rep, k, s, w)
		if w.cut && kindRows(s, k) > 0 {
			if err := ks.start(); err != nil {
				return "", fmt.Errorf("write report %s: %s sheet: %w", path, k, err)
			}
		}
		var ps *problemSheet
		n := 0
		err := walk(ctx, s.RunID, k, func(r *crmsync.Result) error {
			n++
			written++
			if n&1023 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if w.progress != nil && written%4096 == 0 {
				w.progress("report", written, s.Rows)
			}
			if res != nil && !live {
				if err := res.add(k, r); err != nil {
					return &ResultsError{Path: w.results, Err: fmt.Errorf("write results %s: %w", w.results, err)}
				}
			}
			if !live {
				fin.add(k, r)
			}
			if !r.Outcome.NeedsPerson() {
				if w.cut {
					return nil
				}
				return ks.add(r)
			}
			if err := ks.add(r); err != nil {
				return err
			}
			causes.add(k, r)
			if ps == nil {
				if prob == nil {
					b, err := newBook(w.lang, w.lang.T("problemsTitle"), s.Started)
					if err != nil {
						return err
					}
					b.mode = w.opt.fileMode()
					if err := b.markOutput(); err != nil {
						b.close()
						return err
					}
					prob = b
				}
				ps = newProblemSheet(prob, k, w, unknownColumns(s, k))
			}
			return ps.add(r)
		})
		if err != nil {
			return "", fmt.Errorf("write report %s: %s rows: %w", path, k, err)
		}
		if err := ctx.Err(); err != nil {
			return "", fmt.Errorf("write report %s: %s rows: %w", path, k, err)
		}
		if err := ks.close(); err != nil {
			return "", fmt.Errorf("write report %s: %s sheet: %w", path, k, err)
		}
		if ps != nil {
			if err := ps.close(); err != nil {
				return "", fmt.Errorf("write problems of %s: %s sheet: %w", path, k, err)
			}
		}
	}

	var problems string
	if prob != nil {
		problems = ProblemsPath(path)
	}
	problemsName := "" // shown in the summary: the file beside the report
	if problems != "" {
		problemsName = filepath.Base(problems)
	}
	s.Causes = causes.top(crmsync.MaxCauses)
	for i := range s.Causes { // counted before sending stopped
		if c := &s.Causes[i]; c.Outcome == crmsync.OutcomeFailed && !s.Stopped.IsZero() {
			c.Fix = nextStep(c.Outcome, true, w.lang)
		}
	}
	listing := "" // shown in the summary when the kind sheets are cut
	if w.cut {
		listing = w.listingText()
	}
	if err := writeSummary(rep, summarySheet, s, fin, problemsName, listing, w.lang); err != nil {
		return "", fmt.Errorf("write report %s: summary: %w", path, err)
	}
	// The summary is the default first sheet, which is the active one.
	// (SetActiveSheet would re-read every streamed sheet.)
	//
	// Both workbooks are written to temporary files first and renamed
	// problems first, so a report never points at a missing problems file.
	repTmp, err := rep.saveTemp(ctx, path)
	if err != nil {
		return "", fmt.Errorf("write report %s: %w", path, err)
	}
	renamed := false
	defer func() {
		if !renamed {
			_ = os.Remove(repTmp)
		}
	}()
	rep.close() // release its buffers before the problems workbook is zipped
	if prob != nil {
		if err := prob.save(ctx, problems); err != nil {
			return "", fmt.Errorf("write problems %s: %w", problems, err)
		}
	} else if err := os.Remove(ProblemsPath(path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		// An earlier run's problems workbook under this report's name
		// (-report FILE on another night) would pass for this run's: it
		// goes (CheckTarget above let it through only as crmsync's own,
		// unsaved output).
		return "", fmt.Errorf("remove the earlier problems workbook %s: %w", ProblemsPath(path), err)
	}
	// The results CSV before the report that points at it.
	if res != nil {
		if err := res.commit(); err != nil {
			return "", &ResultsError{Path: w.results, Err: err}
		}
	}
	if err := os.Rename(repTmp, path); err != nil {
		return "", fmt.Errorf("write report %s: %w", path, err)
	}
	renamed = true
	return problems, nil
}

// needingPerson is src's walk of the results that need a person: its own
// (PersonSource), else Results' with the others left out.
func needingPerson(src Source) func(context.Context, int64, crmsync.Kind, func(*crmsync.Result) error) error {
	if ps, ok := src.(PersonSource); ok {
		return ps.ResultsNeedingPerson
	}
	return func(ctx context.Context, runID int64, k crmsync.Kind, fn func(*crmsync.Result) error) error {
		return src.Results(ctx, runID, k, func(r *crmsync.Result) error {
			if !r.Outcome.NeedsPerson() {
				return nil
			}
			return fn(r)
		})
	}
}

// listingText says where every row's outcome is when the kind sheets list
// only the rows that need a person: the results CSV beside the report.
func (w *writer) listingText() string {
	limit := w.opt.ReportRows
	if limit == 0 {
		limit = DefaultReportRows
	}
	if w.lang == "en" {
		return fmt.Sprintf("The run has more than %d rows (report_rows): the kind sheets list only the rows that need a person. Every row's outcome is in %s.", limit, w.resultsName)
	}
	return fmt.Sprintf("本次运行超过 %d 行(report_rows):各类型工作表只列出需要人工处理的行。每一行的结果见 %s。", limit, w.resultsName)
}
