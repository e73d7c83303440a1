WITH Numbers (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM Numbers WHERE n < 100)
SELECT TOP (10) PERCENT WITH TIES
       n,
       STR(n, 10, 2) AS s,
       FORMAT(SYSDATETIME(), 'yyyy') AS y,
       CONVERT(varchar(10), GETDATE(), 112) AS d,
       TRY_CAST(n AS decimal(18, 2)) AS dec,
       SUM(n) OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
FROM Numbers
ORDER BY n
OPTION (MAXRECURSION 100);

SELECT o.name, c.*, j.[key]
FROM sys.objects AS o WITH (NOLOCK)
INNER HASH JOIN OtherDb.dbo.Customers AS c ON c.id = o.object_id
CROSS APPLY OPENJSON(c.Json) WITH (Name nvarchar(100) '$.name') AS j
LEFT JOIN LinkedSrv.Db.dbo.Orders AS r ON r.id = c.id
WHERE o.type IN (SELECT type FROM sysobjects)
GROUP BY ROLLUP (o.name, c.id)
FOR JSON PATH;

SELECT * FROM Sales.Orders FOR SYSTEM_TIME AS OF '2020-01-01'
PIVOT (SUM(Qty) FOR Yr IN ([2019], [2020])) AS p
FOR XML PATH('row'), ROOT('rows');

MERGE Sales.Totals AS t
USING (SELECT id, qty FROM Sales.Staging) AS s ON t.id = s.id
WHEN MATCHED THEN UPDATE SET t.qty = s.qty
WHEN NOT MATCHED BY TARGET THEN INSERT (id, qty) VALUES (s.id, s.qty)
WHEN NOT MATCHED BY SOURCE THEN DELETE
OUTPUT $action, inserted.id INTO @log;
