package main

import (
	"context"
	"fmt"
	"strconv"

	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/pipeline"
	"github.com/crmsync/crmsync/report"
)

// reportCommand regenerates the report of a past run from the ledger.
type reportCommand struct{ *env }

func (c *reportCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("report")
	path := fs.String("ledger", "crmsync.db", "the ledger `file` (SQLite)")
	out := fs.String("report", "", "the report `file` (default reports/<mall>-<command>-<run>-again.xlsx)")
	var language lang
	language.register(fs)
	config := fs.String("config", "", "settings `file` (TOML) for the ledger path; default $CRMSYNC_CONFIG")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := c.applyConfig(fs, *config)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("name one RUN-ID (crmsync status lists recent runs)")
	}
	c.runLang = string(language)
	runID, perr := strconv.ParseInt(fs.Arg(0), 10, 64)
	if perr != nil || runID <= 0 {
		return usagef("RUN-ID %q: want a run number (crmsync status lists recent runs)", fs.Arg(0))
	}
	l, err := c.readLedger(ctx, *path)
	if err != nil {
		return err
	}
	defer l.Close()
	s, err := l.Summary(ctx, runID)
	if err != nil {
		return err
	}
	if at, err := l.RunPruned(ctx, runID); err != nil {
		return err
	} else if !at.IsZero() {
		return fmt.Errorf("report of run %d: %w on %s (retention); its summary: %d rows, %v; crmsync status lists what is still outstanding",
			runID, ledger.ErrPruned, at.Format("2006-01-02"), s.Rows, s.Counts)
	}
	s.Ledger = l.Path()
	if s.Command == "plan" {
		apps, err := l.Applications(ctx)
		if err != nil {
			return err
		}
		if a, ok := ledger.AppliedBy(apps[runID]); ok {
			s.AppliedBy = a.Run
		}
	}
	// The ledger's mall names the report; a config of another mall is
	// refused, as run refuses it.
	if s.Mall, err = l.Mall(ctx); err != nil {
		return err
	}
	if cfg.Mall != "" && s.Mall != "" && cfg.Mall != s.Mall {
		return &ledger.MallError{Path: l.Path(), Ledger: s.Mall, Config: cfg.Mall}
	}
	if s.Mall == "" {
		s.Mall = cfg.Mall
	}
	if *out == "" {
		*out = pipeline.AgainPath(s)
	}
	if err := checkReport(*out, true, append(ledgerFiles(*path), cfg.path)...); err != nil {
		return err
	}
	s.Report = *out
	ro := cfg.reportOptions()
	ro.Lang = string(language)
	results := report.ResultsPath(*out, s, ro) // every row's outcome, when the report lists only some
	problems, err := report.Write(ctx, *out, s, l, ro)
	if err != nil {
		return err // report.Write's error names the file
	}
	fmt.Fprintf(c.stderr, tr(string(language), "报告:%s\n", "report:   %s\n"), *out)
	if results != "" {
		fmt.Fprintf(c.stderr, tr(string(language), "逐行结果:%s\n", "results:  %s\n"), results)
	}
	if problems != "" {
		fmt.Fprintf(c.stderr, tr(string(language), "待处理文件:%s\n", "problems: %s\n"), problems)
	}
	return nil
}
