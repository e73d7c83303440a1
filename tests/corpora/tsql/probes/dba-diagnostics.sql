SET NOCOUNT ON;
SET DEADLOCK_PRIORITY LOW;
SET LOCK_TIMEOUT 5000;
SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
SET ANSI_WARNINGS OFF;
SET ARITHABORT ON;
GO
CREATE TABLE #Results (ID INT IDENTITY(1,1) PRIMARY KEY CLUSTERED, CheckID INT NOT NULL, Finding NVARCHAR(4000), URL VARCHAR(200) NULL);
GO
INSERT INTO #Results (CheckID, Finding) EXEC sp_executesql N'SELECT 1, N''x''';
GO
INSERT #Results (CheckID, Finding) EXEC ('SELECT 2, ''y''');
GO
INSERT INTO #Results (CheckID, Finding) EXEC dbo.sp_who;
GO
CREATE TABLE ##BlitzTemp (id INT);
GO
INSERT INTO ##BlitzTemp (id) SELECT object_id FROM sys.objects;
GO
DROP TABLE ##BlitzTemp;
GO
SELECT s.session_id, t.text FROM sys.dm_exec_sessions AS s CROSS APPLY sys.dm_exec_sql_text(s.session_id) AS t;
GO
SELECT * FROM sys.dm_exec_requests r OUTER APPLY sys.dm_exec_query_plan(r.plan_handle) p;
GO
SELECT * FROM sys.dm_os_wait_stats WHERE wait_type NOT LIKE N'SLEEP%';
GO
SELECT * FROM sys.dm_os_performance_counters;
GO
SELECT cpu_count, physical_memory_kb FROM sys.dm_os_sys_info;
GO
SELECT * FROM sys.dm_os_volume_stats(DB_ID(), 1);
GO
SELECT * FROM sys.dm_io_virtual_file_stats(NULL, NULL);
GO
SELECT * FROM sys.dm_db_index_physical_stats(DB_ID(), NULL, NULL, NULL, 'LIMITED');
GO
SELECT * FROM sys.dm_db_missing_index_details;
GO
SELECT * FROM sys.dm_exec_query_stats qs CROSS APPLY sys.dm_exec_text_query_plan(qs.plan_handle, qs.statement_start_offset, qs.statement_end_offset) tp;
GO
SELECT * FROM sys.master_files;
GO
SELECT * FROM sys.configurations WHERE name = N'max server memory (MB)';
GO
SELECT * FROM msdb.dbo.backupset WHERE type = 'D';
GO
SELECT j.name FROM msdb.dbo.sysjobs j JOIN msdb.dbo.sysjobhistory h ON h.job_id = j.job_id;
GO
SELECT * FROM msdb.dbo.sysmail_profile;
GO
EXEC sp_configure 'show advanced options', 1;
GO
RECONFIGURE WITH OVERRIDE;
GO
EXEC master.dbo.xp_cmdshell 'dir';
GO
EXEC xp_readerrorlog 0, 1, N'Login failed';
GO
EXEC sys.sp_MSforeachdb 'USE [?]; SELECT DB_NAME();';
GO
EXEC msdb.dbo.sp_send_dbmail @profile_name = 'x', @recipients = 'a@b.c', @subject = 's';
GO
DBCC TRACESTATUS(-1) WITH NO_INFOMSGS;
GO
DBCC INPUTBUFFER(52);
GO
DBCC SQLPERF(LOGSPACE);
GO
DBCC CHECKDB (N'master') WITH NO_INFOMSGS, ALL_ERRORMSGS;
GO
DBCC FREEPROCCACHE;
GO
DBCC SHOW_STATISTICS ('dbo.t', 'ix') WITH STAT_HEADER;
GO
KILL 52;
GO
SELECT SERVERPROPERTY('ProductVersion'), SERVERPROPERTY('Edition'), SERVERPROPERTY('IsClustered'), SERVERPROPERTY('IsHadrEnabled');
GO
SELECT SERVERPROPERTY('ProductMajorVersion'), SERVERPROPERTY('ProductLevel'), SERVERPROPERTY('MachineName'), SERVERPROPERTY('InstanceName');
GO
SELECT DATABASEPROPERTYEX(DB_NAME(), 'Recovery'), DATABASEPROPERTYEX(DB_NAME(), 'Status'), DATABASEPROPERTYEX(DB_NAME(), 'IsAutoShrink');
GO
SELECT OBJECTPROPERTY(OBJECT_ID('dbo.t'), 'IsMSShipped'), OBJECTPROPERTY(OBJECT_ID('dbo.t'), 'IsUserTable');
GO
SELECT @@SERVICENAME, @@SERVERNAME, @@VERSION, @@SPID, @@TRANCOUNT, @@CPU_BUSY, @@IO_BUSY, @@TIMETICKS;
GO
DECLARE @cmd NVARCHAR(MAX) = N'SELECT 1';
EXEC (@cmd) AT [LinkedSrv];
GO
SELECT * FROM OPENQUERY([LinkedSrv], 'SELECT 1');
GO
SELECT * FROM [LinkedSrv].master.sys.databases;
GO
SELECT * FROM OPENROWSET('SQLNCLI', 'Server=x;Trusted_Connection=yes;', 'SELECT 1');
GO
RAISERROR('Checking %s', 0, 1, N'x') WITH NOWAIT;
GO
RAISERROR('fatal', 16, 1) WITH LOG;
GO
WAITFOR DELAY '00:00:05';
GO
BACKUP DATABASE [master] TO DISK = N'NUL' WITH COPY_ONLY, COMPRESSION;
GO
BACKUP LOG [db] TO DISK = N'x.trn';
GO
RESTORE HEADERONLY FROM DISK = N'x.bak';
GO
ALTER INDEX ALL ON dbo.t REBUILD WITH (ONLINE = ON, SORT_IN_TEMPDB = ON, MAXDOP = 1);
GO
ALTER INDEX ix ON dbo.t REORGANIZE WITH (LOB_COMPACTION = ON);
GO
UPDATE STATISTICS dbo.t WITH FULLSCAN;
GO
CHECKPOINT;
GO
SELECT TOP 10 * FROM sys.objects o WITH (NOLOCK) ORDER BY o.create_date DESC OPTION (RECOMPILE, MAXDOP 1);
GO
SELECT * FROM sys.dm_exec_cached_plans cp CROSS APPLY sys.dm_exec_plan_attributes(cp.plan_handle) pa;
GO
SELECT * FROM sys.dm_tran_locks;
GO
SELECT * FROM sys.dm_os_ring_buffers WHERE ring_buffer_type = N'RING_BUFFER_SCHEDULER_MONITOR';
GO
SELECT * FROM sys.traces;
GO
SELECT * FROM sys.fn_trace_gettable(N'x.trc', DEFAULT);
GO
SELECT * FROM fn_dblog(NULL, NULL);
GO
SELECT * FROM sys.dm_hadr_database_replica_states;
GO
SELECT * FROM sys.availability_groups;
GO
SELECT * FROM sys.dm_server_services;
GO
SELECT * FROM sys.dm_os_schedulers WHERE status = N'VISIBLE ONLINE';
GO
SELECT * FROM sys.dm_db_file_space_usage;
GO
SELECT * FROM tempdb.sys.database_files;
GO
SELECT name, is_read_committed_snapshot_on FROM sys.databases;
GO
SELECT * FROM sys.server_principals WHERE IS_SRVROLEMEMBER('sysadmin', name) = 1;
GO
SELECT * FROM sys.sql_logins WHERE PWDCOMPARE(name, password_hash) = 1;
GO
SELECT * FROM sys.dm_exec_connections WHERE encrypt_option = 'FALSE';
GO
SELECT * FROM sys.dm_os_memory_clerks;
GO
SELECT * FROM sys.dm_os_buffer_descriptors;
GO
SELECT * FROM sys.dm_db_partition_stats;
GO
SELECT * FROM sys.partitions p JOIN sys.allocation_units a ON a.container_id = p.hobt_id;
GO
SELECT * FROM sys.dm_exec_query_memory_grants;
GO
SELECT * FROM sys.event_notifications;
GO
SELECT * FROM sys.dm_xe_sessions;
GO
SELECT * FROM sys.fn_xe_file_target_read_file(N'system_health*.xel', NULL, NULL, NULL);
GO
SELECT CAST(target_data AS XML).query('RingBufferTarget/event') FROM sys.dm_xe_session_targets;
GO
SELECT x.value('(@name)[1]', 'varchar(50)') FROM @xml.nodes('/a') AS t(x);
GO
SELECT * FROM sys.dm_db_index_usage_stats;
GO
SELECT * FROM sys.dm_os_sys_memory;
GO
SELECT * FROM sys.dm_os_host_info;
GO
SELECT * FROM sys.dm_server_registry;
GO
EXEC sp_MSforeachtable 'PRINT ''?''';
GO
EXEC sp_spaceused;
GO
EXEC sp_helpdb;
GO
EXEC sp_who2;
GO
EXEC sp_lock;
GO
EXEC sp_helptext 'dbo.p';
GO
EXEC sp_helpindex 'dbo.t';
GO
EXEC sp_readerrorlog;
GO
EXEC xp_fixeddrives;
GO
EXEC xp_msver;
GO
EXEC xp_instance_regread N'HKEY_LOCAL_MACHINE', N'Software\Microsoft', N'x';
GO
EXEC xp_logininfo 'dom\u';
GO
EXEC sp_addmessage 50001, 16, N'msg';
GO
EXEC sp_trace_setstatus 1, 0;
GO
EXEC sp_updatestats;
GO
EXEC sp_recompile 'dbo.t';
GO
EXEC sp_refreshview 'dbo.v';
GO
EXEC sp_addlinkedserver @server = N'x';
GO
EXEC msdb.dbo.sp_add_job @job_name = N'j';
GO
EXEC msdb.dbo.sp_start_job @job_name = N'j';
GO
EXEC sp_getapplock @Resource = 'r', @LockMode = 'Exclusive';
GO
EXEC sp_set_session_context @key = N'k', @value = 1;
GO
SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE');
GO
SELECT IS_MEMBER('db_owner'), SUSER_SNAME(), ORIGINAL_LOGIN(), APP_NAME(), HOST_NAME();
GO
SELECT CONNECTIONPROPERTY('net_transport'), SESSIONPROPERTY('ANSI_NULLS');
GO
SELECT FILEPROPERTY(name, 'SpaceUsed') FROM sys.database_files;
GO
SELECT DB_NAME(database_id), FILE_NAME(1), FILEGROUP_NAME(1) FROM sys.master_files;
GO
SELECT CHECKSUM_AGG(CHECKSUM(*)) FROM dbo.t;
GO
SELECT COLUMNPROPERTY(OBJECT_ID('dbo.t'), 'c', 'IsIdentity');
GO
SELECT INDEXPROPERTY(OBJECT_ID('dbo.t'), 'ix', 'IsClustered');
GO
SELECT TYPEPROPERTY('int', 'Precision');
GO
DECLARE c CURSOR LOCAL FAST_FORWARD FOR SELECT name FROM sys.databases;
GO
DECLARE c2 CURSOR GLOBAL STATIC FOR SELECT name FROM sys.databases;
GO
DECLARE c3 CURSOR FOR SELECT name FROM sys.databases FOR UPDATE;
GO
DECLARE @t TABLE (a INT INDEX ix_a, b INT);
GO
SELECT name FROM sys.databases ORDER BY name OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY;
GO
SELECT STRING_AGG(name, ',') WITHIN GROUP (ORDER BY name) FROM sys.databases;
GO
SELECT TRY_CONVERT(INT, '1'), FORMAT(GETDATE(), 'yyyy-MM-dd'), CONCAT_WS(',', 'a', 'b');
GO
SELECT GREATEST(1, 2), LEAST(1, 2), DATETRUNC(month, GETDATE()), DATE_BUCKET(week, 1, GETDATE());
GO
SELECT * FROM GENERATE_SERIES(1, 10);
GO
SELECT APPROX_COUNT_DISTINCT(object_id) FROM sys.objects;
GO
SELECT COMPRESS(N'x'), DECOMPRESS(0x00);
GO
SELECT * FROM sys.objects FOR XML AUTO;
GO
SELECT * FROM sys.objects FOR JSON AUTO;
GO
SELECT * FROM OPENJSON(N'[1]') WITH (a INT '$');
GO
TRUNCATE TABLE dbo.t WITH (PARTITIONS (1));
GO
CREATE STATISTICS st ON dbo.t (a) WITH SAMPLE 50 PERCENT;
GO
ALTER DATABASE CURRENT SET QUERY_STORE = ON;
GO
ALTER DATABASE [db] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
GO
ALTER DATABASE [db] MODIFY FILE (NAME = N'x', SIZE = 100MB);
GO
ALTER DATABASE SCOPED CONFIGURATION SET MAXDOP = 4;
GO
CREATE EVENT SESSION [s] ON SERVER ADD EVENT sqlserver.sql_batch_completed ADD TARGET package0.ring_buffer;
GO
ALTER EVENT SESSION [s] ON SERVER STATE = START;
GO
ALTER SERVER CONFIGURATION SET PROCESS AFFINITY CPU = AUTO;
GO
CREATE LOGIN [x] WITH PASSWORD = N'p', CHECK_POLICY = OFF;
GO
ALTER LOGIN [sa] DISABLE;
GO
GRANT VIEW SERVER STATE TO [x];
GO
GRANT ALTER ANY DATABASE TO [x];
GO
CREATE USER [u] FOR LOGIN [x] WITH DEFAULT_SCHEMA = dbo;
GO
ALTER ROLE db_owner ADD MEMBER [u];
GO
ALTER SERVER ROLE sysadmin ADD MEMBER [x];
GO
EXECUTE AS LOGIN = 'x';
GO
REVERT;
GO
SELECT * FROM sys.dm_exec_input_buffer(52, NULL);
GO
SELECT * FROM sys.dm_db_log_info(DB_ID());
GO
SELECT * FROM sys.dm_db_stats_properties(OBJECT_ID('dbo.t'), 1);
GO
SELECT * FROM sys.dm_exec_function_stats;
GO
SELECT * FROM sys.dm_exec_procedure_stats;
GO
SELECT * FROM sys.query_store_query;
GO
SELECT * FROM sys.dm_db_tuning_recommendations;
GO
SELECT * FROM sys.dm_os_threads;
GO
SELECT * FROM sys.dm_os_latch_stats;
GO
SELECT * FROM sys.dm_os_spinlock_stats;
GO
SELECT * FROM sys.dm_os_process_memory;
GO
SELECT * FROM sys.dm_exec_query_profiles;
GO
SELECT * FROM sys.dm_db_session_space_usage;
GO
SELECT * FROM sys.dm_tran_active_transactions;
GO
SELECT * FROM sys.dm_tran_database_transactions;
GO
SELECT * FROM sys.dm_tran_session_transactions;
GO
SELECT * FROM sys.dm_os_waiting_tasks;
GO
SELECT * FROM sys.dm_exec_query_optimizer_info;
GO
SELECT * FROM sys.dm_resource_governor_workload_groups;
GO
SELECT * FROM sys.dm_os_nodes;
GO
SELECT * FROM sys.dm_os_tasks;
GO
SELECT * FROM sys.dm_os_workers;
GO
SELECT * FROM sys.dm_db_persisted_sku_features;
GO
SELECT * FROM sys.dm_database_encryption_keys;
GO
SELECT * FROM sys.certificates;
GO
SELECT * FROM sys.symmetric_keys;
GO
SELECT * FROM sys.linked_logins;
GO
SELECT * FROM sys.servers WHERE is_linked = 1;
GO
SELECT * FROM sys.credentials;
GO
SELECT * FROM sys.endpoints;
GO
SELECT * FROM sys.server_triggers;
GO
SELECT * FROM sys.server_audits;
GO
SELECT * FROM sys.database_mirroring;
GO
SELECT * FROM sys.resource_governor_configuration;
GO
SELECT * FROM sys.plan_guides;
GO
SELECT * FROM sys.sql_expression_dependencies;
GO
SELECT * FROM sys.dm_sql_referenced_entities('dbo.p', 'OBJECT');
GO
SELECT * FROM sys.assemblies;
GO
SELECT * FROM sys.fulltext_indexes;
GO
SELECT * FROM sys.change_tracking_databases;
GO
SELECT * FROM sys.dm_cdc_errors;
GO
SELECT * FROM sys.extended_properties;
GO
SELECT * FROM sys.messages WHERE language_id = 1033;
GO
SELECT * FROM sys.syscomments;
GO
SELECT * FROM dbo.sysobjects WHERE xtype = 'U';
GO
SELECT * FROM master.dbo.sysprocesses;
GO
SELECT * FROM master..sysdatabases;
GO
SELECT * FROM sys.sysindexes;
GO
SELECT * FROM sys.syslogins;
GO
SELECT * FROM sys.sysperfinfo;
GO
