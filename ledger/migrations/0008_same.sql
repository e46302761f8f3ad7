-- 0008: unchanged rows stored narrow, bodies with their field names as
-- tokens.
--
-- same holds the unchanged rows of a run (a re-run of a delivered file is
-- all of them) as references: the cells (from this schema on, a row with
-- an event has its key, lane and time at the head of its cells, see
-- values.go), the body, and where the row was (its source, and the row).
-- Everything else of such a
-- row is known: its outcome is unchanged, it has no reason, no answer,
-- and its content hash is its body's. Other results stay in results.
-- Results (the report), counts, prune and prune -member read both.
--
-- Bodies stored from this schema on are encoded (bodycodec.go: JSON field
-- names as one- or two-byte tokens); older ones stay as they are and read
-- as before.
CREATE TABLE same (
	run_id   INTEGER NOT NULL,           -- runs.id (no foreign key, as body_id: a probe per row)
	seq      INTEGER NOT NULL,
	kind     TEXT    NOT NULL,
	row      INTEGER NOT NULL,
	cells_id INTEGER NOT NULL,           -- cells.id
	body_id  INTEGER NOT NULL,           -- bodies.id
	src_id   INTEGER NOT NULL,           -- sources.id: the file and sheet
	PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

-- sources names each (file, sheet) of same's rows once: a sheet's name
-- is as long as a row's reference.
CREATE TABLE sources (
	id    INTEGER PRIMARY KEY,
	path  TEXT NOT NULL,
	sheet TEXT NOT NULL,
	UNIQUE (path, sheet)
);

-- results_kind is dropped: Results reads a run's rows in Seq order from
-- results' key (merged with same's), filtering the kind as it goes; the
-- index cost every result row an entry for that.
DROP INDEX results_kind;
