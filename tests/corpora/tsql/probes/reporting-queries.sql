-- Probe: reporting and analytics queries (window frames, grouping sets,
-- pivots, temporal and XML/JSON shaping), as a BI or reporting layer writes
-- them. Written by this project; see ../README.md.
SET NOCOUNT ON;
SET ANSI_WARNINGS OFF;
GO
CREATE TABLE dbo.Sales
(
    SaleID int IDENTITY(1,1) NOT NULL CONSTRAINT PK_Sales PRIMARY KEY,
    Region nvarchar(40) NOT NULL,
    Product nvarchar(60) NOT NULL,
    SoldOn date NOT NULL,
    Quantity int NOT NULL,
    Amount money NOT NULL,
    ValidFrom datetime2 GENERATED ALWAYS AS ROW START NOT NULL,
    ValidTo datetime2 GENERATED ALWAYS AS ROW END NOT NULL,
    PERIOD FOR SYSTEM_TIME (ValidFrom, ValidTo)
)
WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = dbo.SalesHistory));
GO
SELECT Region, Product, SoldOn, Amount,
       SUM(Amount) OVER (PARTITION BY Region ORDER BY SoldOn
                         ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS RunningTotal,
       AVG(Amount) OVER (PARTITION BY Region ORDER BY SoldOn
                         ROWS BETWEEN 6 PRECEDING AND CURRENT ROW) AS Moving7,
       SUM(Amount) OVER (PARTITION BY Region ORDER BY SoldOn
                         RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS RangeTotal,
       LAG(Amount, 1, 0) OVER (PARTITION BY Region ORDER BY SoldOn) AS Previous,
       LEAD(Amount) OVER (PARTITION BY Region ORDER BY SoldOn) AS NextAmount,
       FIRST_VALUE(Amount) OVER (PARTITION BY Region ORDER BY SoldOn
                                 ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS FirstAmount,
       LAST_VALUE(Amount) OVER (PARTITION BY Region ORDER BY SoldOn
                                ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS LastAmount,
       NTILE(4) OVER (ORDER BY Amount DESC) AS Quartile,
       PERCENT_RANK() OVER (PARTITION BY Region ORDER BY Amount) AS PctRank,
       CUME_DIST() OVER (PARTITION BY Region ORDER BY Amount) AS CumeDist,
       COUNT_BIG(*) OVER () AS AllRows
FROM dbo.Sales;
GO
SELECT DISTINCT Region,
       PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY Amount) OVER (PARTITION BY Region) AS Median,
       PERCENTILE_DISC(0.9) WITHIN GROUP (ORDER BY Amount) OVER (PARTITION BY Region) AS P90
FROM dbo.Sales;
GO
SELECT Region, Product, SUM(Amount) AS Total,
       GROUPING(Region) AS IsRegionTotal,
       GROUPING_ID(Region, Product) AS Level
FROM dbo.Sales
GROUP BY GROUPING SETS ((Region, Product), (Region), ());
GO
SELECT Region, Product, SUM(Amount) AS Total
FROM dbo.Sales
GROUP BY CUBE (Region, Product);
GO
SELECT Region, Product, SUM(Amount) AS Total
FROM dbo.Sales
GROUP BY ROLLUP (Region, Product);
GO
SELECT Region, Product, SUM(Amount) AS Total
FROM dbo.Sales
GROUP BY Region, Product WITH ROLLUP;
GO
SELECT Region, Product, SUM(Amount) AS Total
FROM dbo.Sales
GROUP BY Region, Product WITH CUBE;
GO
SELECT Region, [Bikes], [Helmets], [Gloves]
FROM (SELECT Region, Product, Amount FROM dbo.Sales) AS s
PIVOT (SUM(Amount) FOR Product IN ([Bikes], [Helmets], [Gloves])) AS p;
GO
SELECT Region, Product, Amount
FROM (SELECT Region, Bikes, Helmets FROM dbo.RegionTotals) AS t
UNPIVOT (Amount FOR Product IN (Bikes, Helmets)) AS u;
GO
DECLARE @cols nvarchar(max) = N'', @sql nvarchar(max);
SELECT @cols = STRING_AGG(QUOTENAME(Product), N',') WITHIN GROUP (ORDER BY Product)
FROM (SELECT DISTINCT Product FROM dbo.Sales) AS d;
SET @sql = N'SELECT Region, ' + @cols + N' FROM (SELECT Region, Product, Amount FROM dbo.Sales) AS s
PIVOT (SUM(Amount) FOR Product IN (' + @cols + N')) AS p;';
EXEC sys.sp_executesql @sql;
GO
SELECT SaleID, Amount
FROM dbo.Sales
ORDER BY SoldOn DESC
OFFSET 20 ROWS FETCH NEXT 10 ROWS ONLY;
GO
SELECT TOP (10) WITH TIES Region, Amount
FROM dbo.Sales
ORDER BY Amount DESC;
GO
SELECT TOP (5) PERCENT Region, Amount
FROM dbo.Sales
ORDER BY Amount DESC;
GO
SELECT SaleID, Amount FROM dbo.Sales FOR SYSTEM_TIME AS OF '2026-01-01T00:00:00';
GO
SELECT SaleID, Amount FROM dbo.Sales FOR SYSTEM_TIME BETWEEN '2026-01-01' AND '2026-02-01';
GO
SELECT SaleID, Amount, ValidFrom FROM dbo.Sales FOR SYSTEM_TIME ALL ORDER BY ValidFrom;
GO
SELECT SaleID, Amount FROM dbo.Sales FOR SYSTEM_TIME CONTAINED IN ('2026-01-01', '2026-12-31');
GO
WITH Calendar AS
(
    SELECT CAST('2026-01-01' AS date) AS Day
    UNION ALL
    SELECT DATEADD(day, 1, Day) FROM Calendar WHERE Day < '2026-12-31'
)
SELECT c.Day, DATEPART(iso_week, c.Day) AS IsoWeek, EOMONTH(c.Day) AS MonthEnd,
       DATENAME(weekday, c.Day) AS WeekdayName, DATEFROMPARTS(YEAR(c.Day), 1, 1) AS YearStart,
       ISNULL(SUM(s.Amount), 0) AS Total
FROM Calendar AS c
LEFT JOIN dbo.Sales AS s ON s.SoldOn = c.Day
GROUP BY c.Day
OPTION (MAXRECURSION 366);
GO
SELECT Region AS [@name],
       (SELECT Product AS [@name], SUM(Amount) AS [total]
        FROM dbo.Sales AS i
        WHERE i.Region = o.Region
        GROUP BY Product
        FOR XML PATH('product'), TYPE)
FROM dbo.Sales AS o
GROUP BY Region
FOR XML PATH('region'), ROOT('sales'), ELEMENTS XSINIL;
GO
SELECT Region, Product, Amount FROM dbo.Sales FOR XML AUTO, ELEMENTS;
GO
SELECT 1 AS Tag, NULL AS Parent, Region AS [region!1!name] FROM dbo.Sales FOR XML EXPLICIT;
GO
SELECT Region, Product, Amount FROM dbo.Sales FOR XML RAW('sale'), ROOT('sales'), BINARY BASE64;
GO
SELECT Region AS [region.name], SUM(Amount) AS [region.total]
FROM dbo.Sales
GROUP BY Region
FOR JSON PATH, ROOT('regions'), INCLUDE_NULL_VALUES;
GO
SELECT TOP (1) Region, Amount FROM dbo.Sales FOR JSON AUTO, WITHOUT_ARRAY_WRAPPER;
GO
SELECT j.Region, j.Total
FROM OPENJSON(@payload, '$.regions')
WITH (Region nvarchar(40) '$.name', Total money '$.total', Raw nvarchar(max) '$' AS JSON) AS j;
GO
SELECT x.r.value('@name', 'nvarchar(40)') AS Region,
       x.r.query('product') AS Products
FROM @doc.nodes('/sales/region') AS x(r);
GO
WITH XMLNAMESPACES ('urn:sales' AS s)
SELECT Region FROM dbo.Sales FOR XML PATH('s:region');
GO
SELECT Region, Amount FROM dbo.Sales TABLESAMPLE (10 PERCENT) REPEATABLE (42);
GO
SELECT Region, TRY_PARSE(N'1.234,56' AS money USING 'de-DE') AS Parsed,
       FORMAT(SUM(Amount), 'C', 'en-GB') AS Formatted,
       FORMAT(MAX(SoldOn), 'yyyy-MM') AS LastMonth,
       CHOOSE(MONTH(MAX(SoldOn)) / 4 + 1, 'Q1', 'Q2', 'Q3', 'Q4') AS Quarter,
       IIF(SUM(Amount) > 1000, 'big', 'small') AS Size,
       APPROX_COUNT_DISTINCT(Product) AS Products
FROM dbo.Sales
GROUP BY Region;
GO
SELECT value, ordinal FROM STRING_SPLIT(N'a,b,c', N',', 1);
GO
MERGE dbo.DimProduct WITH (HOLDLOCK) AS t
USING (SELECT DISTINCT Product FROM dbo.Sales) AS s
ON t.Name = s.Product
WHEN NOT MATCHED BY TARGET THEN INSERT (Name, ValidFrom) VALUES (s.Product, SYSUTCDATETIME())
WHEN NOT MATCHED BY SOURCE THEN UPDATE SET t.ValidTo = SYSUTCDATETIME()
OUTPUT $action, inserted.Name, deleted.Name;
GO
SELECT r.Region, t.Product, t.Amount
FROM (SELECT DISTINCT Region FROM dbo.Sales) AS r
CROSS APPLY (SELECT TOP (3) Product, Amount FROM dbo.Sales AS s
             WHERE s.Region = r.Region ORDER BY Amount DESC) AS t;
GO
SELECT Region, COUNT(*) AS Sales
FROM dbo.Sales WITH (NOLOCK, INDEX(PK_Sales))
GROUP BY Region
HAVING COUNT(*) > 10
OPTION (HASH GROUP, RECOMPILE, MAXDOP 2, USE HINT ('ENABLE_PARALLEL_PLAN_PREFERENCE'));
GO
SELECT Region, SUM(Amount) AS Total
FROM dbo.Sales
GROUP BY ALL Region;
GO
SELECT Region, Amount, SUM(Amount) OVER w AS WindowTotal
FROM dbo.Sales
WINDOW w AS (PARTITION BY Region);
GO
SELECT Region,
       STRING_AGG(CONVERT(nvarchar(max), Product), N', ') AS Products,
       STUFF((SELECT N', ' + Product FROM dbo.Sales AS i WHERE i.Region = o.Region
              FOR XML PATH(''), TYPE).value('.', 'nvarchar(max)'), 1, 2, N'') AS ProductsOld
FROM dbo.Sales AS o
GROUP BY Region;
GO
