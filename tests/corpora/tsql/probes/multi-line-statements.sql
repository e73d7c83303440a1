-- Probe: where a construct is reported when it sits deep inside a statement
-- that spans many lines (the statement starts 3 to 12 lines above it).
CREATE PROCEDURE dbo.ReportOrders
    @from date,
    @to date
AS
BEGIN
    SET NOCOUNT ON;
    SELECT
        o.OrderId,
        o.CustomerId,
        o.OrderDate,
        c.Name,
        c.Region,
        SUM(l.Quantity) AS Quantity,
        CHECKSUM_AGG(CHECKSUM(l.Quantity)) AS Check1,
        STRING_AGG(l.Sku, ',') AS Skus
    FROM dbo.Orders AS o
    JOIN dbo.Customers AS c
        ON c.CustomerId = o.CustomerId
    JOIN dbo.Lines AS l
        ON l.OrderId = o.OrderId
    WHERE o.OrderDate BETWEEN @from AND @to
    GROUP BY
        o.OrderId,
        o.CustomerId,
        o.OrderDate,
        c.Name,
        c.Region
    OPTION (
        MAXDOP 1,
        FORCE ORDER,
        OPTIMIZE FOR UNKNOWN
    );

    MERGE
        dbo.Stock
        AS t
    USING
        (SELECT Sku, SUM(Quantity) AS q
         FROM dbo.Lines
         GROUP BY Sku)
        AS s
    ON t.Sku = s.Sku
    WHEN MATCHED THEN
        UPDATE SET t.Qty = t.Qty - s.q
    WHEN NOT MATCHED BY TARGET THEN
        INSERT (Sku, Qty)
        VALUES (s.Sku, 0 - s.q);

    UPDATE o
    SET
        o.Status = 2,
        o.Shipped = SYSDATETIMEOFFSET(),
        o.Region = c.Region
    FROM dbo.Orders
        AS o
        WITH (TABLOCKX, HOLDLOCK)
    JOIN dbo.Customers AS c
        ON c.CustomerId = o.CustomerId;

    INSERT INTO
        ##OrderAudit
        (OrderId,
         AuditedAt)
    SELECT
        OrderId,
        GETDATE()
    FROM dbo.Orders;

    DECLARE @x xml = (
        SELECT
            OrderId,
            CustomerId
        FROM dbo.Orders
        FOR XML
            AUTO,
            ELEMENTS,
            ROOT('orders')
    );

    SELECT
        n.value('(OrderId)[1]', 'int') AS OrderId
    FROM @x.nodes(
        '/orders/dbo.Orders'
    ) AS t(n);

    DECLARE c CURSOR
        GLOBAL
        SCROLL
        DYNAMIC
    FOR
        SELECT OrderId
        FROM dbo.Orders;

    BEGIN TRANSACTION
        ReportTx
        WITH MARK
        'report';
    COMMIT;

    RAISERROR
    (
        'done %d',
        10,
        1,
        @@ROWCOUNT
    )
    WITH
        NOWAIT,
        LOG;
END;
GO
CREATE TABLE dbo.Wide
(
    Id int NOT NULL,
    Payload nvarchar(100)
        SPARSE
        NULL,
    Shape geography
        NULL,
    Tags xml
        (CONTENT dbo.TagSchema)
        NULL,
    CONSTRAINT PK_Wide
        PRIMARY KEY
        NONCLUSTERED HASH (Id)
        WITH (BUCKET_COUNT = 1024)
)
WITH
(
    MEMORY_OPTIMIZED = ON,
    DURABILITY = SCHEMA_ONLY
);
GO
ALTER TABLE dbo.Orders
    ADD
        ShippedAt datetime2 NULL,
        Carrier nvarchar(50)
            NULL;
GO
SELECT
    a.Id,
    b.Name
FROM
    dbo.A AS a
    INNER
    HASH
    JOIN dbo.B AS b
        ON b.Id = a.Id;
GO
