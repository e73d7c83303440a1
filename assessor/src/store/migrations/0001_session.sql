-- The session store's schema. Every column holding customer content is bytea
-- sealed with AES-256-GCM (see envelope.rs) and bound to its row; ids, counts,
-- stage names and feature ids stay in clear so they can be queried.
CREATE TABLE run (
    run_id      text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now()
);

-- One row per completed stage: a resumed run skips what is done.
CREATE TABLE checkpoint (
    run_id        text NOT NULL REFERENCES run,
    stage         text NOT NULL,
    completed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, stage)
);

-- Module definitions and other code collected from a server.
CREATE TABLE module (
    run_id      text   NOT NULL REFERENCES run,
    id          bigint NOT NULL,
    target      text   NOT NULL,   -- the config's label for the server
    kind        text   NOT NULL,   -- procedure, view, function, trigger, job_step
    name        bytea  NOT NULL,   -- sealed: database.schema.name
    definition  bytea  NOT NULL,   -- sealed: the T-SQL text
    PRIMARY KEY (run_id, id)
);
