-- Probe: unsupported functions, catalog references and methods in the
-- contexts where application code nests them (conditions, CASE, subqueries,
-- CTEs, defaults and checks, OUTPUT, MERGE, APPLY), over several lines.
CREATE PROCEDURE dbo.usp_Contexts
    @mode int = 0
AS
BEGIN
    SET NOCOUNT ON;
    IF SOUNDEX(N'Smith') = SOUNDEX(N'Smyth')
        PRINT 'alike';
    IF EXISTS (SELECT 1
               FROM sys.dm_os_waiting_tasks AS w
               WHERE w.session_id = @@SPID)
        PRINT 'waiting';
    WHILE (SELECT COUNT(*) FROM sys.dm_tran_locks) > 100
        WAITFOR DELAY '00:00:01';
    SELECT CASE
               WHEN SERVERPROPERTY('IsClustered') = 1 THEN 'cluster'
               ELSE 'single'
           END AS topology;
    SELECT name,
           (SELECT CHECKSUM_AGG(CHECKSUM(*))
              FROM dbo.Orders) AS table_checksum
      FROM sys.tables;
    WITH waits AS (
        SELECT wait_type, wait_time_ms
          FROM sys.dm_os_wait_stats
         WHERE wait_time_ms > 0
    )
    SELECT * FROM waits;
    SELECT d.*
      FROM (SELECT TRANSLATE(name, 'abc', 'xyz') AS t
              FROM sys.objects) AS d;
    SELECT o.id
      FROM dbo.Orders AS o
     CROSS APPLY o.Payload.nodes('/order/line') AS l(c);
    SELECT o.id
      FROM dbo.Orders AS o
     WHERE o.Payload.exist('/order[@x]') = 1
       AND DIFFERENCE(o.name, N'Smith') > 2;
    UPDATE dbo.Orders
       SET Checksum = BINARY_CHECKSUM(Amount, Status)
    OUTPUT inserted.id, COLUMNPROPERTY(OBJECT_ID('dbo.Orders'), 'id', 'IsIdentity')
     WHERE id = 1;
    MERGE dbo.Orders AS t
    USING (SELECT id, GROUPING_ID(id) AS g FROM dbo.Staging GROUP BY ROLLUP(id)) AS s
       ON t.id = s.id
     WHEN NOT MATCHED THEN
          INSERT (id) VALUES (s.id);
    SELECT PERCENTILE_CONT(0.5)
               WITHIN GROUP (ORDER BY Amount)
               OVER (PARTITION BY Status) AS median
      FROM dbo.Orders;
    SELECT @@CPU_BUSY AS cpu,
           @@IO_BUSY  AS io;
    DECLARE @cpu int = @@CPU_BUSY;
    RETURN (SELECT COUNT(*) FROM ##Staging);
END
GO
CREATE TABLE dbo.Checked (
    id int NOT NULL,
    code varchar(10) NOT NULL
        CONSTRAINT DF_Checked_code DEFAULT (NEWSEQUENTIALID()),
    CONSTRAINT CK_Checked_code CHECK (SOUNDEX(code) <> '')
);
GO
CREATE VIEW dbo.v_Context
AS
SELECT o.id,
       o.Node.GetLevel() AS lvl,
       o.Node.ToString() AS path
  FROM dbo.Org AS o
 WHERE o.Node.IsDescendantOf(hierarchyid::GetRoot()) = 1;
GO
CREATE FUNCTION dbo.fn_Context (@id int)
RETURNS TABLE
AS
RETURN
    SELECT s.session_id
      FROM sys.dm_exec_sessions AS s
     CROSS APPLY sys.dm_exec_sql_text(s.most_recent_sql_handle) AS t
     WHERE s.session_id = @id;
GO
CREATE TRIGGER trg_Context ON DATABASE
FOR DDL_DATABASE_LEVEL_EVENTS
AS
BEGIN
    DECLARE @e xml = EVENTDATA();
    INSERT INTO dbo.DdlLog (evt)
    SELECT @e.value('(/EVENT_INSTANCE/EventType)[1]',
                    'nvarchar(100)');
END
GO
SELECT TOP (1) *
  FROM dbo.Orders
  WITH (TABLOCKX, HOLDLOCK)
 ORDER BY id;
SELECT *
  FROM dbo.Orders
OPTION (RECOMPILE,
        MAXDOP 1);
SELECT id
  FROM dbo.Orders
   FOR XML
       EXPLICIT;
SELECT id
  FROM dbo.Orders
   FOR XML AUTO,
       ELEMENTS;
EXEC
    sp_who2;
EXECUTE
    master.dbo.xp_cmdshell
    'dir C:\';
EXEC dbo.usp_Contexts
    @mode = 1;
GO
sp_who2
GO
sp_helpdb 'master'
GO
xp_fixeddrives
GO
EXEC('DBCC CHECKDB') ;
DBCC
    CHECKDB (N'Sales')
    WITH NO_INFOMSGS;
DBCC CHECKIDENT ('dbo.Orders', RESEED, 0);
DBCC CHECKIDENT ('dbo.Orders', NORESEED);
DBCC CHECKIDENT ('dbo.Orders');
DBCC SHRINKDATABASE (Sales, 10);
DBCC CHECKFILEGROUP;
DBCC CHECKCONSTRAINTS ('dbo.Orders');
DBCC TRACEOFF (3604);
DBCC TRACEON (1222, -1);
DBCC MEMORYSTATUS;
DBCC HELP ('CHECKDB');
DBCC PROCCACHE;
DBCC FLUSHPROCINDB (5);
DBCC CLONEDATABASE (Sales, Sales_Clone);
DBCC ERRORLOG;
DBCC OUTPUTBUFFER (52);
DBCC FREESESSIONCACHE;
DBCC PINTABLE (5, 1);
DBCC CLEANTABLE (Sales, 'dbo.Orders');
DBCC INDEXDEFRAG (Sales, 'dbo.Orders', 'IX_Orders_Date');
DBCC SQLPERF (LOGSPACE);
DBCC SQLPERF ('sys.dm_os_wait_stats', CLEAR);
DBCC SHOW_STATISTICS ('dbo.Orders', IX_Orders_Date) WITH STAT_HEADER;
GO
SELECT *
  INTO ##GlobalCopy
  FROM dbo.Orders;
SELECT * FROM tempdb..##GlobalCopy;
DROP TABLE ##GlobalCopy;
IF OBJECT_ID('tempdb..##GlobalCopy') IS NOT NULL DROP TABLE ##GlobalCopy;
SELECT * FROM Sales.dbo.Orders;
SELECT * FROM Sales..Orders;
INSERT INTO Archive.dbo.Orders SELECT * FROM dbo.Orders;
SELECT * FROM master.sys.databases;
SELECT * FROM msdb.dbo.sysjobs;
SELECT * FROM msdb.dbo.backupset;
SELECT * FROM master.dbo.sysprocesses;
SELECT * FROM sys.sysprocesses;
SELECT * FROM sysobjects WHERE xtype = 'U';
SELECT * FROM dbo.sysindexes;
SELECT * FROM syscolumns;
SELECT * FROM master..sysdatabases;
SELECT * FROM sys.sql_modules;
SELECT * FROM sys.dm_exec_connections;
SELECT * FROM sys.dm_exec_sessions;
SELECT * FROM sys.partitions;
SELECT * FROM sys.database_files;
SELECT * FROM sys.master_files;
SELECT * FROM sys.configurations;
SELECT * FROM sys.server_principals;
SELECT * FROM sys.database_role_members;
SELECT * FROM sys.foreign_key_columns;
SELECT * FROM sys.index_columns;
SELECT * FROM sys.extended_properties;
SELECT * FROM sys.dm_sql_referencing_entities('dbo.Orders', 'OBJECT');
SELECT * FROM sys.trigger_events;
SELECT * FROM sys.assemblies;
SELECT * FROM sys.assembly_modules;
SELECT * FROM sys.objects o JOIN sys.schemas s ON o.schema_id = s.schema_id;
SELECT * FROM sys.system_objects;
SELECT * FROM sys.all_objects;
SELECT * FROM sys.types;
SELECT * FROM sys.table_types;
SELECT * FROM sys.sequences;
SELECT * FROM sys.synonyms;
SELECT * FROM sys.identity_columns;
SELECT * FROM sys.computed_columns;
SELECT * FROM sys.default_constraints;
SELECT * FROM sys.check_constraints;
SELECT * FROM sys.key_constraints;
SELECT * FROM sys.triggers;
SELECT * FROM sys.server_triggers;
SELECT * FROM sys.database_permissions;
SELECT * FROM sys.login_token;
SELECT * FROM sys.user_token;
SELECT * FROM sys.fn_my_permissions(NULL, 'DATABASE');
SELECT * FROM sys.dm_db_index_usage_stats;
SELECT * FROM sys.dm_exec_query_stats;
SELECT * FROM sys.backup_devices;
SELECT * FROM sys.linked_logins;
SELECT * FROM sys.servers;
SELECT * FROM sys.filegroups;
SELECT * FROM sys.data_spaces;
SELECT * FROM sys.partition_schemes;
SELECT * FROM sys.partition_functions;
SELECT * FROM sys.partition_range_values;
SELECT * FROM sys.xml_schema_collections;
SELECT * FROM sys.fulltext_catalogs;
SELECT * FROM sys.change_tracking_tables;
SELECT * FROM sys.change_tracking_databases;
SELECT * FROM sys.database_mirroring;
SELECT * FROM sys.availability_groups;
SELECT * FROM sys.dm_hadr_database_replica_states;
SELECT * FROM sys.dm_os_host_info;
SELECT * FROM sys.dm_os_sys_info;
SELECT * FROM sys.dm_server_services;
SELECT * FROM sys.time_zone_info;
SELECT * FROM sys.fn_builtin_permissions(DEFAULT);
SELECT * FROM sys.event_notification_event_types;
SELECT * FROM sys.plan_guides;
SELECT * FROM sys.spatial_indexes;
SELECT * FROM sys.xml_indexes;
SELECT * FROM sys.columnstore_row_groups;
SELECT * FROM sys.memory_optimized_tables_internal_attributes;
SELECT * FROM sys.periods;
SELECT * FROM sys.masked_columns;
SELECT * FROM sys.security_policies;
SELECT * FROM sys.column_encryption_keys;
SELECT * FROM INFORMATION_SCHEMA.ROUTINES;
SELECT * FROM INFORMATION_SCHEMA.PARAMETERS;
SELECT * FROM INFORMATION_SCHEMA.VIEW_TABLE_USAGE;
SELECT * FROM INFORMATION_SCHEMA.CONSTRAINT_COLUMN_USAGE;
SELECT * FROM INFORMATION_SCHEMA.KEY_COLUMN_USAGE;
SELECT * FROM INFORMATION_SCHEMA.DOMAINS;
SELECT * FROM INFORMATION_SCHEMA.COLUMN_PRIVILEGES;
SELECT * FROM INFORMATION_SCHEMA.TABLE_PRIVILEGES;
SELECT * FROM INFORMATION_SCHEMA.SCHEMATA;
SELECT * FROM INFORMATION_SCHEMA.ROUTINE_COLUMNS;
GO
