-- The workload summary in parts, as the workload itself (0004): part 0 holds
-- the summary without its statements, parts 1.. the statements (every
-- distinct statement and module run, by use) a bounded number at a time.
-- With 100,000 statements the summary was one 35 MB message, and the session
-- database's client kept buffers that size for the rest of the run.
ALTER TABLE workload_summary ADD COLUMN part integer NOT NULL DEFAULT 0;
ALTER TABLE workload_summary DROP CONSTRAINT workload_summary_pkey;
ALTER TABLE workload_summary ADD PRIMARY KEY (run_id, part);
