package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/crmsync/crmsync"
	"github.com/crmsync/crmsync/ledger"
	"github.com/crmsync/crmsync/pipeline"
)

// applyCommand sends exactly what a reviewed plan found new:
// crmsync apply [flags] RUN-ID. Exit codes as run.
type applyCommand struct {
	*env
	runFlags
}

func (c *applyCommand) Run(ctx context.Context, args []string) (int, error) {
	fs := c.newFlags("apply")
	c.runFlags.register(fs, "reports/<mall>-apply-<run>.xlsx")
	cfg, code, err := c.parseSending(fs, args, &c.runFlags)
	if err != nil {
		return code, err
	}
	if fs.NArg() != 1 {
		return crmsync.ExitUsage, usagef("name one RUN-ID: the plan run to apply (crmsync status lists recent runs)")
	}
	planID, perr := strconv.ParseInt(fs.Arg(0), 10, 64)
	if perr != nil || planID <= 0 {
		return crmsync.ExitUsage, usagef("RUN-ID %q: want a run number (crmsync status lists recent runs)", fs.Arg(0))
	}
	if err := checkReport(c.reportPath, true, append(ledgerFiles(c.ledgerPath), cfg.path)...); err != nil {
		return crmsync.ExitUsage, err
	}
	if err := c.checkPlan(ctx, planID); err != nil {
		return exitOf(err), err
	}
	sender, closeAPI, err := c.send.client(c.env)
	if err != nil {
		return crmsync.ExitFailed, err
	}
	defer closeAPI()
	return c.runPipeline(ctx, pipeline.Options{
		Command:       "apply",
		Args:          args,
		Ledger:        c.ledgerPath,
		LedgerOptions: c.ledgerOptions(false),
		Mall:          cfg.Mall,
		ReportOptions: cfg.reportOptions(),
		Job:           &pipeline.Job{Sender: sender, Concurrency: int(c.send.concurrency), Logger: c.logger, ResendUncertainScores: cfg.ScoreResendUncertain},
		Apply:         planID,
		Retention:     cfg.retention(c.logger),
		Report:        c.reportPath,
		ReportDir:     cfg.ReportDir,
		Lang:          string(c.language),
		Requests:      func() int { return int(sender.Requests()) },
	}, c.json)
}

// checkPlan says whether run planID is a plan whose results the ledger
// still holds: a usage error when it is another command's run, or a plan
// an apply run already applied to its end (one interrupted, failed or dead
// may be applied again: it sends only what is still new).
func (c *applyCommand) checkPlan(ctx context.Context, planID int64) error {
	l, err := ledger.OpenWith(ctx, c.ledgerPath, c.ledgerOptions(false))
	if err != nil {
		return err
	}
	defer l.Close()
	plan, err := l.Summary(ctx, planID)
	if err != nil {
		return err
	}
	if plan.Command != "plan" {
		return usagef("run %d is a %s, not a plan: apply sends what a plan found new", planID, plan.Command)
	}
	apps, err := l.Applications(ctx)
	if err != nil {
		return err
	}
	if a, ok := ledger.AppliedBy(apps[planID]); ok {
		return usagef("%v", &ledger.PlanAppliedError{Plan: planID, Run: a.Run, At: a.Started})
	}
	if at, err := l.RunPruned(ctx, planID); err != nil {
		return err
	} else if !at.IsZero() {
		return fmt.Errorf("plan run %d: %w on %s (retention): plan the files again", planID, ledger.ErrPruned, at.Format("2006-01-02"))
	}
	return nil
}

// exitOf is the exit code of a command's error: 2 for a usage error, else 1.
func exitOf(err error) int {
	var ue *usageError
	if errors.As(err, &ue) {
		return crmsync.ExitUsage
	}
	return crmsync.ExitFailed
}
