package main

import (
	"flag"
	"io"
	"log/slog"

	"github.com/crmsync/crmsync/mallcoo"
)

// logFlags are -log-format and -v, shared by the commands that run.
type logFlags struct {
	format  string
	verbose bool
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "log-format", "text", "log format on stderr: text or json (json: every line, the final summary included)")
	fs.BoolVar(&f.verbose, "v", false, "troubleshooting: log every request with its body — members' card IDs, mobiles and purchases — at debug level (signed headers masked)")
}

// apply replaces e's logger as the flags ask.
func (f *logFlags) apply(e *env) error {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	switch f.format {
	case "text", "json":
	default:
		return usagef("-log-format %q: want text or json", f.format)
	}
	e.logJSON = f.format == "json"
	e.logger = newLogger(e.stderr, e.logJSON, level)
	return nil
}

// newLogger returns the logger of a command: text or JSON lines on w,
// stamped in China time (+08:00) like the status, the reports and the lock
// message, whatever the machine's zone.
func newLogger(w io.Writer, json bool, level slog.Level) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: chinaTime}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// chinaTime writes the record's time in China Standard Time.
func chinaTime(groups []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey && len(groups) == 0 && a.Value.Kind() == slog.KindTime {
		a.Value = slog.TimeValue(a.Value.Time().In(mallcoo.CST))
	}
	return a
}
