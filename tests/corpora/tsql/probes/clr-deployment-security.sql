-- Probe: how a framework that ships a CLR assembly deploys itself: server
-- configuration, trust, keys and logins made from the assembly, server
-- permissions, and the metadata it checks afterwards.
USE master;
GO
EXEC sp_configure 'show advanced options', 1;
RECONFIGURE;
EXEC sp_configure 'clr enabled', 1;
EXEC sp_configure 'clr strict security', 0;
RECONFIGURE WITH OVERRIDE;
GO
DECLARE @hash varbinary(64) = HASHBYTES('SHA2_512', 0x4D5A90);
EXEC sys.sp_add_trusted_assembly @hash = @hash, @description = N'UnitTestCLR';
SELECT * FROM sys.trusted_assemblies;
EXEC sys.sp_drop_trusted_assembly @hash = @hash;
GO
CREATE ASYMMETRIC KEY UnitTestKey FROM EXECUTABLE FILE = 'C:\deploy\UnitTestCLR.dll';
CREATE ASYMMETRIC KEY UnitTestKey2 FROM FILE = 'C:\deploy\UnitTestKey.snk';
CREATE ASYMMETRIC KEY UnitTestKey3 FROM ASSEMBLY UnitTestCLR;
CREATE LOGIN UnitTestLogin FROM ASYMMETRIC KEY UnitTestKey;
GRANT UNSAFE ASSEMBLY TO UnitTestLogin;
GRANT EXTERNAL ACCESS ASSEMBLY TO UnitTestLogin;
GRANT VIEW SERVER STATE TO UnitTestLogin;
GRANT ALTER ANY DATABASE TO UnitTestLogin;
REVOKE UNSAFE ASSEMBLY FROM UnitTestLogin;
DENY EXTERNAL ACCESS ASSEMBLY TO UnitTestLogin;
GO
CREATE CERTIFICATE UnitTestCert FROM BINARY = 0x308201;
CREATE CERTIFICATE UnitTestCert2 FROM FILE = 'C:\deploy\UnitTest.cer';
CREATE CERTIFICATE UnitTestCert3 FROM ASSEMBLY UnitTestCLR;
CREATE LOGIN UnitTestCertLogin FROM CERTIFICATE UnitTestCert;
ALTER CERTIFICATE UnitTestCert WITH PRIVATE KEY (DECRYPTION BY PASSWORD = 'x');
DROP LOGIN UnitTestCertLogin;
DROP CERTIFICATE UnitTestCert;
DROP ASYMMETRIC KEY UnitTestKey;
GO
USE UnitTests;
GO
ALTER DATABASE UnitTests SET TRUSTWORTHY ON;
ALTER DATABASE CURRENT SET TRUSTWORTHY OFF;
ALTER DATABASE UnitTests SET DB_CHAINING ON;
GO
CREATE ASSEMBLY UnitTestCLR AUTHORIZATION dbo FROM 0x4D5A900003 WITH PERMISSION_SET = EXTERNAL_ACCESS;
ALTER ASSEMBLY UnitTestCLR WITH PERMISSION_SET = SAFE;
ALTER ASSEMBLY UnitTestCLR FROM 0x4D5A900004;
ALTER ASSEMBLY UnitTestCLR ADD FILE FROM 0x00 AS 'UnitTestCLR.pdb';
ALTER AUTHORIZATION ON ASSEMBLY::UnitTestCLR TO dbo;
GRANT REFERENCES ON ASSEMBLY::UnitTestCLR TO public;
GO
CREATE PROCEDURE UnitTest.ResultSetFilter @ResultSetNo int, @Command nvarchar(max)
AS EXTERNAL NAME UnitTestCLR.[UnitTestCLR.StoredProcedures].ResultSetFilter;
GO
CREATE FUNCTION UnitTest.SplitAnnotations (@Definition nvarchar(max))
RETURNS TABLE (AnnotationNo int, Annotation nvarchar(max))
AS EXTERNAL NAME UnitTestCLR.[UnitTestCLR.Annotations].Split;
GO
CREATE FUNCTION UnitTest.ClrVersion ()
RETURNS nvarchar(4000)
WITH EXECUTE AS CALLER
AS EXTERNAL NAME UnitTestCLR.[UnitTestCLR.Info].Version;
GO
CREATE TYPE UnitTest.Timer EXTERNAL NAME UnitTestCLR.[UnitTestCLR.Timer];
GO
SELECT a.name, a.permission_set_desc, a.clr_name, af.name AS file_name
  FROM sys.assemblies AS a
  JOIN sys.assembly_files AS af ON af.assembly_id = a.assembly_id
 WHERE a.name = N'UnitTestCLR';
SELECT ASSEMBLYPROPERTY('UnitTestCLR', 'VersionMajor'),
       ASSEMBLYPROPERTY('UnitTestCLR', 'PublicKey');
SELECT m.assembly_class, m.assembly_method
  FROM sys.assembly_modules AS m
 WHERE m.object_id = OBJECT_ID('UnitTest.ResultSetFilter');
SELECT * FROM sys.assembly_types WHERE is_user_defined = 1;
SELECT is_trustworthy_on, is_db_chaining_on FROM sys.databases WHERE name = DB_NAME();
SELECT SUSER_SNAME(owner_sid) FROM sys.databases WHERE database_id = DB_ID();
SELECT * FROM sys.fn_my_permissions(NULL, 'SERVER') WHERE permission_name LIKE '%ASSEMBLY%';
SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'UNSAFE ASSEMBLY') AS can_unsafe;
SELECT * FROM sys.server_permissions WHERE permission_name = 'UNSAFE ASSEMBLY';
GO
DROP FUNCTION UnitTest.ClrVersion;
DROP PROCEDURE UnitTest.ResultSetFilter;
DROP TYPE UnitTest.Timer;
DROP ASSEMBLY UnitTestCLR WITH NO DEPENDENTS;
GO
