package main

import (
	"context"

	"github.com/crmsync/crmsync/ledger"
)

// initCommand is `crmsync init`: it creates a ledger on purpose. Every
// other command refuses a missing ledger, so a mistyped -ledger (or a cron
// job started in the wrong folder) cannot begin an empty ledger and send
// every grade and points change again.
type initCommand struct{ *env }

func (c *initCommand) Run(ctx context.Context, args []string) error {
	fs := c.newFlags("init")
	path := fs.String("ledger", "crmsync.db", "the ledger `file` to create (SQLite)")
	config := fs.String("config", "", "settings `file` (TOML): its ledger, file_mode and mall; default $CRMSYNC_CONFIG")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("init takes no arguments; name the ledger with -ledger FILE")
	}
	cfg, err := c.applyConfig(fs, *config)
	if err != nil {
		return err
	}
	l, err := ledger.Create(ctx, *path, ledger.Options{FileMode: cfg.fileMode()})
	if err != nil {
		return err
	}
	defer l.Close()
	// A config naming the mall makes the ledger that mall's from the start.
	if _, err := l.UseMall(ctx, cfg.Mall); err != nil {
		return err
	}
	c.logger.Info("ledger created", "ledger", *path, "mode", cfg.fileMode().String(), "mall", cfg.Mall)
	return nil
}
