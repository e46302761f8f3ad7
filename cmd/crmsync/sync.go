package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/mallcoo/mallcootest"
	"github.com/crmsync/crmsync/pipeline"
	"github.com/crmsync/crmsync/report"
)

// syncCommand is `crmsync run` and `crmsync plan`.
type syncCommand struct {
	*env
	name string // "run" or "plan"
	runFlags

	kind       string
	encoding   csvEncoding
	since      string
	until      string
	allowEmpty bool   // -allow-empty: no input file is not a problem
	reportDir  string // from the config file
}

// runFlags are the flags of the commands that run the pipeline: run, plan,
// retry and apply.
type runFlags struct {
	ledgerPath string
	reportPath string
	json       bool
	language   lang
	config     string
	send       sendFlags
	log        logFlags
}

// register registers f on fs; report says the -report default.
func (f *runFlags) register(fs *flag.FlagSet, report string) {
	fs.StringVar(&f.ledgerPath, "ledger", "crmsync.db", "the ledger `file` (SQLite)")
	fs.StringVar(&f.reportPath, "report", "", "the report `file` (default "+report+")")
	fs.BoolVar(&f.json, "json", false, "print the run summary as JSON on stdout")
	f.language.register(fs)
	fs.StringVar(&f.config, "config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	f.send.register(fs)
	f.log.register(fs)
}

func (l *lang) register(fs *flag.FlagSet) {
	*l = "zh"
	fs.Var(l, "lang", "language of the report and the terminal messages: zh or en")
}

func (e *csvEncoding) register(fs *flag.FlagSet) {
	*e = "auto"
	fs.Var(e, "encoding", "CSV encoding: auto, utf-8, gbk or gb18030")
}

// sendFlags are the flags of commands that send.
type sendFlags struct {
	cfg         *fileConfig // set by applyConfig
	concurrency concurrency
	rate        rate
	timeout     timeout
	retries     retries
	baseURL     baseURL
	sandbox     bool
}

func (f *sendFlags) register(fs *flag.FlagSet) {
	f.concurrency, f.timeout, f.retries = 8, timeout(10*time.Second), 3
	fs.Var(&f.concurrency, "concurrency", "members sent in parallel")
	fs.Var(&f.rate, "rate", "requests per second for all workers together (0: unlimited)")
	fs.Var(&f.timeout, "timeout", "timeout of one request")
	fs.Var(&f.retries, "retries", "retries of a request after a transient failure")
	fs.Var(&f.baseURL, "base-url", "Mallcoo base `URL` (default $MALLCOO_BASE_URL or https://openapi10.mallcoo.cn)")
	fs.BoolVar(&f.sandbox, "sandbox", false, "start the fake Mallcoo API in-process and send there (the demo)")
}

func (c *syncCommand) flags() *flag.FlagSet {
	fs := c.newFlags(c.name)
	c.runFlags.register(fs, "reports/<mall>-<command>-<run>.xlsx; <mall>: the ledger file's name when no mall is set")
	fs.StringVar(&c.kind, "kind", "", "read every file as this `kind` ("+crmsync.KindList()+")")
	c.encoding.register(fs)
	fs.StringVar(&c.since, "since", "", "only events at or after this `date` (yyyy-mm-dd[ hh:mm:ss], China time)")
	fs.StringVar(&c.until, "until", "", "only events before this `date`")
	fs.BoolVar(&c.allowEmpty, "allow-empty", false, "finding no input file is not a problem (exit 0, for setups with quiet nights)")
	fs.StringVar(&c.resultsPath, "results", "", "also write every row's outcome to this CSV `file` (default: results_dir of the config, else none)")
	return fs
}

// Run runs the command and returns its exit code; err is printed by main.
func (c *syncCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.flags()
	cfg, code, err := c.parseSending(fs, args, &c.runFlags)
	if err != nil {
		return code, err
	}
	if err := c.resultsSettings(cfg); err != nil {
		return crmsync.ExitUsage, err
	}
	if c.reportPath == "" && cfg.ReportDir != "" {
		c.reportDir = cfg.ReportDir
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return crmsync.ExitUsage, usagef("name at least one FILE or DIR to read")
	}
	kind, since, until, files, err := readInputs(c.kind, c.since, c.until, paths)
	if err != nil {
		return crmsync.ExitUsage, err
	}
	if err := checkReport(c.reportPath, true, append(append(files, ledgerFiles(c.ledgerPath)...), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}
	if err := checkResults(c.resultsPath, append(append(files, ledgerFiles(c.ledgerPath)...), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}

	opt := pipeline.Options{
		Command: c.name,
		Args:    args,
		Ledger:  c.ledgerPath,
		// A missing ledger is refused (crmsync init creates one), but the
		// sandbox starts from nothing.
		LedgerOptions: c.ledgerOptions(c.send.sandbox),
		Mall:          cfg.Mall,
		ReportOptions: cfg.reportOptions(),
		Job: &pipeline.Job{
			Reader:      cfg.reader(string(c.encoding), kind, c.allowEmpty),
			Concurrency: int(c.send.concurrency),
			Since:       since,
			Until:       until,
			Logger:      c.logger,
			MaxRows:     cfg.maxRowsPerRun(),
			// Score events whose delivery is uncertain are resent without a
			// person only when the mall confirmed Mallcoo refuses or ignores
			// a repeated TransID.
			ResendUncertainScores: cfg.ScoreResendUncertain,
		},
		Retention:  cfg.retention(c.logger),
		Files:      files,
		Paths:      paths,
		AllowEmpty: c.allowEmpty,
		CountRows:  !c.json || c.terminal,
		Report:     c.reportPath,
		ReportDir:  c.reportDir,
		Lang:       string(c.language),
	}
	if c.name == "run" {
		sender, closeAPI, err := c.send.client(c.env)
		if err != nil {
			return crmsync.ExitFailed, err
		}
		defer closeAPI()
		opt.Job.Sender = sender
		opt.Requests = func() int { return int(sender.Requests()) }
	}
	return c.runPipeline(ctx, opt, c.json)
}

// runPipeline runs opt with the command's progress display, prints the
// summary and returns the exit code.
func (e *env) runPipeline(ctx context.Context, opt pipeline.Options, jsonOut bool) (int, error) {
	prog := newProgress(e, jsonOut)
	opt.Progress, opt.ProgressDone = prog.update, prog.done
	opt.ReportGrace = e.reportGrace
	opt.Logger = e.logger
	opt.Results, opt.ResultsDir = e.resultsPath, e.resultsDir
	e.warnReadable(opt.Ledger, "the ledger", e.cfg.fileMode())
	e.runLang = opt.Lang // the language of a refusal too (errorText)
	opt.Notifiers = e.notifiers()
	if e.cfg != nil {
		opt.NoticeLang = string(e.cfg.Lang)
	}
	e.ran = true // the pipeline notifies from here on
	s, err := pipeline.Run(ctx, opt)
	code := pipeline.ExitCode(s, err)
	if nts, ok := asNothingToSend(err); ok {
		if err := e.maskNothingToSend(ctx, opt.Ledger, nts); err != nil {
			return crmsync.ExitFailed, err
		}
		e.nothingToSend(nts, jsonOut)
		return code, nil
	}
	if s == nil {
		return code, err
	}
	if s.Report != "" {
		e.warnReadable(filepath.Dir(s.Report), "the report folder", e.cfg.fileMode())
	}
	e.printSummary(s, jsonOut, opt.Lang)
	if s.Interrupt {
		return code, nil
	}
	return code, err
}

// parseSending parses the flags of a command that runs the pipeline, then
// applies its log flags and the config file (-config); code is the exit code
// of err.
func (e *env) parseSending(fs *flag.FlagSet, args []string, f *runFlags) (cfg *fileConfig, code int, err error) {
	if err := parse(fs, args); err != nil {
		return nil, crmsync.ExitUsage, err
	}
	if err := f.log.apply(e); err != nil {
		return nil, crmsync.ExitUsage, err
	}
	cfg, err = e.applyConfig(fs, f.config)
	if err != nil {
		return nil, crmsync.ExitFailed, err
	}
	f.send.cfg = cfg
	return cfg, 0, nil
}

// client builds the Mallcoo client: the in-process fake with -sandbox, else
// the real API with credentials from the environment.
func (f *sendFlags) client(e *env) (*mallcoo.Client, func(), error) {
	retries := int(f.retries)
	if retries == 0 {
		retries = -1 // mallcoo.Config: 0 is the default, -1 none
	}
	cfg := mallcoo.Config{
		Timeout:     time.Duration(f.timeout),
		Retries:     retries,
		Rate:        float64(f.rate),
		Concurrency: int(f.concurrency),
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
		cfg.BaseURL = string(f.baseURL)
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

// termCauses is how many causes the terminal shows after a run.
const termCauses = 5

func (e *env) printSummary(s *crmsync.Summary, jsonOut bool, lang string) {
	if jsonOut {
		printJSON(e.stdout, s)
		return
	}
	if e.logJSON {
		// One line a log collector can parse, like every other stderr line.
		e.logger.Info("crmsync "+s.Command+" finished", "summary", s)
		return
	}
	w := e.stderr
	t := func(zh, en string) string { return tr(lang, zh, en) }
	fmt.Fprintf(w, t("crmsync %s:第 %d 次运行,%d 行,用时 %.1f 秒", "crmsync %s: run %d: %d rows in %.1fs"), s.Command, s.RunID, s.Rows, s.DurationS)
	if s.Command != "plan" {
		fmt.Fprintf(w, t(",%d 次请求", ", %d requests"), s.Requests)
	}
	fmt.Fprintln(w)
	if s.Mall != "" {
		fmt.Fprintf(w, t("  商场:%s\n", "  mall:     %s\n"), s.Mall)
	}
	for _, o := range crmsync.Outcomes {
		if n := s.Counts[o]; n > 0 {
			fmt.Fprintf(w, "  %s %d\n", pad(o.Word(lang), 10), n)
		}
	}
	for _, f := range s.Files {
		if !f.Problem.IsZero() {
			name := f.Path
			if f.Sheet != "" {
				name += " [" + f.Sheet + "]"
			}
			fmt.Fprintf(w, t("  文件问题:%s:%s\n", "  file problem: %s: %s\n"), name, f.Problem.In(lang))
		} else if !f.Skipped.IsZero() {
			fmt.Fprintf(w, t("  跳过工作表:%s [%s]:%s\n", "  sheet skipped: %s [%s]: %s\n"), f.Path, f.Sheet, f.Skipped.In(lang))
		}
		for _, warn := range f.Warnings {
			fmt.Fprintf(w, t("  文件警告:%s:%s\n", "  file warning: %s: %s\n"), f.Path, warn.In(lang))
		}
	}
	if !s.Stopped.IsZero() {
		fmt.Fprintf(w, t("  发送已停止:%s\n", "  sending stopped: %s\n"), s.Stopped.In(lang))
	}
	if s.Report != "" {
		fmt.Fprintf(w, t("  报告:%s\n", "  report:   %s\n"), s.Report)
	}
	if len(s.Causes) > 0 {
		fmt.Fprintln(w, t("  主要原因:", "  top causes:"))
		for i, c := range s.Causes {
			if i == termCauses {
				fmt.Fprintf(w, t("    … 另有 %d 类原因,见报告的汇总页\n", "    … %d more causes on the report's summary sheet\n"), len(s.Causes)-i)
				break
			}
			fmt.Fprintf(w, "    %6d  %s\n", c.Count, c.Text)
			if c.Fix != "" {
				fmt.Fprintf(w, "            → %s\n", c.Fix)
			}
		}
	}
	for _, o := range crmsync.Outcomes {
		if step := report.NextStep(o, !s.Stopped.IsZero(), lang); s.Counts[o] > 0 && step != "" {
			fmt.Fprintf(w, "  %s → %s\n", pad(o.Word(lang), 10), step)
		}
	}
	if s.Problems != "" {
		fmt.Fprintf(w, t("  待处理文件:%s\n", "  problems: %s\n"), s.Problems)
	}
}

// readInputs reads the flags that choose what is read — -kind, -since,
// -until — and expands the paths to files. Its error is a usage error.
func readInputs(kindFlag, sinceFlag, untilFlag string, paths []string) (kind crmsync.Kind, since, until time.Time, files []string, err error) {
	if kindFlag != "" {
		if kind, err = crmsync.ParseKind(kindFlag); err != nil {
			return kind, since, until, nil, usagef("-kind: %v", err)
		}
	}
	if since, until, err = parseWindow(sinceFlag, untilFlag); err != nil {
		return kind, since, until, nil, err
	}
	if files, err = importer.Expand(paths); err != nil {
		return kind, since, until, nil, usagef("%v", err)
	}
	return kind, since, until, files, nil
}

// parseWindow reads -since and -until (either may be empty); -until must
// come after -since. Its error is a usage error naming the flag.
func parseWindow(sinceFlag, untilFlag string) (since, until time.Time, err error) {
	if since, err = parseDate(sinceFlag); err != nil {
		return since, until, usagef("-since: %v", err)
	}
	if until, err = parseDate(untilFlag); err != nil {
		return since, until, usagef("-until: %v", err)
	}
	if !since.IsZero() && !until.IsZero() && !until.After(since) {
		return since, until, usagef("-until %s is not after -since %s", untilFlag, sinceFlag)
	}
	return since, until, nil
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

// resultsSettings checks -results and takes results_dir from the config.
func (e *env) resultsSettings(cfg *fileConfig) error {
	if e.resultsPath != "" && !strings.EqualFold(filepath.Ext(e.resultsPath), ".csv") {
		return usagef("-results %s: the results are CSV; give the file a name ending in .csv", e.resultsPath)
	}
	e.resultsDir = cfg.ResultsDir
	return nil
}
