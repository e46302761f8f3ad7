package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// MallError refuses a run whose configuration names another mall than the
// one the ledger remembers: each mall has its own ledger, and a config of
// mall B run against mall A's ledger would diff B's export against what A
// delivered.
type MallError struct {
	Path   string // the ledger
	Ledger string // the mall the ledger remembers
	Config string // the mall the run's config names
}

func (e *MallError) Error() string {
	return fmt.Sprintf("ledger %s belongs to mall %q, but the config names mall %q: check that -ledger and -config are this mall's (each mall has its own ledger)", e.Path, e.Ledger, e.Config)
}

// Mall returns the mall the ledger remembers, "" when none (also for a
// ledger made before migration 0006 opened read-only, without its meta
// table).
func (l *Ledger) Mall(ctx context.Context) (string, error) {
	var tables int
	if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'`).Scan(&tables); err != nil {
		return "", fmt.Errorf("read the mall of ledger %s: %w", l.path, err)
	}
	if tables == 0 {
		return "", nil
	}
	var mall string
	err := l.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'mall'`).Scan(&mall)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read the mall of ledger %s: %w", l.path, err)
	}
	return mall, nil
}

// UseMall checks that the ledger may serve mall and returns the mall in
// effect: a ledger that remembers another mall is refused (*MallError);
// one that remembers none records mall from now on. An empty mall (a
// config naming none) is always fine, records nothing and returns the
// mall the ledger remembers, if any.
func (l *Ledger) UseMall(ctx context.Context, mall string) (string, error) {
	if mall == "" {
		return l.Mall(ctx)
	}
	return mall, l.write(ctx, true, func(w *sql.Conn) error {
		var have string
		err := w.QueryRowContext(ctx, `SELECT value FROM meta WHERE name = 'mall'`).Scan(&have)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := w.ExecContext(ctx, `INSERT INTO meta (name, value) VALUES ('mall', ?)`, mall); err != nil {
				return fmt.Errorf("record the mall of ledger %s: %w", l.path, err)
			}
			return nil
		case err != nil:
			return fmt.Errorf("read the mall of ledger %s: %w", l.path, err)
		case have != mall:
			return &MallError{Path: l.path, Ledger: have, Config: mall}
		}
		return nil
	})
}
