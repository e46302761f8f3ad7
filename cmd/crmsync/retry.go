package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/pipeline"
	"github.com/crmsync/crmsync/report"
)

// retryCommand resends events the ledger holds as failed and, with
// -uncertain, those held as uncertain once a person has checked Mallcoo.
type retryCommand struct {
	*env
	runFlags
	uncertain bool
}

func (c *retryCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("retry")
	c.runFlags.register(fs, "reports/<mall>-retry-<run>.xlsx")
	fs.BoolVar(&c.uncertain, "uncertain", false, "also resend events held as uncertain (only after checking Mallcoo did not get them)")
	fs.StringVar(&c.resultsPath, "results", "", "also write every row's outcome to this CSV `file` (default: results_dir of the config, else none)")
	cfg, code, err := c.parseSending(fs, args, &c.runFlags)
	if err != nil {
		return code, err
	}
	if err := c.resultsSettings(cfg); err != nil {
		return crmsync.ExitUsage, err
	}
	if fs.NArg() > 0 {
		return crmsync.ExitUsage, usagef("retry takes no files (it resends from the ledger); use run for files")
	}
	if err := checkReport(c.reportPath, true, append(ledgerFiles(c.ledgerPath), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}
	if err := checkResults(c.resultsPath, append(ledgerFiles(c.ledgerPath), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}
	sender, closeAPI, err := c.send.client(c.env)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer closeAPI()
	return c.runPipeline(ctx, pipeline.Options{
		Command:       "retry",
		Args:          args,
		Ledger:        c.ledgerPath,
		LedgerOptions: c.ledgerOptions(c.send.sandbox),
		Mall:          cfg.Mall,
		ReportOptions: cfg.reportOptions(),
		Job:           &pipeline.Job{Sender: sender, Concurrency: int(c.send.concurrency), Logger: c.logger, ResendUncertainScores: cfg.ScoreResendUncertain},
		Retry:         true,
		Uncertain:     c.uncertain,
		Report:        c.reportPath,
		ReportDir:     cfg.ReportDir,
		Lang:          string(c.language),
		Requests:      func() int { return int(sender.Requests()) },
	}, c.json)
}

// maskNothingToSend masks members' card IDs and mobiles in what retry
// lists when it has nothing to send (held events, the events they wait
// for, the outstanding items), as status masks the same lists, unless
// mask_personal = false.
func (e *env) maskNothingToSend(ctx context.Context, path string, nts *pipeline.NothingToSend) error {
	if e.cfg.showPersonal() {
		return nil
	}
	l, err := e.openLedger(ctx, path, false)
	if err != nil {
		return err
	}
	defer l.Close()
	m := report.NewMasker(false)
	if err := maskStatus(ctx, l, m, nil, nts.Outstanding, nil); err != nil {
		return err
	}
	evs := make([]*crmsync.Event, len(nts.Held))
	for i, h := range nts.Held {
		evs[i] = &crmsync.Event{Kind: h.Kind, Key: h.Key}
	}
	priors, err := l.Lookup(ctx, evs)
	if err != nil {
		return fmt.Errorf("look up the bodies of %d held events: %w", len(evs), err)
	}
	for i := range nts.Held {
		h := &nts.Held[i]
		m.Row(h.Kind, priors[i].Body, nil) // the event it waits for is its member's
		h.Key, h.By = m.Text(h.Key), m.Text(h.By)
	}
	return nil
}

// nothingToSend says that retry has nothing it can send, and what is still
// held and why; no run is recorded and no report written (the exit code is
// pipeline.ExitCode's: 3 while the backlog holds anything, else 0).
func (c *env) nothingToSend(nts *pipeline.NothingToSend, jsonOut bool) {
	held, o := nts.Held, nts.Outstanding
	readable(o, c.lang())
	if jsonOut {
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
			hs = append(hs, heldJSON{h.Kind, h.Key, h.State, report.ReasonText(h.Kind, &crmsync.Result{Reason: h.Reason()}, c.lang()), h.By, h.ByState})
		}
		printJSON(c.stdout, struct {
			Nothing     bool                `json:"nothing_to_send"`
			Held        []heldJSON          `json:"held"`
			Outstanding *ledger.Outstanding `json:"outstanding"`
		}{true, hs, o})
	} else {
		w := c.stderr
		lang := c.lang()
		fmt.Fprintln(w, tr(lang, "crmsync retry:没有可发送的事件;未写报告", "crmsync retry: nothing to send; no report written"))
		for i, h := range held {
			if i == 50 {
				fmt.Fprintf(w, tr(lang, "  … 另有 %d 个\n", "  … and %d more\n"), len(held)-i)
				break
			}
			fmt.Fprintf(w, "  %s %s (%s): %s\n", h.Kind, h.Key, h.State, report.ReasonText(h.Kind, &crmsync.Result{Reason: h.Reason()}, lang))
		}
		if o.Total > 0 {
			fmt.Fprintf(w, tr(lang, "  待处理积压:%d", "  outstanding: %d"), o.Total)
			for _, st := range outstandingStates {
				if n := o.ByState[st]; n > 0 {
					fmt.Fprintf(w, " %s=%d", st, n)
				}
			}
			fmt.Fprintln(w, tr(lang, "(crmsync status 列出它们;结果未知的:先在猫酷核实,再 crmsync retry -uncertain)", " (crmsync status lists them; uncertain ones: check Mallcoo, then crmsync retry -uncertain)"))
		}
	}
}

// asNothingToSend reports whether err says a retry had nothing to send.
func asNothingToSend(err error) (*pipeline.NothingToSend, bool) {
	var nts *pipeline.NothingToSend
	ok := errors.As(err, &nts)
	return nts, ok
}
