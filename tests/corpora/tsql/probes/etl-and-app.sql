CREATE PROCEDURE etl.LoadCustomerDim @BatchId int
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;
    DECLARE @now datetime2(3) = SYSUTCDATETIME();
    BEGIN TRY
        BEGIN TRANSACTION;
        MERGE dw.DimCustomer WITH (HOLDLOCK) AS tgt
        USING (SELECT CustomerKey, Name, City, HASHBYTES('SHA2_256', CONCAT(Name, '|', City)) AS RowHash FROM stg.Customer WHERE BatchId = @BatchId) AS src
        ON tgt.CustomerKey = src.CustomerKey AND tgt.IsCurrent = 1
        WHEN MATCHED AND tgt.RowHash <> src.RowHash THEN UPDATE SET tgt.IsCurrent = 0, tgt.ValidTo = @now
        WHEN NOT MATCHED BY TARGET THEN INSERT (CustomerKey, Name, City, RowHash, ValidFrom, IsCurrent) VALUES (src.CustomerKey, src.Name, src.City, src.RowHash, @now, 1)
        OUTPUT $action, inserted.CustomerKey INTO etl.MergeLog (Action, CustomerKey);
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        INSERT INTO etl.ErrorLog (BatchId, ErrorNumber, ErrorMessage, ErrorLine) VALUES (@BatchId, ERROR_NUMBER(), ERROR_MESSAGE(), ERROR_LINE());
        THROW;
    END CATCH;
END;
GO
CREATE PROCEDURE etl.SwitchInPartition @PartitionDate date
AS
BEGIN
    DECLARE @p int = $PARTITION.pf_SalesDate(@PartitionDate);
    ALTER TABLE stg.Sales SWITCH TO dw.FactSales PARTITION @p;
    ALTER INDEX ALL ON dw.FactSales REBUILD PARTITION = @p WITH (ONLINE = ON);
    UPDATE STATISTICS dw.FactSales WITH RESAMPLE ON PARTITIONS (@p);
END;
GO
CREATE PROCEDURE etl.TruncateStage AS TRUNCATE TABLE stg.Sales WITH (PARTITIONS (1 TO 4));
GO
CREATE PROCEDURE etl.BulkLoad @File nvarchar(260)
AS
BEGIN
    DECLARE @sql nvarchar(max) = N'BULK INSERT stg.Sales FROM ''' + REPLACE(@File, '''', '''''') + N''' WITH (FORMAT = ''CSV'', FIRSTROW = 2, TABLOCK, BATCHSIZE = 50000, CODEPAGE = ''65001'')';
    EXEC sp_executesql @sql;
END;
GO
CREATE PROCEDURE etl.RunningTotals
AS
SELECT OrderDate, Amount,
       SUM(Amount) OVER (ORDER BY OrderDate ROWS UNBOUNDED PRECEDING) AS RunningTotal,
       AVG(Amount) OVER (ORDER BY OrderDate ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS Moving7,
       FIRST_VALUE(Amount) OVER (PARTITION BY YEAR(OrderDate) ORDER BY OrderDate) AS FirstOfYear,
       LAST_VALUE(Amount) OVER (PARTITION BY YEAR(OrderDate) ORDER BY OrderDate ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS LastOfYear,
       NTILE(4) OVER (ORDER BY Amount) AS Quartile,
       PERCENT_RANK() OVER (ORDER BY Amount) AS PctRank,
       CUME_DIST() OVER (ORDER BY Amount) AS CumeDist
FROM dw.FactSales;
GO
CREATE PROCEDURE app.Customer_Upsert @Id int OUTPUT, @Name nvarchar(100), @Tags app.TagList READONLY, @RowVersion rowversion OUTPUT
AS
BEGIN
    SET NOCOUNT ON;
    IF @Id IS NULL
    BEGIN
        INSERT INTO app.Customer (Name) VALUES (@Name);
        SET @Id = SCOPE_IDENTITY();
    END
    ELSE
        UPDATE app.Customer SET Name = @Name WHERE Id = @Id AND RowVersion = @RowVersion;
    IF @@ROWCOUNT = 0 THROW 50001, N'Concurrency conflict', 1;
    DELETE FROM app.CustomerTag WHERE CustomerId = @Id;
    INSERT INTO app.CustomerTag (CustomerId, Tag) SELECT @Id, Tag FROM @Tags;
    SELECT @RowVersion = RowVersion FROM app.Customer WHERE Id = @Id;
END;
GO
CREATE PROCEDURE app.Customer_GetJson @Id int
AS
SELECT c.Id, c.Name, (SELECT t.Tag FROM app.CustomerTag AS t WHERE t.CustomerId = c.Id FOR JSON PATH) AS Tags
FROM app.Customer AS c WHERE c.Id = @Id
FOR JSON PATH, WITHOUT_ARRAY_WRAPPER;
GO
CREATE PROCEDURE app.Customer_ImportJson @Doc nvarchar(max)
AS
BEGIN
    IF ISJSON(@Doc) = 0 THROW 50002, N'Not JSON', 1;
    INSERT INTO app.Customer (Name, City)
    SELECT Name, City FROM OPENJSON(@Doc, '$.customers') WITH (Name nvarchar(100) '$.name', City nvarchar(100) '$.address.city');
    UPDATE app.Settings SET Doc = JSON_MODIFY(Doc, '$.lastImport', CONVERT(nvarchar(30), SYSUTCDATETIME(), 127));
    SELECT JSON_VALUE(Doc, '$.lastImport'), JSON_QUERY(Doc, '$.options') FROM app.Settings;
END;
GO
CREATE PROCEDURE app.Customer_Page @Page int = 1, @Size int = 50, @Sort sysname = N'Name'
AS
BEGIN
    DECLARE @sql nvarchar(max) = N'SELECT Id, Name FROM app.Customer ORDER BY ' + QUOTENAME(@Sort) + N' OFFSET @o ROWS FETCH NEXT @s ROWS ONLY';
    DECLARE @o int = (@Page - 1) * @Size;
    EXEC sp_executesql @sql, N'@o int, @s int', @o = @o, @s = @Size;
END;
GO
CREATE PROCEDURE app.Audit_Write @Entity sysname, @Id int
AS
INSERT INTO app.Audit (Entity, EntityId, ChangedBy, ChangedAt, Host, App, SessionCtx)
VALUES (@Entity, @Id, SUSER_SNAME(), SYSDATETIMEOFFSET(), HOST_NAME(), APP_NAME(), CAST(SESSION_CONTEXT(N'user_id') AS int));
GO
CREATE TRIGGER app.tr_Customer_Audit ON app.Customer AFTER INSERT, UPDATE, DELETE
AS
BEGIN
    SET NOCOUNT ON;
    IF UPDATE(Name) OR COLUMNS_UPDATED() & 2 = 2
        INSERT INTO app.Audit (Entity, EntityId, ChangedBy, ChangedAt)
        SELECT 'Customer', COALESCE(i.Id, d.Id), ORIGINAL_LOGIN(), GETUTCDATE() FROM inserted AS i FULL OUTER JOIN deleted AS d ON d.Id = i.Id;
END;
GO
CREATE TRIGGER app.tr_vCustomer_Insert ON app.vCustomer INSTEAD OF INSERT
AS INSERT INTO app.Customer (Name) SELECT Name FROM inserted;
GO
CREATE FUNCTION app.fn_SplitCsv (@List nvarchar(max))
RETURNS @Items TABLE (Item nvarchar(4000))
AS
BEGIN
    DECLARE @pos int = CHARINDEX(',', @List);
    WHILE @pos > 0
    BEGIN
        INSERT @Items VALUES (LTRIM(RTRIM(LEFT(@List, @pos - 1))));
        SET @List = STUFF(@List, 1, @pos, '');
        SET @pos = CHARINDEX(',', @List);
    END;
    INSERT @Items VALUES (LTRIM(RTRIM(@List)));
    RETURN;
END;
GO
CREATE FUNCTION app.fn_Age (@Born date) RETURNS int WITH SCHEMABINDING, RETURNS NULL ON NULL INPUT
AS BEGIN RETURN DATEDIFF(year, @Born, GETDATE()) - CASE WHEN DATEADD(year, DATEDIFF(year, @Born, GETDATE()), @Born) > GETDATE() THEN 1 ELSE 0 END; END;
GO
CREATE PROCEDURE etl.DateDimension @From date, @To date
AS
WITH d AS (SELECT @From AS dt UNION ALL SELECT DATEADD(day, 1, dt) FROM d WHERE dt < @To)
INSERT INTO dw.DimDate (DateKey, FullDate, DayName, MonthName, Quarter, IsWeekend, IsoWeek)
SELECT CONVERT(int, CONVERT(char(8), dt, 112)), dt, DATENAME(weekday, dt), DATENAME(month, dt), DATEPART(quarter, dt),
       CASE WHEN DATEPART(weekday, dt) IN (1, 7) THEN 1 ELSE 0 END, DATEPART(iso_week, dt)
FROM d OPTION (MAXRECURSION 0);
GO
CREATE PROCEDURE etl.Dedupe
AS
WITH ranked AS (SELECT *, ROW_NUMBER() OVER (PARTITION BY Email ORDER BY Id DESC) AS rn FROM stg.Contact)
DELETE FROM ranked WHERE rn > 1;
GO
CREATE PROCEDURE etl.PivotSales
AS
SELECT * FROM (SELECT Region, YEAR(OrderDate) AS y, Amount FROM dw.FactSales) AS s
PIVOT (SUM(Amount) FOR y IN ([2022], [2023], [2024])) AS p;
GO
CREATE PROCEDURE etl.TakeCheckpoint @Name sysname
AS
BEGIN
    DECLARE @lock int;
    EXEC @lock = sp_getapplock @Resource = @Name, @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = 0;
    IF @lock < 0 RETURN 1;
    WAITFOR DELAY '00:00:05';
    EXEC sp_releaseapplock @Resource = @Name, @LockOwner = 'Session';
END;
GO
CREATE PROCEDURE etl.Snapshot
AS
BEGIN
    SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
    SELECT COUNT_BIG(*) FROM dw.FactSales WITH (NOLOCK);
    SET TRANSACTION ISOLATION LEVEL SERIALIZABLE;
    SELECT TOP (10) * FROM dw.FactSales WITH (READCOMMITTEDLOCK) ORDER BY Amount DESC;
END;
GO
CREATE PROCEDURE etl.UnpivotWide
AS
SELECT Id, Attr, Val FROM stg.Wide UNPIVOT (Val FOR Attr IN (A1, A2, A3)) AS u;
GO
CREATE PROCEDURE etl.Sequence_Next @n int
AS
BEGIN
    DECLARE @first sql_variant, @last sql_variant;
    EXEC sys.sp_sequence_get_range @sequence_name = N'etl.seq_batch', @range_size = @n, @range_first_value = @first OUTPUT, @range_last_value = @last OUTPUT;
    SELECT @first, @last;
END;
GO
