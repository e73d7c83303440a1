-- Probe: security audit scripts (who can do what, weak logins, orphaned
-- users, audit specifications, encryption state), as compliance checks
-- run them. Written by this project; see ../README.md.
SET NOCOUNT ON;
GO
SELECT sp.name, sp.type_desc, sp.is_disabled, sl.is_policy_checked, sl.is_expiration_checked,
       LOGINPROPERTY(sp.name, 'PasswordLastSetTime') AS PasswordSet,
       LOGINPROPERTY(sp.name, 'IsLocked') AS IsLocked,
       LOGINPROPERTY(sp.name, 'BadPasswordCount') AS BadPasswords
FROM sys.server_principals AS sp
LEFT JOIN sys.sql_logins AS sl ON sl.principal_id = sp.principal_id
WHERE sp.type IN ('S', 'U', 'G');
GO
SELECT name FROM sys.sql_logins WHERE PWDCOMPARE(name, password_hash) = 1 OR PWDCOMPARE('', password_hash) = 1;
GO
SELECT r.name AS role_name, m.name AS member_name
FROM sys.server_role_members AS rm
JOIN sys.server_principals AS r ON r.principal_id = rm.role_principal_id
JOIN sys.server_principals AS m ON m.principal_id = rm.member_principal_id
WHERE r.name IN (N'sysadmin', N'securityadmin', N'serveradmin');
GO
SELECT IS_SRVROLEMEMBER('sysadmin') AS IsSysadmin, IS_MEMBER('db_owner') AS IsDbOwner,
       HAS_PERMS_BY_NAME(NULL, NULL, 'VIEW SERVER STATE') AS CanViewState,
       HAS_PERMS_BY_NAME(N'dbo.Orders', 'OBJECT', 'SELECT') AS CanSelect;
GO
SELECT * FROM fn_my_permissions(NULL, 'SERVER');
SELECT * FROM fn_my_permissions(N'dbo.Orders', 'OBJECT');
SELECT * FROM sys.fn_builtin_permissions('SERVER');
GO
SELECT pr.name, pe.permission_name, pe.state_desc, pe.class_desc, OBJECT_NAME(pe.major_id) AS object_name
FROM sys.database_permissions AS pe
JOIN sys.database_principals AS pr ON pr.principal_id = pe.grantee_principal_id
WHERE pe.state IN ('G', 'W');
SELECT * FROM sys.server_permissions WHERE permission_name = N'CONTROL SERVER';
GO
SELECT dp.name AS orphaned_user
FROM sys.database_principals AS dp
LEFT JOIN sys.server_principals AS sp ON sp.sid = dp.sid
WHERE dp.type = 'S' AND sp.sid IS NULL AND dp.authentication_type = 1;
EXEC sp_change_users_login 'Report';
GO
SELECT * FROM sys.login_token;
SELECT * FROM sys.user_token;
SELECT SUSER_SNAME(), ORIGINAL_LOGIN(), USER_NAME(), SESSION_USER, SYSTEM_USER;
GO
SELECT a.name, a.status_desc, a.audit_file_path FROM sys.dm_server_audit_status AS a;
SELECT * FROM sys.server_audits;
SELECT * FROM sys.server_audit_specifications;
SELECT * FROM sys.database_audit_specifications;
SELECT event_time, action_id, succeeded, server_principal_name, statement
FROM sys.fn_get_audit_file(N'C:\Audit\*.sqlaudit', DEFAULT, DEFAULT);
GO
SELECT db.name, db.is_encrypted, dek.encryption_state, dek.key_algorithm, dek.encryptor_type
FROM sys.databases AS db
LEFT JOIN sys.dm_database_encryption_keys AS dek ON dek.database_id = db.database_id;
SELECT name, pvt_key_encryption_type_desc, expiry_date FROM sys.certificates;
SELECT * FROM sys.symmetric_keys;
SELECT * FROM sys.column_encryption_keys;
SELECT * FROM sys.column_master_keys;
SELECT * FROM sys.masked_columns;
SELECT * FROM sys.security_policies;
SELECT encrypt_option, auth_scheme, net_transport FROM sys.dm_exec_connections WHERE session_id = @@SPID;
GO
SELECT name, value_in_use FROM sys.configurations
WHERE name IN (N'xp_cmdshell', N'clr enabled', N'Ole Automation Procedures', N'cross db ownership chaining', N'remote admin connections');
SELECT name, is_trustworthy_on, is_db_chaining_on, containment_desc FROM sys.databases WHERE is_trustworthy_on = 1;
GO
REVOKE CONNECT FROM guest;
DENY VIEW ANY DATABASE TO public;
ALTER LOGIN sa DISABLE;
ALTER LOGIN [legacy] WITH CHECK_POLICY = ON, CHECK_EXPIRATION = ON;
GO
