package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/mallcoo"
	"github.com/crmsync/crmsync/pipeline"
	"github.com/crmsync/crmsync/report"
)

// reconcileCommand is `crmsync reconcile`: the files against the ledger,
// both ways, with finance totals (pipeline.Reconcile); no network, no run
// lock.
type reconcileCommand struct {
	*env

	ledgerPath string
	reportPath string
	kind       string
	encoding   csvEncoding
	since      string
	until      string
	json       bool
	lang       lang
	config     string
}

// reconcileJSON is what -json prints.
type reconcileJSON struct {
	Matched    int                   `json:"matched"`
	Mismatched int                   `json:"mismatched"`
	Missing    int                   `json:"missing"`
	Orphans    int                   `json:"orphans"`
	Invalid    int                   `json:"invalid"`    // duplicates included
	Duplicates int                   `json:"duplicates"` // keys met again in the files
	Fixed      int                   `json:"fixed"`      // matched: bad rows whose fixed version was delivered
	Skipped    int                   `json:"skipped"`    // outside -since/-until
	TiesOut    bool                  `json:"ties_out"`
	RunActive  bool                  `json:"run_active,omitempty"`
	Windows    []reconcileWindow     `json:"windows"`
	Files      []crmsync.FileSummary `json:"files"`
	Totals     *report.Totals        `json:"-"` // printed after the rest, one by one
	Report     string                `json:"report"`
	DurationS  float64               `json:"duration_s"`
}

type reconcileWindow struct {
	Kind  crmsync.Kind `json:"kind"`
	Since string       `json:"since"`
	Until string       `json:"until"`
}

// Run runs the command and returns its exit code; err is printed by main.
func (c *reconcileCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("reconcile")
	fs.StringVar(&c.ledgerPath, "ledger", "crmsync.db", "the ledger `file` (SQLite), read only")
	fs.StringVar(&c.reportPath, "report", "", "the reconciliation `file` (default reports/reconcile-<time>.xlsx)")
	fs.StringVar(&c.kind, "kind", "", "read every file as this `kind` ("+crmsync.KindList()+")")
	c.encoding.register(fs)
	fs.StringVar(&c.since, "since", "", "compare events at or after this `date` (default: the files' first day, China time)")
	fs.StringVar(&c.until, "until", "", "compare events before this `date` (default: the day after the files' last)")
	fs.StringVar(&c.config, "config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	fs.BoolVar(&c.json, "json", false, "print the counts and totals as JSON on stdout")
	c.lang.register(fs)
	if err := parse(fs, args); err != nil {
		return crmsync.ExitUsage, err
	}
	cfg, err := c.applyConfig(fs, c.config)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	paths := fs.Args()
	if len(paths) == 0 {
		return crmsync.ExitUsage, usagef("name at least one FILE or DIR to reconcile")
	}
	c.runLang = string(c.lang)
	kind, since, until, files, err := readInputs(c.kind, c.since, c.until, paths)
	if err != nil {
		return crmsync.ExitUsage, err
	}
	if err := checkReport(c.reportPath, false, append(append(files, ledgerFiles(c.ledgerPath)...), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}
	if len(files) == 0 {
		c.logger.Warn("no CSV or XLSX files found", "paths", strings.Join(paths, " "))
	}
	rec, err := pipeline.Reconcile(ctx, pipeline.ReconcileOptions{
		Ledger:        c.ledgerPath,
		Mall:          cfg.Mall,
		Reader:        cfg.reader(string(c.encoding), kind, cfg.AllowEmpty),
		Files:         files,
		Since:         since,
		Until:         until,
		Report:        c.reportPath,
		ReportDir:     cfg.ReportDir,
		Lang:          string(c.lang),
		ReportOptions: cfg.reportOptions(),
		Logger:        c.logger,
	})
	if err != nil {
		return exitFor(ctx), err
	}
	out := reconcileJSON{
		Matched:    rec.Counts[crmsync.CategoryMatched],
		Mismatched: rec.Counts[crmsync.CategoryMismatched],
		Missing:    rec.Counts[crmsync.CategoryMissing],
		Orphans:    rec.Counts[crmsync.CategoryOrphan],
		Invalid:    rec.Counts[crmsync.CategoryInvalid],
		Duplicates: rec.Duplicates,
		Fixed:      rec.Fixed,
		Skipped:    rec.Counts[crmsync.CategorySkipped],
		TiesOut:    rec.TiesOut(),
		RunActive:  rec.RunActive,
		Files:      rec.Files,
		Totals:     rec.Totals,
		Report:     rec.Report,
		DurationS:  time.Since(rec.Started).Seconds(),
		Windows:    []reconcileWindow{},
	}
	if out.Files == nil {
		out.Files = []crmsync.FileSummary{}
	}
	for _, w := range rec.Windows {
		out.Windows = append(out.Windows, reconcileWindow{Kind: w.Kind, Since: w.Since.In(mallcoo.CST).Format(time.DateTime), Until: w.Until.In(mallcoo.CST).Format(time.DateTime)})
	}
	c.printReconcile(&out)
	if !out.TiesOut {
		return crmsync.ExitNeedsPerson, nil
	}
	return crmsync.ExitOK, nil
}

// exitFor is the exit code of a reconciliation stopped by err: interrupted
// when ctx was cancelled, else failed.
func exitFor(ctx context.Context) int {
	if ctx.Err() != nil {
		return crmsync.ExitInterrupted
	}
	return crmsync.ExitFailed
}

func (c *reconcileCommand) printReconcile(out *reconcileJSON) {
	if c.json {
		c.printReconcileJSON(out)
		return
	}
	w, lang := c.stderr, string(c.lang)
	t := func(zh, en string) string { return tr(lang, zh, en) }
	verdict := t("全部一致", "ties out")
	if !out.TiesOut {
		verdict = t("需要人工处理", "needs a person")
	}
	fmt.Fprintf(w, t("crmsync reconcile:%s(用时 %.1f 秒)\n", "crmsync reconcile: %s (%.1fs)\n"), verdict, out.DurationS)
	for _, kv := range []struct {
		c crmsync.Category
		n int
	}{{crmsync.CategoryMatched, out.Matched}, {crmsync.CategoryMismatched, out.Mismatched}, {crmsync.CategoryMissing, out.Missing},
		{crmsync.CategoryOrphan, out.Orphans}, {crmsync.CategoryInvalid, out.Invalid}, {crmsync.CategorySkipped, out.Skipped}} {
		if kv.n > 0 || kv.c != crmsync.CategorySkipped {
			fmt.Fprintf(w, "  %s %d\n", pad(report.CategoryName(kv.c, lang), 10), kv.n)
		}
	}
	if out.Duplicates > 0 {
		fmt.Fprintf(w, t("  (无效行中 %d 行的键与文件中前面的行重复)\n", "  (%d of the invalid rows repeat a key met earlier in the files)\n"), out.Duplicates)
	}
	if out.Fixed > 0 {
		fmt.Fprintf(w, t("  (一致的行中 %d 行是已送达修正版本的错误行)\n", "  (%d of the matched rows are bad rows whose fixed version was delivered)\n"), out.Fixed)
	}
	if differ := out.Totals.Differ(); differ > 0 {
		fmt.Fprintf(w, t("  营业日×商户×类型合计:%d 行(共 %d 行)不一致\n", "  totals differ on %d of %d day × shop × kind lines\n"), differ, out.Totals.Len())
	}
	for _, f := range out.Files {
		if !f.Problem.IsZero() {
			fmt.Fprintf(w, t("  文件问题:%s:%s\n", "  file problem: %s: %s\n"), f.Path, f.Problem.In(lang))
		}
	}
	if out.RunActive {
		fmt.Fprintln(w, t("  对账时有运行占用账本:运行结束后再对账一次,得到最终数字", "  a run held the ledger meanwhile: reconcile again when it ends for final figures"))
	}
	fmt.Fprintf(w, t("  报告:%s\n", "  report:   %s\n"), out.Report)
}

// printReconcileJSON prints out as one indented JSON object whose last
// member is "totals". The totals (a line per day × shop × kind: a year of
// 300 shops is 100,000 lines) are encoded one at a time, so the output is
// never held in memory whole.
func (c *reconcileCommand) printReconcileJSON(out *reconcileJSON) {
	head, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		fmt.Fprintf(c.stderr, "crmsync reconcile: %v\n", err)
		return
	}
	w := bufio.NewWriterSize(c.stdout, 1<<16)
	defer w.Flush()
	head = bytes.TrimRight(head, "}\n ")
	w.Write(head)
	w.WriteString(",\n  \"totals\": [")
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	for i := range out.Totals.Len() {
		if i > 0 {
			w.WriteByte(',')
		}
		w.WriteString("\n    ")
		buf.Reset()
		t := out.Totals.At(i)
		enc.Encode(&t)
		w.Write(bytes.TrimRight(buf.Bytes(), "\n"))
	}
	if out.Totals.Len() > 0 {
		w.WriteString("\n  ")
	}
	w.WriteString("]\n}\n")
}
