-- 0005: retention. runs.pruned is when the run's per-row results were
-- pruned (Unix nanoseconds; 0: not pruned). The run and its summary stay.

ALTER TABLE runs ADD COLUMN pruned INTEGER NOT NULL DEFAULT 0;
