package main

import (
	"flag"
	"log/slog"
)

// logFlags are -log-format and -v, shared by the commands that run.
type logFlags struct {
	format  string
	verbose bool
}

func (f *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.format, "log-format", "text", "log format on stderr: text or json")
	fs.BoolVar(&f.verbose, "v", false, "log every request (signed headers masked)")
}

// apply replaces e's logger as the flags ask.
func (f *logFlags) apply(e *env) error {
	level := slog.LevelInfo
	if f.verbose {
		level = slog.LevelDebug
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f.format {
	case "text":
		e.logger = slog.New(slog.NewTextHandler(e.stderr, opts))
	case "json":
		e.logger = slog.New(slog.NewJSONHandler(e.stderr, opts))
	default:
		return usagef("-log-format %q: want text or json", f.format)
	}
	return nil
}
