IF OBJECT_ID('tempdb..#Indexes') IS NOT NULL DROP TABLE #Indexes;
GO
CREATE TABLE #Indexes (DatabaseName sysname, ObjectID int, IndexID int, Fragmentation float, PageCount bigint);
GO
CREATE CLUSTERED INDEX cx ON #Indexes (DatabaseName, ObjectID);
GO
SELECT DATABASEPROPERTYEX(name, 'Updateability'), DATABASEPROPERTYEX(name, 'UserAccess'), DATABASEPROPERTYEX(name, 'IsInStandBy') FROM sys.databases;
GO
SELECT * FROM sys.database_recovery_status;
GO
BACKUP DATABASE [db] TO DISK = N'x.bak' WITH CHECKSUM, COMPRESSION, ENCRYPTION (ALGORITHM = AES_256, SERVER CERTIFICATE = c), STATS = 10;
GO
BACKUP LOG [db] TO URL = N'https://x.blob.core.windows.net/c/db.trn' WITH CREDENTIAL = 'cred';
GO
RESTORE VERIFYONLY FROM DISK = N'x.bak' WITH CHECKSUM;
GO
DBCC CHECKDB ([db]) WITH PHYSICAL_ONLY, DATA_PURITY, MAXDOP = 2, NO_INFOMSGS;
GO
DBCC CHECKTABLE ('dbo.t') WITH NO_INFOMSGS;
GO
DBCC CHECKALLOC;
GO
DBCC CHECKCATALOG;
GO
DBCC SHOWCONTIG ('dbo.t');
GO
DBCC OPENTRAN;
GO
DBCC LOGINFO;
GO
DBCC USEROPTIONS;
GO
DBCC TRACEON (3604, -1);
GO
DBCC PAGE (db, 1, 1, 3);
GO
DBCC DBREINDEX ('dbo.t');
GO
DBCC SHRINKFILE (N'log', 100);
GO
DBCC DROPCLEANBUFFERS;
GO
DBCC FREESYSTEMCACHE ('ALL');
GO
DBCC UPDATEUSAGE (0);
GO
ALTER INDEX ix ON dbo.t REBUILD WITH (ONLINE = ON (WAIT_AT_LOW_PRIORITY (MAX_DURATION = 1 MINUTES, ABORT_AFTER_WAIT = SELF)));
GO
ALTER INDEX ix ON dbo.t REBUILD PARTITION = 1 WITH (SORT_IN_TEMPDB = ON);
GO
ALTER INDEX ix ON dbo.t DISABLE;
GO
ALTER INDEX ALL ON dbo.t SET (ALLOW_PAGE_LOCKS = ON);
GO
UPDATE STATISTICS dbo.t ix WITH SAMPLE 10 PERCENT, PERSIST_SAMPLE_PERCENT = ON;
GO
UPDATE STATISTICS dbo.t WITH RESAMPLE ON PARTITIONS (1);
GO
SELECT * FROM sys.dm_db_incremental_stats_properties(OBJECT_ID('dbo.t'), 1);
GO
SELECT * FROM sys.dm_db_index_operational_stats(DB_ID(), NULL, NULL, NULL);
GO
EXEC master.dbo.xp_create_subdir N'c:\backup';
GO
EXEC master.sys.xp_delete_file 0, N'c:\backup', N'bak', N'2020-01-01';
GO
EXEC master.dbo.xp_regread N'HKEY_LOCAL_MACHINE', N'SOFTWARE\x', N'y';
GO
EXEC master.dbo.xp_servicecontrol N'QUERYSTATE', N'SQLServerAGENT';
GO
DECLARE @obj int; EXEC sp_OACreate 'Scripting.FileSystemObject', @obj OUT;
GO
SELECT sys.fn_hadr_backup_is_preferred_replica(N'db');
GO
SELECT sys.fn_hadr_is_primary_replica(N'db');
GO
SELECT * FROM sys.dm_hadr_availability_replica_states;
GO
SELECT * FROM sys.dm_os_sys_info;
GO
SELECT sqlserver_start_time FROM sys.dm_os_sys_info;
GO
SELECT CONVERT(varchar(20), GETDATE(), 120), CONVERT(nvarchar(30), SYSDATETIME(), 126), CONVERT(char(8), GETDATE(), 112);
GO
SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)), SERVERPROPERTY('EngineEdition'), SERVERPROPERTY('ProductBuild'), SERVERPROPERTY('IsIntegratedSecurityOnly');
GO
SELECT SERVERPROPERTY('ResourceVersion'), SERVERPROPERTY('Collation'), SERVERPROPERTY('ComputerNamePhysicalNetBIOS'), SERVERPROPERTY('IsFullTextInstalled');
GO
SELECT session_id, [processing-instruction(q)] = (SELECT text FROM sys.dm_exec_sql_text(sql_handle) FOR XML PATH(''), TYPE) FROM sys.dm_exec_requests;
GO
SELECT (SELECT 1 AS [@a] FOR XML PATH('r'), TYPE).query('/r');
GO
DECLARE @x xml = CONVERT(xml, N'<a b="1"/>');
SELECT n.value('@b', 'int') FROM @x.nodes('/a') AS t(n);
GO
SELECT @x.exist('/a');
GO
SELECT * FROM sys.dm_exec_sessions s WITH (NOLOCK) LEFT JOIN sys.dm_exec_requests r WITH (NOLOCK) ON r.session_id = s.session_id OPTION (RECOMPILE);
GO
SELECT CAST(value AS sql_variant), SQL_VARIANT_PROPERTY(value, 'BaseType') FROM sys.configurations;
GO
SELECT * FROM sys.dm_os_waiting_tasks WHERE blocking_session_id IS NOT NULL;
GO
SELECT * FROM sys.dm_exec_query_stats ORDER BY total_worker_time DESC;
GO
SELECT qs.*, st.text FROM sys.dm_exec_query_stats qs CROSS APPLY sys.dm_exec_sql_text(qs.sql_handle) st;
GO
SELECT * FROM sys.dm_os_performance_counters WHERE counter_name = N'Page life expectancy';
GO
SELECT * FROM sys.dm_db_log_space_usage;
GO
SELECT * FROM sys.dm_db_log_stats(DB_ID());
GO
SELECT * FROM sys.dm_os_enumerate_fixed_drives;
GO
SELECT * FROM msdb.dbo.suspect_pages;
GO
SELECT * FROM msdb.dbo.backupmediafamily;
GO
SELECT * FROM msdb.dbo.restorehistory;
GO
SELECT * FROM msdb.dbo.log_shipping_monitor_primary;
GO
SELECT * FROM msdb.dbo.sysjobsteps;
GO
SELECT * FROM msdb.dbo.sysschedules;
GO
SELECT * FROM msdb.dbo.sysoperators;
GO
SELECT * FROM msdb.dbo.sysalerts;
GO
SELECT * FROM msdb.dbo.sysmail_allitems;
GO
SELECT * FROM msdb.dbo.syspolicy_policies;
GO
SELECT * FROM master.sys.sysprocesses WHERE blocked <> 0;
GO
SELECT * FROM sys.dm_exec_query_resource_semaphores;
GO
SELECT * FROM sys.dm_tran_version_store_space_usage;
GO
SELECT * FROM sys.dm_os_memory_cache_counters;
GO
SELECT * FROM sys.dm_clr_loaded_assemblies;
GO
SELECT * FROM sys.dm_os_loaded_modules;
GO
SELECT * FROM sys.dm_xe_session_targets;
GO
SELECT * FROM sys.database_scoped_configurations;
GO
SELECT * FROM sys.database_query_store_options;
GO
SELECT * FROM sys.query_store_runtime_stats;
GO
SELECT * FROM sys.query_store_plan;
GO
SELECT * FROM sys.dm_db_missing_index_groups g JOIN sys.dm_db_missing_index_group_stats s ON s.group_handle = g.index_group_handle;
GO
SELECT * FROM sys.stats s CROSS APPLY sys.dm_db_stats_histogram(s.object_id, s.stats_id) h;
GO
SELECT * FROM sys.indexes i JOIN sys.partitions p ON p.object_id = i.object_id WHERE i.type_desc = N'CLUSTERED COLUMNSTORE';
GO
SELECT * FROM sys.column_store_row_groups;
GO
SELECT * FROM sys.dm_db_column_store_row_group_physical_stats;
GO
SELECT * FROM sys.foreign_keys WHERE is_not_trusted = 1;
GO
SELECT * FROM sys.triggers WHERE is_disabled = 1;
GO
SELECT * FROM sys.server_triggers;
GO
SELECT * FROM sys.sql_modules WHERE definition LIKE N'%NOLOCK%';
GO
SELECT * FROM sys.procedures p JOIN sys.sql_modules m ON m.object_id = p.object_id WHERE m.uses_ansi_nulls = 0;
GO
SELECT * FROM sys.database_principals WHERE type = 'S' AND authentication_type = 2;
GO
SELECT * FROM sys.database_role_members;
GO
SELECT * FROM sys.server_role_members;
GO
SELECT * FROM sys.database_permissions WHERE grantee_principal_id = DATABASE_PRINCIPAL_ID('guest');
GO
SELECT * FROM sys.server_permissions;
GO
SELECT * FROM sys.fn_my_permissions(NULL, 'SERVER');
GO
SELECT * FROM sys.fn_builtin_permissions(DEFAULT);
GO
SELECT * FROM sys.dm_os_cluster_nodes;
GO
SELECT * FROM sys.dm_io_cluster_shared_drives;
GO
SELECT * FROM sys.dm_os_windows_info;
GO
SELECT * FROM sys.dm_server_memory_dumps;
GO
SELECT * FROM sys.dm_os_buffer_pool_extension_configuration;
GO
SELECT * FROM sys.dm_resource_governor_resource_pools;
GO
SELECT * FROM sys.dm_exec_background_job_queue_stats;
GO
SELECT * FROM sys.dm_db_uncontained_entities;
GO
SELECT * FROM sys.dm_broker_activated_tasks;
GO
SELECT * FROM sys.transmission_queue;
GO
SELECT * FROM sys.service_queues;
GO
SELECT * FROM sys.dm_repl_articles;
GO
SELECT * FROM sys.dm_cdc_log_scan_sessions;
GO
SELECT * FROM sys.change_tracking_tables;
GO
SELECT * FROM sys.dm_db_xtp_table_memory_stats;
GO
SELECT * FROM sys.dm_os_volume_stats(1, 1);
GO
SELECT * FROM sys.dm_db_file_space_usage;
GO
SELECT * FROM sys.dm_os_schedulers;
GO
SELECT * FROM sys.dm_exec_sessions WHERE is_user_process = 1;
GO
SELECT * FROM sys.dm_exec_connections;
GO
SELECT * FROM sys.dm_os_sys_memory;
GO
SELECT @@MAX_CONNECTIONS, @@LOCK_TIMEOUT, @@NESTLEVEL, @@OPTIONS, @@MICROSOFTVERSION, @@PROCID, @@DATEFIRST;
GO
SELECT @@CONNECTIONS, @@IDLE, @@PACKET_ERRORS, @@PACK_SENT, @@TOTAL_READ, @@TOTAL_WRITE, @@MAX_PRECISION, @@LANGUAGE;
GO
EXEC sp_executesql N'SELECT @p', N'@p int', @p = 1;
GO
EXEC sp_describe_first_result_set N'SELECT 1';
GO
EXEC sp_helpfile;
GO
EXEC sp_helpfilegroup;
GO
EXEC sp_helplogins;
GO
EXEC sp_helprotect;
GO
EXEC sp_helpuser;
GO
EXEC sp_helpsrvrolemember 'sysadmin';
GO
EXEC sp_helprolemember;
GO
EXEC sp_depends 'dbo.t';
GO
EXEC sp_help 'dbo.t';
GO
EXEC sp_columns 't';
GO
EXEC sp_tables;
GO
EXEC sp_stored_procedures;
GO
EXEC sp_server_info;
GO
EXEC sp_monitor;
GO
EXEC sp_validname 'x';
GO
EXEC sp_change_users_login 'Report';
GO
EXEC sp_dropserver 'x', 'droplogins';
GO
EXEC sp_addumpdevice 'disk', 'd', 'c:\d.bak';
GO
EXEC sp_attach_db 'db', 'c:\d.mdf';
GO
EXEC sp_detach_db 'db';
GO
EXEC sp_dbcmptlevel 'db', 150;
GO
EXEC sp_resetstatus 'db';
GO
EXEC sp_cycle_errorlog;
GO
EXEC sp_enumerrorlogs;
GO
EXEC sp_procoption 'dbo.p', 'startup', 'on';
GO
EXEC sp_helptrigger 'dbo.t';
GO
EXEC sp_indexoption 'dbo.t', 'AllowPageLocks', TRUE;
GO
EXEC sp_tableoption 'dbo.t', 'text in row', 'ON';
GO
EXEC sp_autostats 'dbo.t';
GO
EXEC sp_createstats;
GO
EXEC sp_estimate_data_compression_savings 'dbo', 't', NULL, NULL, 'PAGE';
GO
EXEC sp_query_store_flush_db;
GO
EXEC sp_xtp_checkpoint_force_garbage_collection;
GO
EXEC sp_releaseapplock @Resource = 'r';
GO
EXEC sp_addrolemember 'db_owner', 'u';
GO
EXEC sp_addsrvrolemember 'x', 'sysadmin';
GO
EXEC sp_addsrvrolemember 'x', 'bulkadmin';
GO
EXEC sp_grantdbaccess 'x';
GO
EXEC sp_grantlogin 'dom\x';
GO
EXEC sp_defaultdb 'x', 'db';
GO
EXEC sp_password NULL, 'p', 'x';
GO
EXEC sp_addlogin 'x', 'p';
GO
EXEC sp_adduser 'x';
GO
EXEC sp_addtype 'mytype', 'int';
GO
EXEC sp_bindefault 'd', 't.c';
GO
EXEC sp_bindrule 'r', 't.c';
GO
EXEC sp_unbindefault 't.c';
GO
EXEC sp_settriggerorder 'dbo.trg', 'First', 'INSERT';
GO
EXEC sp_setapprole 'r', 'p';
GO
EXEC sp_changeobjectowner 'dbo.t', 'u';
GO
EXEC sp_fulltext_database 'enable';
GO
EXEC sp_helpconstraint 'dbo.t';
GO
EXEC sp_MSdependencies;
GO
EXEC sp_msforeachtable 'UPDATE STATISTICS ?';
GO
EXEC sp_MShelpindex 'dbo.t';
GO
EXEC xp_sprintf @s OUTPUT, 'x %s', 'y';
GO
EXEC xp_dirtree 'c:\', 1, 1;
GO
EXEC xp_fileexist 'c:\x';
GO
EXEC xp_loginconfig 'login mode';
GO
EXEC xp_sqlagent_enum_jobs 1, 'sa';
GO
EXEC msdb.dbo.sp_help_job;
GO
EXEC msdb.dbo.sp_update_job @job_name = N'j', @enabled = 0;
GO
EXEC msdb.dbo.sp_delete_backuphistory @oldest_date = '2020-01-01';
GO
EXEC msdb.dbo.sp_purge_jobhistory;
GO
EXEC msdb.dbo.sysmail_delete_mailitems_sp @sent_before = '2020-01-01';
GO
EXEC msdb.dbo.sp_add_alert @name = N'a', @message_id = 823;
GO
EXEC msdb.dbo.sp_add_operator @name = N'o';
GO
EXEC msdb.dbo.sp_add_notification @alert_name = N'a', @operator_name = N'o', @notification_method = 1;
GO
EXEC msdb.dbo.sp_add_jobstep @job_name = N'j', @step_name = N's', @subsystem = N'TSQL', @command = N'SELECT 1';
GO
EXEC msdb.dbo.sp_add_schedule @schedule_name = N's', @freq_type = 4;
GO
EXEC msdb.dbo.sp_attach_schedule @job_name = N'j', @schedule_name = N's';
GO
EXEC msdb.dbo.sp_add_jobserver @job_name = N'j';
GO
EXEC msdb.dbo.sp_add_category @name = N'c';
GO
EXEC msdb.dbo.sp_send_dbmail @recipients = 'x', @query = 'SELECT 1', @attach_query_result_as_file = 1;
GO
EXEC msdb.dbo.sysmail_add_account_sp @account_name = 'a', @email_address = 'x';
GO
EXEC msdb.dbo.sp_syspolicy_purge_history;
GO
EXEC sys.sp_cdc_enable_db;
GO
EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N't', @role_name = NULL;
GO
EXEC sp_replicationdboption 'db', 'publish', 'true';
GO
EXEC sp_addpublication @publication = 'p';
GO
EXEC sp_configure 'xp_cmdshell', 1;
GO
EXEC sp_configure;
GO
