"""A SQL Server stand-in for tests: pysqlbridge's TDS server with our fixture.

pysqlbridge (PyPI) implements the TDS wire protocol, PRELOGIN, the TLS tunnel
and LOGIN7. This script only wires it up the way the tests need it:

- it presents the leaf certificate the test generated (signed by the test's
  own CA), so the client's certificate and host-name checks are real;
- it admits one SQL login, whose password is read from an environment
  variable (never from the command line, where `ps` would show it);
- it answers each statement from a JSON fixture: a list of
  {"match": REGEX, "columns": [[name, type], ...], "rows": [[...], ...]};
  the first entry whose regular expression matches the statement answers;
  `SET ...` and other non-queries get an empty answer; any other statement is
  refused with error 208 so that a test notices a query the fixture lacks;
  an entry may instead carry `"error": NUMBER` (answered with that server
  error, e.g. 229 permission denied; `"class": N` sets its severity, 16 by
  default) or `"drop": true` (the server process
  exits, as when a server goes away mid-collection);
- it appends every statement it receives to a log file (one JSON string per
  line), so a test can prove which statements a client sent.

It prints `LISTENING <port>` on stdout once the socket is bound.
"""

import argparse
import json
import os
import re
import sys
import threading

from pysqlbridge.certificate import load as load_certificate
from pysqlbridge.logins import Login, LoginStore
from pysqlbridge.server import start_background
from pysqlbridge.tds.result import (
    Column,
    DateTime,
    Float,
    Integer,
    NVarChar,
    QueryError,
    QueryResult,
)

TYPES = {
    "int": lambda: Integer(4),
    "bigint": lambda: Integer(8),
    "float": lambda: Float(8),
    "nvarchar": lambda: NVarChar(4000),
    "nvarchar(max)": lambda: NVarChar(None),
    "datetime": lambda: DateTime(),
}


def load_fixture(path):
    if not path:
        return []
    with open(path, encoding="utf-8") as handle:
        document = json.load(handle)
    answers = []
    for entry in document.get("queries", []):
        columns = [Column(name, TYPES[kind]()) for name, kind in entry.get("columns", [])]
        answers.append((re.compile(entry["match"], re.S | re.I), columns, entry))
    return answers


def make_handler(answers, log_path):
    lock = threading.Lock()

    def handler(request):
        sql = request if isinstance(request, str) else request.sql
        if log_path:
            with lock, open(log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(sql) + "\n")
        for pattern, columns, entry in answers:
            if pattern.search(sql):
                if entry.get("drop"):
                    os._exit(0)
                if "error" in entry:
                    raise QueryError(
                        "refused by the test fixture",
                        number=int(entry["error"]),
                        severity=int(entry.get("class", 16)),
                    )
                return QueryResult(columns=columns, rows=[list(r) for r in entry.get("rows", [])])
        if not re.match(r"\s*(SELECT|WITH|EXEC|EXECUTE|DECLARE)\b", sql, re.I):
            return QueryResult(columns=[], rows=[])
        raise QueryError("statement not in the test fixture", number=208)

    return handler


def main():
    parser = argparse.ArgumentParser(prog="tds_peer")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password-env", required=True)
    parser.add_argument("--fixture")
    parser.add_argument("--query-log")
    args = parser.parse_args()

    if not args.host.startswith("127."):
        sys.exit("tds_peer: tests listen on loopback only")
    password = os.environ.get(args.password_env)
    if not password:
        sys.exit(f"tds_peer: environment variable {args.password_env} is empty")
    logins = LoginStore([Login(user=args.user, secret=password, hashed=False)])
    certificate = load_certificate(args.cert, args.key)
    handler = make_handler(load_fixture(args.fixture), args.query_log)
    server, thread = start_background(
        args.host, args.port, certificate=certificate, query_handler=handler, logins=logins
    )
    print(f"LISTENING {server.address[1]}", flush=True)
    try:
        thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        server.server_close()


if __name__ == "__main__":
    main()
