package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/importer"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/report"
)

// Options are the settings of one run (run, plan or retry) as Run drives
// it from start to end.
type Options struct {
	Command string   // "run", "plan" or "retry"
	Args    []string // the command line, recorded with the run
	Ledger  string   // the ledger file
	// LedgerOptions say how the ledger is opened: its file mode when
	// created, and whether a missing one is refused.
	LedgerOptions ledger.Options
	// Mall names the mall, for the summary and the report. The ledger
	// remembers the first mall a run names and refuses another
	// (*ledger.MallError); empty is any ledger's.
	Mall string

	// Job is the run's job: Run fills in its Ledger. A Job without a
	// Sender is a plan.
	Job *Job

	// Files are the input files of run and plan, already expanded; Paths
	// are the FILE|DIR arguments they came from. Finding no file is a file
	// problem of the run unless AllowEmpty. CountRows counts the files'
	// rows first, for the progress total.
	Files      []string
	Paths      []string
	AllowEmpty bool
	CountRows  bool

	// Retry sends events from the ledger instead of files: those that
	// failed, and with Uncertain those held as uncertain too.
	Retry     bool
	Uncertain bool
	// Apply, when set, is a plan run whose new rows are sent from the
	// ledger (crmsync apply): no file is read.
	Apply int64
	// Retention, when positive, prunes per-row results of runs that ended
	// longer ago than that once a run or apply has ended.
	Retention time.Duration

	// Report is the report file; empty: <ReportDir>/<mall>-<command>-<run>.xlsx
	// (ReportPath; ReportDir default "reports"). Lang is the report's language.
	Report    string
	ReportDir string
	Lang      string
	// Results is the per-row results CSV; empty:
	// <ResultsDir>/<mall>-<command>-<run>-results.csv, or none when ResultsDir is
	// empty too.
	Results    string
	ResultsDir string
	// ReportOptions are the report's other options (masking, file mode);
	// Run sets their Lang and Progress.
	ReportOptions report.Options
	// ReportGrace is how long the report may go on after ctx is cancelled
	// (0: DefaultReportGrace).
	ReportGrace time.Duration

	// Progress, when set, is told of every stage's progress (the job's
	// "read" and "send", then the report's), and ProgressDone of a stage's
	// end.
	Progress     func(stage string, done, total int)
	ProgressDone func()
	// Requests, when set, says how many requests were made, for the
	// summary.
	Requests func() int
	Logger   *slog.Logger

	// Notifiers are told how the run ended once it has (Announce), the run
	// that never began too; NoticeLang is the notice's language when Lang
	// is empty (the config's).
	Notifiers  []Notifier
	NoticeLang string
}

// ReportError is a run's report that could not be written; the run itself
// is recorded. Err (report.Write's) names the report file.
type ReportError struct {
	Path string
	Err  error
}

func (e *ReportError) Error() string { return e.Err.Error() }
func (e *ReportError) Unwrap() error { return e.Err }

// Run drives one run from start to end: open the ledger, take its lock,
// begin the run, run the job, write the report and end the run. The report
// is written and the run ended whatever happened to the job: an operator
// needs the report most when something went wrong. The summary is nil only
// when the run could not begin; otherwise it says what happened, and
// Summary.Interrupt that ctx was cancelled. The error is the run-level
// trouble, or a *ReportError when only the report failed. Once the run has
// ended in the ledger, opt.Notifiers are told, with ExitCode's exit code.
func Run(ctx context.Context, opt Options) (*crmsync.Summary, error) {
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	mall := opt.Mall // the config's
	s, err := run(ctx, opt)
	runErr := err
	var nts *NothingToSend
	if errors.As(err, &nts) || s != nil && s.Interrupt {
		// Nothing to send is no failure; an interrupt is its own exit code.
		runErr = nil
	}
	Announce(ctx, opt.Notifiers, mall, cmp.Or(opt.Lang, opt.NoticeLang), opt.Command, s, ExitCode(s, err), runErr, opt.Logger)
	return s, err
}

// ExitCode is the exit code of a run, plan, retry or apply that Run ended
// with s and err: ExitInterrupted when it was interrupted, ExitFailed when it
// failed or never began, else the summary's (Summary.ExitCode). Retry with
// nothing to send is ExitNeedsPerson while the backlog holds anything, else
// ExitOK. The notice states it and the process exits with it.
func ExitCode(s *crmsync.Summary, err error) int {
	var nts *NothingToSend
	switch {
	case errors.As(err, &nts):
		if nts.Outstanding != nil && nts.Outstanding.Total > 0 {
			return crmsync.ExitNeedsPerson
		}
		return crmsync.ExitOK
	case s == nil:
		return crmsync.ExitFailed
	case s.Interrupt:
		return crmsync.ExitInterrupted
	case err != nil:
		return crmsync.ExitFailed
	}
	return s.ExitCode()
}

// run is Run without the notice.
func run(ctx context.Context, opt Options) (*crmsync.Summary, error) {
	l, err := ledger.OpenWith(ctx, opt.Ledger, opt.LedgerOptions)
	if err != nil {
		return nil, err
	}
	defer l.Close()
	unlock, err := l.Lock("crmsync " + opt.Command)
	if err != nil {
		return nil, err
	}
	defer unlock()
	// The ledger's mall: the config's must be it (the first one named is
	// recorded); a config naming none runs as the ledger's mall.
	if opt.Mall, err = l.UseMall(ctx, opt.Mall); err != nil {
		return nil, err
	}
	if opt.Apply > 0 {
		// Under the lock: an apply that ended meanwhile counts.
		apps, err := l.Applications(ctx)
		if err != nil {
			return nil, err
		}
		if a, ok := ledger.AppliedBy(apps[opt.Apply]); ok {
			return nil, &ledger.PlanAppliedError{Plan: opt.Apply, Run: a.Run, At: a.Started}
		}
	}
	if opt.Retry {
		// A dead run's events in flight are uncertain now, whether or not
		// retry records a run (BeginRun does it too).
		if err := l.Recover(ctx); err != nil {
			return nil, err
		}
		// Nothing retry can send: no run is recorded, no report written.
		evs, held, err := Sendable(ctx, l, retryStates(opt.Uncertain), nil)
		if err != nil {
			return nil, err
		}
		if len(evs) == 0 {
			o, err := l.Outstanding(ctx, 20)
			if err != nil {
				return nil, err
			}
			return nil, &NothingToSend{Held: held, Outstanding: o}
		}
	}
	started := time.Now().In(mallcoo.CST) // the summary's times read as the reports' and logs'

	runID, err := l.BeginRun(ctx, opt.Command, opt.Args, started)
	if err != nil {
		return nil, err
	}
	s := crmsync.NewSummary(runID, opt.Command, started)
	s.Mall, s.Ledger = opt.Mall, l.Path()
	job := opt.Job
	job.Ledger = l
	if job.Progress == nil {
		job.Progress = opt.Progress
	}
	var runErr error
	var live *report.Live
	if opt.Apply == 0 && !opt.Retry {
		// The report of a plan (or of a run that sends nothing) is fed its
		// rows as they are recorded: a big one reads back only the rows
		// that need a person.
		live = report.NewLive(job.tempDir(), report.Options{ShowPersonal: opt.ReportOptions.ShowPersonal, Lang: opt.Lang})
		defer live.Close()
	}
	job.Live = live
	if opt.Apply > 0 {
		runErr = job.Apply(ctx, runID, opt.Apply, l, s)
	} else if opt.Retry {
		runErr = retry(ctx, job, l, opt.Uncertain, runID, s, opt.Logger)
	} else {
		if opt.CountRows {
			job.Rows = importer.CountRows(ctx, opt.Files)
		}
		runErr = job.Run(ctx, runID, opt.Files, s)
		if runErr != nil || ctx.Err() != nil {
			live.Drop() // what was recorded is read back
		}
		if len(opt.Files) == 0 {
			if opt.AllowEmpty {
				opt.Logger.Info("no CSV or XLSX files found (-allow-empty)", "paths", strings.Join(opt.Paths, " "))
			} else {
				// A failed CRM export must raise an alarm, not pass as a quiet night.
				s.Files = append(s.Files, NoInput(opt.Paths))
			}
		}
	}
	if opt.ProgressDone != nil {
		opt.ProgressDone()
	}
	if opt.Requests != nil {
		s.Requests = opt.Requests()
	}
	err = finish(ctx, l, s, &opt, live, runErr)
	if opt.Retention > 0 && (opt.Command == "run" || opt.Command == "apply") {
		prune(ctx, l, opt.Retention, opt.Logger)
	}
	return s, err
}

// prune drops the per-row results of runs that ended longer ago than keep;
// trouble is logged, never the run's failure.
func prune(ctx context.Context, l *ledger.Ledger, keep time.Duration, log *slog.Logger) {
	if ctx.Err() != nil {
		return // interrupted: leave quickly
	}
	p, err := l.Prune(ctx, time.Now().Add(-keep))
	if err != nil {
		log.Warn("not pruned", "err", err)
		return
	}
	if p.Runs > 0 {
		log.Info("pruned per-row results of old runs", "runs", p.Runs, "results", p.Results, "kept", p.Kept)
	}
}

// retryStates are the ledger states retry sends from: failed events,
// blocked ones whose blocker clears (or goes now), and with uncertain the
// held ones. With the lock held, events in flight are a dead run's:
// BeginRun makes them uncertain.
func retryStates(uncertain bool) []crmsync.State {
	states := []crmsync.State{crmsync.StateFailed, crmsync.StateBlocked}
	if uncertain {
		states = append(states, crmsync.StateUncertain, crmsync.StateInFlight)
	}
	return states
}

// NothingToSend is Run's answer to a retry that found nothing it can send:
// what is still held and why, and the outstanding backlog. No run was
// recorded.
type NothingToSend struct {
	Held        []HeldBack
	Outstanding *ledger.Outstanding
}

func (e *NothingToSend) Error() string { return "nothing to send" }

// retry sends what the ledger holds that can go now, in lane order.
func retry(ctx context.Context, job *Job, l *ledger.Ledger, uncertain bool, runID int64, s *crmsync.Summary, log *slog.Logger) error {
	evs, held, err := Sendable(ctx, l, retryStates(uncertain), nil)
	if err != nil {
		return err
	}
	if len(held) > 0 {
		// Counts only above debug: a key may hold a member's card ID.
		log.Info("still held behind earlier events (crmsync status lists them)", "events", len(held))
	}
	for _, h := range held {
		log.Debug("still held", "kind", h.Kind, "key", h.Key, "behind", h.By, "state", h.ByState)
	}
	return job.Retry(ctx, runID, evs, s)
}

// NoInput is the file problem of a run that found no input file in paths.
func NoInput(paths []string) crmsync.FileSummary {
	where := strings.Join(paths, " ")
	return crmsync.FileSummary{Path: where, Code: importer.ProblemNoInput, Problem: crmsync.Say(
		fmt.Sprintf("没有找到导入文件(%s 中没有 CSV 或 XLSX 文件):请检查CRM导出是否完成;没有数据的夜晚属正常时用 -allow-empty", where),
		fmt.Sprintf("no input file found in %s (no CSV or XLSX file): check that the CRM export ran; use -allow-empty where nights without files are normal", where))}
}

// finish writes the run's report and records the end of the run. It
// returns runErr, else the end's error, else a *ReportError.
func finish(ctx context.Context, l *ledger.Ledger, s *crmsync.Summary, opt *Options, live *report.Live, runErr error) error {
	after := context.WithoutCancel(ctx)
	s.Ended = time.Now().In(mallcoo.CST)
	s.DurationS = s.Ended.Sub(s.Started).Seconds()
	s.Interrupt = ctx.Err() != nil
	s.Report = ReportPath(opt.Report, opt.ReportDir, s)
	repCtx, cancel := graceContext(ctx, opt.ReportGrace)
	ro := opt.ReportOptions
	ro.Lang, ro.Progress, ro.Live = opt.Lang, opt.Progress, live
	if !ro.ShowPersonal {
		// Masked before it is logged, stored as the run's reason, told
		// (notify) and printed.
		runErr = maskEventError(runErr)
	}
	// The results CSV asked for, or beside the report when the report
	// lists only the rows that need a person (report_rows): written in the
	// report's pass over the results.
	ro.Results = report.ResultsPath(s.Report, s, report.Options{Results: ResultsPath(opt.Results, opt.ResultsDir, s), ReportRows: ro.ReportRows})
	results := ro.Results
	problems, repErr := report.Write(repCtx, s.Report, s, l, ro)
	var resErr *report.ResultsError
	if errors.As(repErr, &resErr) {
		// Only the results CSV failed: the report again without it, with
		// every row listed, so no row is left without a listing.
		ro.Results, ro.ReportRows = "", -1
		problems, repErr = report.Write(repCtx, s.Report, s, l, ro)
	}
	cancel()
	if opt.ProgressDone != nil {
		opt.ProgressDone()
	}
	if repErr != nil {
		repErr = &ReportError{Path: s.Report, Err: repErr}
		if errors.Is(repErr, context.Canceled) {
			opt.Logger.Error("report not written: interrupted", "report", s.Report, "then", fmt.Sprintf("crmsync report %d writes it", s.RunID))
		} else {
			opt.Logger.Error("report not written", "report", s.Report, "err", repErr.(*ReportError).Err)
		}
		s.Report = ""
	}
	s.Problems = problems
	switch {
	case resErr != nil:
		opt.Logger.Error("results not written", "results", results, "err", resErr.Err)
		if repErr == nil {
			repErr = &ReportError{Path: results, Err: resErr}
		}
	case results != "" && repErr != nil:
		// The report failed: the results CSV on its own.
		resCtx, cancel := graceContext(ctx, opt.ReportGrace)
		err := report.WriteResults(resCtx, results, s, l, ro)
		cancel()
		if err != nil {
			opt.Logger.Error("results not written", "results", results, "err", err)
		} else {
			opt.Logger.Info("results written", "results", results)
		}
	case results != "":
		opt.Logger.Info("results written", "results", results)
	}
	status, why := ledger.RunDone, ""
	switch {
	case s.Interrupt:
		status, why = ledger.RunInterrupted, ledger.ReasonInterrupted.String()
	case runErr != nil:
		status, why = ledger.RunFailed, runErr.Error()
	case repErr != nil:
		status, why = ledger.RunFailed, "write report: "+repErr.Error()
	case !s.Stopped.IsZero():
		status, why = ledger.RunFailed, s.Stopped.String()
	}
	if err := l.EndRunAs(after, s, status, why); err != nil && runErr == nil {
		runErr = err
	}
	if runErr != nil {
		return runErr
	}
	return repErr
}

// ResultsPath returns where a run's results CSV goes: path, else
// <dir>/<name>-<command>-<run>-results.csv (name as for ReportPath, and
// never an existing file's), else "" (none).
func ResultsPath(path, dir string, s *crmsync.Summary) string {
	if path != "" {
		return path
	}
	if dir != "" {
		return freeName(filepath.Join(dir, RunName(s)), "-results.csv", func(p string) []string { return []string{p} })
	}
	return ""
}

// ReportPath returns a run's report path: path, else
// <dir>/<name>-<command>-<run>.xlsx with dir default "reports", where name
// is the mall's (RunName). A default name is never an existing file's: when
// that report or its problems workbook exists already (another ledger of
// the same mall, a file a person keeps), "-2", "-3", … is added, so two
// ledgers in one folder never overwrite each other's reports.
func ReportPath(path, dir string, s *crmsync.Summary) string {
	if path != "" {
		return path
	}
	if dir == "" {
		dir = "reports"
	}
	return freeName(filepath.Join(dir, RunName(s)), ".xlsx", func(p string) []string { return []string{p, report.ProblemsPath(p)} })
}

// AgainPath is where crmsync report RUN-ID writes a past run's report
// again by default: reports/<name>-<command>-<run>-again.xlsx, never an
// existing file's (as ReportPath).
func AgainPath(s *crmsync.Summary) string {
	return freeName(filepath.Join("reports", RunName(s)+"-again"), ".xlsx", func(p string) []string { return []string{p, report.ProblemsPath(p)} })
}

// RunName is the name of a run's outputs: the mall's, else the ledger
// file's without its extension, else "crmsync", made safe for a file name,
// then the command and the run ID: "万象城-run-7", "crmsync-run-7".
func RunName(s *crmsync.Summary) string {
	name := fileSafe(s.Mall)
	if name == "" && s.Ledger != "" {
		base := filepath.Base(s.Ledger)
		name = fileSafe(strings.TrimSuffix(base, filepath.Ext(base)))
	}
	if name == "" {
		name = "crmsync"
	}
	return fmt.Sprintf("%s-%s-%d", name, s.Command, s.RunID)
}

// fileSafe makes s usable as (part of) a file name on Linux, Windows and
// macOS: path separators, characters Windows refuses, control characters
// and spaces become "_"; leading and trailing dots and "_" go, and the
// name is kept to 64 characters.
func fileSafe(s string) string {
	var b strings.Builder
	n := 0
	for _, r := range strings.TrimSpace(s) {
		if n == 64 {
			break
		}
		if r < ' ' || r == 0x7f || unicode.IsSpace(r) || strings.ContainsRune(`/\:*?"<>|`, r) {
			r = '_'
		}
		b.WriteRune(r)
		n++
	}
	return strings.Trim(b.String(), "._")
}

// freeName returns base+ext, or base-2+ext, base-3+ext, … the first whose
// files (taken(path)) do not exist.
func freeName(base, ext string, taken func(string) []string) string {
	for i := 1; ; i++ {
		p := base + ext
		if i > 1 {
			p = fmt.Sprintf("%s-%d%s", base, i, ext)
		}
		free := true
		for _, f := range taken(p) {
			if _, err := os.Lstat(f); !errors.Is(err, fs.ErrNotExist) {
				free = false
				break
			}
		}
		if free {
			return p
		}
	}
}

// DefaultReportGrace is how long the report of an interrupted run may take
// after the interrupt: a small report is written whole, a huge one (a
// million rows takes minutes) stops within seconds of SIGTERM, so a service
// manager's stop is not followed by minutes of work. crmsync report RUN-ID
// writes it later from the ledger.
const DefaultReportGrace = 5 * time.Second

// graceContext is the context of the work done after a run (its report):
// not cancelled with ctx, but grace after ctx is (0: DefaultReportGrace).
func graceContext(ctx context.Context, grace time.Duration) (context.Context, context.CancelFunc) {
	if grace <= 0 {
		grace = DefaultReportGrace
	}
	after, cancel := context.WithCancel(context.WithoutCancel(ctx))
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(grace, cancel)
		context.AfterFunc(after, func() { t.Stop() })
	})
	return after, func() { stop(); cancel() }
}
