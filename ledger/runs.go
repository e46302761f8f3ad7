package ledger

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/crmsync/crmsync"
)

// Run statuses, as RunInfo.Status shows them.
const (
	RunRunning = "running"
	RunDone    = "done"
	RunDied    = "died" // never ended: killed, crashed or lost power
	// RunInterrupted ended early on SIGINT/SIGTERM, what was done recorded.
	RunInterrupted = "interrupted"
	// RunFailed ended with a run-level failure (the API unusable, the
	// ledger, the report); its reason says which.
	RunFailed = "failed"
)

// ReasonInterrupted is the reason of a run ended by SIGINT or SIGTERM.
// It is kept as its text, "中文 / English".
var ReasonInterrupted = crmsync.Say("中断(SIGINT/SIGTERM),已完成的工作已记录", "interrupted (SIGINT/SIGTERM); the work done is recorded")

// ReasonDied is the reason of a run that never ended (RunDied).
var ReasonDied = crmsync.Say("进程未结束运行即退出(被杀死、崩溃或断电)", "the process ended without ending the run (killed, crashed or power lost)")

// BeginRun records a new run and returns its ID. It must be called under the
// run lock (Lock), because it first turns every event left in flight into
// uncertain and marks runs that never ended as died: with the lock held, no
// other run can be alive to own them. The commit is fsynced.
func (l *Ledger) BeginRun(ctx context.Context, command string, args []string, started time.Time) (int64, error) {
	if !l.holdsLock() {
		return 0, fmt.Errorf("begin run in ledger %s: the ledger is not locked (call Lock first)", l.path)
	}
	if args == nil {
		args = []string{}
	}
	argsJSON, err := json.Marshal(args)
	if err != nil {
		return 0, fmt.Errorf("begin run in ledger %s: %w", l.path, err)
	}
	host, _ := os.Hostname()
	var id int64
	err = l.write(ctx, true, func(w *sql.Conn) error {
		if err := l.recoverDead(ctx, w); err != nil {
			return err
		}
		res, err := w.ExecContext(ctx, `INSERT INTO runs (command, args, started, status, pid, host) VALUES (?, ?, ?, ?, ?, ?)`,
			command, string(argsJSON), started.UnixNano(), RunRunning, os.Getpid(), host)
		if err != nil {
			return err
		}
		id, err = res.LastInsertId()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("begin run in ledger %s: %w", l.path, err)
	}
	return id, nil
}

// Recover does what BeginRun does first, for a command that may record no
// run (retry with nothing to send): runs that never ended are marked died
// and events left in flight become uncertain. It must be called under the
// run lock. The commit is fsynced.
func (l *Ledger) Recover(ctx context.Context) error {
	if !l.holdsLock() {
		return fmt.Errorf("recover ledger %s: the ledger is not locked (call Lock first)", l.path)
	}
	if err := l.write(ctx, true, func(w *sql.Conn) error { return l.recoverDead(ctx, w) }); err != nil {
		return fmt.Errorf("recover ledger %s: %w", l.path, err)
	}
	return nil
}

// recoverDead marks runs that never ended as died and their events in
// flight as uncertain; with the lock held, no other run can own them.
func (l *Ledger) recoverDead(ctx context.Context, w *sql.Conn) error {
	if _, err := w.ExecContext(ctx, `UPDATE runs SET status = ? WHERE status = ?`, RunDied, RunRunning); err != nil {
		return err
	}
	_, err := w.ExecContext(ctx, `UPDATE events SET state = ?, updated = ?, reason = ? WHERE state = ?`,
		string(crmsync.StateUncertain), l.Now().UnixNano(), ReasonInFlightDied, string(crmsync.StateInFlight))
	return err
}

// EndRun stores the final summary of run s.RunID (as JSON, and its Files
// as rows) and marks the run interrupted when s.Interrupt, failed when
// sending stopped (s.Stopped), else done. The commit is fsynced, and with it
// every Record of the run.
func (l *Ledger) EndRun(ctx context.Context, s *crmsync.Summary) error {
	switch {
	case s.Interrupt:
		return l.EndRunAs(ctx, s, RunInterrupted, ReasonInterrupted.String())
	case !s.Stopped.IsZero():
		return l.EndRunAs(ctx, s, RunFailed, s.Stopped.String())
	}
	return l.EndRunAs(ctx, s, RunDone, "")
}

// EndRunAs is EndRun with how the run ended: status RunDone,
// RunInterrupted or RunFailed, and why (empty for done).
func (l *Ledger) EndRunAs(ctx context.Context, s *crmsync.Summary, status, reason string) error {
	b, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("end run %d in ledger %s: %w", s.RunID, l.path, err)
	}
	ended := s.Ended
	if ended.IsZero() {
		ended = l.Now()
	}
	err = l.write(ctx, true, func(w *sql.Conn) error {
		res, err := w.ExecContext(ctx, `UPDATE runs SET ended = ?, status = ?, reason = ?, summary = ? WHERE id = ?`,
			ended.UnixNano(), status, reason, string(b), s.RunID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return ErrNoRun
		}
		if _, err := w.ExecContext(ctx, `DELETE FROM run_files WHERE run_id = ?`, s.RunID); err != nil {
			return err
		}
		st, err := w.PrepareContext(ctx, `INSERT INTO run_files (run_id, idx, path, sheet, kind, rows, problem) VALUES (?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer st.Close()
		for i, f := range s.Files {
			if _, err := st.ExecContext(ctx, s.RunID, i, f.Path, f.Sheet, string(f.Kind), f.Rows, f.Problem.String()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("end run %d in ledger %s: %w", s.RunID, l.path, err)
	}
	return nil
}

// Summary returns the summary of run runID as EndRun stored it. For a run
// that never ended (still running, or died) it rebuilds what it can from
// the recorded results: command, start, rows and counts; Ended stays zero.
// An unknown run is an error wrapping ErrNoRun.
func (l *Ledger) Summary(ctx context.Context, runID int64) (*crmsync.Summary, error) {
	var (
		command string
		started int64
		summary sql.NullString
	)
	err := l.db.QueryRowContext(ctx, `SELECT command, started, summary FROM runs WHERE id = ?`, runID).Scan(&command, &started, &summary)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("summary of run %d in ledger %s: %w", runID, l.path, ErrNoRun)
	}
	if err != nil {
		return nil, fmt.Errorf("summary of run %d in ledger %s: %w", runID, l.path, err)
	}
	if summary.Valid {
		s := new(crmsync.Summary)
		if err := json.Unmarshal([]byte(summary.String), s); err != nil {
			return nil, fmt.Errorf("summary of run %d in ledger %s: %w", runID, l.path, err)
		}
		return s, nil
	}
	s := crmsync.NewSummary(runID, command, time.Unix(0, started))
	err = l.counts(ctx, runID, func(k crmsync.Kind, o crmsync.Outcome, n int) {
		s.Rows += n
		s.Counts[o] += n
		if s.ByKind[k] == nil {
			s.ByKind[k] = map[crmsync.Outcome]int{}
		}
		s.ByKind[k][o] += n
	})
	if err != nil {
		return nil, fmt.Errorf("summary of run %d in ledger %s: %w", runID, l.path, err)
	}
	return s, nil
}

// counts calls fn with the number of results of run runID per kind and
// outcome.
func (l *Ledger) counts(ctx context.Context, runID int64, fn func(crmsync.Kind, crmsync.Outcome, int)) error {
	return l.eachCount(ctx, `SELECT kind, outcome, count(*) FROM results WHERE run_id = ?1 GROUP BY kind, outcome
UNION ALL SELECT kind, 'unchanged', count(*) FROM same WHERE run_id = ?1 GROUP BY kind`, []any{runID}, func(k, o string, n int) {
		fn(crmsync.Kind(k), crmsync.Outcome(o), n)
	})
}

// eachCount runs query, whose rows are two texts and a count (a count
// grouped by two columns), and calls fn with each row.
func (l *Ledger) eachCount(ctx context.Context, query string, args []any, fn func(a, b string, n int)) error {
	rows, err := l.db.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			a, b string
			n    int
		)
		if err := rows.Scan(&a, &b, &n); err != nil {
			return err
		}
		fn(a, b, n)
	}
	return rows.Err()
}

// LastRun returns the ID of the latest run, or an error wrapping ErrNoRun
// when the ledger has none.
func (l *Ledger) LastRun(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	if err := l.db.QueryRowContext(ctx, `SELECT max(id) FROM runs`).Scan(&id); err != nil {
		return 0, fmt.Errorf("last run in ledger %s: %w", l.path, err)
	}
	if !id.Valid {
		return 0, fmt.Errorf("last run in ledger %s: %w", l.path, ErrNoRun)
	}
	return id.Int64, nil
}

// Results calls fn for each result of run runID of the given kind (every
// kind when kind is empty), in Seq order. The rows are streamed: memory
// does not grow with the run. An error from fn stops the walk and is
// returned as is.
func (l *Ledger) Results(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	return l.results(ctx, runID, kind, false, fn)
}

// ResultsNeedingPerson is Results for the results whose outcome needs a
// person (crmsync.Outcome.NeedsPerson) alone: what a report that lists
// only those reads (report.PersonSource). SQLite leaves the others out;
// none of them is in same (unchanged rows).
func (l *Ledger) ResultsNeedingPerson(ctx context.Context, runID int64, kind crmsync.Kind, fn func(*crmsync.Result) error) error {
	return l.results(ctx, runID, kind, true, fn)
}

// needsPersonSQL lists the outcomes that need a person, for an IN clause.
var needsPersonSQL = func() string {
	var b strings.Builder
	for _, o := range crmsync.Outcomes {
		if o.NeedsPerson() {
			if b.Len() > 0 {
				b.WriteString(", ")
			}
			b.WriteString("'" + string(o) + "'")
		}
	}
	return b.String()
}()

func (l *Ledger) results(ctx context.Context, runID int64, kind crmsync.Kind, person bool, fn func(*crmsync.Result) error) error {
	// results and same, merged in Seq order (each side is read in that
	// order from its key: SQLite merges, it does not sort).
	q := resultColumns + `
WHERE r.run_id = ?1`
	qs := sameColumns + `
WHERE s.run_id = ?1`
	args := []any{runID}
	if kind != "" {
		has, err := l.runHasKind(ctx, runID, kind)
		if err != nil {
			return fmt.Errorf("results of run %d in ledger %s: %w", runID, l.path, err)
		}
		if !has {
			return nil
		}
		q += ` AND r.kind = ?2`
		qs += ` AND s.kind = ?2`
		args = append(args, string(kind))
	}
	if person {
		q += ` AND r.outcome IN (` + needsPersonSQL + `)`
	} else {
		q += `
UNION ALL
` + qs
	}
	rows, err := l.db.QueryContext(ctx, q+`
ORDER BY 1`, args...)
	if err != nil {
		return fmt.Errorf("results of run %d in ledger %s: %w", runID, l.path, err)
	}
	defer rows.Close()
	var sc resultScanner
	for rows.Next() {
		r, err := sc.scan(l, rows)
		if err != nil {
			return fmt.Errorf("results of run %d in ledger %s: %w", runID, l.path, err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("results of run %d in ledger %s: %w", runID, l.path, err)
	}
	return nil
}

// runKinds is the set of kinds run id has results of, as read while
// Ledger.gen was gen.
type runKinds struct {
	id    int64
	gen   uint64
	kinds map[crmsync.Kind]bool
}

// runHasKind reports whether run runID has results of kind k. Results asks
// it before walking a kind: the walk reads every row of the run to find
// those of its kind, once for each of crmsync.Kinds, where the report of a
// one-kind file needs one. The kinds are read in one scan and kept while
// this Ledger holds the run lock and makes no write (as cacheRefs): no
// other process can add results unseen. Without the lock nothing is kept.
func (l *Ledger) runHasKind(ctx context.Context, runID int64, k crmsync.Kind) (bool, error) {
	gen := l.gen.Load()
	l.kmu.Lock()
	c := l.kinds
	l.kmu.Unlock()
	if c.kinds != nil && c.id == runID && c.gen == gen && gen%2 == 0 {
		return c.kinds[k], nil
	}
	if !l.holdsLock() {
		return true, nil
	}
	rows, err := l.db.QueryContext(ctx, `SELECT DISTINCT kind FROM results WHERE run_id = ?1
UNION SELECT DISTINCT kind FROM same WHERE run_id = ?1`, runID)
	if err != nil {
		return false, err
	}
	defer rows.Close()
	kinds := map[crmsync.Kind]bool{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return false, err
		}
		kinds[crmsync.Kind(s)] = true
	}
	if err := rows.Err(); err != nil {
		return false, err
	}
	if gen%2 == 0 && l.gen.Load() == gen {
		l.kmu.Lock()
		l.kinds = runKinds{id: runID, gen: gen, kinds: kinds}
		l.kmu.Unlock()
	}
	return kinds[k], nil
}

// resultColumns selects what scanResult reads.
const resultColumns = `SELECT r.seq, coalesce(f.path, r.file), r.sheet, r.row, r.kind, r.key, r.lane, r.time, coalesce(c.vals, r.vals), r.outcome, r.col, r.reason,
	r.code, r.message, r.attempts, r.hash, b.body, r.previous
FROM results r LEFT JOIN bodies b ON b.id = r.body_id LEFT JOIN cells c ON c.id = r.cells_id LEFT JOIN files f ON f.id = r.file_id`

// sameColumns selects the rows of same as resultColumns does those of
// results: no key, lane or time (scanResult reads them from the cells'
// head), no hash (it is the body's).
const sameColumns = `SELECT s.seq, coalesce(src.path, ''), coalesce(src.sheet, ''), s.row, s.kind, '', '', NULL, c.vals, 'unchanged', '', '',
	NULL, '', 0, NULL, b.body, NULL
FROM same s JOIN cells c ON c.id = s.cells_id LEFT JOIN bodies b ON b.id = s.body_id LEFT JOIN sources src ON src.id = s.src_id`

// scanResult reads one row of a resultColumns (or sameColumns) query.
// With ids (queueColumns), it also reads the body and cells IDs into the
// *int64 and the cells into the *[]byte.
func (l *Ledger) scanResult(rows *sql.Rows, ids ...any) (*crmsync.Result, error) {
	var sc resultScanner
	if len(ids) == 3 {
		sc.withIDs()
	}
	r, err := sc.scan(l, rows)
	if err != nil {
		return nil, err
	}
	if len(ids) == 3 {
		*ids[0].(*int64), *ids[1].(*int64), *ids[2].(*[]byte) = sc.body.Int64, sc.cells.Int64, bytes.Clone(sc.cv)
	}
	return r, nil
}

// resultScanner reads the rows of one resultColumns query: its
// destinations are made once, not for every row (a report reads a million).
type resultScanner struct {
	r                  crmsync.Result
	k, o               string
	seq, row, attempts intColumn
	t, code            intColumn
	vals               sql.RawBytes // parsed into strings of their own
	hb                 sql.RawBytes // copied by hashText
	body, cells        intColumn
	cv                 sql.RawBytes
	dest               []any
}

func (sc *resultScanner) init() {
	r := &sc.r
	sc.dest = []any{&sc.seq, &r.Source.File, &r.Source.Sheet, &sc.row, &sc.k, &r.Key, &r.Lane, &sc.t, &sc.vals,
		&sc.o, &r.Column, &r.Reason, &sc.code, &r.Message, &sc.attempts, &sc.hb, (*storedBody)(&r.Body), &r.Previous}
}

// intColumn scans an INTEGER column (or NULL) without the detour
// database/sql takes for an *int or *int64 destination (the value
// formatted as text and parsed again, an allocation each).
type intColumn sql.NullInt64

func (c *intColumn) Scan(src any) error {
	switch v := src.(type) {
	case int64:
		c.Int64, c.Valid = v, true
		return nil
	case nil:
		c.Int64, c.Valid = 0, false
		return nil
	}
	return (*sql.NullInt64)(c).Scan(src)
}

// withIDs adds queueColumns' body and cells IDs and cells to the row.
func (sc *resultScanner) withIDs() {
	if sc.dest == nil {
		sc.init()
	}
	sc.dest = append(sc.dest, &sc.body, &sc.cells, &sc.cv)
}

// scan reads the current row into a new Result.
func (sc *resultScanner) scan(l *Ledger, rows *sql.Rows) (*crmsync.Result, error) {
	if sc.dest == nil {
		sc.init()
	}
	sc.r = crmsync.Result{}
	if err := rows.Scan(sc.dest...); err != nil {
		return nil, err
	}
	r := new(crmsync.Result)
	*r = sc.r
	r.Seq, r.Source.Row, r.Attempts = sc.seq.Int64, int(sc.row.Int64), int(sc.attempts.Int64)
	hb := []byte(sc.hb)
	r.Kind, r.Outcome = crmsync.Kind(sc.k), crmsync.Outcome(sc.o)
	h, _, vs, head, err := splitHead(sc.vals, l.Location)
	switch {
	case err != nil:
	case head:
		r.Values = vs
		if r.Key == "" { // a row of same, or of results from schema 10: the head says which event
			r.Key, r.Lane, r.Time = h.key, h.lane, h.time
			if len(hb) == 0 {
				hb = []byte(h.hash)
			}
		} else if len(hb) == 0 && h.hash != "" { // kept in the head only (storedHash)
			hb = []byte(h.hash)
		}
	default:
		r.Values, err = parseValues(sc.vals)
	}
	if err != nil {
		return nil, fmt.Errorf("seq %d values: %w", r.Seq, err)
	}
	r.Hash = hashText(hb)
	if r.Hash == "" && len(r.Body) > 0 { // stored once, in the body (storedHash)
		r.Hash = crmsync.ContentHash(r.Kind, r.Body)
	}
	if sc.t.Valid {
		r.Time = timeIn(sql.NullInt64(sc.t), l.Location)
	}
	r.HasCode, r.Code = sc.code.Valid, int(sc.code.Int64)
	return r, nil
}

// Status is the state of a ledger as crmsync status shows it (its -json
// names follow the run summary's).
type Status struct {
	Path   string `json:"path"`
	Schema int    `json:"schema"`
	// Totals counts event keys by kind and state.
	Totals map[crmsync.Kind]map[crmsync.State]int `json:"totals"`
	// Runs are the most recent runs, newest first.
	Runs []RunInfo `json:"runs"`
	// Held counts uncertain events of kinds that are not safe to resend:
	// a person must decide whether Mallcoo has them.
	Held int `json:"held"`
	// Failed counts events left failed that retry resends (not those
	// whose stored body it refused: the backlog lists them as invalid).
	Failed int `json:"failed"`
}

// RunInfo describes one run.
type RunInfo struct {
	ID      int64                   `json:"id"`
	Command string                  `json:"command"`
	Started time.Time               `json:"started"`
	Ended   time.Time               `json:"ended"` // zero unless done
	Rows    int                     `json:"rows"`
	Counts  map[crmsync.Outcome]int `json:"counts"`
	Status  string                  `json:"status"` // RunRunning, RunDone, RunInterrupted, RunFailed or RunDied
	// Reason says why the run ended as it did (empty for done and running).
	Reason string `json:"reason,omitempty"`
	// AppliedBy is, for a plan, the apply run that applied it to its end
	// (0: not applied).
	AppliedBy int64 `json:"applied_by,omitempty"`
	// Stopped is why its sending stopped early, in both languages, as its
	// summary says (Reason says it as kept).
	Stopped crmsync.Text `json:"-"`
}

// Status returns the ledger's totals and its recent runs (at most recent).
// A run that never ended is running if some process holds the run lock and
// it is the latest run, else died.
func (l *Ledger) Status(ctx context.Context, recent int) (*Status, error) {
	st, err := l.status(ctx, recent)
	if err != nil {
		return nil, fmt.Errorf("status of ledger %s: %w", l.path, err)
	}
	return st, nil
}

func (l *Ledger) status(ctx context.Context, recent int) (*Status, error) {
	st := &Status{Path: l.path, Totals: map[crmsync.Kind]map[crmsync.State]int{}}
	if err := l.db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&st.Schema); err != nil {
		return nil, err
	}
	// Events not sent: GROUP BY in the index's order, the counts come from
	// events_state alone; sent ones are counted in sent_events (schema 10).
	err := l.eachCount(ctx, `SELECT state, kind, count(*) FROM events WHERE state <> 'sent' GROUP BY state, kind
UNION ALL SELECT 'sent', kind, n FROM sent_events WHERE n > 0`, nil, func(s, k string, n int) {
		kind, state := crmsync.Kind(k), crmsync.State(s)
		if st.Totals[kind] == nil {
			st.Totals[kind] = map[crmsync.State]int{}
		}
		st.Totals[kind][state] += n
		switch {
		case state == crmsync.StateFailed:
			st.Failed += n
		case state == crmsync.StateUncertain && !kind.SafeToResend():
			st.Held += n
		}
	})
	if err != nil {
		return nil, err
	}
	if st.Failed > 0 {
		// A failed event whose stored body was refused is not resent by
		// retry: the backlog lists it as invalid.
		var refused int
		if err := l.db.QueryRowContext(ctx, `SELECT count(*) FROM events e WHERE state = ? AND state <> 'sent' AND `+refusedBody, string(crmsync.StateFailed)).Scan(&refused); err != nil {
			return nil, err
		}
		st.Failed -= refused
	}

	self, other, err := l.lockHeld()
	if err != nil {
		return nil, err
	}
	latest := true
	rrows, err := l.db.QueryContext(ctx, `SELECT id, command, started, ended, status, reason, summary FROM runs ORDER BY id DESC LIMIT ?`, recent)
	if err != nil {
		return nil, err
	}
	defer rrows.Close()
	for rrows.Next() {
		var (
			ri      RunInfo
			started int64
			ended   sql.NullInt64
			summary sql.NullString
		)
		if err := rrows.Scan(&ri.ID, &ri.Command, &started, &ended, &ri.Status, &ri.Reason, &summary); err != nil {
			return nil, err
		}
		ri.Started = time.Unix(0, started)
		if ended.Valid {
			ri.Ended = time.Unix(0, ended.Int64)
		}
		if ri.Status == RunRunning && !(latest && (self || other)) {
			ri.Status = RunDied
		}
		if ri.Status == RunDied && ri.Reason == "" {
			ri.Reason = ReasonDied.String()
		}
		latest = false
		if summary.Valid {
			var s crmsync.Summary
			if err := json.Unmarshal([]byte(summary.String), &s); err != nil {
				return nil, fmt.Errorf("run %d summary: %w", ri.ID, err)
			}
			ri.Rows, ri.Counts, ri.Stopped = s.Rows, s.Counts, s.Stopped
		}
		st.Runs = append(st.Runs, ri)
	}
	if err := rrows.Err(); err != nil {
		return nil, err
	}
	rrows.Close()
	apps, err := l.applications(ctx)
	if err != nil {
		return nil, err
	}
	for i := range st.Runs {
		if a, ok := AppliedBy(apps[st.Runs[i].ID]); ok && st.Runs[i].Command == "plan" {
			st.Runs[i].AppliedBy = a.Run
		}
	}
	for i := range st.Runs {
		ri := &st.Runs[i]
		if ri.Counts != nil {
			continue
		}
		ri.Counts = map[crmsync.Outcome]int{}
		err := l.counts(ctx, ri.ID, func(_ crmsync.Kind, o crmsync.Outcome, n int) {
			ri.Rows += n
			ri.Counts[o] += n
		})
		if err != nil {
			return nil, err
		}
	}
	return st, nil
}

// holdsLock reports whether this Ledger holds the run lock.
func (l *Ledger) holdsLock() bool {
	l.lmu.Lock()
	defer l.lmu.Unlock()
	return l.locked
}
