:setvar DatabaseName "SalesDb"
:setvar DefaultFilePrefix "SalesDb"
:on error exit
GO
USE [master];
GO
IF (DB_ID(N'$(DatabaseName)') IS NOT NULL)
BEGIN
    ALTER DATABASE [$(DatabaseName)] SET SINGLE_USER WITH ROLLBACK IMMEDIATE;
    DROP DATABASE [$(DatabaseName)];
END
GO
PRINT N'Creating $(DatabaseName)...';
GO
CREATE DATABASE [$(DatabaseName)]
    ON PRIMARY (NAME = [$(DatabaseName)], FILENAME = N'D:\Data\$(DefaultFilePrefix)_Primary.mdf', SIZE = 100MB, FILEGROWTH = 64MB)
    LOG ON (NAME = [$(DatabaseName)_log], FILENAME = N'L:\Log\$(DefaultFilePrefix)_Primary.ldf', SIZE = 50MB, FILEGROWTH = 64MB)
    COLLATE Latin1_General_CI_AS;
GO
ALTER DATABASE [$(DatabaseName)] SET ANSI_NULLS ON, ANSI_PADDING ON, ANSI_WARNINGS ON, ARITHABORT ON, CONCAT_NULL_YIELDS_NULL ON, QUOTED_IDENTIFIER ON, ANSI_NULL_DEFAULT ON, CURSOR_DEFAULT LOCAL WITH ROLLBACK IMMEDIATE;
GO
ALTER DATABASE [$(DatabaseName)] SET RECOVERY FULL, PAGE_VERIFY CHECKSUM, AUTO_UPDATE_STATISTICS_ASYNC ON;
GO
ALTER DATABASE [$(DatabaseName)] SET ALLOW_SNAPSHOT_ISOLATION ON;
GO
ALTER DATABASE [$(DatabaseName)] SET READ_COMMITTED_SNAPSHOT ON WITH ROLLBACK IMMEDIATE;
GO
ALTER DATABASE [$(DatabaseName)] SET QUERY_STORE (OPERATION_MODE = READ_WRITE, MAX_STORAGE_SIZE_MB = 100);
GO
ALTER DATABASE [$(DatabaseName)] ADD FILEGROUP [USERDATA];
GO
ALTER DATABASE [$(DatabaseName)] ADD FILE (NAME = N'UserData1', FILENAME = N'D:\Data\$(DefaultFilePrefix)_UserData1.ndf', SIZE = 200MB) TO FILEGROUP [USERDATA];
GO
ALTER DATABASE [$(DatabaseName)] MODIFY FILEGROUP [USERDATA] DEFAULT;
GO
ALTER DATABASE [$(DatabaseName)] MODIFY FILE (NAME = N'$(DatabaseName)_log', MAXSIZE = 10GB);
GO
ALTER DATABASE [$(DatabaseName)] SET COMPATIBILITY_LEVEL = 150;
GO
ALTER DATABASE [$(DatabaseName)] SET TARGET_RECOVERY_TIME = 60 SECONDS;
GO
ALTER DATABASE [$(DatabaseName)] SET DELAYED_DURABILITY = DISABLED;
GO
ALTER DATABASE [$(DatabaseName)] SET MULTI_USER;
GO
USE [$(DatabaseName)];
GO
SET ANSI_NULLS, ANSI_PADDING, ANSI_WARNINGS, ARITHABORT, CONCAT_NULL_YIELDS_NULL, QUOTED_IDENTIFIER ON;
SET NUMERIC_ROUNDABORT OFF;
GO
IF EXISTS (SELECT * FROM sys.objects WHERE object_id = OBJECT_ID(N'[dbo].[Orders]') AND type IN (N'U'))
    DROP TABLE [dbo].[Orders];
GO
CREATE TABLE [dbo].[Orders] (
    [OrderId] int IDENTITY (1, 1) NOT NULL,
    [CustomerId] int NOT NULL,
    [OrderDate] date CONSTRAINT [DF_Orders_OrderDate] DEFAULT (CONVERT([date], SYSDATETIME())) NOT NULL,
    [Total] decimal (18, 2) NULL,
    CONSTRAINT [PK_Orders] PRIMARY KEY CLUSTERED ([OrderId] ASC) WITH (FILLFACTOR = 90) ON [USERDATA]
) ON [USERDATA];
GO
CREATE NONCLUSTERED INDEX [IX_Orders_Customer] ON [dbo].[Orders]([CustomerId] ASC) INCLUDE([Total]) WITH (DATA_COMPRESSION = ROW) ON [USERDATA];
GO
ALTER TABLE [dbo].[Orders] WITH NOCHECK ADD CONSTRAINT [FK_Orders_Customers] FOREIGN KEY ([CustomerId]) REFERENCES [dbo].[Customers] ([CustomerId]);
GO
ALTER TABLE [dbo].[Orders] CHECK CONSTRAINT [FK_Orders_Customers];
GO
ALTER TABLE [dbo].[Orders] SET (LOCK_ESCALATION = AUTO);
GO
EXECUTE sp_refreshsqlmodule N'[dbo].[vOrders]';
GO
EXECUTE sp_addextendedproperty @name = N'MS_Description', @value = N'Orders', @level0type = N'SCHEMA', @level0name = N'dbo', @level1type = N'TABLE', @level1name = N'Orders';
GO
IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'app_user')
    CREATE USER [app_user] FOR LOGIN [app_login] WITH DEFAULT_SCHEMA = [dbo];
GO
ALTER ROLE [db_datareader] ADD MEMBER [app_user];
GO
EXECUTE sp_addrolemember @rolename = N'db_datawriter', @membername = N'app_user';
GO
GRANT EXECUTE ON SCHEMA::[dbo] TO [app_user];
GO
DECLARE @VarDecimalSupported AS BIT;
SELECT @VarDecimalSupported = 0;
IF ((ServerProperty(N'EngineEdition') = 3) AND (((@@microsoftversion / power(2, 24) = 9) AND (@@microsoftversion & 0xffff >= 3024)) OR ((@@microsoftversion / power(2, 24) = 10) AND (@@microsoftversion & 0xffff >= 1600))))
    SELECT @VarDecimalSupported = 1;
IF (@VarDecimalSupported > 0)
    EXECUTE sp_db_vardecimal_storage_format N'$(DatabaseName)', 'ON';
GO
IF fulltextserviceproperty(N'IsFulltextInstalled') = 1
    EXECUTE sp_fulltext_database 'enable';
GO
ALTER DATABASE [$(DatabaseName)] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
GO
ALTER TABLE [dbo].[Orders] ENABLE CHANGE_TRACKING WITH (TRACK_COLUMNS_UPDATED = ON);
GO
EXEC sys.sp_cdc_enable_db;
GO
EXEC sys.sp_cdc_enable_table @source_schema = N'dbo', @source_name = N'Orders', @role_name = NULL;
GO
CREATE STATISTICS [ST_Orders_Date] ON [dbo].[Orders]([OrderDate]) WITH NORECOMPUTE;
GO
DECLARE @cnt int = (SELECT COUNT(*) FROM sys.tables);
RAISERROR (N'Deployed %d tables', 0, 1, @cnt) WITH NOWAIT;
GO 2
