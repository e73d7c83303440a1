#!/usr/bin/env python3
"""Writes the workload fixtures of assessor/tests/analyze_workload.rs.

Run from this folder: `python3 generate.py`. It reads nothing and writes
`xevents.xml` (an Extended Events capture read to XML, wrapped in <events>)
and `profiler.xml` (a Profiler trace saved as XML). Deterministic: the same
bytes every run. The counts below are what the test asserts; change both
together.

A canary (CANARY) sits in string literals, a numeric one (NUMERIC_CANARY)
in number literals, and CANARY in a comment: none may reach any output.

`python3 generate.py --bench OUT` writes instead the capture the README's
workload measurement reads (100,000 distinct statements in 300,000 events,
84 MB; not committed).
"""

import random
from xml.sax.saxutils import escape

CANARY = "ZQX-CANARY-4242"
NUMERIC_CANARY = "73195731"

MERGE = (
    "SET NOCOUNT ON;\nDECLARE @inserted0 TABLE ([Id] int, [_Position] [int]);\n"
    "MERGE [dbo].[Orders] USING (\nVALUES (@p0, @p1, 0),\n(@p2, @p3, 1)) AS i ([CustomerId], [Total], _Position) ON 1=0\n"
    "WHEN NOT MATCHED THEN\nINSERT ([CustomerId], [Total])\nVALUES (i.[CustomerId], i.[Total])\n"
    "OUTPUT INSERTED.[Id], i._Position\nINTO @inserted0;\n\n"
    "SELECT [t].[Id] FROM [dbo].[Orders] t\nINNER JOIN @inserted0 i ON ([t].[Id] = [i].[Id])\nORDER BY [i].[_Position];\n"
)
INSERT = (
    "SET NOCOUNT ON;\nINSERT INTO [dbo].[Customers] ([Name], [Email])\nVALUES (@p0, @p1);\n"
    "SELECT [Id] FROM [dbo].[Customers]\nWHERE @@ROWCOUNT = 1 AND [Id] = scope_identity();\n"
)


def sp_executesql(stmt, decl, values):
    quoted = stmt.replace("'", "''")
    args = ",".join(f"@p{k}={v}" for k, v in enumerate(values))
    return f"exec sp_executesql N'{quoted}',N'{decl}',{args}"


def merge(i):
    return sp_executesql(
        MERGE,
        "@p0 int,@p1 decimal(18,2),@p2 int,@p3 decimal(18,2)",
        [17 + i, f"{NUMERIC_CANARY}.50", 18 + i, f"{i}.25"],
    )


def insert(i):
    return sp_executesql(
        INSERT,
        "@p0 nvarchar(100),@p1 nvarchar(200)",
        [f"N'Customer {i}'", f"N'{CANARY}+{i}@example.com'"],
    )


def global_temp_fill(i):
    return (
        "IF OBJECT_ID('tempdb..##report_cache') IS NULL\n"
        "    CREATE TABLE ##report_cache (Id int, Total money);\n"
        f"INSERT INTO ##report_cache SELECT Id, Total FROM dbo.Orders WHERE Total > {100 + i};"
    )


def global_temp_read(i):
    return f"SELECT ##report_cache.Id FROM ##report_cache WHERE ##report_cache.Total > ${i}.00"


def catalog_objects(i):
    comment = f"/* {CANARY} app=reporting */\n" if i % 3 == 0 else ""
    return (
        comment + "SELECT s.name, o.name FROM sys.objects o JOIN sys.schemas s "
        "ON s.schema_id = o.schema_id WHERE o.type = 'U' AND o.is_ms_shipped = 0"
    )


def catalog_version(i):
    return "SELECT SERVERPROPERTY('ProductVersion'), SERVERPROPERTY('EngineEdition'), @@VERSION"


def catalog_tables(i):
    return "SELECT TABLE_SCHEMA, TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_TYPE = 'BASE TABLE'"


def orders_nolock(i):
    return (
        f"SELECT TOP (10) o.Id, o.Total FROM dbo.Orders o WITH (NOLOCK)\n"
        f"WHERE o.CustomerId = {40 + i} AND o.Note <> N'{CANARY} note {i}' ORDER BY o.Total DESC"
    )


def checksum_cache(i):
    return f"SELECT CHECKSUM_AGG(CHECKSUM(*)) FROM ##report_cache WHERE Id > {NUMERIC_CANARY}"


def dateformat(i):
    return f"SET DATEFORMAT dmy; SELECT Id FROM dbo.Orders WHERE Placed > '0{i % 9 + 1}/12/2026'"


# (text builder, XE event, executions, CPU microseconds per execution)
XE_STATEMENTS = [
    (merge, "rpc_completed", 120, 2000),
    (insert, "rpc_completed", 200, 500),
    (global_temp_fill, "sql_batch_completed", 30, 10000),
    (global_temp_read, "sql_batch_completed", 20, 3000),
    (catalog_objects, "sql_batch_completed", 15, 800),
    (catalog_version, "sql_batch_completed", 10, 100),
    (catalog_tables, "sql_batch_completed", 5, 700),
    (orders_nolock, "sql_batch_completed", 60, 1500),
    (checksum_cache, "sql_batch_completed", 8, 25000),
    (dateformat, "sql_batch_completed", 4, 400),
]
XE_STARTING = 25  # sql_batch_starting events: skipped, other_event
XE_NO_TEXT = 3  # rpc_completed without statement text: skipped, no_text

PROFILER_EVENT = {"rpc_completed": "RPC:Completed", "sql_batch_completed": "SQL:BatchCompleted"}
# (executions, CPU milliseconds per execution), by the same statements.
PROFILER_COUNTS = [(12, 2), (20, 1), (3, 10), (2, 3), (1, 1), (1, 0), (1, 1), (6, 2), (1, 25), (1, 0)]
PROFILER_STARTING = 4


def timestamp(n):
    seconds = 9 * 3600 + 7 * n
    return f"2026-11-30T{seconds // 3600:02}:{seconds // 60 % 60:02}:{seconds % 60:02}.{n % 1000:03}Z"


def xe_data(name, value, kind="uint64"):
    return (
        f'<data name="{name}"><type name="{kind}" package="package0"/>'
        f"<value>{value}</value></data>"
    )


def xevents():
    rnd = random.Random(20)
    events = []
    for build, name, count, cpu in XE_STATEMENTS:
        for i in range(count):
            events.append(("stmt", build, name, i, cpu))
    events += [("starting", None, None, i, 0) for i in range(XE_STARTING)]
    events += [("notext", None, None, i, 0) for i in range(XE_NO_TEXT)]
    rnd.shuffle(events)
    out = ['<?xml version="1.0" encoding="utf-8"?>\n<events>\n']
    for n, (kind, build, name, i, cpu) in enumerate(events):
        ts = timestamp(n)
        if kind == "starting":
            out.append(
                f'<event name="sql_batch_starting" package="sqlserver" timestamp="{ts}">'
                f"{xe_data('batch_text', escape(catalog_version(i)), 'unicode_string')}</event>\n"
            )
            continue
        if kind == "notext":
            out.append(
                f'<event name="rpc_completed" package="sqlserver" timestamp="{ts}">'
                f"{xe_data('cpu_time', 10)}{xe_data('duration', 20)}</event>\n"
            )
            continue
        field = "statement" if name == "rpc_completed" else "batch_text"
        text = escape(build(i))
        if i % 5 == 0:
            # Some writers escape quotes too: the five predefined entities
            # and character references are all resolved.
            text = text.replace("'", "&apos;").replace("\n", "&#x0A;")
        action = (
            f'<action name="client_app_name" package="sqlserver"><type name="unicode_string" '
            f'package="package0"/><value>EntityFrameworkCore</value></action>'
        )
        out.append(
            f'<event name="{name}" package="sqlserver" timestamp="{ts}">'
            f"{xe_data('cpu_time', cpu)}{xe_data('duration', cpu * 3 // 2)}"
            f"{xe_data('row_count', 1)}"
            f"{xe_data(field, text, 'unicode_string')}{action}</event>\n"
        )
    out.append("</events>\n")
    return "".join(out)


def profiler():
    rnd = random.Random(21)
    events = []
    for (build, name, _, _), (count, cpu) in zip(XE_STATEMENTS, PROFILER_COUNTS):
        for i in range(count):
            events.append((PROFILER_EVENT[name], build(1000 + i), cpu))
    events += [("SQL:BatchStarting", catalog_version(0), 0)] * PROFILER_STARTING
    rnd.shuffle(events)
    out = [
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<TraceData xmlns="http://tempuri.org/TracePersistence.xsd">\n'
        '<Header><TraceProvider name="Microsoft SQL Server" MajorVersion="16" MinorVersion="0" '
        'BuildNumber="4135"/><ServerInformation name="SQL01"/><ProfilerUI><OrderedColumns>'
        "<Column>1</Column><Column>13</Column><Column>14</Column><Column>18</Column>"
        "</OrderedColumns></ProfilerUI></Header>\n<Events>\n"
    ]
    for n, (name, text, cpu) in enumerate(events):
        start = f"2026-11-30T10:{n // 60:02}:{n % 60:02}.5+01:00"
        out.append(
            f'<Event id="{12 if "Batch" in name else 10}" name="{name}">'
            f'<Column id="1" name="TextData">{escape(text)}</Column>'
            f'<Column id="13" name="Duration">{cpu * 1500}</Column>'
            f'<Column id="14" name="StartTime">{start}</Column>'
            f'<Column id="18" name="CPU">{cpu}</Column>'
            f'<Column id="12" name="SPID">{52 + n % 7}</Column></Event>\n'
        )
    out.append("</Events>\n</TraceData>\n")
    return "".join(out)


def bench(path, statements=100_000, repeats=3):
    rnd = random.Random(1)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("<events>\n")
        for rep in range(repeats):
            for i in range(statements):
                kind = i % 4
                ev, field = "sql_batch_completed", "batch_text"
                if kind == 0:
                    t = sp_executesql(
                        f"INSERT INTO [dbo].[T{i}] ([C{i}], [Name]) VALUES (@p0, @p1)",
                        "@p0 int,@p1 nvarchar(50)",
                        [rnd.randint(1, 10**6), f"N'name {rep}'"],
                    )
                    ev, field = "rpc_completed", "statement"
                elif kind == 1:
                    t = f"MERGE dbo.T{i} AS t USING (SELECT {i} AS id) s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.v = 'x{rep}';"
                elif kind == 2:
                    t = f"SELECT TOP (10) a.C{i}, b.Name FROM dbo.T{i} a WITH (NOLOCK) JOIN dbo.U b ON b.Id = a.Id WHERE a.Created > '2026-01-0{rep + 1}' ORDER BY 1"
                else:
                    t = f"SELECT * INTO ##tmp{i} FROM dbo.T{i} WHERE Amount > {rep}.5"
                f.write(
                    f'<event name="{ev}" timestamp="2026-11-30T09:00:00Z"><data name="cpu_time">'
                    f'<value>{100 + i % 50}</value></data><data name="{field}"><value>{escape(t)}</value></data></event>\n'
                )
        f.write("</events>\n")


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--bench":
        bench(sys.argv[2])
        sys.exit(0)
    with open("xevents.xml", "w", encoding="utf-8", newline="\n") as f:
        f.write(xevents())
    with open("profiler.xml", "w", encoding="utf-8", newline="\n") as f:
        f.write(profiler())
