-- Probe: batch-level forms: cursors opened in another batch than their
-- DECLARE, @@-named parameters and variables, column-level grants, legacy
-- collations, CLR and encrypted modules whose options sit far below the
-- CREATE line.
DECLARE c_orders CURSOR LOCAL FAST_FORWARD FOR
    SELECT id FROM dbo.Orders;
OPEN c_orders;
CLOSE c_orders;
DEALLOCATE c_orders;
GO
OPEN c_orders;
FETCH NEXT FROM c_orders;
CLOSE c_orders;
GO
EXEC (N'DECLARE c_dyn CURSOR GLOBAL FOR SELECT id FROM dbo.Orders');
OPEN c_dyn;
FETCH NEXT FROM c_dyn;
CLOSE GLOBAL c_dyn;
DEALLOCATE GLOBAL c_dyn;
GO
DECLARE @sql nvarchar(max) = N'DECLARE c_exec CURSOR FOR SELECT 1';
EXEC sp_executesql @sql;
open c_exec;
GO
CREATE PROCEDURE dbo.usp_OpenLater
AS
BEGIN
    OPEN c_shared;
    FETCH NEXT FROM GLOBAL c_shared;
END
GO
CREATE PROCEDURE dbo.usp_AtAt
    @@limit int,
    @normal int = 0
AS
BEGIN
    DECLARE @@counter int = 0;
    SELECT TOP (@@limit) name FROM sys.objects;
    SELECT @@DEF_SORTORDER_ID AS sort_order;
    SELECT @@DEFAULT_LANGID AS lang;
    SELECT @@ROWCOUNT AS rc, @@ERROR AS err;
END
GO
CREATE FUNCTION dbo.fn_AtAt (@@x int)
RETURNS int
AS
BEGIN
    RETURN @@x + 1;
END
GO
GRANT SELECT ON dbo.Orders (id, name) TO app_user;
GRANT SELECT (id, name) ON dbo.Orders TO app_user;
GRANT UPDATE ON OBJECT::dbo.Orders (name) TO app_user;
REVOKE SELECT ON dbo.Orders (name) FROM app_user;
GRANT SELECT ON dbo.Orders TO app_user;
GRANT SELECT, INSERT ON OBJECT::dbo.Orders TO app_user;
GO
SELECT name FROM dbo.Orders ORDER BY name COLLATE Latin1_General_BIN;
SELECT name FROM dbo.Orders WHERE name = N'x' COLLATE SQL_Latin1_General_CP850_BIN;
SELECT name FROM dbo.Orders ORDER BY name COLLATE Latin1_General_BIN2;
SELECT name FROM dbo.Orders ORDER BY name COLLATE Latin1_General_CI_AS;
SELECT name FROM dbo.Orders ORDER BY name COLLATE DATABASE_DEFAULT;
CREATE TABLE dbo.Codes (
    code varchar(10) COLLATE Latin1_General_BIN NOT NULL,
    code2 varchar(10) COLLATE Latin1_General_100_BIN2 NOT NULL
);
GO
CREATE FUNCTION dbo.fn_ClrMatch
(
    @input nvarchar(max),
    @pattern nvarchar(4000),
    @options int
)
RETURNS bit
WITH EXECUTE AS CALLER
AS EXTERNAL NAME RegexLib.[RegexLib.Functions].IsMatch;
GO
CREATE PROCEDURE dbo.usp_Encrypted
    @a int,
    @b int,
    @c int,
    @d int
WITH ENCRYPTION
AS
    SELECT @a + @b + @c + @d;
GO
CREATE TRIGGER trg_Encrypted
ON dbo.Orders
WITH ENCRYPTION
AFTER INSERT
AS
    SET NOCOUNT ON;
GO
CREATE TABLE dbo.Likes
AS EDGE;
CREATE TABLE dbo.Person (id int PRIMARY KEY, name nvarchar(100)) AS NODE;
GO
CREATE FULLTEXT INDEX ON dbo.Docs
(
    Title,
    Body LANGUAGE 1033
)
KEY INDEX PK_Docs
ON ft_catalog
WITH STOPLIST = SYSTEM;
GO
KILL 61 WITH STATUSONLY;
KILL 61;
GO
ALTER DATABASE CURRENT SET MIXED_PAGE_ALLOCATION OFF;
ALTER DATABASE Sales
    SET AUTO_CREATE_STATISTICS ON;
ALTER DATABASE Sales SET TARGET_RECOVERY_TIME = 60 SECONDS;
ALTER DATABASE Sales MODIFY NAME = Sales2;
GO
SELECT *
  INTO ##Snapshot
  FROM dbo.Orders
 WHERE id > 0;
SELECT id INTO #local FROM ##Snapshot;
GO
