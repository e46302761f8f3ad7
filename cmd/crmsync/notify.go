package main

import (
	"cmp"
	"context"
	"fmt"
	"time"

	"github.com/crmsync/crmsync/notify"
	"github.com/crmsync/crmsync/pipeline"
)

// notifyCommand is `crmsync notify -test`: a test message to every
// destination the config names, so a new robot or mailbox is known to work
// before the first night.
type notifyCommand struct{ *env }

func (c *notifyCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("notify")
	test := fs.Bool("test", false, "send a test message to every configured destination")
	config := fs.String("config", "", "settings `file` (TOML); default $CRMSYNC_CONFIG")
	var language lang // "": the config's
	fs.Var(&language, "lang", "message language: zh or en (default: the config's lang, else zh)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*test {
		return usagef("say -test: crmsync notify -test sends a test message to every [[notify]] destination")
	}
	path := *config
	if path == "" {
		path = c.getenv("CRMSYNC_CONFIG")
	}
	if path == "" {
		return usagef("name the config file that holds the [[notify]] destinations: -config FILE (or $CRMSYNC_CONFIG)")
	}
	cfg, err := loadConfig(path)
	if err != nil {
		return err
	}
	dests, err := notify.NewAll(cfg.Notify)
	if err != nil {
		return fmt.Errorf("config %s: %w", cfg.path, err)
	}
	if len(dests) == 0 {
		return fmt.Errorf("no [[notify]] destination in %s: add one (see the README, Notifications)", cfg.path)
	}
	n := notify.Test(cfg.Mall, string(cmp.Or(language, cfg.Lang)), time.Now())
	failed := 0
	for _, d := range dests {
		if err := d.Send(ctx, n); err != nil {
			failed++
			c.logger.Error("test message not delivered", "destination", d.Name(), "err", err)
			continue
		}
		c.logger.Info("test message delivered", "destination", d.Name())
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d destinations did not take the test message (see above)", failed, len(dests))
	}
	return nil
}

// notifiers are the config's [[notify]] destinations, for the pipeline to
// tell how a run ended; none without a config.
func (e *env) notifiers() []pipeline.Notifier {
	if e.cfg == nil || len(e.cfg.Notify) == 0 {
		return nil
	}
	dests, err := notify.NewAll(e.cfg.Notify)
	if err != nil { // checked when the config was read; kept for safety
		e.logger.Error("notifications not sent", "err", err)
		return nil
	}
	ns := make([]pipeline.Notifier, len(dests))
	for i, d := range dests {
		ns[i] = d
	}
	return ns
}

// announce tells the config's destinations that a run, plan, retry or
// apply failed before it reached the pipeline (pipeline.Announce).
func (e *env) announce(ctx context.Context, command string, code int, runErr error) {
	if ns := e.notifiers(); len(ns) > 0 {
		pipeline.Announce(ctx, ns, e.cfg.Mall, cmp.Or(e.runLang, string(e.cfg.Lang)), command, nil, code, runErr, e.logger)
	}
}
