-- What collection and analysis produced, per run. As in 0001, every value
-- that can hold customer content is sealed and bound to its row.

-- One row per assessed server: its inventory (settings, databases, counts,
-- skipped steps) as sealed JSON. Code is not in here; it is in `module`.
CREATE TABLE inventory (
    run_id  text NOT NULL REFERENCES run,
    target  text NOT NULL,
    body    bytea NOT NULL,   -- sealed: the inventory as JSON
    PRIMARY KEY (run_id, target)
);

-- One row per finding. Feature and status stay clear for counting; the
-- finding itself (file, object, snippet of code) is sealed.
CREATE TABLE finding (
    run_id   text   NOT NULL REFERENCES run,
    id       bigint NOT NULL,
    feature  text   NOT NULL,
    status   text   NOT NULL,
    body     bytea  NOT NULL,   -- sealed: the finding as JSON
    PRIMARY KEY (run_id, id)
);

-- One row per analysed object (the readiness score's denominator), sealed.
CREATE TABLE analysed_object (
    run_id  text   NOT NULL REFERENCES run,
    id      bigint NOT NULL,
    body    bytea  NOT NULL,    -- sealed: the object summary as JSON
    PRIMARY KEY (run_id, id)
);
