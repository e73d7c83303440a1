-- Probe: statements over many lines, continued: global temporary tables as
-- targets and sources, cursor options, FOR XML options, inline hash indexes,
-- WITH RESULT SETS; where each is reported.
SELECT
    g.a,
    g.b
FROM
    dbo.t AS t
    JOIN ##g AS g
        ON g.a = t.a;
GO
UPDATE
    g
SET
    g.b = 1
FROM
    ##g AS g;
GO
DELETE
FROM
    ##g
WHERE a = 1;
GO
CREATE TABLE
    ##h
(
    a int
);
GO
DECLARE c2 CURSOR
    LOCAL
    KEYSET
    SCROLL_LOCKS
FOR SELECT a FROM dbo.t
FOR UPDATE OF a;
GO
SELECT
    a,
    b
FROM dbo.t
FOR XML
    PATH('row'),
    ELEMENTS XSINIL,
    ROOT('rows');
GO
CREATE TABLE dbo.Mem
(
    Id int NOT NULL
        PRIMARY KEY
        NONCLUSTERED,
    Code int NOT NULL,
    INDEX ix_code
        NONCLUSTERED HASH (Code)
        WITH (BUCKET_COUNT = 64)
)
WITH (MEMORY_OPTIMIZED = ON);
GO
EXEC dbo.p
    @a = 1,
    @b = 2
WITH RESULT SETS
(
    (x int)
);
GO
