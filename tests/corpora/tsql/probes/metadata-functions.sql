-- Probe: metadata and property functions with specific arguments, security
-- functions and session helpers, as DBA scripts and application code call them.
CREATE PROCEDURE dbo.usp_ObjectReport
    @ObjectName sysname
AS
BEGIN
    SET NOCOUNT ON;
    DECLARE @id int = OBJECT_ID(@ObjectName);
    SELECT OBJECTPROPERTY(@id, 'IsUserTable') AS is_user_table;
    SELECT OBJECTPROPERTY(@id, 'ExecIsTriggerDisabled') AS trigger_disabled;
    SELECT OBJECTPROPERTY(@id, 'TableHasPrimaryKey') AS has_pk;
    SELECT objectproperty(@id, 'IsEncrypted') AS is_encrypted;
    SELECT OBJECTPROPERTYEX(@id, 'BaseType') AS base_type;
    SELECT OBJECTPROPERTYEX(@id, 'Cardinality') AS cardinality;
    SELECT ObjectPropertyEx(@id,
                            'IsSystemTable') AS is_system;
    SELECT COLUMNPROPERTY(@id, 'OrderDate', 'AllowsNull') AS allows_null;
    SELECT COLUMNPROPERTY(@id, 'OrderDate', 'IsComputed') AS is_computed;
    SELECT COLUMNPROPERTY(@id, 'OrderDate', 'IsDeterministic') AS is_det;
    SELECT ColumnProperty(@id, 'OrderID', 'IsIdentity') AS is_identity;
    SELECT INDEXPROPERTY(@id, 'PK_Orders', 'IsClustered') AS is_clustered;
    SELECT INDEXPROPERTY(@id, 'PK_Orders', 'IndexFillFactor') AS fill_factor;
    SELECT INDEXPROPERTY(@id, 'PK_Orders', 'IsUnique') AS is_unique;
    SELECT INDEXKEY_PROPERTY(@id, 1, 1, 'ColumnId') AS key_col;
    SELECT TYPEPROPERTY('dbo.Phone', 'OwnerId') AS owner_id;
    SELECT TYPEPROPERTY('int', 'Scale') AS type_scale;
    SELECT COL_LENGTH('dbo.Orders', 'OrderDate') AS col_len;
    SELECT COL_NAME(@id, 1) AS first_col;
    SELECT OBJECT_DEFINITION(@id) AS definition;
    SELECT OBJECT_SCHEMA_NAME(@id) AS schema_name;
    SELECT STATS_DATE(@id, 1) AS stats_date;
END
GO
SELECT SERVERPROPERTY('ProductVersion') AS version,
       SERVERPROPERTY('Edition') AS edition;
SELECT SERVERPROPERTY('EngineEdition') AS engine_edition;
SELECT SERVERPROPERTY('MachineName') AS machine_name;
SELECT SERVERPROPERTY('InstanceName') AS instance_name;
SELECT SERVERPROPERTY('IsIntegratedSecurityOnly') AS integrated;
SELECT SERVERPROPERTY('ProductLevel') AS product_level;
SELECT SERVERPROPERTY('ProductMajorVersion') AS major_version;
SELECT SERVERPROPERTY('Collation') AS server_collation;
SELECT SERVERPROPERTY('IsFullTextInstalled') AS fulltext;
SELECT SERVERPROPERTY('IsSingleUser') AS single_user;
SELECT SERVERPROPERTY('ProcessID') AS process_id;
SELECT SERVERPROPERTY('ErrorLogFileName') AS errorlog;
SELECT SERVERPROPERTY('InstanceDefaultDataPath') AS data_path;
SELECT SERVERPROPERTY('IsXTPSupported') AS xtp;
GO
SELECT DATABASEPROPERTYEX(DB_NAME(), 'Status') AS db_status;
SELECT DATABASEPROPERTYEX(DB_NAME(), 'Updateability') AS updateability;
SELECT DATABASEPROPERTYEX(DB_NAME(), 'Collation') AS db_collation;
SELECT DATABASEPROPERTYEX(DB_NAME(), 'IsFulltextEnabled') AS ft_enabled;
SELECT DATABASEPROPERTYEX(DB_NAME(), 'IsAutoCreateStatistics') AS auto_stats;
SELECT DATABASEPROPERTYEX(DB_NAME(), 'IsAutoClose') AS auto_close;
SELECT DATABASEPROPERTYEX(DB_NAME(), 'Version') AS db_version;
SELECT DATABASEPROPERTYEX('master', 'IsReadCommittedSnapshotOn') AS rcsi;
SELECT DATABASEPROPERTY('master', 'IsTruncLog') AS trunc_log;
SELECT CONNECTIONPROPERTY('net_transport') AS transport;
SELECT CONNECTIONPROPERTY('client_net_address') AS client_address;
SELECT LOGINPROPERTY('sa', 'IsLocked') AS is_locked;
SELECT LOGINPROPERTY('sa', 'DaysUntilExpiration') AS days_left;
SELECT ASSEMBLYPROPERTY('MyAssembly', 'VersionMajor') AS asm_major;
GO
SELECT HAS_PERMS_BY_NAME('dbo.Orders', 'OBJECT', 'SELECT') AS can_select;
SELECT HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS can_view;
SELECT IS_MEMBER('db_owner') AS is_owner;
SELECT IS_ROLEMEMBER('db_datareader') AS is_reader;
SELECT IS_SRVROLEMEMBER('sysadmin') AS is_sysadmin;
SELECT PERMISSIONS(OBJECT_ID('dbo.Orders')) AS perms;
SELECT SUSER_SID() AS login_sid, SUSER_SNAME() AS login_name;
SELECT ORIGINAL_LOGIN() AS original_login;
SELECT USER_ID('dbo') AS uid, USER_NAME(1) AS uname;
SELECT APP_NAME() AS app, HOST_NAME() AS host, HOST_ID() AS host_id;
SELECT CONTEXT_INFO() AS ctx;
SELECT SESSION_CONTEXT(N'TenantId') AS tenant;
SELECT DATABASE_PRINCIPAL_ID('dbo') AS principal_id;
SELECT SCHEMA_ID('dbo') AS sid, SCHEMA_NAME(1) AS sname;
SELECT TYPE_ID('int') AS tid, TYPE_NAME(56) AS tname;
SELECT CERTPROPERTY(CERT_ID('MyCert'), 'Expiry_Date') AS cert_expiry;
SELECT SUSER_ID() AS suser_id, SUSER_NAME() AS suser_name;
SELECT PUBLISHINGSERVERNAME() AS publisher;
SELECT XACT_STATE() AS xact_state;
SELECT MIN_ACTIVE_ROWVERSION() AS min_rowversion;
SELECT @@DBTS AS dbts;
SELECT GET_BIT(0x0F, 1) AS bit1;
SELECT APPLOCK_MODE('public', 'MyLock', 'Transaction') AS lock_mode;
SELECT APPLOCK_TEST('public', 'MyLock', 'Exclusive', 'Transaction') AS lock_test;
SELECT HASHBYTES('SHA2_256', N'abc') AS h256;
SELECT HASHBYTES('MD5', 'abc') AS hmd5;
SELECT HASHBYTES('SHA2_512', 'abc') AS h512;
SELECT HASHBYTES('MD4', 'abc') AS hmd4;
SELECT HASHBYTES('SHA1', 'abc') AS hsha1;
SELECT CHECKSUM(NEWID()) AS random_checksum;
SELECT sys.fn_varbintohexstr(0x1234) AS hex;
SELECT * FROM sys.fn_listextendedproperty(NULL, 'schema', 'dbo', 'table', 'Orders', NULL, NULL);
SELECT * FROM fn_helpcollations();
SELECT * FROM sys.fn_get_sql(0x01);
SELECT FORMAT(GETDATE(), 'yyyy-MM-dd', 'en-US') AS formatted;
SELECT TRY_PARSE('abc' AS int) AS try_parsed;
SELECT SYSDATETIMEOFFSET() AT TIME ZONE 'Pacific Standard Time' AS local_time;
SELECT SWITCHOFFSET(SYSDATETIMEOFFSET(), '-08:00') AS switched;
SELECT TODATETIMEOFFSET(GETDATE(), '+01:00') AS with_offset;
SELECT DATEDIFF_BIG(ms, '2000-01-01', GETDATE()) AS ms_since;
SELECT COLLATIONPROPERTY('Latin1_General_CI_AS', 'CodePage') AS code_page;
SELECT NEWID() AS new_id;
SELECT ERROR_PROCEDURE() AS err_proc, ERROR_LINE() AS err_line;
SELECT CURSOR_STATUS('global', 'c_orders') AS cur_status;
SELECT ROWCOUNT_BIG() AS rows_big;
SELECT SCOPE_IDENTITY() AS scope_id, IDENT_CURRENT('dbo.Orders') AS cur_id;
SELECT IDENT_SEED('dbo.Orders') AS seed, IDENT_INCR('dbo.Orders') AS incr;
SELECT CHAR(13) + CHAR(10) AS crlf, UNICODE(N'a') AS u, NCHAR(65) AS n;
SELECT STR(123.45, 10, 2) AS s, SPACE(5) AS sp, REPLICATE('-', 10) AS line;
SELECT STUFF('abcdef', 2, 3, 'xyz') AS stuffed, REVERSE('abc') AS rev;
SELECT STRING_ESCAPE('a"b', 'json') AS escaped;
SELECT CONCAT_WS(',', 'a', 'b') AS joined;
SELECT TRIM(' x ') AS trimmed;
SELECT TRIM('x' FROM 'xax') AS trimmed_chars;
SELECT LTRIM('xxa', 'x') AS ltrimmed;
SELECT EOMONTH(GETDATE(), 1) AS eom, DATEFROMPARTS(2024, 1, 1) AS d;
SELECT DATETIMEFROMPARTS(2024, 1, 1, 0, 0, 0, 0) AS dt;
SELECT SMALLDATETIMEFROMPARTS(2024, 1, 1, 0, 0) AS sdt;
SELECT DATETIMEOFFSETFROMPARTS(2024, 1, 1, 0, 0, 0, 0, 1, 0, 7) AS dto;
SELECT TIMEFROMPARTS(1, 2, 3, 0, 0) AS t;
SELECT DATETRUNC(month, GETDATE()) AS month_start;
SELECT APPROX_COUNT_DISTINCT(object_id) AS approx FROM sys.objects;
SELECT SQL_VARIANT_PROPERTY(CAST(1 AS sql_variant), 'BaseType') AS base;
SELECT ISJSON('{}', OBJECT) AS is_obj;
SELECT FILE_ID('data1') AS fid, FILE_IDEX('data1') AS fidex;
SELECT FILEGROUPPROPERTY('PRIMARY', 'IsReadOnly') AS fg_ro;
SELECT FULLTEXTCATALOGPROPERTY('cat', 'ItemCount') AS ft_items;
SELECT FULLTEXTSERVICEPROPERTY('IsFulltextInstalled') AS ft_installed;
SELECT OBJECTPROPERTY(OBJECT_ID('dbo.Orders'), 'TableFullTextCatalogId') AS ftcat;
GO
