// Package ledger is crmsync's memory: a SQLite file that records every event
// key claimed or delivered, every run, and the outcome of every input row of
// every run. The import job diffs against it (Lookup), claims events before
// sending them (Claim) and records what happened (Record); retry, status and
// report read it back.
//
// # Schema
//
// The schema is created and upgraded by the numbered scripts in migrations/,
// embedded in the binary and applied in order, each in its own transaction
// that also sets PRAGMA user_version to the script's number. A ledger whose
// user_version is higher than the newest script this binary knows was
// written by a newer crmsync and is refused (see NewerSchemaError) rather
// than misread.
//
// events holds one row per event key (clustered on keyspace and key);
// results one row per input row per run (keyed by run and Seq), but for
// unchanged rows, kept narrow in same (schema 8); runs and run_files the
// runs. Request
// bodies are appended to bodies and referred to by ID: a result whose
// content hash is its event's shares the event's body, so claiming, sending
// and re-reading an unchanged file store each body once. A row's values
// are kept the same way in cells (a compact encoding, values.go) and its
// source file's name once in files; content hashes are stored as their 32
// bytes, and a result's not at all when it is its body's (schema 7). An
// unchanged row (all of a re-run) is a reference in same to its cells,
// whose head names its event, and its body; bodies are stored with their
// JSON field names as tokens (schema 8, bodycodec.go). A row whose body is
// not its event's looks for its event's row in the latest plan's queue
// (the plan's new rows, by lane and event time) and refers to that row's
// body and cells when they are its bytes: a run after a plan of the same
// file, or a second plan, stores no body or cells again. A result keeps
// its content hash in its cells' head when that is not its body's hash,
// not in results too (schema 9). From schema 10 on, an event whose cells'
// head holds its content hash keeps it there only (events.hash is empty), a
// result with a body its key (results.key is empty), bodies and cells are stored
// with date-times and long runs of digits packed (pack.go), and
// events_state holds no sent event: status counts those in sent_events,
// which triggers keep in the transaction that changes an event.
//
// # Connections and pragmas
//
// A Ledger holds one *sql.DB. Writes go through one dedicated connection
// taken from it, serialised by a mutex, so writers in this process never
// wait on SQLite's busy handler; reads (Lookup, Results, Events, Status) use
// the other pooled connections and, thanks to WAL, run beside the writer.
// Every connection gets:
//
//   - journal_mode=WAL: readers and the writer do not block each other, and
//     a commit is one sequential append to the -wal file;
//   - synchronous=NORMAL by default, FULL for the commits that must survive
//     power loss (below);
//   - busy_timeout=10000: another process (crmsync status during a run)
//     waits up to 10 s for a lock instead of failing at once;
//   - foreign_keys=ON: results and events must name a run that exists;
//   - journal_size_limit=64 MiB: the -wal file is cut back to it when it
//     starts again after a checkpoint, so a long reader elsewhere leaves no
//     log of gigabytes behind (walSizeLimit);
//   - cache_size=-1024 (1 MiB) on a connection that reads, -4096 (4 MiB)
//     on the writer (writerCache), and at most 4 connections in all:
//     memory stays bounded whatever the size of the ledger (a
//     10,000,000-row run must stay under 100 MB in all). A look-up of 500
//     keys touches a few interior pages and a leaf or two per key, read
//     once; what a reader would keep between batches the kernel's page
//     cache holds as well (temp_store stays the default, files, so a big
//     sort spills to disk rather than to memory);
//   - write transactions start with BEGIN IMMEDIATE, so a writer takes the
//     write lock up front and never fails half-way on a read-to-write
//     upgrade.
//
// # Speed
//
// Nothing on the hot path costs a query or a commit per row. (prune and
// prune -member match a result to its event with crmsync_head_key, an SQL
// function this package registers on every connection: a row's key is in
// its cells' head.) Lookup asks
// for 500 keys per query ((keyspace, key) IN (VALUES …), one B-tree descent
// per key) and reads a stored body only when its hash differs from the
// event's. Claim and Record are one transaction per call: they read the
// current body of all their keys in batches of 500, then write with
// multi-row INSERTs of 64 rows (events as upserts), through statements
// prepared once on the writer connection. database/sql would re-prepare
// statements in every *sql.Tx, so the writer runs BEGIN IMMEDIATE and
// COMMIT itself on its dedicated connection. bench_test.go measures Lookup
// against a prepared point query per key and Record against a bare
// one-transaction insert.
//
// # Durability
//
// The rule the job relies on: no request leaves before its claim is durable,
// so after any crash an event is either unknown (never sent) or recorded
// (in flight, sent, rejected, failed). Kill -9 at any moment can then lose
// no event and apply none twice: BeginRun turns claims left in flight into
// uncertain, which are resent only for kinds that are safe to resend.
//
// In WAL mode a commit is durable against a process crash as soon as it is
// written to the -wal file, whatever synchronous says: the bytes are in the
// kernel's page cache and survive the process. Power loss (or a kernel
// crash) is different: only what was fsynced survives. synchronous=FULL
// fsyncs the WAL at every commit; NORMAL fsyncs only at checkpoints, so the
// last commits before a power cut may roll back. A roll-back can only drop a
// suffix of commits (WAL frames are replayed in order up to the first bad
// checksum), and each fsync makes every earlier commit durable too.
//
// So the writes are split:
//
//   - Claim commits with synchronous=FULL: when it returns the claims are on
//     disk, even across power loss. It runs once per batch of events, so the
//     fsync is paid per batch, not per event.
//   - BeginRun and EndRun commit with FULL too (once per run): after EndRun
//     returns the whole run, all its Record batches included, is on disk.
//   - Record commits with NORMAL, saving an fsync per batch (BenchmarkRecord
//     prices it). A process crash loses nothing. A power cut may lose the
//     Record batches committed after the last Claim (whose fsync made all
//     earlier commits durable); their events then stay in flight and come
//     back uncertain at the next BeginRun, never as new, so nothing is sent
//     twice unnoticed; only their result rows are missing from that dead
//     run's history.
//
// This holds as long as the disk honours fsync and the ledger is on a local
// file system (flock and WAL's shared memory do not work over NFS).
//
// # Locking
//
// Only one crmsync run may use a ledger at a time: Lock takes a lock on the
// database file itself, whatever name reached it (the kernel drops it when
// the process dies, so a killed run never leaves the ledger locked), and
// writes who holds it into the side file name+".lock" so the refusal can
// say whom to wait for. Every Open also marks the name it opened the file
// by, and one by another name is refused while it is open: SQLite keeps
// the -wal file beside the name, so two names would mean two logs. See
// lock.go.
package ledger

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-sqlite3"
)

//go:embed migrations/*.sql
var migrations embed.FS

// applicationID marks a SQLite file as a crmsync ledger ("crms").
const applicationID = 0x63726d73

// ErrNoRun is wrapped by the errors of Summary and LastRun when the run
// asked for does not exist.
var ErrNoRun = errors.New("no such run")

// NewerSchemaError is returned by Open for a ledger written by a newer
// crmsync, whose schema this binary does not know.
type NewerSchemaError struct {
	Path   string
	Schema int // the ledger's schema version
	Known  int // the newest schema version this binary knows
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("ledger %s was written by a newer crmsync (schema %d, this one knows %d); upgrade crmsync", e.Path, e.Schema, e.Known)
}

// Ledger is an open ledger file. Its methods are safe for concurrent use.
type Ledger struct {
	// Now returns the current time; tests may replace it before use.
	Now func() time.Time
	// Location is the zone event and result times are returned in (they
	// are stored as instants). It defaults to China Standard Time.
	Location *time.Location

	path string
	db   *sql.DB

	wmu    sync.Mutex // guards w, wstmts and full
	w      *sql.Conn  // the one connection that writes
	wstmts stmtCache  // statements prepared on w
	full   bool       // w is at synchronous = FULL (else NORMAL)

	smu         sync.Mutex        // guards lookupStmts
	lookupStmts map[int]*sql.Stmt // Lookup's query by number of keys, on db

	qmu     sync.Mutex              // guards queued and claimed
	queued  map[queuedKey]queuedRef // the body and cells of results Queued handed out, for Claim
	claimed map[queuedKey]queuedRef // what Claim wrote of queued results' events, for Record
	// inPlace counts the answers Record wrote in place (recordTx), for
	// tests and benchmarks.
	inPlace atomic.Int64

	gen   atomic.Uint64 // write transactions begun and ended: odd while one runs
	rmu   sync.Mutex    // guards refs
	refs  refCache      // what Lookup read of events' bodies and cells, for the next write
	kmu   sync.Mutex    // guards kinds
	kinds runKinds      // the kinds of the run Results last walked, for the next kind (runHasKind)

	file   *fileHandle // the file's descriptors and locks, shared in the process
	lmu    sync.Mutex  // guards locked
	locked bool        // this Ledger holds the run lock
}

const driverName = "sqlite3-crmsync"

var registerOnce sync.Once

// pragmas are run on every new connection; see the package comment.
var pragmas = []string{
	"PRAGMA busy_timeout = 10000", // first: switching to WAL may wait for a lock
	"PRAGMA journal_mode = WAL",
	"PRAGMA synchronous = NORMAL",
	"PRAGMA foreign_keys = ON",
	"PRAGMA cache_size = -1024",
}

// writerCache is the writer connection's page cache (see the package
// comment): the pages its transactions change and read again (the tables'
// last leaves, the indexes' hot pages) stay in it from one commit to the
// next.
const writerCache = "PRAGMA cache_size = -4096"

// walSizeLimit is the size the -wal file is cut back to when SQLite starts
// it again after a checkpoint (journal_size_limit). Without it the file
// keeps the largest size it ever reached: a reader holding a snapshot for
// minutes (a backup, a sqlite3 shell, a slow status) while a run writes
// lets the log grow by gigabytes, and that disk space (and the -shm index
// the process maps) stayed taken for the ledger's life.
const walSizeLimit = 64 << 20

// execRetryBusy runs a pragma, trying again for up to the busy timeout
// while SQLite answers SQLITE_BUSY without waiting: switching a new,
// empty database to WAL needs an exclusive lock, and two connections both
// reading its header to switch it deadlock, so SQLite fails one at once
// instead of calling the busy handler (several crmsync processes, or
// Opens, starting on a new ledger at the same moment).
func execRetryBusy(c *sqlite3.SQLiteConn, stmt string) error {
	deadline := time.Now().Add(10 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		_, err := c.Exec(stmt, nil)
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return err
		}
		time.Sleep(wait)
	}
}

func register() {
	sql.Register(driverName, &sqlite3.SQLiteDriver{
		ConnectHook: func(c *sqlite3.SQLiteConn) error {
			for _, p := range append(pragmas, fmt.Sprintf("PRAGMA journal_size_limit = %d", walSizeLimit)) {
				if err := execRetryBusy(c, p); err != nil {
					return fmt.Errorf("%s: %w", p, err)
				}
			}
			if err := c.RegisterFunc("crmsync_head_key", headKey, true); err != nil {
				return fmt.Errorf("register crmsync_head_key: %w", err)
			}
			return nil
		},
	})
}

// Open opens the ledger at path, creating it if missing and bringing its
// schema up to date. The file is the one path resolves to (symlinks and
// ".." followed). SQLite keeps a -wal file per name, so a file with hard
// links is refused (*FileError, ProblemLinked), and so is one another
// crmsync has open under another name, a bind mount (*LockedError with
// OtherName). It refuses a file that is not a crmsync ledger, and one that
// cannot be used (*FileError: read-only, full disk, a directory, a device,
// an empty file, a schema version no crmsync writes), and one written by a
// newer crmsync (*NewerSchemaError).
func Open(ctx context.Context, path string) (*Ledger, error) {
	return OpenWith(ctx, path, Options{})
}

// Options are how Open creates and opens a ledger.
type Options struct {
	// FileMode is the mode a new ledger (and its -wal, -shm and .lock
	// files) is created with, whatever the umask: 0600 when zero. The
	// ledger holds members' card IDs, mobiles and purchases.
	FileMode os.FileMode
	// MustExist refuses a path where no file is (*FileError
	// ProblemMissing) and creates nothing: a mistyped path must not start a
	// new, empty ledger that would send every event again.
	MustExist bool
}

// OpenWith is Open with options.
func OpenWith(ctx context.Context, path string, opt Options) (*Ledger, error) {
	if opt.FileMode == 0 {
		opt.FileMode = 0o600
	}
	if opt.MustExist {
		if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, &FileError{Path: path, Problem: ProblemMissing}
		}
	}
	return open(ctx, path, false, opt.FileMode)
}

// Create creates a new ledger at path with its schema, refusing a path
// where a file is already (*FileError ProblemExists).
func Create(ctx context.Context, path string, opt Options) (*Ledger, error) {
	if _, err := os.Lstat(path); err == nil {
		return nil, &FileError{Path: path, Problem: ProblemExists}
	}
	opt.MustExist = false
	return OpenWith(ctx, path, opt)
}

func open(ctx context.Context, path string, readOnly bool, mode os.FileMode) (*Ledger, error) {
	registerOnce.Do(register)
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open ledger %s: the path may not contain '?' or '#'", path)
	}
	h, err := acquire(path, !readOnly, mode)
	if err != nil {
		return nil, err
	}
	if strings.ContainsAny(h.name, "?#") {
		h.release()
		return nil, fmt.Errorf("open ledger %s: the path it names (%s) may not contain '?' or '#'", path, h.name)
	}
	dsn := h.name
	if readOnly {
		dsn = "file:" + strings.ReplaceAll(h.name, "%", "%25") + "?mode=ro"
	}
	db, err := sql.Open(driverName, dsn)
	if err != nil {
		h.release()
		return nil, fmt.Errorf("open ledger %s: %w", path, err)
	}
	db.SetMaxOpenConns(4)
	db.SetMaxIdleConns(4)
	l := &Ledger{Now: time.Now, Location: cst, path: path, db: db, file: h}
	if readOnly {
		err = l.check(ctx)
		var fe *FileError
		if errors.As(err, &fe) && fe.Problem == ProblemReadOnly && !writable(filepath.Dir(h.name)) && noLog(h.name) {
			// A folder or mount we cannot write (the file itself
			// writable or not), where SQLite cannot make the -shm file
			// WAL mode reads need, and no log is left beside it (a
			// writer would leave one): the file is all there is and may
			// be read as immutable.
			db.Close()
			db, err = sql.Open(driverName, dsn+"&immutable=1")
			if err != nil {
				h.release()
				return nil, fmt.Errorf("open ledger %s: %w", path, err)
			}
			db.SetMaxOpenConns(4)
			db.SetMaxIdleConns(4)
			l.db = db
			err = l.check(ctx)
		}
	} else {
		err = l.open(ctx)
	}
	if err == nil {
		// SQLite opened the file by name: it must be the one locked.
		if fi, serr := os.Stat(h.name); serr != nil || inodeOf(fi) != h.key {
			err = fmt.Errorf("open ledger %s: the file was replaced while it was being opened; run again", path)
		}
	}
	if err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// noLog reports whether no -wal file is beside the database name.
func noLog(name string) bool {
	_, err := os.Lstat(name + "-wal")
	return errors.Is(err, fs.ErrNotExist)
}

// cst is China Standard Time, the zone of every CRM event time.
var cst = time.FixedZone("CST", 8*3600)

func (l *Ledger) open(ctx context.Context) error {
	w, err := l.db.Conn(ctx)
	if err != nil {
		return openErr(l.path, err)
	}
	l.w = w
	if _, err := w.ExecContext(ctx, writerCache); err != nil {
		return openErr(l.path, err)
	}
	if err := l.migrate(ctx); err != nil {
		return err
	}
	return nil
}

// Close closes the ledger, releasing the run lock if this Ledger holds it.
func (l *Ledger) Close() error {
	errs := []error{l.unlock()}
	l.wmu.Lock()
	errs = append(errs, l.wstmts.close())
	if l.w != nil {
		errs = append(errs, l.w.Close())
		l.w = nil
	}
	l.wmu.Unlock()
	l.smu.Lock()
	for _, st := range l.lookupStmts {
		errs = append(errs, st.Close())
	}
	l.lookupStmts = nil
	l.smu.Unlock()
	errs = append(errs, l.db.Close())
	// Only now that SQLite has closed the file may its descriptors close:
	// closing one earlier would drop SQLite's locks on it.
	if l.file != nil {
		errs = append(errs, l.file.release())
		l.file = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close ledger %s: %w", l.path, err)
	}
	return nil
}

// Path returns the path the ledger was opened with.
func (l *Ledger) Path() string { return l.path }

type migration struct {
	version int
	name    string
	sql     string
}

// loadMigrations returns the embedded scripts in version order. A script is
// named NNNN_what.sql; the numbers rise from 1 by one, with no gap: a
// ledger's user_version is the number of the last script it ran, so a
// script numbered below it (one slipped into a gap later) would never run.
func loadMigrations() ([]migration, error) {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names { // fs.Glob returns names sorted
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: name does not start with a number and '_'", base)
		}
		if v != len(ms)+1 {
			return nil, fmt.Errorf("migration %s: number %d does not follow the one before (%d)", base, v, len(ms))
		}
		b, err := migrations.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion is the newest ledger schema this binary knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

func (l *Ledger) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("open ledger %s: %w", l.path, err)
	}
	l.wmu.Lock()
	defer l.wmu.Unlock()
	// One statement, so one snapshot: read one by one, another crmsync
	// migrating the new file in between could show tables without their
	// application_id yet, which looks like another program's database.
	var have, appID, tables int
	if err := l.w.QueryRowContext(ctx, `SELECT (SELECT user_version FROM pragma_user_version),
	(SELECT application_id FROM pragma_application_id), (SELECT count(*) FROM sqlite_schema)`).Scan(&have, &appID, &tables); err != nil {
		return openErr(l.path, err)
	}
	if appID != 0 && appID != applicationID || appID == 0 && tables > 0 {
		return &FileError{Path: l.path, Problem: ProblemNotLedger}
	}
	if err := checkSchema(l.path, have, ms[len(ms)-1].version); err != nil {
		return err
	}
	for _, m := range ms {
		if m.version <= have {
			continue
		}
		err := l.writeTx(ctx, true, func(w *sql.Conn) error {
			// Another process may have migrated the file since it was read
			// above (two crmsyncs opening a new ledger at once): under the
			// write lock, look again.
			var now int
			if err := w.QueryRowContext(ctx, "PRAGMA user_version").Scan(&now); err != nil {
				return err
			}
			if now >= m.version {
				return nil
			}
			if _, err := w.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", m.version))
			return err
		})
		if err != nil {
			return fmt.Errorf("open ledger %s: migrate to schema %d (%s): %w", l.path, m.version, m.name, fileErr(l.path, err))
		}
	}
	return nil
}

// maxSchema bounds the schema versions a newer crmsync could have written;
// beyond it (or below 0) user_version is damage, not the future.
const maxSchema = 9999

// checkSchema refuses a ledger whose schema version have is not one this
// binary, knowing schemas up to known, can use.
func checkSchema(path string, have, known int) error {
	switch {
	case have < 0 || have > maxSchema:
		return &FileError{Path: path, Problem: ProblemBadSchema, Schema: have}
	case have > known:
		return &NewerSchemaError{Path: path, Schema: have, Known: known}
	}
	return nil
}

// writeTx runs fn in a write transaction (BEGIN IMMEDIATE) on the writer
// connection w, which fn uses for every statement. With durable, the
// commit is fsynced (synchronous=FULL) before writeTx returns; otherwise it
// survives a process crash but not necessarily a power cut. The caller
// holds l.wmu.
//
// The transaction is plain SQL on the connection rather than a *sql.Tx:
// database/sql re-prepares a statement in every Tx, while statements
// prepared once on w (prep) are reused by every transaction.
func (l *Ledger) writeTx(ctx context.Context, durable bool, fn func(w *sql.Conn) error) (err error) {
	if l.w == nil {
		return errors.New("ledger is closed")
	}
	// A read-only file or a full disk is said plainly, whatever wrote.
	defer func() { err = fileErr(l.path, err) }()
	if durable != l.full {
		// The writer stays FULL after a durable commit until a commit
		// that need not be comes: a run of claims (the send stage's group
		// commits) pays no pragma per commit.
		mode := "PRAGMA synchronous = NORMAL"
		if durable {
			mode = "PRAGMA synchronous = FULL"
		}
		if err := l.exec(context.WithoutCancel(ctx), mode); err != nil {
			return err
		}
		l.full = durable
	}
	// Odd while a write may be under way: Lookup keeps what it read for
	// the next write only if no write came in between (refCache).
	l.gen.Add(1)
	defer l.gen.Add(1)
	if err := l.exec(ctx, "BEGIN IMMEDIATE"); err != nil {
		return err
	}
	if err := fn(l.w); err != nil {
		l.rollback(ctx)
		return err
	}
	if err := l.exec(ctx, "COMMIT"); err != nil {
		l.rollback(ctx)
		return err
	}
	return nil
}

// rollback ends a failed write transaction. SQLite may have rolled it back
// already (and then says so); either way none of it is stored.
func (l *Ledger) rollback(ctx context.Context) {
	l.exec(context.WithoutCancel(ctx), "ROLLBACK")
}

// exec runs a statement without arguments on the writer connection,
// prepared once. The caller holds l.wmu.
func (l *Ledger) exec(ctx context.Context, query string) error {
	st, err := l.prep(ctx, query)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx)
	return err
}

// write is writeTx under the writer mutex.
func (l *Ledger) write(ctx context.Context, durable bool, fn func(w *sql.Conn) error) error {
	l.wmu.Lock()
	defer l.wmu.Unlock()
	return l.writeTx(ctx, durable, fn)
}

// prep returns query prepared on the writer connection, preparing it the
// first time. The caller holds l.wmu.
func (l *Ledger) prep(ctx context.Context, query string) (*sql.Stmt, error) {
	return l.wstmts.prepare(ctx, l.w, query)
}

// stmtCache holds the statements prepared on one connection, by text.
type stmtCache map[string]*sql.Stmt

// prepare returns query prepared on conn, preparing it the first time.
func (c *stmtCache) prepare(ctx context.Context, conn *sql.Conn, query string) (*sql.Stmt, error) {
	if st := (*c)[query]; st != nil {
		return st, nil
	}
	st, err := conn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if *c == nil {
		*c = stmtCache{}
	}
	(*c)[query] = st
	return st, nil
}

// close closes the statements and empties the cache.
func (c *stmtCache) close() error {
	var errs []error
	for _, st := range *c {
		errs = append(errs, st.Close())
	}
	*c = nil
	return errors.Join(errs...)
}

// nanos stores t as Unix nanoseconds; the zero time is stored as NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// timeIn is the inverse of nanos, in loc.
func timeIn(n sql.NullInt64, loc *time.Location) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).In(loc)
}

// code stores an optional Mallcoo Code: NULL when there is none.
func code(has bool, c int) any {
	if !has {
		return nil
	}
	return int64(c)
}
