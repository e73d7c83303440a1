-- Probe: a server health-check procedure (temp result tables filled by many checks, INSERT ... EXEC
-- of DBCC, default trace, plan-cache XML, sp_MSforeachdb, markdown output by FOR XML PATH).
CREATE OR ALTER PROCEDURE dbo.HealthCheck
    @CheckUserDatabaseObjects TINYINT = 1,
    @CheckProcedureCache TINYINT = 0,
    @OutputType VARCHAR(20) = 'TABLE',
    @IgnorePrioritiesAbove INT = NULL,
    @Debug TINYINT = 0
WITH RECOMPILE
AS
    SET NOCOUNT ON;
    SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;

    DECLARE @StringToExecute NVARCHAR(4000)
        ,@curr_tracefilename NVARCHAR(500)
        ,@base_tracefilename NVARCHAR(500)
        ,@indx INT
        ,@query_result_separator CHAR(1)
        ,@EmailRecipients VARCHAR(MAX)
        ,@ProductVersion NVARCHAR(128)
        ,@ProductVersionMajor DECIMAL(10,2)
        ,@ProductVersionMinor DECIMAL(10,2)
        ,@IsWindowsOperatingSystem BIT
        ,@CpuCount INT
        ,@MaxWorkerThreads INT
        ,@CurrentName NVARCHAR(128)
        ,@CurrentDefaultValue NVARCHAR(200)
        ,@CurrentCheckID INT
        ,@CurrentPriority INT
        ,@MinServerMemory BIGINT
        ,@MaxServerMemory BIGINT
        ,@ColumnStoreIndexesInUse BIT
        ,@TraceFileIssue BIT
        ,@crlf NVARCHAR(2) = NCHAR(13) + NCHAR(10);

    IF OBJECT_ID('tempdb..#BlitzResults') IS NOT NULL
        DROP TABLE #BlitzResults;
    CREATE TABLE #BlitzResults
        (
          ID INT IDENTITY(1, 1),
          CheckID INT ,
          DatabaseName NVARCHAR(128) ,
          Priority TINYINT ,
          FindingsGroup VARCHAR(50) ,
          Finding VARCHAR(200) ,
          URL VARCHAR(200) ,
          Details NVARCHAR(4000) ,
          QueryPlan [XML] NULL ,
          QueryPlanFiltered [NVARCHAR](MAX) NULL
        );

    IF OBJECT_ID('tempdb..#ConfigurationDefaults') IS NOT NULL
        DROP TABLE #ConfigurationDefaults;
    CREATE TABLE #ConfigurationDefaults
        (
          name NVARCHAR(128) ,
          DefaultValue BIGINT,
          CheckID INT
        );

    IF OBJECT_ID ('tempdb..#dm_exec_query_stats') IS NOT NULL
        DROP TABLE #dm_exec_query_stats;
    CREATE TABLE #dm_exec_query_stats
        (
          [id] [int] NOT NULL IDENTITY(1, 1),
          [sql_handle] [varbinary](64) NOT NULL,
          [statement_start_offset] [int] NOT NULL,
          [plan_handle] [varbinary](64) NOT NULL,
          [execution_count] [bigint] NOT NULL,
          [total_worker_time] [bigint] NOT NULL,
          [query_hash] [binary](8) NULL,
          [query_plan_hash] [binary](8) NULL
        );

    IF OBJECT_ID('tempdb..#TraceStatus') IS NOT NULL
        DROP TABLE #TraceStatus;
    CREATE TABLE #TraceStatus
        (
          TraceFlag VARCHAR(10) ,
          status BIT ,
          Global BIT ,
          Session BIT
        );

    SET @ProductVersion = CAST(SERVERPROPERTY('ProductVersion') AS NVARCHAR(128));
    SELECT @ProductVersionMajor = SUBSTRING(@ProductVersion, 1,CHARINDEX('.', @ProductVersion) + 1 ),
        @ProductVersionMinor = PARSENAME(CONVERT(varchar(32), @ProductVersion), 2);

    IF EXISTS ( SELECT  1 FROM sys.all_objects WHERE   name = 'dm_os_host_info' )
    BEGIN
        SELECT @IsWindowsOperatingSystem = CASE WHEN host_platform = 'Windows' THEN 1 ELSE 0 END FROM sys.dm_os_host_info ;
    END;

    INSERT  INTO #TraceStatus
    EXEC ( ' DBCC TRACESTATUS(-1) WITH NO_INFOMSGS'
        );

    INSERT  INTO #BlitzResults
            ( CheckID ,
              DatabaseName ,
              Priority ,
              FindingsGroup ,
              Finding ,
              URL ,
              Details
            )
            SELECT  1 AS CheckID ,
                    d.[name] AS DatabaseName ,
                    1 AS Priority ,
                    'Backup' AS FindingsGroup ,
                    'Backups Not Performed Recently' AS Finding ,
                    'https://example.org/checks/nobak' AS URL ,
                    'Last backed up: '
                    + COALESCE(CAST(MAX(b.backup_finish_date) AS VARCHAR(25)),'never') AS Details
            FROM    master.sys.databases d
                    LEFT OUTER JOIN msdb.dbo.backupset b ON d.name COLLATE SQL_Latin1_General_CP1_CI_AS = b.database_name COLLATE SQL_Latin1_General_CP1_CI_AS
                                                          AND b.type = 'D'
                                                          AND b.server_name = SERVERPROPERTY('ServerName')
            WHERE   d.database_id <> 2
                    AND d.state NOT IN(1, 6, 10)
                    AND d.is_in_standby = 0
                    AND d.source_database_id IS NULL
            GROUP BY d.name
            HAVING  MAX(b.backup_finish_date) <= DATEADD(dd, -7, GETDATE())
                    OR MAX(b.backup_finish_date) IS NULL;

    INSERT  INTO #BlitzResults
            ( CheckID , Priority , FindingsGroup , Finding , URL , Details )
            SELECT  22 AS CheckID ,
                    230 AS Priority ,
                    'Security' AS FindingsGroup ,
                    'Sysadmins' AS Finding ,
                    'https://example.org/checks/sa' AS URL ,
                    ( 'Login [' + l.name
                      + '] is a sysadmin holds the sysadmin role.' ) AS Details
            FROM    master.sys.syslogins l
            WHERE   l.sysadmin = 1
                    AND l.name <> SUSER_SNAME(0x01)
                    AND l.denylogin = 0
                    AND l.name NOT LIKE 'NT SERVICE\%'
                    AND l.name <> 'l_certSignSmDetach';

    INSERT  INTO #BlitzResults
            ( CheckID , Priority , FindingsGroup , Finding , URL , Details )
            SELECT  6 AS CheckID ,
                    230 AS Priority ,
                    'Security' AS FindingsGroup ,
                    'Jobs Owned By Users' AS Finding ,
                    'https://example.org/checks/owners' AS URL ,
                    ( 'Job [' + j.name + '] is owned by ['
                      + SUSER_SNAME(j.owner_sid)
                      + ']; a disabled owner stops the job.' ) AS Details
            FROM    msdb.dbo.sysjobs j
            WHERE   j.enabled = 1
                    AND SUSER_SNAME(j.owner_sid) <> SUSER_SNAME(0x01);

    SELECT @CpuCount = cpu_count FROM sys.dm_os_sys_info;
    SELECT @MaxWorkerThreads = max_workers_count FROM sys.dm_os_sys_info;

    IF EXISTS (SELECT * FROM sys.configurations WHERE name = 'min server memory (MB)' AND CAST(value_in_use AS BIGINT) > 0)
    BEGIN
        SELECT @MinServerMemory = CAST(value_in_use as BIGINT) FROM sys.configurations WHERE name = 'min server memory (MB)'
        SELECT @MaxServerMemory = CAST(value_in_use as BIGINT) FROM sys.configurations WHERE name = 'max server memory (MB)'
    END

    INSERT INTO #BlitzResults (CheckID, Priority, FindingsGroup, Finding, URL, Details)
    SELECT 50 AS CheckID, 100, 'Performance', 'Max Memory Set Too High', 'https://example.org/checks/max',
        'SQL Server max memory is set to ' + CAST(c.value_in_use AS VARCHAR(20)) + ' megabytes, but the server only has '
        + CAST(( CAST(m.total_physical_memory_kb AS BIGINT) / 1024 ) AS VARCHAR(20)) + ' megabytes.'
    FROM sys.dm_os_sys_memory m
    INNER JOIN sys.configurations c ON c.name = 'max server memory (MB)'
    WHERE CAST(m.total_physical_memory_kb AS BIGINT) < ( CAST(c.value_in_use AS BIGINT) * 1024 );

    SELECT  @curr_tracefilename = [path]
    FROM    sys.traces
    WHERE   is_default = 1;
    SET @curr_tracefilename = REVERSE(@curr_tracefilename);
    SELECT @indx = PATINDEX('%\%', @curr_tracefilename);
    SET @curr_tracefilename = REVERSE(@curr_tracefilename);
    SET @base_tracefilename = LEFT(@curr_tracefilename, LEN(@curr_tracefilename) - @indx) + '\log.trc';

    INSERT INTO #BlitzResults (CheckID, Priority, FindingsGroup, Finding, URL, Details)
    SELECT DISTINCT 151, 100, 'Performance', 'Autogrowth Events', 'https://example.org/checks/grow',
        CAST(COUNT(*) AS NVARCHAR(100)) + ' growths recently'
    FROM sys.fn_trace_gettable(@base_tracefilename, DEFAULT) t
    INNER JOIN sys.trace_events te ON t.EventClass = te.trace_event_id
    WHERE te.name IN ('Data File Auto Grow', 'Log File Auto Grow')
    GROUP BY t.DatabaseName;

    INSERT INTO #BlitzResults (CheckID, Priority, FindingsGroup, Finding, URL, Details, QueryPlan)
    SELECT TOP 10 61, 100, 'Performance', 'Missing Index in Plan', 'https://example.org/checks/missing',
        'A plan in cache asks for an index.', qp.query_plan
    FROM sys.dm_exec_query_stats qs
    CROSS APPLY sys.dm_exec_query_plan(qs.plan_handle) qp
    WHERE qp.query_plan.exist('declare namespace p="http://schemas.microsoft.com/sqlserver/2004/07/showplan"; //p:MissingIndexes') = 1
    ORDER BY qs.total_worker_time DESC
    OPTION (RECOMPILE);

    WITH XMLNAMESPACES ('http://schemas.microsoft.com/sqlserver/2004/07/showplan' AS p)
    SELECT TOP 5
        c.value('@Impact', 'float') AS impact,
        c.value('(p:ColumnGroup/@Usage)[1]', 'varchar(50)') AS usage,
        CAST(qs.execution_count AS BIGINT) * 2 AS weighted
    FROM sys.dm_exec_cached_plans cp
    CROSS APPLY sys.dm_exec_query_plan(cp.plan_handle) qp
    CROSS APPLY qp.query_plan.nodes('//p:MissingIndexGroup') AS x(c)
    INNER JOIN sys.dm_exec_query_stats qs ON qs.plan_handle = cp.plan_handle
    CROSS APPLY sys.dm_exec_plan_attributes(cp.plan_handle) pa
    WHERE pa.attribute = 'dbid';

    EXEC dbo.sp_MSforeachdb 'USE [?]; INSERT INTO #BlitzResults (CheckID, DatabaseName, Priority, FindingsGroup, Finding, URL, Details) SELECT DISTINCT 14, ''?'', 50, ''Reliability'', ''Page Verification Not Optimal'', ''https://example.org/checks/torn'', ''Database [?] has '' + page_verify_option_desc + '' for page verification.'' FROM sys.databases WHERE name = ''?'' AND page_verify_option < 2';

    IF @CheckUserDatabaseObjects = 1
    BEGIN
        SET @StringToExecute = N'INSERT INTO #BlitzResults (CheckID, DatabaseName, Priority, FindingsGroup, Finding, URL, Details)
            SELECT 41, DB_NAME(), 170, ''File Configuration'', ''Multiple Log Files on One Drive'', ''https://example.org/checks/manylogs'', ''The ['' + DB_NAME() + ''] database has multiple log files on the '' + LEFT(physical_name, 1) + '' drive.''
            FROM sys.database_files WHERE type_desc = ''LOG'' GROUP BY LEFT(physical_name, 1) HAVING COUNT(*) > 1 OPTION (RECOMPILE);';
        EXEC sp_executesql @StringToExecute;
    END;

    DECLARE @SkipChecks TABLE (CheckID INT NOT NULL PRIMARY KEY);
    DECLARE @ServerName sysname = CONVERT(sysname, SERVERPROPERTY('ServerName'));
    DECLARE @ClusterNodes TABLE (NodeName sysname);
    INSERT INTO @ClusterNodes SELECT NodeName FROM sys.dm_os_cluster_nodes;

    SELECT 'Drive ' + vs.volume_mount_point + ' has ' + CAST(vs.available_bytes / 1048576 AS VARCHAR(20)) + 'MB free'
    FROM sys.master_files AS f
    CROSS APPLY sys.dm_os_volume_stats(f.database_id, f.[file_id]) AS vs
    GROUP BY vs.volume_mount_point, vs.available_bytes;

    SELECT TOP 1 @CurrentName = registry_key FROM sys.dm_server_registry WHERE value_name = N'ObjectName';
    SELECT servicename, service_account, startup_type_desc, instant_file_initialization_enabled FROM sys.dm_server_services;

    IF @OutputType = 'TABLE'
    BEGIN
        SELECT  [Priority] ,
                [FindingsGroup] ,
                [Finding] ,
                [DatabaseName] ,
                [URL] ,
                [Details] ,
                [QueryPlan] ,
                [QueryPlanFiltered] ,
                CheckID
        FROM    #BlitzResults
        WHERE   (@IgnorePrioritiesAbove IS NULL OR Priority <= @IgnorePrioritiesAbove)
        ORDER BY Priority ,
                FindingsGroup ,
                Finding ,
                DatabaseName ,
                Details;
    END
    ELSE IF @OutputType = 'MARKDOWN'
    BEGIN
        WITH Results AS (SELECT row_number() OVER (ORDER BY Priority, FindingsGroup, Finding, DatabaseName, Details) AS rownum, * FROM #BlitzResults WHERE Priority > 0 AND Priority < 255 AND FindingsGroup IS NOT NULL AND Finding IS NOT NULL)
        SELECT
            Markdown = CONVERT(XML, STUFF((SELECT
                CASE
                    WHEN r.Priority <> COALESCE(rPrior.Priority, 0) OR r.FindingsGroup <> rPrior.FindingsGroup  THEN @crlf + N'**Priority ' + CAST(COALESCE(r.Priority,N'') AS NVARCHAR(5)) + N': ' + COALESCE(r.FindingsGroup,N'') + N'**:' + @crlf + @crlf
                    ELSE N''
                END
                + CASE WHEN r.Finding <> COALESCE(rPrior.Finding,N'') AND r.Finding <> rNext.Finding THEN N'- ' + COALESCE(r.Finding,N'') + N' ' + COALESCE(r.DatabaseName, N'') + N' - ' + COALESCE(r.Details,N'') + @crlf
                       ELSE N''
                END
            FROM Results r
            LEFT OUTER JOIN Results rPrior ON r.rownum = rPrior.rownum + 1
            LEFT OUTER JOIN Results rNext ON r.rownum = rNext.rownum - 1
            ORDER BY r.rownum FOR XML PATH(N''), ROOT('Markdown'), TYPE).value('/Markdown[1]','VARCHAR(MAX)'), 1, 2, ''))
        OPTION (RECOMPILE);
    END;

    DROP TABLE #BlitzResults;
GO
