-- 0009: a result's content hash kept once.
--
-- From this schema on, a result with a body whose content hash is not its
-- body's (crmsync.ContentHash of the full form, the body in wire form,
-- mallcoo.WireBody) has results.hash = '': its cells' head holds the hash
-- (values.go: appendHeadCells), as it does for the rows of same. A crmsync
-- that knows only schema 8 would compute the hash from the body and read
-- such a row as changed content; the schema number keeps it from opening
-- the ledger. Rows recorded before keep their hash. No table changes.
SELECT 1;
