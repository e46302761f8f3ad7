package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
)

// env is what a command sees of the outside world; tests run commands
// in-process with their own.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// terminal reports whether stderr is a terminal (live progress line).
	terminal bool
	logger   *slog.Logger
	// logJSON is set by -log-format json: every stderr line is then JSON,
	// the final summary and a command's error included.
	logJSON bool
	// reportGrace is how long a run's report may go on after an
	// interrupt (0: defaultReportGrace).
	reportGrace time.Duration
	// cfg is the configuration a command applied (applyConfig) and runLang
	// its run's language. ran is set once a run, plan, retry or apply
	// reaches pipeline.Run, which notifies; before, the command's failure
	// is announced once it returns.
	cfg     *fileConfig
	runLang string
	ran     bool
	// resultsPath (-results) or resultsDir (results_dir) ask for the
	// per-row results CSV of a run; both "" for none.
	resultsPath, resultsDir string
}

// usageError is a command-line mistake: exit 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

const usage = `crmsync moves offline-CRM exports into the Mallcoo OpenAPI, exactly once.

Usage:
  crmsync init      [-ledger F]          create a ledger, once (every other command refuses a missing one)
  crmsync run       [flags] FILE|DIR...  read, diff, send what is new, write the report
  crmsync plan      [flags] FILE|DIR...  the same without sending: what run would do
  crmsync reconcile [flags] FILE|DIR...  files vs ledger both ways, with finance totals; no network
  crmsync apply     [flags] RUN-ID       send exactly what a reviewed plan found new
  crmsync retry     [flags]              send what the backlog can: failed, blocked whose blocker cleared, resend decisions (-uncertain: held ones too)
  crmsync resolve   [flags] KEY...       record a decision on held events (-kind KIND -as delivered|resend|dismiss [-reason TEXT] [-from FILE])
  crmsync status    [flags]              ledger totals by kind and state; the outstanding backlog; recent runs
  crmsync report    [flags] RUN-ID       regenerate the report of a past run from the ledger
  crmsync prune     [flags]              drop per-row results older than the retention period (-keep 90d), or one member's (-member CARD)
  crmsync template  [flags] [KIND...]    write blank import templates
  crmsync mock      [flags]              serve the fake Mallcoo API (sandbox)
  crmsync config    [flags]              the effective settings (run's flags, env, -config FILE), secrets masked
  crmsync notify    -test [-config F]    send a test message to every [[notify]] destination
  crmsync version

Run "crmsync COMMAND -h" for a command's flags.
Credentials: MALLCOO_APP_ID, MALLCOO_PUBLIC_KEY, MALLCOO_PRIVATE_KEY (or MALLCOO_PRIVATE_KEY_FILE).
Exit codes: 0 all well, 1 run failed, 2 usage, 3 some rows need a person, 130 interrupted.
`

// run is the whole program: it returns the exit code.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv, terminal: isTerminal(stderr)}
	return e.main(ctx, args)
}

func (e *env) main(ctx context.Context, args []string) int {
	if e.logger == nil {
		e.logger = newLogger(e.stderr, false, slog.LevelInfo)
	}
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return crmsync.ExitUsage
	}
	cmd, rest := args[0], args[1:]
	var code int
	var err error
	switch cmd {
	case "run", "plan":
		code, err = (&syncCommand{env: e, name: cmd}).Run(ctx, rest)
	case "reconcile":
		code, err = (&reconcileCommand{env: e}).Run(ctx, rest)
	case "apply":
		code, err = (&applyCommand{env: e}).Run(ctx, rest)
	case "retry":
		code, err = (&retryCommand{env: e}).Run(ctx, rest)
	case "resolve":
		code, err = (&resolveCommand{env: e}).Run(ctx, rest)
	case "prune":
		code, err = (&pruneCommand{env: e}).Run(ctx, rest)
	case "status":
		err = (&statusCommand{env: e}).Run(ctx, rest)
	case "report":
		err = (&reportCommand{env: e}).Run(ctx, rest)
	case "template":
		err = (&templateCommand{env: e}).Run(ctx, rest)
	case "mock":
		err = (&mockCommand{env: e}).Run(ctx, rest)
	case "config":
		err = (&configCommand{env: e}).Run(ctx, rest)
	case "init":
		err = (&initCommand{env: e}).Run(ctx, rest)
	case "notify":
		err = (&notifyCommand{env: e}).Run(ctx, rest)
	case "version", "-version", "--version":
		err = (&versionCommand{env: e}).Run(ctx, rest)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.stdout, usage)
		return crmsync.ExitOK
	default:
		fmt.Fprintf(e.stderr, "crmsync: unknown command %q\n\n%s", cmd, usage)
		return crmsync.ExitUsage
	}
	switch cmd {
	case "run", "plan", "retry", "apply":
		if code != crmsync.ExitUsage && e.cfg != nil && !e.ran {
			e.announce(ctx, cmd, code, err) // the run never reached the pipeline
		}
	}
	var ue *usageError
	switch {
	case errors.Is(err, flag.ErrHelp):
		return crmsync.ExitOK
	case errors.As(err, &ue):
		fmt.Fprintf(e.stderr, "crmsync %s: %s\n", cmd, ue.msg)
		return crmsync.ExitUsage
	case err != nil && e.logJSON:
		e.logger.Error("crmsync "+cmd+" failed", "command", cmd, "err", errorText(err, e.lang()))
		if code == 0 {
			code = crmsync.ExitFailed
		}
	case err != nil:
		fmt.Fprintf(e.stderr, "crmsync %s: %s\n", cmd, errorText(err, e.lang()))
		if code == 0 {
			code = crmsync.ExitFailed
		}
	}
	return code
}

// printJSON writes v to w as indented JSON, the way every command's -json
// prints (no HTML escaping: reasons and paths may hold < > &).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// newFlags returns a flag set that reports mistakes instead of exiting.
func (e *env) newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("crmsync "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() { printHelp(fs.Output(), fs, name) }
	return fs
}

// parse parses args, turning flag mistakes into usage errors.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	if err != nil {
		return false
	}
	return st.Mode()&os.ModeCharDevice != 0
}

// secretFrom reads a credential from the environment: NAME, or the file
// named by NAME_FILE. Both set is an error: one would silently win.
func (e *env) secretFrom(name string) (string, error) {
	v, path := strings.TrimSpace(e.getenv(name)), strings.TrimSpace(e.getenv(name+"_FILE"))
	switch {
	case v != "" && path != "":
		return "", fmt.Errorf("both %s and %s_FILE are set: unset one (better keep the file)", name, name)
	case v != "":
		return v, nil
	case path != "":
		return e.readSecretFile(path, name+"_FILE")
	}
	return "", nil
}

// readSecretFile reads a secret from the file at path, named by what in
// messages, warning when others than its owner may read it.
func (e *env) readSecretFile(path, what string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, pathless(err))
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		e.logger.Warn("the private key file can be read by others than its owner: chmod 0400 it",
			"setting", what, "path", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", what, pathless(err))
	}
	return strings.TrimSpace(string(b)), nil
}

// openLedger opens the existing ledger at path for a command — a missing
// one is refused, and no file is created, unless create is set (crmsync
// init, and -sandbox, which starts from nothing) — and warns when others
// than its owner (and group, with file_mode 0640) may read it: it holds
// members' card IDs, mobiles and purchases.
func (e *env) openLedger(ctx context.Context, path string, create bool) (*ledger.Ledger, error) {
	mode := e.cfg.fileMode()
	l, err := ledger.OpenWith(ctx, path, ledger.Options{FileMode: mode, MustExist: !create})
	if err != nil {
		return nil, err
	}
	e.warnReadable(path, "the ledger", mode)
	return l, nil
}

// readLedger opens the existing ledger at path for a command that only
// reads it (status, report RUN-ID): as openLedger, and where the file, its
// folder or its disk is read-only (an auditor's copy) for reading only,
// as reconcile reads it, rather than refused. A read-only ledger of an
// older schema, which they cannot read as it is (it cannot be taken
// forward), is refused, saying so.
func (e *env) readLedger(ctx context.Context, path string) (*ledger.Ledger, error) {
	l, err := e.openLedger(ctx, path, false)
	var fe *ledger.FileError
	if !errors.As(err, &fe) || fe.Problem != ledger.ProblemReadOnly {
		return l, err
	}
	ro, rerr := ledger.OpenReadOnly(ctx, path)
	if rerr != nil {
		return nil, rerr
	}
	have, rerr := ro.Schema(ctx)
	if rerr == nil && have < ledger.SchemaVersion() {
		rerr = fmt.Errorf("%w; it is of schema %d, older than this crmsync's %d, which only a writable ledger is taken forward to: open it once writable (any crmsync command), or read it with crmsync reconcile, which reads it as it is", err, have, ledger.SchemaVersion())
	}
	if rerr != nil {
		ro.Close()
		return nil, rerr
	}
	return ro, nil
}

// warnReadable warns when path can be read by more people than mode
// allows, naming the chmod that fixes it.
func (e *env) warnReadable(path, what string, mode os.FileMode) {
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() && !fi.IsDir() {
		return // a device or pipe is refused where it is opened: no chmod of /dev/null
	}
	want := mode.Perm()
	if fi.IsDir() {
		want |= (want & 0o444) >> 2
	}
	if extra := fi.Mode().Perm() &^ want; extra&0o077 != 0 {
		e.logger.Warn(what+" can be read by others: it holds members' personal data",
			"path", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()), "fix", fmt.Sprintf("chmod %04o %s", want, path))
	}
}

// ledgerOptions are how a command opens its ledger: with the configured
// file mode, and refusing a missing one unless create (-sandbox).
func (e *env) ledgerOptions(create bool) ledger.Options {
	return ledger.Options{FileMode: e.cfg.fileMode(), MustExist: !create}
}
