-- 0004: a person's decisions on outstanding items (crmsync resolve): who,
-- when, why, and the state the item was in. Kept forever, like events.

CREATE TABLE decisions (
	id       INTEGER PRIMARY KEY,
	kind     TEXT    NOT NULL,
	key      TEXT    NOT NULL,             -- as in the backlog: event key, or source row
	state    TEXT    NOT NULL,             -- the item's state when decided
	decision TEXT    NOT NULL,             -- delivered, resend, dismiss
	user     TEXT    NOT NULL,
	at       INTEGER NOT NULL,
	reason   TEXT    NOT NULL
);
CREATE INDEX decisions_key ON decisions (kind, key);
