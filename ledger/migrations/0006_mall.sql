-- 0006: the ledger remembers its mall. meta holds settings of the ledger
-- itself, one row per name; "mall" is the mall the ledger serves (recorded
-- by crmsync init with a config naming one, or by the first run that
-- names one). No row: a ledger of no particular mall.

CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
) WITHOUT ROWID;
