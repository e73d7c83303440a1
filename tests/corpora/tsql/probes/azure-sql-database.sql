-- Probe: code written for Azure SQL Database (elastic queries, service
-- tiers, resource views, Entra ID principals, firewall rules, external
-- REST calls), as an estate moving from Azure SQL to Babelfish would hold.
-- Written by this project; see ../README.md.
SET NOCOUNT ON;
GO
CREATE USER [app-identity] FROM EXTERNAL PROVIDER;
ALTER ROLE db_datareader ADD MEMBER [app-identity];
GO
CREATE LOGIN [dba@example.com] FROM EXTERNAL PROVIDER;
GO
ALTER DATABASE CURRENT MODIFY (SERVICE_OBJECTIVE = 'S3');
ALTER DATABASE [Sales] MODIFY (EDITION = 'Premium', MAXSIZE = 500 GB, SERVICE_OBJECTIVE = 'P2');
ALTER DATABASE [Sales] MODIFY (SERVICE_OBJECTIVE = ELASTIC_POOL (name = [pool1]));
GO
CREATE DATABASE SalesCopy AS COPY OF prodserver.Sales (SERVICE_OBJECTIVE = 'S0');
GO
SELECT DATABASEPROPERTYEX(DB_NAME(), 'ServiceObjective') AS Objective,
       DATABASEPROPERTYEX(DB_NAME(), 'Edition') AS Edition,
       DATABASEPROPERTYEX(DB_NAME(), 'MaxSizeInBytes') AS MaxSize;
GO
SELECT end_time, avg_cpu_percent, avg_data_io_percent, avg_log_write_percent, avg_memory_usage_percent
FROM sys.dm_db_resource_stats
ORDER BY end_time DESC;
GO
SELECT start_time, database_name, avg_cpu_percent
FROM sys.resource_stats
WHERE database_name = DB_NAME();
GO
SELECT * FROM sys.elastic_pool_resource_stats;
SELECT * FROM sys.database_service_objectives;
SELECT * FROM sys.dm_operation_status;
SELECT * FROM sys.database_firewall_rules;
SELECT * FROM sys.firewall_rules;
SELECT * FROM sys.event_log;
SELECT * FROM sys.dm_db_wait_stats;
SELECT * FROM sys.dm_database_copies;
SELECT * FROM sys.geo_replication_links;
SELECT * FROM sys.dm_geo_replication_link_status;
GO
EXEC sp_set_database_firewall_rule @name = N'office', @start_ip_address = '203.0.113.1', @end_ip_address = '203.0.113.9';
EXEC sp_delete_database_firewall_rule @name = N'office';
EXEC sp_wait_for_database_copy_sync @target_server = N'geo', @target_database = N'Sales';
GO
CREATE MASTER KEY ENCRYPTION BY PASSWORD = 'Str0ng!Passw0rd';
CREATE DATABASE SCOPED CREDENTIAL RemoteCred WITH IDENTITY = 'reader', SECRET = 'x';
CREATE EXTERNAL DATA SOURCE RemoteSales
WITH (TYPE = RDBMS, LOCATION = 'remote.database.windows.net', DATABASE_NAME = 'Sales', CREDENTIAL = RemoteCred);
GO
CREATE EXTERNAL TABLE dbo.RemoteOrders
(
    OrderID int NOT NULL,
    Amount money NOT NULL
)
WITH (DATA_SOURCE = RemoteSales, SCHEMA_NAME = 'dbo', OBJECT_NAME = 'Orders');
GO
SELECT o.OrderID, o.Amount
FROM dbo.RemoteOrders AS o
JOIN dbo.Customers AS c ON c.CustomerID = o.OrderID;
GO
EXEC sp_execute_remote @data_source_name = N'RemoteSales', @stmt = N'SELECT COUNT(*) FROM dbo.Orders';
GO
DECLARE @response nvarchar(max);
EXEC sp_invoke_external_rest_endpoint
    @url = N'https://example.azurewebsites.net/api/notify',
    @method = 'POST',
    @payload = N'{"event": "order"}',
    @response = @response OUTPUT;
GO
ALTER DATABASE SCOPED CONFIGURATION SET MAXDOP = 4;
ALTER DATABASE SCOPED CONFIGURATION SET IDENTITY_CACHE = OFF;
ALTER DATABASE SCOPED CONFIGURATION CLEAR PROCEDURE_CACHE;
ALTER DATABASE CURRENT SET AUTOMATIC_TUNING (FORCE_LAST_GOOD_PLAN = ON);
ALTER DATABASE CURRENT SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE);
GO
SELECT SESSION_CONTEXT(N'TenantID') AS Tenant;
EXEC sp_set_session_context @key = N'TenantID', @value = 42, @read_only = 1;
GO
CREATE SCHEMA Security;
GO
CREATE FUNCTION Security.TenantPredicate (@TenantID int)
RETURNS TABLE
WITH SCHEMABINDING
AS
RETURN SELECT 1 AS ok WHERE @TenantID = CAST(SESSION_CONTEXT(N'TenantID') AS int);
GO
CREATE SECURITY POLICY Security.TenantPolicy
ADD FILTER PREDICATE Security.TenantPredicate(TenantID) ON dbo.Orders,
ADD BLOCK PREDICATE Security.TenantPredicate(TenantID) ON dbo.Orders AFTER INSERT
WITH (STATE = ON);
GO
CREATE TABLE dbo.Orders
(
    OrderID int IDENTITY(1,1) NOT NULL PRIMARY KEY,
    TenantID int NOT NULL,
    Email nvarchar(200) MASKED WITH (FUNCTION = 'email()') NULL,
    CardNumber varchar(20) MASKED WITH (FUNCTION = 'partial(0,"XXXX-",4)') NULL,
    Amount money NOT NULL
);
GO
ADD SENSITIVITY CLASSIFICATION TO dbo.Orders.Email
WITH (LABEL = 'Confidential', INFORMATION_TYPE = 'Contact Info', RANK = MEDIUM);
GO
SELECT * FROM sys.sensitivity_classifications;
GO
