"""The workloads of tools/bench.py other than the generated access log's query suite
(which stays in bench.py), and the cold-query runner all workloads share.

- `records`: `logdb generate --kind records` (a CSV of user activity over one leap
  year), imported by logdb with `--format auto`, by DuckDB with `read_csv` (auto
  detection) and by ClickHouse from `file(..., 'CSVWithNames')` into a MergeTree
  table with a declared schema; queries: the full (day, hour, user, terminal, module)
  count (exported as CSV to a file when cold), counts per day, one hot user's activity
  by module and hour, the top 10 users of each module.
- `real`: the real access logs of the repository (`tests/data/real`, and
  `../shared/data/real` when present), the combined-format ones concatenated, run
  through the access suite.

Cold queries: a fresh process per query, the whole wall time, nothing subtracted:
`logdb DB -o csv -c SQL`, the DuckDB CLI `duckdb -readonly FILE -csv -c SQL`, and
chDB as `python -c` (Python's start-up and `import chdb` included). Each under
`/usr/bin/time -v` for its peak RSS; the result goes to a file.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

TIME_BIN = "/usr/bin/time"
# A cold result file larger than this is deleted once its lines are counted.
EXPORT_KEEP_BYTES = 256 << 20

# --------------------------------------------------------------------------------------
# records

RECORDS_TABLE = "records"

# The grouping every query of the published case starts from.
JOBS = (
    "SELECT date_trunc('day', access_time) AS day, hour(access_time) AS hour, user_id, terminal, "
    "module, count(*) AS n FROM records GROUP BY day, hour, user_id, terminal, module"
)
JOBS_CH = (
    "SELECT toStartOfDay(access_time) AS day, toHour(access_time) AS hour, user_id, terminal, "
    "module, count() AS n FROM records GROUP BY day, hour, user_id, terminal, module"
)

RECORDS_SUITE = [
    {"name": "R1", "what": "count(*)", "sql": "SELECT count(*) FROM records", "ch": "SELECT count() FROM records"},
    {
        "name": "R2",
        "what": "jobs: count by (day, hour, user_id, terminal, module), all groups "
        "(cold: exported in full as CSV to a file; warm: the groups counted and summed)",
        "sql": f"SELECT count(*) AS groups, sum(n) AS rows FROM ({JOBS})",
        "ch": f"SELECT count() AS groups, sum(n) AS rows FROM ({JOBS_CH})",
        "cold_sql": JOBS,
        "cold_ch": JOBS_CH,
        "export": True,
    },
    {
        "name": "R3",
        "what": "rows per day",
        "sql": "SELECT date_trunc('day', access_time) AS day, count(*) AS n FROM records "
        "GROUP BY day ORDER BY day",
        "ch": "SELECT toStartOfDay(access_time) AS day, count() AS n FROM records GROUP BY day ORDER BY day",
    },
    {
        "name": "R4",
        "what": "one hot user's activity by module and hour",
        "sql": "SELECT module, hour(access_time) AS hour, count(*) AS n FROM records "
        "WHERE user_id = CAST({hot} AS BIGINT) GROUP BY module, hour ORDER BY module, hour",
        "ch": "SELECT module, toHour(access_time) AS hour, count() AS n FROM records "
        "WHERE user_id = toInt64({hot}) GROUP BY module, hour ORDER BY module, hour",
    },
    {
        "name": "R5",
        "what": "top 10 users per module",
        "sql": "SELECT module, user_id, n FROM (SELECT module, user_id, count(*) AS n, "
        "row_number() OVER (PARTITION BY module ORDER BY count(*) DESC, user_id) AS rn "
        "FROM records GROUP BY module, user_id) WHERE rn <= 10 ORDER BY module, rn",
        "ch": "SELECT module, user_id, n FROM (SELECT module, user_id, count() AS n, "
        "row_number() OVER (PARTITION BY module ORDER BY count() DESC, user_id) AS rn "
        "FROM records GROUP BY module, user_id) WHERE rn <= 10 ORDER BY module, rn",
    },
]

RECORDS_PARAMS = [
    {
        "name": "hot",
        "what": "the user with the most rows in one day",
        "sql": "SELECT user_id, count(*) AS n FROM records "
        "GROUP BY user_id, date_trunc('day', access_time) ORDER BY n DESC, user_id LIMIT 1",
    },
]

CH_RECORDS_TABLE = """CREATE TABLE records (
  user_id Int64 CODEC(ZSTD(1)),
  access_time DateTime('UTC') CODEC(Delta, ZSTD(1)),
  terminal String CODEC(ZSTD(1)),
  module LowCardinality(String) CODEC(ZSTD(1)),
  content String CODEC(ZSTD(1))
) ENGINE = MergeTree
PARTITION BY toYYYYMM(access_time)
ORDER BY (access_time)"""


def maxrss_kb():
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker_duckdb_import_records(src, db, opts):
    import duckdb

    baseline = maxrss_kb()
    t0 = time.perf_counter()
    config = {"storage_compatibility_version": opts["duckdb_storage"]} if opts.get("duckdb_storage") else {}
    con = duckdb.connect(db, config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"CREATE TABLE records AS SELECT * FROM read_csv('{src}')")
    con.execute("CHECKPOINT")
    con.close()
    return {"import_s": time.perf_counter() - t0, "baseline_rss_kb": baseline, "version": duckdb.__version__}


def worker_chdb_import_records(src, db, _opts):
    import chdb
    from chdb import session

    baseline = maxrss_kb()
    t0 = time.perf_counter()
    s = session.Session(db)
    s.query(CH_RECORDS_TABLE)
    s.query(
        f"INSERT INTO records SELECT * FROM file('{src}', 'CSVWithNames', "
        "'user_id Int64, access_time DateTime(\\'UTC\\'), terminal String, module String, content String')"
    )
    s.close()
    return {"import_s": time.perf_counter() - t0, "baseline_rss_kb": baseline, "version": chdb.__version__}


IMPORT_WORKERS = {
    "duckdb-import-records": worker_duckdb_import_records,
    "chdb-import-records": worker_chdb_import_records,
}


def import_worker_main(argv):
    name, src, db, opts = argv[0], argv[1], argv[2], json.loads(argv[3])
    result = IMPORT_WORKERS[name](src, db, opts)
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------
# real


def real_logs(repo):
    """The combined-format real logs (distinct by content), and the other files seen."""
    dirs = [repo / "tests" / "data" / "real", repo.parent / "shared" / "data" / "real"]
    seen, combined, other = set(), [], []
    for d in dirs:
        if not d.is_dir():
            continue
        for f in sorted(d.glob("*.log")):
            digest = hashlib.sha256(f.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            (combined if "combined" in f.name else other).append(f)
    return combined, other


def concat(files, dest):
    with open(dest, "wb") as out:
        for f in files:
            data = f.read_bytes()
            out.write(data if data.endswith(b"\n") else data + b"\n")


# --------------------------------------------------------------------------------------
# Cold queries

CHDB_COLD = (
    "import sys\n"
    "from chdb import session\n"
    "s = session.Session(sys.argv[1])\n"
    "r = s.query(sys.argv[2], 'CSVWithNames')\n"
    "open(sys.argv[3], 'wb').write(r.bytes())\n"
    "s.close()\n"
)


def duckdb_cli(arg):
    """The DuckDB CLI: `arg`, else `duckdb` on PATH, else /tmp/ddbcli/bin/duckdb. A
    launcher script (pip's `duckdb-cli` entry point, a pyenv shim) is resolved to the
    binary it starts: the launcher adds 0.1-0.4 s to every cold query."""
    for c in [arg, shutil.which("duckdb"), "/tmp/ddbcli/bin/duckdb"]:
        if c and os.access(c, os.X_OK):
            return cli_binary(c)
    return None


def cli_binary(path):
    """`path` itself when it is a binary, else the binary of the `duckdb_cli` package
    that the Python launching it (or python3 on PATH) has installed."""
    with open(path, "rb") as f:
        head = f.readline()
    if not head.startswith(b"#!"):
        return path
    interp = head[2:].decode(errors="replace").split()
    pythons = [interp[0]] if interp and "python" in interp[0] else []
    pythons += [shutil.which("python3"), sys.executable]
    for python in filter(None, pythons):
        r = subprocess.run(
            [python, "-c", "import duckdb_cli, os; print(os.path.dirname(duckdb_cli.__file__))"],
            capture_output=True,
            text=True,
        )
        binary = Path(r.stdout.strip()) / "duckdb"
        if r.returncode == 0 and os.access(binary, os.X_OK):
            return str(binary)
    return path


def cold_command(engine, db, sql, out, logdb, cli, python):
    """(argv, writes stdout to `out`?) of one cold query."""
    if engine == "logdb":
        return [logdb, db, "-o", "csv", "-c", sql], True
    if engine == "duckdb":
        return [cli, "-readonly", db, "-csv", "-c", sql], True
    return [python, "-c", CHDB_COLD, db, sql, str(out)], False


def run_cold(cmd, out, to_stdout):
    """Run one cold query; (wall s, peak RSS KiB, exit code, stderr tail, result lines)."""
    have_time = os.access(TIME_BIN, os.X_OK)
    stats = Path(f"{out}.time")
    full = [TIME_BIN, "-v", "-o", str(stats)] + cmd if have_time else cmd
    with open(out, "wb") if to_stdout else open(os.devnull, "wb") as sink:
        t0 = time.perf_counter()
        proc = subprocess.run(full, stdout=sink, stderr=subprocess.PIPE)
        wall = time.perf_counter() - t0
    rss = None
    if have_time and stats.exists():
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", stats.read_text())
        rss = int(m.group(1)) if m else None
        stats.unlink()
    lines = None
    if Path(out).exists():
        with open(out, "rb") as f:
            lines = sum(buf.count(b"\n") for buf in iter(lambda: f.read(1 << 20), b""))
    return wall, rss, proc.returncode, proc.stderr.decode(errors="replace")[-300:], lines


def cold_suite(engines, suites, dbs, runs, workdir, logdb, cli, python, loadavg):
    """Every query of every engine `runs` times, each run a fresh process. Queries
    that export their whole result (a file of millions of lines) run after the
    others, so that its write-back does not fall on the next query. Returns
    {engine: {query: {"times_s", "peak_rss_kb", "result_lines", "error", "load"}}}."""
    out = {}
    for engine in engines:
        if engine == "duckdb" and not cli:
            out[engine] = None
            continue
        print(f"cold queries on {engine} (load {' '.join(loadavg() or [])})", file=sys.stderr)
        res = {}
        for q in sorted(suites[engine], key=lambda q: bool(q.get("export"))):
            sql = q.get("cold_sql", q["sql"])
            r = {"times_s": [], "peak_rss_kb": [], "result_lines": None, "error": None, "load": loadavg()}
            for _ in range(runs):
                dest = workdir / f"cold-{engine}-{q['name']}.csv"
                if dest.exists():
                    dest.unlink()
                cmd, to_stdout = cold_command(engine, dbs[engine], sql, dest, logdb, cli, python)
                wall, rss, rc, err, lines = run_cold(cmd, dest, to_stdout)
                if rc != 0:
                    r["error"] = f"exit {rc}: {err.strip()}"
                    break
                r["times_s"].append(wall)
                r["peak_rss_kb"].append(rss)
                r["result_lines"] = lines
                if dest.exists() and dest.stat().st_size > EXPORT_KEEP_BYTES:
                    dest.unlink()  # counted; a full export at 100M+ rows would fill the disk
            res[q["name"]] = r
        out[engine] = res
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        import_worker_main(sys.argv[2:])
    else:
        sys.exit("usage: run by tools/bench.py")
