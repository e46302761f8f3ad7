package main

import (
	"context"
	"time"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/pipeline"
)

// retryCommand resends events the ledger holds as failed and, with
// -uncertain, those held as uncertain once a person has checked Mallcoo.
type retryCommand struct {
	*env
	ledgerPath string
	reportPath string
	uncertain  bool
	json       bool
	lang       string
	config     string
	send       sendFlags
	log        logFlags
}

func (c *retryCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("retry")
	fs.StringVar(&c.ledgerPath, "ledger", "crmsync.db", "the ledger `file` (SQLite)")
	fs.StringVar(&c.reportPath, "report", "", "the report `file` (default reports/retry-<run>.xlsx)")
	fs.BoolVar(&c.uncertain, "uncertain", false, "also resend events held as uncertain (only after checking Mallcoo did not get them)")
	fs.BoolVar(&c.json, "json", false, "print the run summary as JSON on stdout")
	fs.StringVar(&c.lang, "lang", "zh", "report language: zh or en")
	fs.StringVar(&c.config, "config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	fs.StringVar(&c.resultsPath, "results", "", "also write every row's outcome to this CSV `file` (default: results_dir of the config, else none)")
	c.send.register(fs)
	c.log.register(fs)
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
	if err := c.resultsSettings(cfg); err != nil {
		return crmsync.ExitUsage, err
	}
	if fs.NArg() > 0 {
		return crmsync.ExitUsage, usagef("retry takes no files (it resends from the ledger); use run for files")
	}
	if err := checkRunSettings("auto", c.lang, &c.send); err != nil {
		return crmsync.ExitUsage, err
	}
	if err := checkReport(c.reportPath, true, append(ledgerFiles(c.ledgerPath), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}
	sender, closeAPI, err := c.send.client(c.env)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer closeAPI()
	l, err := ledger.Open(ctx, c.ledgerPath)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer l.Close()
	unlock, err := l.Lock("crmsync retry")
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer unlock()
	started := time.Now()
	runID, err := l.BeginRun(ctx, "retry", args, started)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	states := []crmsync.State{crmsync.StateFailed}
	if c.uncertain {
		states = append(states, crmsync.StateUncertain)
	}
	var evs []*crmsync.Event
	err = l.Events(ctx, states, func(ev *crmsync.Event, _ crmsync.Prior) error {
		evs = append(evs, ev)
		return nil
	})
	s := crmsync.NewSummary(runID, "retry", started)
	if err != nil {
		return c.finish(ctx, l, s, c.defaultReport(c.reportPath, cfg.ReportDir, s), c.lang, c.json, err)
	}
	prog := newProgress(c.env, c.json)
	job := &pipeline.Job{Ledger: l, Sender: sender, Concurrency: c.send.concurrency, Logger: c.logger, Progress: prog.update, ResendUncertainScores: cfg.ScoreResendUncertain}
	runErr := job.Retry(ctx, runID, evs, s)
	prog.done()
	s.Requests = int(sender.Requests())
	return c.finish(ctx, l, s, c.defaultReport(c.reportPath, cfg.ReportDir, s), c.lang, c.json, runErr)
}
