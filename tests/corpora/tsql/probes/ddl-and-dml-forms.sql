-- Computed columns: volatile functions and date/time conversions.
CREATE TABLE dbo.audit_row (id int NOT NULL, created AS GETDATE(), note varchar(20));
GO
CREATE TABLE dbo.audit_utc (id int NOT NULL, created_utc AS GETUTCDATE() PERSISTED);
GO
CREATE TABLE dbo.sampled (id int NOT NULL, pick AS RAND());
GO
CREATE TABLE dbo.stamped (id int NOT NULL, at_now AS CURRENT_TIMESTAMP);
GO
CREATE TABLE dbo.orders_dates (id int NOT NULL, ordered varchar(8), ordered_on AS CAST(ordered AS datetime));
GO
CREATE TABLE dbo.orders_keys (id int NOT NULL, ordered datetime, ordered_key AS CONVERT(varchar(8), ordered, 112));
GO
CREATE TABLE dbo.orders_parse (id int NOT NULL, ordered char(10), ordered_on AS CONVERT(datetime, ordered, 120));
GO
ALTER TABLE dbo.audit_row ADD touched AS SYSDATETIME();
GO
CREATE TABLE dbo.plain_computed (a int NOT NULL, b int NOT NULL, total AS a + b, doubled AS CAST(a AS bigint) * 2);
GO
CREATE TABLE dbo.default_dates (id int NOT NULL, created datetime NOT NULL DEFAULT GETDATE());
GO
-- DML: TOP computed by a subquery, two OUTPUT clauses, OUTPUT with DEFAULT VALUES.
DELETE TOP ((SELECT COUNT(*) FROM dbo.purge_queue)) FROM dbo.event_log WHERE logged < '20200101';
GO
UPDATE TOP ((SELECT batch_size FROM dbo.job_config)) dbo.event_log SET archived = 1 WHERE archived = 0;
GO
INSERT TOP ((SELECT 10)) INTO dbo.event_archive (id) SELECT id FROM dbo.event_log;
GO
DELETE TOP (SELECT COUNT(*) FROM dbo.purge_queue) FROM dbo.event_log WHERE logged < '20200101';
GO
UPDATE TOP (SELECT batch_size FROM dbo.job_config) dbo.event_log SET archived = 1 WHERE archived = 0;
GO
INSERT TOP (SELECT 10) INTO dbo.event_archive (id) SELECT id FROM dbo.event_log;
GO
CREATE TABLE dbo.alias_ids (id dbo.t_id IDENTITY(1, 1) NOT NULL, a int);
GO
DELETE TOP (100) FROM dbo.event_log WHERE id IN (SELECT id FROM dbo.purge_queue);
GO
DECLARE @n int = 5;
DELETE TOP (@n) FROM dbo.event_log;
GO
DECLARE @gone TABLE (id int);
DELETE FROM dbo.event_log OUTPUT deleted.id INTO @gone (id) OUTPUT deleted.id WHERE id < 0;
GO
DECLARE @changed TABLE (id int);
UPDATE dbo.event_log SET archived = 1 OUTPUT inserted.id INTO @changed OUTPUT inserted.id, deleted.archived WHERE id = 1;
GO
DECLARE @kept TABLE (id int);
DELETE FROM dbo.event_log OUTPUT deleted.id INTO @kept WHERE id < 0;
GO
INSERT INTO dbo.counters OUTPUT inserted.id DEFAULT VALUES;
GO
INSERT INTO dbo.counters DEFAULT VALUES;
GO
-- DROP with several objects.
DROP INDEX event_log.ix_logged, event_log.ix_level;
GO
DROP INDEX ix_a ON dbo.event_log, ix_b ON dbo.event_log;
GO
DROP TRIGGER dbo.tr_event_ins, dbo.tr_event_upd;
GO
DROP DATABASE scratch1, scratch2;
GO
DROP TABLE dbo.tmp_a, dbo.tmp_b;
GO
DROP INDEX ix_c ON dbo.event_log;
GO
-- CREATE SCHEMA with elements.
CREATE SCHEMA staging AUTHORIZATION dbo
    CREATE TABLE load_batch (id int NOT NULL)
    CREATE VIEW v_load_batch AS SELECT id FROM load_batch
    GRANT SELECT ON v_load_batch TO public;
GO
CREATE SCHEMA reporting
    GRANT SELECT ON SCHEMA::reporting TO public;
GO
CREATE SCHEMA archive AUTHORIZATION dbo;
GO
-- Logins and users.
ALTER LOGIN app_reader WITH NAME = app_reader_old;
GO
ALTER USER app_reader WITH NAME = app_reader_old;
GO
CREATE USER contained_app WITH PASSWORD = 'Str0ng!Passw0rd';
GO
CREATE USER contained_fr WITH PASSWORD = 'Str0ng!Passw0rd', DEFAULT_LANGUAGE = French;
GO
ALTER USER contained_app WITH PASSWORD = 'N3w!Passw0rd' OLD_PASSWORD = 'Str0ng!Passw0rd';
GO
ALTER USER app_reader WITH DEFAULT_SCHEMA = reporting;
GO
-- CREATE DATABASE options.
CREATE DATABASE chained WITH DB_CHAINING ON;
GO
CREATE DATABASE trusted WITH TRUSTWORTHY ON;
GO
-- IDENTITY types.
CREATE TABLE dbo.big_ids (id numeric(20, 0) IDENTITY(1, 1) NOT NULL, a int);
GO
CREATE TABLE dbo.dec_ids (id decimal(12, 0) IDENTITY(1, 1) NOT NULL, a int);
GO
CREATE TABLE dbo.int_ids (id int IDENTITY(1, 1) NOT NULL, amount numeric(38, 2));
GO
SELECT IDENTITY(numeric(19, 0), 1, 1) AS rn, name INTO #numbered FROM sys.objects;
GO
SELECT IDENTITY(int, 1, 1) AS rn, name INTO #numbered2 FROM sys.objects;
GO
-- Numbered procedures, trigger options, constraints dropped by name only.
EXEC dbo.usp_report;2 @from = '20200101';
GO
EXEC dbo.usp_report @from = '20200101';
GO
CREATE TRIGGER tr_event_log_append ON dbo.event_log WITH APPEND FOR INSERT AS SELECT 1;
GO
ALTER TABLE dbo.event_log DROP ck_event_log_level;
GO
ALTER TABLE dbo.event_log DROP CONSTRAINT ck_event_log_level;
GO
ALTER TABLE dbo.event_log DROP COLUMN archived;
GO
CREATE PROCEDURE #tmp_cleanup AS DELETE FROM dbo.event_log WHERE id < 0;
GO
