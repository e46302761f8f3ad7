-- 0002: the send queue of a run.
--
-- A run records every row's result as soon as it is classified; rows to be
-- sent are recorded with outcome 'new' and later re-recorded with their
-- final outcome. The sender walks them in lane, event-time, Seq order from
-- this partial index, so a run of millions of rows never holds its queue
-- in memory and never sorts it.
CREATE INDEX results_queue ON results (run_id, lane, time, seq) WHERE outcome = 'new';
