package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync"
)

// queuePage is how many queued results one query fetches: each page is its
// own short read, so a long send never pins an old snapshot (which would
// stop WAL checkpoints and let the -wal file grow for hours).
const queuePage = 2000

// Queued calls fn for every result of run runID still to be sent (outcome
// new, with a body), ordered by lane, event time and Seq — the order the
// sender needs — reading them in pages from the results_queue index
// (keyset pagination, no sort, flat memory). fn may Claim and Record
// meanwhile; rows it re-records leave the queue behind the cursor. An error
// from fn stops the walk and is returned.
func (l *Ledger) Queued(ctx context.Context, runID int64, fn func(*crmsync.Result) error) error {
	const base = queueColumns + `
WHERE r.run_id = ?1 AND r.outcome = 'new' AND r.body_id IS NOT NULL`
	var (
		lane  string
		t     any // the cursor's event time: nanos(Time), nil for none
		seq   int64
		first = true
	)
	for {
		var rows *sql.Rows
		var err error
		if first {
			rows, err = l.db.QueryContext(ctx, base+` ORDER BY r.lane, r.time, r.seq LIMIT ?2`, runID, queuePage)
		} else {
			// (lane, time, seq) > cursor, with NULL times first as
			// SQLite sorts them.
			rows, err = l.db.QueryContext(ctx, base+` AND (r.lane > ?2 OR (r.lane = ?2 AND (
	(?3 IS NULL AND (r.time IS NOT NULL OR r.seq > ?4)) OR
	(?3 IS NOT NULL AND (r.time > ?3 OR (r.time = ?3 AND r.seq > ?4))))))
ORDER BY r.lane, r.time, r.seq LIMIT ?5`, runID, lane, t, seq, queuePage)
		}
		if err != nil {
			return fmt.Errorf("queue of run %d in ledger %s: %w", runID, l.path, err)
		}
		n := 0
		var page []*crmsync.Result
		var refs []queuedRef
		for rows.Next() {
			var ref queuedRef
			r, err := l.scanResult(rows, &ref.bodyID, &ref.cellsID, &ref.cells)
			if err != nil {
				rows.Close()
				return fmt.Errorf("queue of run %d in ledger %s: %w", runID, l.path, err)
			}
			ref.hash, ref.seq = r.Hash, r.Seq
			page = append(page, r)
			refs = append(refs, ref)
			n++
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("queue of run %d in ledger %s: %w", runID, l.path, err)
		}
		l.noteQueued(runID, page, refs)
		// fn runs after the page's read is over: no snapshot is held while
		// requests are in flight.
		for _, r := range page {
			if err := fn(r); err != nil {
				return err
			}
		}
		if n < queuePage {
			return nil
		}
		last := page[len(page)-1]
		lane, seq, first = last.Lane, last.Seq, false
		t = nanos(last.Time)
	}
}

// queueColumns is resultColumns and the IDs of the body and cells.
const queueColumns = `SELECT r.seq, coalesce(f.path, r.file), r.sheet, r.row, r.kind, r.key, r.lane, r.time, coalesce(c.vals, r.vals), r.outcome, r.col, r.reason,
	r.code, r.message, r.attempts, r.hash, b.body, r.previous, r.body_id, r.cells_id, c.vals
FROM results r LEFT JOIN bodies b ON b.id = r.body_id LEFT JOIN cells c ON c.id = r.cells_id LEFT JOIN files f ON f.id = r.file_id`

// queuedKey names a queued result's event in a run.
type queuedKey struct {
	run int64
	eventKey
}

// queuedRef is what the ledger holds of a queued result's event (noteQueued)
// or of an event this Ledger claimed (claimed): the result's Seq and the
// body and cells the event refers to.
type queuedRef struct {
	eventRef
	seq int64
}

// maxQueued bounds Ledger.queued: rows queued but never claimed (held
// back behind a blocked event) are forgotten past it, costing only a body
// stored twice.
const maxQueued = 4 * queuePage

// noteQueued remembers the body and cells of the queued results page, so
// that Claim of their events refers to them instead of storing the body
// and values again.
func (l *Ledger) noteQueued(runID int64, page []*crmsync.Result, refs []queuedRef) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.queued == nil || len(l.queued) > maxQueued {
		l.queued = make(map[queuedKey]queuedRef, len(page))
	}
	for i, r := range page {
		l.queued[queuedKey{runID, keyOf(r.Kind, r.Key)}] = refs[i]
	}
}

// takeQueued returns (and forgets) what noteQueued remembered of event k
// in run runID, if its content hash is hash.
func (l *Ledger) takeQueued(runID int64, k eventKey, hash string) (queuedRef, bool) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	q := queuedKey{runID, k}
	r, ok := l.queued[q]
	if ok {
		delete(l.queued, q)
	}
	return r, ok && r.hash == hash && r.bodyID != 0
}

// Held lists the events of lane-blocking kinds (crmsync.Kind.BlocksLane)
// that did not go through — failed, uncertain, in flight, rejected or
// blocked themselves — read
// from the events_state index (which holds no sent event: state <> 'sent'
// lets SQLite use it). The job holds back later events of their
// kind and lane until they are sent.
//
// Held lists too the outstanding invalid rows of those kinds whose member
// was read (their result's lane and time), with State "invalid" and as Key
// the event key their cells give (else their source row): a member's later
// changes wait for the row to come fixed (it is then sent first, and
// settles the row) or for a person's decision, in a later run or retry as
// in the run that met it.
func (l *Ledger) Held(ctx context.Context) ([]crmsync.Held, error) {
	var kinds []any
	for _, k := range crmsync.Kinds {
		if k.BlocksLane() {
			kinds = append(kinds, string(k))
		}
	}
	states := []any{string(crmsync.StateFailed), string(crmsync.StateUncertain), string(crmsync.StateInFlight), string(crmsync.StateRejected), string(crmsync.StateBlocked)}
	in := `(?` + strings.Repeat(",?", len(kinds)-1) + `)`
	q := `SELECT kind, lane, key, time, state FROM events
WHERE state IN (?,?,?,?,?) AND state <> 'sent' AND kind IN ` + in + `
UNION ALL SELECT o.kind, r.lane, CASE WHEN o.event != '' THEN o.event ELSE o.key END, r.time, o.state
FROM open_rows o JOIN results r ON r.run_id = o.run_id AND r.seq = o.seq
WHERE o.state = 'invalid' AND o.kind IN ` + in + ` AND r.lane != ''
AND NOT EXISTS (SELECT 1 FROM events e WHERE e.keyspace = o.kind AND e.key = o.event AND e.state = 'sent')`
	args := append(append(states, kinds...), kinds...)
	rows, err := l.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("held events in ledger %s: %w", l.path, err)
	}
	defer rows.Close()
	var out []crmsync.Held
	for rows.Next() {
		var (
			h           crmsync.Held
			kind, state string
			t           sql.NullInt64
		)
		if err := rows.Scan(&kind, &h.Lane, &h.Key, &t, &state); err != nil {
			return nil, fmt.Errorf("held events in ledger %s: %w", l.path, err)
		}
		h.Kind, h.State, h.Time = crmsync.Kind(kind), crmsync.State(state), timeIn(t, l.Location)
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("held events in ledger %s: %w", l.path, err)
	}
	return out, nil
}
