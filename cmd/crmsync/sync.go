package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/pipeline"
	"github.com/crmsync/crmsync/report"
)

// syncCommand is `crmsync run` and `crmsync plan`.
type syncCommand struct {
	*env
	name string // "run" or "plan"

	ledgerPath string
	reportPath string
	kind       string
	encoding   string
	since      string
	until      string
	json       bool
	allowEmpty bool // -allow-empty: no input file is not a problem
	lang       string
	config     string
	reportDir  string // from the config file
	send       sendFlags
	log        logFlags
}

// sendFlags are the flags of commands that send.
type sendFlags struct {
	cfg         *fileConfig // set by applyConfig
	concurrency int
	rate        float64
	timeout     time.Duration
	retries     int
	baseURL     string
	sandbox     bool
}

func (f *sendFlags) register(fs *flag.FlagSet) {
	fs.IntVar(&f.concurrency, "concurrency", 8, "members sent in parallel")
	fs.Float64Var(&f.rate, "rate", 0, "requests per second for all workers together (0: unlimited)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of one request")
	fs.IntVar(&f.retries, "retries", 3, "retries of a request after a transient failure")
	fs.StringVar(&f.baseURL, "base-url", "", "Mallcoo base `URL` (default $MALLCOO_BASE_URL or https://openapi10.mallcoo.cn)")
	fs.BoolVar(&f.sandbox, "sandbox", false, "start the fake Mallcoo API in-process and send there (the demo)")
}

func (c *syncCommand) flags() *flag.FlagSet {
	fs := c.newFlags(c.name)
	fs.StringVar(&c.ledgerPath, "ledger", "crmsync.db", "the ledger `file` (SQLite)")
	fs.StringVar(&c.reportPath, "report", "", "the report `file` (default reports/<command>-<run>.xlsx)")
	fs.StringVar(&c.kind, "kind", "", "read every file as this `kind` ("+crmsync.KindList()+")")
	fs.StringVar(&c.encoding, "encoding", "auto", "CSV encoding: auto, utf-8, gbk or gb18030")
	fs.StringVar(&c.since, "since", "", "only events at or after this `date` (yyyy-mm-dd[ hh:mm:ss], China time)")
	fs.StringVar(&c.until, "until", "", "only events before this `date`")
	fs.StringVar(&c.config, "config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	c.send.register(fs)
	c.log.register(fs)
	fs.BoolVar(&c.allowEmpty, "allow-empty", false, "finding no input file is not a problem (exit 0, for setups with quiet nights)")
	fs.BoolVar(&c.json, "json", false, "print the run summary as JSON on stdout")
	fs.StringVar(&c.lang, "lang", "zh", "report language: zh or en")
	return fs
}

// noInput is the file problem of a run that found no input file in paths.
func noInput(paths []string) crmsync.FileSummary {
	where := strings.Join(paths, " ")
	return crmsync.FileSummary{Path: where, Problem: fmt.Sprintf(
		"没有找到导入文件(%s 中没有 CSV 或 XLSX 文件):请检查CRM导出是否完成;没有数据的夜晚属正常时用 -allow-empty / "+
			"no input file found in %s (no CSV or XLSX file): check that the CRM export ran; use -allow-empty where nights without files are normal", where, where)}
}

// Run runs the command and returns its exit code; err is printed by main.
func (c *syncCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.flags()
	if err := parse(fs, args); err != nil {
		return crmsync.ExitUsage, err
	}
	if err := c.log.apply(c.env); err != nil {
		return crmsync.ExitUsage, err
	}
	cfg, err := c.applyConfig(fs, c.config)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	c.send.cfg = cfg
	if c.reportPath == "" && cfg.ReportDir != "" {
		c.reportDir = cfg.ReportDir
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return crmsync.ExitUsage, usagef("name at least one FILE or DIR to read")
	}
	var kind crmsync.Kind
	if c.kind != "" {
		k, err := crmsync.ParseKind(c.kind)
		if err != nil {
			return crmsync.ExitUsage, usagef("-kind: %v", err)
		}
		kind = k
	}
	if err := checkRunSettings(c.encoding, c.lang, &c.send); err != nil {
		return crmsync.ExitUsage, err
	}
	since, err := parseDate(c.since)
	if err != nil {
		return crmsync.ExitUsage, usagef("-since: %v", err)
	}
	until, err := parseDate(c.until)
	if err != nil {
		return crmsync.ExitUsage, usagef("-until: %v", err)
	}
	files, err := importer.Expand(paths)
	if err != nil {
		return crmsync.ExitUsage, usagef("%v", err)
	}
	if err := checkReport(c.reportPath, true, append(append(files, ledgerFiles(c.ledgerPath)...), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}

	var sender *mallcoo.Client
	if c.name == "run" {
		s, closeAPI, err := c.send.client(c.env)
		if err != nil {
			return crmsync.ExitFailed, err
		}
		defer closeAPI()
		sender = s
	}

	l, err := ledger.Open(ctx, c.ledgerPath)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer l.Close()
	unlock, err := l.Lock("crmsync " + c.name)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer unlock()

	started := time.Now()
	runID, err := l.BeginRun(ctx, c.name, args, started)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	s := crmsync.NewSummary(runID, c.name, started)
	prog := newProgress(c.env, c.json)
	job := &pipeline.Job{
		Reader:      cfg.reader(c.encoding, kind),
		Ledger:      l,
		Concurrency: c.send.concurrency,
		Since:       since,
		Until:       until,
		Logger:      c.logger,
		Progress:    prog.update,
		MaxRows:     cfg.maxRowsPerRun(),
		// Score events whose delivery is uncertain are resent without a
		// person only when the mall confirmed Mallcoo refuses or ignores
		// a repeated TransID.
		ResendUncertainScores: cfg.ScoreResendUncertain,
	}
	if !c.json || c.terminal {
		job.Rows = importer.CountRows(ctx, files)
	}
	if sender != nil {
		job.Sender = sender
	}
	runErr := job.Run(ctx, runID, files, s)
	if len(files) == 0 {
		if c.allowEmpty {
			c.logger.Info("no CSV or XLSX files found (-allow-empty)", "paths", strings.Join(paths, " "))
		} else {
			// A failed CRM export must raise an alarm, not pass as a quiet night.
			s.Files = append(s.Files, noInput(paths))
		}
	}
	prog.done()
	if sender != nil {
		s.Requests = int(sender.Requests())
	}

	code, err := c.finish(ctx, l, s, c.defaultReport(c.reportPath, c.reportDir, s), c.lang, c.json, runErr)
	if c.name == "run" {
		c.autoPrune(ctx, l, cfg)
	}
	return code, err
}

// finish records the end of a run, writes its report and prints its
// summary, whatever happened: an operator needs the report most when
// something went wrong. It returns the exit code.
func (e *env) finish(ctx context.Context, l *ledger.Ledger, s *crmsync.Summary, reportPath, lang string, jsonOut bool, runErr error) (int, error) {
	after := context.WithoutCancel(ctx)
	s.Ended = time.Now()
	s.DurationS = s.Ended.Sub(s.Started).Seconds()
	s.Interrupt = ctx.Err() != nil
	s.Report = reportPath
	prog := newProgress(e, jsonOut)
	repCtx, cancel := graceContext(ctx, e.reportGrace)
	problems, repErr := report.Write(repCtx, s.Report, s, l, report.Options{Lang: lang, Progress: prog.update})
	cancel()
	prog.done()
	if repErr != nil {
		if errors.Is(repErr, context.Canceled) {
			e.logger.Error("report not written: interrupted", "report", s.Report, "then", fmt.Sprintf("crmsync report %d writes it", s.RunID))
		} else {
			e.logger.Error("report not written", "report", s.Report, "err", repErr)
		}
		s.Report = ""
	}
	s.Problems = problems
	status, why := ledger.RunDone, ""
	switch {
	case s.Interrupt:
		status, why = ledger.RunInterrupted, ledger.ReasonInterrupted
	case runErr != nil:
		status, why = ledger.RunFailed, runErr.Error()
	case repErr != nil:
		status, why = ledger.RunFailed, "write report: "+repErr.Error()
	}
	if err := l.EndRunAs(after, s, status, why); err != nil && runErr == nil {
		runErr = err
	}
	e.printSummary(s, jsonOut)

	switch {
	case s.Interrupt:
		return crmsync.ExitInterrupted, nil
	case runErr != nil:
		return crmsync.ExitFailed, runErr
	case repErr != nil:
		return crmsync.ExitFailed, fmt.Errorf("write report %s: %w", s.Report, repErr)
	}
	return s.ExitCode(), nil
}

// defaultReportGrace is how long the report of an interrupted run may take
// after the interrupt: a small report is written whole, a huge one (a
// million rows takes minutes) stops within seconds of SIGTERM, so a service
// manager's stop is not followed by minutes of work. crmsync report RUN-ID
// writes it later from the ledger.
const defaultReportGrace = 5 * time.Second

// graceContext is the context of the work done after a run (its report):
// not cancelled with ctx, but grace after ctx is (0: defaultReportGrace).
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	if grace <= 0 {
		grace = defaultReportGrace
	}
	after, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(after, func() { t.Stop() })
	})
	return after, func() { stop(); cancel() }
}

// client builds the Mallcoo client: the in-process fake with -sandbox, else
// the real API with credentials from the environment.
func (f *sendFlags) client(e *env) (*mallcoo.Client, func(), error) {
	retries := f.retries
	if retries == 0 {
		retries = -1 // mallcoo.Config: 0 is the default, -1 none
	}
	cfg := mallcoo.Config{
		Timeout:     f.timeout,
		Retries:     retries,
		Rate:        f.rate,
		Concurrency: f.concurrency,
		Logger:      e.logger,
	}
	if f.cfg != nil {
		cfg.AlreadyDelivered = f.cfg.AlreadyDeliveredCodes
		cfg.SystemicCodes = f.cfg.SystemicCodes
		cfg.ResendUncertainScores = f.cfg.ScoreResendUncertain
	}
	closeAPI := func() {}
	if f.sandbox {
		srv := mallcootest.NewServer(mallcootest.Options{MaxRecorded: 1000})
		closeAPI = srv.Close
		cfg.BaseURL = srv.URL
		cfg.Credentials = mallcootest.Sandbox
		e.logger.Info("sandbox: sending to the fake Mallcoo API in-process", "url", srv.URL)
	} else {
		creds, err := e.credentials(f.cfg)
		if err != nil {
			return nil, nil, err
		}
		cfg.Credentials = creds
		cfg.BaseURL = f.baseURL
	}
	cl, err := mallcoo.NewClient(cfg)
	if err != nil {
		closeAPI()
		return nil, nil, err
	}
	return cl, closeAPI, nil
}

// credentials reads the Mallcoo credentials from the environment.
func (e *env) credentials(cfg *fileConfig) (mallcoo.Credentials, error) {
	cr, _, err := e.resolveCredentials(cfg)
	if err != nil {
		return cr, err
	}
	if err := cr.Check(); err != nil {
		return cr, fmt.Errorf("%w (or run with -sandbox to try the fake API; crmsync config shows where each setting comes from)", err)
	}
	return cr, nil
}

func (e *env) printSummary(s *crmsync.Summary, jsonOut bool) {
	if jsonOut {
		enc := json.NewEncoder(e.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		enc.Encode(s)
		return
	}
	if e.logJSON {
		// One line a log collector can parse, like every other stderr line.
		e.logger.Info("crmsync "+s.Command+" finished", "summary", s)
		return
	}
	w := e.stderr
	fmt.Fprintf(w, "crmsync %s: run %d: %d rows in %.1fs", s.Command, s.RunID, s.Rows, s.DurationS)
	if s.Command != "plan" {
		fmt.Fprintf(w, ", %d requests", s.Requests)
	}
	fmt.Fprintln(w)
	for _, o := range crmsync.Outcomes {
		if n := s.Counts[o]; n > 0 {
			fmt.Fprintf(w, "  %-10s %d\n", o, n)
		}
	}
	for _, f := range s.Files {
		if f.Problem != "" {
			name := f.Path
			if f.Sheet != "" {
				name += " [" + f.Sheet + "]"
			}
			fmt.Fprintf(w, "  file problem: %s: %s\n", name, f.Problem)
		} else if f.Skipped != "" {
			fmt.Fprintf(w, "  sheet skipped: %s [%s]: %s\n", f.Path, f.Sheet, f.Skipped)
		}
	}
	if s.Stopped != "" {
		fmt.Fprintf(w, "  sending stopped: %s\n", s.Stopped)
	}
	if s.Report != "" {
		fmt.Fprintf(w, "  report:   %s\n", s.Report)
	}
	if s.Problems != "" {
		fmt.Fprintf(w, "  problems: %s (fix the cells and run crmsync on it)\n", s.Problems)
	}
}

// defaultReport returns the report path: -report, else
// <dir>/<command>-<run>.xlsx with dir from the config file or "reports".
func (e *env) defaultReport(path, dir string, s *crmsync.Summary) string {
	if path != "" {
		return path
	}
	if dir == "" {
		dir = "reports"
	}
	return filepath.Join(dir, fmt.Sprintf("%s-%d.xlsx", s.Command, s.RunID))
}

// parseDate reads a -since/-until value in China Standard Time.
func parseDate(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{"2006-01-02", "2006-01-02 15:04:05", "2006-01-02T15:04:05", "2006-01-02 15:04"} {
		if t, err := time.ParseInLocation(layout, s, mallcoo.CST); err == nil {
			return t, nil
		}
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	return time.Time{}, errors.New("want a date like 2024-11-01 or 2024-11-01 10:00:00 (China time)")
}
