-- Probe: session and query monitoring procedures (who is running what,
-- waits, blocking chains, plans, tempdb use), in the style of DBA
-- monitoring tools. Written by this project; see ../README.md.
SET NOCOUNT ON;
SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
SET LOCK_TIMEOUT 1000;
SET QUOTED_IDENTIFIER ON;
GO
CREATE OR ALTER PROCEDURE dbo.MonitorSessions
    @ShowSleeping bit = 0,
    @GetPlans tinyint = 1,
    @DestinationTable sysname = NULL,
    @Help bit = 0
WITH RECOMPILE
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    IF @Help = 1
    BEGIN
        RAISERROR(N'Usage: EXEC dbo.MonitorSessions @ShowSleeping = 1;', 0, 1) WITH NOWAIT;
        RETURN;
    END;

    DECLARE @now datetime2(3) = SYSDATETIME(),
            @sql nvarchar(max),
            @params nvarchar(400) = N'@cutoff datetime2(3), @rows int OUTPUT',
            @rows int;

    CREATE TABLE #sessions
    (
        session_id smallint NOT NULL,
        request_id int NULL,
        login_name nvarchar(128) COLLATE DATABASE_DEFAULT NULL,
        host_name nvarchar(128) COLLATE DATABASE_DEFAULT NULL,
        program_name nvarchar(128) COLLATE DATABASE_DEFAULT NULL,
        database_name sysname NULL,
        status nvarchar(30) NULL,
        wait_info nvarchar(4000) NULL,
        blocking_session_id smallint NULL,
        sql_text xml NULL,
        query_plan xml NULL,
        cpu_ms bigint NULL,
        reads bigint NULL,
        tempdb_pages bigint NULL,
        start_time datetime NULL,
        elapsed AS DATEDIFF_BIG(millisecond, start_time, SYSDATETIME()),
        PRIMARY KEY CLUSTERED (session_id, request_id) WITH (IGNORE_DUP_KEY = ON)
    );

    INSERT #sessions WITH (TABLOCK)
        (session_id, request_id, login_name, host_name, program_name, database_name,
         status, blocking_session_id, cpu_ms, reads, start_time)
    SELECT s.session_id, r.request_id, s.login_name, s.host_name,
           CASE WHEN s.program_name LIKE N'SQLAgent - TSQL JobStep (Job 0x%'
                THEN N'Job ' + j.name
                ELSE s.program_name END,
           DB_NAME(COALESCE(r.database_id, s.database_id)),
           COALESCE(r.status, s.status), r.blocking_session_id,
           COALESCE(r.cpu_time, s.cpu_time), COALESCE(r.logical_reads, s.logical_reads),
           COALESCE(r.start_time, s.last_request_start_time)
    FROM sys.dm_exec_sessions AS s
    LEFT OUTER JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
    LEFT OUTER JOIN msdb.dbo.sysjobs AS j
        ON CONVERT(varchar(34), j.job_id, 1) = SUBSTRING(s.program_name, 30, 34)
    WHERE s.is_user_process = 1
      AND s.session_id <> @@SPID
      AND (@ShowSleeping = 1 OR s.status <> N'sleeping')
    OPTION (KEEPFIXED PLAN, FORCE ORDER);

    UPDATE s
    SET wait_info = w.waits
    FROM #sessions AS s
    CROSS APPLY
    (
        SELECT STUFF((
            SELECT N', (' + CONVERT(nvarchar(20), wt.wait_duration_ms) + N'ms)' + wt.wait_type
            FROM sys.dm_os_waiting_tasks AS wt
            WHERE wt.session_id = s.session_id
            ORDER BY wt.wait_duration_ms DESC
            FOR XML PATH(N''), TYPE).value(N'(./text())[1]', N'nvarchar(4000)'), 1, 2, N'') AS waits
    ) AS w;

    UPDATE s
    SET sql_text = (SELECT REPLACE(REPLACE(
                        SUBSTRING(t.text, r.statement_start_offset / 2 + 1,
                                  (CASE r.statement_end_offset WHEN -1 THEN DATALENGTH(t.text)
                                        ELSE r.statement_end_offset END - r.statement_start_offset) / 2 + 1),
                        NCHAR(0), N''), N']]>', N']]]]><![CDATA[>') AS [processing-instruction(query)]
                    FOR XML PATH(''), TYPE),
        query_plan = CASE WHEN @GetPlans = 1 THEN p.query_plan
                          WHEN @GetPlans = 2 THEN TRY_CONVERT(xml, tp.query_plan) END
    FROM #sessions AS s
    JOIN sys.dm_exec_requests AS r ON r.session_id = s.session_id
    OUTER APPLY sys.dm_exec_sql_text(r.sql_handle) AS t
    OUTER APPLY sys.dm_exec_query_plan(r.plan_handle) AS p
    OUTER APPLY sys.dm_exec_text_query_plan(r.plan_handle, r.statement_start_offset, r.statement_end_offset) AS tp;

    UPDATE s
    SET tempdb_pages = u.pages
    FROM #sessions AS s
    JOIN (SELECT session_id,
                 SUM(user_objects_alloc_page_count + internal_objects_alloc_page_count
                     - user_objects_dealloc_page_count - internal_objects_dealloc_page_count) AS pages
          FROM sys.dm_db_task_space_usage
          GROUP BY session_id) AS u ON u.session_id = s.session_id;

    WITH chain AS
    (
        SELECT s.session_id, s.blocking_session_id, 0 AS depth,
               CAST(RIGHT(REPLICATE('0', 5) + CONVERT(varchar(5), s.session_id), 5) AS varchar(400)) AS path
        FROM #sessions AS s
        WHERE ISNULL(s.blocking_session_id, 0) = 0
          AND EXISTS (SELECT 1 FROM #sessions AS b WHERE b.blocking_session_id = s.session_id)
        UNION ALL
        SELECT s.session_id, s.blocking_session_id, c.depth + 1,
               CAST(c.path + '/' + RIGHT('00000' + CONVERT(varchar(5), s.session_id), 5) AS varchar(400))
        FROM #sessions AS s
        JOIN chain AS c ON s.blocking_session_id = c.session_id
    )
    SELECT REPLICATE(N'  ', c.depth) + CONVERT(nvarchar(10), c.session_id) AS tree, c.path, s.*
    FROM chain AS c
    JOIN #sessions AS s ON s.session_id = c.session_id
    ORDER BY c.path
    OPTION (MAXRECURSION 100);

    IF @DestinationTable IS NOT NULL
    BEGIN
        IF PARSENAME(@DestinationTable, 4) IS NOT NULL
            THROW 50001, N'Destination must be at most three parts.', 1;

        SET @sql = N'INSERT ' + @DestinationTable + N' SELECT @cutoff, * FROM #sessions; SET @rows = @@ROWCOUNT;';
        EXEC sys.sp_executesql @sql, @params, @cutoff = @now, @rows = @rows OUTPUT;
    END;

    SELECT s.session_id, s.login_name, s.wait_info, s.elapsed,
           CONVERT(varchar(20), DATEADD(millisecond, s.elapsed, 0), 114) AS [dd hh:mm:ss.mss],
           s.sql_text, s.query_plan,
           l.resource_type, l.request_mode, OBJECT_NAME(p.object_id, l.resource_database_id) AS locked_object
    FROM #sessions AS s
    LEFT JOIN sys.dm_tran_locks AS l ON l.request_session_id = s.session_id
    LEFT JOIN sys.partitions AS p ON p.hobt_id = l.resource_associated_entity_id
    ORDER BY s.elapsed DESC;

    DROP TABLE IF EXISTS #sessions;
END;
GO
CREATE OR ALTER PROCEDURE dbo.CaptureWaitDelta
    @Seconds int = 10
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @delay char(8) = CONVERT(char(8), DATEADD(second, @Seconds, 0), 108);

    SELECT wait_type, waiting_tasks_count, wait_time_ms, signal_wait_time_ms
    INTO #before
    FROM sys.dm_os_wait_stats WITH (NOLOCK)
    WHERE wait_type NOT IN (N'SLEEP_TASK', N'BROKER_TASK_STOP', N'LAZYWRITER_SLEEP', N'XE_TIMER_EVENT');

    WAITFOR DELAY @delay;

    SELECT a.wait_type,
           a.wait_time_ms - b.wait_time_ms AS wait_ms,
           CAST(100.0 * (a.wait_time_ms - b.wait_time_ms)
                / NULLIF(SUM(a.wait_time_ms - b.wait_time_ms) OVER (), 0) AS decimal(5, 2)) AS pct
    FROM sys.dm_os_wait_stats AS a
    JOIN #before AS b ON b.wait_type = a.wait_type
    WHERE a.wait_time_ms > b.wait_time_ms
    ORDER BY wait_ms DESC;

    SELECT TOP (20) qs.execution_count, qs.total_worker_time / qs.execution_count AS avg_cpu,
           qs.total_logical_reads, qs.last_execution_time,
           SUBSTRING(st.text, (qs.statement_start_offset / 2) + 1, 200) AS snippet,
           CONVERT(varchar(64), qs.query_hash, 1) AS query_hash,
           sys.fn_varbintohexstr(qs.plan_handle) AS plan_handle
    FROM sys.dm_exec_query_stats AS qs
    CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) AS st
    ORDER BY qs.total_worker_time DESC;

    SELECT er.session_id, ib.event_info, qp.query_plan
    FROM sys.dm_exec_requests AS er
    CROSS APPLY sys.dm_exec_input_buffer(er.session_id, er.request_id) AS ib
    OUTER APPLY sys.dm_exec_query_statistics_xml(er.session_id) AS qp
    WHERE er.session_id > 50;

    DECLARE @ib TABLE (EventType nvarchar(30), Parameters int, EventInfo nvarchar(4000));
    INSERT @ib EXEC (N'DBCC INPUTBUFFER(1) WITH NO_INFOMSGS');

    CREATE TABLE #log (LogDate datetime, ProcessInfo nvarchar(50), [Text] nvarchar(max));
    INSERT #log EXEC master.dbo.xp_readerrorlog 0, 1, N'deadlock';

    SELECT CAST(event_data AS xml).value('(event/@timestamp)[1]', 'datetime2') AS at,
           CAST(event_data AS xml).query('(event/data/value/deadlock)[1]') AS graph
    FROM sys.fn_xe_file_target_read_file(N'system_health*.xel', NULL, NULL, NULL)
    WHERE object_name = N'xml_deadlock_report';

    KILL 0;
END;
GO
