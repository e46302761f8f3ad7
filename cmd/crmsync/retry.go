package main

import (
	"context"
	"encoding/json"
	"fmt"
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
	// Failed events, blocked ones whose blocker clears (or goes now), and
	// with -uncertain the held ones. With the lock held, events in flight
	// are a dead run's: BeginRun makes them uncertain.
	states := []crmsync.State{crmsync.StateFailed, crmsync.StateBlocked}
	if c.uncertain {
		states = append(states, crmsync.StateUncertain, crmsync.StateInFlight)
	}
	if evs, held, err := pipeline.Sendable(ctx, l, states, nil); err != nil {
		return crmsync.ExitFailed, err
	} else if len(evs) == 0 {
		return c.nothingToSend(ctx, l, held)
	}
	started := time.Now()
	runID, err := l.BeginRun(ctx, "retry", args, started)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	evs, held, err := pipeline.Sendable(ctx, l, states, nil)
	for _, h := range held {
		c.logger.Info("still held", "kind", h.Kind, "key", h.Key, "behind", h.By, "state", h.ByState)
	}
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

// nothingToSend says that retry has nothing it can send, and what is still
// held and why; no run is recorded and no report written. The exit code is
// 3 while the backlog holds anything (it needs a person), else 0.
func (c *retryCommand) nothingToSend(ctx context.Context, l *ledger.Ledger, held []pipeline.HeldBack) (int, error) {
	o, err := l.Outstanding(ctx, 20)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	if c.json {
		type heldJSON struct {
			Kind    crmsync.Kind  `json:"kind"`
			Key     string        `json:"key"`
			State   crmsync.State `json:"state"`
			Reason  string        `json:"reason"`
			By      string        `json:"behind"`
			ByState crmsync.State `json:"behind_state"`
		}
		hs := []heldJSON{}
		for _, h := range held {
			hs = append(hs, heldJSON{h.Kind, h.Key, h.State, h.Reason(), h.By, h.ByState})
		}
		enc := json.NewEncoder(c.stdout)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		enc.Encode(struct {
			Nothing     bool                `json:"nothing_to_send"`
			Held        []heldJSON          `json:"held"`
			Outstanding *ledger.Outstanding `json:"outstanding"`
		}{true, hs, o})
	} else {
		w := c.stderr
		fmt.Fprintln(w, "crmsync retry: nothing to send; no report written")
		for i, h := range held {
			if i == 50 {
				fmt.Fprintf(w, "  … and %d more\n", len(held)-i)
				break
			}
			fmt.Fprintf(w, "  %s %s (%s): %s\n", h.Kind, h.Key, h.State, h.Reason())
		}
		if o.Total > 0 {
			fmt.Fprintf(w, "  outstanding: %d", o.Total)
			for _, st := range outstandingStates {
				if n := o.ByState[st]; n > 0 {
					fmt.Fprintf(w, " %s=%d", st, n)
				}
			}
			fmt.Fprintln(w, " (crmsync status lists them; uncertain ones: check Mallcoo, then crmsync retry -uncertain)")
		}
	}
	if o.Total > 0 {
		return crmsync.ExitNeedsPerson, nil
	}
	return crmsync.ExitOK, nil
}
