-- 0001: the first ledger schema.
--
-- Times are INTEGER Unix nanoseconds (NULL for "no time"), so they sort
-- correctly whatever zone they were written in. Bodies are stored once, in
-- bodies, keyed by the SHA-256 of their bytes: a run that re-reads a
-- million-row file that was sent before adds a 32-byte reference per row,
-- not another copy of every body.

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
	hash BLOB PRIMARY KEY,               -- SHA-256 of body
	body BLOB NOT NULL
) WITHOUT ROWID;

-- events holds one row per event key: what was last claimed or settled.
CREATE TABLE events (
	id        INTEGER PRIMARY KEY,
	keyspace  TEXT    NOT NULL,          -- crmsync.Kind.KeySpace()
	key       TEXT    NOT NULL,
	kind      TEXT    NOT NULL,
	state     TEXT    NOT NULL,          -- crmsync.State
	hash      TEXT    NOT NULL,          -- crmsync.ContentHash of the body
	body_hash BLOB,                      -- bodies.hash (no foreign key: written in the same transaction, and the check costs a probe per row)
	lane      TEXT    NOT NULL,
	time      INTEGER,
	code      INTEGER,                   -- Mallcoo's Code; NULL when no answer was had
	message   TEXT    NOT NULL DEFAULT '',
	attempts  INTEGER NOT NULL DEFAULT 0,
	first_run INTEGER NOT NULL REFERENCES runs(id),
	last_run  INTEGER NOT NULL REFERENCES runs(id),
	updated   INTEGER NOT NULL,
	UNIQUE (keyspace, key)
);
-- events_state serves retry (events in a few states) and status (counts by
-- state and kind, read from the index alone).
CREATE INDEX events_state ON events (state, kind);

-- results holds one row per input row per run.
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
	body_hash BLOB,                      -- bodies.hash, as in events
	previous  BLOB,
	PRIMARY KEY (run_id, seq)
);
CREATE INDEX results_kind ON results (run_id, kind, seq);
