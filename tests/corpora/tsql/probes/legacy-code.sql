-- Probe: SQL Server 2000/2005-era code still running in many estates
-- (deprecated syntax, text/image handling, old system tables and
-- procedures, old join and hint forms). Written by this project; see
-- ../README.md.
SET ANSI_NULLS OFF;
SET QUOTED_IDENTIFIER OFF;
GO
CREATE TABLE dbo.Documents
(
    DocID int IDENTITY(1,1) NOT NULL,
    Title varchar(100) NULL,
    Body text NULL,
    Notes ntext NULL,
    Picture image NULL,
    timestamp
);
GO
EXEC sp_addtype 'phone_number', 'varchar(20)', 'NULL';
GO
CREATE RULE dbo.PositiveRule AS @value > 0;
GO
CREATE DEFAULT dbo.ZeroDefault AS 0;
GO
EXEC sp_bindrule 'dbo.PositiveRule', 'dbo.Orders.Quantity';
EXEC sp_bindefault 'dbo.ZeroDefault', 'dbo.Orders.Quantity';
GO
CREATE PROCEDURE dbo.GetOrders;1
    @CustomerID int
AS
    SET ROWCOUNT 100;
    SELECT o.OrderID, c.Name
    FROM dbo.Orders o, dbo.Customers c
    WHERE o.CustomerID *= c.CustomerID
      AND o.CustomerID = @CustomerID;
    SET ROWCOUNT 0;
GO
CREATE PROCEDURE dbo.GetOrders;2
AS
    SELECT OrderID FROM dbo.Orders (NOLOCK) WHERE Shipped = NULL;
GO
DECLARE @ptr varbinary(16);
SELECT @ptr = TEXTPTR(Body) FROM dbo.Documents WHERE DocID = 1;
IF TEXTVALID('dbo.Documents.Body', @ptr) = 1
BEGIN
    READTEXT dbo.Documents.Body @ptr 0 100;
    UPDATETEXT dbo.Documents.Body @ptr 0 NULL 'prefix ';
    WRITETEXT dbo.Documents.Body @ptr 'replaced';
END;
GO
SET TEXTSIZE 65536;
SELECT Body FROM dbo.Documents;
GO
SELECT name, id, xtype, crdate
FROM sysobjects
WHERE xtype = 'U' AND OBJECTPROPERTY(id, 'IsMSShipped') = 0
ORDER BY name;
GO
SELECT o.name, c.name, t.name, c.length
FROM sysobjects o
JOIN syscolumns c ON c.id = o.id
JOIN systypes t ON t.xusertype = c.xusertype
WHERE o.name = 'Documents';
GO
SELECT spid, blocked, waittime, lastwaittype, cmd, loginame
FROM master..sysprocesses
WHERE blocked <> 0;
GO
SELECT name, filename, size FROM master.dbo.sysaltfiles;
SELECT * FROM master.dbo.sysdevices;
SELECT * FROM sysindexes WHERE id = OBJECT_ID('dbo.Documents') AND indid < 2;
SELECT * FROM sysfiles;
SELECT * FROM syscomments WHERE id = OBJECT_ID('dbo.GetOrders');
GO
EXEC sp_dboption 'Sales', 'trunc. log on chkpt.', 'true';
EXEC sp_dbcmptlevel 'Sales', 80;
EXEC sp_addlogin 'legacy_user', 'secret', 'Sales';
EXEC sp_grantdbaccess 'legacy_user';
EXEC sp_addrolemember 'db_datareader', 'legacy_user';
EXEC sp_changeobjectowner 'dbo.Documents', 'legacy_user';
EXEC sp_makewebtask @outputfile = 'c:\report.htm', @query = 'SELECT 1';
EXEC master..xp_sendmail @recipients = 'dba@example.com', @subject = 'done';
GO
DBCC DBREINDEX ('dbo.Documents', '', 90);
DBCC INDEXDEFRAG (0, 'dbo.Documents', 1);
DBCC SHOWCONTIG ('dbo.Documents') WITH TABLERESULTS, ALL_INDEXES;
DBCC SHRINKDATABASE (Sales, 10);
DBCC UPDATEUSAGE (0);
GO
DUMP DATABASE Sales TO DISK = 'c:\sales.bak';
GO
BACKUP LOG Sales WITH TRUNCATE_ONLY;
GO
SELECT OrderID, Amount
FROM dbo.Orders
ORDER BY OrderID
COMPUTE SUM(Amount);
GO
SELECT CustomerID, Amount
FROM dbo.Orders
ORDER BY CustomerID
COMPUTE SUM(Amount) BY CustomerID;
GO
SELECT OrderID FROM dbo.Orders WITH (FASTFIRSTROW);
SELECT OrderID FROM dbo.Orders (INDEX = 0);
SELECT OrderID FROM dbo.Orders WITH (HOLDLOCK, PAGLOCK);
GO
RAISERROR 50001 'Legacy message';
GO
DECLARE @id int;
INSERT dbo.Documents (Title) VALUES ('x');
SELECT @id = @@IDENTITY;
IF @@ERROR <> 0 GOTO failed;
RETURN;
failed:
    PRINT 'failed';
GO
DECLARE @obj int, @hr int;
EXEC @hr = sp_OACreate 'Scripting.FileSystemObject', @obj OUT;
EXEC @hr = sp_OAMethod @obj, 'DeleteFile', NULL, 'c:\old.txt';
EXEC sp_OADestroy @obj;
GO
SELECT CONVERT(varchar(30), GETDATE(), 100), CAST(GETDATE() AS float), GETDATE() + 1;
GO
SELECT a.au_lname, t.title
FROM authors a, titleauthor ta, titles t
WHERE a.au_id = ta.au_id AND ta.title_id =* t.title_id;
GO
SELECT * FROM OPENROWSET('Microsoft.Jet.OLEDB.4.0', 'Excel 8.0;Database=c:\data.xls', 'SELECT * FROM [Sheet1$]');
GO
SETUSER 'legacy_user';
SETUSER;
GO
