-- 0001: the first ledger schema.
--
-- Times are INTEGER Unix nanoseconds (NULL for "no time"), so they sort
-- correctly whatever zone they were written in.
--
-- Bodies live in bodies, appended in rowid order (cheap to write: no random
-- B-tree inserts). An event refers to the body it last claimed or settled;
-- a result with the same content hash as its event's refers to that same
-- body, so claiming, sending and re-reading a file store each body once.

PRAGMA application_id = 1668443507; -- "crms"

CREATE TABLE runs (
	id      INTEGER PRIMARY KEY,
	command TEXT    NOT NULL,
	args    TEXT    NOT NULL,            -- JSON array of strings
	started INTEGER NOT NULL,
	ended   INTEGER,                     -- NULL until EndRun
	status  TEXT    NOT NULL,            -- running, done, died
	pid     INTEGER NOT NULL,
	host    TEXT    NOT NULL,
	summary TEXT                         -- crmsync.Summary as JSON, set by EndRun
);

CREATE TABLE run_files (
	run_id  INTEGER NOT NULL REFERENCES runs(id),
	idx     INTEGER NOT NULL,
	path    TEXT    NOT NULL,
	sheet   TEXT    NOT NULL,
	kind    TEXT    NOT NULL,
	rows    INTEGER NOT NULL,
	problem TEXT    NOT NULL,
	PRIMARY KEY (run_id, idx)
);

CREATE TABLE bodies (
	id   INTEGER PRIMARY KEY,
	body BLOB NOT NULL
);

-- events holds one row per event key: what was last claimed or settled. It
-- is clustered on its key (WITHOUT ROWID): a look-up is one B-tree descent,
-- and there is no second index to keep for the key.
CREATE TABLE events (
	keyspace  TEXT    NOT NULL,          -- crmsync.Kind.KeySpace()
	key       TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	state     TEXT    NOT NULL,          -- crmsync.State
	hash      TEXT    NOT NULL,          -- crmsync.ContentHash of the body
	body_id   INTEGER,                   -- bodies.id (no foreign key: written in the same transaction, and the check costs a probe per row)
	lane      TEXT    NOT NULL,
	time      INTEGER,
	code      INTEGER,                   -- Mallcoo's Code; NULL when no answer was had
	message   TEXT    NOT NULL DEFAULT '',
	attempts  INTEGER NOT NULL DEFAULT 0,
	first_run INTEGER NOT NULL REFERENCES runs(id),
	last_run  INTEGER NOT NULL REFERENCES runs(id),
	updated   INTEGER NOT NULL,
	PRIMARY KEY (keyspace, key)
) WITHOUT ROWID;
-- events_state serves retry (events in a few states) and status (counts by
-- state and kind, read from the index alone).
CREATE INDEX events_state ON events (state, kind);

-- results holds one row per input row per run, clustered on (run, Seq):
-- rows arrive in about Seq order, so inserts append, and one B-tree fewer
-- is written per commit than with a rowid table and its key index.
CREATE TABLE results (
	run_id    INTEGER NOT NULL REFERENCES runs(id),
	seq       INTEGER NOT NULL,
	file      TEXT    NOT NULL,
	sheet     TEXT    NOT NULL,
	row       INTEGER NOT NULL,
	kind      TEXT    NOT NULL,
	key       TEXT    NOT NULL,
	lane      TEXT    NOT NULL,
	time      INTEGER,
	vals      TEXT    NOT NULL,          -- JSON array of the row's cell texts
	outcome   TEXT    NOT NULL,
	col       TEXT    NOT NULL,
	reason    TEXT    NOT NULL,
	code      INTEGER,                   -- NULL when no answer was had
	message   TEXT    NOT NULL,
	attempts  INTEGER NOT NULL,
	hash      TEXT    NOT NULL,
	body_id   INTEGER,                   -- bodies.id, as in events
	previous  BLOB,
	PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;
CREATE INDEX results_kind ON results (run_id, kind, seq);
