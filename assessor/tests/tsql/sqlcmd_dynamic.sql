:setvar DatabaseName "AdventureWorks"
:on error exit
:r .\schema.sql
USE $(DatabaseName);
GO
SET DATEFORMAT mdy
SET TRANSACTION ISOLATION LEVEL SNAPSHOT
BULK INSERT dbo.Dim FROM N'$(DataPath)dim.csv' WITH (CODEPAGE = 'ACP', FIELDTERMINATOR = '|', TABLOCK);
EXEC sp_addextendedproperty N'MS_Description', N'Key', N'SCHEMA', N'dbo', N'TABLE', N'Dim', N'INDEX', N'PK_Dim';
EXEC ('SELECT CHOOSE(1, ''a'', ''b'') FROM sys.tables');
EXEC sp_executesql N'SELECT IIF(@p > 1, 1, 0)', N'@p int', @p = 2;
EXEC (@sql);
EXECUTE AS USER = 'auditor';
REVERT;
GO 3
