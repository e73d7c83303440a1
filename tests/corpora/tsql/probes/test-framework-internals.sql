-- Probe: what a unit-test framework does internally: fake tables and
-- procedures, assertions over result sets, metadata lookups, spies and
-- dynamic SQL built from catalog data.
CREATE SCHEMA UnitTest AUTHORIZATION dbo;
GO
CREATE PROCEDURE UnitTest.FakeTable
    @TableName nvarchar(max),
    @SchemaName nvarchar(max) = NULL,
    @Identity bit = 0
AS
BEGIN
    DECLARE @OrigName sysname = @TableName + N'_orig';
    DECLARE @Cmd nvarchar(max);
    EXEC sp_rename @TableName, @OrigName, 'OBJECT';
    SELECT @Cmd = N'SELECT * INTO ' + @TableName + N' FROM ' + @OrigName + N' WHERE 1 = 0;';
    EXEC (@Cmd);
    IF @Identity = 1
        SELECT IDENT_SEED(@OrigName), IDENT_INCR(@OrigName);
    SELECT c.name, TYPE_NAME(c.user_type_id), c.max_length,
           COLUMNPROPERTY(c.object_id, c.name, 'IsIdentity') AS is_identity,
           COLUMNPROPERTY(c.object_id, c.name, 'IsComputed') AS is_computed
      FROM sys.columns AS c
     WHERE c.object_id = OBJECT_ID(@OrigName);
    SELECT cc.definition FROM sys.computed_columns AS cc WHERE cc.object_id = OBJECT_ID(@OrigName);
    SELECT dc.definition FROM sys.default_constraints AS dc WHERE dc.parent_object_id = OBJECT_ID(@OrigName);
    EXEC sys.sp_addextendedproperty
        @name = N'UnitTest.FakeTable_OrgTableName',
        @value = @OrigName,
        @level0type = N'SCHEMA', @level0name = @SchemaName,
        @level1type = N'TABLE', @level1name = @TableName;
END
GO
CREATE PROCEDURE UnitTest.SpyProcedure
    @ProcedureName nvarchar(max)
AS
BEGIN
    DECLARE @Params nvarchar(max) = N'';
    SELECT @Params = @Params + p.name + N' ' + TYPE_NAME(p.user_type_id) + N','
      FROM sys.parameters AS p
     WHERE p.object_id = OBJECT_ID(@ProcedureName)
     ORDER BY p.parameter_id;
    SELECT @Params = STUFF((SELECT N',' + p.name
                              FROM sys.parameters AS p
                             WHERE p.object_id = OBJECT_ID(@ProcedureName)
                               FOR XML PATH(''), TYPE).value('.', 'nvarchar(max)'), 1, 1, N'');
    SELECT * FROM sys.dm_exec_describe_first_result_set(N'SELECT 1 AS a', NULL, 0);
    SELECT * FROM sys.dm_exec_describe_first_result_set_for_object(OBJECT_ID(@ProcedureName), 0);
    SELECT OBJECT_NAME(@@PROCID) AS me, @@NESTLEVEL AS nest;
    SELECT OBJECT_DEFINITION(OBJECT_ID(@ProcedureName)) AS body;
    SELECT m.definition FROM sys.sql_modules AS m WHERE m.object_id = OBJECT_ID(@ProcedureName);
    SELECT * FROM sys.procedures WHERE name = @ProcedureName;
    EXEC sp_refreshsqlmodule @ProcedureName;
    EXEC sys.sp_recompile @ProcedureName;
    ALTER SCHEMA UnitTest TRANSFER dbo.Orders;
    ALTER SCHEMA UnitTest TRANSFER OBJECT::dbo.usp_Old;
    ALTER SCHEMA UnitTest TRANSFER TYPE::dbo.Phone;
    CREATE SYNONYM UnitTest.OrdersAlias FOR dbo.Orders;
    DROP SYNONYM UnitTest.OrdersAlias;
END
GO
CREATE PROCEDURE UnitTest.AssertEqualsTable
    @Expected nvarchar(max),
    @Actual nvarchar(max)
AS
BEGIN
    DECLARE @Cmd nvarchar(max);
    DECLARE @TranName char(32) = REPLACE(CAST(NEWID() AS char(36)), '-', '');
    SAVE TRANSACTION @TranName;
    BEGIN TRY
        SET @Cmd = N'SELECT * INTO #Diff FROM (SELECT * FROM ' + @Expected
                 + N' EXCEPT SELECT * FROM ' + @Actual + N') AS d;';
        EXEC sp_executesql @Cmd;
        IF @@ROWCOUNT > 0
            RAISERROR('Tables differ: %s vs %s', 16, 10, @Expected, @Actual);
    END TRY
    BEGIN CATCH
        IF XACT_STATE() = -1
            ROLLBACK;
        ELSE IF @@TRANCOUNT > 0
            ROLLBACK TRANSACTION @TranName;
        DECLARE @Msg nvarchar(4000) = ERROR_MESSAGE(), @Sev int = ERROR_SEVERITY();
        RAISERROR(@Msg, @Sev, 1) WITH NOWAIT;
    END CATCH
END
GO
CREATE PROCEDURE UnitTest.Run
    @TestName nvarchar(max)
AS
BEGIN
    DECLARE @Start datetime2 = SYSDATETIME();
    DECLARE @Ctx varbinary(128) = CAST(N'UnitTest' AS varbinary(128));
    SET CONTEXT_INFO @Ctx;
    EXEC sp_set_session_context N'UnitTest.Running', 1, @read_only = 1;
    BEGIN TRAN;
    SAVE TRAN RunTest;
    EXEC @TestName;
    IF @@TRANCOUNT > 0 ROLLBACK TRAN RunTest;
    IF @@TRANCOUNT > 0 COMMIT TRAN;
    INSERT INTO UnitTest.Results (name, ms)
    VALUES (@TestName, DATEDIFF(ms, @Start, SYSDATETIME()));
    SELECT * FROM sys.dm_tran_current_transaction;
    SELECT transaction_id FROM sys.dm_tran_active_transactions;
    SELECT CURRENT_TRANSACTION_ID();
    SELECT @@SERVERNAME, @@SERVICENAME, @@VERSION, @@LANGUAGE, @@MAX_CONNECTIONS, @@LOCK_TIMEOUT;
    SELECT @@OPTIONS & 512 AS no_count, @@DATEFIRST, @@TEXTSIZE, @@REMSERVER, @@MICROSOFTVERSION;
    SELECT @@DEF_SORTORDER_ID, @@DEFAULT_LANGID, @@MAX_PRECISION, @@NESTLEVEL, @@PROCID;
    EXEC sp_getapplock @Resource = N'UnitTest', @LockMode = 'Exclusive';
    EXEC tSQLt.AssertEquals 1, 1;
END
GO
CREATE ASSEMBLY UnitTestCLR AUTHORIZATION dbo FROM 0x4D5A900003 WITH PERMISSION_SET = EXTERNAL_ACCESS;
GO
ALTER ASSEMBLY UnitTestCLR WITH PERMISSION_SET = SAFE;
GO
CREATE PROCEDURE UnitTest.CaptureOutput @command nvarchar(max)
AS EXTERNAL NAME UnitTestCLR.[UnitTest.StoredProcedures].CaptureOutput;
GO
CREATE FUNCTION UnitTest.Info()
RETURNS TABLE
AS
RETURN SELECT CAST(SERVERPROPERTY('ProductVersion') AS nvarchar(128)) AS version,
              CAST(SERVERPROPERTY('Edition') AS nvarchar(128)) AS edition,
              (SELECT clr_name FROM sys.assemblies WHERE name = 'UnitTestCLR') AS clr,
              (SELECT value_in_use FROM sys.configurations WHERE name = 'clr enabled') AS clr_enabled;
GO
CREATE CERTIFICATE UnitTestSigningCert ENCRYPTION BY PASSWORD = 'x' WITH SUBJECT = 'UnitTest';
ADD SIGNATURE TO UnitTest.Run BY CERTIFICATE UnitTestSigningCert WITH PASSWORD = 'x';
CREATE LOGIN UnitTestLogin FROM CERTIFICATE UnitTestSigningCert;
GRANT EXTERNAL ACCESS ASSEMBLY TO UnitTestLogin;
GRANT UNSAFE ASSEMBLY TO UnitTestLogin;
GRANT AUTHENTICATE SERVER TO UnitTestLogin;
GRANT CONTROL SERVER TO UnitTestLogin;
GRANT IMPERSONATE ON USER::dbo TO UnitTestUser;
GRANT EXECUTE ON SCHEMA::UnitTest TO PUBLIC;
GRANT SELECT ON SCHEMA::UnitTest TO PUBLIC;
GRANT REFERENCES ON TYPE::dbo.Phone TO PUBLIC;
GRANT EXECUTE ON TYPE::dbo.IdList TO PUBLIC;
GRANT VIEW DEFINITION ON SCHEMA::UnitTest TO PUBLIC;
GRANT ALTER ON SCHEMA::UnitTest TO UnitTestUser;
GRANT CREATE PROCEDURE TO UnitTestUser;
GRANT SHOWPLAN TO UnitTestUser;
GRANT ALTER TRACE TO UnitTestLogin;
GRANT CONNECT SQL TO UnitTestLogin;
GRANT ADMINISTER BULK OPERATIONS TO UnitTestLogin;
GRANT SELECT ON dbo.Orders (id, name) TO UnitTestUser;
GRANT SELECT ON OBJECT::dbo.Orders TO UnitTestUser WITH GRANT OPTION;
DENY DELETE ON dbo.Orders TO UnitTestUser CASCADE;
REVOKE EXECUTE ON SCHEMA::UnitTest FROM PUBLIC;
REVOKE CONNECT FROM guest;
GRANT CONNECT TO guest;
GRANT EXECUTE ON XML SCHEMA COLLECTION::dbo.OrderSchema TO PUBLIC;
GRANT RECEIVE ON dbo.RequestQueue TO UnitTestUser;
GRANT SEND ON SERVICE::[//app/Service] TO UnitTestUser;
GRANT CONTROL ON CERTIFICATE::UnitTestSigningCert TO UnitTestUser;
GRANT TAKE OWNERSHIP ON dbo.Orders TO UnitTestUser;
GO
