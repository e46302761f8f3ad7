package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// Decisions a person may record on an outstanding item (crmsync resolve).
const (
	// DecideDelivered: Mallcoo has it. The event counts as sent and its
	// lane unblocks; a changed or invalid row is no longer outstanding.
	DecideDelivered = "delivered"
	// DecideResend: send it with the next retry or run (a changed row: its
	// new content).
	DecideResend = "resend"
	// DecideDismiss: it will not be sent; the lane unblocks.
	DecideDismiss = "dismiss"
)

// Decision is one recorded decision.
type Decision struct {
	Kind     crmsync.Kind `json:"kind"`
	Key      string       `json:"key"`
	State    string       `json:"state"` // the state it was in
	Decision string       `json:"decision"`
	User     string       `json:"user"`
	At       time.Time    `json:"at"`
	Reason   string       `json:"reason"`
}

// NotHeldError is returned by Resolve when some keys are not outstanding
// (or the decision does not fit them); nothing was changed.
type NotHeldError struct {
	Kind crmsync.Kind
	Keys []string // the keys not held
	Why  string   // set when the keys are held but the decision cannot apply
}

func (e *NotHeldError) Error() string {
	if e.Why != "" {
		return fmt.Sprintf("%s %s: %s; nothing was changed", e.Kind, strings.Join(e.Keys, ", "), e.Why)
	}
	return fmt.Sprintf("not outstanding in the ledger as %s: %s; nothing was changed (crmsync status lists what is)", e.Kind, strings.Join(e.Keys, ", "))
}

// Resolve records decision on the outstanding items of kind named by keys,
// in one transaction: all of them or, when one is not held (or the decision
// cannot apply to it), none (*NotHeldError). Events: delivered makes them
// sent, resend failed (retry and the next run send them), dismiss
// dismissed. Changed rows: delivered makes the row's new content the
// event's (Mallcoo has it: the row reads unchanged from then on), resend
// the same but to be sent, dismiss closes the row (it opens again when a
// file holds the other content again). Invalid rows:
// delivered and dismiss close them; they cannot be resent (fix the row).
// It must be called under the run lock.
func (l *Ledger) Resolve(ctx context.Context, kind crmsync.Kind, keys []string, decision, user, reason string) ([]Decision, error) {
	if !l.holdsLock() {
		return nil, fmt.Errorf("resolve in ledger %s: the ledger is not locked (call Lock first)", l.path)
	}
	switch decision {
	case DecideDelivered, DecideResend, DecideDismiss:
	default:
		return nil, fmt.Errorf("resolve: unknown decision %q (want delivered, resend or dismiss)", decision)
	}
	now := l.Now()
	var out []Decision
	err := l.write(ctx, true, func(w *sql.Conn) error {
		out = out[:0]
		var missing, cannot []string
		space := kind.KeySpace()
		type item struct {
			key, state string
			open       bool
			run, seq   int64
		}
		var items []item
		seen := map[string]bool{}
		for _, key := range keys {
			if seen[key] {
				continue
			}
			seen[key] = true
			var it item
			it.key = key
			err := w.QueryRowContext(ctx, `SELECT state FROM events WHERE keyspace = ? AND key = ? AND kind = ? AND state IN (?,?,?,?,?)`,
				space, key, string(kind), string(crmsync.StateFailed), string(crmsync.StateUncertain), string(crmsync.StateBlocked),
				string(crmsync.StateRejected), string(crmsync.StateInFlight)).Scan(&it.state)
			if errors.Is(err, sql.ErrNoRows) {
				err = w.QueryRowContext(ctx, `SELECT state, run_id, seq FROM open_rows WHERE kind = ? AND key = ?`, string(kind), key).Scan(&it.state, &it.run, &it.seq)
				it.open = err == nil
			}
			switch {
			case errors.Is(err, sql.ErrNoRows):
				missing = append(missing, key)
				continue
			case err != nil:
				return err
			}
			if it.state == string(crmsync.StateInFlight) {
				// Under the run lock no run is alive: a dead run's claim.
				it.state = string(crmsync.StateUncertain)
			}
			if decision == DecideResend && it.state == string(crmsync.OutcomeInvalid) {
				cannot = append(cannot, key)
			}
			items = append(items, it)
		}
		if len(missing) > 0 {
			return &NotHeldError{Kind: kind, Keys: missing}
		}
		if len(cannot) > 0 {
			return &NotHeldError{Kind: kind, Keys: cannot, Why: "an invalid row cannot be resent: fix it in the problems workbook and run crmsync on that file"}
		}
		for _, it := range items {
			why := fmt.Sprintf("%s 由 %s 于 %s 决定 / decided %s by %s at %s", decision, user, now.In(cst).Format("2006-01-02 15:04"), decision, user, now.In(cst).Format("2006-01-02 15:04"))
			if reason != "" {
				why += ": " + reason
			}
			var err error
			switch {
			case it.open && it.state == string(crmsync.OutcomeChanged) && decision != DecideDismiss:
				// The changed row's new content becomes the event's: to
				// send (resend), or what Mallcoo has (delivered), so the
				// row reads as unchanged from now on.
				state := crmsync.StateFailed
				if decision == DecideDelivered {
					state = crmsync.StateSent
				}
				_, err = w.ExecContext(ctx, `UPDATE events SET state = ?, reason = ?, updated = ?,
	hash = (SELECT hash FROM results WHERE run_id = ? AND seq = ?), body_id = (SELECT body_id FROM results WHERE run_id = ? AND seq = ?),
	cells_id = (SELECT cells_id FROM results WHERE run_id = ? AND seq = ?)
WHERE keyspace = ? AND key = ? AND EXISTS (SELECT 1 FROM results WHERE run_id = ? AND seq = ? AND body_id IS NOT NULL)`,
					string(state), why, now.UnixNano(), it.run, it.seq, it.run, it.seq, it.run, it.seq, space, it.key, it.run, it.seq)
				if err == nil {
					_, err = w.ExecContext(ctx, `DELETE FROM open_rows WHERE kind = ? AND key = ?`, string(kind), it.key)
				}
			case it.open:
				_, err = w.ExecContext(ctx, `DELETE FROM open_rows WHERE kind = ? AND key = ?`, string(kind), it.key)
			default:
				state := map[string]crmsync.State{DecideDelivered: crmsync.StateSent, DecideResend: crmsync.StateFailed, DecideDismiss: crmsync.StateDismissed}[decision]
				_, err = w.ExecContext(ctx, `UPDATE events SET state = ?, reason = ?, updated = ? WHERE keyspace = ? AND key = ?`,
					string(state), why, now.UnixNano(), space, it.key)
			}
			if err != nil {
				return err
			}
			if _, err := w.ExecContext(ctx, `INSERT INTO decisions (kind, key, state, decision, user, at, reason) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				string(kind), it.key, it.state, decision, user, now.UnixNano(), reason); err != nil {
				return err
			}
			out = append(out, Decision{Kind: kind, Key: it.key, State: it.state, Decision: decision, User: user, At: now, Reason: reason})
		}
		return nil
	})
	var nh *NotHeldError
	if errors.As(err, &nh) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("resolve %d %s keys in ledger %s: %w", len(keys), kind, l.path, err)
	}
	return out, nil
}

// Decisions returns the most recent decisions, newest first (at most n).
func (l *Ledger) Decisions(ctx context.Context, n int) ([]Decision, error) {
	rows, err := l.db.QueryContext(ctx, `SELECT kind, key, state, decision, user, at, reason FROM decisions ORDER BY id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("decisions in ledger %s: %w", l.path, err)
	}
	defer rows.Close()
	out := []Decision{}
	for rows.Next() {
		var (
			d    Decision
			kind string
			at   int64
		)
		if err := rows.Scan(&kind, &d.Key, &d.State, &d.Decision, &d.User, &at, &d.Reason); err != nil {
			return nil, fmt.Errorf("decisions in ledger %s: %w", l.path, err)
		}
		d.Kind, d.At = crmsync.Kind(kind), time.Unix(0, at).In(l.Location)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("decisions in ledger %s: %w", l.path, err)
	}
	return out, nil
}
