#!/usr/bin/env python3
"""Side-by-side import of one generated access log into logdb, DuckDB and ClickHouse (chDB).

One run: make sure a venv with the pinned duckdb and chdb exists (and re-run inside it),
generate the log with `logdb generate` unless the file is already there, then import it
three times, each engine in its own subprocess under `/usr/bin/time -v` (peak RSS, CPU),
check that all three stored the same number of rows and that DuckDB and ClickHouse agree
on a few aggregates, and print a markdown table (also written as JSON).

See tools/README.md for what each engine does and what is (and is not) comparable.

    python3 tools/compare_import.py --lines 200000          # quick smoke run
    python3 tools/compare_import.py                         # 10M lines
"""

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENTS = Path(__file__).resolve().parent / "requirements.txt"
IN_VENV_ENV = "LOGDB_CMP_IN_VENV"

# --------------------------------------------------------------------------------------
# The combined-log regex shared by DuckDB and ClickHouse (both use RE2).
#
#   host ident user [time] "method url protocol" status bytes "referer" "agent" [rt]
#
# Quoted referer/agent accept backslash escapes (kept as written, not unescaped). The
# request is split into its three words directly in the regex; lines whose request is
# not three words do not match and are dropped (the row-count check would show it: the
# generated file has none).
QUOTED = r'"((?:[^"\\]|\\.)*)"'
LINE_RE = (
    r"^(\S+) \S+ (\S+) \[([^\]]+)\] "
    r'"(\S+) (\S+) ([^"]*)" (\S+) (\S+) '
    + QUOTED
    + " "
    + QUOTED
    + r"(?: (\S+))?[ \t]*\r?$"
)
GROUPS = ["ip", "ruser", "tsr", "method", "url", "protocol", "status", "bytes", "referer", "ua", "rt"]

DUCKDB_TABLE = """CREATE TABLE logs (
  ts TIMESTAMP, client_ip VARCHAR, remote_user VARCHAR, method VARCHAR, url VARCHAR,
  uri VARCHAR, query VARCHAR, protocol VARCHAR, status SMALLINT, bytes BIGINT,
  referer VARCHAR, user_agent VARCHAR, request_time DOUBLE, uid VARCHAR)"""

# Canonical columns from the struct `r` of regexp_extract. `-` is NULL as in logdb;
# uid is the percent-decoded `uid` query parameter, NULL when absent or empty.
DUCKDB_SELECT = """
  strptime(r.tsr, '%d/%b/%Y:%H:%M:%S %z')::TIMESTAMP,
  nullif(r.ip, '-'), nullif(r.ruser, '-'), r.method, r.url,
  split_part(split_part(r.url, '#', 1), '?', 1),
  CASE WHEN strpos(split_part(r.url, '#', 1), '?') > 0
       THEN substr(split_part(r.url, '#', 1), strpos(r.url, '?') + 1) END,
  r.protocol, r.status::SMALLINT, TRY_CAST(nullif(r.bytes, '-') AS BIGINT),
  nullif(r.referer, '-'), nullif(r.ua, '-'),
  TRY_CAST(nullif(nullif(r.rt, ''), '-') AS DOUBLE),
  nullif(url_decode(replace(regexp_extract(split_part(r.url, '#', 1), '[?&]uid=([^&]*)', 1), '+', ' ')), '')"""


def ch_table(codec):
    """ClickHouse DDL. `codec` is 'zstd' (ZSTD(1) everywhere, Delta on ts: what logdb
    uses is zstd level 1) or 'lz4' (ClickHouse's default compression)."""

    def c(extra=""):
        if codec == "lz4":
            return ""
        return f" CODEC({extra}ZSTD(1))"

    return f"""CREATE TABLE logs (
  ts DateTime('UTC'){c('Delta, ')},
  client_ip IPv6{c()},
  remote_user LowCardinality(String){c()},
  method LowCardinality(String){c()},
  url String{c()},
  uri String{c()},
  query String{c()},
  protocol LowCardinality(String){c()},
  status Int16{c()},
  bytes Int64{c()},
  referer String{c()},
  user_agent LowCardinality(String){c()},
  request_time Float64{c()},
  uid String{c()}
) ENGINE = MergeTree
PARTITION BY toDate(ts)
ORDER BY (toStartOfHour(ts), uri)"""


# Non-Nullable columns as ClickHouse users write them: `-` becomes '' / 0 / '::'.
CH_SELECT = """
  parseDateTime(tsr, '%d/%b/%Y:%H:%i:%s %z', 'UTC'),
  if(ip = '-', toIPv6('::'), toIPv6(ip)),
  if(ruser = '-', '', ruser), method, url,
  path(url), queryString(url),
  protocol, toInt16(status), if(bytes = '-', 0, toInt64(bytes)),
  if(referer = '-', '', referer), if(ua = '-', '', ua), toFloat64OrZero(rt),
  decodeURLFormComponent(extractURLParameter(url, 'uid'))"""


def sql_str(s):
    """A ClickHouse single-quoted string literal."""
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --------------------------------------------------------------------------------------
# Workers: each runs in its own process, so that /usr/bin/time sees one engine only.


def maxrss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def worker_duckdb_import(src, db, opts):
    import duckdb

    baseline = maxrss_kb()
    t0 = time.perf_counter()
    # `duckdb_storage` writes a file older DuckDB builds (the CLI) can open.
    config = {"storage_compatibility_version": opts["duckdb_storage"]} if opts.get("duckdb_storage") else {}
    con = duckdb.connect(db, config=config)
    con.execute("SET TimeZone = 'UTC'")
    con.execute(DUCKDB_TABLE)
    t1 = time.perf_counter()
    if opts.get("duckdb_input") == "csv":
        # The line as space-delimited fields with double quotes (the CSV reader's fast
        # path), split further in SQL: `[time` and `zone]` are two fields, the request
        # is one quoted field of three words.
        cols = ["ip", "ident", "ruser", "t1", "t2", "req", "status", "bytes", "referer", "ua", "rt"]
        columns = ", ".join(f"'{c}': 'VARCHAR'" for c in cols)
        reader = (
            f"read_csv('{src}', columns = {{{columns}}}, header = false, delim = ' ', "
            "quote = '\"', escape = '\\', auto_detect = false, null_padding = true, "
            "strict_mode = false)"
        )
        struct = (
            "{'ip': ip, 'ruser': ruser, 'tsr': substr(t1, 2) || ' ' || rtrim(t2, ']'), "
            "'method': split_part(req, ' ', 1), 'url': split_part(req, ' ', 2), "
            "'protocol': split_part(req, ' ', 3), 'status': status, 'bytes': bytes, "
            "'referer': referer, 'ua': ua, 'rt': coalesce(rt, '')}"
        )
        con.execute(f"INSERT INTO logs SELECT {DUCKDB_SELECT} FROM (SELECT {struct} AS r FROM {reader})")
    else:
        names = ", ".join(f"'{g}'" for g in GROUPS)
        pattern = LINE_RE.replace("'", "''")
        reader = (
            f"read_csv('{src}', columns = {{'line': 'VARCHAR'}}, header = false, "
            "delim = '\\x01', quote = '', escape = '', auto_detect = false)"
        )
        con.execute(
            f"INSERT INTO logs SELECT {DUCKDB_SELECT} FROM "
            f"(SELECT regexp_extract(line, '{pattern}', [{names}]) AS r FROM {reader}) "
            "WHERE r.tsr <> ''"
        )
    t2 = time.perf_counter()
    con.execute("CHECKPOINT")
    t3 = time.perf_counter()
    con.close()
    t4 = time.perf_counter()
    return {
        "import_s": t4 - t0,
        "phases_s": {"create": t1 - t0, "insert": t2 - t1, "checkpoint": t3 - t2, "close": t4 - t3},
        "baseline_rss_kb": baseline,
        "version": duckdb.__version__,
    }


def worker_duckdb_verify(_src, db, _opts):
    import duckdb

    con = duckdb.connect(db, read_only=True)
    one = con.sql(
        "SELECT count(*), sum(bytes), count(DISTINCT uid), count(DISTINCT uri), "
        "strftime(min(ts), '%Y-%m-%d %H:%M:%S'), strftime(max(ts), '%Y-%m-%d %H:%M:%S'), "
        "round(sum(request_time), 3) FROM logs"
    ).fetchall()[0]
    status = con.sql("SELECT status, count(*) FROM logs GROUP BY status ORDER BY status").fetchall()
    con.close()
    return aggregates(one, status)


def worker_chdb_import(src, db, opts):
    import chdb
    from chdb import session

    baseline = maxrss_kb()
    t0 = time.perf_counter()
    s = session.Session(db)
    s.query(ch_table(opts["ch_codec"]))
    t1 = time.perf_counter()
    if opts["ch_input"] == "regexp":
        # The Regexp input format: one capture group per input column, Raw escaping.
        structure = ", ".join(f"{g} String" for g in GROUPS)
        s.query(
            f"INSERT INTO logs SELECT {CH_SELECT} FROM "
            f"file({sql_str(src)}, 'Regexp', {sql_str(structure)}) "
            f"SETTINGS format_regexp = {sql_str(LINE_RE)}, "
            "format_regexp_escaping_rule = 'Raw', format_regexp_skip_unmatched = 1"
        )
    else:
        # LineAsString + extractGroups: one regex match per line, then the same SELECT.
        groups = ", ".join(f"g[{i + 1}] AS {g}" for i, g in enumerate(GROUPS))
        s.query(
            f"INSERT INTO logs SELECT {CH_SELECT} FROM ("
            f"SELECT extractGroups(line, {sql_str(LINE_RE)}) AS g, {groups} "
            f"FROM file({sql_str(src)}, 'LineAsString', 'line String') WHERE length(g) > 0)"
        )
    t2 = time.perf_counter()
    s.close()
    t3 = time.perf_counter()
    return {
        "import_s": t3 - t0,
        "phases_s": {"create": t1 - t0, "insert": t2 - t1, "close": t3 - t2},
        "baseline_rss_kb": baseline,
        "version": chdb.__version__,
    }


def worker_chdb_verify(_src, db, _opts):
    from chdb import session

    s = session.Session(db)

    def rows(q):
        return [json.loads(line) for line in str(s.query(q, "JSONCompactEachRow")).splitlines() if line]

    one = rows(
        "SELECT count(), sum(bytes), uniqExactIf(uid, uid != ''), uniqExact(uri), "
        "toString(min(ts)), toString(max(ts)), round(sum(request_time), 3) FROM logs"
    )[0]
    status = rows("SELECT status, count() FROM logs GROUP BY status ORDER BY status")
    parts = rows(
        "SELECT countIf(active), sumIf(bytes_on_disk, active), countIf(NOT active), "
        "sumIf(bytes_on_disk, NOT active) FROM system.parts WHERE table = 'logs'"
    )[0]
    s.close()
    out = aggregates(one, status)
    out["parts"] = {
        "active": int(parts[0]),
        "active_bytes": int(parts[1]),
        "inactive": int(parts[2]),
        "inactive_bytes": int(parts[3]),
    }
    return out


def aggregates(one, status):
    return {
        "rows": int(one[0]),
        "sum_bytes": int(one[1]),
        "distinct_uid": int(one[2]),
        "distinct_uri": int(one[3]),
        "min_ts": str(one[4]),
        "max_ts": str(one[5]),
        "sum_request_time": round(float(one[6]), 3),
        "count_per_status": {str(k): int(v) for k, v in status},
    }


WORKERS = {
    "duckdb-import": worker_duckdb_import,
    "duckdb-verify": worker_duckdb_verify,
    "chdb-import": worker_chdb_import,
    "chdb-verify": worker_chdb_verify,
}


def worker_main(argv):
    name, src, db, opts = argv[0], argv[1], argv[2], json.loads(argv[3])
    result = WORKERS[name](src, db, opts)
    print("RESULT " + json.dumps(result), flush=True)


# --------------------------------------------------------------------------------------
# Driver.


def ensure_venv(venv, extra=(), script=None, flag=IN_VENV_ENV):
    """Create `venv` with the pinned packages (`requirements.txt`, then each file of
    `extra`) if needed, then re-execute `script` (default: this one) in it. `flag` is
    the environment variable that marks the re-executed process."""
    if Path(sys.prefix).resolve() == venv.resolve():
        return
    if os.environ.get(flag):
        sys.exit(f"error: re-executed into {venv} but sys.prefix is {sys.prefix}")
    py = venv / "bin" / "python"
    if not py.exists():
        print(f"creating venv {venv}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        # Keep the venv out of git status when it lives inside the repository.
        (venv / ".gitignore").write_text("*\n")
    for req in [REQUIREMENTS, *extra]:
        stamp = venv / f".{req.stem}.sha256"
        want = hashlib.sha256(req.read_bytes()).hexdigest()
        if not stamp.exists() or stamp.read_text().strip() != want:
            print(f"installing {req.name} into {venv}", file=sys.stderr)
            subprocess.run(
                [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(req)],
                check=True,
            )
            stamp.write_text(want + "\n")
    script = Path(script or __file__).resolve()
    env = dict(os.environ, **{flag: "1"})
    os.execve(str(py), [str(py), str(script)] + sys.argv[1:], env)


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        return None


def disk_usage(path):
    """(apparent bytes, allocated bytes) of a file or directory tree."""
    p = Path(path)
    files = [p] if p.is_file() else [f for f in p.rglob("*") if f.is_file() and not f.is_symlink()]
    apparent = allocated = 0
    for f in files:
        st = f.stat()
        apparent += st.st_size
        allocated += st.st_blocks * 512
    return apparent, allocated


def remove(path):
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()
    for extra in (Path(str(p) + ".wal"),):
        if extra.exists():
            extra.unlink()


TIME_BIN = "/usr/bin/time"


def run_measured(cmd, label):
    """Run `cmd`; return (wall s, peak RSS KiB, CPU s, stdout, how RSS was measured)."""
    have_time = os.access(TIME_BIN, os.X_OK)
    stats_file = Path(f"/tmp/compare_import.{os.getpid()}.{label}.time")
    full = [TIME_BIN, "-v", "-o", str(stats_file)] + cmd if have_time else cmd
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(f"error: {label} failed (exit {proc.returncode}): {' '.join(cmd)}")
    if have_time:
        text = stats_file.read_text()
        stats_file.unlink()
        rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
        user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
        system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
        return wall, rss, user + system, proc.stdout, "/usr/bin/time -v"
    # ru_maxrss of RUSAGE_CHILDREN is the largest child so far, not this one: exact only
    # while each engine needs more than the ones before it.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, after.ru_maxrss, cpu, proc.stdout, "getrusage(RUSAGE_CHILDREN)"


def worker_result(stdout):
    for line in reversed(stdout.splitlines()):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    sys.exit("error: worker printed no result:\n" + stdout)


def logdb_rows(logdb, db):
    out = subprocess.run([logdb, "info", db, "logs"], check=True, stdout=subprocess.PIPE, text=True).stdout
    m = re.search(r"table logs: (\d+) rows", out)
    if not m:
        sys.exit("error: cannot read the row count from `logdb info`:\n" + out)
    return int(m.group(1))


def find_logdb(arg):
    if arg:
        return str(Path(arg).resolve())
    path = REPO / "target" / "release" / "logdb"
    if not path.exists():
        print("building logdb (cargo build --release)", file=sys.stderr)
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    return str(path)


def mib(n):
    return n / (1024 * 1024)


def fmt_int(n):
    return f"{n:,.0f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=10_000_000, help="lines to generate (default 10M)")
    ap.add_argument("--days", type=int, default=7, help="days of traffic (logdb generate --days)")
    ap.add_argument("--workdir", default="/tmp/logdb-cmp", help="where the log and the databases go")
    ap.add_argument("--venv", default=str(REPO / ".venv-bench"), help="venv with duckdb and chdb")
    ap.add_argument("--logdb", help="logdb binary (default: target/release/logdb, built if missing)")
    ap.add_argument("--json", help="write the results here (default WORKDIR/compare-N.json)")
    ap.add_argument(
        "--engines", default="logdb,duckdb,chdb", help="comma-separated subset of logdb,duckdb,chdb"
    )
    ap.add_argument(
        "--ch-input",
        choices=["lines", "regexp"],
        default="lines",
        help="ClickHouse reader: LineAsString+extractGroups (default, faster here) or format Regexp",
    )
    ap.add_argument(
        "--ch-codec", choices=["zstd", "lz4"], default="zstd", help="ClickHouse column codecs (see README)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the databases after the run")
    args = ap.parse_args()

    ensure_venv(Path(args.venv))

    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for e in engines:
        if e not in ("logdb", "duckdb", "chdb"):
            sys.exit(f"error: unknown engine '{e}'")
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    logdb = find_logdb(args.logdb)
    src = workdir / f"access-{args.lines}-d{args.days}.log"
    json_path = Path(args.json) if args.json else workdir / f"compare-{args.lines}.json"

    if not src.exists():
        print(f"generating {args.lines} lines into {src}", file=sys.stderr)
        tmp = src.with_suffix(".tmp")
        subprocess.run(
            [logdb, "generate", "--lines", str(args.lines), "--days", str(args.days), "-o", str(tmp)],
            check=True,
        )
        tmp.rename(src)
    raw_bytes = src.stat().st_size
    # Warm the page cache so that no engine pays for the first read from disk.
    with open(src, "rb") as f:
        while f.read(1 << 24):
            pass

    opts = json.dumps({"ch_input": args.ch_input, "ch_codec": args.ch_codec})
    me = str(Path(__file__).resolve())
    load_start = loadavg()
    results = {}
    for engine in engines:
        db = str(workdir / {"logdb": "logdb-db", "duckdb": "duck.duckdb", "chdb": "chdb-db"}[engine])
        remove(db)
        print(f"importing with {engine} (load {' '.join(loadavg() or [])})", file=sys.stderr)
        load_before = loadavg()
        if engine == "logdb":
            cmd = [logdb, "import", db, str(src), "--format", "combined", "-q"]
        else:
            cmd = [sys.executable, me, "_worker", f"{engine}-import", str(src), db, opts]
        wall, rss, cpu, out, rss_source = run_measured(cmd, engine)
        r = {
            "wall_s": wall,
            "peak_rss_kb": rss,
            "cpu_s": cpu,
            "rss_source": rss_source,
            "load_before": load_before,
            "load_after": loadavg(),
        }
        if engine == "logdb":
            r["import_s"] = wall
            r["summary"] = out.strip()
            r["rows"] = logdb_rows(logdb, db)
        else:
            r.update(worker_result(out))
        r["disk_bytes"], r["disk_allocated_bytes"] = disk_usage(db)
        if engine != "logdb":
            # A separate process, after the measurements: reads back what was stored.
            v = subprocess.run(
                [sys.executable, me, "_worker", f"{engine}-verify", str(src), db, opts],
                stdout=subprocess.PIPE,
                text=True,
                check=True,
            )
            r["aggregates"] = worker_result(v.stdout)
            r["rows"] = r["aggregates"]["rows"]
        r["lines_per_s"] = args.lines / r["import_s"]
        results[engine] = r
        if not args.keep:
            remove(db)
    load_end = loadavg()

    # ---- checks
    problems = []
    for e, r in results.items():
        if r["rows"] != args.lines:
            problems.append(f"{e} stored {r['rows']} rows, expected {args.lines}")
    if "duckdb" in results and "chdb" in results:
        a = dict(results["duckdb"]["aggregates"])
        b = dict(results["chdb"]["aggregates"])
        b.pop("parts", None)
        for k in a:
            if a[k] != b[k]:
                problems.append(f"aggregate {k} differs: duckdb {a[k]!r} vs chdb {b[k]!r}")
    checks = "all rows stored by every engine" if not problems else "; ".join(problems)

    # ---- report
    base = results.get("logdb")
    header = (
        "| engine | import s | lines/s | peak RSS MiB | CPU s | on disk MiB | bytes/line "
        "| time logdb/x | CPU logdb/x | RSS logdb/x | size logdb/x |"
    )
    lines = [header, "|" + "---|" * 11]
    for e, r in results.items():
        ratios = ["", "", "", ""]
        if base and e != "logdb":
            ratios = [
                f"{base['import_s'] / r['import_s']:.2f}",
                f"{base['cpu_s'] / r['cpu_s']:.2f}",
                f"{base['peak_rss_kb'] / r['peak_rss_kb']:.2f}",
                f"{base['disk_bytes'] / r['disk_bytes']:.2f}",
            ]
        lines.append(
            f"| {e} | {r['import_s']:.2f} | {fmt_int(r['lines_per_s'])} | {r['peak_rss_kb'] / 1024:.0f} "
            f"| {r['cpu_s']:.1f} | {mib(r['disk_bytes']):.1f} | {r['disk_bytes'] / args.lines:.1f} | "
            + " | ".join(ratios)
            + " |"
        )
    table = "\n".join(lines)
    cmdline = "python3 tools/compare_import.py " + " ".join(sys.argv[1:])
    notes = [
        f"raw file: {src} - {args.lines:,} lines, {mib(raw_bytes):.1f} MiB ({raw_bytes / args.lines:.1f} bytes/line)",
        f"load average (1/5/15 min): before {' '.join(load_start or [])}, after {' '.join(load_end or [])}",
        f"cores: {os.cpu_count()}; RSS measured with {next(iter(results.values()))['rss_source'] if results else '-'}",
        f"checks: {checks}",
    ]
    if "duckdb" in results and "chdb" in results and not problems:
        notes.append(
            "aggregates (count per status, sum(bytes), distinct uid, distinct uri, min/max ts, "
            "sum(request_time)) agree between DuckDB and ClickHouse; logdb checked on row count only"
        )
    for e, r in results.items():
        if "phases_s" in r:
            phases = ", ".join(f"{k} {v:.2f}s" for k, v in r["phases_s"].items())
            notes.append(
                f"{e} {r.get('version', '')}: process wall {r['wall_s']:.2f}s; {phases}; "
                f"RSS after importing the module {r['baseline_rss_kb'] / 1024:.0f} MiB"
            )
    if "chdb" in results:
        p = results["chdb"]["aggregates"]["parts"]
        notes.append(
            f"chdb parts: {p['active']} active ({mib(p['active_bytes']):.1f} MiB), "
            f"{p['inactive']} inactive ({mib(p['inactive_bytes']):.1f} MiB); "
            f"input {args.ch_input}, codecs {args.ch_codec}"
        )
    print(f"`{cmdline}`\n")
    print(table)
    print()
    for n in notes:
        print(f"- {n}")

    report = {
        "command": cmdline,
        "lines": args.lines,
        "days": args.days,
        "raw_file": str(src),
        "raw_bytes": raw_bytes,
        "cores": os.cpu_count(),
        "load_start": load_start,
        "load_end": load_end,
        "ch_input": args.ch_input,
        "ch_codec": args.ch_codec,
        "checks_ok": not problems,
        "problems": problems,
        "engines": results,
        "table_markdown": table,
    }
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nJSON: {json_path}")
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_worker":
        worker_main(sys.argv[2:])
    else:
        main()
