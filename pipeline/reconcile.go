package pipeline

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/report"
)

// ReconcileOptions are the settings of a reconciliation.
type ReconcileOptions struct {
	Ledger string // the ledger file, opened read-only
	Reader *importer.Reader
	// Mall, when set, must be the mall the ledger remembers, if any
	// (*ledger.MallError); reconcile records nothing.
	Mall  string
	Files []string // the input files, already expanded
	// Since and Until (exclusive) limit the comparison by event time; zero:
	// the files' own days.
	Since, Until time.Time
	// Report is the reconciliation workbook; empty:
	// <ReportDir>/reconcile-<time>.xlsx (ReportDir default "reports").
	Report    string
	ReportDir string
	Lang      string
	// ReportOptions are the workbook's other options (masking, file mode);
	// Reconcile sets their Lang.
	ReportOptions report.Options
	Logger        *slog.Logger
}

// Reconciled is what a reconciliation found.
type Reconciled struct {
	Counts     map[crmsync.Category]int
	Duplicates int // invalid rows that repeat a key met earlier in the files
	Fixed      int // matched rows that are bad rows whose fixed version was delivered
	Totals     *report.Totals
	Windows    []crmsync.Window
	Files      []crmsync.FileSummary
	RunActive  bool // a run held the ledger: its events may be in flight
	Report     string
	Started    time.Time
}

// TiesOut reports whether the files and the ledger agree: nothing
// mismatched, missing, orphaned or invalid, and every file read.
func (r *Reconciled) TiesOut() bool { return !crmsync.AnyNeedsPerson(r.Counts, r.Files) }

// Reconcile compares the files with the ledger both ways, with finance
// totals, and writes the reconciliation workbook. It opens the ledger
// read-only (SQLite refuses any write; no migration runs), and it does not
// take the run lock: reads see one consistent snapshot (WAL) beside a
// running import, and a month-end reconciliation must not hold up the
// nightly run. When a run holds the ledger, Reconciled.RunActive says so.
func Reconcile(ctx context.Context, opt ReconcileOptions) (*Reconciled, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	// Read only: no migration, no write, and a missing ledger is an error
	// (an empty one would call every row missing).
	l, err := ledger.OpenReadOnly(ctx, opt.Ledger)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	// Another mall's ledger would call all of this mall's rows missing.
	if opt.Mall != "" {
		mall, err := l.Mall(ctx)
		if err != nil {
			return nil, err
		}
		if mall != "" && mall != opt.Mall {
			return nil, &ledger.MallError{Path: l.Path(), Ledger: mall, Config: opt.Mall}
		}
	}

	started := time.Now()
	reportPath := opt.Report
	if reportPath == "" {
		dir := opt.ReportDir
		if dir == "" {
			dir = "reports"
		}
		reportPath = filepath.Join(dir, "reconcile-"+started.In(mallcoo.CST).Format("20060102-150405")+".xlsx")
	}
	ro := opt.ReportOptions
	ro.Lang = opt.Lang
	rep, err := report.NewReconcile(reportPath, ro)
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			rep.Discard()
		}
	}()
	rec, err := l.Reconcile(ctx, ledger.ReconcileOptions{Since: opt.Since, Until: opt.Until, SameContent: sameContent, KeyOf: importer.KeyOf}, rep.Add)
	if err != nil {
		return nil, err
	}
	defer rec.Close()
	if rec.RunActive() {
		opt.Logger.Warn("a run holds the ledger: its events may still be in flight; reconcile again when it ends for final figures", "ledger", opt.Ledger)
	}
	var sums []crmsync.FileSummary
	err = opt.Reader.ReadFiles(ctx, opt.Files, rec.Add, func(fsum []crmsync.FileSummary) error {
		for _, f := range fsum {
			if !f.Problem.IsZero() {
				opt.Logger.Warn("file not read", "file", f.Path, "sheet", f.Sheet, "problem", f.Problem)
			}
		}
		sums = append(sums, fsum...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reconcile: %w", err)
	}
	windows, err := rec.Finish(ctx)
	if err != nil {
		return nil, err
	}
	if err := rec.Close(); err != nil {
		return nil, err
	}
	closed = true
	info := report.ReconcileInfo{Ledger: opt.Ledger, Files: sums, Windows: windows, RunActive: rec.RunActive(), Generated: started}
	if err := rep.Close(info); err != nil {
		return nil, err
	}
	return &Reconciled{
		Counts:     rep.Counts(),
		Duplicates: rep.Duplicates(),
		Fixed:      rep.Fixed(),
		Totals:     rep.Totals(),
		Windows:    windows,
		Files:      sums,
		RunActive:  rec.RunActive(),
		Report:     reportPath,
		Started:    started,
	}, nil
}
