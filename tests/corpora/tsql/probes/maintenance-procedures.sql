-- Probe: a maintenance solution's procedures (command runner with logging, index and statistics
-- maintenance, DBCC checks, backups with cleanup), written for differential testing against Compass.
SET ANSI_NULLS ON
GO
SET QUOTED_IDENTIFIER ON
GO
IF NOT EXISTS (SELECT * FROM sys.objects WHERE object_id = OBJECT_ID(N'[dbo].[CommandLog]') AND type in (N'U'))
BEGIN
CREATE TABLE [dbo].[CommandLog](
  [ID] [int] IDENTITY(1,1) NOT NULL,
  [DatabaseName] [sysname] NULL,
  [SchemaName] [sysname] NULL,
  [ObjectName] [sysname] NULL,
  [ObjectType] [char](2) NULL,
  [IndexName] [sysname] NULL,
  [IndexType] [tinyint] NULL,
  [StatisticsName] [sysname] NULL,
  [PartitionNumber] [int] NULL,
  [ExtendedInfo] [xml] NULL,
  [Command] [nvarchar](max) NOT NULL,
  [CommandType] [nvarchar](60) NOT NULL,
  [StartTime] [datetime2](7) NOT NULL,
  [EndTime] [datetime2](7) NULL,
  [ErrorNumber] [int] NULL,
  [ErrorMessage] [nvarchar](max) NULL,
 CONSTRAINT [PK_CommandLog] PRIMARY KEY CLUSTERED
(
  [ID] ASC
)WITH (PAD_INDEX = OFF, STATISTICS_NORECOMPUTE = OFF, IGNORE_DUP_KEY = OFF, ALLOW_ROW_LOCKS = ON, ALLOW_PAGE_LOCKS = ON)
)
END
GO
CREATE OR ALTER PROCEDURE [dbo].[CommandExecute]
@DatabaseContext nvarchar(max),
@Command nvarchar(max),
@CommandType nvarchar(max),
@Mode int,
@Comment nvarchar(max) = NULL,
@DatabaseName nvarchar(max) = NULL,
@LockMessageSeverity int = 16,
@ExecuteAsUser nvarchar(max) = NULL,
@LogToTable nvarchar(max),
@Execute nvarchar(max)
AS
BEGIN
  SET NOCOUNT ON
  DECLARE @StartMessage nvarchar(max)
  DECLARE @EndMessage nvarchar(max)
  DECLARE @ErrorMessage nvarchar(max)
  DECLARE @ErrorMessageOriginal nvarchar(max)
  DECLARE @Severity int
  DECLARE @Errors TABLE (ID int IDENTITY PRIMARY KEY,
                         [Message] nvarchar(max) NOT NULL,
                         Severity int NOT NULL,
                         [State] int)
  DECLARE @CurrentMessage nvarchar(max)
  DECLARE @CurrentSeverity int
  DECLARE @CurrentState int
  DECLARE @sp_executesql nvarchar(max) = QUOTENAME(@DatabaseContext) + '.sys.sp_executesql'
  DECLARE @StartTime datetime2
  DECLARE @EndTime datetime2
  DECLARE @ID int
  DECLARE @Error int = 0
  DECLARE @ReturnCode int = 0
  DECLARE @EmptyLine nvarchar(max) = CHAR(9)
  DECLARE @RevertCommand nvarchar(max)

  IF NOT (SELECT [compatibility_level] FROM sys.databases WHERE database_id = DB_ID()) >= 90
  BEGIN
    INSERT INTO @Errors ([Message], Severity, [State])
    SELECT 'The database ' + QUOTENAME(DB_NAME(DB_ID())) + ' has to be in compatibility level 90 or higher.', 16, 1
  END

  IF @LogToTable = 'Y' AND NOT EXISTS (SELECT * FROM sys.objects objects INNER JOIN sys.schemas schemas ON objects.[schema_id] = schemas.[schema_id] WHERE objects.[type] = 'U' AND schemas.[name] = 'dbo' AND objects.[name] = 'CommandLog')
  BEGIN
    INSERT INTO @Errors ([Message], Severity, [State])
    SELECT 'The table CommandLog is missing.', 16, 2
  END

  IF EXISTS (SELECT * FROM @Errors)
  BEGIN
    DECLARE ErrorCursor CURSOR FAST_FORWARD FOR SELECT [Message], Severity, [State] FROM @Errors ORDER BY [ID] ASC
    OPEN ErrorCursor
    FETCH ErrorCursor INTO @CurrentMessage, @CurrentSeverity, @CurrentState
    WHILE @@FETCH_STATUS = 0
    BEGIN
      RAISERROR('%s', @CurrentSeverity, @CurrentState, @CurrentMessage) WITH NOWAIT
      RAISERROR(@EmptyLine, 10, 1) WITH NOWAIT
      FETCH NEXT FROM ErrorCursor INTO @CurrentMessage, @CurrentSeverity, @CurrentState
    END
    CLOSE ErrorCursor
    DEALLOCATE ErrorCursor
    SET @ReturnCode = 50000
    GOTO ReturnCode
  END

  SET @StartTime = SYSDATETIME()
  SET @StartMessage = 'Date and time: ' + CONVERT(nvarchar,@StartTime,120)
  RAISERROR('%s',10,1,@StartMessage) WITH NOWAIT

  IF @ExecuteAsUser IS NOT NULL
  BEGIN
    SET @Command = 'EXECUTE AS USER = ''' + REPLACE(@ExecuteAsUser,'''','''''') + '''; ' + @Command + '; REVERT;'
    SET @RevertCommand = 'REVERT'
  END

  IF @LogToTable = 'Y'
  BEGIN
    INSERT INTO dbo.CommandLog (DatabaseName, Command, CommandType, StartTime)
    VALUES (@DatabaseName, @Command, @CommandType, @StartTime)
  END
  SET @ID = SCOPE_IDENTITY()

  IF @Mode = 1 AND @Execute = 'Y'
  BEGIN
    EXECUTE @sp_executesql @stmt = @Command
    SET @Error = @@ERROR
    SET @ReturnCode = @Error
  END

  IF @Mode = 2 AND @Execute = 'Y'
  BEGIN
    BEGIN TRY
      EXECUTE @sp_executesql @stmt = @Command
    END TRY
    BEGIN CATCH
      SET @Error = ERROR_NUMBER()
      SET @ErrorMessageOriginal = ERROR_MESSAGE()
      SET @ErrorMessage = 'Msg ' + CAST(ERROR_NUMBER() AS nvarchar) + ', ' + ISNULL(ERROR_MESSAGE(),'')
      SET @Severity = CASE WHEN ERROR_NUMBER() IN(1205,1222) THEN @LockMessageSeverity ELSE 16 END
      RAISERROR('%s',@Severity,1,@ErrorMessage) WITH NOWAIT
      IF NOT (ERROR_NUMBER() IN(1205,1222) AND @LockMessageSeverity = 10)
      BEGIN
        SET @ReturnCode = ERROR_NUMBER()
      END
      IF @ExecuteAsUser IS NOT NULL
      BEGIN
        EXECUTE @sp_executesql @RevertCommand
      END
    END CATCH
  END

  SET @EndTime = SYSDATETIME()
  IF @LogToTable = 'Y'
  BEGIN
    UPDATE dbo.CommandLog
    SET EndTime = @EndTime,
        ErrorNumber = CASE WHEN @Execute = 'N' THEN NULL ELSE @Error END,
        ErrorMessage = @ErrorMessageOriginal
    WHERE ID = @ID
  END

  ReturnCode:
  IF @ReturnCode <> 0
  BEGIN
    RETURN @ReturnCode
  END
END
GO
CREATE OR ALTER PROCEDURE dbo.IndexMaint
  @Databases nvarchar(max),
  @FragmentationLevel1 int = 5,
  @FragmentationLevel2 int = 30,
  @MaxDOP int = NULL,
  @TimeLimit int = NULL,
  @WaitAtLowPriorityMaxDuration int = NULL,
  @Resumable nvarchar(max) = 'N'
AS
BEGIN
  SET NOCOUNT ON
  SET ARITHABORT ON
  SET NUMERIC_ROUNDABORT OFF
  DECLARE @Version numeric(18,10) = CAST(LEFT(CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(max)),CHARINDEX('.',CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(max))) - 1) + '.' + REPLACE(RIGHT(CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(max)), LEN(CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(max))) - CHARINDEX('.',CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(max)))),'.','') AS numeric(18,10))
  DECLARE @HostPlatform nvarchar(max)
  DECLARE @AmazonRDS bit
  DECLARE @CurrentDatabaseName nvarchar(max)
  DECLARE @CurrentIsDatabaseAccessible bit
  DECLARE @CurrentAvailabilityGroup nvarchar(max)
  DECLARE @CurrentAvailabilityGroupRole nvarchar(max)
  DECLARE @CurrentDatabaseMirroringRole nvarchar(max)
  DECLARE @CurrentCommand nvarchar(max)
  DECLARE @CurrentFragmentationLevel float
  DECLARE @CurrentPageCount bigint
  DECLARE @CurrentObjectID int, @CurrentIndexID int, @CurrentPartitionNumber int
  DECLARE @tmpDatabases TABLE (ID int IDENTITY,
                               DatabaseName nvarchar(max),
                               DatabaseType nvarchar(max),
                               AvailabilityGroup bit,
                               StartPosition int,
                               [Order] int,
                               Selected bit,
                               Completed bit,
                               PRIMARY KEY(Selected, Completed, [Order], ID))

  IF @Version >= 14
  BEGIN
    SELECT @HostPlatform = host_platform
    FROM sys.dm_os_host_info
  END
  ELSE
  BEGIN
    SET @HostPlatform = 'Windows'
  END

  SET @AmazonRDS = CASE WHEN SERVERPROPERTY('EngineEdition') IN (5, 8) THEN 0 WHEN EXISTS (SELECT * FROM sys.databases WHERE [name] = 'rdsadmin') AND SUSER_SNAME(0x01) = 'rdsa' THEN 1 ELSE 0 END

  INSERT INTO @tmpDatabases (DatabaseName, DatabaseType, AvailabilityGroup, [Order], Selected, Completed)
  SELECT [name] AS DatabaseName,
         CASE WHEN name IN('master','msdb','model') OR is_distributor = 1 THEN 'S' ELSE 'U' END AS DatabaseType,
         NULL AS AvailabilityGroup,
         0 AS [Order],
         0 AS Selected,
         0 AS Completed
  FROM sys.databases
  WHERE [name] <> 'tempdb'
  AND source_database_id IS NULL
  ORDER BY [name] ASC

  UPDATE tmpDatabases
  SET tmpDatabases.Selected = SelectedDatabases.Selected
  FROM @tmpDatabases tmpDatabases
  INNER JOIN (SELECT value AS DatabaseName, 1 AS Selected FROM STRING_SPLIT(@Databases, ',')) SelectedDatabases
  ON tmpDatabases.DatabaseName LIKE REPLACE(SelectedDatabases.DatabaseName,'_','[_]')

  ;WITH tmpDatabases AS (
  SELECT DatabaseName, [Order], ROW_NUMBER() OVER (ORDER BY StartPosition ASC, DatabaseName ASC) AS RowNumber
  FROM @tmpDatabases tmpDatabases
  WHERE Selected = 1
  )
  UPDATE tmpDatabases
  SET [Order] = RowNumber

  WHILE (1 = 1)
  BEGIN
    SELECT TOP 1 @CurrentDatabaseName = DatabaseName
    FROM @tmpDatabases
    WHERE Selected = 1
    AND Completed = 0
    ORDER BY [Order] ASC

    IF @@ROWCOUNT = 0
    BEGIN
      BREAK
    END

    IF DATABASEPROPERTYEX(@CurrentDatabaseName,'Status') = 'ONLINE' AND SERVERPROPERTY('EngineEdition') <> 5
    BEGIN
      IF EXISTS (SELECT * FROM sys.database_recovery_status WHERE database_id = DB_ID(@CurrentDatabaseName) AND database_guid IS NOT NULL)
      BEGIN
        SET @CurrentIsDatabaseAccessible = 1
      END
      ELSE
      BEGIN
        SET @CurrentIsDatabaseAccessible = 0
      END
    END

    IF @Version >= 11 AND SERVERPROPERTY('IsHadrEnabled') = 1
    BEGIN
      SELECT @CurrentAvailabilityGroup = availability_groups.name,
             @CurrentAvailabilityGroupRole = dm_hadr_availability_replica_states.role_desc
      FROM sys.databases databases
      INNER JOIN sys.availability_databases_cluster availability_databases_cluster ON databases.group_database_id = availability_databases_cluster.group_database_id
      INNER JOIN sys.availability_groups availability_groups ON availability_databases_cluster.group_id = availability_groups.group_id
      INNER JOIN sys.dm_hadr_availability_replica_states dm_hadr_availability_replica_states ON availability_groups.group_id = dm_hadr_availability_replica_states.group_id AND databases.replica_id = dm_hadr_availability_replica_states.replica_id
      WHERE databases.name = @CurrentDatabaseName
    END

    SELECT @CurrentDatabaseMirroringRole = UPPER(mirroring_role_desc)
    FROM sys.database_mirroring
    WHERE database_id = DB_ID(@CurrentDatabaseName)

    SET @CurrentCommand = 'SELECT @ParamFragmentationLevel = MAX(avg_fragmentation_in_percent), @ParamPageCount = SUM(page_count) FROM sys.dm_db_index_physical_stats(DB_ID(@ParamDatabaseName), @ParamObjectID, @ParamIndexID, @ParamPartitionNumber, ''LIMITED'') WHERE alloc_unit_type_desc = ''IN_ROW_DATA'' AND index_level = 0'
    BEGIN TRY
      EXECUTE sp_executesql @stmt = @CurrentCommand, @params = N'@ParamDatabaseName nvarchar(max), @ParamObjectID int, @ParamIndexID int, @ParamPartitionNumber int, @ParamFragmentationLevel float OUTPUT, @ParamPageCount bigint OUTPUT', @ParamDatabaseName = @CurrentDatabaseName, @ParamObjectID = @CurrentObjectID, @ParamIndexID = @CurrentIndexID, @ParamPartitionNumber = @CurrentPartitionNumber, @ParamFragmentationLevel = @CurrentFragmentationLevel OUTPUT, @ParamPageCount = @CurrentPageCount OUTPUT
    END TRY
    BEGIN CATCH
      IF ERROR_NUMBER() = 1222
      BEGIN
        RAISERROR('The index is locked. It could not be checked if the index is fragmented.', 16, 1) WITH NOWAIT
      END
    END CATCH

    ALTER INDEX [IX_Orders_Customer] ON [dbo].[Orders] REBUILD WITH (SORT_IN_TEMPDB = ON, ONLINE = ON (WAIT_AT_LOW_PRIORITY (MAX_DURATION = 1 MINUTES, ABORT_AFTER_WAIT = SELF)), MAXDOP = 2)
    ALTER INDEX [IX_Orders_Customer] ON [dbo].[Orders] REBUILD PARTITION = 3 WITH (RESUMABLE = ON, MAX_DURATION = 60, ONLINE = ON)
    ALTER INDEX ALL ON [dbo].[Orders] REORGANIZE
    ALTER INDEX [IX_Orders_Customer] ON [dbo].[Orders] RESUME
    UPDATE STATISTICS [dbo].[Orders] [IX_Orders_Customer] WITH SAMPLE 50 PERCENT, PERSIST_SAMPLE_PERCENT = ON
    UPDATE STATISTICS [dbo].[Orders] WITH FULLSCAN, NORECOMPUTE
    UPDATE STATISTICS [dbo].[Orders] WITH RESAMPLE ON PARTITIONS(2, 3)
    DBCC CHECKDB ([AdventureWorks]) WITH NO_INFOMSGS
    DBCC CHECKFILEGROUP ([PRIMARY]) WITH NO_INFOMSGS, PHYSICAL_ONLY
    DBCC CHECKTABLE ('dbo.Orders') WITH NO_INFOMSGS, ALL_ERRORMSGS
    DBCC CHECKALLOC ([AdventureWorks]) WITH NO_INFOMSGS
    DBCC CHECKCATALOG ([AdventureWorks]) WITH NO_INFOMSGS

    UPDATE @tmpDatabases
    SET Completed = 1
    WHERE Selected = 1
    AND Completed = 0
    AND DatabaseName = @CurrentDatabaseName
  END
END
GO
CREATE OR ALTER PROCEDURE dbo.BackupAll
  @Directory nvarchar(max) = NULL,
  @CleanupTime int = NULL,
  @URL nvarchar(max) = NULL,
  @Credential nvarchar(max) = NULL,
  @ServerCertificate nvarchar(max) = NULL
AS
BEGIN
  SET NOCOUNT ON
  DECLARE @DefaultDirectory nvarchar(4000)
  DECLARE @CurrentDirectoryPath nvarchar(max)
  DECLARE @CurrentFilePath nvarchar(max)
  DECLARE @CleanupDate datetime
  DECLARE @ReturnCode int
  DECLARE @DirectoryInfo TABLE (FileExists bit, FileIsADirectory bit, ParentDirectoryExists bit)

  EXECUTE [master].dbo.xp_instance_regread N'HKEY_LOCAL_MACHINE', N'SOFTWARE\Microsoft\MSSQLServer\MSSQLServer', N'BackupDirectory', @DefaultDirectory OUTPUT

  IF @Directory IS NULL
  BEGIN
    SELECT @Directory = CAST(SERVERPROPERTY('InstanceDefaultBackupPath') AS nvarchar(max))
  END

  INSERT INTO @DirectoryInfo (FileExists, FileIsADirectory, ParentDirectoryExists)
  EXECUTE [master].dbo.xp_fileexist @Directory

  EXECUTE @ReturnCode = [master].dbo.xp_create_subdir @CurrentDirectoryPath
  IF @ReturnCode <> 0 RAISERROR('Error creating directory.', 16, 1)

  SET @CleanupDate = DATEADD(hh,-(@CleanupTime),GETDATE())
  EXECUTE [master].dbo.xp_delete_file 0, @CurrentDirectoryPath, 'bak', @CleanupDate, 0

  BACKUP DATABASE [AdventureWorks] TO DISK = N'C:\Backup\aw.bak' WITH CHECKSUM, COMPRESSION, STATS = 10
  BACKUP DATABASE [AdventureWorks] TO URL = N'https://acct.blob.core.windows.net/backup/aw.bak'
  BACKUP LOG [AdventureWorks] TO DISK = N'C:\Backup\aw.trn' WITH NO_CHECKSUM, COPY_ONLY

  SELECT TOP 1 @CurrentFilePath = physical_device_name
  FROM msdb.dbo.backupset backupset
  INNER JOIN msdb.dbo.backupmediafamily backupmediafamily ON backupset.media_set_id = backupmediafamily.media_set_id
  WHERE backupset.database_name = DB_NAME()
  AND backupset.[type] = 'D'
  ORDER BY backupset.backup_finish_date DESC

  IF sys.fn_hadr_backup_is_preferred_replica(DB_NAME()) = 1
  BEGIN
    PRINT 'preferred'
  END
END
GO
