-- A server's workload in parts: part 0 holds its sources, module statistics
-- and skipped steps, parts 1.. its statements a bounded number at a time.
-- No row, and so no buffer of the session database's client, grows with the
-- size of the workload (100,000 statements were one 53 MB message, and the
-- client kept a buffer that size for the rest of the run).
ALTER TABLE workload ADD COLUMN part integer NOT NULL DEFAULT 0;
ALTER TABLE workload DROP CONSTRAINT workload_pkey;
ALTER TABLE workload ADD PRIMARY KEY (run_id, target, part);
