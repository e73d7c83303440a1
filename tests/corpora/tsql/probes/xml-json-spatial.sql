-- Probe: XML, JSON, spatial and HIERARCHYID methods and row sources as
-- application code uses them.
DECLARE @x xml = N'<root><item id="1">a</item></root>';
DECLARE @h int;
SELECT @x.value('(/root/item/@id)[1]', 'int') AS item_id;
SELECT @x.exist('/root/item') AS has_item;
SELECT T.c.value('@id', 'int') AS id FROM @x.nodes('/root/item') AS T(c);
SELECT @x.query('/root/item') AS items;
SET @x.modify('delete /root/item[1]');
SELECT o.Payload.value('(/order/@id)[1]', 'int') FROM dbo.Orders AS o;
SELECT o.Payload.exist('/order[@status="open"]') FROM dbo.Orders AS o;
UPDATE dbo.Orders SET Payload.modify('insert <note/> into /order[1]') WHERE id = 1;
SELECT x.Payload.query('.') FROM dbo.Orders AS x CROSS APPLY x.Payload.nodes('/order') AS n(c);
EXEC sp_xml_preparedocument @h OUTPUT, @x;
SELECT * FROM OPENXML(@h, '/root/item', 1) WITH (id int '@id', name varchar(10) '.');
SELECT * FROM OpenXml (@h, '/root/item', 2)
    WITH dbo.ItemShape;
EXEC sp_xml_removedocument @h;
SELECT name FROM sys.objects FOR XML RAW;
SELECT name FROM sys.objects FOR XML RAW('obj'), ROOT('objects'), TYPE;
SELECT name FROM sys.objects FOR XML PATH('obj'), TYPE;
SELECT name FROM sys.objects FOR XML PATH(''), ROOT('list');
SELECT name FROM sys.objects FOR XML AUTO, XMLSCHEMA;
SELECT name FROM sys.objects FOR XML RAW, XMLDATA;
SELECT name FROM sys.objects FOR XML RAW, BINARY BASE64;
SELECT name FROM sys.objects FOR XML PATH, ELEMENTS XSINIL;
SELECT STUFF((SELECT ',' + name FROM sys.objects FOR XML PATH('')), 1, 1, '') AS names;
SELECT CAST(@x AS nvarchar(max)) AS x_text;
SELECT CONVERT(xml, N'<a/>', 2) AS x2;
DECLARE @typed xml(CONTENT dbo.OrderSchema);
DECLARE @doc xml(DOCUMENT dbo.OrderSchema);
CREATE PRIMARY XML INDEX PXML_Orders ON dbo.Orders (Payload);
CREATE XML INDEX IXML_Orders_Path ON dbo.Orders (Payload)
    USING XML INDEX PXML_Orders FOR PATH;
CREATE SELECTIVE XML INDEX SXI_Orders ON dbo.Orders (Payload)
    FOR (p1 = '/order/@id');
ALTER XML SCHEMA COLLECTION dbo.OrderSchema ADD N'<xsd:schema/>';
DROP XML SCHEMA COLLECTION dbo.OrderSchema;
SELECT XML_SCHEMA_NAMESPACE(N'dbo', N'OrderSchema');
GO
DECLARE @j nvarchar(max) = N'{"a":1,"b":[1,2]}';
SELECT JSON_VALUE(@j, '$.a') AS a;
SELECT JSON_QUERY(@j, '$.b') AS b;
SELECT JSON_MODIFY(@j, '$.a', 2) AS modified;
SELECT ISJSON(@j) AS valid;
SELECT * FROM OPENJSON(@j);
SELECT * FROM OPENJSON(@j, '$.b') WITH (v int '$');
SELECT * FROM OpenJson(@j)
    WITH (a int '$.a',
          b nvarchar(max) '$.b' AS JSON);
SELECT name FROM sys.objects FOR JSON PATH;
SELECT name FROM sys.objects FOR JSON AUTO;
SELECT name FROM sys.objects FOR JSON PATH, ROOT('objects'), INCLUDE_NULL_VALUES;
SELECT name FROM sys.objects FOR JSON PATH, WITHOUT_ARRAY_WRAPPER;
SELECT JSON_OBJECT('a': 1, 'b': 2) AS obj;
SELECT JSON_PATH_EXISTS(@j, '$.a') AS has_a;
SELECT JSON_ARRAYAGG(name) FROM sys.objects;
GO
DECLARE @g geography = geography::Point(47.6, -122.3, 4326);
DECLARE @p geometry = geometry::STGeomFromText('POINT(1 1)', 0);
DECLARE @q geometry = geometry::Parse('POINT(2 2)');
SELECT @g.STDistance(geography::Point(47.7, -122.4, 4326)) AS dist;
SELECT @g.Lat AS lat, @g.Long AS lon;
SELECT @p.STAsText() AS wkt, @p.STX AS x, @p.STY AS y;
SELECT @p.STIntersects(@q) AS intersects;
SELECT @p.STBuffer(1).STArea() AS area;
SELECT @g.ToString() AS txt;
SELECT s.Location.STDistance(@g) FROM dbo.Stores AS s;
SELECT geography::STGeomFromText('LINESTRING(0 0, 1 1)', 4326).STLength() AS len;
SELECT geography::STPointFromText('POINT(1 1)', 4326) AS pt;
CREATE SPATIAL INDEX SIX_Stores ON dbo.Stores (Location)
    USING GEOGRAPHY_GRID;
GO
DECLARE @node hierarchyid = hierarchyid::GetRoot();
DECLARE @child hierarchyid = @node.GetDescendant(NULL, NULL);
SELECT @child.GetAncestor(1) AS parent;
SELECT @child.GetLevel() AS lvl;
SELECT @child.IsDescendantOf(@node) AS is_desc;
SELECT @child.GetReparentedValue(@node, @node) AS moved;
SELECT hierarchyid::Parse('/1/2/') AS parsed;
SELECT OrgNode.ToString(), OrgNode.GetLevel() FROM dbo.Employees;
SELECT * FROM dbo.Employees WHERE OrgNode.IsDescendantOf(@node) = 1;
GO
SELECT * FROM OPENQUERY(LinkedSrv, 'SELECT * FROM sales.orders');
SELECT * FROM OPENROWSET('SQLNCLI', 'Server=(local);Trusted_Connection=yes;', 'SELECT 1 AS x') AS r;
SELECT * FROM OPENROWSET(BULK 'C:\data\orders.csv', FORMATFILE = 'C:\data\orders.fmt') AS b;
SELECT BulkColumn FROM OPENROWSET(BULK N'C:\data\doc.xml', SINGLE_BLOB) AS x;
SELECT * FROM LinkedSrv.Sales.dbo.Orders;
SELECT * FROM [LinkedSrv].[Sales].[dbo].[Orders] AS o WHERE o.id = 1;
INSERT INTO LinkedSrv.Sales.dbo.Orders (id) VALUES (1);
UPDATE OPENQUERY(LinkedSrv, 'SELECT id, name FROM t') SET name = 'x';
SELECT * FROM OPENDATASOURCE('SQLNCLI', 'Data Source=srv;Integrated Security=SSPI').Sales.dbo.Orders;
SELECT * FROM CHANGETABLE(CHANGES dbo.Orders, 0) AS ct;
SELECT CHANGE_TRACKING_CURRENT_VERSION() AS ctv;
SELECT CHANGE_TRACKING_MIN_VALID_VERSION(OBJECT_ID('dbo.Orders')) AS minv;
SELECT * FROM cdc.fn_cdc_get_all_changes_dbo_Orders(0x0, 0x1, N'all');
SELECT sys.fn_cdc_get_max_lsn() AS max_lsn;
SELECT * FROM dbo.Orders FOR SYSTEM_TIME AS OF '2024-01-01';
SELECT * FROM dbo.Orders FOR SYSTEM_TIME ALL;
SELECT * FROM dbo.Orders TABLESAMPLE (10 PERCENT);
SELECT * FROM dbo.Orders TABLESAMPLE SYSTEM (100 ROWS) REPEATABLE (42);
SELECT * FROM STRING_SPLIT('a,b', ',', 1);
SELECT value FROM GENERATE_SERIES(1, 10, 2);
SELECT * FROM dbo.Orders AS o CROSS APPLY dbo.fn_Lines(o.id) AS l;
SELECT * FROM dbo.Orders AS o OUTER APPLY (SELECT TOP (1) * FROM dbo.Lines AS l WHERE l.order_id = o.id) AS x;
SELECT * FROM (SELECT region, amt FROM dbo.Sales) AS s PIVOT (SUM(amt) FOR region IN ([N], [S])) AS p;
SELECT * FROM dbo.Wide UNPIVOT (val FOR col IN (c1, c2)) AS u;
SELECT * FROM dbo.Orders AS a FULL OUTER JOIN dbo.Lines AS b ON a.id = b.order_id;
GO
