package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ErrPruned is wrapped by the error of RunPruned's callers for a run whose
// per-row results were pruned.
var ErrPruned = errors.New("the run's per-row results were pruned")

// Pruned is what Prune removed.
type Pruned struct {
	Runs    int `json:"runs"`    // runs whose results were pruned
	Results int `json:"results"` // per-row results deleted
	Kept    int `json:"kept"`    // results of those runs kept: they show an outstanding item
	Bodies  int `json:"bodies"`  // bodies no longer referred to, deleted
}

// Prune deletes the per-row results of the runs that ended before before,
// keeping each run and its summary. It never removes what an outstanding
// item needs: the results of outstanding changed and invalid rows, and
// those of events still outstanding (their source file and row), stay; so
// do all events and their bodies. Bodies no longer referred to are
// deleted. It must be called under the run lock.
func (l *Ledger) Prune(ctx context.Context, before time.Time) (Pruned, error) {
	var p Pruned
	if !l.holdsLock() {
		return p, fmt.Errorf("prune ledger %s: the ledger is not locked (call Lock first)", l.path)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id FROM runs WHERE pruned = 0 AND ended IS NOT NULL AND ended < ? AND status != ? ORDER BY id`,
		before.UnixNano(), RunRunning)
	if err != nil {
		return p, fmt.Errorf("prune ledger %s: %w", l.path, err)
	}
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return p, fmt.Errorf("prune ledger %s: %w", l.path, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return p, fmt.Errorf("prune ledger %s: %w", l.path, err)
	}
	needed := resultNeededArgs()
	now := l.Now().UnixNano()
	for _, id := range ids {
		// One transaction per run: the writer is never held for long.
		err := l.write(ctx, false, func(w *sql.Conn) error {
			res, err := w.ExecContext(ctx, `DELETE FROM results WHERE run_id = ? AND NOT `+resultNeeded, append([]any{id}, needed...)...)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			p.Results += int(n)
			// Unchanged rows (same) show no outstanding item: their event
			// was delivered with this content.
			if res, err = w.ExecContext(ctx, `DELETE FROM same WHERE run_id = ?`, id); err != nil {
				return err
			}
			if n, err = res.RowsAffected(); err != nil {
				return err
			}
			p.Results += int(n)
			var kept int
			if err := w.QueryRowContext(ctx, `SELECT count(*) FROM results WHERE run_id = ?`, id).Scan(&kept); err != nil {
				return err
			}
			p.Kept += kept
			_, err = w.ExecContext(ctx, `UPDATE runs SET pruned = ? WHERE id = ?`, now, id)
			return err
		})
		if err != nil {
			return p, fmt.Errorf("prune run %d in ledger %s: %w", id, l.path, err)
		}
		p.Runs++
	}
	if p.Results == 0 {
		return p, nil
	}
	err = l.write(ctx, false, func(w *sql.Conn) (err error) {
		p.Bodies, err = dropUnreferenced(ctx, w)
		return err
	})
	if err != nil {
		return p, fmt.Errorf("prune bodies in ledger %s: %w", l.path, err)
	}
	return p, nil
}

// RunPruned returns when run runID's per-row results were pruned (zero
// when they were not).
func (l *Ledger) RunPruned(ctx context.Context, runID int64) (time.Time, error) {
	var n int64
	err := l.db.QueryRowContext(ctx, `SELECT pruned FROM runs WHERE id = ?`, runID).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, fmt.Errorf("run %d in ledger %s: %w", runID, l.path, ErrNoRun)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("run %d in ledger %s: %w", runID, l.path, err)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return time.Unix(0, n).In(l.Location), nil
}

// dropUnreferenced deletes the bodies, cells and file names that no event
// or result refers to any more (after results were deleted), and returns
// how many bodies went.
func dropUnreferenced(ctx context.Context, w *sql.Conn) (bodies int, err error) {
	res, err := w.ExecContext(ctx, `DELETE FROM bodies WHERE
	id NOT IN (SELECT body_id FROM events WHERE body_id IS NOT NULL) AND
	id NOT IN (SELECT body_id FROM results WHERE body_id IS NOT NULL) AND
	id NOT IN (SELECT body_id FROM same)`)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM cells WHERE
	id NOT IN (SELECT cells_id FROM events WHERE cells_id IS NOT NULL) AND
	id NOT IN (SELECT cells_id FROM results WHERE cells_id IS NOT NULL) AND
	id NOT IN (SELECT cells_id FROM same)`); err != nil {
		return 0, err
	}
	if _, err := w.ExecContext(ctx, `DELETE FROM files WHERE id NOT IN (SELECT file_id FROM results WHERE file_id IS NOT NULL)`); err != nil {
		return 0, err
	}
	_, err = w.ExecContext(ctx, `DELETE FROM sources WHERE id NOT IN (SELECT src_id FROM same)`)
	return int(n), err
}
