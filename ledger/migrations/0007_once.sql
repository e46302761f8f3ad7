-- 0007: each row's values stored once, in a compact encoding.
--
-- cells holds a row's cell texts (values.go: appendValues). An event
-- refers to the cells of the row that last settled it; a result whose
-- cells are its event's refers to that same row, as with bodies, so a
-- re-run of a delivered file stores no values again. results.vals is ''
-- for results recorded from this schema on (older ones keep their JSON).
-- results.hash is '' when it is the content hash of the result's body
-- (crmsync.ContentHash of its kind and body): it is computed when read.

CREATE TABLE cells (
	id   INTEGER PRIMARY KEY,
	vals BLOB NOT NULL
);
ALTER TABLE events ADD COLUMN cells_id INTEGER;  -- cells.id (no foreign key, as body_id)
ALTER TABLE results ADD COLUMN cells_id INTEGER; -- cells.id; NULL: the values are in vals

-- files names each source file once; results.file is '' for a result
-- whose file_id names it (recorded from this schema on).
CREATE TABLE files (
	id   INTEGER PRIMARY KEY,
	path TEXT NOT NULL UNIQUE
);
ALTER TABLE results ADD COLUMN file_id INTEGER; -- files.id; NULL: the path is in file
