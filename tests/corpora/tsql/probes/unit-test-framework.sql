IF NOT EXISTS (SELECT 1 FROM sys.schemas WHERE name = 'UnitTests') EXEC ('CREATE SCHEMA UnitTests AUTHORIZATION dbo');
GO
EXEC sp_addextendedproperty @name = N'Framework.TestClass', @value = 1, @level0type = 'SCHEMA', @level0name = 'UnitTests';
GO
CREATE PROCEDURE UnitTests.[test that totals add up]
AS
BEGIN
    DECLARE @expected int = 3, @actual int;
    SELECT @actual = SUM(a) FROM dbo.t;
    IF @actual <> @expected
        RAISERROR ('Expected %d but was %d', 16, 10, @expected, @actual);
END;
GO
CREATE PROCEDURE dbo.FakeTable @TableName nvarchar(max), @SchemaName nvarchar(max) = NULL
AS
BEGIN
    DECLARE @NewName sysname = 'dbo.' + @TableName + '_' + REPLACE(CAST(NEWID() AS nvarchar(36)), '-', '');
    EXEC sp_rename @TableName, @NewName, 'OBJECT';
    DECLARE @cmd nvarchar(max) = N'SELECT * INTO ' + QUOTENAME(@TableName) + N' FROM ' + @NewName + N' WHERE 1 = 0;';
    EXEC (@cmd);
    EXEC sys.sp_addextendedproperty @name = N'Framework.FakeTable_OrgTableName', @value = @NewName, @level0type = N'SCHEMA', @level0name = N'dbo', @level1type = N'TABLE', @level1name = @TableName;
END;
GO
CREATE FUNCTION dbo.Private_GetOriginalTableName (@SchemaName nvarchar(max), @TableName nvarchar(max))
RETURNS nvarchar(max)
AS
BEGIN
    RETURN (SELECT CAST(value AS nvarchar(4000)) FROM sys.extended_properties WHERE class_desc = 'OBJECT_OR_COLUMN' AND major_id = OBJECT_ID(@SchemaName + '.' + @TableName) AND name = 'Framework.FakeTable_OrgTableName');
END;
GO
CREATE FUNCTION dbo.Private_ColumnDefinitions (@ObjectId int)
RETURNS TABLE
AS
RETURN
SELECT c.name, TYPE_NAME(c.user_type_id) AS type_name, c.max_length, c.is_nullable,
       COLUMNPROPERTY(c.object_id, c.name, 'IsIdentity') AS is_identity,
       IDENT_SEED(OBJECT_NAME(c.object_id)) AS seed, IDENT_INCR(OBJECT_NAME(c.object_id)) AS incr,
       cc.definition AS computed, dc.definition AS default_value
FROM sys.columns AS c
LEFT JOIN sys.computed_columns AS cc ON cc.object_id = c.object_id AND cc.column_id = c.column_id
LEFT JOIN sys.default_constraints AS dc ON dc.parent_object_id = c.object_id AND dc.parent_column_id = c.column_id
WHERE c.object_id = @ObjectId;
GO
CREATE PROCEDURE dbo.Private_RunTest @TestName nvarchar(max)
AS
BEGIN
    DECLARE @TranName char(32) = REPLACE(CAST(NEWID() AS char(36)), '-', '');
    DECLARE @Msg nvarchar(max), @Result nvarchar(max) = 'Success';
    BEGIN TRAN;
    SAVE TRAN @TranName;
    BEGIN TRY
        EXEC (@TestName);
    END TRY
    BEGIN CATCH
        SET @Result = CASE WHEN ERROR_MESSAGE() LIKE '%Failure%' THEN 'Failure' ELSE 'Error' END;
        SET @Msg = ERROR_MESSAGE() + ' [' + ISNULL(ERROR_PROCEDURE(), '') + ',' + CAST(ERROR_LINE() AS nvarchar(10)) + ']';
    END CATCH;
    IF XACT_STATE() = -1 OR @@TRANCOUNT = 0
        ROLLBACK;
    ELSE
        ROLLBACK TRAN @TranName;
    IF @@TRANCOUNT > 0 COMMIT;
    INSERT INTO dbo.TestResult (Name, Result, Msg) VALUES (@TestName, @Result, @Msg);
END;
GO
CREATE PROCEDURE dbo.AssertEqualsTable @Expected nvarchar(max), @Actual nvarchar(max)
AS
BEGIN
    DECLARE @cmd nvarchar(max);
    SET @cmd = N'SELECT ''<'' AS _m_, * INTO #diff FROM (SELECT * FROM ' + @Expected + N' EXCEPT SELECT * FROM ' + @Actual + N') AS x;';
    EXEC sp_executesql @cmd;
    DECLARE @rows int;
    EXEC sp_executesql N'SELECT @r = COUNT(*) FROM ' , N'@r int OUTPUT', @r = @rows OUTPUT;
    IF @rows > 0 RAISERROR ('Tables differ', 16, 10);
END;
GO
CREATE PROCEDURE dbo.SpyProcedure @ProcedureName nvarchar(max), @CommandToExecute nvarchar(max) = NULL
AS
BEGIN
    DECLARE @LogTable nvarchar(max) = @ProcedureName + '_SpyProcedureLog';
    DECLARE @def nvarchar(max) = OBJECT_DEFINITION(OBJECT_ID(@ProcedureName));
    DECLARE @params nvarchar(max) = STUFF((SELECT ',' + name + ' ' + TYPE_NAME(user_type_id) FROM sys.parameters WHERE object_id = OBJECT_ID(@ProcedureName) ORDER BY parameter_id FOR XML PATH('')), 1, 1, '');
    EXEC ('CREATE TABLE ' + @LogTable + ' (_id_ int IDENTITY(1,1) PRIMARY KEY CLUSTERED, ' + @params + ')');
    EXEC ('DROP PROCEDURE ' + @ProcedureName);
END;
GO
CREATE TABLE dbo.TestResult (Id int IDENTITY(1, 1) PRIMARY KEY CLUSTERED, Class nvarchar(max), TestCase nvarchar(max), Name AS (QUOTENAME(Class) + '.' + QUOTENAME(TestCase)), TranName nvarchar(max), Result nvarchar(max), Msg nvarchar(max), TestStartTime datetime2 NOT NULL CONSTRAINT DF_TestResult_Start DEFAULT SYSDATETIME(), TestEndTime datetime2 NULL);
GO
CREATE VIEW dbo.TestClasses AS SELECT s.name AS Name, s.schema_id AS SchemaId FROM sys.extended_properties AS ep JOIN sys.schemas AS s ON ep.major_id = s.schema_id WHERE ep.name = N'Framework.TestClass';
GO
CREATE PROCEDURE dbo.ApplyConstraint @TableName nvarchar(max), @ConstraintName nvarchar(max)
AS
BEGIN
    DECLARE @cmd nvarchar(max);
    SELECT @cmd = 'ALTER TABLE ' + QUOTENAME(OBJECT_SCHEMA_NAME(parent_object_id)) + '.' + QUOTENAME(OBJECT_NAME(parent_object_id)) + ' ADD CONSTRAINT ' + QUOTENAME(name) + ' CHECK ' + definition
    FROM sys.check_constraints WHERE name = @ConstraintName;
    EXEC (@cmd);
    SELECT @cmd = 'ALTER TABLE ' + @TableName + ' ADD CONSTRAINT ' + fk.name + ' FOREIGN KEY (' + COL_NAME(fkc.parent_object_id, fkc.parent_column_id) + ') REFERENCES ' + OBJECT_NAME(fk.referenced_object_id) + '(' + COL_NAME(fkc.referenced_object_id, fkc.referenced_column_id) + ')'
    FROM sys.foreign_keys AS fk JOIN sys.foreign_key_columns AS fkc ON fkc.constraint_object_id = fk.object_id WHERE fk.name = @ConstraintName;
    EXEC (@cmd);
END;
GO
CREATE PROCEDURE dbo.FakeFunction @FunctionName nvarchar(max), @FakeFunctionName nvarchar(max)
AS
BEGIN
    DECLARE @type char(2) = (SELECT type FROM sys.objects WHERE object_id = OBJECT_ID(@FunctionName));
    IF @type IN ('FN', 'FS') EXEC ('CREATE FUNCTION ' + @FunctionName + '() RETURNS int AS BEGIN RETURN 0; END;');
    IF @type IN ('IF', 'TF', 'FT') EXEC ('CREATE FUNCTION ' + @FunctionName + '() RETURNS TABLE AS RETURN SELECT * FROM ' + @FakeFunctionName + '();');
END;
GO
CREATE PROCEDURE dbo.RemoveObjectIfExists @ObjectName nvarchar(max)
AS
BEGIN
    DECLARE @newName nvarchar(max) = 'dbo.renamed_' + CONVERT(nvarchar(36), NEWID());
    IF OBJECT_ID(@ObjectName) IS NOT NULL EXEC sp_rename @ObjectName, @newName;
END;
GO
CREATE PROCEDURE dbo.ExpectException @ExpectedMessage nvarchar(max) = NULL, @ExpectedSeverity int = NULL, @ExpectedState int = NULL, @ExpectedErrorNumber int = NULL
AS
BEGIN
    IF EXISTS (SELECT 1 FROM #ExpectException) RAISERROR ('Each test can only contain one call to ExpectException.', 16, 10);
    INSERT INTO #ExpectException VALUES (@ExpectedMessage, @ExpectedSeverity, @ExpectedState, @ExpectedErrorNumber);
END;
GO
CREATE PROCEDURE dbo.Info AS SELECT SERVERPROPERTY('ProductVersion') AS v, SERVERPROPERTY('Edition') AS e, @@VERSION AS full_version, CAST(SERVERPROPERTY('ProductMajorVersion') AS int) AS major;
GO
CREATE PROCEDURE dbo.ResultSetFilter @ResultsetNo int, @Command nvarchar(max)
AS
BEGIN
    DECLARE @t TABLE (a int);
    INSERT INTO @t EXEC (@Command);
    SELECT * FROM @t;
END;
GO
CREATE ASSEMBLY FrameworkCLR FROM 0x4D5A90000300000004000000FFFF0000 WITH PERMISSION_SET = EXTERNAL_ACCESS;
GO
CREATE PROCEDURE dbo.ResultSetFilterClr @ResultsetNo int, @Command nvarchar(max) AS EXTERNAL NAME FrameworkCLR.[Framework.StoredProcedures].ResultSetFilter;
GO
CREATE FUNCTION dbo.InfoClr() RETURNS nvarchar(max) AS EXTERNAL NAME FrameworkCLR.[Framework.Functions].Info;
GO
CREATE TYPE dbo.Private_Seize FROM bit NOT NULL;
GO
CREATE TABLE dbo.Private_Seize_t (Kaput dbo.Private_Seize NULL CONSTRAINT CK_Kaput CHECK (Kaput = 1));
GO
CREATE TRIGGER dbo.Private_Seize_NoTruncate ON dbo.Private_Seize_t FOR DELETE AS BEGIN RAISERROR ('This is a private table that you should not mess with!', 16, 10); END;
GO
EXEC sp_configure 'clr enabled', 1;
RECONFIGURE;
GO
ALTER DATABASE CURRENT SET TRUSTWORTHY ON;
GO
DECLARE @sql nvarchar(max) = N'';
SELECT @sql = @sql + N'EXEC ' + QUOTENAME(SCHEMA_NAME(schema_id)) + N'.' + QUOTENAME(name) + N';' FROM sys.procedures WHERE name LIKE 'test%';
EXEC (@sql);
GO
SELECT OBJECTPROPERTY(OBJECT_ID('dbo.t'), 'IsUserTable'), OBJECTPROPERTYEX(OBJECT_ID('dbo.t'), 'BaseType'), TYPEPROPERTY('dbo.Private_Seize', 'AllowsNull');
GO
SELECT name FROM sys.objects WHERE OBJECTPROPERTY(object_id, 'IsProcedure') = 1 AND SCHEMA_NAME(schema_id) = 'UnitTests';
GO
SELECT HASHBYTES('SHA2_256', CAST(a AS nvarchar(max))) FROM dbo.t;
GO
CREATE PROCEDURE dbo.NewConnection @command nvarchar(max) AS EXTERNAL NAME FrameworkCLR.[Framework.StoredProcedures].NewConnection;
GO
SELECT * FROM sys.assemblies WHERE name = 'FrameworkCLR';
GO
SELECT clr_name, permission_set_desc FROM sys.assemblies;
GO
DROP ASSEMBLY FrameworkCLR;
GO
