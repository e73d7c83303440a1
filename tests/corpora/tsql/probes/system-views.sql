SELECT * FROM sys.dm_os_performance_counters;
GO
SELECT * FROM sys.dm_exec_query_plan(0x00);
GO
SELECT * FROM sys.dm_os_sys_info;
GO
SELECT * FROM sys.dm_os_wait_stats;
GO
SELECT * FROM sys.traces;
GO
SELECT * FROM sys.master_files;
GO
SELECT * FROM msdb.dbo.backupset;
GO
SELECT * FROM msdb.dbo.sysjobs;
GO
SELECT * FROM msdb.dbo.sysjobhistory;
GO
SELECT * FROM sys.availability_groups;
GO
SELECT * FROM sys.dm_hadr_database_replica_states;
GO
SELECT * FROM sys.dm_db_index_physical_stats(NULL,NULL,NULL,NULL,'LIMITED');
GO
SELECT * FROM sys.dm_db_missing_index_details;
GO
SELECT * FROM sys.dm_exec_requests;
GO
SELECT * FROM sys.dm_exec_sessions;
GO
SELECT * FROM sys.dm_tran_locks;
GO
SELECT * FROM sys.dm_os_waiting_tasks;
GO
SELECT * FROM sys.dm_io_virtual_file_stats(NULL,NULL);
GO
SELECT * FROM sys.configurations;
GO
SELECT * FROM sys.dm_server_services;
GO
SELECT * FROM sys.dm_os_host_info;
GO
SELECT * FROM sys.dm_exec_cached_plans;
GO
SELECT * FROM sys.dm_exec_plan_attributes(0x00);
GO
SELECT * FROM sys.dm_exec_query_profiles;
GO
SELECT * FROM sys.dm_exec_input_buffer(1,0);
GO
SELECT * FROM sys.dm_os_schedulers;
GO
SELECT * FROM sys.dm_os_ring_buffers;
GO
SELECT * FROM sys.dm_os_memory_clerks;
GO
SELECT * FROM sys.dm_db_file_space_usage;
GO
SELECT * FROM sys.dm_db_log_info(DB_ID());
GO
SELECT * FROM sys.dm_db_log_space_usage;
GO
SELECT * FROM sys.database_files;
GO
SELECT * FROM sys.dm_os_volume_stats(1,1);
GO
SELECT * FROM sys.dm_xe_sessions;
GO
SELECT * FROM sys.server_event_sessions;
GO
SELECT * FROM sys.dm_db_stats_properties(1,1);
GO
SELECT * FROM sys.dm_db_index_usage_stats;
GO
SELECT * FROM sys.dm_db_index_operational_stats(NULL,NULL,NULL,NULL);
GO
SELECT * FROM sys.dm_exec_trigger_stats;
GO
SELECT * FROM sys.dm_exec_function_stats;
GO
SELECT * FROM sys.query_store_query;
GO
SELECT * FROM sys.query_store_plan;
GO
SELECT * FROM sys.query_store_runtime_stats;
GO
SELECT * FROM sys.database_query_store_options;
GO
SELECT * FROM sys.dm_resource_governor_workload_groups;
GO
SELECT * FROM sys.dm_os_nodes;
GO
SELECT * FROM sys.dm_os_process_memory;
GO
SELECT * FROM sys.dm_os_sys_memory;
GO
SELECT * FROM sys.dm_server_memory_dumps;
GO
SELECT * FROM sys.dm_db_persisted_sku_features;
GO
SELECT * FROM sys.dm_os_buffer_descriptors;
GO
SELECT * FROM sys.dm_db_partition_stats;
GO
SELECT * FROM sys.allocation_units;
GO
SELECT * FROM sys.internal_partitions;
GO
SELECT * FROM sys.dm_db_column_store_row_group_physical_stats;
GO
SELECT * FROM sys.dm_db_xtp_table_memory_stats;
GO
SELECT * FROM sys.dm_broker_activated_tasks;
GO
SELECT * FROM sys.transmission_queue;
GO
SELECT * FROM sys.dm_tran_version_store_space_usage;
GO
SELECT * FROM sys.dm_tran_session_transactions;
GO
SELECT * FROM sys.dm_tran_database_transactions;
GO
SELECT * FROM sys.dm_exec_connections;
GO
SELECT * FROM sys.endpoints;
GO
SELECT * FROM sys.certificates;
GO
SELECT * FROM sys.dm_database_encryption_keys;
GO
SELECT * FROM sys.server_principals;
GO
SELECT * FROM sys.server_role_members;
GO
SELECT * FROM sys.database_role_members;
GO
SELECT * FROM sys.database_permissions;
GO
SELECT * FROM sys.server_permissions;
GO
SELECT * FROM sys.linked_logins;
GO
SELECT * FROM sys.servers;
GO
SELECT * FROM sys.credentials;
GO
SELECT * FROM msdb.dbo.sysmail_allitems;
GO
SELECT * FROM msdb.dbo.sysoperators;
GO
SELECT * FROM msdb.dbo.sysalerts;
GO
SELECT * FROM msdb.dbo.log_shipping_monitor_primary;
GO
SELECT * FROM msdb.dbo.suspect_pages;
GO
SELECT * FROM msdb.dbo.restorehistory;
GO
SELECT * FROM msdb.dbo.backupmediafamily;
GO
SELECT * FROM msdb.dbo.syscategories;
GO
SELECT * FROM msdb.dbo.sysschedules;
GO
SELECT * FROM msdb.dbo.sysjobschedules;
GO
SELECT * FROM msdb.dbo.sysjobsteps;
GO
SELECT * FROM msdb.dbo.sysjobactivity;
GO
SELECT * FROM msdb.dbo.syssessions;
GO
SELECT * FROM master.dbo.sysprocesses;
GO
SELECT * FROM master..sysdatabases;
GO
SELECT * FROM sys.sysperfinfo;
GO
SELECT * FROM sys.dm_os_latch_stats;
GO
SELECT * FROM sys.dm_os_spinlock_stats;
GO
SELECT * FROM sys.dm_exec_query_stats;
GO
SELECT * FROM sys.dm_exec_procedure_stats;
GO
SELECT * FROM sys.dm_exec_sql_text(0x00);
GO
SELECT * FROM sys.dm_exec_text_query_plan(0x00,0,-1);
GO
SELECT * FROM sys.dm_os_threads;
GO
SELECT * FROM sys.dm_os_workers;
GO
SELECT * FROM sys.dm_os_tasks;
GO
SELECT * FROM sys.dm_exec_query_memory_grants;
GO
SELECT * FROM sys.dm_exec_query_resource_semaphores;
GO
SELECT * FROM sys.dm_os_memory_cache_counters;
GO
SELECT * FROM sys.dm_db_session_space_usage;
GO
SELECT * FROM sys.dm_db_task_space_usage;
GO
SELECT * FROM sys.dm_tran_active_snapshot_database_transactions;
GO
SELECT * FROM sys.dm_os_sys_info;
GO
SELECT * FROM sys.dm_os_windows_info;
GO
SELECT * FROM sys.dm_server_registry;
GO
SELECT * FROM sys.dm_os_cluster_nodes;
GO
SELECT * FROM sys.dm_hadr_availability_replica_states;
GO
SELECT * FROM sys.availability_replicas;
GO
SELECT * FROM sys.availability_databases_cluster;
GO
SELECT * FROM sys.dm_hadr_cluster;
GO
SELECT * FROM sys.database_mirroring;
GO
SELECT * FROM sys.database_recovery_status;
GO
SELECT * FROM sys.dm_db_mirroring_connections;
GO
SELECT * FROM sys.change_tracking_databases;
GO
SELECT * FROM sys.change_tracking_tables;
GO
SELECT * FROM sys.dm_cdc_log_scan_sessions;
GO
SELECT * FROM sys.trace_events;
GO
SELECT * FROM sys.fn_trace_getinfo(0);
GO
SELECT * FROM sys.fn_get_audit_file('x',DEFAULT,DEFAULT);
GO
SELECT * FROM sys.fn_dblog(NULL,NULL);
GO
SELECT * FROM sys.fn_PhysLocFormatter(0x00);
GO
SELECT * FROM sys.dm_db_page_info(1,1,1,'DETAILED');
GO
SELECT * FROM sys.dm_exec_session_wait_stats;
GO
SELECT * FROM sys.dm_db_wait_stats;
GO
SELECT * FROM sys.dm_os_job_object;
GO
SELECT * FROM sys.dm_exec_distributed_requests;
GO
SELECT * FROM sys.plan_guides;
GO
SELECT * FROM sys.dm_exec_query_optimizer_info;
GO
SELECT * FROM sys.dm_db_tuning_recommendations;
GO
SELECT * FROM sys.dm_os_memory_objects;
GO
SELECT * FROM sys.dm_os_loaded_modules;
GO
SELECT * FROM sys.dm_os_stacks;
GO
SELECT * FROM sys.dm_io_pending_io_requests;
GO
SELECT * FROM sys.dm_exec_background_job_queue;
GO
SELECT * FROM sys.messages;
GO
SELECT * FROM sys.syscacheobjects;
GO
SELECT * FROM sys.sysindexes;
GO
SELECT * FROM sys.sysforeignkeys;
GO
SELECT * FROM sys.syslogins;
GO
SELECT * FROM sys.sysusers;
GO
SELECT * FROM sys.sysmembers;
GO
SELECT * FROM sys.sysfiles;
GO
SELECT * FROM sys.sysaltfiles;
GO
SELECT * FROM sys.syslockinfo;
GO
SELECT * FROM sys.sysservers;
GO
SELECT * FROM sys.sysconfigures;
GO
SELECT * FROM sys.syscurconfigs;
GO
SELECT * FROM sys.sysdepends;
GO
SELECT * FROM sys.syspermissions;
GO
SELECT * FROM sys.sysprotects;
GO
SELECT * FROM sys.sysoledbusers;
GO
SELECT * FROM sys.sysremotelogins;
GO
SELECT * FROM sys.systypes;
GO
SELECT * FROM sys.sysfilegroups;
GO
