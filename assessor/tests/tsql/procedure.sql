CREATE PROCEDURE [Sales].[usp_ProcessOrders]
    @OrderID int,
    @Lines xml OUTPUT
WITH EXECUTE AS OWNER
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @id int, @msg nvarchar(2048);
    DECLARE c CURSOR LOCAL FAST_FORWARD FOR
        SELECT l.c.value('@id', 'int') FROM @Lines.nodes('/lines/line') AS l(c);

    BEGIN TRY
        BEGIN TRANSACTION;
        OPEN c;
        FETCH NEXT FROM c INTO @id;
        WHILE @@FETCH_STATUS = 0
        BEGIN
            UPDATE Sales.OrderLines WITH (ROWLOCK)
            SET PickedQuantity = Quantity
            OUTPUT inserted.OrderLineID INTO #done
            WHERE OrderLineID = @id;
            FETCH NEXT FROM c INTO @id;
        END;
        CLOSE c;
        DEALLOCATE c;
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF XACT_STATE() <> 0 ROLLBACK TRANSACTION;
        SET @msg = ERROR_MESSAGE();
        RAISERROR(@msg, 16, 1) WITH LOG;
    END CATCH;
END;
GO
