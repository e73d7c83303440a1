/*
  Least-privilege SQL Server login for the assessment appliance.

  Run as a sysadmin (or securityadmin + db_owner of msdb) on each server to be
  assessed, after replacing the password placeholder with a value from your
  password manager, then store the same username and password in the Secrets
  Manager secret the stack names (DbSecretArn).

  What the login can do, and why:
  - VIEW SERVER STATE: server properties, availability groups, configuration.
  - VIEW ANY DATABASE: list databases (sys.databases).
  - VIEW ANY DEFINITION: read module definitions and object metadata in every
    database without being a user with rights on each object.
  - CONNECT ANY DATABASE: open each database to read its catalog views
    (sys.sql_modules, sys.objects, ...), without a user in each database.
  - On SQL Server 2022 and later, the finer-grained VIEW SERVER PERFORMANCE
    STATE / VIEW SERVER SECURITY STATE and VIEW ANY PERFORMANCE DEFINITION /
    VIEW ANY SECURITY DEFINITION are granted instead of the broader ones where
    available (see the version check below).
  - msdb: SQLAgentReaderRole, to read SQL Agent job steps (their T-SQL is
    assessed). Nothing else in msdb.

  What it cannot do: read table data (no SELECT on user tables is granted;
  CONNECT ANY DATABASE does not imply SELECT), change anything (no ALTER,
  CONTROL, INSERT/UPDATE/DELETE, EXECUTE), impersonate, or administer. The
  assessor only ever sends SELECT statements on catalog views; a test records
  every statement a server receives during a full collection to prove it.
*/

SET NOCOUNT ON;
USE [master];

DECLARE @login sysname = N'sqlassess_reader';

IF NOT EXISTS (SELECT 1 FROM sys.server_principals WHERE name = @login)
BEGIN
    -- CHECK_POLICY keeps the Windows password policy (length, lockout).
    CREATE LOGIN [sqlassess_reader]
        WITH PASSWORD = N'<REPLACE-WITH-A-LONG-RANDOM-PASSWORD>',
             CHECK_POLICY = ON,
             CHECK_EXPIRATION = OFF,
             DEFAULT_DATABASE = [master];
END;

-- SQL Server 2022 (16.x) splits the broad permissions into finer ones.
IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 16
BEGIN
    GRANT VIEW SERVER PERFORMANCE STATE TO [sqlassess_reader];
    GRANT VIEW SERVER SECURITY STATE TO [sqlassess_reader];
    GRANT VIEW ANY PERFORMANCE DEFINITION TO [sqlassess_reader];
    GRANT VIEW ANY SECURITY DEFINITION TO [sqlassess_reader];
    GRANT VIEW ANY DATABASE TO [sqlassess_reader];
    GRANT VIEW ANY DEFINITION TO [sqlassess_reader];
    GRANT CONNECT ANY DATABASE TO [sqlassess_reader];
END
ELSE
BEGIN
    GRANT VIEW SERVER STATE TO [sqlassess_reader];
    GRANT VIEW ANY DATABASE TO [sqlassess_reader];
    GRANT VIEW ANY DEFINITION TO [sqlassess_reader];
    -- CONNECT ANY DATABASE exists from SQL Server 2014 (12.x).
    GRANT CONNECT ANY DATABASE TO [sqlassess_reader];
END;

-- Deny what the broad permissions could otherwise reach, as a belt and braces.
DENY SELECT ALL USER SECURABLES TO [sqlassess_reader];
DENY IMPERSONATE ANY LOGIN TO [sqlassess_reader];

USE [msdb];
IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'sqlassess_reader')
    CREATE USER [sqlassess_reader] FOR LOGIN [sqlassess_reader];
ALTER ROLE [SQLAgentReaderRole] ADD MEMBER [sqlassess_reader];

USE [master];
-- To remove everything after the assessment:
--   USE [msdb]; DROP USER [sqlassess_reader];
--   USE [master]; DROP LOGIN [sqlassess_reader];
