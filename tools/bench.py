#!/usr/bin/env python3
"""End-to-end benchmark: logdb side by side with DuckDB and ClickHouse (chDB).

One run: make sure a venv with the pinned duckdb and chdb exists (and re-run inside it),
generate the log with `logdb generate` unless it is cached in the workdir, import it
with each engine (each in its own process under `/usr/bin/time -v`, as
tools/compare_import.py does), pick the query parameters from the data, run the query
suite on each engine (1 warm-up + `--runs` timed runs per query, each engine's query
phase in its own process), time the shell pipeline for the top-URIs question, compare
every engine's answers with logdb's, and print a markdown report (also written as JSON,
and with `--plot` as a PNG bar chart of the ratios). Exits 1 when an answer differs.

See tools/README.md and BENCHMARKS.md.

    python3 tools/bench.py --lines 200000 --runs 1      # smoke run
    python3 tools/bench.py                              # 10M lines, 5 runs
"""

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
REPO = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.dont_write_bytecode = True  # no __pycache__ in the repository
import compare_import as ci  # noqa: E402  (import workers and measurement helpers)
import bench_workloads as wl  # noqa: E402  (the records and real workloads, cold queries)

PLOT_REQUIREMENTS = TOOLS / "requirements-plot.txt"
IN_VENV_ENV = "LOGDB_BENCH_IN_VENV"
ENGINES = ("logdb", "duckdb", "chdb")
DB_NAMES = {"logdb": "logdb-{n}", "duckdb": "duckdb-{n}.duckdb", "chdb": "chdb-{n}"}
LABELS = {"logdb": "logdb", "duckdb": "DuckDB", "chdb": "chDB"}

# --------------------------------------------------------------------------------------
# The query suite. `sql` is logdb's dialect, which is also DuckDB's for every query
# here; `ch` is ClickHouse's. Same semantics everywhere: ties in top-N are broken by
# the keys ascending; NULL keys sort last (ClickHouse stores '' for a missing uid or
# user agent, so its ORDER BY puts '' last explicitly and the comparison treats '' as
# NULL). `{hot}`, `{rare}` and `{uri}` are filled in from the data (see PARAMS).

SUITE = [
    {
        "name": "Q1",
        "what": "count(*)",
        "sql": "SELECT count(*) FROM logs",
        "ch": "SELECT count() FROM logs",
    },
    {
        "name": "Q2",
        "what": "requests per hour",
        "sql": "SELECT date_trunc('hour', ts) AS hour, count(*) AS requests FROM logs "
        "GROUP BY hour ORDER BY hour",
        "ch": "SELECT toStartOfHour(ts) AS hour, count() AS requests FROM logs "
        "GROUP BY hour ORDER BY hour",
    },
    {
        "name": "Q3",
        "what": "top 10 uris",
        "sql": "SELECT uri, count(*) AS requests FROM logs "
        "GROUP BY uri ORDER BY requests DESC, uri LIMIT 10",
        "ch": "SELECT uri, count() AS requests FROM logs "
        "GROUP BY uri ORDER BY requests DESC, uri LIMIT 10",
    },
    {
        "name": "Q4",
        "what": "status mix",
        "sql": "SELECT status, count(*) AS requests FROM logs GROUP BY status ORDER BY status",
        "ch": "SELECT status, count() AS requests FROM logs GROUP BY status ORDER BY status",
    },
    {
        "name": "Q5",
        "what": "one hot uid's requests by hour of day",
        "sql": "SELECT hour(ts) AS hour, count(*) AS requests FROM logs "
        "WHERE uid = {hot} GROUP BY hour ORDER BY hour",
        "ch": "SELECT toHour(ts) AS hour, count() AS requests FROM logs "
        "WHERE uid = {hot} GROUP BY hour ORDER BY hour",
    },
    {
        "name": "Q6",
        "what": "p50/p95/p99 request_time of the top 10 uris (exact)",
        "sql": "SELECT uri, count(*) AS requests, quantile_cont(request_time, 0.5) AS p50, "
        "quantile_cont(request_time, 0.95) AS p95, quantile_cont(request_time, 0.99) AS p99 "
        "FROM logs GROUP BY uri ORDER BY requests DESC, uri LIMIT 10",
        "ch": "SELECT uri, count() AS requests, quantileExactInclusive(0.5)(request_time) AS p50, "
        "quantileExactInclusive(0.95)(request_time) AS p95, "
        "quantileExactInclusive(0.99)(request_time) AS p99 "
        "FROM logs GROUP BY uri ORDER BY requests DESC, uri LIMIT 10",
    },
    {
        "name": "Q7",
        "what": "distinct uids per day (exact)",
        "sql": "SELECT date_trunc('day', ts) AS day, count(DISTINCT uid) AS users FROM logs "
        "GROUP BY day ORDER BY day",
        "ch": "SELECT toStartOfDay(ts) AS day, uniqExactIf(uid, uid != '') AS users FROM logs "
        "GROUP BY day ORDER BY day",
    },
    {
        "name": "Q8",
        "what": "count by (day, hour, uid, user_agent, status), top 10",
        "sql": "SELECT date_trunc('day', ts) AS day, hour(ts) AS hour, uid, user_agent, status, "
        "count(*) AS requests FROM logs GROUP BY day, hour, uid, user_agent, status "
        "ORDER BY requests DESC, day, hour, uid, user_agent, status LIMIT 10",
        "ch": "SELECT toStartOfDay(ts) AS day, toHour(ts) AS hour, uid, user_agent, status, "
        "count() AS requests FROM logs GROUP BY day, hour, uid, user_agent, status "
        "ORDER BY requests DESC, day, hour, uid = '', uid, user_agent = '', user_agent, status "
        "LIMIT 10",
    },
    {
        "name": "Q9",
        "what": "all rows of one rare uid, by time",
        "sql": "SELECT ts, client_ip, method, uri, status, bytes, request_time FROM logs "
        "WHERE uid = {rare} ORDER BY ts, uri, method, status, bytes, request_time",
        "ch": "SELECT ts, client_ip, method, uri, status, bytes, request_time FROM logs "
        "WHERE uid = {rare} ORDER BY ts, uri, method, status, bytes, request_time",
    },
    {
        "name": "Q10",
        "what": "5xx per 5 minutes for one uri",
        "sql": "SELECT time_bucket(INTERVAL '5 minutes', ts) AS bucket, count(*) AS errors "
        "FROM logs WHERE uri = {uri} AND status BETWEEN 500 AND 599 "
        "GROUP BY bucket ORDER BY bucket",
        "ch": "SELECT toStartOfInterval(ts, INTERVAL 5 MINUTE) AS bucket, count() AS errors "
        "FROM logs WHERE uri = {uri} AND status BETWEEN 500 AND 599 "
        "GROUP BY bucket ORDER BY bucket",
    },
    {
        "name": "Q11",
        "what": "sessions per day (lag(ts) over each uid's requests, a new session after 30 minutes)",
        "sql": "SELECT date_trunc('day', ts) AS day, count(*) AS sessions FROM ("
        "SELECT ts, lag(ts) OVER (PARTITION BY uid ORDER BY ts) AS prev FROM logs WHERE uid IS NOT NULL) "
        "WHERE prev IS NULL OR ts - prev > INTERVAL 30 MINUTE GROUP BY day ORDER BY day",
        "ch": "SELECT toStartOfDay(ts) AS day, count() AS sessions FROM ("
        "SELECT ts, lagInFrame(toNullable(ts)) OVER (PARTITION BY uid ORDER BY ts "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS prev FROM logs WHERE uid != '') "
        "WHERE prev IS NULL OR ts - prev > 1800 GROUP BY day ORDER BY day",
    },
]

# Parameters, picked deterministically from the data (logdb/DuckDB dialect).
PARAMS = [
    {
        "name": "hot",
        "what": "the uid with the most requests",
        "sql": "SELECT uid, count(*) AS n FROM logs WHERE uid IS NOT NULL "
        "GROUP BY uid ORDER BY n DESC, uid LIMIT 1",
    },
    {
        "name": "rare",
        "what": "the first uid (by value) among those with the fewest requests, at least 3",
        "sql": "SELECT uid, count(*) AS n FROM logs WHERE uid IS NOT NULL "
        "GROUP BY uid HAVING count(*) >= 3 ORDER BY n, uid LIMIT 1",
    },
    {
        "name": "uri",
        "what": "the uri with the most 5xx responses",
        "sql": "SELECT uri, count(*) AS n FROM logs WHERE status BETWEEN 500 AND 599 "
        "GROUP BY uri ORDER BY n DESC, uri LIMIT 1",
    },
]

# The shell pipeline for Q3. It cuts the query string and fragment off the request
# target ($7) so that it counts what logdb's `uri` holds, and breaks ties like Q3.
SHELL_Q3 = [
    "awk '{{sub(/[?#].*/, \"\", $7); print $7}}' {file}",
    "sort",
    "uniq -c",
    "sort -k1,1nr -k2,2",
    "head",
]


def shell_q3(file, rss_dir=None):
    """The pipeline as shell text; with `rss_dir`, each stage runs under
    `/usr/bin/time -f %M` writing its peak RSS to rss_dir/stage-N (a pipeline's
    stages are grandchildren of the timed shell, which /usr/bin/time would not see)."""
    stages = [st.format(file=file) for st in SHELL_Q3]
    if rss_dir is not None and os.access(ci.TIME_BIN, os.X_OK):
        stages = [f"{ci.TIME_BIN} -f %M -o {rss_dir}/stage-{i} {st}" for i, st in enumerate(stages)]
    return " | ".join(stages)


def sql_str(s):
    """A SQL string literal valid in logdb, DuckDB and ClickHouse (quotes doubled; a
    backslash is an escape only in ClickHouse, so such values are refused)."""
    if "\\" in s:
        sys.exit(f"error: parameter {s!r} contains a backslash")
    return "'" + s.replace("'", "''") + "'"


def suite_for(engine, params, suite=None):
    """The suite's queries in `engine`'s dialect with the parameters filled in; a query
    run differently when cold (the records export) carries `cold_sql`."""
    key = "ch" if engine == "chdb" else "sql"
    lits = {k: sql_str(v) for k, v in params.items()}
    out = []
    for q in suite or SUITE:
        item = {"name": q["name"], "sql": q[key].format(**lits)}
        cold = q.get("cold_ch" if engine == "chdb" else "cold_sql")
        if cold:
            item["cold_sql"] = cold.format(**lits)
        out.append(item)
    return out


# --------------------------------------------------------------------------------------
# Workers: the query phase of a peer engine, in its own process (argv: DB QUERIES RUNS
# WARMUP OUT). Rows are written as text, NULL as "NULL".


def cell_text(v):
    if v is None:
        return "NULL"
    if isinstance(v, float):
        return repr(v)
    return str(v)


def run_suite(execute, queries, runs, warmup):
    out = []
    for q in queries:
        r = {"name": q["name"], "sql": q["sql"], "warmup_s": [], "times_s": [], "rows": [], "error": None}
        try:
            rows = None
            for i in range(warmup + runs):
                t0 = time.perf_counter()
                rows = execute(q["sql"])
                dt = time.perf_counter() - t0
                (r["warmup_s"] if i < warmup else r["times_s"]).append(dt)
            r["rows"] = [[cell_text(v) for v in row] for row in rows or []]
        except Exception as e:  # a failing query is reported, the others still run
            r["error"] = f"{type(e).__name__}: {e}"
        out.append(r)
    return out


def worker_duckdb_queries(db, qfile, runs, warmup, out):
    import duckdb

    con = duckdb.connect(db, read_only=True)
    con.execute("SET TimeZone = 'UTC'")
    baseline = ci.maxrss_kb()
    queries = json.loads(Path(qfile).read_text())
    results = run_suite(lambda sql: con.execute(sql).fetchall(), queries, runs, warmup)
    con.close()
    report = {
        "engine": "duckdb",
        "version": duckdb.__version__,
        "baseline_rss_kb": baseline,
        "peak_rss_kb": ci.maxrss_kb(),
        "queries": results,
    }
    Path(out).write_text(json.dumps(report, indent=1) + "\n")


def worker_chdb_queries(db, qfile, runs, warmup, out):
    import chdb
    from chdb import session

    s = session.Session(db)
    baseline = ci.maxrss_kb()

    def execute(sql):
        text = str(s.query(sql, "JSONCompactEachRow"))
        return [json.loads(line) for line in text.splitlines() if line]

    queries = json.loads(Path(qfile).read_text())
    results = run_suite(execute, queries, runs, warmup)
    s.close()
    report = {
        "engine": "chdb",
        "version": chdb.__version__,
        "baseline_rss_kb": baseline,
        "peak_rss_kb": ci.maxrss_kb(),
        "queries": results,
    }
    Path(out).write_text(json.dumps(report, indent=1) + "\n")


WORKERS = {"duckdb-queries": worker_duckdb_queries, "chdb-queries": worker_chdb_queries}


# --------------------------------------------------------------------------------------
# Answer comparison.

TS_FRACTION = re.compile(r"^(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d)(?:\.(\d*))?$")
MAPPED_V4 = re.compile(r"^::ffff:(\d+\.\d+\.\d+\.\d+)$", re.IGNORECASE)
REL_TOL = 1e-9


def norm_cell(s):
    """Text of one cell in a form every engine agrees on: '' and NULL are the same
    (ClickHouse columns are not Nullable), IPv4-mapped IPv6 prints dotted, timestamps
    drop a zero fraction and use a space."""
    if s is None or s in ("NULL", "", "\\N", "None"):
        return None
    m = MAPPED_V4.match(s)
    if m:
        return m.group(1)
    m = TS_FRACTION.match(s)
    if m:
        frac = (m.group(2) or "").rstrip("0")
        return m.group(1).replace("T", " ") + ("." + frac if frac else "")
    return s


def as_number(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def cells_equal(a, b):
    a, b = norm_cell(a), norm_cell(b)
    if a == b:
        return True
    x, y = as_number(a), as_number(b)
    if x is None or y is None:
        return False
    if math.isnan(x) and math.isnan(y):
        return True
    return math.isclose(x, y, rel_tol=REL_TOL, abs_tol=1e-12)


def compare_rows(ref, other):
    """None when equal, else a short description of the first difference."""
    if len(ref) != len(other):
        return f"{len(other)} rows, expected {len(ref)}"
    for i, (ra, rb) in enumerate(zip(ref, other)):
        if len(ra) != len(rb):
            return f"row {i + 1}: {len(rb)} columns, expected {len(ra)}"
        for j, (a, b) in enumerate(zip(ra, rb)):
            if not cells_equal(a, b):
                return f"row {i + 1} column {j + 1}: {b!r}, expected {a!r}"
    return None


# --------------------------------------------------------------------------------------
# Driver helpers.


def ensure_venv(venv, plot):
    """Create `venv` with the pinned packages (and the plotting ones with --plot) if
    needed, then re-execute this script in it."""
    extra = [PLOT_REQUIREMENTS] if plot else []
    ci.ensure_venv(venv, extra=extra, script=__file__, flag=IN_VENV_ENV)


def run_phase(cmd, label, env=None):
    """Run `cmd` under /usr/bin/time -v; return (wall s, peak RSS KiB, CPU s, rc, stderr).
    Unlike compare_import.run_measured, a non-zero exit is returned, not fatal."""
    have_time = os.access(ci.TIME_BIN, os.X_OK)
    stats_file = Path(f"/tmp/logdb-bench.{os.getpid()}.{label}.time")
    full = [ci.TIME_BIN, "-v", "-o", str(stats_file)] + cmd if have_time else cmd
    t0 = time.perf_counter()
    proc = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    wall = time.perf_counter() - t0
    rss = cpu = None
    if have_time and stats_file.exists():
        text = stats_file.read_text()
        stats_file.unlink()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
        rss = int(m.group(1)) if m else None
        user = re.search(r"User time \(seconds\): ([\d.]+)", text)
        system = re.search(r"System time \(seconds\): ([\d.]+)", text)
        if user and system:
            cpu = float(user.group(1)) + float(system.group(1))
    return wall, rss, cpu, proc.returncode, proc.stderr


def machine(logdb):
    def read(path):
        try:
            return Path(path).read_text()
        except OSError:
            return ""

    cpu = re.search(r"^model name\s*:\s*(.+)$", read("/proc/cpuinfo"), re.M)
    mem = re.search(r"^MemTotal:\s*(\d+) kB", read("/proc/meminfo"), re.M)
    logdb_version = subprocess.run([logdb, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip()
    logdb_version = logdb_version.removeprefix("logdb ")
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ).stdout.strip()
    except OSError:
        commit = ""

    def version(pkg):
        try:
            return metadata.version(pkg)
        except metadata.PackageNotFoundError:
            return None

    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(int(mem.group(1)) / 1024 / 1024, 1) if mem else None,
        "cpu": cpu.group(1).strip() if cpu else platform.processor(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "logdb": f"{logdb_version} ({commit})" if commit else logdb_version,
        "duckdb": version("duckdb"),
        "chdb": version("chdb"),
        "chdb_core": version("chdb-core"),
    }


def pick_params(engine, db, logdb, workdir, params=None):
    """The values of {hot}, {rare} and {uri} (or the workload's `params`), from DuckDB
    when it ran, else from logdb. A parameter the data has no value for (no uid in a
    real log) is 'none', which matches nothing in any engine."""
    params = params or PARAMS
    if engine == "duckdb":
        import duckdb

        con = duckdb.connect(db, read_only=True)
        rows = {p["name"]: con.execute(p["sql"]).fetchall() for p in params}
        if "rare" in rows and not rows["rare"]:
            rows["rare"] = con.execute(PARAMS[1]["sql"].replace("HAVING count(*) >= 3 ", "")).fetchall()
        con.close()
        return {k: str(v[0][0]) if v else "none" for k, v in rows.items()}, "duckdb"
    qfile = workdir / "params.json"
    qs = [{"name": p["name"], "sql": p["sql"]} for p in params]
    if params is PARAMS:
        qs.append({"name": "rare_any", "sql": PARAMS[1]["sql"].replace("HAVING count(*) >= 3 ", "")})
    qfile.write_text(json.dumps(qs))
    out = subprocess.run(
        [logdb, "bench-queries", db, "--queries", str(qfile), "--runs", "1", "--warmup", "0"],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    rows = {q["name"]: q["rows"] for q in json.loads(out)["queries"]}
    if "rare" in rows and not rows["rare"]:
        rows["rare"] = rows["rare_any"]
    return {p["name"]: rows[p["name"]][0][0] if rows[p["name"]] else "none" for p in params}, "logdb"


def stats(times):
    if not times:
        return None
    return {"median": statistics.median(times), "min": min(times), "max": max(times)}


def ms(s):
    if s is None:
        return "-"
    v = s * 1000
    return f"{v:.2f}" if v < 10 else f"{v:.1f}" if v < 100 else f"{v:,.0f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    if r is None:
        return "-"
    return f"{r:.2f}" if r >= 0.01 else f"{r:.1g}"


def mib(kb):
    return "-" if kb is None else f"{kb / 1024:.0f}"


# --------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=10_000_000, help="lines to generate (default 10M)")
    ap.add_argument("--days", type=int, default=7, help="days of traffic (logdb generate --days)")
    ap.add_argument("--runs", type=int, default=5, help="timed runs per query, after 1 warm-up")
    ap.add_argument("--shell-runs", type=int, default=1, help="timed runs of the shell pipeline (0: skip)")
    ap.add_argument("--workdir", default="/tmp/logdb-bench", help="where the log and the databases go")
    ap.add_argument("--venv", default=str(REPO / ".venv-bench"), help="venv with duckdb and chdb")
    ap.add_argument("--logdb", help="logdb binary (default: target/release/logdb, built if missing)")
    ap.add_argument("--json", help="write the report here (default WORKDIR/bench-N.json)")
    ap.add_argument(
        "--plot",
        nargs="?",
        const="",
        default=None,
        help="write a PNG bar chart of the ratios (default path: the JSON's, .png)",
    )
    ap.add_argument("--engines", default="logdb,duckdb,chdb", help="comma-separated subset of logdb,duckdb,chdb")
    ap.add_argument(
        "--reuse-dbs",
        action="store_true",
        help="skip the import of an engine whose database is already in the workdir (no import numbers)",
    )
    ap.add_argument("--ch-codec", choices=["zstd", "lz4"], default="zstd", help="ClickHouse codecs (compare_import)")
    ap.add_argument(
        "--workload",
        choices=["access", "records", "real"],
        default="access",
        help="access: the generated access log (default); records: the generated CSV records "
        "(--lines rows); real: the real logs of tests/data/real and ../shared/data/real",
    )
    ap.add_argument("--profile", choices=["realistic", "simple"], default="realistic", help="access log profile")
    ap.add_argument("--cold-runs", type=int, default=1, help="cold runs per query, each a fresh process (0: skip)")
    ap.add_argument("--duckdb-cli", help="DuckDB CLI for cold queries (default: duckdb on PATH, /tmp/ddbcli/bin/duckdb)")
    args = ap.parse_args()

    ensure_venv(Path(args.venv), args.plot is not None)

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ENGINES:
            sys.exit(f"error: unknown engine '{e}' (known: {', '.join(ENGINES)})")
    if args.runs < 1:
        sys.exit("error: --runs must be at least 1")
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    logdb = ci.find_logdb(args.logdb)
    workload = args.workload
    suite, params_spec, table = SUITE, PARAMS, "logs"
    if workload == "records":
        suite, params_spec, table = wl.RECORDS_SUITE, wl.RECORDS_PARAMS, wl.RECORDS_TABLE
    me = str(Path(__file__).resolve())
    ci_script = str(TOOLS / "compare_import.py")
    wl_script = str(TOOLS / "bench_workloads.py")
    t_start = time.perf_counter()

    if workload == "real":
        combined, _other = wl.real_logs(REPO)
        if not combined:
            sys.exit("error: no combined-format log in tests/data/real")
        tag = "real"
        src = workdir / "real-combined.log"
        wl.concat(combined, src)
        args.lines = sum(1 for _ in open(src, "rb"))
    elif workload == "records":
        tag = f"records-{args.lines}"
        src = workdir / f"{tag}.csv"
        gen = ["--kind", "records"]
    else:
        tag = f"{args.lines}-d{args.days}" + ("" if args.profile == "realistic" else f"-{args.profile}")
        src = workdir / f"access-{tag}.log"
        gen = ["--days", str(args.days), "--profile", args.profile]
    json_path = Path(args.json) if args.json else workdir / f"bench-{tag}.json"
    if not src.exists():
        print(f"generating {args.lines} lines into {src}", file=sys.stderr)
        tmp = src.with_suffix(".tmp")
        t0 = time.perf_counter()
        subprocess.run([logdb, "generate", "--lines", str(args.lines), *gen, "-o", str(tmp)], check=True)
        print(f"  {args.lines / (time.perf_counter() - t0):,.0f} lines/s", file=sys.stderr)
        tmp.rename(src)
    raw_bytes = src.stat().st_size
    with open(src, "rb") as f:  # page cache: no engine pays for the first read
        while f.read(1 << 24):
            pass

    load_start = ci.loadavg()
    problems = []

    # ---- import
    imports = {}
    # DuckDB writes the storage format its CLI (1.5) reads, for the cold queries. Its
    # input: read_csv of space-delimited quoted fields for the generated log, the
    # line regex for the real one (whose quoting the CSV reader refuses).
    opts = json.dumps(
        {
            "ch_input": "lines",
            "ch_codec": args.ch_codec,
            "duckdb_storage": "v1.5.0",
            "duckdb_input": "regex" if workload == "real" else "csv",
        }
    )
    for engine in engines:
        db = workdir / DB_NAMES[engine].format(n=tag)
        if args.reuse_dbs and db.exists():
            print(f"reusing {db}", file=sys.stderr)
            continue
        ci.remove(db)
        print(f"importing with {engine} (load {' '.join(ci.loadavg() or [])})", file=sys.stderr)
        load_before = ci.loadavg()
        if engine == "logdb" and workload == "records":
            cmd = [logdb, "import", str(db), str(src), "--format", "auto", "--table", table, "-q"]
        elif engine == "logdb":
            cmd = [logdb, "import", str(db), str(src), "--format", "combined", "-q"]
        elif workload == "records":
            cmd = [sys.executable, wl_script, "_worker", f"{engine}-import-records", str(src), str(db), opts]
        else:
            cmd = [sys.executable, ci_script, "_worker", f"{engine}-import", str(src), str(db), opts]
        wall, rss, cpu, out, _ = ci.run_measured(cmd, f"bench-{engine}")
        r = {"wall_s": wall, "peak_rss_kb": rss, "cpu_s": cpu, "load_before": load_before, "load_after": ci.loadavg()}
        r["import_s"] = wall if engine == "logdb" else ci.worker_result(out)["import_s"]
        r["disk_bytes"], r["disk_allocated_bytes"] = ci.disk_usage(db)
        r["lines_per_s"] = args.lines / r["import_s"]
        imports[engine] = r

    # ---- parameters
    picker = "duckdb" if "duckdb" in engines else "logdb"
    params, picked_by = pick_params(picker, str(workdir / DB_NAMES[picker].format(n=tag)), logdb, workdir, params_spec)
    print(f"parameters (from {picked_by}): {params}", file=sys.stderr)

    # ---- queries, one process per engine
    phases = {}
    answers = {}
    for engine in engines:
        db = str(workdir / DB_NAMES[engine].format(n=tag))
        qfile = workdir / f"queries-{engine}-{tag}.json"
        qfile.write_text(json.dumps(suite_for(engine, params, suite), indent=1) + "\n")
        out = workdir / f"results-{engine}-{tag}.json"
        if out.exists():
            out.unlink()
        print(f"queries on {engine} (load {' '.join(ci.loadavg() or [])})", file=sys.stderr)
        if engine == "logdb":
            cmd = [logdb, "bench-queries", db, "--queries", str(qfile), "--runs", str(args.runs)]
            cmd += ["--warmup", "1", "--json", str(out)]
        else:
            cmd = [sys.executable, me, "_worker", f"{engine}-queries", db, str(qfile), str(args.runs), "1", str(out)]
        load_before = ci.loadavg()
        wall, rss, cpu, rc, err = run_phase(cmd, engine)
        if not out.exists():
            sys.stderr.write(err)
            sys.exit(f"error: the {engine} query phase failed (exit {rc})")
        rep = json.loads(out.read_text())
        phases[engine] = {
            "wall_s": wall,
            "peak_rss_kb": rss if rss is not None else rep.get("peak_rss_kb"),
            "cpu_s": cpu,
            "baseline_rss_kb": rep.get("baseline_rss_kb"),
            "version": rep.get("version"),
            "load_before": load_before,
            "load_after": ci.loadavg(),
        }
        answers[engine] = {q["name"]: q for q in rep["queries"]}
        for q in rep["queries"]:
            if q.get("error"):
                problems.append(f"{engine} {q['name']} failed: {q['error']}")

    # ---- cold: one fresh process per query, whole wall time
    cold = {}
    cli = wl.duckdb_cli(args.duckdb_cli)
    if args.cold_runs > 0:
        dbs = {e: str(workdir / DB_NAMES[e].format(n=tag)) for e in engines}
        suites = {e: suite_for(e, params, suite) for e in engines}
        cold = wl.cold_suite(engines, suites, dbs, args.cold_runs, workdir, logdb, cli, sys.executable, ci.loadavg)
        for engine, res in cold.items():
            for name, r in (res or {}).items():
                if r["error"]:
                    problems.append(f"cold {engine} {name} failed: {r['error']}")
        # Exports: every engine wrote the same number of lines (a header each).
        for q in suite:
            if q.get("export"):
                counts = {e: (cold[e] or {}).get(q["name"], {}).get("result_lines") for e in engines if cold.get(e)}
                if len(set(counts.values())) > 1:
                    problems.append(f"cold {q['name']} export line counts differ: {counts}")

    # ---- the shell pipeline for Q3
    shell = None
    if args.shell_runs > 0 and workload != "records":
        rss_dir = workdir / "shell-rss"
        rss_dir.mkdir(exist_ok=True)
        result = workdir / "shell-q3.txt"
        cmd = shell_q3(src, rss_dir) + " > " + str(result)
        env = dict(os.environ, LC_ALL="C")
        times, stage_rss = [], {}
        print(f"shell pipeline (load {' '.join(ci.loadavg() or [])})", file=sys.stderr)
        for _ in range(args.shell_runs):
            wall, _, _, rc, err = run_phase(["bash", "-c", cmd], "shell", env)
            if rc != 0:
                problems.append(f"shell pipeline failed (exit {rc}): {err.strip()[-200:]}")
                break
            times.append(wall)
            for f in rss_dir.glob("stage-*"):
                # The last line is the peak RSS in KiB (a stage killed by SIGPIPE
                # after `head` exits has a line about the signal before it).
                kb = [int(x) for x in f.read_text().split() if x.isdigit()]
                if kb:
                    stage_rss[f.name] = max(stage_rss.get(f.name, 0), kb[-1])
        rows = []
        if times:
            rows = [line.split(None, 1)[::-1] for line in result.read_text().splitlines() if line.strip()]
        shell = {
            "command": "LC_ALL=C " + shell_q3("FILE"),
            "times_s": times,
            "peak_rss_kb": max(stage_rss.values()) if stage_rss else None,
            "stage_peak_rss_kb": stage_rss,
            "rows": rows,
        }

    load_end = ci.loadavg()

    # ---- answers
    ref_engine = "logdb" if "logdb" in answers else (engines[0] if engines else None)
    per_query = []
    for q in suite:
        name = q["name"]
        row = {"name": name, "what": q["what"], "engines": {}, "match": True, "diffs": {}}
        ref = answers.get(ref_engine, {}).get(name)
        for engine in engines:
            a = answers[engine].get(name)
            row["engines"][engine] = {"stats": stats(a.get("times_s")), "rows": len(a.get("rows") or []), "error": a.get("error")}
            if a.get("error"):
                row["match"] = False
                continue
            if engine != ref_engine and ref is not None and not ref.get("error"):
                d = compare_rows(ref["rows"], a["rows"])
                if d:
                    row["match"] = False
                    row["diffs"][engine] = d
                    problems.append(f"{name}: {engine} differs from {ref_engine}: {d}")
        per_query.append(row)
    first = suite[0]["name"]
    for engine in engines:
        q1 = answers[engine].get(first)
        if q1 and not q1.get("error") and q1["rows"] and as_number(q1["rows"][0][0]) != args.lines:
            problems.append(f"{engine} holds {q1['rows'][0][0]} rows, expected {args.lines}")
    if shell and shell["times_s"] and ref_engine and "Q3" in answers[ref_engine]:
        shell["match"] = compare_rows(answers[ref_engine]["Q3"]["rows"], shell["rows"]) is None
        if not shell["match"]:
            problems.append("shell pipeline: top uris differ from " + ref_engine)

    # ---- report
    report_md = render(args, engines, per_query, imports, phases, shell, raw_bytes)
    report_md += "\n\n" + render_cold(engines, suite, cold, cli)
    mach = machine(logdb)
    total_s = time.perf_counter() - t_start
    cmdline = "python3 tools/bench.py " + " ".join(sys.argv[1:])
    notes = [
        f"machine: {mach['nproc']} cores, {mach['ram_gib']} GiB RAM, {mach['cpu']}, Linux {mach['kernel']}",
        f"versions: logdb {mach['logdb']}, duckdb {mach['duckdb']}, chdb {mach['chdb']} (chdb-core {mach['chdb_core']})",
        f"load average (1/5/15 min): before {' '.join(load_start or [])}, after {' '.join(load_end or [])}",
        f"data: {src.name}, {args.lines:,} lines, {raw_bytes / 2**20:.1f} MiB; parameters from {picked_by}: "
        + ", ".join(f"{k} = {v!r}" for k, v in params.items()),
        f"runs: 1 warm-up + {args.runs} timed per query (warm, in-process); {args.cold_runs} cold run(s) per query "
        f"(a fresh process each, whole wall time); total bench time {total_s:.0f} s",
        f"workload: {workload}" + (f", profile {args.profile}" if workload == "access" else ""),
        "cold peers: DuckDB CLI "
        + (subprocess.run([cli, "--version"], stdout=subprocess.PIPE, text=True).stdout.strip() if cli else "absent")
        + f", chDB via {sys.executable} -c",
    ]
    print(f"`{cmdline}`\n")
    print(report_md)
    for n in notes:
        print(f"- {n}")
    if problems:
        # Real logs hold lines the peers' readers drop (an unterminated quote) and
        # fields they store as 0 rather than NULL: listed, not fatal.
        print("\nDIFFERENCES (real logs, not fatal):" if workload == "real" else "\nPROBLEMS:")
        for p in problems:
            print(f"- {p}")
    else:
        print("\nall answers match")

    report = {
        "command": cmdline,
        "lines": args.lines,
        "days": args.days,
        "runs": args.runs,
        "raw_bytes": raw_bytes,
        "machine": mach,
        "load_start": load_start,
        "load_end": load_end,
        "params": params,
        "params_from": picked_by,
        "workload": workload,
        "profile": args.profile if workload == "access" else None,
        "suite": {e: suite_for(e, params, suite) for e in engines},
        "cold": cold,
        "duckdb_cli": cli,
        "queries": per_query,
        "imports": imports,
        "query_phases": phases,
        "shell_q3": shell,
        "answers_match": not problems,
        "problems": problems,
        "report_markdown": report_md,
        "total_s": total_s,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {json_path}")
    if args.plot is not None:
        png = Path(args.plot) if args.plot else json_path.with_suffix(".png")
        plot(png, engines, per_query, imports, args.lines)
        print(f"plot: {png}")
    if problems and workload != "real":
        sys.exit(1)


def render(args, engines, per_query, imports, phases, shell, raw_bytes):
    peers = [e for e in engines if e != "logdb"]
    has_logdb = "logdb" in engines
    out = []
    head = ["query", "what"] + [f"{LABELS[e]} ms" for e in engines]
    if has_logdb:
        head += [f"logdb/{LABELS[p]}" for p in peers]
    head.append("answers match")
    out.append("| " + " | ".join(head) + " |")
    out.append("|" + "---|" * len(head))
    for q in per_query:
        cells = [q["name"], q["what"]]
        for e in engines:
            s = q["engines"][e]["stats"]
            cells.append("error" if q["engines"][e]["error"] else f"{ms(s['median'])} ({ms(s['min'])}–{ms(s['max'])})")
        if has_logdb:
            lm = (q["engines"]["logdb"]["stats"] or {}).get("median")
            for p in peers:
                cells.append(fmt_ratio(ratio(lm, (q["engines"][p]["stats"] or {}).get("median"))))
        cells.append("✓" if q["match"] else "✗")
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append("Times: median (min–max) of the timed runs, in milliseconds; ratios are medians logdb/peer (< 1: logdb faster).")
    if shell and shell["times_s"]:
        s = stats(shell["times_s"])
        lm = None
        if has_logdb:
            lm = (per_query[2]["engines"]["logdb"]["stats"] or {}).get("median")
        out.append(
            f"\nShell pipeline for Q3 (`{shell['command']}`): {ms(s['median'])} ms median of {len(shell['times_s'])}, "
            f"peak RSS of its largest stage {mib(shell['peak_rss_kb'])} MiB"
            + (f", logdb Q3 / shell = {fmt_ratio(ratio(lm, s['median']))}" if lm else "")
            + f", answer {'matches' if shell.get('match') else 'DIFFERS'}."
        )
    if imports:
        out.append("")
        out.append(
            "| import | time s | CPU s | lines/s | on disk MiB | bytes/line | peak RSS MiB "
            "| time logdb/x | size logdb/x | RSS logdb/x |"
        )
        out.append("|" + "---|" * 10)
        base = imports.get("logdb")
        for e, r in imports.items():
            rs = ["-", "-", "-"]
            if base and e != "logdb":
                rs = [
                    fmt_ratio(ratio(base["import_s"], r["import_s"])),
                    fmt_ratio(ratio(base["disk_bytes"], r["disk_bytes"])),
                    fmt_ratio(ratio(base["peak_rss_kb"], r["peak_rss_kb"])),
                ]
            out.append(
                f"| {LABELS[e]} | {r['import_s']:.2f} | {r['cpu_s']:.1f} | {r['lines_per_s']:,.0f} "
                f"| {r['disk_bytes'] / 2**20:.1f} "
                f"| {r['disk_bytes'] / args.lines:.1f} | {mib(r['peak_rss_kb'])} | " + " | ".join(rs) + " |"
            )
        out.append(f"\nRaw log: {raw_bytes / 2**20:.1f} MiB ({raw_bytes / args.lines:.1f} bytes/line).")
    out.append("")
    out.append("| query phase | process wall s | CPU s | peak RSS MiB | RSS before the first query MiB |")
    out.append("|---|---|---|---|---|")
    for e, p in phases.items():
        cpu = "-" if p["cpu_s"] is None else f"{p['cpu_s']:.1f}"
        out.append(f"| {LABELS[e]} | {p['wall_s']:.1f} | {cpu} | {mib(p['peak_rss_kb'])} | {mib(p['baseline_rss_kb'])} |")
    return "\n".join(out)


def render_cold(engines, suite, cold, cli):
    """The cold table: median wall time of a fresh process per query, and its peak RSS."""
    if not cold:
        return "Cold queries: skipped (--cold-runs 0)."
    ran = [e for e in engines if cold.get(e)]
    peers = [e for e in ran if e != "logdb"]
    label = {"logdb": "logdb", "duckdb": "DuckDB CLI", "chdb": "chDB (python -c)"}
    head = ["query"] + [f"{label[e]} ms" for e in ran]
    if "logdb" in ran:
        head += [f"logdb/{LABELS[p]}" for p in peers]
    head += [f"{LABELS[e]} peak RSS MiB" for e in ran] + ["result lines"]
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for q in suite:
        cells = [q["name"]]
        med = {}
        for e in ran:
            r = cold[e].get(q["name"], {})
            s = stats(r.get("times_s"))
            med[e] = s["median"] if s else None
            cells.append("error" if r.get("error") else ms(med[e]))
        if "logdb" in ran:
            cells += [fmt_ratio(ratio(med["logdb"], med[p])) for p in peers]
        for e in ran:
            rss = [x for x in cold[e].get(q["name"], {}).get("peak_rss_kb") or [] if x]
            cells.append(mib(max(rss)) if rss else "-")
        lines = {cold[e].get(q["name"], {}).get("result_lines") for e in ran}
        cells.append(" / ".join(str(x) for x in sorted(lines, key=str)))
        out.append("| " + " | ".join(cells) + " |")
    out.append("")
    out.append(
        "Cold: each query in a fresh process, whole wall time (process start, opening the database, "
        "the query, writing the result as CSV to a file), nothing subtracted; median of the cold runs; "
        "the page cache is warm; queries that export their whole result run after the others, so that "
        "the write-back of a large file does not fall on the next query. logdb: `logdb DB -o csv -c SQL`; DuckDB: "
        f"`{cli or 'duckdb'} -readonly FILE -csv -c SQL`; chDB: `python -c` opening a session "
        "(Python's start-up and `import chdb` included). Result lines include a header."
    )
    if "duckdb" in engines and not cold.get("duckdb"):
        out.append("DuckDB CLI not found: no DuckDB cold times.")
    return "\n".join(out)


def plot(png, engines, per_query, imports, lines):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    peers = [e for e in engines if e != "logdb"]
    if "logdb" not in engines or not peers:
        print("plot: needs logdb and at least one peer", file=sys.stderr)
        return
    labels = [q["name"] for q in per_query]
    series = {p: [] for p in peers}
    for q in per_query:
        lm = (q["engines"]["logdb"]["stats"] or {}).get("median")
        for p in peers:
            series[p].append(ratio(lm, (q["engines"][p]["stats"] or {}).get("median")) or float("nan"))
    if imports.get("logdb"):
        labels.append("import")
        for p in peers:
            r = imports.get(p)
            series[p].append(ratio(imports["logdb"]["import_s"], r["import_s"]) if r else float("nan"))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / len(peers)
    for i, p in enumerate(peers):
        xs = [x + (i - (len(peers) - 1) / 2) * width for x in range(len(labels))]
        ax.bar(xs, series[p], width, label=f"logdb / {LABELS[p]}")
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels)
    ax.set_ylabel("time ratio (log scale, < 1: logdb faster)")
    ax.set_title(f"logdb vs peers, {lines:,} lines (median times)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(png, dpi=120)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        name, db, qfile, runs, warmup, out = sys.argv[2:8]
        WORKERS[name](db, qfile, int(runs), int(warmup), out)
    else:
        main()
