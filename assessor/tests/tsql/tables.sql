CREATE TABLE [Purchasing].[Suppliers]
(
    [SupplierID] int NOT NULL CONSTRAINT [DF_SupplierID] DEFAULT (NEXT VALUE FOR [Sequences].[SupplierID]),
    [RowGuid] uniqueidentifier ROWGUIDCOL NOT NULL,
    [BankAccountName] nvarchar(50) MASKED WITH (FUNCTION = 'default()') NULL,
    [Notes] nvarchar(max) COLLATE Latin1_General_100_CI_AS NULL,
    [Photo] varbinary(max) FILESTREAM NULL,
    [Fax] varchar(20) SPARSE NULL,
    [SearchName] AS CONCAT([SupplierName], N' ', [Fax]) PERSISTED,
    [ValidFrom] datetime2(7) GENERATED ALWAYS AS ROW START NOT NULL,
    [ValidTo] datetime2(7) GENERATED ALWAYS AS ROW END NOT NULL,
    [Doc] xml(CONTENT [dbo].[DocSchema]) NULL,
    [Node] hierarchyid NULL,
    CONSTRAINT [PK_Suppliers] PRIMARY KEY CLUSTERED ([SupplierID]),
    INDEX [IX_Name] NONCLUSTERED ([SearchName]),
    PERIOD FOR SYSTEM_TIME ([ValidFrom], [ValidTo])
)
WITH (SYSTEM_VERSIONING = ON (HISTORY_TABLE = [Purchasing].[Suppliers_Archive]), DATA_COMPRESSION = PAGE);
GO
ALTER TABLE [Purchasing].[Suppliers] WITH CHECK ADD CONSTRAINT [UQ_Name] UNIQUE NONCLUSTERED ([SearchName])
    WITH (PAD_INDEX = OFF, ONLINE = OFF);
ALTER TABLE [Purchasing].[Suppliers] NOCHECK CONSTRAINT [UQ_Name];
ALTER TABLE [Purchasing].[Suppliers] SET (SYSTEM_VERSIONING = OFF);
ALTER TABLE [Purchasing].[Suppliers] DROP PERIOD FOR SYSTEM_TIME;
CREATE CLUSTERED COLUMNSTORE INDEX [CCX] ON [Fact].[Sale] WITH (DATA_COMPRESSION = COLUMNSTORE_ARCHIVE);
CREATE SEQUENCE [Sequences].[SupplierID] AS int START WITH 1 INCREMENT BY 1;
GO
