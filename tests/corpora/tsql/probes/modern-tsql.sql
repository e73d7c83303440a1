-- Probe: T-SQL of SQL Server 2017-2022 (functions, predicates, clauses and
-- options added in those releases) in the places application and reporting
-- code puts them: select lists, predicates, defaults, computed columns,
-- module bodies and table sources.
CREATE TABLE dbo.Readings
(
    ReadingId int IDENTITY(1,1) NOT NULL PRIMARY KEY,
    SensorId int NOT NULL,
    TakenAt datetime2(3) NOT NULL,
    Value decimal(18,4) NULL,
    Tags nvarchar(400) NULL,
    Payload nvarchar(max) NULL CHECK (ISJSON(Payload) = 1)
);
GO
SELECT GREATEST(1, 2, 3) AS g, LEAST(1, 2, 3) AS l;
GO
SELECT SensorId, GREATEST(Value, 0) AS NonNegative
FROM dbo.Readings
WHERE LEAST(Value, 100) < 50;
GO
SELECT DATETRUNC(month, TakenAt) AS MonthStart, COUNT(*) AS n
FROM dbo.Readings
GROUP BY DATETRUNC(month, TakenAt);
GO
SELECT DATE_BUCKET(week, 1, TakenAt) AS WeekBucket, AVG(Value) AS AvgValue
FROM dbo.Readings
GROUP BY DATE_BUCKET(week, 1, TakenAt);
GO
SELECT value AS n FROM GENERATE_SERIES(1, 10);
GO
SELECT r.SensorId, s.value
FROM dbo.Readings AS r
CROSS APPLY GENERATE_SERIES(1, 3) AS s;
GO
SELECT ReadingId FROM dbo.Readings WHERE Value IS DISTINCT FROM 0;
GO
SELECT ReadingId FROM dbo.Readings WHERE Value IS NOT DISTINCT FROM NULL;
GO
SELECT SensorId,
       AVG(Value) OVER win AS RunningAvg,
       MAX(Value) OVER win AS RunningMax
FROM dbo.Readings
WINDOW win AS (PARTITION BY SensorId ORDER BY TakenAt ROWS BETWEEN 2 PRECEDING AND CURRENT ROW);
GO
SELECT JSON_OBJECT('id': ReadingId, 'value': Value) AS Doc FROM dbo.Readings;
GO
SELECT JSON_ARRAY(ReadingId, SensorId, Value) AS Doc FROM dbo.Readings;
GO
SELECT ReadingId FROM dbo.Readings WHERE ISJSON(Payload, OBJECT) = 1;
GO
SELECT JSON_PATH_EXISTS(Payload, '$.unit') AS HasUnit FROM dbo.Readings;
GO
SELECT APPROX_PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY Value) AS Median FROM dbo.Readings;
GO
SELECT APPROX_PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY Value) AS P90 FROM dbo.Readings;
GO
SELECT LTRIM(Tags, ',') AS a, RTRIM(Tags, ',') AS b, TRIM(',' FROM Tags) AS c FROM dbo.Readings;
GO
SELECT TRIM(BOTH ',' FROM Tags) AS t FROM dbo.Readings;
GO
SELECT BIT_COUNT(SensorId) AS bits, LEFT_SHIFT(SensorId, 2) AS shl, RIGHT_SHIFT(SensorId, 1) AS shr,
       GET_BIT(SensorId, 0) AS b0, SET_BIT(SensorId, 3) AS b3
FROM dbo.Readings;
GO
SELECT CURRENT_TIMEZONE() AS tz, CURRENT_TIMEZONE_ID() AS tzid;
GO
SELECT value, ordinal FROM STRING_SPLIT(N'a,b,c', N',', 1);
GO
SELECT TRANSLATE(Tags, '[]', '()') AS t, CONCAT_WS('|', SensorId, Value) AS c FROM dbo.Readings;
GO
SELECT STRING_AGG(Tags, ',') WITHIN GROUP (ORDER BY TakenAt DESC) AS AllTags
FROM dbo.Readings
GROUP BY SensorId;
GO
SELECT FIRST_VALUE(Value) IGNORE NULLS OVER (PARTITION BY SensorId ORDER BY TakenAt) AS FirstKnown
FROM dbo.Readings;
GO
SELECT LAST_VALUE(Value) RESPECT NULLS OVER (PARTITION BY SensorId ORDER BY TakenAt) AS LastSeen
FROM dbo.Readings;
GO
SELECT DATEDIFF_BIG(millisecond, MIN(TakenAt), MAX(TakenAt)) AS Span FROM dbo.Readings;
GO
SELECT TakenAt AT TIME ZONE 'UTC' AT TIME ZONE 'Central European Standard Time' AS LocalTime
FROM dbo.Readings;
GO
SELECT COMPRESS(Payload) AS z, DECOMPRESS(COMPRESS(Payload)) AS back FROM dbo.Readings;
GO
SELECT TRY_PARSE('2026-01-01' AS date USING 'en-GB') AS d, PARSE('1,5' AS decimal(9,2) USING 'de-DE') AS n;
GO
SELECT PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY Value) OVER (PARTITION BY SensorId) AS Median
FROM dbo.Readings;
GO
SELECT SensorId, GROUPING_ID(SensorId) AS g, SUM(Value) AS s
FROM dbo.Readings
GROUP BY GROUPING SETS ((SensorId), ());
GO
SELECT SensorId, SUM(Value) AS s FROM dbo.Readings GROUP BY CUBE (SensorId);
GO
SELECT * FROM dbo.Readings TABLESAMPLE (10 PERCENT) REPEATABLE (42);
GO
CREATE OR ALTER FUNCTION dbo.Bucketed (@at datetime2(3))
RETURNS datetime2(3)
WITH INLINE = ON
AS
BEGIN
    RETURN DATE_BUCKET(hour, 1, @at);
END;
GO
CREATE OR ALTER PROCEDURE dbo.Summarise
    @sensor int
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @top decimal(18,4) = (SELECT GREATEST(MAX(Value), 0) FROM dbo.Readings WHERE SensorId = @sensor);
    IF @top IS DISTINCT FROM NULL
        SELECT @top AS Top1;
    SELECT JSON_OBJECT('sensor': @sensor, 'top': @top) AS Doc;
END;
GO
CREATE TABLE dbo.ReadingsLedger
(
    ReadingId int NOT NULL,
    Value decimal(18,4) NULL
)
WITH (LEDGER = ON (APPEND_ONLY = ON));
GO
ALTER DATABASE SCOPED CONFIGURATION SET LEDGER_DIGEST_STORAGE_ENDPOINT = OFF;
GO
CREATE INDEX IX_Readings_TakenAt ON dbo.Readings (TakenAt)
WITH (ONLINE = ON, RESUMABLE = ON, MAX_DURATION = 60 MINUTES);
GO
ALTER INDEX IX_Readings_TakenAt ON dbo.Readings PAUSE;
GO
ALTER INDEX IX_Readings_TakenAt ON dbo.Readings RESUME;
GO
ALTER TABLE dbo.Readings ADD CONSTRAINT UQ_Readings UNIQUE (SensorId, TakenAt)
WITH (ONLINE = ON, RESUMABLE = ON);
GO
SELECT SensorId FROM dbo.Readings OPTION (USE HINT ('DISABLE_OPTIMIZED_PLAN_FORCING'));
GO
SELECT SensorId FROM dbo.Readings OPTION (USE HINT ('QUERY_OPTIMIZER_COMPATIBILITY_LEVEL_150'), MAXDOP 2);
GO
SELECT * FROM sys.dm_exec_query_statistics_xml(@@SPID);
GO
SELECT * FROM sys.dm_db_page_info(DB_ID(), 1, 1, 'DETAILED');
GO
SELECT * FROM sys.dm_exec_function_stats;
GO
SELECT * FROM sys.dm_db_log_info(DB_ID());
GO
SELECT * FROM sys.dm_os_job_object;
GO
SELECT * FROM sys.ledger_table_history;
GO
SELECT * FROM sys.database_ledger_transactions;
GO
EXEC sys.sp_generate_database_ledger_digest;
GO
EXEC sys.sp_verify_database_ledger_from_digest_storage;
GO
SELECT * FROM sys.query_store_plan_feedback;
GO
SELECT * FROM sys.dm_tran_version_store_space_usage;
GO
ALTER DATABASE CURRENT SET QUERY_STORE = ON (QUERY_CAPTURE_MODE = CUSTOM);
GO
ALTER DATABASE CURRENT SET ACCELERATED_DATABASE_RECOVERY = ON;
GO
ALTER DATABASE SCOPED CONFIGURATION SET PARAMETER_SENSITIVE_PLAN_OPTIMIZATION = ON;
GO
ALTER DATABASE SCOPED CONFIGURATION SET DOP_FEEDBACK = ON;
GO
ALTER DATABASE SCOPED CONFIGURATION SET LAST_QUERY_PLAN_STATS = ON;
GO
CREATE TABLE dbo.Kv
(
    K nvarchar(100) COLLATE Latin1_General_100_BIN2_UTF8 NOT NULL PRIMARY KEY,
    V varchar(max) COLLATE Latin1_General_100_CI_AS_SC_UTF8 NULL
);
GO
SELECT K FROM dbo.Kv WHERE V LIKE '%x%' ESCAPE '\';
GO
DECLARE @j nvarchar(max) = N'{"a":[1,2,3]}';
SELECT [key], [value], [type] FROM OPENJSON(@j, '$.a');
SELECT * FROM OPENJSON(@j) WITH (a nvarchar(max) '$.a' AS JSON);
SELECT JSON_MODIFY(@j, 'append $.a', 4) AS j2, JSON_QUERY(@j, '$.a') AS q, JSON_VALUE(@j, '$.a[0]') AS v;
GO
SELECT SensorId, Value
FROM dbo.Readings
ORDER BY TakenAt
OFFSET 10 ROWS FETCH NEXT 10 ROWS ONLY;
GO
SELECT IIF(Value > 0, 'pos', 'other') AS s, CHOOSE(SensorId, 'a', 'b') AS c FROM dbo.Readings;
GO
SELECT EOMONTH(TakenAt) AS m, DATEFROMPARTS(2026, 1, 1) AS d, FORMAT(TakenAt, 'yyyy-MM') AS f FROM dbo.Readings;
GO
SELECT TRY_CONVERT(int, Tags) AS i, TRY_CAST(Tags AS int) AS j FROM dbo.Readings;
GO
