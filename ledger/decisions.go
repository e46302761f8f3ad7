package ledger

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// Decisions a person may record on an outstanding item (crmsync resolve).
const (
	// DecideDelivered: Mallcoo has it. The event counts as sent and its
	// lane unblocks; a changed or invalid row is no longer outstanding.
	DecideDelivered = crmsync.DecisionDelivered
	// DecideResend: send it with the next retry or run (a changed row: its
	// new content).
	DecideResend = crmsync.DecisionResend
	// DecideDismiss: it will not be sent; the lane unblocks.
	DecideDismiss = crmsync.DecisionDismiss
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
// A closed row read again with the same content is no longer outstanding
// (Decided).
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
		var missing, cannot, changedScores []string
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
				err = w.QueryRowContext(ctx, `SELECT state, run_id, seq FROM open_rows WHERE kind = ? AND key = ? AND state IN `+openStates, string(kind), key).Scan(&it.state, &it.run, &it.seq)
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
			if decision == DecideResend && it.open && it.state == string(crmsync.OutcomeChanged) && kind.KeyedByTransID() {
				changedScores = append(changedScores, key)
			}
			items = append(items, it)
		}
		if len(missing) > 0 {
			return &NotHeldError{Kind: kind, Keys: missing}
		}
		if len(cannot) > 0 {
			return &NotHeldError{Kind: kind, Keys: cannot, Why: "an invalid row cannot be resent: fix it in the problems workbook and run crmsync on that file"}
		}
		if len(changedScores) > 0 {
			// Answered "TransID repeated" (an already-delivered Code), the
			// ledger would record the new amount as delivered while Mallcoo
			// keeps the first.
			return &NotHeldError{Kind: kind, Keys: changedScores, Why: "a changed sale or return cannot be resent under its TransID: Mallcoo keeps the TransID's first content (or counts it twice); send the correction under a new TransID (the problems workbook: a new TransID, EventID cleared), then resolve -as dismiss this one, or -as delivered if Mallcoo has the new content"}
		}
		for _, it := range items {
			why := crmsync.Decided(decision, user, now.In(cst), reason).Reason
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
	cells_id = (SELECT cells_id FROM results WHERE run_id = ? AND seq = ?),
	lane = coalesce((SELECT lane FROM results WHERE run_id = ? AND seq = ?), lane)
WHERE keyspace = ? AND key = ? AND EXISTS (SELECT 1 FROM results WHERE run_id = ? AND seq = ? AND body_id IS NOT NULL)`,
					string(state), why, now.UnixNano(), it.run, it.seq, it.run, it.seq, it.run, it.seq, it.run, it.seq, space, it.key, it.run, it.seq)
				if err == nil {
					_, err = w.ExecContext(ctx, `DELETE FROM open_rows WHERE kind = ? AND key = ?`, string(kind), it.key)
				}
			case it.open:
				// The row stays, decided: read again with the same content
				// it is not outstanding again (Decided); other content
				// opens it again.
				_, err = w.ExecContext(ctx, `UPDATE open_rows SET state = ?, reason = ? WHERE kind = ? AND key = ?`, decidedState(decision), why, string(kind), it.key)
			default:
				state := map[string]crmsync.State{DecideDelivered: crmsync.StateSent, DecideResend: crmsync.StateFailed, DecideDismiss: crmsync.StateDismissed}[decision]
				_, err = w.ExecContext(ctx, `UPDATE events SET state = ?, reason = ?, updated = ? WHERE keyspace = ? AND key = ?`,
					string(state), why, now.UnixNano(), space, it.key)
				if err == nil {
					// Its stored body refused by retry (an invalid row of
					// the event, keyed by it): decided with it.
					_, err = w.ExecContext(ctx, `DELETE FROM open_rows WHERE kind = ? AND key = ? AND event = ? AND state = 'invalid'`, string(kind), it.key, it.key)
				}
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

// Decided states of open_rows: a row a person closed (dismissed, or an
// invalid row decided delivered). It is kept, with the result it was
// decided on, so the same row read again is not outstanding again.
const (
	openDismissed = "dismissed"
	openDelivered = "delivered"
)

func decidedState(decision string) string {
	if decision == DecideDelivered {
		return openDelivered
	}
	return openDismissed
}

// openStates are the states of open_rows that are outstanding.
const openStates = `('changed', 'invalid')`

// Decided returns, for each of rs (results of a run being read), the
// decision a person recorded on that same row when it was changed or
// invalid before (nil when none, or when the row now holds other content:
// a changed row with another content hash, an invalid row with other
// cells). Such a row is not outstanding again: the run records it as the
// decision says (crmsync.Decided). Only changed and invalid results
// are looked up.
func (l *Ledger) Decided(ctx context.Context, rs []*crmsync.Result) ([]*Decision, error) {
	out := make([]*Decision, len(rs))
	var some bool
	err := l.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM open_rows WHERE state IN (?, ?))`, openDismissed, openDelivered).Scan(&some)
	if err != nil || !some {
		return out, wrapDecided(l, err)
	}
	const (
		open = `SELECT run_id, seq, state FROM open_rows WHERE kind = ? AND key = ? AND state IN (?, ?)`
		last = `SELECT state, decision, user, at, reason FROM decisions WHERE kind = ? AND key = ? ORDER BY id DESC LIMIT 1`
	)
	for i, r := range rs {
		if r.Outcome != crmsync.OutcomeChanged && r.Outcome != crmsync.OutcomeInvalid {
			continue
		}
		key := openKey(r)
		var (
			run, seq int64
			state    string
		)
		err := l.db.QueryRowContext(ctx, open, string(r.Kind), key, openDismissed, openDelivered).Scan(&run, &seq, &state)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return nil, wrapDecided(l, err)
		}
		same, err := l.sameRow(ctx, run, seq, r)
		if err != nil {
			return nil, wrapDecided(l, err)
		}
		if !same {
			continue
		}
		d := &Decision{Kind: r.Kind, Key: key}
		var at int64
		err = l.db.QueryRowContext(ctx, last, string(r.Kind), key).Scan(&d.State, &d.Decision, &d.User, &at, &d.Reason)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			d.State, d.Decision = string(r.Outcome), DecideDismiss
			if state == openDelivered {
				d.Decision = DecideDelivered
			}
		case err != nil:
			return nil, wrapDecided(l, err)
		default:
			d.At = time.Unix(0, at).In(l.Location)
		}
		out[i] = d
	}
	return out, nil
}

// sameRow reports whether result (run, seq), the row a person decided on,
// holds r's content: the same content hash for a changed row, the same
// cells for an invalid one.
func (l *Ledger) sameRow(ctx context.Context, run, seq int64, r *crmsync.Result) (bool, error) {
	rows, err := l.db.QueryContext(ctx, resultColumns+`
WHERE r.run_id = ? AND r.seq = ?`, run, seq)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	was, err := l.scanResult(rows)
	if err != nil {
		return false, err
	}
	if r.Outcome == crmsync.OutcomeChanged {
		return was.Outcome == crmsync.OutcomeChanged && was.Hash == r.Hash, nil
	}
	return was.Outcome == crmsync.OutcomeInvalid && slices.Equal(was.Values, r.Values), nil
}

func wrapDecided(l *Ledger, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("decisions on rows read again in ledger %s: %w", l.path, err)
}

// LastDecision returns the latest decision recorded on the item of kind
// and key (an event key, or an invalid row's source row), nil when none.
func (l *Ledger) LastDecision(ctx context.Context, kind crmsync.Kind, key string) (*Decision, error) {
	d := &Decision{Kind: kind, Key: key}
	var at int64
	err := l.db.QueryRowContext(ctx, `SELECT state, decision, user, at, reason FROM decisions WHERE kind = ? AND key = ? ORDER BY id DESC LIMIT 1`,
		string(kind), key).Scan(&d.State, &d.Decision, &d.User, &at, &d.Reason)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("decision on %s %s in ledger %s: %w", kind, key, l.path, err)
	}
	d.At = time.Unix(0, at).In(l.Location)
	return d, nil
}
