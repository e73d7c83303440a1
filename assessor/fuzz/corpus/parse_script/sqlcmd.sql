:setvar x "y"
USE $(x)
GO 2
