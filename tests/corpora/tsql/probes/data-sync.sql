-- Probe: incremental data synchronisation code (change tracking, change
-- data capture, rowversion watermarks, Service Broker hand-off), as ETL and
-- integration layers write it. Written by this project; see ../README.md.
SET NOCOUNT ON;
GO
ALTER DATABASE Sales SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
ALTER TABLE dbo.Customers ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
GO
CREATE OR ALTER PROCEDURE sync.GetCustomerChanges
    @LastVersion bigint
AS
BEGIN
    DECLARE @current bigint = CHANGE_TRACKING_CURRENT_VERSION();
    IF @LastVersion < CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID(N'dbo.Customers'))
        THROW 51000, N'Full reload needed.', 1;

    SELECT ct.CustomerID, ct.SYS_CHANGE_OPERATION, ct.SYS_CHANGE_VERSION,
           CHANGE_TRACKING_IS_COLUMN_IN_MASK(COLUMNPROPERTY(OBJECT_ID(N'dbo.Customers'), N'Email', 'ColumnId'),
                                             ct.SYS_CHANGE_COLUMNS) AS EmailChanged,
           c.Name, c.Email
    FROM CHANGETABLE(CHANGES dbo.Customers, @LastVersion) AS ct
    LEFT JOIN dbo.Customers AS c ON c.CustomerID = ct.CustomerID;

    SELECT c.CustomerID, v.SYS_CHANGE_VERSION
    FROM dbo.Customers AS c
    CROSS APPLY CHANGETABLE(VERSION dbo.Customers, (CustomerID), (c.CustomerID)) AS v;

    SELECT @current AS NextVersion;
END;
GO
DECLARE @context varbinary(128) = CAST(N'sync-job' AS varbinary(128));
WITH CHANGE_TRACKING_CONTEXT (@context)
UPDATE dbo.Customers SET Name = N'x' WHERE CustomerID = 1;
GO
EXEC sys.sp_cdc_enable_db;
EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Orders', @role_name = NULL, @supports_net_changes = 1;
GO
DECLARE @from binary(10) = sys.fn_cdc_get_min_lsn(N'dbo_Orders'),
        @to binary(10) = sys.fn_cdc_get_max_lsn(),
        @since binary(10) = sys.fn_cdc_map_time_to_lsn('smallest greater than', '2026-01-01');
SELECT __$operation, __$start_lsn, OrderID, Amount
FROM cdc.fn_cdc_get_all_changes_dbo_Orders(@from, @to, N'all update old');
SELECT * FROM cdc.fn_cdc_get_net_changes_dbo_Orders(@since, @to, N'all with mask');
SELECT sys.fn_cdc_increment_lsn(@from), sys.fn_cdc_is_bit_set(2, 0x0F), sys.fn_cdc_has_column_changed(N'dbo_Orders', N'Amount', 0x0F);
SELECT * FROM cdc.dbo_Orders_CT WHERE __$operation = 2;
SELECT * FROM cdc.change_tables;
GO
CREATE TABLE sync.Watermarks
(
    TableName sysname NOT NULL PRIMARY KEY,
    LastRowVersion binary(8) NOT NULL,
    UpdatedAt datetime2 NOT NULL DEFAULT SYSUTCDATETIME()
);
GO
CREATE OR ALTER PROCEDURE sync.ExtractOrders
AS
BEGIN
    DECLARE @last binary(8), @upper binary(8) = MIN_ACTIVE_ROWVERSION();
    SELECT @last = LastRowVersion FROM sync.Watermarks WITH (UPDLOCK, HOLDLOCK) WHERE TableName = N'Orders';
    SELECT OrderID, Amount, RowVer
    FROM dbo.Orders
    WHERE RowVer > @last AND RowVer < @upper;
    UPDATE sync.Watermarks SET LastRowVersion = @upper, UpdatedAt = SYSUTCDATETIME() WHERE TableName = N'Orders';
    SELECT @@DBTS AS DatabaseTimestamp;
END;
GO
CREATE OR ALTER PROCEDURE sync.SendOrderEvent
    @OrderID int
AS
BEGIN
    DECLARE @handle uniqueidentifier, @body xml = (SELECT @OrderID AS OrderID FOR XML PATH('order'), TYPE);
    BEGIN DIALOG CONVERSATION @handle
        FROM SERVICE [//sync/Sender]
        TO SERVICE N'//sync/Receiver'
        ON CONTRACT [//sync/OrderContract]
        WITH ENCRYPTION = OFF, LIFETIME = 3600;
    SEND ON CONVERSATION @handle MESSAGE TYPE [//sync/Order] (@body);
END;
GO
CREATE OR ALTER PROCEDURE sync.ReceiveOrderEvents
AS
BEGIN
    DECLARE @handle uniqueidentifier, @type sysname, @body varbinary(max);
    WHILE 1 = 1
    BEGIN
        BEGIN TRANSACTION;
        WAITFOR (
            RECEIVE TOP (1) @handle = conversation_handle, @type = message_type_name, @body = message_body
            FROM sync.OrderQueue
        ), TIMEOUT 5000;
        IF @@ROWCOUNT = 0
        BEGIN
            ROLLBACK TRANSACTION;
            BREAK;
        END;
        IF @type = N'http://schemas.microsoft.com/SQL/ServiceBroker/EndDialog'
            END CONVERSATION @handle;
        ELSE IF @type = N'http://schemas.microsoft.com/SQL/ServiceBroker/Error'
            END CONVERSATION @handle WITH ERROR = 500 DESCRIPTION = N'failed';
        ELSE
            INSERT sync.Inbox (Body) VALUES (CAST(@body AS xml));
        COMMIT TRANSACTION;
    END;
END;
GO
ALTER QUEUE sync.OrderQueue WITH ACTIVATION (STATUS = ON, PROCEDURE_NAME = sync.ReceiveOrderEvents, MAX_QUEUE_READERS = 2, EXECUTE AS OWNER);
GO
SELECT * FROM sys.transmission_queue;
SELECT * FROM sys.conversation_endpoints WHERE state_desc = N'DISCONNECTED_INBOUND';
SELECT GET_TRANSMISSION_STATUS(@handle);
GO
