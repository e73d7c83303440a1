-- Probe: data-warehouse load procedures (staging, change detection,
-- slowly changing dimensions, partition switching, columnstore upkeep), as
-- an ELT layer writes them. Written by this project; see ../README.md.
SET NOCOUNT ON;
SET XACT_ABORT ON;
GO
CREATE TABLE stage.Sales
(
    SaleKey bigint NOT NULL,
    CustomerCode varchar(20) NOT NULL,
    SaleDate date NOT NULL,
    Amount decimal(18, 2) NOT NULL,
    RowHash AS CAST(HASHBYTES('SHA2_256', CONCAT_WS('|', CustomerCode, SaleDate, Amount)) AS binary(32)) PERSISTED
)
WITH (DATA_COMPRESSION = PAGE);
GO
BULK INSERT stage.Sales
FROM 'C:\loads\sales.csv'
WITH (FORMAT = 'CSV', FIRSTROW = 2, FIELDQUOTE = '"', FIELDTERMINATOR = ',', ROWTERMINATOR = '0x0a',
      CODEPAGE = '65001', TABLOCK, BATCHSIZE = 50000, MAXERRORS = 10, ERRORFILE = 'C:\loads\sales.err');
GO
INSERT INTO stage.Sales WITH (TABLOCK) (SaleKey, CustomerCode, SaleDate, Amount)
SELECT s.SaleKey, s.CustomerCode, s.SaleDate, s.Amount
FROM OPENROWSET(BULK 'C:\loads\sales.dat', FORMATFILE = 'C:\loads\sales.fmt', FIRSTROW = 2) AS s;
GO
DECLARE @json nvarchar(max) = (SELECT BulkColumn FROM OPENROWSET(BULK 'C:\loads\customers.json', SINGLE_CLOB) AS j);
INSERT INTO stage.Customers (CustomerCode, Name)
SELECT CustomerCode, Name FROM OPENJSON(@json) WITH (CustomerCode varchar(20), Name nvarchar(100));
GO
CREATE OR ALTER PROCEDURE dw.LoadDimCustomer
AS
BEGIN
    SET NOCOUNT ON;
    BEGIN TRY
        BEGIN TRANSACTION;

        INSERT INTO dw.DimCustomer (CustomerCode, Name, ValidFrom, ValidTo, IsCurrent)
        SELECT m.CustomerCode, m.Name, SYSUTCDATETIME(), NULL, 1
        FROM
        (
            MERGE dw.DimCustomer WITH (HOLDLOCK) AS t
            USING stage.Customers AS s
               ON t.CustomerCode = s.CustomerCode AND t.IsCurrent = 1
            WHEN MATCHED AND t.Name <> s.Name THEN
                UPDATE SET t.ValidTo = SYSUTCDATETIME(), t.IsCurrent = 0
            WHEN NOT MATCHED BY TARGET THEN
                INSERT (CustomerCode, Name, ValidFrom, IsCurrent) VALUES (s.CustomerCode, s.Name, SYSUTCDATETIME(), 1)
            OUTPUT $action AS MergeAction, s.CustomerCode, s.Name
        ) AS m
        WHERE m.MergeAction = 'UPDATE';

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
        DECLARE @msg nvarchar(2048) = ERROR_MESSAGE();
        RAISERROR(N'DimCustomer load failed: %s', 16, 1, @msg);
    END CATCH;
END;
GO
CREATE OR ALTER PROCEDURE dw.LoadFactSales
    @LoadDate date
AS
BEGIN
    DECLARE @partition int = $PARTITION.pfSaleDate(@LoadDate);

    TRUNCATE TABLE dw.FactSales_Switch;
    INSERT INTO dw.FactSales_Switch WITH (TABLOCK) (SaleKey, CustomerKey, SaleDate, Amount)
    SELECT s.SaleKey, c.CustomerKey, s.SaleDate, s.Amount
    FROM stage.Sales AS s
    JOIN dw.DimCustomer AS c ON c.CustomerCode = s.CustomerCode AND c.IsCurrent = 1
    WHERE s.SaleDate = @LoadDate
    OPTION (RECOMPILE, MAXDOP 4);

    ALTER TABLE dw.FactSales SWITCH PARTITION @partition TO dw.FactSales_Old PARTITION @partition;
    ALTER TABLE dw.FactSales_Switch SWITCH TO dw.FactSales PARTITION @partition
        WITH (WAIT_AT_LOW_PRIORITY (MAX_DURATION = 1 MINUTES, ABORT_AFTER_WAIT = SELF));
    TRUNCATE TABLE dw.FactSales_Old WITH (PARTITIONS (@partition));

    ALTER INDEX cci_FactSales ON dw.FactSales REORGANIZE PARTITION = @partition WITH (COMPRESS_ALL_ROW_GROUPS = ON);
    UPDATE STATISTICS dw.FactSales WITH RESAMPLE ON PARTITIONS (@partition);
END;
GO
ALTER PARTITION SCHEME psSaleDate NEXT USED [FG_2027];
ALTER PARTITION FUNCTION pfSaleDate() SPLIT RANGE ('2027-01-01');
ALTER PARTITION FUNCTION pfSaleDate() MERGE RANGE ('2020-01-01');
GO
CREATE CLUSTERED COLUMNSTORE INDEX cci_FactSales ON dw.FactSales
WITH (DROP_EXISTING = ON, MAXDOP = 2, COMPRESSION_DELAY = 10, DATA_COMPRESSION = COLUMNSTORE_ARCHIVE)
ON psSaleDate (SaleDate);
CREATE NONCLUSTERED COLUMNSTORE INDEX ncci_Sales ON dw.Sales (SaleDate, Amount) WHERE SaleDate >= '2026-01-01';
GO
SELECT OBJECT_NAME(rg.object_id) AS table_name, rg.partition_number, rg.state_desc, rg.total_rows, rg.deleted_rows
FROM sys.dm_db_column_store_row_group_physical_stats AS rg
WHERE rg.state_desc <> 'COMPRESSED';
SELECT p.partition_number, p.rows, prv.value AS boundary
FROM sys.partitions AS p
JOIN sys.indexes AS i ON i.object_id = p.object_id AND i.index_id = p.index_id
JOIN sys.partition_schemes AS ps ON ps.data_space_id = i.data_space_id
JOIN sys.partition_range_values AS prv ON prv.function_id = ps.function_id AND prv.boundary_id = p.partition_number
WHERE p.object_id = OBJECT_ID(N'dw.FactSales');
GO
EXEC sp_rename N'dw.FactSales_New', N'FactSales';
EXEC sp_rename N'dw.FactSales.ix_old', N'ix_new', N'INDEX';
GO
