#!/usr/bin/env python3
"""Fills in / checks the expected results of tests/slt/*.slt with DuckDB.

Run `cargo test --test library slt::` once first: it writes the test tables as CSV to
target/slt-data/. Then:

    python3 tools/slt_expected.py           # rewrite the expected blocks
    python3 tools/slt_expected.py --check   # only report differences

Every table the test database holds is loaded (`<table>.cols` lists its columns
as `name TYPE`). IP columns are loaded as VARCHAR (DuckDB has no IP type without
the inet extension), so .slt files compare IPs only for equality. logdb-only
function spellings (toStartOfHour, ...) are rewritten to DuckDB's before running,
and ClickHouse's date functions (toDate, toYYYYMM, ...) are DuckDB macros. The
DuckDB session runs in UTC.

`statement ok` records run in DuckDB too (they create, fill and drop tables), after
rewriting logdb-only syntax: `WITH (time_column = .., indexes = ..)` in CREATE
TABLE is dropped, the IP type becomes VARCHAR, and `ALTER TABLE t DROP PARTITION
'2024-05-01'` (or `'2024-05-01T13'`) becomes a DELETE of that day (hour) on the
column `ts`. `statement error` records are not run in DuckDB.
"""
import datetime
import decimal
import glob
import math
import os
import re
import sys

import duckdb

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "target", "slt-data")


REWRITES = [
    (r"(?i)toStartOfHour\(", "date_trunc('hour', "),
    (r"(?i)toStartOfDay\(", "date_trunc('day', "),
    (r"(?i)toStartOfMinute\(", "date_trunc('minute', "),
    # ClickHouse-only names (logdb's uniq is exact up to 64 distinct values).
    (r"(?i)\buniqExact\(", "count(DISTINCT "),
    (r"(?i)\buniq\(", "count(DISTINCT "),
    (r"(?i)toStartOfFiveMinutes?\(", "time_bucket(INTERVAL 5 MINUTE, "),
    (r"(?i)toStartOfTenMinutes\(", "time_bucket(INTERVAL 10 MINUTE, "),
    (r"(?i)toStartOfFifteenMinutes\(", "time_bucket(INTERVAL 15 MINUTE, "),
]


def tables():
    """{table: "name TYPE, ..."} from the .cols files the test writes."""
    out = {}
    for path in sorted(glob.glob(os.path.join(DATA, "*.cols"))):
        name = os.path.basename(path)[:-len(".cols")]
        cols = []
        for line in open(path).read().splitlines():
            col, typ = line.rsplit(" ", 1)
            cols.append(f"{col} {'VARCHAR' if typ == 'IP' else typ}")
        out[name] = ", ".join(cols)
    if not out:
        sys.exit(f"no tables in {DATA}: run `cargo test --test library slt::` first")
    return out


STATEMENT_REWRITES = [
    # logdb's log-table options.
    (r"(?is)^(\s*CREATE\s+TABLE\b.*?)\s+WITH\s*\((?:[^()']|'[^']*')*\)", r"\1"),
    (r"(?i)ALTER\s+TABLE\s+(\w+)\s+DROP\s+PARTITION\s+(?:IF\s+EXISTS\s+)?'(\d{4}-\d\d-\d\d)T(\d\d)'",
     r"DELETE FROM \1 WHERE ts >= TIMESTAMP '\2 \3:00:00' AND ts < TIMESTAMP '\2 \3:00:00' + INTERVAL 1 HOUR"),
    (r"(?i)ALTER\s+TABLE\s+(\w+)\s+DROP\s+PARTITION\s+(?:IF\s+EXISTS\s+)?'(\d{4}-\d\d-\d\d)'",
     r"DELETE FROM \1 WHERE ts >= TIMESTAMP '\2' AND ts < TIMESTAMP '\2' + INTERVAL 1 DAY"),
]


def rewrite(q):
    for pat, rep in REWRITES + STATEMENT_REWRITES:
        q = re.sub(pat, rep, q)
    if re.match(r"(?is)\s*CREATE\s+TABLE\b", q):
        q = re.sub(r"(?i)(\(|,)(\s*\w+\s+)IP\b", r"\1\2VARCHAR", q)
    return q


# ClickHouse date spellings logdb accepts, as DuckDB macros with ClickHouse's
# meaning (in UTC): toDate and toStartOfMonth/Year return a DATE.
MACROS = [
    "CREATE MACRO toDate(x) AS CAST(x AS DATE)",
    "CREATE MACRO toStartOfMonth(x) AS CAST(date_trunc('month', x) AS DATE)",
    "CREATE MACRO toStartOfYear(x) AS CAST(date_trunc('year', x) AS DATE)",
    "CREATE MACRO toYYYYMM(x) AS year(x) * 100 + month(x)",
    "CREATE MACRO toYYYYMMDD(x) AS (year(x) * 100 + month(x)) * 100 + day(x)",
]


def connect():
    con = duckdb.connect()
    # Never fetch extensions: a query that needs one (inet's <<=) fails instead.
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    # logdb's TIMESTAMP is UTC; TIMESTAMPTZ values convert in the session zone.
    con.execute("SET TimeZone = 'UTC'")
    for m in MACROS:
        con.execute(m)
    for name, cols in tables().items():
        con.execute(f"CREATE TABLE {name} ({cols})")
        path = os.path.join(DATA, f"{name}.csv")
        con.execute(
            f"INSERT INTO {name} SELECT * FROM read_csv('{path}', header=true, "
            f"columns={{{', '.join(repr(c.split()[0]) + ': ' + repr(c.split()[1]) for c in cols.split(', '))}}}, "
            f"quote='\"', escape='\"', nullstr='\\N')"
        )
    return con


def render(v):
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        v = float(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        s = f"{v:.3f}"
        return "0.000" if s == "-0.000" else s
    if isinstance(v, datetime.datetime):
        s = v.strftime("%Y-%m-%d %H:%M:%S")
        if v.microsecond:
            s += ("." + f"{v.microsecond:06d}").rstrip("0")
        return s
    if isinstance(v, str) and v == "":
        return "(empty)"
    return str(v)


def main():
    check = "--check" in sys.argv
    con = connect()
    bad = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "tests", "slt", "*.slt"))):
        lines = open(path).read().split("\n")
        out = []
        i = 0
        while i < len(lines):
            line = lines[i]
            if line.startswith("statement ok"):
                out.append(line)
                i += 1
                sql = []
                while i < len(lines) and lines[i].strip() != "":
                    sql.append(lines[i])
                    i += 1
                out.extend(sql)
                q = rewrite("\n".join(sql))
                try:
                    con.execute(q)
                except Exception as e:  # noqa: BLE001
                    print(f"{path}: DuckDB error for statement\n{q}\n{e}\n", file=sys.stderr)
                    bad += 1
                continue
            if not line.startswith("query"):
                out.append(line)
                i += 1
                continue
            out.append(line)
            i += 1
            sql = []
            while i < len(lines) and lines[i].strip() not in ("", "----"):
                sql.append(lines[i])
                i += 1
            out.extend(sql)
            old = []
            if i < len(lines) and lines[i].strip() == "----":
                i += 1
                while i < len(lines) and lines[i].strip() != "":
                    old.append(lines[i])
                    i += 1
            q = rewrite("\n".join(sql))
            if q.lstrip().upper().startswith("EXPLAIN") or re.search(r"<<=|>>=", q):
                # logdb's own plan text, and IP containment (DuckDB needs the inet
                # extension): kept as written.
                out.append("----")
                out.extend(old)
                continue
            try:
                rows = con.execute(q).fetchall()
                new = ["\t".join(render(v) for v in r) for r in rows]
            except Exception as e:  # noqa: BLE001
                print(f"{path}: DuckDB error for\n{q}\n{e}\n", file=sys.stderr)
                new = old
                bad += 1
            if "rowsort" in line:
                same = sorted(new) == sorted(old)
            else:
                same = new == old
            if not same:
                bad += check
                if check:
                    print(f"{path}: differs for\n{q}\nwant {new}\nhave {old}\n")
            out.append("----")
            out.extend(new)
        if not check:
            open(path, "w").write("\n".join(out))
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
