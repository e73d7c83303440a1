-- Probe: collations Babelfish lists and collations it does not, in columns,
-- expressions, variables, temporary tables and databases.
CREATE DATABASE SalesDk COLLATE Danish_Norwegian_CI_AS;
GO
CREATE DATABASE SalesLatin COLLATE Latin1_General_CI_AS;
GO
CREATE TABLE dbo.Collated (
    a varchar(10) COLLATE Latin1_General_CI_AS NULL,
    b varchar(10) COLLATE Latin1_General_100_CI_AS NULL,
    c varchar(10) COLLATE German_PhoneBook_CI_AS NULL,
    d varchar(10) COLLATE SQL_Latin1_General_CP1_CI_AS NULL,
    e varchar(10) COLLATE SQL_Latin1_General_CP437_CI_AS NULL,
    f varchar(10) COLLATE Latin1_General_BIN2 NULL,
    g varchar(10) COLLATE Japanese_CI_AS NULL,
    h varchar(10) COLLATE Czech_CI_AS NULL,
    i varchar(10) COLLATE database_default NULL,
    j varchar(10) COLLATE Latin1_General_CS_AS NULL,
    k varchar(10) COLLATE SQL_Latin1_General_CP1_CS_AS NULL,
    l nvarchar(10) COLLATE Modern_Spanish_CI_AS NULL,
    m nvarchar(10) COLLATE Cyrillic_General_CI_AS NULL,
    n nvarchar(10) COLLATE Chinese_PRC_CI_AS NULL,
    o nvarchar(10) COLLATE Latin1_General_100_CI_AS_SC NULL,
    p nvarchar(10) COLLATE Hungarian_CI_AS NULL,
    q nvarchar(10) COLLATE Turkish_CI_AS NULL,
    r nvarchar(10) COLLATE Korean_Wansung_CI_AS NULL
);
GO
CREATE TABLE #work (name nvarchar(100) COLLATE DATABASE_DEFAULT NOT NULL);
CREATE TABLE #work2 (name nvarchar(100) COLLATE CATALOG_DEFAULT NOT NULL);
SELECT name FROM sys.objects WHERE name = N'x' COLLATE Latin1_General_CS_AS;
SELECT name FROM sys.objects ORDER BY name COLLATE Latin1_General_100_CI_AS;
SELECT name COLLATE SQL_Latin1_General_CP850_CI_AS FROM sys.objects;
SELECT name FROM sys.objects WHERE name LIKE N'a%' COLLATE Finnish_Swedish_CI_AS;
SELECT name FROM sys.objects WHERE name = N'x' COLLATE French_CI_AS;
DECLARE @v nvarchar(10) = N'x' COLLATE Polish_CI_AS;
IF N'a' = N'A' COLLATE Greek_CI_AS PRINT 'same';
GO
ALTER TABLE dbo.Collated ALTER COLUMN a varchar(10) COLLATE Latin1_General_100_CS_AS NULL;
ALTER TABLE dbo.Collated ALTER COLUMN b varchar(10) COLLATE Latin1_General_CI_AI NULL;
GO
