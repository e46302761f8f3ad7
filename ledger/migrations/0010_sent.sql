-- 0010: sent events counted, not indexed; an event's content hash, lane
-- and a result's key kept once; date-times and IDs packed.
--
-- Most events of a ledger are sent and stay so: events_state, which serves
-- retry, the backlog and Held (events in a few states), no longer holds
-- them. status counts sent events from sent_events, a count per kind that
-- the triggers below keep in the same transaction as every write of
-- events (an insert, an update of its state or kind, a delete).
--
-- From this schema on, an event whose cells' head holds its content hash
-- (values.go: appendHeadCells, a row whose body is not the one hashed)
-- has events.hash = '': it is read from the head (eventHash). A crmsync of
-- schema 9 would read such an event as changed content; the schema number
-- keeps it from opening the ledger. Events written before keep their hash.
-- So does a sent event with its lane ('': only events not sent are read by
-- lane), a result with a body with its key (results.key = ''; prune and
-- prune -member read it with crmsync_head_key, an SQL function crmsync
-- registers), and bodies and cells are stored with date-times and long
-- runs of digits packed (pack.go). No row is rewritten: rows stored before
-- read as they did.
CREATE TABLE sent_events (
	kind TEXT    NOT NULL PRIMARY KEY,
	n    INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO sent_events (kind, n) SELECT kind, count(*) FROM events WHERE state = 'sent' GROUP BY kind;

DROP INDEX events_state;
-- A query that is to use it says state <> 'sent' in its WHERE clause.
CREATE INDEX events_state ON events (state, kind) WHERE state <> 'sent';

CREATE TRIGGER events_sent_insert AFTER INSERT ON events WHEN new.state = 'sent'
BEGIN
	INSERT INTO sent_events (kind, n) VALUES (new.kind, 1) ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER events_sent_delete AFTER DELETE ON events WHEN old.state = 'sent'
BEGIN
	UPDATE sent_events SET n = n - 1 WHERE kind = old.kind;
END;
CREATE TRIGGER events_sent_update AFTER UPDATE OF state, kind ON events
WHEN (old.state = 'sent') <> (new.state = 'sent') OR old.state = 'sent' AND old.kind <> new.kind
BEGIN
	UPDATE sent_events SET n = n - 1 WHERE old.state = 'sent' AND kind = old.kind;
	INSERT INTO sent_events (kind, n) SELECT new.kind, 1 WHERE new.state = 'sent' ON CONFLICT (kind) DO UPDATE SET n = n + 1;
END;
