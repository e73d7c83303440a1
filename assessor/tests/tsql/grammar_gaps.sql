-- The two statements Babelfish Compass 5.5.0 cannot parse; they must not
-- cost the rest of the batch.
ALTER DATABASE CURRENT SET OPTIMIZED_LOCKING = ON;
ALTER INDEX CCI_Sales ON Fact.Sale REORGANIZE WITH (COMPRESS_ALL_ROW_GROUPS = ON);
SELECT COUNT(*) FROM Fact.Sale;
GO
