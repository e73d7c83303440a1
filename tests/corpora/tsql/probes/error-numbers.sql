-- Error numbers raised and tested: system message numbers Babelfish maps,
-- ones it does not, user-defined numbers, and numbers held in variables.
CREATE PROCEDURE dbo.probe_raise_system_messages
AS
BEGIN
    RAISERROR (13042, 14, 13);
    RAISERROR(15600, -1, -1, 'dbo.probe_raise_system_messages');
    RAISERROR (16901, 16, 1);
    RAISERROR (18456, 14, 1);
    RAISERROR (15003, 16, 1, 'sysadmin');
    RAISERROR (13600, 16, 1);
    RAISERROR (50001, 16, 1);
    RAISERROR (60000, 10, 1) WITH NOWAIT;
    RAISERROR ('Plain message', 16, 1);
    RAISERROR (N'%s failed', 16, 1, N'probe');
    DECLARE @msg_id int = 13042;
    RAISERROR (@msg_id, 16, 1);
    RAISERROR (
        14011,
        16, 1);
END;
GO
CREATE PROCEDURE dbo.probe_raise_dynamic
AS
BEGIN
    EXEC ('RAISERROR (14261, 16, 1, ''job'', ''x'');');
    EXEC sp_executesql N'RAISERROR (15151, 16, 1, ''object'', ''x'');';
END;
GO
CREATE PROCEDURE dbo.probe_test_error_numbers
AS
BEGIN
    UPDATE dbo.t SET a = 1;
    IF @@ERROR = 9999 PRINT 'unmapped';
    IF @@ERROR <> 0 PRINT 'any error';
    IF @@ERROR = 2627 PRINT 'duplicate key';
    IF @@ERROR IN (547, 4567) PRINT 'constraint or unknown';
    IF @@ERROR = 50001 PRINT 'user-defined';
    BEGIN TRY
        EXEC dbo.p;
    END TRY
    BEGIN CATCH
        IF ERROR_NUMBER() = 9998 RETURN;
        IF ERROR_NUMBER() = 1205 RETURN;
        IF ERROR_NUMBER() <> 3621 THROW;
    END CATCH;
END;
GO
