#!/usr/bin/env python3
"""Runs the estate stack's Athena named queries under DuckDB.

    athena_duckdb.py TEMPLATE TABLES_DIR

TEMPLATE is cloudformation/estate.yaml; TABLES_DIR holds the query tables as
the appliance delivers them under PREFIX/athena/ (TABLE/run_date=D/RUN.json).
Each Glue table of the template becomes a DuckDB view over its files, with
exactly the columns (names and types) the template declares plus the
run_date partition; a file row with a key the template does not declare, or
without one it declares, is an error. Prints {"queries": {name: [row, ...]}}
as JSON, each row an object keyed by the query's column names.
"""
import json
import sys

import duckdb
import yaml

TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "boolean": "BOOLEAN"}


def main(template_path, tables_dir):
    with open(template_path, encoding="utf-8") as f:
        template = yaml.safe_load(f)
    resources = template["Resources"]
    con = duckdb.connect()
    for res in resources.values():
        if res["Type"] != "AWS::Glue::Table":
            continue
        table = res["Properties"]["TableInput"]
        name = table["Name"]
        columns = {c["Name"]: TYPES[c["Type"]] for c in table["StorageDescriptor"]["Columns"]}
        pattern = f"{tables_dir}/{name}/*/*.json"
        # The files' own keys must be the declared columns, no more, no less.
        keys = con.execute(
            "SELECT DISTINCT json_keys(json) FROM read_ndjson_objects(?)", [pattern]
        ).fetchall()
        for (row_keys,) in keys:
            if set(row_keys) != set(columns):
                sys.exit(f"{name}: file keys {sorted(row_keys)} differ from the declared columns {sorted(columns)}")
        spec = ", ".join(f"'{c}': '{t}'" for c, t in columns.items())
        con.execute(
            f"CREATE VIEW {name} AS SELECT * FROM read_json('{pattern}', "
            f"format = 'newline_delimited', hive_partitioning = true, columns = {{{spec}}})"
        )
    out = {}
    for res in resources.values():
        if res["Type"] != "AWS::Athena::NamedQuery":
            continue
        props = res["Properties"]
        cur = con.execute(props["QueryString"])
        names = [d[0] for d in cur.description]
        out[props["Name"]] = [dict(zip(names, row)) for row in cur.fetchall()]
    json.dump({"queries": out}, sys.stdout, default=str)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
