package main

import (
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
)

// help is what a subcommand's -h says: its usage line with arguments, a
// paragraph of what it does, its flags (hide: flags it accepts but does not
// use, kept for scripts), and an example.
type help struct {
	usage, about, example string
	hide                  []string
}

// sendOnly are the flags that matter only when sending.
var sendOnly = []string{"concurrency", "rate", "timeout", "retries", "base-url", "sandbox"}

var helps = map[string]help{
	"run": {
		usage: "crmsync run [flags] FILE|DIR...",
		about: "Reads the CRM export files (CSV or XLSX; a DIR is read for every such file in it), checks every row, " +
			"compares it with the ledger and sends to Mallcoo only the events not sent before. Writes the run report " +
			"and, when some rows need a person, a problems workbook beside it: fix its marked cells and run crmsync on it. " +
			"Exit 3 when some rows or files need a person.",
		example: "crmsync run -ledger /var/lib/crmsync/crmsync.db -results out/results.csv /data/crm/2024-11-01/",
	},
	"plan": {
		usage: "crmsync plan [flags] FILE|DIR...",
		about: "Does what run does but sends nothing: reads and checks every row and compares it with the ledger, " +
			"then reports what run would send (new), what is unchanged and what needs a person. No network.",
		example: "crmsync plan -ledger /var/lib/crmsync/crmsync.db /data/crm/2024-11-01/",
		hide:    append(slices.Clone(sendOnly), "v"),
	},
	"retry": {
		usage: "crmsync retry [flags]",
		about: "Resends from the ledger the events whose sending failed (no answer from Mallcoo). With -uncertain also " +
			"the events held as uncertain, which may have arrived: check in Mallcoo first that they did not. Reads no files.",
		example: "crmsync retry -ledger /var/lib/crmsync/crmsync.db",
	},
	"reconcile": {
		usage: "crmsync reconcile [flags] FILE|DIR...",
		about: "Compares the files with the ledger both ways (rows never sent, sent with other content, sent but in no file) " +
			"and totals the amounts and points, for finance. Sends nothing; no network.",
		example: "crmsync reconcile -ledger crmsync.db -since 2024-11-01 -until 2024-12-01 -report reconcile-2024-11.xlsx /data/crm/",
	},
	"status": {
		usage:   "crmsync status [flags]",
		about:   "Prints the ledger's totals by kind and state and its recent runs.",
		example: "crmsync status -ledger /var/lib/crmsync/crmsync.db",
	},
	"prune": {
		usage: "crmsync prune [flags]",
		about: "Deletes the per-row results of runs that ended before the retention period (-keep, else the config's " +
			"retention), or with -member CARD every per-row result of one member, on their request. Runs, their " +
			"summaries, the events (what prevents sending twice) and what an outstanding item needs stay.",
		example: "crmsync prune -ledger /var/lib/crmsync/crmsync.db -member 201710000009",
	},
	"report": {
		usage: "crmsync report [flags] RUN-ID",
		about: "Writes the report (and problems workbook) of a past run again from the ledger, e.g. in the other language " +
			"or after an interrupted run left none.",
		example: "crmsync report -ledger crmsync.db -lang en -report run-7-en.xlsx 7",
	},
	"template": {
		usage: "crmsync template [flags] [KIND...]",
		about: "Writes blank import templates (XLSX and CSV) for the kinds named, or for every kind: the columns crmsync " +
			"reads, with their rules and an example row.",
		example: "crmsync template -dir templates score member",
	},
	"mock": {
		usage: "crmsync mock [flags]",
		about: "Serves the fake Mallcoo API (the sandbox) for trying crmsync without the real one; point base_url or " +
			"MALLCOO_BASE_URL at it.",
		example: "crmsync mock -addr 127.0.0.1:8080",
	},
	"version": {
		usage:   "crmsync version",
		about:   "Prints the version, the commit and the Go version crmsync was built with.",
		example: "crmsync version",
	},
}

// printHelp writes the -h text of subcommand name.
func printHelp(w io.Writer, fs *flag.FlagSet, name string) {
	h, ok := helps[name]
	fs = plainFlags(fs)
	if !ok {
		fmt.Fprintf(w, "Usage of crmsync %s:\n", name)
		fs.PrintDefaults()
		return
	}
	fmt.Fprintf(w, "Usage: %s\n\n%s\n\nFlags:\n", h.usage, wrapText(h.about, 78))
	fs.VisitAll(func(f *flag.Flag) {
		if slices.Contains(h.hide, f.Name) {
			return
		}
		kind, usage := flag.UnquoteUsage(f)
		line := "  -" + f.Name
		if kind != "" {
			line += " " + kind
		}
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", line, strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
	fmt.Fprintf(w, "\nExample:\n  %s\n", h.example)
}

// wrapText breaks text into lines of at most width bytes, at spaces.
func wrapText(text string, width int) string {
	var b strings.Builder
	n := 0
	for _, word := range strings.Fields(text) {
		if n > 0 && n+1+len(word) > width {
			b.WriteByte('\n')
			n = 0
		} else if n > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(word)
		n += len(word)
	}
	return b.String()
}

// plainFlags is fs for its help: the flags of a setting's type (config.go)
// as flags of the flag package's own types, which it names (-rate float).
func plainFlags(fs *flag.FlagSet) *flag.FlagSet {
	plain := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	plain.SetOutput(fs.Output())
	fs.VisitAll(func(f *flag.Flag) {
		switch f.Value.(type) {
		case *concurrency, *retries:
			plain.Int(f.Name, 0, f.Usage)
		case *rate:
			plain.Float64(f.Name, 0, f.Usage)
		case *timeout:
			plain.Duration(f.Name, 0, f.Usage)
		case *lang, *csvEncoding:
			plain.String(f.Name, "", f.Usage)
		default:
			plain.Var(f.Value, f.Name, f.Usage)
		}
		plain.Lookup(f.Name).DefValue = f.DefValue
	})
	return plain
}
