package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	"github.com/crmsync/crmsync"
)

var _ crmsync.Ledger = (*Ledger)(nil)

// lookupBatch is the most keys one Lookup query asks for. 500 keys are 1000
// bound parameters, far below SQLite's limit of 32766, and big enough that
// the per-query cost (cgo calls, statement reset) is spread thin.
const lookupBatch = 500

// lookupSQL returns the query for n keys: one row per key found.
func lookupSQL(n int) string {
	var b strings.Builder
	b.WriteString(`SELECT e.keyspace, e.key, e.state, e.kind, e.hash, b.body, e.code, e.message, e.attempts
FROM events e LEFT JOIN bodies b ON b.hash = e.body_hash
WHERE (e.keyspace, e.key) IN (VALUES `)
	for i := range n {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("(?,?)")
	}
	b.WriteString(")")
	return b.String()
}

var lookupFull = sync.OnceValue(func() string { return lookupSQL(lookupBatch) })

// Lookup returns what the ledger knows of each event's key, in the order of
// evs; a key never seen has State StateNone. Keys are looked up in the
// kind's key space, so a TransID recorded as score is found as score-v2. It
// makes one query per 500 events.
func (l *Ledger) Lookup(ctx context.Context, evs []*crmsync.Event) ([]crmsync.Prior, error) {
	out := make([]crmsync.Prior, len(evs))
	idx := make(map[string][]int, min(len(evs), lookupBatch))
	args := make([]any, 0, 2*min(len(evs), lookupBatch))
	for start := 0; start < len(evs); start += lookupBatch {
		end := min(start+lookupBatch, len(evs))
		if err := l.lookup(ctx, evs[start:end], out[start:end], idx, args[:0]); err != nil {
			return nil, fmt.Errorf("look up %d events in ledger %s: %w", len(evs), l.path, err)
		}
		clear(idx)
	}
	return out, nil
}

func (l *Ledger) lookup(ctx context.Context, evs []*crmsync.Event, out []crmsync.Prior, idx map[string][]int, args []any) error {
	for i, ev := range evs {
		ks := ev.Kind.KeySpace()
		k := ks + "\x00" + ev.Key
		if _, dup := idx[k]; !dup {
			args = append(args, ks, ev.Key)
		}
		idx[k] = append(idx[k], i)
	}
	query := lookupFull()
	if n := len(args) / 2; n != lookupBatch {
		query = lookupSQL(n)
	}
	// The full-size query is the same text every time: database/sql keeps
	// no statement cache, but go-sqlite3 prepares it in C quickly, and the
	// text is built once.
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			ks, key, state, kind, hash, msg string
			body                            []byte
			code                            sql.NullInt64
			attempts                        int
		)
		if err := rows.Scan(&ks, &key, &state, &kind, &hash, &body, &code, &msg, &attempts); err != nil {
			return err
		}
		p := crmsync.Prior{
			State:    crmsync.State(state),
			Kind:     crmsync.Kind(kind),
			Hash:     hash,
			Body:     body,
			HasCode:  code.Valid,
			Code:     int(code.Int64),
			Message:  msg,
			Attempts: attempts,
		}
		for _, i := range idx[ks+"\x00"+key] {
			out[i] = p
		}
	}
	return rows.Err()
}

const insertBody = `INSERT INTO bodies (hash, body) VALUES (?, ?) ON CONFLICT DO NOTHING`

// bodyRef stores body in tx once and returns its reference, nil for no body.
func bodyRef(ctx context.Context, st *sql.Stmt, body []byte) (any, error) {
	if len(body) == 0 {
		return nil, nil
	}
	h := sha256.Sum256(body)
	if _, err := st.ExecContext(ctx, h[:], body); err != nil {
		return nil, err
	}
	return h[:], nil
}

// Claim marks the events as in flight for run runID, storing their kind,
// hash, body, lane and time. When it returns nil the claims are fsynced:
// they survive a process crash and a power cut (see the package comment).
// It is one transaction for all of evs; the caller batches.
func (l *Ledger) Claim(ctx context.Context, runID int64, evs []*crmsync.Event) error {
	if len(evs) == 0 {
		return nil
	}
	now := l.Now().UnixNano()
	err := l.write(ctx, true, func(tx *sql.Tx) error {
		bst, err := tx.PrepareContext(ctx, insertBody)
		if err != nil {
			return err
		}
		defer bst.Close()
		est, err := tx.PrepareContext(ctx, `INSERT INTO events
	(keyspace, key, kind, state, hash, body_hash, lane, time, first_run, last_run, updated)
VALUES (?, ?, ?, 'inflight', ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (keyspace, key) DO UPDATE SET
	kind = excluded.kind, state = 'inflight', hash = excluded.hash, body_hash = excluded.body_hash,
	lane = excluded.lane, time = excluded.time, last_run = excluded.last_run, updated = excluded.updated`)
		if err != nil {
			return err
		}
		defer est.Close()
		for _, ev := range evs {
			ref, err := bodyRef(ctx, bst, ev.Body)
			if err != nil {
				return fmt.Errorf("%s %s: %w", ev.Kind, ev.Key, err)
			}
			if _, err := est.ExecContext(ctx, ev.Kind.KeySpace(), ev.Key, string(ev.Kind), ev.Hash, ref,
				ev.Lane, nanos(ev.Time), runID, runID, now); err != nil {
				return fmt.Errorf("%s %s: %w", ev.Kind, ev.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("claim %d events for run %d in ledger %s: %w", len(evs), runID, l.path, err)
	}
	return nil
}

// settles reports whether a result with outcome o settles its event's state.
func settles(o crmsync.Outcome) bool {
	return o == crmsync.OutcomeSent || o == crmsync.OutcomeRejected || o == crmsync.OutcomeFailed
}

// Record stores the results of run runID in one transaction. For outcomes
// sent, rejected and failed it also settles the event: state, kind, hash,
// body, Code, Message, and attempts (added to those of earlier runs); the
// event is inserted if it was never claimed. A Seq recorded twice for a run
// is an error and nothing of that call is stored. The commit survives a
// process crash; see the package comment for power loss.
func (l *Ledger) Record(ctx context.Context, runID int64, rs []*crmsync.Result) error {
	if len(rs) == 0 {
		return nil
	}
	now := l.Now().UnixNano()
	err := l.write(ctx, false, func(tx *sql.Tx) error {
		bst, err := tx.PrepareContext(ctx, insertBody)
		if err != nil {
			return err
		}
		defer bst.Close()
		rst, err := tx.PrepareContext(ctx, `INSERT INTO results
	(run_id, seq, file, sheet, row, kind, key, lane, time, vals, outcome, col, reason, code, message, attempts, hash, body_hash, previous)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer rst.Close()
		var est *sql.Stmt // prepared on first use: plans record no settled rows
		for _, r := range rs {
			ref, err := bodyRef(ctx, bst, r.Body)
			if err != nil {
				return fmt.Errorf("seq %d: %w", r.Seq, err)
			}
			vals, err := json.Marshal(r.Values)
			if err != nil {
				return fmt.Errorf("seq %d: %w", r.Seq, err)
			}
			var prev any
			if len(r.Previous) > 0 {
				prev = r.Previous
			}
			if _, err := rst.ExecContext(ctx, runID, r.Seq, r.Source.File, r.Source.Sheet, r.Source.Row,
				string(r.Kind), r.Key, r.Lane, nanos(r.Time), vals, string(r.Outcome), r.Column, r.Reason,
				code(r.HasCode, r.Code), r.Message, r.Attempts, r.Hash, ref, prev); err != nil {
				return fmt.Errorf("seq %d (%s): %w", r.Seq, r.Source, err)
			}
			if !settles(r.Outcome) {
				continue
			}
			if est == nil {
				est, err = tx.PrepareContext(ctx, `INSERT INTO events
	(keyspace, key, kind, state, hash, body_hash, lane, time, code, message, attempts, first_run, last_run, updated)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (keyspace, key) DO UPDATE SET
	kind = excluded.kind, state = excluded.state, hash = excluded.hash, body_hash = excluded.body_hash,
	code = excluded.code, message = excluded.message, attempts = attempts + excluded.attempts,
	last_run = excluded.last_run, updated = excluded.updated`)
				if err != nil {
					return err
				}
				defer est.Close()
			}
			if _, err := est.ExecContext(ctx, r.Kind.KeySpace(), r.Key, string(r.Kind), string(r.Outcome), r.Hash, ref,
				r.Lane, nanos(r.Time), code(r.HasCode, r.Code), r.Message, r.Attempts, runID, runID, now); err != nil {
				return fmt.Errorf("seq %d (%s) event %s %s: %w", r.Seq, r.Source, r.Kind, r.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record %d results of run %d in ledger %s: %w", len(rs), runID, l.path, err)
	}
	return nil
}

// Events calls fn for every event in one of states, ordered by lane and
// event time, with what the ledger knows of it. retry resends them. The
// rows are streamed: fn runs while the query is open, and may use the
// ledger (Claim, Record) meanwhile. An error from fn stops the walk and is
// returned.
func (l *Ledger) Events(ctx context.Context, states []crmsync.State, fn func(*crmsync.Event, crmsync.Prior) error) error {
	if len(states) == 0 {
		return nil
	}
	args := make([]any, len(states))
	for i, s := range states {
		args[i] = string(s)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT e.key, e.kind, e.state, e.hash, b.body, e.lane, e.time, e.code, e.message, e.attempts
FROM events e LEFT JOIN bodies b ON b.hash = e.body_hash
WHERE e.state IN (?`+strings.Repeat(",?", len(states)-1)+`)
ORDER BY e.lane, e.time, e.id`, args...)
	if err != nil {
		return fmt.Errorf("list events %v in ledger %s: %w", states, l.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key, kind, state, hash, lane, msg string
			body                              []byte
			t, code                           sql.NullInt64
			attempts                          int
		)
		if err := rows.Scan(&key, &kind, &state, &hash, &body, &lane, &t, &code, &msg, &attempts); err != nil {
			return fmt.Errorf("list events %v in ledger %s: %w", states, l.path, err)
		}
		ev := &crmsync.Event{
			Kind: crmsync.Kind(kind),
			Key:  key,
			Lane: lane,
			Time: timeIn(t, l.Location),
			Body: body,
			Hash: hash,
		}
		p := crmsync.Prior{
			State:    crmsync.State(state),
			Kind:     ev.Kind,
			Hash:     hash,
			Body:     body,
			HasCode:  code.Valid,
			Code:     int(code.Int64),
			Message:  msg,
			Attempts: attempts,
		}
		if err := fn(ev, p); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("list events %v in ledger %s: %w", states, l.path, err)
	}
	return nil
}
