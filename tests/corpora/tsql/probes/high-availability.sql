-- Probe: high-availability and replication administration (availability
-- groups, mirroring, log shipping, transactional replication), as DBA
-- scripts check and drive it. Written by this project; see ../README.md.
SET NOCOUNT ON;
GO
IF SERVERPROPERTY('IsHadrEnabled') = 1
BEGIN
    SELECT ag.name, ar.replica_server_name, ars.role_desc, ars.synchronization_health_desc,
           drs.database_id, drs.log_send_queue_size, drs.redo_queue_size, drs.last_commit_time
    FROM sys.availability_groups AS ag
    JOIN sys.availability_replicas AS ar ON ar.group_id = ag.group_id
    JOIN sys.dm_hadr_availability_replica_states AS ars ON ars.replica_id = ar.replica_id
    LEFT JOIN sys.dm_hadr_database_replica_states AS drs ON drs.replica_id = ar.replica_id;
END;
GO
IF sys.fn_hadr_is_primary_replica(N'Sales') = 1
    PRINT 'primary';
IF sys.fn_hadr_backup_is_preferred_replica(N'Sales') = 0
    RETURN;
GO
SELECT l.dns_name, l.port, ip.ip_address, ip.state_desc
FROM sys.availability_group_listeners AS l
JOIN sys.availability_group_listener_ip_addresses AS ip ON ip.listener_id = l.listener_id;
SELECT * FROM sys.dm_hadr_cluster_members;
SELECT * FROM sys.dm_hadr_automatic_seeding;
SELECT * FROM sys.availability_databases_cluster;
GO
ALTER AVAILABILITY GROUP [AG1] FAILOVER;
ALTER AVAILABILITY GROUP [AG1] FORCE_FAILOVER_ALLOW_DATA_LOSS;
ALTER AVAILABILITY GROUP [AG1] ADD DATABASE [Sales];
ALTER AVAILABILITY GROUP [AG1] MODIFY REPLICA ON N'NODE2' WITH (FAILOVER_MODE = MANUAL);
ALTER AVAILABILITY GROUP [AG1] GRANT CREATE ANY DATABASE;
ALTER DATABASE [Sales] SET HADR SUSPEND;
ALTER DATABASE [Sales] SET HADR RESUME;
ALTER DATABASE [Sales] SET HADR AVAILABILITY GROUP = [AG1];
GO
CREATE ENDPOINT Hadr_endpoint
    STATE = STARTED
    AS TCP (LISTENER_PORT = 5022)
    FOR DATABASE_MIRRORING (ROLE = ALL, AUTHENTICATION = WINDOWS NEGOTIATE, ENCRYPTION = REQUIRED ALGORITHM AES);
GO
SELECT * FROM sys.database_mirroring WHERE mirroring_guid IS NOT NULL;
SELECT * FROM sys.database_mirroring_endpoints;
ALTER DATABASE Sales SET PARTNER = 'TCP://mirror.example.com:5022';
ALTER DATABASE Sales SET PARTNER FAILOVER;
ALTER DATABASE Sales SET PARTNER SAFETY OFF;
ALTER DATABASE Sales SET WITNESS = 'TCP://witness.example.com:5022';
GO
EXEC master.dbo.sp_add_log_shipping_primary_database @database = N'Sales', @backup_directory = N'\\share\logs',
     @backup_share = N'\\share\logs', @backup_job_name = N'LSBackup_Sales', @backup_retention_period = 4320;
EXEC master.dbo.sp_help_log_shipping_monitor;
SELECT * FROM msdb.dbo.log_shipping_monitor_secondary;
GO
EXEC sp_replicationdboption @dbname = N'Sales', @optname = N'publish', @value = N'true';
EXEC sp_addpublication @publication = N'SalesPub', @status = N'active', @allow_push = N'true';
EXEC sp_addarticle @publication = N'SalesPub', @article = N'Orders', @source_object = N'Orders';
EXEC sp_addsubscription @publication = N'SalesPub', @subscriber = N'REPORTS', @destination_db = N'SalesCopy';
EXEC sp_startpublication_snapshot @publication = N'SalesPub';
EXEC sp_posttracertoken @publication = N'SalesPub';
EXEC sp_replmonitorhelppublication;
SELECT * FROM distribution.dbo.MSrepl_errors;
SELECT * FROM sys.dm_repl_traninfo;
GO
CREATE TABLE dbo.Replicated
(
    ID int IDENTITY(1,1) NOT FOR REPLICATION NOT NULL PRIMARY KEY,
    RowGuid uniqueidentifier ROWGUIDCOL NOT NULL DEFAULT NEWSEQUENTIALID(),
    Amount money NOT NULL CHECK NOT FOR REPLICATION (Amount >= 0)
);
GO
CREATE TRIGGER dbo.trg_Replicated ON dbo.Replicated
AFTER INSERT
NOT FOR REPLICATION
AS
    SET NOCOUNT ON;
GO
SELECT DATABASEPROPERTYEX(N'Sales', 'IsPublished'), DATABASEPROPERTYEX(N'Sales', 'IsMergePublished'),
       DATABASEPROPERTYEX(N'Sales', 'Updateability'), DATABASEPROPERTYEX(N'Sales', 'IsInStandBy');
GO
SELECT name, is_read_only, state_desc, log_reuse_wait_desc, is_published, is_subscribed,
       is_distributor, replica_id, group_database_id
FROM sys.databases;
GO
