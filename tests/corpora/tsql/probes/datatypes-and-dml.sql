-- Probe: data types, DML forms and operators in table definitions,
-- variables, parameters and conversions as application schemas use them.
CREATE TABLE dbo.Types (
    id int IDENTITY(1, 1) NOT NULL,
    rv rowversion NOT NULL,
    ts timestamp NULL,
    v sql_variant NULL,
    img image NULL,
    txt text NULL,
    ntxt ntext NULL,
    money_col money NULL,
    small_money smallmoney NULL,
    dto datetimeoffset(7) NULL,
    dt2 datetime2(3) NULL,
    sdt smalldatetime NULL,
    h hierarchyid NULL,
    g geography NULL,
    gm geometry NULL,
    x xml NULL,
    u uniqueidentifier ROWGUIDCOL NOT NULL DEFAULT NEWSEQUENTIALID(),
    n sysname NULL,
    b bit NULL,
    vb varbinary(max) NULL,
    c char(10) COLLATE Latin1_General_BIN2 NULL,
    nc nvarchar(50) COLLATE SQL_Latin1_General_CP1_CS_AS NULL,
    dec_col decimal(38, 10) NULL,
    f float(24) NULL,
    r real NULL,
    vc varchar(max) NULL,
    computed AS (id * 2) PERSISTED,
    computed2 AS CONVERT(varchar(10), GETDATE(), 112)
);
GO
DECLARE @t TABLE (id int PRIMARY KEY, name nvarchar(50) UNIQUE, CHECK (id > 0));
DECLARE @v sql_variant = 1;
DECLARE @h hierarchyid;
DECLARE @c CURSOR;
DECLARE @img image;
DECLARE @x xml;
DECLARE @ts timestamp;
DECLARE @dec numeric(38, 0) = 1;
SELECT CAST(@v AS int), SQL_VARIANT_PROPERTY(@v, 'BaseType');
SELECT CONVERT(varchar(30), GETDATE(), 121);
SELECT CONVERT(datetime, '2024-01-01', 102);
SELECT CONVERT(varchar(8), GETDATE(), 108);
SELECT CONVERT(nvarchar(30), SYSDATETIMEOFFSET(), 127);
SELECT CONVERT(varchar(20), CAST(1.5 AS money), 1);
SELECT CONVERT(varbinary(16), 'abc', 2);
SELECT CONVERT(int, 0x0F);
SELECT CAST('2024-01-01' AS datetime) + 1;
SELECT GETDATE() - 1;
SELECT CAST(GETDATE() AS float);
SELECT CAST(1 AS datetime);
SELECT DATEADD(day, 1, 0);
SELECT TRY_CONVERT(date, '20240101', 112);
SELECT CAST(123 AS varchar) + 'x';
SELECT 'a' + NULL;
SELECT N'a' COLLATE Latin1_General_CS_AS;
SELECT * FROM dbo.Orders ORDER BY name COLLATE Latin1_General_BIN;
GO
INSERT dbo.Orders (id) VALUES (1), (2), (3);
INSERT INTO dbo.Orders DEFAULT VALUES;
INSERT INTO dbo.Orders (id) OUTPUT inserted.id INTO @t (id) VALUES (1);
INSERT INTO dbo.Orders (id) SELECT TOP (10) PERCENT id FROM dbo.Staging ORDER BY id;
INSERT INTO dbo.Orders (id) EXEC dbo.usp_GetIds;
INSERT INTO dbo.Orders (id) EXEC ('SELECT 1');
INSERT INTO @t EXEC sp_executesql N'SELECT 1, N''x''';
UPDATE o SET o.Status = s.Status FROM dbo.Orders AS o JOIN dbo.Staging AS s ON s.id = o.id;
UPDATE dbo.Orders SET @total = @total + Amount;
UPDATE dbo.Orders SET Payload.modify('delete /a') WHERE id = 1;
UPDATE dbo.Orders SET name.WRITE(N'x', 0, 1) WHERE id = 1;
UPDATE dbo.Orders SET Amount += 1, Status = DEFAULT WHERE id = 1;
DELETE o FROM dbo.Orders AS o JOIN dbo.Staging AS s ON s.id = o.id;
DELETE FROM dbo.Orders OUTPUT deleted.* WHERE id = 1;
DELETE TOP (10) PERCENT FROM dbo.Orders;
SELECT TOP 10 PERCENT * FROM dbo.Orders ORDER BY id;
SELECT * FROM dbo.Orders ORDER BY id OFFSET 10 ROWS FETCH NEXT 5 ROWS ONLY;
SELECT id, COUNT(*) FROM dbo.Orders GROUP BY ALL id;
SELECT id FROM dbo.Orders GROUP BY id WITH CUBE;
SELECT id FROM dbo.Orders GROUP BY GROUPING SETS ((id), ());
SELECT id, SUM(Amount) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM dbo.Orders;
SELECT id, SUM(Amount) OVER (ORDER BY id RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) FROM dbo.Orders;
SELECT id, LAG(id, 1) OVER (ORDER BY id), FIRST_VALUE(id) OVER (ORDER BY id) FROM dbo.Orders;
SELECT id, NTILE(4) OVER (ORDER BY id), CUME_DIST() OVER (ORDER BY id), PERCENT_RANK() OVER (ORDER BY id) FROM dbo.Orders;
SELECT PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY id) OVER () FROM dbo.Orders;
SELECT STRING_AGG(name, ',') WITHIN GROUP (ORDER BY name) FROM dbo.Orders;
SELECT STDEV(Amount), STDEVP(Amount), VAR(Amount), VARP(Amount) FROM dbo.Orders;
SELECT COUNT_BIG(*), CHECKSUM_AGG(id) FROM dbo.Orders;
SELECT id FROM dbo.Orders WHERE name LIKE '[a-c]%' ESCAPE '\';
SELECT id FROM dbo.Orders WHERE id = ANY (SELECT id FROM dbo.Staging);
SELECT id FROM dbo.Orders WHERE id = SOME (SELECT id FROM dbo.Staging);
SELECT id FROM dbo.Orders WHERE id > ALL (SELECT id FROM dbo.Staging);
SELECT id FROM dbo.Orders WHERE id !< 5 AND id !> 10;
SELECT id FROM dbo.Orders EXCEPT SELECT id FROM dbo.Staging;
SELECT id FROM dbo.Orders INTERSECT SELECT id FROM dbo.Staging;
SELECT id FROM dbo.Orders a, dbo.Staging b WHERE a.id *= b.id;
SELECT $IDENTITY FROM dbo.Orders;
SELECT $ROWGUID FROM dbo.Types;
SELECT $PARTITION.pf_OrderDate(OrderDate) FROM dbo.Orders;
SELECT ~1, 5 ^ 3, 6 & 3, 6 | 1, -(-1);
SELECT IIF(1 = 1, 'a', 'b'), CHOOSE(2, 'a', 'b');
SELECT NEXT VALUE FOR dbo.seq_Orders;
SELECT id INTO #tmp FROM dbo.Orders;
SELECT id INTO dbo.OrdersCopy FROM dbo.Orders;
SELECT IDENTITY(int, 1, 1) AS rn, id INTO #numbered FROM dbo.Orders;
TRUNCATE TABLE #tmp;
CREATE TABLE #local (id int CONSTRAINT PK_local PRIMARY KEY);
CREATE TABLE ##global (id int);
GO
