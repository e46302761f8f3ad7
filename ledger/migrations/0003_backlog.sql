-- 0003: the outstanding backlog and how runs ended.
--
-- events.reason says why an event is where it is (failed, blocked,
-- uncertain, rejected) for the backlog that status lists; runs.reason says
-- why a run ended as it did (interrupted, failed).
--
-- open_rows holds the rows that need a person but are no event state:
-- changed rows (the event was sent with other content) by event key, and
-- invalid rows by their source row. They stay until a person decides or
-- the row is fixed, whatever the files read later.

ALTER TABLE runs ADD COLUMN reason TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN reason TEXT NOT NULL DEFAULT '';

CREATE TABLE open_rows (
	kind   TEXT    NOT NULL,
	key    TEXT    NOT NULL,             -- the event key (changed), or the source row (invalid)
	state  TEXT    NOT NULL,             -- changed, invalid
	reason TEXT    NOT NULL,
	since  INTEGER NOT NULL,             -- when it was first met
	run_id INTEGER NOT NULL,             -- the last run that met it
	seq    INTEGER NOT NULL,             -- its result in that run
	event  TEXT    NOT NULL DEFAULT '',  -- an invalid row's event key when its cells give it ('' if not)
	PRIMARY KEY (kind, key)
) WITHOUT ROWID;
-- open_rows_event finds the invalid rows a delivered fixed row settles.
CREATE INDEX open_rows_event ON open_rows (kind, event) WHERE event != '';
