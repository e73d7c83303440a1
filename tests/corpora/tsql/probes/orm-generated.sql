-- Probe: T-SQL as object-relational mappers and their migration tools emit
-- it (idempotent migration scripts, batched inserts with MERGE and OUTPUT,
-- parameterised queries through sp_executesql, JSON parameter lists,
-- locking hints, session context for tenant filters).
IF OBJECT_ID(N'[__EFMigrationsHistory]') IS NULL
BEGIN
    CREATE TABLE [__EFMigrationsHistory] (
        [MigrationId] nvarchar(150) NOT NULL,
        [ProductVersion] nvarchar(32) NOT NULL,
        CONSTRAINT [PK___EFMigrationsHistory] PRIMARY KEY ([MigrationId])
    );
END;
GO
BEGIN TRANSACTION;
GO
IF NOT EXISTS(SELECT * FROM [__EFMigrationsHistory] WHERE [MigrationId] = N'20260101000000_Initial')
BEGIN
    CREATE TABLE [Blogs] (
        [Id] int NOT NULL IDENTITY,
        [Url] nvarchar(max) NULL,
        [Rating] int NOT NULL,
        [Tenant] nvarchar(64) NOT NULL DEFAULT N'',
        [PeriodStart] datetime2 GENERATED ALWAYS AS ROW START HIDDEN NOT NULL,
        [PeriodEnd] datetime2 GENERATED ALWAYS AS ROW END HIDDEN NOT NULL,
        CONSTRAINT [PK_Blogs] PRIMARY KEY ([Id]),
        PERIOD FOR SYSTEM_TIME([PeriodStart], [PeriodEnd])
    ) WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = [dbo].[BlogsHistory]));
END;
GO
IF NOT EXISTS(SELECT * FROM [__EFMigrationsHistory] WHERE [MigrationId] = N'20260201000000_Rename')
BEGIN
    DECLARE @var0 sysname;
    SELECT @var0 = [d].[name]
    FROM [sys].[default_constraints] [d]
    INNER JOIN [sys].[columns] [c] ON [d].[parent_column_id] = [c].[column_id] AND [d].[parent_object_id] = [c].[object_id]
    WHERE ([d].[parent_object_id] = OBJECT_ID(N'[Blogs]') AND [c].[name] = N'Rating');
    IF @var0 IS NOT NULL EXEC(N'ALTER TABLE [Blogs] DROP CONSTRAINT [' + @var0 + '];');
    EXEC sp_rename N'[Blogs].[Url]', N'Address', N'COLUMN';
    ALTER TABLE [Blogs] ADD [Score] AS [Rating] * 2 PERSISTED;
    INSERT INTO [__EFMigrationsHistory] ([MigrationId], [ProductVersion])
    VALUES (N'20260201000000_Rename', N'9.0.0');
END;
GO
COMMIT;
GO
SET IMPLICIT_TRANSACTIONS OFF;
SET NOCOUNT ON;
DECLARE @inserted0 TABLE ([Id] int, [_Position] [int]);
MERGE [Blogs] USING (
VALUES (@p0, @p1, 0),
(@p2, @p3, 1)) AS i ([Rating], [Tenant], _Position) ON 1=0
WHEN NOT MATCHED THEN
INSERT ([Rating], [Tenant])
VALUES (i.[Rating], i.[Tenant])
OUTPUT INSERTED.[Id], i._Position
INTO @inserted0;
SELECT [i].[Id] FROM @inserted0 i
ORDER BY [i].[_Position];
GO
exec sp_executesql N'SELECT TOP(1) [b].[Id], [b].[Address]
FROM [Blogs] AS [b] WITH (UPDLOCK, HOLDLOCK)
WHERE [b].[Rating] > @__rating_0',N'@__rating_0 int',@__rating_0=3
GO
exec sp_executesql N'SELECT [b].[Id]
FROM [Blogs] AS [b]
WHERE [b].[Id] IN (
    SELECT [i].[value]
    FROM OPENJSON(@__ids_0) WITH ([value] int ''$'') AS [i]
)
ORDER BY [b].[Id]
OFFSET @__p_1 ROWS FETCH NEXT @__p_2 ROWS ONLY',N'@__ids_0 nvarchar(4000),@__p_1 int,@__p_2 int',@__ids_0=N'[1,2,3]',@__p_1=0,@__p_2=10
GO
SELECT [b].[Id], [b].[PeriodStart]
FROM [Blogs] FOR SYSTEM_TIME AS OF '2026-01-01T00:00:00.0000000' AS [b];
GO
EXEC sys.sp_set_session_context @key = N'TenantId', @value = N'contoso', @read_only = 1;
GO
SELECT [b].[Id] FROM [Blogs] AS [b] WHERE [b].[Tenant] = CAST(SESSION_CONTEXT(N'TenantId') AS nvarchar(64));
GO
INSERT INTO [Blogs] WITH (TABLOCKX) ([Rating], [Tenant]) VALUES (1, N'x');
SELECT CAST(SCOPE_IDENTITY() AS int);
GO
SET IDENTITY_INSERT [Blogs] ON;
INSERT INTO [Blogs] ([Id], [Rating], [Tenant]) VALUES (100, 1, N'x');
SET IDENTITY_INSERT [Blogs] OFF;
DBCC CHECKIDENT (N'[Blogs]', RESEED, 100);
GO
DECLARE @result int;
EXEC @result = sp_getapplock @Resource = N'__EFMigrationsLock', @LockMode = 'Exclusive', @LockOwner = 'Session', @LockTimeout = -1;
SELECT @result;
EXEC sp_releaseapplock @Resource = N'__EFMigrationsLock', @LockOwner = 'Session';
GO
SELECT [b].[Id], JSON_VALUE([b].[Address], '$.host') AS [Host]
FROM [Blogs] AS [b]
WHERE ISJSON([b].[Address]) = 1
FOR JSON PATH, INCLUDE_NULL_VALUES, WITHOUT_ARRAY_WRAPPER;
GO
UPDATE TOP (100) [Blogs] SET [Rating] = [Rating] + 1 OUTPUT DELETED.[Rating], INSERTED.[Rating] WHERE [Rating] < 5;
GO
DELETE [b] FROM [Blogs] AS [b] WITH (READPAST, ROWLOCK) WHERE [b].[Rating] = 0;
GO
ALTER TABLE [Blogs] SET (SYSTEM_VERSIONING = OFF);
ALTER TABLE [Blogs] DROP PERIOD FOR SYSTEM_TIME;
GO
CREATE SEQUENCE [dbo].[BlogNumbers] AS bigint START WITH 1 INCREMENT BY 10;
GO
SELECT NEXT VALUE FOR [dbo].[BlogNumbers];
GO
CREATE UNIQUE INDEX [IX_Blogs_Tenant] ON [Blogs] ([Tenant]) WHERE [Tenant] IS NOT NULL WITH (ONLINE = ON);
GO
