-- Probe: T-SQL added in SQL Server 2025 (and Azure SQL), as application and
-- reporting code would use it. Written by this project; see ../README.md.
SET NOCOUNT ON;
GO
CREATE TABLE dbo.Customers
(
    CustomerID int NOT NULL PRIMARY KEY,
    Email nvarchar(200) NOT NULL,
    Phone varchar(40) NULL,
    Notes nvarchar(max) NULL,
    Tags json NULL,
    Embedding vector(3) NULL
);
GO
SELECT CustomerID
FROM dbo.Customers
WHERE REGEXP_LIKE(Email, '^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$');
GO
UPDATE dbo.Customers
SET Phone = REGEXP_REPLACE(Phone, '[^0-9]', '')
WHERE Phone IS NOT NULL;
GO
SELECT CustomerID,
       REGEXP_SUBSTR(Email, '@(.+)$', 1, 1, 'i', 1) AS Domain,
       REGEXP_INSTR(Email, '[0-9]') AS FirstDigit,
       REGEXP_COUNT(Notes, 'refund') AS Refunds
FROM dbo.Customers;
GO
SELECT m.*
FROM dbo.Customers AS c
CROSS APPLY REGEXP_MATCHES(c.Notes, '#[a-z]+') AS m;
GO
SELECT s.value
FROM REGEXP_SPLIT_TO_TABLE(N'a,b;;c', '[,;]+') AS s;
GO
CREATE OR ALTER PROCEDURE dbo.FindSimilarNames
    @Search nvarchar(100)
AS
BEGIN
    SELECT TOP (10) c.CustomerID, c.Email,
           EDIT_DISTANCE(c.Email, @Search) AS Distance,
           EDIT_DISTANCE_SIMILARITY(c.Email, @Search) AS Similarity
    FROM dbo.Customers AS c
    WHERE JARO_WINKLER_SIMILARITY(c.Email, @Search) > 0.8
    ORDER BY JARO_WINKLER_DISTANCE(c.Email, @Search);
END;
GO
DECLARE @q vector(3) = CAST('[0.1, 0.2, 0.3]' AS vector(3));
SELECT TOP (5) CustomerID,
       VECTOR_DISTANCE('cosine', Embedding, @q) AS Distance
FROM dbo.Customers
ORDER BY VECTOR_DISTANCE('cosine', Embedding, @q);
GO
SELECT VECTOR_NORM(Embedding, 'norm2') AS Norm,
       VECTOR_NORMALIZE(Embedding, 'norm2') AS Unit,
       VECTORPROPERTY(Embedding, 'Dimensions') AS Dims
FROM dbo.Customers;
GO
CREATE VECTOR INDEX vx_customers_embedding
    ON dbo.Customers (Embedding)
    WITH (METRIC = 'cosine', TYPE = 'diskann');
GO
CREATE JSON INDEX jx_customers_tags
    ON dbo.Customers (Tags)
    FOR ('$.segment');
GO
SELECT JSON_ARRAYAGG(Email ORDER BY Email) AS Emails
FROM dbo.Customers;
GO
SELECT JSON_OBJECTAGG(CAST(CustomerID AS nvarchar(10)) : Email) AS ById
FROM dbo.Customers;
GO
SELECT CustomerID
FROM dbo.Customers
WHERE JSON_CONTAINS(Tags, 'vip', '$.labels[*]') = 1;
GO
SELECT BASE64_ENCODE(CAST(Email AS varbinary(400))) AS Encoded,
       BASE64_DECODE('QUJD') AS Decoded,
       UNISTR(N'Caf\00E9') AS Word
FROM dbo.Customers;
GO
SELECT PRODUCT(1.0 + CustomerID / 100.0) AS Growth
FROM dbo.Customers;
GO
SELECT Email || N' <' || Phone || N'>' AS Display
FROM dbo.Customers;
GO
DECLARE @s nvarchar(100) = N'a';
SET @s ||= N'b';
SELECT @s;
GO
SELECT SUBSTRING(Email, 3) AS Tail
FROM dbo.Customers;
GO
SELECT DATEADD(day, CAST(2147483648 AS bigint), CAST('1900-01-01' AS datetime2)) AS Far;
GO
SELECT c.CustomerID, e.embedding
FROM dbo.Customers AS c
CROSS APPLY (SELECT AI_GENERATE_EMBEDDINGS(c.Notes USE MODEL CustomerModel) AS embedding) AS e;
GO
SELECT ch.chunk
FROM dbo.Customers AS c
CROSS APPLY AI_GENERATE_CHUNKS(source = c.Notes, chunk_type = FIXED, chunk_size = 200) AS ch;
GO
EXEC sp_invoke_external_rest_endpoint
    @url = N'https://example.org/api',
    @method = 'POST',
    @payload = N'{"a": 1}';
GO
