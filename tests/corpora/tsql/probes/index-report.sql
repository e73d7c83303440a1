-- Probe: an index-report procedure (computed columns in temp tables, dynamic SQL over another
-- database's catalog, missing-index and operational-stats DMVs, storage and metadata views).
CREATE OR ALTER PROCEDURE dbo.IndexReport @DatabaseName sysname = NULL, @Mode tinyint = 0, @SchemaName sysname = NULL
AS
SET NOCOUNT ON;
SET TRANSACTION ISOLATION LEVEL READ UNCOMMITTED;
DECLARE @dsql nvarchar(max), @params nvarchar(max), @DatabaseID int = DB_ID(@DatabaseName);
CREATE TABLE #IndexSanity (
    index_sanity_id int IDENTITY PRIMARY KEY CLUSTERED,
    database_id smallint NOT NULL,
    [object_id] int NOT NULL,
    index_id int NOT NULL,
    index_type tinyint NOT NULL,
    [database_name] nvarchar(128) NOT NULL,
    [schema_name] nvarchar(128) NOT NULL,
    [object_name] nvarchar(128) NOT NULL,
    index_name nvarchar(128) NULL,
    key_column_names nvarchar(max) NULL,
    is_indexed_view bit NOT NULL,
    is_unique bit NOT NULL,
    is_primary_key bit NOT NULL,
    is_XML bit NOT NULL,
    is_spatial bit NOT NULL,
    is_NC_columnstore bit NOT NULL,
    is_CX_columnstore bit NOT NULL,
    is_in_memory_oltp bit NOT NULL DEFAULT 0,
    is_disabled bit NOT NULL,
    is_hypothetical bit NOT NULL,
    is_padded bit NOT NULL,
    fill_factor smallint NOT NULL,
    filter_definition nvarchar(max),
    create_date datetime NOT NULL,
    modify_date datetime NOT NULL,
    [db_schema_object_name] AS [schema_name] + N'.' + [object_name],
    [db_schema_object_indexid] AS [schema_name] + N'.' + [object_name] + CASE WHEN [index_name] IS NOT NULL THEN N'.' + index_name ELSE N'' END + N' (' + CAST(index_id AS NVARCHAR(20)) + N')'
);
CREATE TABLE #MissingIndexes (
    [database_id] int NOT NULL,
    [object_id] int NOT NULL,
    [statement] nvarchar(512) NOT NULL,
    avg_total_user_cost numeric(29,4) NOT NULL,
    avg_user_impact numeric(29,1) NOT NULL,
    user_seeks bigint NOT NULL,
    user_scans bigint NOT NULL,
    unique_compiles bigint NULL,
    equality_columns nvarchar(4000),
    inequality_columns nvarchar(4000),
    included_columns nvarchar(4000),
    is_low bit,
    [index_estimated_impact] AS REPLACE(CONVERT(NVARCHAR(256),CAST(CAST((user_seeks + user_scans) AS BIGINT) AS MONEY), 1), '.00', '') + N' use' + CASE WHEN (user_seeks + user_scans) > 1 THEN N's' ELSE N'' END,
    [magic_benefit_number] AS ((user_seeks + user_scans) * avg_total_user_cost * avg_user_impact)
);
SET @dsql = N'SELECT ' + CAST(@DatabaseID AS NVARCHAR(10)) + N' AS database_id, so.object_id, si.index_id, si.type,
        @i_DatabaseName AS database_name, COALESCE(sc.NAME, ''Unknown'') AS [schema_name],
        COALESCE(so.name, ''Unknown'') AS [object_name], COALESCE(si.name, ''Unknown'') AS [index_name],
        CASE WHEN so.[type] = CAST(''V'' AS CHAR(2)) THEN 1 ELSE 0 END,
        si.is_unique, si.is_primary_key,
        CASE when si.type = 3 THEN 1 ELSE 0 END AS is_XML,
        CASE when si.type = 4 THEN 1 ELSE 0 END AS is_spatial,
        CASE when si.type = 6 THEN 1 ELSE 0 END AS is_NC_columnstore,
        CASE when si.type = 5 then 1 else 0 end as is_CX_columnstore,
        CASE when si.data_space_id = 0 then 1 else 0 end as is_in_memory_oltp,
        si.is_disabled, si.is_hypothetical, si.is_padded, si.fill_factor,
        CASE WHEN si.filter_definition IS NOT NULL THEN si.filter_definition ELSE N'''' END AS filter_definition,
        ISNULL(us.user_seeks, 0), ISNULL(us.user_scans, 0), ISNULL(us.user_lookups, 0), ISNULL(us.user_updates, 0),
        us.last_user_seek, us.last_user_scan, us.last_user_lookup, us.last_user_update,
        so.create_date, so.modify_date
    FROM ' + QUOTENAME(@DatabaseName) + N'.sys.indexes AS si WITH (NOLOCK)
    JOIN ' + QUOTENAME(@DatabaseName) + N'.sys.objects AS so WITH (NOLOCK) ON si.object_id = so.object_id
        AND so.is_ms_shipped = 0 AND so.type <> ''TF''
    JOIN ' + QUOTENAME(@DatabaseName) + N'.sys.schemas sc ON so.schema_id = sc.schema_id
    LEFT JOIN sys.dm_db_index_usage_stats AS us WITH (NOLOCK) ON si.[object_id] = us.[object_id]
        AND si.index_id = us.index_id AND us.database_id = ' + CAST(@DatabaseID AS NVARCHAR(10)) + N'
    WHERE si.[type] IN ( 0, 1, 2, 3, 4, 5, 6 )
    OPTION ( RECOMPILE );';
SET @params = N'@i_DatabaseName NVARCHAR(128)';
INSERT #IndexSanity ( [database_id], [object_id], [index_id], [index_type], [database_name], [schema_name], [object_name],
                      index_name, is_indexed_view, is_unique, is_primary_key, is_XML, is_spatial, is_NC_columnstore, is_CX_columnstore, is_in_memory_oltp,
                      is_disabled, is_hypothetical, is_padded, fill_factor, filter_definition, create_date, modify_date )
EXEC sp_executesql @dsql, @params, @i_DatabaseName = @DatabaseName;

INSERT #MissingIndexes ( [database_id], [object_id], [statement], avg_total_user_cost, avg_user_impact, user_seeks, user_scans, unique_compiles, equality_columns, inequality_columns, included_columns)
SELECT id.database_id, id.object_id, id.statement, gs.avg_total_user_cost, gs.avg_user_impact, gs.user_seeks, gs.user_scans, gs.unique_compiles, id.equality_columns, id.inequality_columns, id.included_columns
FROM sys.dm_db_missing_index_groups ig
JOIN sys.dm_db_missing_index_details id ON ig.index_handle = id.index_handle
JOIN sys.dm_db_missing_index_group_stats gs ON ig.index_group_handle = gs.group_handle
WHERE id.database_id = @DatabaseID
OPTION (RECOMPILE);

SELECT ios.object_id, ios.index_id, ios.partition_number,
       SUM(ios.leaf_insert_count) AS leaf_insert_count,
       SUM(ios.row_lock_wait_count) AS row_lock_wait_count,
       SUM(ios.page_latch_wait_in_ms) AS page_latch_wait_in_ms,
       SUM(ios.page_io_latch_wait_in_ms) AS page_io_latch_wait_in_ms
FROM sys.dm_db_index_operational_stats(@DatabaseID, NULL, NULL, NULL) AS ios
GROUP BY ios.object_id, ios.index_id, ios.partition_number;

SELECT ps.object_id, ps.index_id, ps.partition_number, ps.row_count, ps.reserved_page_count * 8. / 1024. AS reserved_MB,
       ps.lob_reserved_page_count, ps.row_overflow_reserved_page_count, par.data_compression_desc
FROM sys.dm_db_partition_stats AS ps
JOIN sys.partitions AS par ON ps.partition_id = par.partition_id
JOIN sys.allocation_units au ON au.container_id = par.hobt_id
LEFT JOIN sys.partition_schemes psch ON psch.data_space_id = par.partition_number
WHERE par.data_compression > 0;

SELECT s.name, sp.last_updated, sp.rows, sp.rows_sampled, sp.modification_counter, sp.steps, s.is_incremental, s.has_filter, s.no_recompute, s.auto_created, s.user_created
FROM sys.stats AS s
CROSS APPLY sys.dm_db_stats_properties(s.object_id, s.stats_id) AS sp
WHERE sp.modification_counter > 0;

SELECT h.step_number, h.range_high_key, h.equal_rows FROM sys.dm_db_stats_histogram(OBJECT_ID('dbo.Orders'), 1) AS h;

SELECT t.name, t.temporal_type_desc, t.is_memory_optimized, t.durability_desc, t.history_table_id, t.is_remote_data_archive_enabled, t.is_external, t.ledger_type_desc
FROM sys.tables AS t;

SELECT p.name, p.start_column_id, p.end_column_id FROM sys.periods AS p;
SELECT hi.name, hi.bucket_count FROM sys.hash_indexes AS hi;
SELECT xs.object_id, xs.memory_allocated_for_table_kb FROM sys.dm_db_xtp_table_memory_stats AS xs;
SELECT xi.name, xi.xml_index_type_description FROM sys.xml_indexes xi;
SELECT si.name, si.spatial_index_type_desc, sit.bounding_box_xmin FROM sys.spatial_indexes si JOIN sys.spatial_index_tessellations sit ON si.object_id = sit.object_id;
SELECT csrg.state_desc, csrg.total_rows, csrg.deleted_rows FROM sys.column_store_row_groups csrg;
SELECT phst.trim_reason_desc FROM sys.dm_db_column_store_row_group_physical_stats phst;
SELECT ft.name, ft.directory_name FROM sys.filetables ft;
SELECT ic.name, ic.seed_value, ic.increment_value, ic.last_value, IDENT_CURRENT(QUOTENAME(SCHEMA_NAME(t.schema_id)) + '.' + QUOTENAME(t.name)) AS current_value
FROM sys.identity_columns ic JOIN sys.tables t ON t.object_id = ic.object_id;
SELECT cc.name, cc.definition, cc.is_persisted FROM sys.computed_columns cc;
SELECT fk.name, fk.is_not_trusted, fk.is_disabled, fk.delete_referential_action_desc FROM sys.foreign_keys fk;
SELECT ck.name, ck.is_not_trusted FROM sys.check_constraints ck;
SELECT d.referencing_id, d.referenced_entity_name FROM sys.sql_expression_dependencies d WHERE d.is_ambiguous = 1;
SELECT INDEXPROPERTY(OBJECT_ID('dbo.Orders'), 'IX_Orders_Customer', 'IsClustered'), INDEXPROPERTY(OBJECT_ID('dbo.Orders'), 'IX_Orders_Customer', 'IndexDepth'), OBJECTPROPERTY(OBJECT_ID('dbo.Orders'), 'IsUserTable'), OBJECTPROPERTY(OBJECT_ID('dbo.Orders'), 'TableHasColumnSet');
SELECT sq.name, sq.current_value, sq.maximum_value, sq.is_exhausted FROM sys.sequences sq;
SELECT ds.name, ds.type_desc FROM sys.data_spaces ds JOIN sys.filegroups fg ON fg.data_space_id = ds.data_space_id;
SELECT OBJECT_SCHEMA_NAME(t.object_id, @DatabaseID), t.name, t.lock_escalation_desc FROM sys.tables t WHERE t.lock_escalation_desc <> 'TABLE';
IF @Mode = 4
BEGIN
    RAISERROR(N'Mode 4 is not implemented yet.', 0, 1) WITH NOWAIT;
    RETURN;
END;
GO
