#!/usr/bin/env python3
"""A logdb Parquet export gives the same answers in Spark and DuckDB as logdb itself.

One run: generate an access log and the CSV records with `logdb generate`, import both
into one database (tables `logs` and `records`, as tools/bench.py imports them), export
each table to Parquet (`logdb export DB TABLE DIR --format parquet`, or with
`--export-with duckdb` a stand-in that writes the same layout from a CSV copy), check the
layout and the Parquet column types against the export's contract, then run the
benchmark's questions (tools/bench.py SUITE, tools/bench_workloads.py RECORDS_SUITE and
the records grouping in full) in logdb on the database, in DuckDB over
`read_parquet('DIR/*/*.parquet', hive_partitioning = true)` and in Spark SQL (local mode)
over `spark.read.parquet(DIR)`, and compare every row with logdb's. Exits 1 on any
difference; a missing pyspark or java is an error, or a SKIP with --skip-missing.

See tools/README.md.

    python3 tools/export_check.py --logdb target/release/logdb
    python3 tools/export_check.py --export-with duckdb --keep
"""

import argparse
import datetime
import decimal
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.dont_write_bytecode = True  # no __pycache__ in the repository
import bench  # noqa: E402  (the access suite, its parameters, pick_params)
import bench_workloads as wl  # noqa: E402  (the records suite and its parameters)
import compare_import as ci  # noqa: E402  (the venv helper)

SPARK_REQUIREMENTS = TOOLS / "requirements-spark.txt"
IN_VENV_ENV = "LOGDB_EXPORT_CHECK_IN_VENV"
MANIFEST = "_logdb_export.json"
# Held while an export runs (spec/export.md); engines skip names starting with `_`.
LOCK = "_logdb_export.lock"
PART_FILE = re.compile(r"^day=(\d{4}-\d\d-\d\d)/part-(\d+)\.parquet$")
REL_TOL = 1e-9

# --------------------------------------------------------------------------------------
# The export's contract: per logdb column type, the Parquet physical type, the accepted
# annotations (logical or converted type, normalized by `annotation`), and the type
# DuckDB and Spark read it as. The hive partition column `day` reads as DATE in both.

TYPES = {
    "TIMESTAMP": ("INT64", {"timestamp(micros, utc)"}, "TIMESTAMP WITH TIME ZONE", "timestamp"),
    "BIGINT": ("INT64", {"none", "int64"}, "BIGINT", "bigint"),
    "INTEGER": ("INT32", {"none", "int32"}, "INTEGER", "int"),
    "SMALLINT": ("INT32", {"int16"}, "SMALLINT", "smallint"),
    "DOUBLE": ("DOUBLE", {"none"}, "DOUBLE", "double"),
    "BOOLEAN": ("BOOLEAN", {"none"}, "BOOLEAN", "boolean"),
    "VARCHAR": ("BYTE_ARRAY", {"utf8"}, "VARCHAR", "string"),
    "IP": ("BYTE_ARRAY", {"utf8"}, "VARCHAR", "string"),
    "DATE": ("INT32", {"date"}, "DATE", "date"),
}

# --------------------------------------------------------------------------------------
# The questions in Spark SQL, by name; `{hot}`, `{rare}` and `{uri}` as in bench.py.
# Where the dialects differ: Spark sorts NULLs first in ascending order where logdb and
# DuckDB sort them last, so every ascending key says NULLS LAST; quantile_cont is
# `percentile` (exact, the same linear interpolation); the 5-minute time_bucket is the
# epoch second floored to a multiple of 300 (time_bucket's default origin, 2000-01-03,
# is a multiple of 5 minutes from the epoch); the sessions' 30-minute gap compares
# microseconds since the epoch. date_trunc, hour, count(DISTINCT) and lag are the same. Every query of SUITE and RECORDS_SUITE must have one here.

SPARK = {
    "Q1": "SELECT count(*) FROM logs",
    "Q2": "SELECT date_trunc('hour', ts) AS hour, count(*) AS requests FROM logs "
    "GROUP BY hour ORDER BY hour NULLS LAST",
    "Q3": "SELECT uri, count(*) AS requests FROM logs "
    "GROUP BY uri ORDER BY requests DESC, uri NULLS LAST LIMIT 10",
    "Q4": "SELECT status, count(*) AS requests FROM logs GROUP BY status ORDER BY status NULLS LAST",
    "Q5": "SELECT hour(ts) AS hour, count(*) AS requests FROM logs "
    "WHERE uid = {hot} GROUP BY hour ORDER BY hour NULLS LAST",
    "Q6": "SELECT uri, count(*) AS requests, percentile(request_time, 0.5) AS p50, "
    "percentile(request_time, 0.95) AS p95, percentile(request_time, 0.99) AS p99 "
    "FROM logs GROUP BY uri ORDER BY requests DESC, uri NULLS LAST LIMIT 10",
    "Q7": "SELECT date_trunc('day', ts) AS day, count(DISTINCT uid) AS users FROM logs "
    "GROUP BY day ORDER BY day NULLS LAST",
    "Q8": "SELECT date_trunc('day', ts) AS day, hour(ts) AS hour, uid, user_agent, status, "
    "count(*) AS requests FROM logs GROUP BY day, hour, uid, user_agent, status "
    "ORDER BY requests DESC, day NULLS LAST, hour NULLS LAST, uid NULLS LAST, "
    "user_agent NULLS LAST, status NULLS LAST LIMIT 10",
    "Q9": "SELECT ts, client_ip, method, uri, status, bytes, request_time FROM logs "
    "WHERE uid = {rare} ORDER BY ts NULLS LAST, uri NULLS LAST, method NULLS LAST, "
    "status NULLS LAST, bytes NULLS LAST, request_time NULLS LAST",
    "Q10": "SELECT timestamp_seconds(floor(unix_seconds(ts) / 300) * 300) AS bucket, "
    "count(*) AS errors FROM logs WHERE uri = {uri} AND status BETWEEN 500 AND 599 "
    "GROUP BY bucket ORDER BY bucket NULLS LAST",
    "Q11": "SELECT date_trunc('day', ts) AS day, count(*) AS sessions FROM "
    "(SELECT ts, lag(ts) OVER (PARTITION BY uid ORDER BY ts NULLS LAST) AS prev FROM logs "
    "WHERE uid IS NOT NULL) AS s WHERE prev IS NULL OR unix_micros(ts) - unix_micros(prev) > "
    "1800000000 GROUP BY day ORDER BY day NULLS LAST",
    "R1": "SELECT count(*) FROM records",
    # wl.JOBS is Spark SQL as written.
    "R2": f"SELECT count(*) AS groups, sum(n) AS rows FROM ({wl.JOBS}) AS jobs",
    "R2 all": wl.JOBS + " ORDER BY day NULLS LAST, hour NULLS LAST, user_id NULLS LAST, "
    "terminal NULLS LAST, module NULLS LAST",
    "R3": "SELECT date_trunc('day', access_time) AS day, count(*) AS n FROM records "
    "GROUP BY day ORDER BY day NULLS LAST",
    "R4": "SELECT module, hour(access_time) AS hour, count(*) AS n FROM records "
    "WHERE user_id = CAST({hot} AS BIGINT) GROUP BY module, hour "
    "ORDER BY module NULLS LAST, hour NULLS LAST",
    "R5": "SELECT module, user_id, n FROM (SELECT module, user_id, count(*) AS n, "
    "row_number() OVER (PARTITION BY module ORDER BY count(*) DESC, user_id NULLS LAST) AS rn "
    "FROM records GROUP BY module, user_id) AS ranked WHERE rn <= 10 ORDER BY module NULLS LAST, rn",
}

# The records grouping of R2 exported in full: every group, ordered (logdb and DuckDB).
R2_ALL = {
    "name": "R2 all",
    "what": "jobs: every (day, hour, user_id, terminal, module) group, ordered",
    "sql": wl.JOBS + " ORDER BY day, hour, user_id, terminal, module",
}


def spark_str(s):
    """A Spark SQL string literal: backslash escapes (Spark concatenates adjacent
    literals, so SQL's doubled quote does not work)."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def questions(logs_params, records_params):
    """[(name, what, logdb/DuckDB SQL, Spark SQL)] of both tables, parameters filled in."""
    out = []
    for suite, params in [(bench.SUITE, logs_params), (wl.RECORDS_SUITE + [R2_ALL], records_params)]:
        sql = {q["name"]: q["sql"] for q in bench.suite_for("logdb", params, suite)}
        spark_lits = {k: spark_str(v) for k, v in params.items()}
        for q in suite:
            if q["name"] not in SPARK:
                sys.exit(f"error: {q['name']} has no Spark SQL in tools/export_check.py (SPARK)")
            out.append((q["name"], q["what"], sql[q["name"]], SPARK[q["name"]].format(**spark_lits)))
    return out


# --------------------------------------------------------------------------------------
# Values: each engine's cells normalized to None, bool, int, float or text, with
# timestamps as ISO UTC text (`2024-01-02T03:04:05Z`, a fraction only when not zero).

TS_TEXT = re.compile(r"^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d(?::?\d\d)?)?$")


def iso_utc(dt):
    if dt.tzinfo is not None:
        dt = dt.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    text = dt.strftime("%Y-%m-%dT%H:%M:%S")
    if dt.microsecond:
        text += f".{dt.microsecond:06d}".rstrip("0")
    return text + "Z"


def ts_text(m):
    """A timestamp's text (no zone means UTC) as iso_utc writes it; beyond
    microseconds the fraction is cut."""
    date, clock, frac, zone = m.groups()
    dt = datetime.datetime.fromisoformat(f"{date}T{clock}")
    if frac:
        dt = dt.replace(microsecond=int(frac[:6].ljust(6, "0")))
    if zone and zone != "Z":
        offset = datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]) if len(zone) > 3 else 0)
        dt = dt.replace(tzinfo=datetime.timezone(offset if zone[0] == "+" else -offset))
    return iso_utc(dt)


def norm_value(v):
    if v is None or isinstance(v, (bool, int, float)):
        return v
    if isinstance(v, decimal.Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    if isinstance(v, datetime.datetime):
        return iso_utc(v)
    if isinstance(v, datetime.date):
        return v.isoformat()
    s = str(v)
    m = TS_TEXT.match(s)
    return ts_text(m) if m else s


def logdb_cell(text, col_type):
    """A cell of `logdb bench-queries` (text; NULL is "NULL") as a typed value."""
    if text == "NULL":
        return None
    t = col_type.upper()
    if "INT" in t:
        return int(text)
    if t in ("DOUBLE", "FLOAT", "REAL") or t.startswith("DECIMAL"):
        return float(text)
    if t == "BOOLEAN":
        return text == "true"
    return norm_value(text)


def values_equal(a, b):
    if a is None or b is None:
        return a is None and b is None
    num = (int, float)
    if isinstance(a, num) and isinstance(b, num) and not isinstance(a, bool) and not isinstance(b, bool):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        if math.isnan(a) and math.isnan(b):
            return True
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=0.0)
    return a == b


def first_difference(ref, other):
    """None when `other` has `ref`'s rows in order, else where they first differ."""
    for i, (ra, rb) in enumerate(zip(ref, other)):
        if len(ra) != len(rb) or not all(values_equal(a, b) for a, b in zip(ra, rb)):
            return f"row {i + 1}: {short(rb)}, logdb {short(ra)}"
    if len(ref) != len(other):
        i = min(len(ref), len(other))
        extra = f"first extra row {short(other[i])}" if len(other) > i else f"first missing row {short(ref[i])}"
        return f"{len(other)} rows, logdb {len(ref)}; {extra}"
    return None


def short(row, width=160):
    text = repr(tuple(row))
    return text if len(text) <= width else text[: width - 3] + "..."


# --------------------------------------------------------------------------------------
# logdb


def find_logdb(arg):
    if arg:
        path = Path(arg)
        if not path.is_file():
            sys.exit(f"error: --logdb {arg}: no such file")
        return str(path.resolve())
    for profile in ("release", "debug"):
        path = REPO / "target" / profile / "logdb"
        if path.is_file():
            return str(path)
    sys.exit("error: no target/release/logdb or target/debug/logdb: build one (cargo build) or pass --logdb")


def run(cmd, what):
    proc = subprocess.run([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"error: {what} failed (exit {proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stderr.strip()}")
    return proc.stdout


def logdb_json(logdb, db, sql):
    return json.loads(run([logdb, db, "-o", "json", "-c", sql], f"logdb -c {sql!r}") or "[]")


def table_columns(logdb, db, table):
    """[(name, logdb type, is the time column)] in table order."""
    rows = logdb_json(logdb, db, f"DESCRIBE {table}")
    return [(r["column_name"], r["column_type"], r.get("extra") == "time column") for r in rows]


def logdb_queries(logdb, db, qs, workdir):
    """{name: (rows, seconds)} from one `logdb bench-queries` process (1 run, no warm-up:
    its times are in-process, like the other engines')."""
    qfile = workdir / "queries-logdb.json"
    qfile.write_text(json.dumps([{"name": n, "sql": sql} for n, _, sql, _ in qs], indent=1) + "\n")
    out = json.loads(run([logdb, "bench-queries", db, "--queries", qfile, "--runs", "1", "--warmup", "0"], "logdb bench-queries"))
    res = {}
    for q in out["queries"]:
        types = [t for _, t in q["columns"]]
        rows = [[logdb_cell(c, t) for c, t in zip(row, types)] for row in q["rows"]]
        res[q["name"]] = (rows, sum(q["times_s"]), q.get("error"))
    return res


# --------------------------------------------------------------------------------------
# Export


def export_logdb(logdb, db, table, dest):
    if not re.search(r"^\s+export\s", run([logdb, "--help"], "logdb --help"), re.M):
        sys.exit(f"error: {logdb} has no `export` command; --export-with duckdb writes the same layout")
    run([logdb, "export", db, table, dest, "--format", "parquet"], f"the export of {table}")


def export_duckdb(logdb, db, table, dest, workdir):
    """The export's layout written by DuckDB: logdb copies the table to CSV (NULL as
    `\\N`, so that it stays apart from ''), DuckDB reads it with the table's types and
    writes `day=YYYY-MM-DD/part-N.parquet` by the UTC day of the time column, plus a
    stand-in manifest (which the engines must skip)."""
    import duckdb

    cols = table_columns(logdb, db, table)
    time_col = next((name for name, _, is_time in cols if is_time), None)
    if time_col is None:
        sys.exit(f"error: table {table} has no time column to partition by")
    csv = workdir / f"{table}.copy.csv"
    run([logdb, db, "-c", f"COPY {table} TO '{csv}' (FORMAT csv, NULL '\\N', OVERWRITE)"], f"logdb COPY {table}")
    read_types = {}
    select = []
    for name, t, _ in cols:
        if t not in TYPES:
            sys.exit(f"error: {table}.{name}: type {t} is not in the export's contract")
        read_types[name] = "VARCHAR" if t == "IP" else t
        select.append(f'CAST("{name}" AS TIMESTAMPTZ) AS "{name}"' if t == "TIMESTAMP" else f'"{name}"')
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute(
        f"COPY (SELECT {', '.join(select)}, strftime(\"{time_col}\", '%Y-%m-%d') AS day "
        f"FROM read_csv('{csv}', header = true, nullstr = '\\N', columns = {read_types!r}, "
        "auto_detect = false, quote = '\"', escape = '\"', allow_quoted_nulls = false)) "
        f"TO '{dest}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'part-{{i}}')"
    )
    con.close()
    csv.unlink()
    (Path(dest) / MANIFEST).write_text(json.dumps({"table": table, "written_by": "tools/export_check.py (DuckDB)"}) + "\n")


def check_layout(table, dest):
    """Problems with the directory layout: only the manifest, its lock and
    day=YYYY-MM-DD/part-N.parquet, parts numbered from 0 without gaps."""
    problems, parts = [], {}
    for f in sorted(Path(dest).rglob("*")):
        if f.is_dir():
            continue
        rel = f.relative_to(dest).as_posix()
        m = PART_FILE.match(rel)
        if m:
            parts.setdefault(m.group(1), []).append(int(m.group(2)))
        elif rel not in (MANIFEST, LOCK):
            problems.append(f"{table}: unexpected file {rel}")
    if not parts:
        problems.append(f"{table}: no day=YYYY-MM-DD/part-N.parquet file")
    for day, ns in parts.items():
        if sorted(ns) != list(range(len(ns))):
            problems.append(f"{table}: day={day} has parts {sorted(ns)}, expected 0..{len(ns) - 1}")
    return problems, len(parts), sum(len(ns) for ns in parts.values())


def annotation(converted, logical):
    """A Parquet column's logical type (else its converted type) in a short form."""
    logical = logical or ""
    if "TimestampType" in logical:
        unit = next((u for u in ("MILLIS", "MICROS", "NANOS") if re.search(u + r"=\w+\(\)", logical)), "?")
        utc = "utc" if re.search(r"isAdjustedToUTC=(1|true)", logical, re.I) else "local"
        return f"timestamp({unit.lower()}, {utc})"
    m = re.search(r"IntType\(bitWidth=(\d+)", logical)
    if m:
        return f"int{m.group(1)}"
    if "StringType" in logical:
        return "utf8"
    if "DateType" in logical:
        return "date"
    converted = converted or ""
    if converted.startswith("TIMESTAMP_"):
        return f"timestamp({converted.split('_')[1].lower()}, utc)"
    return {"UTF8": "utf8", "INT_16": "int16", "INT_32": "int32", "INT_64": "int64", "DATE": "date"}.get(
        converted, "none" if not converted else converted.lower()
    )


def file_problems(table, dest, columns, duck):
    """(problems, days, files) of an exported table: its layout (check_layout) and, in
    every part file, the table's columns in order with the contract's Parquet types."""
    problems, n_days, n_files = check_layout(table, dest)
    found = {}  # what is wrong -> the files it is wrong in
    schema = duck.parquet_schema(table)
    want = [name for name, _, _ in columns]
    for file, fields in sorted(schema.items()):
        got = [name for name, _, _ in fields]
        if got != want:
            found.setdefault(f"columns {got}, expected {want}", []).append(file)
            continue
        for (name, ptype, ann), (_, ltype, _) in zip(fields, columns):
            want_p, want_ann, _, _ = TYPES[ltype]
            if ptype != want_p or ann not in want_ann:
                expected = f"{want_p} {' or '.join(sorted(want_ann))}"
                found.setdefault(f"{name} ({ltype}) is {ptype} {ann}, expected {expected}", []).append(file)
    problems += [
        f"{table}: {what} in {len(files)} of {len(schema)} files ({Path(files[0]).relative_to(dest)}, ...)"
        for what, files in found.items()
    ]
    return problems, n_days, n_files


def read_problems(table, columns, duck, spark):
    """Problems with what DuckDB and Spark read: the column types (and `day` as a
    date), and rows whose day= directory is not the UTC date of the time column."""
    problems = []
    time_col = next(name for name, _, is_time in columns if is_time)
    want_duck = {name: TYPES[ty][2] for name, ty, _ in columns} | {"day": "DATE"}
    want_spark = {name: TYPES[ty][3] for name, ty, _ in columns} | {"day": "date"}
    for engine, got, want in [("DuckDB", duck.types(table), want_duck), ("Spark", spark.types(table), want_spark)]:
        if got != want:
            diff = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
            problems.append(
                f"{table}: {engine} reads {({k: got.get(k) for k in diff})}, expected {({k: want.get(k) for k in diff})}"
            )
    for engine, n in [("DuckDB", duck.days_off(table, time_col)), ("Spark", spark.days_off(table, time_col))]:
        if n:
            problems.append(f"{table}: {engine}: {n} rows whose day= directory is not the UTC date of {time_col}")
    return problems


# --------------------------------------------------------------------------------------
# Engines over the export


class DuckDBEngine:
    def __init__(self, dirs):
        import duckdb

        self.version = duckdb.__version__
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.dirs = dirs
        for table, d in dirs.items():
            # The partition column `day` would shadow the questions' `... AS day`.
            self.con.execute(f"CREATE VIEW {table} AS SELECT * EXCLUDE (day) FROM {self.source(table)}")

    def source(self, table):
        return f"read_parquet('{self.dirs[table]}/*/*.parquet', hive_partitioning = true)"

    def types(self, table):
        return {r[0]: r[1] for r in self.con.execute(f"DESCRIBE SELECT * FROM {self.source(table)}").fetchall()}

    def days_off(self, table, time_col):
        sql = f'SELECT count(*) FROM {self.source(table)} WHERE day IS DISTINCT FROM CAST("{time_col}" AS DATE)'
        return self.con.execute(sql).fetchall()[0][0]

    def parquet_schema(self, table):
        """{file: [(column, physical type, annotation)]} of every part file."""
        rows = self.con.execute(
            "SELECT file_name, name, type, converted_type, logical_type, num_children "
            f"FROM parquet_schema('{self.dirs[table]}/*/*.parquet')"
        ).fetchall()
        out = {}
        for file, name, ptype, conv, logical, children in rows:
            out.setdefault(file, [])
            if ptype is not None:  # the root group has no physical type
                out[file].append((name, ptype, annotation(conv, logical)))
        return out

    def query(self, sql):
        """Rows of `sql`; TIMESTAMP WITH TIME ZONE columns come back as UTC TIMESTAMP
        (the Python client needs pytz for zoned values)."""
        rel = self.con.sql(sql)
        if any(str(t) == "TIMESTAMP WITH TIME ZONE" for t in rel.types):
            cols = [
                f"timezone('UTC', \"{c}\") AS \"{c}\"" if str(t) == "TIMESTAMP WITH TIME ZONE" else f'"{c}"'
                for c, t in zip(rel.columns, rel.types)
            ]
            rel = rel.project(", ".join(cols))
        return [[norm_value(v) for v in row] for row in rel.fetchall()]


class SparkEngine:
    def __init__(self, dirs, log_path):
        # Timestamps come back as naive local datetimes: make local time UTC.
        os.environ["TZ"] = "UTC"
        time.tzset()
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        from pyspark.sql import SparkSession

        # The JVM inherits stderr: point it at the log file while it starts, so that
        # Spark's start-up chatter and later warnings go there.
        saved = os.dup(2)
        log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        sys.stderr.flush()
        os.dup2(log, 2)
        try:
            self.spark = (
                SparkSession.builder.master("local[2]")
                .appName("logdb-export-check")
                .config("spark.driver.memory", "1g")
                .config("spark.ui.enabled", "false")
                .config("spark.ui.showConsoleProgress", "false")
                .config("spark.sql.session.timeZone", "UTC")
                .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
                .config("spark.sql.shuffle.partitions", "4")
                .config("spark.sql.sources.parallelPartitionDiscovery.threshold", "1000")
                .getOrCreate()
            )
            self.spark.sparkContext.setLogLevel("ERROR")
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            os.close(log)
        self.version = self.spark.version
        self.frames = {}
        for table, d in dirs.items():
            df = self.spark.read.parquet(str(d))
            self.frames[table] = df
            # As for DuckDB: the partition column would shadow `... AS day`.
            df.drop("day").createOrReplaceTempView(table)

    def types(self, table):
        return {f.name: f.dataType.simpleString() for f in self.frames[table].schema.fields}

    def days_off(self, table, time_col):
        df = self.frames[table]
        return df.where(f"NOT (day <=> to_date(`{time_col}`))").count()

    def query(self, sql):
        return [[norm_value(v) for v in row] for row in self.spark.sql(sql).collect()]

    def stop(self):
        self.spark.stop()


# --------------------------------------------------------------------------------------


def missing_dependencies():
    missing = []
    for module, req in [("duckdb", "tools/requirements.txt"), ("pyspark", "tools/requirements-spark.txt")]:
        try:
            __import__(module)
        except ImportError:
            missing.append(f"the Python package {module} (pip install -r {req}, or pass --venv DIR)")
    if not java_bin():
        missing.append("java (Spark needs a JRE 17 or 21: apt-get install default-jre-headless)")
    return missing


def java_bin():
    """The java Spark's launcher runs: $JAVA_HOME/bin/java, else java on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and os.access(Path(java_home) / "bin" / "java", os.X_OK):
        return str(Path(java_home) / "bin" / "java")
    return shutil.which("java")


def java_version():
    proc = subprocess.run([java_bin(), "-version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    m = re.search(r'version "([^"]+)"', proc.stdout)
    return m.group(1) if m else "?"


def ms(s):
    if s is None:
        return "-"
    v = s * 1000
    return f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--logdb", help="logdb binary (default target/release/logdb, else target/debug/logdb)")
    ap.add_argument(
        "--export-with",
        choices=["logdb", "duckdb"],
        default="logdb",
        help="logdb: `logdb export DB TABLE DIR --format parquet` (default); duckdb: the same layout "
        "written by DuckDB from a CSV copy of the table",
    )
    ap.add_argument("--lines", type=int, default=200_000, help="access log lines (default 200,000)")
    ap.add_argument("--days", type=int, default=7, help="days of the access log (default 7)")
    ap.add_argument("--records", type=int, default=200_000, help="CSV records (default 200,000; one leap year)")
    ap.add_argument("--workdir", help="where data, database and exports go (default: a new temporary directory)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--venv", help="run in this venv, with requirements.txt and requirements-spark.txt installed")
    ap.add_argument("--install-only", action="store_true", help="with --venv: install the packages and exit")
    ap.add_argument("--skip-missing", action="store_true", help="without pyspark, duckdb or java: SKIP, exit 0")
    args = ap.parse_args()

    if args.venv:
        ci.ensure_venv(Path(args.venv), extra=[SPARK_REQUIREMENTS], script=__file__, flag=IN_VENV_ENV)
    if args.install_only:
        if not args.venv:
            sys.exit("error: --install-only needs --venv")
        print(f"packages ready in {sys.prefix}")
        return 0

    missing = missing_dependencies()
    if missing:
        what = "; ".join(missing)
        if args.skip_missing:
            print(f"SKIP export check: missing {what}")
            return 0
        print(f"error: the export check needs {what} (--skip-missing makes this a SKIP)", file=sys.stderr)
        return 1

    logdb = find_logdb(args.logdb)
    if args.workdir:
        work = Path(args.workdir).resolve()
        if work.exists() and any(work.iterdir()):
            sys.exit(f"error: --workdir {work} is not empty")
        work.mkdir(parents=True, exist_ok=True)
    else:
        work = Path(tempfile.mkdtemp(prefix="logdb-export-check."))
    try:
        return check(args, logdb, work)
    finally:
        if args.keep or args.workdir:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def check(args, logdb, work):
    t_start = time.perf_counter()
    steps = {}
    db = work / "db"

    # ---- data, as tools/bench.py makes and imports it
    t0 = time.perf_counter()
    access, records = work / "access.log", work / "records.csv"
    run([logdb, "generate", "--lines", args.lines, "--days", args.days, "--profile", "realistic", "-o", access], "generate")
    run([logdb, "generate", "--kind", "records", "--lines", args.records, "-o", records], "generate --kind records")
    run([logdb, "import", db, access, "--format", "combined", "-q"], "import of the access log")
    run([logdb, "import", db, records, "--format", "auto", "--table", wl.RECORDS_TABLE, "-q"], "import of the records")
    logs_params, _ = bench.pick_params("logdb", str(db), logdb, work, bench.PARAMS)
    records_params, _ = bench.pick_params("logdb", str(db), logdb, work, wl.RECORDS_PARAMS)
    steps["generate and import"] = time.perf_counter() - t0

    # ---- export
    t0 = time.perf_counter()
    tables = ["logs", wl.RECORDS_TABLE]
    dirs = {t: work / "export" / t for t in tables}
    (work / "export").mkdir()
    for t in tables:
        if args.export_with == "logdb":
            export_logdb(logdb, db, t, dirs[t])
        else:
            export_duckdb(logdb, db, t, dirs[t], work)
    steps[f"export ({args.export_with})"] = time.perf_counter() - t0

    problems = []
    lines = []  # (check, rows, logdb s, DuckDB s, Spark s, verdict)

    # ---- the files against the contract, then what each engine reads
    duck = DuckDBEngine(dirs)
    columns = {t: table_columns(logdb, db, t) for t in tables}
    for t in tables:
        found, n_days, n_files = file_problems(t, dirs[t], columns[t], duck)
        problems += found
        lines.append((f"{t}: layout, Parquet types", f"{n_days} days/{n_files} files", None, None, None,
                      "✗" if found else "✓"))

    # ---- Spark
    t0 = time.perf_counter()
    try:
        spark = SparkEngine(dirs, work / "spark.log")
    except Exception as e:
        log = work / "spark.log"
        tail = log.read_text(errors="replace").strip().splitlines()[-20:] if log.exists() else []
        print("\n".join(tail), file=sys.stderr)
        print(f"error: Spark did not start: {type(e).__name__}: {str(e).splitlines()[0]}", file=sys.stderr)
        return 1
    steps["Spark start-up"] = time.perf_counter() - t0

    for t in tables:
        found = read_problems(t, columns[t], duck, spark)
        problems += found
        time_col = next(name for name, _, is_time in columns[t] if is_time)
        lines.append((f"{t}: column types, day = UTC date of {time_col}", "", None, None, None, "✗" if found else "✓"))

    # ---- the questions
    qs = questions(logs_params, records_params)
    t0 = time.perf_counter()
    ref = logdb_queries(logdb, db, qs, work)
    steps["logdb queries"] = time.perf_counter() - t0
    spent = {"DuckDB": 0.0, "Spark": 0.0}
    for name, what, sql, spark_sql in qs:
        ref_rows, ref_s, ref_err = ref[name]
        if ref_err:
            problems.append(f"{name}: logdb failed: {ref_err}")
            lines.append((f"{name} {what}", "", None, None, None, "✗ logdb error"))
            continue
        times, verdict = {}, []
        for engine, run_query, text in [("DuckDB", duck.query, sql), ("Spark", spark.query, spark_sql)]:
            t0 = time.perf_counter()
            try:
                rows = run_query(text)
            except Exception as e:
                times[engine] = None
                problems.append(f"{name}: {engine} failed: {type(e).__name__}: {str(e).strip().splitlines()[0]}")
                verdict.append(f"{engine} error")
                continue
            times[engine] = time.perf_counter() - t0
            spent[engine] += times[engine]
            d = first_difference(ref_rows, rows)
            if d:
                problems.append(f"{name}: {engine} differs from logdb: {d}")
                verdict.append(f"{engine} differs")
        lines.append(
            (f"{name} {what}", f"{len(ref_rows):,}", ref_s, times.get("DuckDB"), times.get("Spark"),
             "✓" if not verdict else "✗ " + ", ".join(verdict))
        )
    steps["DuckDB queries"] = spent["DuckDB"]
    steps["Spark queries"] = spent["Spark"]
    spark_version = spark.version
    spark.stop()

    # ---- report
    head = ("check", "rows", "logdb ms", "DuckDB ms", "Spark ms", "agree")
    cells = [head] + [(c if len(c) <= 56 else c[:55] + "…", r, ms(a), ms(b), ms(s), v) for c, r, a, b, s, v in lines]
    widths = [max(len(row[i]) for row in cells) for i in range(len(head))]
    for row in cells:
        print("  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))).rstrip())
    total = time.perf_counter() - t_start
    print()
    print(
        f"logdb {run([logdb, '--version'], 'logdb --version').strip().removeprefix('logdb ')} ({logdb}), "
        f"DuckDB {duck.version}, Spark {spark_version} local[2] (Java {java_version()}); "
        f"export by {args.export_with}; {args.lines:,} access lines over {args.days} days, {args.records:,} records"
    )
    print("parameters: " + ", ".join(f"{k} = {v!r}" for k, v in {**logs_params, **{'records hot': records_params['hot']}}.items()))
    print("time: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()) + f"; total {total:.1f} s")
    print("logdb: in-process times of `logdb bench-queries`; DuckDB and Spark: query and fetch of every row")
    if problems:
        print("\nDIFFERENCES:")
        for p in problems:
            print(f"- {p}")
        return 1
    print("\nall answers agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
