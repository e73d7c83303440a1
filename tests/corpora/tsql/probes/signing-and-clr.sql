-- Probe: module signing, CLR registration, identity and constraint handling,
-- transaction and error helpers as test frameworks and deployment tools use them.
CREATE ASSEMBLY FrameworkClr FROM 0x4D5A90000300000004000000FFFF0000 WITH PERMISSION_SET = EXTERNAL_ACCESS;
GO
ALTER ASSEMBLY FrameworkClr WITH PERMISSION_SET = SAFE;
GO
CREATE PROCEDURE dbo.ClrCaptureOutput @command nvarchar(max) AS EXTERNAL NAME FrameworkClr.[Framework.Runner].CaptureOutput;
GO
CREATE FUNCTION dbo.ClrInfo() RETURNS nvarchar(4000) AS EXTERNAL NAME FrameworkClr.[Framework.Info].Version;
GO
CREATE CERTIFICATE FrameworkSigningCert ENCRYPTION BY PASSWORD = 'x' WITH SUBJECT = 'signing';
GO
ADD SIGNATURE TO dbo.ClrCaptureOutput BY CERTIFICATE FrameworkSigningCert WITH PASSWORD = 'x';
GO
CREATE LOGIN FrameworkSigningLogin FROM CERTIFICATE FrameworkSigningCert;
GO
GRANT EXTERNAL ACCESS ASSEMBLY TO FrameworkSigningLogin;
GO
DROP SIGNATURE FROM dbo.ClrCaptureOutput BY CERTIFICATE FrameworkSigningCert;
GO
BACKUP CERTIFICATE FrameworkSigningCert TO FILE = 'c:\temp\cert.cer';
GO
CREATE PROCEDURE dbo.ResetIdentity @table sysname
AS
BEGIN
    DECLARE @seed numeric(38, 0) = IDENT_SEED(@table), @incr numeric(38, 0) = IDENT_INCR(@table), @cur numeric(38, 0) = IDENT_CURRENT(@table);
    DBCC CHECKIDENT (@table, RESEED, @seed) WITH NO_INFOMSGS;
    SET IDENTITY_INSERT dbo.t ON;
    INSERT INTO dbo.t (id, a) VALUES (1, 2);
    SET IDENTITY_INSERT dbo.t OFF;
    SELECT c.name, ic.seed_value, ic.increment_value, ic.last_value FROM sys.identity_columns AS ic JOIN sys.columns AS c ON c.object_id = ic.object_id AND c.column_id = ic.column_id;
END;
GO
CREATE PROCEDURE dbo.DisableConstraints @table sysname
AS
BEGIN
    ALTER TABLE dbo.t NOCHECK CONSTRAINT ALL;
    ALTER TABLE dbo.t WITH CHECK CHECK CONSTRAINT ALL;
    ALTER TABLE dbo.t DISABLE TRIGGER ALL;
    ALTER TABLE dbo.t ENABLE TRIGGER tr_t;
    DISABLE TRIGGER dbo.tr_t ON dbo.t;
    ENABLE TRIGGER ALL ON DATABASE;
    SELECT name, is_disabled, is_not_trusted FROM sys.check_constraints WHERE parent_object_id = OBJECT_ID(@table);
    SELECT name, is_disabled FROM sys.foreign_keys WHERE referenced_object_id = OBJECT_ID(@table);
    SELECT name, definition FROM sys.default_constraints WHERE parent_object_id = OBJECT_ID(@table);
    SELECT name, definition, is_persisted FROM sys.computed_columns WHERE object_id = OBJECT_ID(@table);
END;
GO
CREATE PROCEDURE dbo.RunInTransaction @sql nvarchar(max)
AS
BEGIN
    DECLARE @tranName char(32) = REPLACE(CAST(NEWID() AS char(36)), '-', '');
    DECLARE @trancount int = @@TRANCOUNT;
    IF @trancount = 0 BEGIN TRAN; ELSE SAVE TRAN @tranName;
    BEGIN TRY
        EXEC sys.sp_executesql @sql;
    END TRY
    BEGIN CATCH
        IF XACT_STATE() = -1 ROLLBACK;
        ELSE IF @trancount > 0 ROLLBACK TRAN @tranName;
        DECLARE @msg nvarchar(4000) = ERROR_MESSAGE() + ' (' + ISNULL(ERROR_PROCEDURE(), '') + ':' + CAST(ERROR_LINE() AS varchar(10)) + ')';
        SET CONTEXT_INFO 0x01;
        RAISERROR (@msg, 16, 10);
    END CATCH;
    SELECT CONTEXT_INFO(), SESSION_CONTEXT(N'key');
    EXEC sp_set_session_context @key = N'key', @value = 1, @read_only = 0;
END;
GO
CREATE PROCEDURE dbo.DescribeType @name sysname
AS
BEGIN
    SELECT TYPE_NAME(user_type_id), TYPE_ID(@name), COLUMNPROPERTY(OBJECT_ID('dbo.t'), 'a', 'Precision'), COLUMNPROPERTY(OBJECT_ID('dbo.t'), 'a', 'IsIdentity') FROM sys.types WHERE name = @name;
    SELECT OBJECTPROPERTYEX(OBJECT_ID('dbo.t'), 'BaseType'), OBJECTPROPERTY(OBJECT_ID('dbo.t'), 'TableHasIdentity'), OBJECTPROPERTY(OBJECT_ID('dbo.p'), 'IsProcedure');
    SELECT SCHEMA_NAME(schema_id), OBJECT_SCHEMA_NAME(object_id), OBJECT_DEFINITION(object_id) FROM sys.objects WHERE type IN ('P', 'FN', 'IF', 'TF', 'PC', 'FS', 'FT');
    SELECT parameter_id, name, is_output, has_default_value, default_value FROM sys.parameters WHERE object_id = OBJECT_ID('dbo.p');
    SELECT is_table_type, is_assembly_type FROM sys.types;
    SELECT name, permission_set_desc, clr_name FROM sys.assemblies;
    SELECT assembly_class, assembly_method FROM sys.assembly_modules;
END;
GO
EXEC sp_configure 'clr enabled', 1;
RECONFIGURE WITH OVERRIDE;
GO
ALTER DATABASE CURRENT SET TRUSTWORTHY ON;
GO
EXECUTE AS LOGIN = 'FrameworkSigningLogin';
SELECT SUSER_SNAME(), ORIGINAL_LOGIN(), USER_NAME();
REVERT;
GO
CREATE SYNONYM dbo.Framework_Run FOR dbo.RunInTransaction;
GO
EXEC sp_rename 'dbo.t.a', 'b', 'COLUMN';
EXEC sp_rename 'dbo.t', 't_old';
GO
SELECT HASHBYTES('SHA2_256', N'x'), CHECKSUM_AGG(CHECKSUM(*)), BINARY_CHECKSUM(*) FROM dbo.t;
GO
SELECT sys.fn_varbintohexstr(0x0102), master.dbo.fn_varbintohexstr(0x01);
GO
