SELECT ((((1)))) GO
