-- Probe: full-text and semantic search in an application's catalog search
-- procedures and their maintenance. Written by this project; see
-- ../README.md.
SET NOCOUNT ON;
GO
CREATE FULLTEXT CATALOG ProductCatalog AS DEFAULT;
CREATE FULLTEXT STOPLIST ProductStoplist FROM SYSTEM STOPLIST;
ALTER FULLTEXT STOPLIST ProductStoplist ADD 'widget' LANGUAGE 'English';
CREATE SEARCH PROPERTY LIST DocumentProperties;
ALTER SEARCH PROPERTY LIST DocumentProperties ADD 'Title'
    WITH (PROPERTY_SET_GUID = 'F29F85E0-4FF9-1068-AB91-08002B27B3D9', PROPERTY_INT_ID = 2);
GO
CREATE FULLTEXT INDEX ON dbo.Products (Name LANGUAGE 1033, Description, Document TYPE COLUMN Extension STATISTICAL_SEMANTICS)
    KEY INDEX PK_Products ON ProductCatalog
    WITH (CHANGE_TRACKING = AUTO, STOPLIST = ProductStoplist, SEARCH PROPERTY LIST = DocumentProperties);
GO
ALTER FULLTEXT INDEX ON dbo.Products START INCREMENTAL POPULATION;
ALTER FULLTEXT INDEX ON dbo.Products SET CHANGE_TRACKING MANUAL;
ALTER FULLTEXT CATALOG ProductCatalog REORGANIZE;
EXEC sp_fulltext_database 'enable';
EXEC sys.sp_fulltext_load_thesaurus_file 1033;
GO
CREATE OR ALTER PROCEDURE dbo.SearchProducts
    @Terms nvarchar(400),
    @Top int = 20
AS
BEGIN
    SET NOCOUNT ON;
    SELECT p.ProductID, p.Name
    FROM dbo.Products AS p
    WHERE CONTAINS(p.Name, @Terms);

    SELECT p.ProductID, p.Name
    FROM dbo.Products AS p
    WHERE CONTAINS((p.Name, p.Description), N'"mountain*" AND NOT "road"');

    SELECT p.ProductID
    FROM dbo.Products AS p
    WHERE CONTAINS(p.Description, N'NEAR((bike, helmet), 5, TRUE)')
       OR CONTAINS(p.Description, N'FORMSOF(INFLECTIONAL, ride)')
       OR CONTAINS(p.Description, N'ISABOUT(bike WEIGHT(.8), helmet WEIGHT(.2))')
       OR CONTAINS(PROPERTY(p.Document, 'Title'), N'manual');

    SELECT TOP (@Top) ft.[KEY], ft.RANK, p.Name
    FROM CONTAINSTABLE(dbo.Products, (Name, Description), @Terms, LANGUAGE 1033, 50) AS ft
    JOIN dbo.Products AS p ON p.ProductID = ft.[KEY]
    ORDER BY ft.RANK DESC;

    SELECT ft.[KEY], ft.RANK
    FROM FREETEXTTABLE(dbo.Products, *, @Terms) AS ft;

    SELECT p.ProductID
    FROM dbo.Products AS p
    WHERE FREETEXT(p.Description, @Terms, LANGUAGE N'English');
END;
GO
SELECT kp.keyphrase, kp.score
FROM SEMANTICKEYPHRASETABLE(dbo.Products, Document, 42) AS kp;
SELECT st.matched_document_key, st.score
FROM SEMANTICSIMILARITYTABLE(dbo.Products, Document, 42) AS st;
SELECT * FROM SEMANTICSIMILARITYDETAILSTABLE(dbo.Products, Document, 42, Document, 43);
GO
SELECT FULLTEXTCATALOGPROPERTY('ProductCatalog', 'ItemCount') AS Items,
       FULLTEXTCATALOGPROPERTY('ProductCatalog', 'PopulateStatus') AS Status,
       FULLTEXTSERVICEPROPERTY('IsFulltextInstalled') AS Installed,
       OBJECTPROPERTYEX(OBJECT_ID('dbo.Products'), 'TableFullTextPopulateStatus') AS TableStatus;
GO
SELECT * FROM sys.fulltext_indexes;
SELECT * FROM sys.fulltext_catalogs;
SELECT * FROM sys.fulltext_index_columns;
SELECT * FROM sys.fulltext_stoplists;
SELECT * FROM sys.fulltext_stopwords;
SELECT * FROM sys.fulltext_languages;
SELECT * FROM sys.dm_fts_index_population;
SELECT * FROM sys.dm_fts_active_catalogs;
SELECT display_term, document_count
FROM sys.dm_fts_index_keywords(DB_ID(), OBJECT_ID('dbo.Products'));
SELECT * FROM sys.dm_fts_parser(N'"mountain bikes"', 1033, 0, 0);
GO
