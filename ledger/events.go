package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/crmsync/crmsync"
)

var _ crmsync.Ledger = (*Ledger)(nil)

// lookupBatch is the most keys one look-up query asks for. 500 keys are
// 1000 bound parameters, far below SQLite's limit of 32766, and enough to
// spread the per-query cost (cgo calls, statement preparation) thin.
const lookupBatch = 500

// eventKey is an event's identity in the ledger.
type eventKey struct{ space, key string }

func keyOf(k crmsync.Kind, key string) eventKey { return eventKey{k.KeySpace(), key} }

// keysSQL returns query followed by "(VALUES (?,?),…)" for n keys.
func keysSQL(query string, n int) string {
	var b strings.Builder
	b.Grow(len(query) + 10 + 6*n)
	b.WriteString(query)
	b.WriteString(" (VALUES ")
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString("(?,?)")
	}
	b.WriteString(")")
	return b.String()
}

// keyQuery runs a query over n keys (args holds 2n values).
type keyQuery func(ctx context.Context, n int, args []any) (*sql.Rows, error)

// chunk returns how many keys one query asks for when n are left:
// lookupBatch, or else the smallest power of two not below n (the last key
// repeated to fill it: IN finds it once). So a handful of statement sizes
// serve every call, each prepared once, and a call makes one query per
// lookupBatch keys.
func chunk(n int) int {
	if n >= lookupBatch {
		return lookupBatch
	}
	c := 1
	for c < n {
		c *= 2
	}
	return min(c, lookupBatch)
}

// eachKeyBatch runs q for keys, in chunks, and calls scan for every row
// found.
func eachKeyBatch(ctx context.Context, q keyQuery, keys []eventKey, scan func(*sql.Rows) error) error {
	args := make([]any, 0, 2*min(chunk(len(keys)), lookupBatch))
	for start := 0; start < len(keys); {
		n := chunk(len(keys) - start)
		args = args[:0]
		end := min(start+n, len(keys))
		for _, k := range keys[start:end] {
			args = append(args, k.space, k.key)
		}
		for last := keys[end-1]; len(args) < 2*n; {
			args = append(args, last.space, last.key)
		}
		start = end
		if err := func() error {
			rows, err := q(ctx, n, args)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		}(); err != nil {
			return err
		}
	}
	return nil
}

// lookupQuery is Lookup's query, to be followed by the keys. It reads the
// event's cells too (refCache).
const lookupQuery = `SELECT e.keyspace, e.key, e.state, e.kind, e.hash, e.body_id, e.code, e.message, e.attempts, e.cells_id, c.vals
FROM events e LEFT JOIN cells c ON c.id = e.cells_id WHERE (e.keyspace, e.key) IN`

// refCache is what Lookup read of the events it was asked for: the
// current hash, body and cells of each (none: no such event). The diff
// looks a batch up, then records it; Record's write then needs the same
// of the same keys (bodyIDs), and takes it from here instead of reading it
// again, if no write came between (gen is what Ledger.gen was when read).
type refCache struct {
	gen  uint64
	refs map[eventKey]cachedRef
}

type cachedRef struct {
	eventRef
	none bool // no such event
}

// maxRefCache bounds refCache: the keys of a few batches.
const maxRefCache = 4 * lookupBatch * 8

// cacheRefs keeps refs, read while Ledger.gen was gen, for the next write.
// Only while this Ledger holds the run lock: every other process's writes
// need it, so none can come between unseen.
func (l *Ledger) cacheRefs(gen uint64, refs map[eventKey]cachedRef) {
	if gen%2 != 0 || l.gen.Load() != gen || !l.holdsLock() {
		return // a write ran meanwhile: what was read may be stale
	}
	l.rmu.Lock()
	defer l.rmu.Unlock()
	if l.refs.gen != gen || l.refs.refs == nil || len(l.refs.refs)+len(refs) > maxRefCache {
		l.refs = refCache{gen: gen, refs: refs} // the caller hands refs over
		return
	}
	for k, r := range refs {
		l.refs.refs[k] = r
	}
}

// takeRefs adds to refs (and forgets) what Lookup read of keys, if no
// write came after it but the one running (the caller's: gen is odd, one
// more than when read), and returns the keys it did not read. It reports
// whether it had anything.
func (l *Ledger) takeRefs(keys []eventKey, refs map[eventKey]eventRef) (missing []eventKey, ok bool) {
	l.rmu.Lock()
	c := l.refs
	l.refs = refCache{}
	l.rmu.Unlock()
	if c.refs == nil || c.gen+1 != l.gen.Load() {
		return keys, false
	}
	for _, k := range keys {
		r, ok := c.refs[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case !r.none:
			refs[k] = r.eventRef
		}
	}
	return missing, true
}

// lookupRows runs Lookup's query for n keys on the pool, with a statement
// prepared once per size.
func (l *Ledger) lookupRows(ctx context.Context, n int, args []any) (*sql.Rows, error) {
	l.smu.Lock()
	st := l.lookupStmts[n]
	if st == nil {
		var err error
		if st, err = l.db.PrepareContext(ctx, keysSQL(lookupQuery, n)); err != nil {
			l.smu.Unlock()
			return nil, err
		}
		if l.lookupStmts == nil {
			l.lookupStmts = map[int]*sql.Stmt{}
		}
		l.lookupStmts[n] = st
	}
	l.smu.Unlock()
	return st.QueryContext(ctx, args...)
}

// refQuery reads the current hash, body and cells of events, for bodyIDs.
const refQuery = `SELECT e.keyspace, e.key, e.hash, e.body_id, e.cells_id, c.vals
FROM events e LEFT JOIN cells c ON c.id = e.cells_id WHERE (e.keyspace, e.key) IN`

// refRows runs refQuery on the writer connection; the caller holds l.wmu.
func (l *Ledger) refRows(ctx context.Context, n int, args []any) (*sql.Rows, error) {
	st, err := l.prep(ctx, keysSQL(refQuery, n))
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// Lookup returns what the ledger knows of each event's key, in the order of
// evs; a key never seen has State StateNone. Keys are looked up in the
// kind's key space, so a TransID recorded as score is found as score-v2.
// It makes one query per 500 distinct keys, and reads stored bodies only
// for keys whose content hash differs from the event's: when the hashes
// are equal, Prior.Body is the event's Body (the same bytes, shared).
func (l *Ledger) Lookup(ctx context.Context, evs []*crmsync.Event) ([]crmsync.Prior, error) {
	out := make([]crmsync.Prior, len(evs))
	for start := 0; start < len(evs); start += lookupBatch {
		end := min(start+lookupBatch, len(evs))
		if err := l.lookup(ctx, evs[start:end], out[start:end]); err != nil {
			return nil, fmt.Errorf("look up %d events in ledger %s: %w", len(evs), l.path, err)
		}
	}
	return out, nil
}

func (l *Ledger) lookup(ctx context.Context, evs []*crmsync.Event, out []crmsync.Prior) error {
	idx := make(map[eventKey][]int, len(evs))
	keys := make([]eventKey, 0, len(evs))
	for i, ev := range evs {
		k := keyOf(ev.Kind, ev.Key)
		if _, dup := idx[k]; !dup {
			keys = append(keys, k)
		}
		idx[k] = append(idx[k], i)
	}
	var want map[int64][]int // body ID → positions that need it
	gen := l.gen.Load()
	refs := make(map[eventKey]cachedRef, len(keys))
	for _, k := range keys {
		refs[k] = cachedRef{none: true}
	}
	err := eachKeyBatch(ctx, l.lookupRows, keys, func(rows *sql.Rows) error {
		var (
			k                   eventKey
			state, kind, msg    string
			hb, cv              []byte
			bodyID, code, cells sql.NullInt64
			attempts            int
		)
		if err := rows.Scan(&k.space, &k.key, &state, &kind, &hb, &bodyID, &code, &msg, &attempts, &cells, &cv); err != nil {
			return err
		}
		hash := eventHash(hb, cv)
		refs[k] = cachedRef{eventRef: eventRef{hash: hash, bodyID: bodyID.Int64, cellsID: cells.Int64, cells: cv}}
		p := crmsync.Prior{
			State:    crmsync.State(state),
			Kind:     crmsync.Kind(kind),
			Hash:     hash,
			HasCode:  code.Valid,
			Code:     int(code.Int64),
			Message:  msg,
			Attempts: attempts,
		}
		for _, i := range idx[k] {
			out[i] = p
			switch {
			case hash == evs[i].Hash:
				out[i].Body = evs[i].Body
			case bodyID.Valid:
				if want == nil {
					want = map[int64][]int{}
				}
				want[bodyID.Int64] = append(want[bodyID.Int64], i)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	l.cacheRefs(gen, refs)
	if len(want) == 0 {
		return nil
	}
	ids := make([]any, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	rows, err := l.db.QueryContext(ctx, `SELECT id, body FROM bodies WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id   int64
			body storedBody
		)
		if err := rows.Scan(&id, &body); err != nil {
			return err
		}
		for _, i := range want[id] {
			out[i].Body = body
		}
	}
	return rows.Err()
}

// eventRef is the content an event refers to now.
type eventRef struct {
	hash    string
	bodyID  int64 // 0: none
	cellsID int64 // 0: none
	cells   []byte
}

// bodyIDs assigns bodies.id and cells.id values inside one write
// transaction. A body whose content hash is the one its event already has
// is not stored again: the event's body is reused; so are cells equal to
// the event's. So claiming an event, recording it sent and recording it
// unchanged in later runs store its body and its row's values once.
type bodyIDs struct {
	l         *Ledger
	refs      map[eventKey]eventRef
	next      int64 // the last ID given out; 0: not read yet
	ins       *multiInsert
	nextCells int64 // the last cells ID given out; 0: not read yet
	cellsIns  *multiInsert
	// planned is what lookPlan found of the events of this
	// transaction's rows in a plan (nil: nothing).
	planned map[eventKey]*plannedRef
}

// plannedRef is a queued row (of a plan, or of the run itself): its Seq,
// kind and hash column, its body and cells IDs, and the bytes of each as
// stored (encodeBody, appendHeadCells), for the full compare.
type plannedRef struct {
	seq             int64
	kind            crmsync.Kind
	hash            []byte // results.hash: empty when the head or the body holds it (storedHash)
	bodyID, cellsID int64
	body, cells     []byte
}

// holds reports whether the row's content hash (as scanResult reads it:
// its hash column, else its cells' head, else its body's, which is body)
// is hash.
func (c *plannedRef) holds(hash string, body []byte) bool {
	if len(c.hash) > 0 {
		return hashText(c.hash) == hash
	}
	if h := hashOfHead(c.cells); h != "" {
		return h == hash
	}
	return hash != "" && crmsync.ContentHash(c.kind, body) == hash
}

// newBodyIDs reads the current body of every event of keys; known holds
// what is known of some of them already (what this Ledger's claims wrote:
// takeClaimed), which are not read again.
func (l *Ledger) newBodyIDs(ctx context.Context, keys []eventKey, known map[eventKey]queuedRef) (*bodyIDs, error) {
	b := &bodyIDs{l: l, refs: make(map[eventKey]eventRef, len(keys))}
	if len(known) > 0 {
		missing := make([]eventKey, 0, len(keys))
		for _, k := range keys {
			if c, ok := known[k]; ok {
				b.refs[k] = c.eventRef
			} else {
				missing = append(missing, k)
			}
		}
		keys = missing
	}
	keys, _ = l.takeRefs(keys, b.refs)
	err := eachKeyBatch(ctx, l.refRows, keys, func(rows *sql.Rows) error {
		var (
			k         eventKey
			hb        []byte
			id, cells sql.NullInt64
			vals      []byte
		)
		if err := rows.Scan(&k.space, &k.key, &hb, &id, &cells, &vals); err != nil {
			return err
		}
		b.refs[k] = eventRef{hash: eventHash(hb, vals), bodyID: id.Int64, cellsID: cells.Int64, cells: vals}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.ins = l.newMultiInsert(`INSERT INTO bodies (id, body)`, 2, "")
	b.cellsIns = l.newMultiInsert(`INSERT INTO cells (id, vals)`, 2, "")
	return b, nil
}

// ownBody reports whether the row of event k with content hash refers to
// its event's body (bodyIDs.id), so is not looked for in a plan.
func (b *bodyIDs) ownBody(k eventKey, hash string) bool {
	r, ok := b.refs[k]
	return ok && r.hash == hash && r.bodyID != 0
}

// planned is a row to look for in a plan: its event, lane and event time.
type planned struct {
	k    eventKey
	lane string
	time int64
}

// planQuery reads the rows of plan ?1 still to be sent (its queue) with
// the given lanes and event times, with their bodies and cells, to be
// followed by the (lane, time) pairs. The queue's index (run, lane, time,
// Seq) finds them: no index is kept for it.
const planQuery = `SELECT r.seq, r.kind, r.hash, r.key, r.body_id, r.cells_id, b.body, c.vals
FROM results r INDEXED BY results_queue JOIN bodies b ON b.id = r.body_id JOIN cells c ON c.id = r.cells_id
WHERE r.run_id = ?1 AND r.outcome = 'new' AND (r.lane, r.time) IN`

// lookPlan reads what run plan stored of the rows ps: the body and cells
// of its row of the same event, lane and event time, if it has one still
// to be sent (a plan's new rows until it is applied; a run's queue), into
// b.planned.
func (b *bodyIDs) lookPlan(ctx context.Context, plan int64, ps []planned) error {
	if b.planned == nil {
		b.planned = make(map[eventKey]*plannedRef, len(ps))
	}
	want := make(map[eventKey]bool, len(ps))
	type lt struct {
		lane string
		time int64
	}
	var pairs []lt
	seen := make(map[lt]bool, len(ps))
	for _, p := range ps {
		if _, ok := b.planned[p.k]; ok {
			continue
		}
		b.planned[p.k] = nil
		want[p.k] = true
		if x := (lt{p.lane, p.time}); !seen[x] {
			seen[x] = true
			pairs = append(pairs, x)
		}
	}
	args := make([]any, 0, 1+2*chunk(len(pairs)))
	for start := 0; start < len(pairs); {
		n := chunk(len(pairs) - start)
		end := min(start+n, len(pairs))
		args = append(args[:0], plan)
		for _, x := range pairs[start:end] {
			args = append(args, x.lane, x.time)
		}
		for last := pairs[end-1]; len(args) < 1+2*n; { // IN finds it once
			args = append(args, last.lane, last.time)
		}
		start = end
		st, err := b.l.prep(ctx, keysSQL(planQuery, n))
		if err != nil {
			return err
		}
		if err := func() error {
			rows, err := st.QueryContext(ctx, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var (
					kind, key string
					c         plannedRef
				)
				if err := rows.Scan(&c.seq, &kind, &c.hash, &key, &c.bodyID, &c.cellsID, &c.body, &c.cells); err != nil {
					return err
				}
				c.kind = crmsync.Kind(kind)
				if key == "" { // in the head (schema 10)
					key, _ = keyOfHead(c.cells)
				}
				k := keyOf(crmsync.Kind(kind), key)
				if _, ok := want[k]; ok && b.planned[k] == nil {
					b.planned[k] = &c
				}
			}
			return rows.Err()
		}(); err != nil {
			return err
		}
	}
	return nil
}

// rowIDs returns the body and cells IDs for a row of event k with content
// hash, body and cells vals. A row whose body is its event's refers to it
// (id, cellsID). Else, if the plan looked in (lookPlan) stored a row of
// the event, the row refers to that row's body and cells when they are
// its bytes (compared in full), and to new ones when not. So the run after
// a plan of the same file (a plan makes no events: the run finds nothing
// of the plan's by key), or a second plan, stores no body and no cells
// again.
func (b *bodyIDs) rowIDs(ctx context.Context, k eventKey, hash string, body, vals []byte) (any, int64, error) {
	c := b.planned[k]
	if len(body) == 0 || c == nil || b.ownBody(k, hash) {
		id, err := b.id(ctx, k, hash, body)
		if err != nil {
			return nil, 0, err
		}
		cells, err := b.cellsID(ctx, k, vals, nil)
		return id, cells, err
	}
	enc := encodeBody(nil, body)
	var id int64
	if string(c.body) == string(enc) || sameBody(c.body, body) {
		id = c.bodyID
	} else {
		var err error
		if id, err = b.newBody(ctx, enc); err != nil {
			return nil, 0, err
		}
	}
	cells, err := b.cellsID(ctx, k, vals, c)
	if err != nil {
		return nil, 0, err
	}
	return id, cells, nil
}

// lastID returns the largest ID of table (bodies or cells). Write
// transactions are BEGIN IMMEDIATE: no one else can add rows until this
// one commits, so IDs can be handed out from it; it is read only when a
// row is added (most claims and answers add none).
func (b *bodyIDs) lastID(ctx context.Context, table string) (int64, error) {
	st, err := b.l.prep(ctx, `SELECT coalesce(max(id), 0) FROM `+table)
	if err != nil {
		return 0, err
	}
	var n int64
	err = st.QueryRowContext(ctx).Scan(&n)
	return n, err
}

// cellsID returns the cells.id for vals (appendCells) of a row of event
// k: the event's own cells if they are the same bytes, else those of the
// plan's row c (nil: none) if they are, else a new row. vals is copied
// when stored.
func (b *bodyIDs) cellsID(ctx context.Context, k eventKey, vals []byte, c *plannedRef) (int64, error) {
	if r, ok := b.refs[k]; ok && r.cellsID != 0 && sameCells(r.cells, vals) {
		return r.cellsID, nil
	}
	if c != nil && sameCells(c.cells, vals) {
		return c.cellsID, nil
	}
	if b.nextCells == 0 {
		n, err := b.lastID(ctx, "cells")
		if err != nil {
			return 0, err
		}
		b.nextCells = n
	}
	b.nextCells++
	if err := b.cellsIns.add(ctx, b.nextCells, string(vals)); err != nil {
		return 0, err
	}
	return b.nextCells, nil
}

// id returns the bodies.id for body, whose content hash is hash, of the
// event k: the event's own body if the hashes match, else a new row. It
// returns nil for no body.
func (b *bodyIDs) id(ctx context.Context, k eventKey, hash string, body []byte) (any, error) {
	if len(body) == 0 {
		return nil, nil
	}
	if r, ok := b.refs[k]; ok && r.hash == hash && r.bodyID != 0 {
		return r.bodyID, nil
	}
	n, err := b.newBody(ctx, encodeBody(nil, body))
	if err != nil {
		return nil, err
	}
	return n, nil
}

// newBody stores a body in its stored form enc and returns its ID.
func (b *bodyIDs) newBody(ctx context.Context, enc []byte) (int64, error) {
	if b.next == 0 {
		n, err := b.lastID(ctx, "bodies")
		if err != nil {
			return 0, err
		}
		b.next = n
	}
	b.next++
	if err := b.ins.add(ctx, b.next, enc); err != nil {
		return 0, err
	}
	return b.next, nil
}

// settle notes that event k now refers to body id with content hash, and
// to cells cellsID (vals).
func (b *bodyIDs) settle(k eventKey, hash string, id any, cellsID int64, vals []byte) {
	if n, ok := id.(int64); ok {
		b.refs[k] = eventRef{hash: hash, bodyID: n, cellsID: cellsID, cells: append([]byte(nil), vals...)}
	}
}

// Claim marks the events as in flight for run runID, storing their kind,
// hash, body, lane and time. When it returns nil the claims are fsynced:
// they survive a process crash and a power cut (see the package comment).
// It is one transaction for all of evs; the caller batches.
func (l *Ledger) Claim(ctx context.Context, runID int64, evs []*crmsync.Event) error {
	if len(evs) == 0 {
		return nil
	}
	var claimed []claimedEvent
	err := l.write(ctx, true, func(*sql.Conn) error {
		var err error
		claimed, err = l.claimTx(ctx, runID, evs)
		return err
	})
	if err != nil {
		return fmt.Errorf("claim %d events for run %d in ledger %s: %w", len(evs), runID, l.path, err)
	}
	l.noteClaimed(runID, claimed)
	return nil
}

// claimedEvent is what claimTx wrote of an event whose queued result it
// took the body of (see noteClaimed).
type claimedEvent struct {
	key eventKey
	ref queuedRef
}

// maxClaimed bounds Ledger.claimed: claims never recorded (a run that
// stopped) are forgotten past it; Record then only takes the longer way.
const maxClaimed = 1 << 16

// noteClaimed remembers what committed claims of run runID wrote, so that
// Record of their answers updates the rows in place (recordTx) instead of
// reading the events back and writing every column again.
func (l *Ledger) noteClaimed(runID int64, cs []claimedEvent) {
	if len(cs) == 0 {
		return
	}
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if l.claimed == nil || len(l.claimed)+len(cs) > maxClaimed {
		l.claimed = make(map[queuedKey]queuedRef, len(cs))
	}
	for _, c := range cs {
		l.claimed[queuedKey{runID, c.key}] = c.ref
	}
}

// takeClaimed returns (and forgets) what noteClaimed remembered of the
// events of keys in run runID.
func (l *Ledger) takeClaimed(runID int64, keys []eventKey) map[eventKey]queuedRef {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	if len(l.claimed) == 0 {
		return nil
	}
	var out map[eventKey]queuedRef
	for _, k := range keys {
		q := queuedKey{runID, k}
		if c, ok := l.claimed[q]; ok {
			if out == nil {
				out = make(map[eventKey]queuedRef, len(keys))
			}
			out[k] = c
			delete(l.claimed, q)
		}
	}
	return out
}

// forgetClaimed forgets what noteClaimed remembered of evs in run runID.
func (l *Ledger) forgetClaimed(runID int64, evs []*crmsync.Event) {
	l.qmu.Lock()
	defer l.qmu.Unlock()
	for _, ev := range evs {
		delete(l.claimed, queuedKey{runID, keyOf(ev.Kind, ev.Key)})
	}
}

// claimTx is Claim's write; the caller is in a write transaction. It
// returns what it wrote of the events whose queued result it took, for
// noteClaimed once the transaction has committed.
func (l *Ledger) claimTx(ctx context.Context, runID int64, evs []*crmsync.Event) ([]claimedEvent, error) {
	if len(evs) == 0 {
		return nil, nil
	}
	now := l.Now().UnixNano()
	keys := make([]eventKey, len(evs))
	for i, ev := range evs {
		keys[i] = keyOf(ev.Kind, ev.Key)
	}
	bodies, err := l.newBodyIDs(ctx, keys, nil)
	if err != nil {
		return nil, err
	}
	queued, err := l.claimedRows(ctx, runID, evs, keys, bodies)
	if err != nil {
		return nil, err
	}
	var claimed []claimedEvent
	events := l.newMultiInsert(`INSERT INTO events
	(keyspace, key, kind, state, hash, body_id, lane, time, first_run, last_run, updated, cells_id)`, 12,
		`ON CONFLICT (keyspace, key) DO UPDATE SET
	kind = excluded.kind, state = excluded.state, hash = excluded.hash, body_id = excluded.body_id,
	lane = excluded.lane, time = excluded.time, last_run = excluded.last_run, updated = excluded.updated, reason = '',
	cells_id = coalesce(excluded.cells_id, cells_id)`)
	for i, ev := range evs {
		r := bodies.refs[keys[i]] // a claim keeps the event's cells
		q, queued := queued[i], queued[i].bodyID != 0
		if queued && (r.hash != ev.Hash || r.bodyID == 0) {
			// The queued result of this run (Queued) holds the body:
			// the event refers to it and to its cells.
			bodies.refs[keys[i]] = q.eventRef
			r = q.eventRef
		}
		id, err := bodies.id(ctx, keys[i], ev.Hash, ev.Body)
		if err != nil {
			return nil, err
		}
		bodies.settle(keys[i], ev.Hash, id, r.cellsID, r.cells)
		if n, ok := id.(int64); ok && queued {
			claimed = append(claimed, claimedEvent{keys[i], queuedRef{eventRef{hash: ev.Hash, bodyID: n, cellsID: r.cellsID, cells: r.cells}, q.seq}})
		}
		var cells any
		if r.cellsID != 0 {
			cells = r.cellsID
		}
		if err := events.add(ctx, keys[i].space, ev.Key, string(ev.Kind), string(crmsync.StateInFlight), eventHashArg(ev.Hash, r.cells), id,
			ev.Lane, nanos(ev.Time), runID, runID, now, cells); err != nil {
			return nil, err
		}
	}
	if err := bodies.ins.flush(ctx); err != nil {
		return nil, err
	}
	return claimed, events.flush(ctx)
}

// claimedRows returns, for each of evs (of events keys) claimed in run
// runID, what its queued row of the run holds when the claim is of that
// row's content (bodyID 0: none): remembered from the queue's page
// (takeQueued), or else read from the run's queue (bodies.lookPlan), as
// the sender claims some events long after their page was read (it
// gathers lanes while others are out). So the event refers to the row's
// body and cells instead of storing them again, and its answer is written
// in place. The queued row is taken only when its body is the claim's, in
// full, and its content hash too (as takeQueued: else the event, whose
// hash column is empty when its cells' head holds its hash, could read
// back the row's); its Seq lets the answer in place check it is the
// answer's row.
func (l *Ledger) claimedRows(ctx context.Context, runID int64, evs []*crmsync.Event, keys []eventKey, bodies *bodyIDs) ([]queuedRef, error) {
	out := make([]queuedRef, len(evs))
	var look []planned
	var at []int
	for i, ev := range evs {
		if q, ok := l.takeQueued(runID, keys[i], ev.Hash); ok {
			out[i] = q
			continue
		}
		if r := bodies.refs[keys[i]]; r.hash == ev.Hash && r.bodyID != 0 {
			continue // the event's own body already
		}
		if t, ok := nanos(ev.Time).(int64); ok && len(ev.Body) > 0 {
			look = append(look, planned{keys[i], ev.Lane, t})
			at = append(at, i)
		}
	}
	if len(look) == 0 {
		return out, nil
	}
	if err := bodies.lookPlan(ctx, runID, look); err != nil {
		return nil, err
	}
	for j, p := range look {
		c := bodies.planned[p.k]
		if c == nil {
			continue
		}
		ev := evs[at[j]]
		if string(c.body) != string(encodeBody(nil, ev.Body)) && !sameBody(c.body, ev.Body) || !c.holds(ev.Hash, ev.Body) {
			continue
		}
		out[at[j]] = queuedRef{eventRef{hash: ev.Hash, bodyID: c.bodyID, cellsID: c.cellsID, cells: c.cells}, c.seq}
	}
	// The claim's own look-ups are not a plan's: recordTx makes its own.
	bodies.planned = nil
	return out, nil
}

// ReasonReleased is the reason of an event whose claim was released: its
// request never left.
var ReasonReleased = crmsync.Because(crmsync.ReasonClaimReleased)

// Release undoes the claims of run runID on evs whose requests never left.
// An event the run claimed first is forgotten again (the next run sees it
// as new); one known before is left failed, so retry or the next run sends
// it. Events no longer in flight for this run are left as they are. A lost
// commit (power cut) only leaves them in flight: uncertain at the next
// run, never lost.
func (l *Ledger) Release(ctx context.Context, runID int64, evs []*crmsync.Event) error {
	if len(evs) == 0 {
		return nil
	}
	l.forgetClaimed(runID, evs)
	now := l.Now().UnixNano()
	err := l.write(ctx, false, func(*sql.Conn) error {
		del, err := l.prep(ctx, `DELETE FROM events WHERE keyspace = ? AND key = ? AND state = ? AND last_run = ? AND first_run = ?`)
		if err != nil {
			return err
		}
		upd, err := l.prep(ctx, `UPDATE events SET state = ?, reason = ?, updated = ? WHERE keyspace = ? AND key = ? AND state = ? AND last_run = ?`)
		if err != nil {
			return err
		}
		inflight := string(crmsync.StateInFlight)
		for _, ev := range evs {
			k := keyOf(ev.Kind, ev.Key)
			if _, err := del.ExecContext(ctx, k.space, k.key, inflight, runID, runID); err != nil {
				return err
			}
			if _, err := upd.ExecContext(ctx, string(crmsync.StateFailed), ReasonReleased, now, k.space, k.key, inflight, runID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("release %d claims of run %d in ledger %s: %w", len(evs), runID, l.path, err)
	}
	return nil
}

// settles reports whether a result with outcome o settles its event's state.
// A blocked event is settled too: the ledger keeps its body and lane, so
// retry or the next run sends it once its blocker clears, whatever file is
// read then.
func settles(o crmsync.Outcome) bool {
	return o == crmsync.OutcomeSent || o == crmsync.OutcomeRejected || o == crmsync.OutcomeFailed || o == crmsync.OutcomeBlocked
}

// opens reports whether a result with outcome o is kept in open_rows: rows
// that need a person but leave no event state behind.
func opens(o crmsync.Outcome) bool {
	return o == crmsync.OutcomeChanged || o == crmsync.OutcomeInvalid
}

// openReason is the reason open_rows keeps for r: its reason, after the
// column it is about.
func openReason(r *crmsync.Result) string {
	if r.Column != "" {
		return r.Column + ": " + r.Reason
	}
	return r.Reason
}

// openKey is the key of result r in open_rows: its event key, or for an
// invalid row its source row. An invalid result with no source row (a body
// the ledger kept, refused by retry: source "ledger") is its event's.
func openKey(r *crmsync.Result) string {
	if r.Key != "" && (r.Outcome != crmsync.OutcomeInvalid || r.Source.Row == 0) {
		return r.Key
	}
	return r.Source.String()
}

// openEvent is the event key open_rows keeps of an invalid row (its cells
// may give it): the fixed row, once delivered, settles it.
func openEvent(r *crmsync.Result) string {
	if r.Outcome == crmsync.OutcomeInvalid {
		return r.Key
	}
	return ""
}

// fileIDs returns the files.id of every source file of rs, adding those
// not yet named. The caller is in a write transaction.
func (l *Ledger) fileIDs(ctx context.Context, rs []*crmsync.Result) (map[string]int64, error) {
	ids := map[string]int64{}
	for _, r := range rs {
		f := r.Source.File
		if _, ok := ids[f]; ok || f == "" {
			continue
		}
		ins, err := l.prep(ctx, `INSERT INTO files (path) VALUES (?) ON CONFLICT (path) DO NOTHING`)
		if err != nil {
			return nil, err
		}
		if _, err := ins.ExecContext(ctx, f); err != nil {
			return nil, err
		}
		sel, err := l.prep(ctx, `SELECT id FROM files WHERE path = ?`)
		if err != nil {
			return nil, err
		}
		var id int64
		if err := sel.QueryRowContext(ctx, f).Scan(&id); err != nil {
			return nil, err
		}
		ids[f] = id
	}
	return ids, nil
}

// sourceIDs returns the sources.id of the (file, sheet) of every row of rs
// that is kept narrow, adding those not yet named. The caller is in a
// write transaction.
func (l *Ledger) sourceIDs(ctx context.Context, rs []*crmsync.Result) (map[crmsync.SourceRef]int64, error) {
	ids := map[crmsync.SourceRef]int64{}
	for _, r := range rs {
		src := crmsync.SourceRef{File: r.Source.File, Sheet: r.Source.Sheet}
		if _, ok := ids[src]; ok || r.Outcome != crmsync.OutcomeUnchanged {
			continue
		}
		ins, err := l.prep(ctx, `INSERT INTO sources (path, sheet) VALUES (?, ?) ON CONFLICT (path, sheet) DO NOTHING`)
		if err != nil {
			return nil, err
		}
		if _, err := ins.ExecContext(ctx, src.File, src.Sheet); err != nil {
			return nil, err
		}
		sel, err := l.prep(ctx, `SELECT id FROM sources WHERE path = ? AND sheet = ?`)
		if err != nil {
			return nil, err
		}
		var id int64
		if err := sel.QueryRowContext(ctx, src.File, src.Sheet).Scan(&id); err != nil {
			return nil, err
		}
		ids[src] = id
	}
	return ids, nil
}

// storedHash is the content hash results keeps for r: "" when it is the
// hash of r's body (own: crmsync.ContentHash of its kind and body is its
// Hash; read back, it is computed again: see scanResult), or when the head
// of r's cells holds it (a row with a body whose hash is a SHA-256 but not
// its body's, schema 9: read back from the head). A changed row keeps its
// hash (resolve makes it the event's).
func storedHash(r *crmsync.Result, own bool) string {
	if r.Outcome == crmsync.OutcomeChanged {
		return r.Hash
	}
	if own || len(r.Body) > 0 && headHolds(r.Hash) {
		return ""
	}
	return r.Hash
}

// headHolds reports whether the head of a row's cells holds its content
// hash when it is not its body's (appendHeadCells): a SHA-256 in hex.
func headHolds(hash string) bool {
	b, ok := hashArg(hash).([]byte)
	return ok && len(b) == sha256.Size
}

// ownHash reports whether r's Hash is the content hash of its body.
func ownHash(r *crmsync.Result) bool {
	return len(r.Body) > 0 && crmsync.ContentHash(r.Kind, r.Body) == r.Hash
}

// Record stores the results of run runID in one transaction. For outcomes
// sent, rejected and failed it also settles the event: state, kind, hash,
// body, Code, Message, and attempts (added to those of earlier runs); the
// event is inserted if it was never claimed. Recording a Seq of the run
// again replaces its outcome, reason, Code, Message and attempts: a row to
// be sent is recorded as new first (it is then in the send queue, see
// Queued), and again with its final outcome. An unchanged row with no
// reason and no answer is kept narrow (same, schema 8): it is final, never
// recorded again under its Seq. The commit survives a process crash; see
// the package comment for power loss.
func (l *Ledger) Record(ctx context.Context, runID int64, rs []*crmsync.Result) error {
	return l.record(ctx, runID, rs, false)
}

// ClaimRecord is Claim of evs and Record of rs in one transaction,
// fsynced like Claim's: the send stage's group commit, where the answers
// that came in meanwhile ride along with the next claims and cost no
// commit of their own. The claims are written first: a result of an event
// in evs is recorded after its claim. Either may be empty.
func (l *Ledger) ClaimRecord(ctx context.Context, runID int64, evs []*crmsync.Event, rs []*crmsync.Result) error {
	if len(evs) == 0 && len(rs) == 0 {
		return nil
	}
	var claimed []claimedEvent
	err := l.writeRetry(ctx, true, func(inPlace bool) error {
		var err error
		if claimed, err = l.claimTx(ctx, runID, evs); err != nil {
			return err
		}
		return l.recordTx(ctx, runID, rs, inPlace)
	})
	if err != nil {
		return fmt.Errorf("claim %d events and record %d results of run %d in ledger %s: %w", len(evs), len(rs), runID, l.path, err)
	}
	l.noteClaimed(runID, claimed)
	return nil
}

// errNotInPlace says an answer recordTx meant to update in place was not
// where noteClaimed said: the transaction is rolled back and written again
// the long way (writeRetry).
var errNotInPlace = errors.New("claimed rows not found in place")

// writeRetry is write of fn(true), and if that fails with errNotInPlace
// (rolled back) of fn(false).
func (l *Ledger) writeRetry(ctx context.Context, durable bool, fn func(inPlace bool) error) error {
	err := l.write(ctx, durable, func(*sql.Conn) error { return fn(true) })
	if errors.Is(err, errNotInPlace) {
		err = l.write(ctx, durable, func(*sql.Conn) error { return fn(false) })
	}
	return err
}

// record is Record, fsynced when durable (for the benchmark that prices
// the choice).
func (l *Ledger) record(ctx context.Context, runID int64, rs []*crmsync.Result, durable bool) error {
	if len(rs) == 0 {
		return nil
	}
	err := l.writeRetry(ctx, durable, func(inPlace bool) error { return l.recordTx(ctx, runID, rs, inPlace) })
	if err != nil {
		return fmt.Errorf("record %d results of run %d in ledger %s: %w", len(rs), runID, l.path, err)
	}
	return nil
}

// recordTx is Record's write; the caller is in a write transaction.
//
// With inPlace, the answers to events this Ledger claimed for the run
// (noteClaimed) whose result row and event row hold what the claim left
// (the queued result's Seq, body and cells) are written as updates of the
// columns an answer changes: the rest of both rows is as the long way
// would write it. If a row is not found as expected the write fails with
// errNotInPlace, to be rolled back and written again without inPlace.
func (l *Ledger) recordTx(ctx context.Context, runID int64, rs []*crmsync.Result, inPlace bool) error {
	if len(rs) == 0 {
		return nil
	}
	now := l.Now().UnixNano()
	keys := make([]eventKey, len(rs))
	withBody := make([]eventKey, 0, len(rs))
	for i, r := range rs {
		keys[i] = keyOf(r.Kind, r.Key)
		if len(r.Body) > 0 {
			withBody = append(withBody, keys[i])
		}
	}
	claimed := l.takeClaimed(runID, withBody)
	if !inPlace {
		claimed = nil
	}
	if len(claimed) > 0 {
		// An event twice in rs takes the long way: its rows are
		// written in order.
		seen := make(map[eventKey]bool, len(rs))
		for _, k := range keys {
			if seen[k] {
				delete(claimed, k)
			}
			seen[k] = true
		}
	}
	bodies, err := l.newBodyIDs(ctx, withBody, claimed)
	if err != nil {
		return err
	}
	files, err := l.fileIDs(ctx, rs)
	if err != nil {
		return err
	}
	sources, err := l.sourceIDs(ctx, rs)
	if err != nil {
		return err
	}
	// file and vals are '' from schema 7 on (file_id, cells_id).
	results := l.newMultiInsertTuple(`INSERT INTO results
	(run_id, seq, file, sheet, row, kind, key, lane, time, vals, outcome, col, reason, code, message, attempts, hash, body_id, previous, cells_id, file_id)`,
		`(?,?,'',?,?,?,?,?,?,'',?,?,?,?,?,?,?,?,?,?,?)`,
		`ON CONFLICT (run_id, seq) DO UPDATE SET
	outcome = excluded.outcome, col = excluded.col, reason = excluded.reason, code = excluded.code,
	message = excluded.message, attempts = excluded.attempts, previous = excluded.previous`)
	events := l.newMultiInsert(`INSERT INTO events
	(keyspace, key, kind, state, hash, body_id, lane, time, code, message, attempts, first_run, last_run, updated, reason, cells_id)`, 16,
		`ON CONFLICT (keyspace, key) DO UPDATE SET
	kind = excluded.kind, state = excluded.state, hash = excluded.hash, body_id = excluded.body_id,
	code = excluded.code, message = excluded.message, attempts = attempts + excluded.attempts, lane = excluded.lane,
	last_run = excluded.last_run, updated = excluded.updated, reason = excluded.reason, cells_id = excluded.cells_id`)
	open := l.newMultiInsert(`INSERT INTO open_rows (kind, key, state, reason, since, run_id, seq, event)`, 8,
		`ON CONFLICT (kind, key) DO UPDATE SET
	state = excluded.state, reason = excluded.reason, run_id = excluded.run_id, seq = excluded.seq, event = excluded.event,
	since = CASE WHEN open_rows.state IN ('changed', 'invalid') THEN open_rows.since ELSE excluded.since END`)
	// A fixed row delivered settles the invalid row it fixes. (Without
	// INDEXED BY SQLite walks every open row of the kind instead.)
	fixed := l.newMultiInsertTuple(`DELETE FROM open_rows INDEXED BY open_rows_event
WHERE event != '' AND state = 'invalid' AND (kind, event) IN (`, `(?,?)`, `)`)
	// The answers updated in place (inPlace): the result row's columns
	// that the upsert of results sets on conflict, and the event's that
	// settle it (kind, hash, body and cells are the claim's already). A
	// prepared one-row UPDATE costs less than the upserts' multi-row
	// statements, and less than UPDATE … FROM (VALUES …), which SQLite
	// materialises first.
	answer, err := l.prep(ctx, `UPDATE results SET outcome = ?3, col = ?4, reason = ?5, code = ?6, message = ?7, attempts = ?8, previous = ?9
WHERE run_id = ?1 AND seq = ?2`)
	if err != nil {
		return err
	}
	// A sent event whose cells' head holds its lane keeps it there only
	// (schema 10): only events not sent are read by lane (Held, Events).
	settle, err := l.prep(ctx, `UPDATE events SET state = ?4, code = ?5, message = ?6, attempts = attempts + ?7, updated = ?8, reason = ?9,
	lane = CASE WHEN ?10 THEN '' ELSE lane END
WHERE keyspace = ?1 AND key = ?2 AND state = '`+string(crmsync.StateInFlight)+`' AND last_run = ?3`)
	if err != nil {
		return err
	}
	// inPlace: answers written in place, and rows they changed.
	var nAnswers, nSettled, changed int64
	inPlaceExec := func(st *sql.Stmt, args ...any) error {
		res, err := st.ExecContext(ctx, args...)
		if err != nil {
			return err
		}
		if k, err := res.RowsAffected(); err == nil {
			changed += k
		}
		return nil
	}
	var fixable *bool // whether an invalid row may be fixed (fixable), once asked
	// A row with nothing of its own to say (a plan's new row): the empty
	// columns as constants, the run's ID bound once a statement.
	plain := l.newMultiInsertLead(`INSERT INTO results
	(run_id, seq, file, sheet, row, kind, key, lane, time, vals, outcome, col, reason, code, message, attempts, hash, body_id, previous, cells_id, file_id)`,
		`(?1,?,'',?,?,?,?,?,?,'',?,'','',NULL,'',0,?,?,NULL,?,?)`, results.tail, runID)
	same := l.newMultiInsertLead(`INSERT INTO same (run_id, seq, kind, row, cells_id, body_id, src_id)`, `(?1,?,?,?,?,?,?)`,
		`ON CONFLICT (run_id, seq) DO NOTHING`, runID)
	// The rows whose body is not their event's are looked for in the
	// latest plan before this run, in a few queries.
	if err := l.lookPlans(ctx, runID, rs, keys, bodies); err != nil {
		return err
	}
	var vbuf, legacy []byte
	for i, r := range rs {
		own := ownHash(r)
		var ha any = "" // hashArg(r.Hash), made once where a column takes it
		if !own || r.Outcome == crmsync.OutcomeChanged || settles(r.Outcome) {
			ha = hashArg(r.Hash)
		}
		if len(r.Body) > 0 {
			var hash []byte
			if !own {
				hash, _ = ha.([]byte)
			}
			vbuf = appendHeadCells(vbuf[:0], r.Values, r.Key, r.Lane, r.Time, hash)
		} else {
			vbuf = appendCells(vbuf[:0], r.Values)
		}
		ref := bodies.refs[keys[i]]
		id, cells, err := bodies.rowIDs(ctx, keys[i], r.Hash, r.Body, vbuf)
		if err != nil {
			return err
		}
		var file any
		if r.Source.File != "" {
			file = files[r.Source.File]
		}
		if r.Outcome == crmsync.OutcomeUnchanged && id != nil {
			if _, known := bodies.refs[keys[i]]; known && ref.cellsID != cells && (len(ref.cells) == 0 || ref.cells[0] != headMark) {
				// The event's cells were stored before schema 8 (or
				// none, before 7): it refers to these from now on, so
				// the next re-run stores no cells again.
				if legacy = appendCells(legacy[:0], r.Values); ref.cellsID == 0 || string(legacy) == string(ref.cells) {
					if err := l.referCells(ctx, keys[i], ref.cellsID, cells); err != nil {
						return err
					}
					ref.cellsID, ref.cells = cells, append([]byte(nil), vbuf...)
					bodies.refs[keys[i]] = ref
				}
			}
		}
		if narrow(r, own, ha) && id != nil {
			src := sources[crmsync.SourceRef{File: r.Source.File, Sheet: r.Source.Sheet}]
			if err := same.add(ctx, r.Seq, string(r.Kind), int64(r.Source.Row), cells, id, src); err != nil {
				return err
			}
			continue
		}
		var prev any
		if len(r.Previous) > 0 {
			prev = r.Previous
		}
		if r.Outcome == crmsync.OutcomeSent {
			if fixable == nil {
				f, err := l.fixable(ctx, rs)
				if err != nil {
					return err
				}
				fixable = &f
			}
			if *fixable {
				if err := fixed.add(ctx, string(r.Kind), r.Key); err != nil {
					return err
				}
			}
		}
		if r.Outcome == crmsync.OutcomeUncertain && r.Attempts > 0 {
			// This run's request got no answer: its claim is uncertain
			// from now on, not in flight until another run begins (retry
			// with nothing to send begins none). Only this run's claim
			// changes; the event keeps its content.
			if _, err := settle.ExecContext(ctx, keys[i].space, r.Key, runID, string(crmsync.StateUncertain),
				code(r.HasCode, r.Code), r.Message, int64(r.Attempts), now, r.Reason, false); err != nil {
				return err
			}
		}
		if c, ok := claimed[keys[i]]; ok && c.seq == r.Seq && id == any(c.bodyID) && cells == c.cellsID && cells != 0 && isAnswer(r.Outcome) {
			// Answered after this Ledger's claim: in place.
			if err := inPlaceExec(answer, runID, r.Seq, string(r.Outcome), r.Column, r.Reason,
				code(r.HasCode, r.Code), r.Message, int64(r.Attempts), prev); err != nil {
				return err
			}
			nAnswers++
			if settles(r.Outcome) {
				bodies.settle(keys[i], r.Hash, id, cells, vbuf)
				if err := inPlaceExec(settle, keys[i].space, r.Key, runID, string(r.Outcome),
					code(r.HasCode, r.Code), r.Message, int64(r.Attempts), now, r.Reason, laneInHead(r)); err != nil {
					return err
				}
				nSettled++
			}
			continue
		}
		stored := ha
		if storedHash(r, own) == "" {
			stored = ""
		}
		// A row with a body has its key in its cells' head: not in
		// results too (schema 10).
		key := r.Key
		if len(r.Body) > 0 {
			key = ""
		}
		if plainRow(r) {
			err = plain.add(ctx, r.Seq, r.Source.Sheet, int64(r.Source.Row),
				string(r.Kind), key, r.Lane, nanos(r.Time), string(r.Outcome), stored, id, cells, file)
		} else {
			err = results.add(ctx, runID, r.Seq, r.Source.Sheet, int64(r.Source.Row),
				string(r.Kind), key, r.Lane, nanos(r.Time), string(r.Outcome), r.Column, r.Reason,
				code(r.HasCode, r.Code), r.Message, int64(r.Attempts), stored, id, prev, cells, file)
		}
		if err != nil {
			return err
		}
		if opens(r.Outcome) {
			if err := open.add(ctx, string(r.Kind), openKey(r), string(r.Outcome), openReason(r), now, runID, r.Seq, openEvent(r)); err != nil {
				return err
			}
		}
		if !settles(r.Outcome) {
			continue
		}
		bodies.settle(keys[i], r.Hash, id, cells, vbuf)
		eha := ha
		if len(r.Body) > 0 {
			eha = eventHashArg(r.Hash, vbuf) // the event refers to these cells
		}
		lane := r.Lane
		if laneInHead(r) {
			lane = ""
		}
		if err := events.add(ctx, keys[i].space, r.Key, string(r.Kind), string(r.Outcome), eha, id,
			lane, nanos(r.Time), code(r.HasCode, r.Code), r.Message, int64(r.Attempts), runID, runID, now, r.Reason, cells); err != nil {
			return err
		}
	}
	for _, m := range []*multiInsert{bodies.ins, bodies.cellsIns, fixed, results, plain, same, events, open} {
		if err := m.flush(ctx); err != nil {
			return err
		}
	}
	if changed != nAnswers+nSettled {
		return errNotInPlace
	}
	l.inPlace.Add(nAnswers)
	return nil
}

// lookPlans looks the rows of rs (of events keys) whose body is not their
// event's up in the latest plan run before run runID whose results are
// kept (bodies.lookPlan); none when there is no such plan.
func (l *Ledger) lookPlans(ctx context.Context, runID int64, rs []*crmsync.Result, keys []eventKey, bodies *bodyIDs) error {
	var ps []planned
	for i, r := range rs {
		if t, ok := nanos(r.Time).(int64); ok && len(r.Body) > 0 && !bodies.ownBody(keys[i], r.Hash) {
			ps = append(ps, planned{keys[i], r.Lane, t})
		}
	}
	if len(ps) == 0 {
		return nil
	}
	st, err := l.prep(ctx, `SELECT coalesce(max(id), 0) FROM runs WHERE command = 'plan' AND pruned = 0 AND id < ?`)
	if err != nil {
		return err
	}
	var plan int64
	if err := st.QueryRowContext(ctx, runID).Scan(&plan); err != nil || plan == 0 {
		return err
	}
	return bodies.lookPlan(ctx, plan, ps)
}

// laneInHead reports whether the event r settles keeps its lane in its
// cells' head only (events.lane empty, schema 10): a sent event whose
// cells are r's, which have a head (a row with a body). Held and retry
// read events not sent; Events reads the lane from the head.
func laneInHead(r *crmsync.Result) bool {
	return r.Outcome == crmsync.OutcomeSent && len(r.Body) > 0
}

// plainRow reports whether result r has no column, reason, answer,
// attempts or previous body: the columns plain (Record) writes as
// constants.
func plainRow(r *crmsync.Result) bool {
	return r.Column == "" && r.Reason == "" && !r.HasCode && r.Code == 0 && r.Message == "" && r.Attempts == 0 && len(r.Previous) == 0
}

// fixable reports whether a sent result may fix an invalid row (see
// recordTx): the ledger holds an invalid row with an event key, or rs
// does. Most runs have none, and their answers then delete nothing.
func (l *Ledger) fixable(ctx context.Context, rs []*crmsync.Result) (bool, error) {
	for _, r := range rs {
		if openEvent(r) != "" {
			return true, nil
		}
	}
	st, err := l.prep(ctx, `SELECT EXISTS (SELECT 1 FROM open_rows INDEXED BY open_rows_event WHERE event != '' AND state = 'invalid')`)
	if err != nil {
		return false, err
	}
	var ok bool
	err = st.QueryRowContext(ctx).Scan(&ok)
	return ok, err
}

// isAnswer reports whether a result with outcome o is an answer to (or the
// end of) a claim: what recordTx may write in place.
func isAnswer(o crmsync.Outcome) bool {
	return o == crmsync.OutcomeSent || o == crmsync.OutcomeRejected || o == crmsync.OutcomeFailed || o == crmsync.OutcomeUncertain
}

// narrow reports whether result r is stored in same rather than results
// (given a body ID): an unchanged row with nothing of its own to say, whose
// content hash is its body's or a SHA-256 (which its cells' head holds);
// ha is hashArg(r.Hash).
func narrow(r *crmsync.Result, own bool, ha any) bool {
	if r.Outcome != crmsync.OutcomeUnchanged || r.Column != "" || r.Reason != "" || r.HasCode || r.Code != 0 ||
		r.Message != "" || r.Attempts != 0 || len(r.Previous) != 0 || len(r.Body) == 0 || r.Key == "" {
		return false
	}
	if own {
		return true
	}
	_, hex := ha.([]byte)
	return hex
}

// referCells makes event k refer to cells to instead of from (0: none).
func (l *Ledger) referCells(ctx context.Context, k eventKey, from, to int64) error {
	st, err := l.prep(ctx, `UPDATE events SET cells_id = ?1 WHERE keyspace = ?2 AND key = ?3 AND coalesce(cells_id, 0) = ?4`)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, to, k.space, k.key, from)
	return err
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
	// events_state holds no sent event: without sent among states, the
	// query says so and SQLite uses it.
	notSent := " AND e.state <> 'sent'"
	for _, s := range states {
		if s == crmsync.StateSent {
			notSent = ""
		}
	}
	rows, err := l.db.QueryContext(ctx, `SELECT e.key, e.kind, e.state, e.hash, b.body, e.lane, e.time, e.code, e.message, e.attempts, c.vals
FROM events e LEFT JOIN bodies b ON b.id = e.body_id LEFT JOIN cells c ON c.id = e.cells_id
WHERE e.state IN (?`+strings.Repeat(",?", len(states)-1)+`)`+notSent+`
ORDER BY e.lane, e.time, e.keyspace, e.key`, args...)
	if err != nil {
		return fmt.Errorf("list events %v in ledger %s: %w", states, l.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			key, kind, state, lane, msg string
			body, hb, cv                []byte
			t, code                     sql.NullInt64
			attempts                    int
		)
		if err := rows.Scan(&key, &kind, &state, &hb, (*storedBody)(&body), &lane, &t, &code, &msg, &attempts, &cv); err != nil {
			return fmt.Errorf("list events %v in ledger %s: %w", states, l.path, err)
		}
		hash := eventHash(hb, cv)
		if lane == "" { // a sent event's, in its cells' head (laneInHead)
			if h, _, _, ok, err := splitHead(cv, l.Location); err == nil && ok {
				lane = h.lane
			}
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
