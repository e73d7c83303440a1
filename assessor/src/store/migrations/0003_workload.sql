-- Live workloads (`[targets.workload]`). Every statement text was
-- normalised in the collector (literals replaced) before it reached here,
-- and is sealed all the same: it is still customer code.

-- One row per server whose workload was collected: its distinct normalised
-- statements, module statistics and sources, as sealed JSON.
CREATE TABLE workload (
    run_id  text NOT NULL REFERENCES run,
    target  text NOT NULL,
    body    bytea NOT NULL,   -- sealed: the collected workload as JSON
    PRIMARY KEY (run_id, target)
);

-- The analyze stage's workload summary (weights, blockers, readiness by
-- executions), read by the report stage, sealed.
CREATE TABLE workload_summary (
    run_id  text PRIMARY KEY REFERENCES run,
    body    bytea NOT NULL    -- sealed: the summary as JSON
);
