/*
  Least-privilege SQL Server login for the assessment appliance.

  Run as a sysadmin (or securityadmin + db_owner of msdb) on each server to be
  assessed, after replacing the password placeholder with a value from your
  password manager, then store the same username and password in the Secrets
  Manager secret the stack names (DbSecretArn).

  What the login can do, and why (catalog metadata only):
  - VIEW ANY DATABASE: list databases (sys.databases).
  - VIEW ANY DEFINITION: read module definitions and object metadata in every
    database without being a user with rights on each object.
  - CONNECT ANY DATABASE: open each database to read its catalog views
    (sys.sql_modules, sys.objects, ...), without a user in each database.
  - On SQL Server 2022 and later, also the finer-grained VIEW ANY PERFORMANCE
    DEFINITION / VIEW ANY SECURITY DEFINITION (see the version check below).
  - msdb: SQLAgentReaderRole, to list SQL Agent job steps. The assessor reads
    the command of T-SQL steps only (it filters on the subsystem in the query),
    never that of CmdExec, PowerShell, SSIS or other steps. Nothing else in
    msdb.

  Not granted: VIEW SERVER STATE (nor, on 2022, VIEW SERVER PERFORMANCE STATE
  or VIEW SERVER SECURITY STATE). Besides the host's CPU and memory it lets a
  login read every session's live SQL text (sys.dm_exec_requests,
  sys.dm_exec_sql_text), which is not catalog metadata. The assessor only uses
  it for an opt-in step, `[targets.collect] host_resources = true`; the
  optional block at the end grants it for that case, and this script revokes
  it otherwise (an earlier version granted it).

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
    GRANT VIEW ANY PERFORMANCE DEFINITION TO [sqlassess_reader];
    GRANT VIEW ANY SECURITY DEFINITION TO [sqlassess_reader];
    GRANT VIEW ANY DATABASE TO [sqlassess_reader];
    GRANT VIEW ANY DEFINITION TO [sqlassess_reader];
    GRANT CONNECT ANY DATABASE TO [sqlassess_reader];
END
ELSE
BEGIN
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

-- Server state is not catalog metadata: take back what an earlier version of
-- this script granted (the optional block below grants it again if used).
REVOKE VIEW SERVER STATE FROM [sqlassess_reader];
IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 16
BEGIN
    -- Dynamic SQL: these names do not parse before SQL Server 2022.
    EXEC (N'REVOKE VIEW SERVER PERFORMANCE STATE FROM [sqlassess_reader];');
    EXEC (N'REVOKE VIEW SERVER SECURITY STATE FROM [sqlassess_reader];');
END;

/*
  OPTIONAL: only if the job config sets, for this server,
      [targets.collect]
      host_resources = true
  (the host's CPU count and memory, read from sys.dm_os_sys_info). This
  permission also lets the login read the live SQL text of every session on
  the server. `assessor check` lists the opt-in and whether the login holds it.
  To use it, remove the comment markers around the next line:

GRANT VIEW SERVER STATE TO [sqlassess_reader];
*/

/*
  OPTIONAL: only if the job config sets, for this server,
      [targets.workload]
      query_store = true     -- and/or
      plan_cache = true
  (the SQL the server actually runs, read from Query Store and the plan
  cache; every literal is replaced by a placeholder in the collector before
  anything is stored). These permissions also let the login read query texts
  with their literal values, and on SQL Server 2019 and earlier VIEW SERVER
  STATE reads every session's live SQL text as well: grant only what the
  opt-ins use. `assessor check` lists the enabled sources and the permission
  each needs on this server's version.

  Plan cache (and Query Store in every database: a server-level state
  permission covers the database-level one). To use it, remove the comment
  markers around this block:

IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 16
    EXEC (N'GRANT VIEW SERVER PERFORMANCE STATE TO [sqlassess_reader];');
ELSE
    EXEC (N'GRANT VIEW SERVER STATE TO [sqlassess_reader];');

  Query Store only, database by database (no server-level grant): run in
  each database to assess, with its name for [Sales]:

USE [Sales];
IF NOT EXISTS (SELECT 1 FROM sys.database_principals WHERE name = N'sqlassess_reader')
    CREATE USER [sqlassess_reader] FOR LOGIN [sqlassess_reader];
IF CAST(SERVERPROPERTY('ProductMajorVersion') AS int) >= 16
    EXEC (N'GRANT VIEW DATABASE PERFORMANCE STATE TO [sqlassess_reader];');
ELSE
    EXEC (N'GRANT VIEW DATABASE STATE TO [sqlassess_reader];');
USE [master];
*/

-- To remove everything after the assessment:
--   USE [msdb]; DROP USER [sqlassess_reader];
--   USE [master]; DROP LOGIN [sqlassess_reader];
