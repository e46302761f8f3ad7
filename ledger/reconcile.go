package ledger

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// The reconciliation's vocabulary is the root package's (report reads it
// too); these names keep the ledger's callers as they were.
type (
	Category = crmsync.Category
	Entry    = crmsync.ReconcileEntry
	Window   = crmsync.Window
)

// Categories of a reconciliation (crmsync.Category).
const (
	Matched    = crmsync.CategoryMatched
	Mismatched = crmsync.CategoryMismatched
	Missing    = crmsync.CategoryMissing
	Orphan     = crmsync.CategoryOrphan
	Invalid    = crmsync.CategoryInvalid
	Skipped    = crmsync.CategorySkipped
)

// ReconcileOptions tune a reconciliation.
type ReconcileOptions struct {
	// Since and Until (exclusive) limit the comparison by event time, as
	// for a run; zero means the files' own window: from the first whole
	// day (China time) of their rows of each kind to the end of the last.
	Since, Until time.Time
	// Batch is the number of rows looked up per round trip (default 500).
	Batch int
	// SameContent, when set, reports whether a body sent before holds an
	// event's content although the content hashes differ (see
	// crmsync.Diff); a run then calls the row unchanged, and so does the
	// reconciliation (matched).
	SameContent func(ev *crmsync.Event, prior []byte) bool
	// KeyOf, when set, reads the event key of a row that fails validation
	// from its cells (importer.KeyOf, as a run does): when the ledger has
	// that key delivered, the row's fixed version was, and the row counts
	// as fixed (crmsync.Fixed): matched, its key no orphan, its totals the
	// delivered version's.
	KeyOf func(*crmsync.Row) (string, bool)
}

// Reconciliation compares file rows with the ledger, both ways, without
// writing to the ledger. Feed it rows with Add (in file order), then call
// Finish; every row and every orphan is passed to the emit function given
// to Reconcile, in order. A Reconciliation is not safe for concurrent use.
//
// It reads through one connection of its own inside one read transaction,
// so every answer comes from one snapshot of the ledger, even while a run
// writes beside it (WAL). The keys of the rows read are kept in a TEMP
// table on that connection (a temporary file, not the ledger): duplicates
// are found and orphans anti-joined there, so memory stays flat whatever
// the number of rows.
type Reconciliation struct {
	l     *Ledger
	ctx   context.Context
	conn  *sql.Conn
	opt   ReconcileOptions
	emit  func(*Entry) error
	batch []*crmsync.Row

	stmts   stmtCache
	files   map[crmsync.SourceRef]int64 // file+sheet (Row 0) → id in the temp table
	refs    []crmsync.SourceRef         // by id
	seen    map[crmsync.Kind][2]time.Time
	kinds   map[crmsync.Kind]bool
	running bool
	done    bool
}

// OpenReadOnly opens an existing ledger for reading only, as crmsync
// reconcile does: SQLite refuses every write to the file (mode=ro), no
// migration runs, and a missing file is an error rather than a new, empty
// ledger. A ledger of an older schema is read as it is (reading needs only
// the first schema's events and bodies); one written by a newer crmsync is
// refused (*NewerSchemaError), as is a file that is not a ledger. Only the
// reading methods may be used; Claim, Record and BeginRun fail.
func OpenReadOnly(ctx context.Context, path string) (*Ledger, error) {
	return open(ctx, path, true, 0o600)
}

// Schema returns the schema version of the ledger's file: SchemaVersion()
// once Open has taken it forward, maybe less for OpenReadOnly, which reads
// a ledger as it is.
func (l *Ledger) Schema(ctx context.Context) (int, error) {
	var v int
	if err := l.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("schema of ledger %s: %w", l.path, err)
	}
	return v, nil
}

// check is Open's migrate for a read-only ledger: it only looks.
func (l *Ledger) check(ctx context.Context) error {
	var have, appID int
	err := l.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&have)
	if err == nil {
		err = l.db.QueryRowContext(ctx, "PRAGMA application_id").Scan(&appID)
	}
	switch {
	case err != nil:
		return openErr(l.path, err)
	case appID != applicationID || have == 0:
		return &FileError{Path: l.path, Problem: ProblemNotLedger}
	}
	return checkSchema(l.path, have, SchemaVersion())
}

// Reconcile starts a reconciliation of l with the rows that will be given
// to Add. emit receives every entry; an error from it stops the
// reconciliation and is returned by Add or Finish. The caller must Close
// the Reconciliation.
func (l *Ledger) Reconcile(ctx context.Context, opt ReconcileOptions, emit func(*Entry) error) (*Reconciliation, error) {
	if opt.Batch <= 0 {
		opt.Batch = lookupBatch
	}
	_, other, err := l.lockHeld()
	if err != nil {
		return nil, fmt.Errorf("reconcile ledger %s: %w", l.path, err)
	}
	conn, err := l.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("reconcile ledger %s: %w", l.path, err)
	}
	r := &Reconciliation{
		l: l, ctx: ctx, conn: conn, opt: opt, emit: emit,
		files:   map[crmsync.SourceRef]int64{},
		seen:    map[crmsync.Kind][2]time.Time{},
		kinds:   map[crmsync.Kind]bool{},
		running: other,
	}
	for _, q := range []string{
		`DROP TABLE IF EXISTS temp.reconcile_keys`,
		`CREATE TEMP TABLE reconcile_keys (
	keyspace TEXT NOT NULL,
	key      TEXT NOT NULL,
	file     INTEGER NOT NULL,
	row      INTEGER NOT NULL,
	fix      INTEGER NOT NULL DEFAULT 0, -- only an invalid row's key (KeyOf): no orphan, but no duplicate either
	PRIMARY KEY (keyspace, key)
) WITHOUT ROWID`,
		// One snapshot of the ledger for the whole reconciliation; the
		// temp table is written inside it without taking the ledger's
		// write lock.
		`BEGIN`,
	} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			conn.Close()
			return nil, fmt.Errorf("reconcile ledger %s: %w", l.path, err)
		}
	}
	return r, nil
}

// RunActive reports whether another process held the ledger's run lock when
// the reconciliation started: its events may still be in flight.
func (r *Reconciliation) RunActive() bool { return r.running }

// Close ends the read transaction and drops the temporary keys.
func (r *Reconciliation) Close() error {
	if r.conn == nil {
		return nil
	}
	ctx := context.WithoutCancel(r.ctx)
	r.stmts.close()
	_, err1 := r.conn.ExecContext(ctx, `ROLLBACK`)
	_, err2 := r.conn.ExecContext(ctx, `DROP TABLE IF EXISTS temp.reconcile_keys`)
	err3 := r.conn.Close()
	r.conn = nil
	if err1 != nil {
		return fmt.Errorf("reconcile ledger %s: end: %w", r.l.path, err1)
	}
	if err2 != nil {
		return fmt.Errorf("reconcile ledger %s: end: %w", r.l.path, err2)
	}
	return err3
}

// Add takes one file row. Rows are compared in batches; entries reach emit
// in row order.
func (r *Reconciliation) Add(row *crmsync.Row) error {
	if r.done {
		return fmt.Errorf("reconcile ledger %s: Add after Finish", r.l.path)
	}
	r.batch = append(r.batch, row)
	if len(r.batch) >= r.opt.Batch {
		return r.flush(r.ctx)
	}
	return nil
}

// Finish compares the rows still held, then emits the orphans: for each
// kind of the rows read, the events the ledger has sent whose event time is
// in the kind's window and whose key no row has. Kinds without an event
// time (over-limit, invalid) are compared one way only. It returns the
// windows used, in kind order.
func (r *Reconciliation) Finish(ctx context.Context) ([]Window, error) {
	if r.done {
		return nil, fmt.Errorf("reconcile ledger %s: Finish called twice", r.l.path)
	}
	if err := r.flush(ctx); err != nil {
		return nil, err
	}
	r.done = true
	var ws []Window
	for _, k := range crmsync.Kinds {
		if !r.kinds[k] {
			continue
		}
		w, ok := r.window(k)
		if !ok {
			continue
		}
		ws = append(ws, w)
		if err := r.orphans(ctx, w); err != nil {
			return nil, fmt.Errorf("reconcile ledger %s: orphans of %s: %w", r.l.path, k, err)
		}
	}
	return ws, nil
}

// window returns kind k's window: -since/-until, else whole China days
// around the rows' event times. ok is false when neither bound is known.
func (r *Reconciliation) window(k crmsync.Kind) (Window, bool) {
	w := Window{Kind: k, Since: r.opt.Since, Until: r.opt.Until}
	mm, seen := r.seen[k]
	if w.Since.IsZero() {
		if !seen {
			return w, false
		}
		y, m, d := mm[0].In(cst).Date()
		w.Since = time.Date(y, m, d, 0, 0, 0, 0, cst)
	}
	if w.Until.IsZero() {
		if !seen {
			return w, false
		}
		y, m, d := mm[1].In(cst).Date()
		w.Until = time.Date(y, m, d+1, 0, 0, 0, 0, cst)
	}
	return w, true
}

// outside reports whether t is outside -since/-until.
func (r *Reconciliation) outside(t time.Time) bool {
	return crmsync.Span{Since: r.opt.Since, Until: r.opt.Until}.Outside(t)
}

// stmt returns query prepared on the reconciliation's connection, once.
func (r *Reconciliation) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	return r.stmts.prepare(ctx, r.conn, query)
}

func (r *Reconciliation) keyRows(query string) keyQuery {
	return func(ctx context.Context, n int, args []any) (*sql.Rows, error) {
		st, err := r.stmt(ctx, keysSQL(query, n))
		if err != nil {
			return nil, err
		}
		return st.QueryContext(ctx, args...)
	}
}

// fileID returns the temp table's id of a row's file and sheet.
func (r *Reconciliation) fileID(ref crmsync.SourceRef) int64 {
	ref.Row = 0
	id, ok := r.files[ref]
	if !ok {
		id = int64(len(r.refs))
		r.refs = append(r.refs, ref)
		r.files[ref] = id
	}
	return id
}

// ledgerEvent is what the ledger holds of one key.
type ledgerEvent struct {
	kind, state, hash, msg string
	bodyID, t, code        sql.NullInt64
	body                   []byte
}

const reconcileLookup = `SELECT e.keyspace, e.key, e.kind, e.state, e.hash, e.body_id, e.time, e.code, e.message, c.vals
FROM events e LEFT JOIN cells c ON c.id = e.cells_id WHERE (e.keyspace, e.key) IN`

// scanLedgerEvent reads a row of reconcileLookup.
func scanLedgerEvent(rows *sql.Rows) (eventKey, *ledgerEvent, error) {
	var (
		k      eventKey
		le     ledgerEvent
		hb, cv []byte
	)
	if err := rows.Scan(&k.space, &k.key, &le.kind, &le.state, &hb, &le.bodyID, &le.t, &le.code, &le.msg, &cv); err != nil {
		return k, nil, err
	}
	le.hash = eventHash(hb, cv)
	return k, &le, nil
}

const earlierKeys = `SELECT keyspace, key, file, row FROM temp.reconcile_keys WHERE fix = 0 AND (keyspace, key) IN`

// flush compares the rows held.
func (r *Reconciliation) flush(ctx context.Context) error {
	if len(r.batch) == 0 {
		return nil
	}
	if err := r.compare(ctx); err != nil {
		return fmt.Errorf("reconcile ledger %s: %w", r.l.path, err)
	}
	clear(r.batch)
	r.batch = r.batch[:0]
	return nil
}

func (r *Reconciliation) compare(ctx context.Context) error {
	entries := make([]Entry, len(r.batch))
	// first maps each key of the batch to the index of its first row.
	first := make(map[eventKey]int, len(r.batch))
	var keys []eventKey
	// fixes are the invalid rows whose key their cells give (KeyOf).
	var fixes []int
	for i, row := range r.batch {
		e := &entries[i]
		e.Kind, e.Source, e.Values = row.Kind, row.Source, row.Values
		r.kinds[row.Kind] = true
		if row.Event == nil {
			e.Category = Invalid
			if row.Problem != nil {
				e.Column, e.Reason = row.Problem.Column, row.Problem.Reason
				if len(row.Problems) > 0 {
					e.Reason = crmsync.EncodeProblems(row.Problems)
				}
			}
			if r.opt.KeyOf != nil {
				if key, ok := r.opt.KeyOf(row); ok {
					e.Key = key
					fixes = append(fixes, i)
				}
			}
			continue
		}
		ev := row.Event
		e.Key, e.Time, e.Body = ev.Key, ev.Time, ev.Body
		if r.outside(ev.Time) {
			e.Category = Skipped
			e.Reason = crmsync.OutsideReason()
			continue
		}
		if !ev.Time.IsZero() {
			mm, ok := r.seen[row.Kind]
			if !ok || ev.Time.Before(mm[0]) {
				mm[0] = ev.Time
			}
			if !ok || ev.Time.After(mm[1]) {
				mm[1] = ev.Time
			}
			r.seen[row.Kind] = mm
		}
		k := keyOf(ev.Kind, ev.Key)
		if j, dup := first[k]; dup {
			markDuplicate(e, r.batch[j].Source)
			continue
		}
		first[k] = i
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return r.settle(ctx, entries, fixes)
	}

	// Keys met in earlier batches.
	err := eachKeyBatch(ctx, r.keyRows(earlierKeys), keys, func(rows *sql.Rows) error {
		var (
			k         eventKey
			file, row int64
		)
		if err := rows.Scan(&k.space, &k.key, &file, &row); err != nil {
			return err
		}
		ref := r.refs[file]
		ref.Row = int(row)
		markDuplicate(&entries[first[k]], ref)
		delete(first, k)
		return nil
	})
	if err != nil {
		return err
	}
	keys = keys[:0]
	for i := range entries {
		if entries[i].Category != "" {
			continue
		}
		row := r.batch[i]
		if j, ok := first[keyOf(row.Event.Kind, row.Event.Key)]; ok && j == i {
			keys = append(keys, keyOf(row.Event.Kind, row.Event.Key))
		}
	}
	if len(keys) == 0 {
		return r.settle(ctx, entries, fixes)
	}

	// Remember them, for later duplicates and the orphans' anti-join.
	ins := make([]any, 0, 4*64)
	for start := 0; start < len(keys); {
		n := min(64, len(keys)-start)
		c := 1
		for c*2 <= n {
			c *= 2
		}
		ins = ins[:0]
		for _, k := range keys[start : start+c] {
			src := r.batch[first[k]].Source
			ins = append(ins, k.space, k.key, r.fileID(src), int64(src.Row))
		}
		st, err := r.stmt(ctx, `INSERT INTO temp.reconcile_keys (keyspace, key, file, row) VALUES (?,?,?,?)`+strings.Repeat(",(?,?,?,?)", c-1)+
			` ON CONFLICT (keyspace, key) DO UPDATE SET file = excluded.file, row = excluded.row, fix = 0`)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, ins...); err != nil {
			return err
		}
		start += c
	}

	// What the ledger holds of them; a body the row has (same hash) is not
	// read again.
	found, err := r.lookup(ctx, keys, func(k eventKey, le *ledgerEvent) ([]byte, bool) {
		ev := r.batch[first[k]].Event
		return ev.Body, le.hash == ev.Hash
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		i := first[k]
		classifyEntry(&entries[i], r.batch[i].Event, found[k], r.l.Location, r.opt.SameContent)
	}
	return r.settle(ctx, entries, fixes)
}

// settle looks up the keys of the invalid rows fixes (indexes of entries and
// r.batch) and counts as fixed those whose fixed version the ledger has
// delivered (crmsync.Fixed), then emits the entries. A fixed row is matched
// with the delivered version's time and body (what the row stands for: the
// totals tie out), and its key is no orphan; it is not a key met, so a row
// of the fixed version read later in the files is no duplicate.
func (r *Reconciliation) settle(ctx context.Context, entries []Entry, fixes []int) error {
	if len(fixes) == 0 {
		return r.emitAll(entries)
	}
	keys := make([]eventKey, 0, len(fixes))
	at := make(map[eventKey][]int, len(fixes))
	for _, i := range fixes {
		k := keyOf(r.batch[i].Kind, entries[i].Key)
		if at[k] == nil {
			keys = append(keys, k)
		}
		at[k] = append(at[k], i)
	}
	found, err := r.lookup(ctx, keys, nil)
	if err != nil {
		return err
	}
	var settled []eventKey
	for _, k := range keys {
		le := found[k]
		if le == nil {
			continue
		}
		p := crmsync.Prior{State: crmsync.State(le.state), Kind: crmsync.Kind(le.kind), Hash: le.hash, Body: le.body}
		if _, ok := crmsync.Fixed(r.batch[at[k][0]], k.key, p); !ok {
			continue
		}
		for _, i := range at[k] {
			v, _ := crmsync.Fixed(r.batch[i], k.key, p)
			e := &entries[i]
			t := timeIn(le.t, r.l.Location)
			if r.outside(t) {
				e.Category, e.Reason, e.Column = Skipped, crmsync.OutsideReason(), ""
				continue
			}
			e.Category, e.Fixed, e.Column, e.Reason = Matched, true, "", v.Reason
			e.State = crmsync.State(le.state)
			e.LedgerKind, e.LedgerTime, e.LedgerBody = crmsync.Kind(le.kind), t, le.body
			e.HasCode, e.Code, e.Message = le.code.Valid, int(le.code.Int64), le.msg
			e.Time, e.Body = t, le.body
			if !t.IsZero() {
				mm, ok := r.seen[e.Kind]
				if !ok || t.Before(mm[0]) {
					mm[0] = t
				}
				if !ok || t.After(mm[1]) {
					mm[1] = t
				}
				r.seen[e.Kind] = mm
			}
		}
		settled = append(settled, k)
	}
	for _, k := range settled {
		st, err := r.stmt(ctx, `INSERT INTO temp.reconcile_keys (keyspace, key, file, row, fix) VALUES (?,?,0,0,1) ON CONFLICT (keyspace, key) DO NOTHING`)
		if err != nil {
			return err
		}
		if _, err := st.ExecContext(ctx, k.space, k.key); err != nil {
			return err
		}
	}
	return r.emitAll(entries)
}

// lookup returns what the ledger holds of keys (reconcileLookup), each
// event with its body: known, when not nil, gives a body the caller
// already has (true), else it is read from the ledger.
func (r *Reconciliation) lookup(ctx context.Context, keys []eventKey, known func(eventKey, *ledgerEvent) ([]byte, bool)) (map[eventKey]*ledgerEvent, error) {
	found := make(map[eventKey]*ledgerEvent, len(keys))
	var want map[int64][]*ledgerEvent
	err := eachKeyBatch(ctx, r.keyRows(reconcileLookup), keys, func(rows *sql.Rows) error {
		k, le, err := scanLedgerEvent(rows)
		if err != nil {
			return err
		}
		if known != nil {
			if b, ok := known(k, le); ok {
				le.body = b
				found[k] = le
				return nil
			}
		}
		if le.bodyID.Valid {
			if want == nil {
				want = map[int64][]*ledgerEvent{}
			}
			want[le.bodyID.Int64] = append(want[le.bodyID.Int64], le)
		}
		found[k] = le
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := r.bodies(ctx, want); err != nil {
		return nil, err
	}
	return found, nil
}

// bodies reads the bodies wanted by ID.
func (r *Reconciliation) bodies(ctx context.Context, want map[int64][]*ledgerEvent) error {
	if len(want) == 0 {
		return nil
	}
	ids := make([]any, 0, len(want))
	for id := range want {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(a, b int) bool { return ids[a].(int64) < ids[b].(int64) })
	for start := 0; start < len(ids); start += lookupBatch {
		part := ids[start:min(start+lookupBatch, len(ids))]
		rows, err := r.conn.QueryContext(ctx, `SELECT id, body FROM bodies WHERE id IN (?`+strings.Repeat(",?", len(part)-1)+`)`, part...)
		if err != nil {
			return err
		}
		for rows.Next() {
			var (
				id   int64
				body storedBody
			)
			if err := rows.Scan(&id, &body); err != nil {
				rows.Close()
				return err
			}
			for _, le := range want[id] {
				le.body = body
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

func markDuplicate(e *Entry, first crmsync.SourceRef) {
	e.Category = Invalid
	e.Duplicate = true
	e.First = first
	e.Reason = crmsync.DuplicateReason(first)
}

// classifyEntry sets the category of a file row from the ledger's event
// of its key (nil: never seen), by the diff table (crmsync.Diff): a row a
// run would leave unchanged is matched, one it would call changed is
// mismatched, any other was never delivered (missing).
func classifyEntry(e *Entry, ev *crmsync.Event, le *ledgerEvent, loc *time.Location, sameContent func(*crmsync.Event, []byte) bool) {
	if le == nil {
		e.Category = Missing
		e.State = crmsync.StateNone
		e.Reason = crmsync.Because(crmsync.ReasonNeverSent)
		return
	}
	e.State = crmsync.State(le.state)
	e.LedgerKind = crmsync.Kind(le.kind)
	e.LedgerTime = timeIn(le.t, loc)
	e.LedgerBody = le.body
	e.HasCode, e.Code, e.Message = le.code.Valid, int(le.code.Int64), le.msg
	switch crmsync.Diff(ev, crmsync.Prior{State: e.State, Hash: le.hash, Body: le.body}, false, sameContent).Outcome {
	case crmsync.OutcomeUnchanged:
		e.Category = Matched
		return
	case crmsync.OutcomeChanged:
		e.Category = Mismatched
		e.Reason = crmsync.Because(crmsync.ReasonLedgerOther)
		return
	}
	e.Category = Missing
	var ps []crmsync.Problem
	switch e.State {
	case crmsync.StateFailed:
		ps = append(ps, crmsync.BecauseOf(crmsync.ReasonLedgerFailed))
	case crmsync.StateRejected:
		ps = append(ps, crmsync.BecauseOf(crmsync.ReasonLedgerRejected))
	case crmsync.StateUncertain:
		ps = append(ps, crmsync.BecauseOf(crmsync.ReasonLedgerUncertain))
	case crmsync.StateInFlight:
		ps = append(ps, crmsync.BecauseOf(crmsync.ReasonLedgerInFlight))
	default:
		ps = append(ps, crmsync.BecauseOf(crmsync.ReasonLedgerState, le.state))
	}
	if le.hash != ev.Hash {
		ps = append(ps, crmsync.BecauseOf(crmsync.ReasonLedgerHolds))
	}
	e.Reason = crmsync.EncodeProblems(ps)
}

func (r *Reconciliation) emitAll(entries []Entry) error {
	for i := range entries {
		if err := r.emit(&entries[i]); err != nil {
			return err
		}
	}
	return nil
}

// orphans emits the sent events of w's kind and window whose keys no row
// had. events is scanned in key order; each candidate costs one probe of
// the temp table.
func (r *Reconciliation) orphans(ctx context.Context, w Window) error {
	rows, err := r.conn.QueryContext(ctx, `SELECT e.key, e.kind, e.time, e.code, e.message, b.body
FROM events e LEFT JOIN bodies b ON b.id = e.body_id
WHERE e.kind = ? AND e.state = ? AND e.time >= ? AND e.time < ?
  AND NOT EXISTS (SELECT 1 FROM temp.reconcile_keys r WHERE r.keyspace = e.keyspace AND r.key = e.key)
ORDER BY e.time, e.key`, string(w.Kind), string(crmsync.StateSent), w.Since.UnixNano(), w.Until.UnixNano())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			e       Entry
			kind    string
			t, code sql.NullInt64
		)
		if err := rows.Scan(&e.Key, &kind, &t, &code, &e.Message, (*storedBody)(&e.LedgerBody)); err != nil {
			return err
		}
		e.Category = Orphan
		e.Kind = crmsync.Kind(kind)
		e.LedgerKind = e.Kind
		e.State = crmsync.StateSent
		e.LedgerTime = timeIn(t, r.l.Location)
		e.HasCode, e.Code = code.Valid, int(code.Int64)
		e.Reason = crmsync.Because(crmsync.ReasonNoFileRow)
		if err := r.emit(&e); err != nil {
			return err
		}
	}
	return rows.Err()
}
