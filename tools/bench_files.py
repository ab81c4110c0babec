#!/usr/bin/env python3
"""Querying a raw access log in place: logdb's `read_log` against DuckDB's and
ClickHouse's (chDB) best readers for the same file, each query in a fresh process.

- logdb: `logdb -c "... FROM read_log('x.log') ..."`;
- DuckDB: the CLI with `read_csv(delim=' ', quote='"', escape='\\', columns={...})`
  (the log's 11 space-separated fields; the request is split with split_part and the
  time parsed with strptime, as a DuckDB user would);
- chDB: a fresh Python process running `file('x.log', 'CustomSeparated', ...)` with a
  space delimiter and CSV quoting (ClickHouse refuses a space delimiter for CSV and
  names this format instead); its time is the whole process, and also the query alone
  inside it.

Every query runs `--runs` times per engine; the table shows the best wall time, the
CPU time (user + system) of that run and the peak RSS. Answers are compared across
engines (count, status mix, the top uris' counts, the hours and their total).

    python3 tools/bench_files.py --log big.log [--logdb target/release/logdb]
        [--duckdb duckdb] [--runs 3]

Without --log, a 10M-line realistic log is generated with `logdb generate`.
"""
import argparse
import csv
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DUCK_COLUMNS = ("{'ip':'VARCHAR','ident':'VARCHAR','usr':'VARCHAR','t1':'VARCHAR','t2':'VARCHAR',"
                "'request':'VARCHAR','status':'INTEGER','bytes':'VARCHAR','referer':'VARCHAR',"
                "'ua':'VARCHAR'")
CH_COLUMNS = ("ip String, ident String, usr String, t1 String, t2 String, request String, "
              "status UInt16, bytes String, referer String, ua String")
CH_SETTINGS = "SETTINGS format_custom_field_delimiter=' ', format_custom_escaping_rule='CSV'"


def queries(log):
    lit = "'" + str(log).replace("'", "''") + "'"
    logdb = f"read_log({lit})"
    # Lines ending in a request time (nginx) have an 11th field; Apache's have 10.
    with open(log, "rb") as f:
        timed = re.search(rb'" [0-9.]+$', f.readline().rstrip(b"\r\n")) is not None
    duck_columns = DUCK_COLUMNS + (",'rt':'DOUBLE'}" if timed else "}")
    ch_columns = CH_COLUMNS + (", rt Nullable(Float64)" if timed else "")
    duck = f"read_csv({lit}, delim=' ', quote='\"', escape='\\', header=false, columns={duck_columns})"
    ch = f"file({lit}, 'CustomSeparated', '{ch_columns}')"
    duck_uri = "split_part(split_part(request, ' ', 2), '?', 1)"
    ch_uri = "splitByChar('?', splitByChar(' ', request)[2])[1]"
    return [
        ("count(*)",
         f"SELECT count(*) FROM {logdb}",
         f"SELECT count(*) FROM {duck}",
         f"SELECT count(*) FROM {ch} {CH_SETTINGS}"),
        ("status mix",
         f"SELECT status, count(*) FROM {logdb} GROUP BY 1 ORDER BY 1",
         f"SELECT status, count(*) FROM {duck} GROUP BY 1 ORDER BY 1",
         f"SELECT status, count(*) FROM {ch} GROUP BY 1 ORDER BY 1 {CH_SETTINGS}"),
        ("top 10 uris",
         f"SELECT uri, count(*) AS c FROM {logdb} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
         f"SELECT {duck_uri} AS uri, count(*) AS c FROM {duck} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
         f"SELECT {ch_uri} AS uri, count(*) AS c FROM {ch} GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10 {CH_SETTINGS}"),
        ("requests per hour",
         f"SELECT count(*) AS hours, sum(n) FROM (SELECT date_trunc('hour', ts) AS h, count(*) AS n "
         f"FROM {logdb} GROUP BY 1)",
         f"SELECT count(*) AS hours, sum(n) FROM (SELECT date_trunc('hour', "
         f"strptime(t1 || ' ' || t2, '[%d/%b/%Y:%H:%M:%S %z]')) AS h, count(*) AS n FROM {duck} GROUP BY 1)",
         f"SELECT count(*) AS hours, sum(n) FROM (SELECT toStartOfHour(parseDateTime("
         f"concat(substring(t1, 2), ' ', substring(t2, 1, 5)), '%d/%b/%Y:%H:%i:%s %z')) AS h, count(*) AS n FROM {ch} GROUP BY 1) "
         f"{CH_SETTINGS}"),
    ]


def tolerant(sql):
    """`sql` with the peer's option to skip lines it cannot read."""
    if "read_csv(" in sql:
        return sql.replace("header=false,", "header=false, ignore_errors=true,")
    return sql.replace("SETTINGS ", "SETTINGS input_format_allow_errors_ratio=1, ")


def timed(cmd):
    """Runs cmd under /usr/bin/time -v: (wall s, cpu s, peak RSS MiB, stdout)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        start = time.monotonic()
        p = subprocess.run(["/usr/bin/time", "-v", "-o", tf.name] + cmd, capture_output=True, text=True)
        wall = time.monotonic() - start
        if p.returncode != 0:
            raise RuntimeError(f"failed: {' '.join(cmd)[:300]}\n{p.stderr[-600:]}")
        stats = tf.read()
    field = lambda name: float(re.search(rf"{name}: ([0-9.]+)", stats).group(1))
    cpu = field("User time \\(seconds\\)") + field("System time \\(seconds\\)")
    rss = field("Maximum resident set size \\(kbytes\\)") / 1024
    return wall, cpu, rss, p.stdout


def answer(text, counts_only):
    """A result's rows as numbers (the header, if printed, dropped); with
    `counts_only`, only each row's last column (the top uris: ties may order the
    uris differently)."""
    rows = [r for r in csv.reader(io.StringIO(text)) if r]
    numeric = lambda r: all(re.fullmatch(r"-?\d+(\.\d+)?", f) for f in (r[-1:] if counts_only else r))
    rows = [r for r in rows if numeric(r)]
    return [[float(f) for f in (r[-1:] if counts_only else r)] for r in rows]


CH_RUN = ("import chdb, sys, time; t = time.monotonic(); r = chdb.query(sys.argv[1], 'CSV'); "
          "sys.stderr.write('query %.3f\\n' % (time.monotonic() - t)); print(r)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--log", help="a combined access log (default: generate one)")
    ap.add_argument("--lines", type=int, default=10_000_000, help="lines to generate without --log")
    ap.add_argument("--logdb", default="target/release/logdb")
    ap.add_argument("--duckdb", default="duckdb", help="the DuckDB CLI")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    logdb = str(Path(args.logdb).resolve())
    log = args.log
    if not log:
        log = os.path.join(tempfile.gettempdir(), f"logdb-files-{args.lines}.log")
        if not os.path.exists(log):
            subprocess.run([logdb, "generate", "--lines", str(args.lines), "-o", log], check=True)
    log = str(Path(log).resolve())
    size = os.path.getsize(log)
    print(f"{log}: {size / 2**20:.0f} MiB; load average {os.getloadavg()[0]:.1f} at the start\n")
    print("| query | engine | best wall s | CPU s | peak RSS MiB | wall / logdb |")
    print("|---|---|---|---|---|---|")
    mismatches = 0
    unreadable = 0
    for name, lq, dq, cq in queries(log):
        engines = [
            ("logdb read_log", [logdb, "-o", "csv", "-c", lq]),
            ("DuckDB CLI read_csv", [args.duckdb, "-csv", "-c", dq]),
            ("chDB CustomSeparated", [sys.executable, "-c", CH_RUN, cq]),
        ]
        results = {}
        for engine, cmd in engines:
            try:
                best = min((timed(cmd) for _ in range(args.runs)), key=lambda r: r[0])
            except RuntimeError as e:
                if engine.startswith("logdb"):
                    raise SystemExit(str(e))
                # A peer that cannot read every line (a real log's cut-off quote) is
                # run again skipping the lines it cannot read, and says so.
                print(f"{engine}: {str(e).splitlines()[-1][:200]}", file=sys.stderr)
                engine += " (skipping bad lines)"
                cmd = cmd[:-1] + [tolerant(cmd[-1])]
                try:
                    best = min((timed(cmd) for _ in range(args.runs)), key=lambda r: r[0])
                except RuntimeError:
                    print(f"| {name} | {engine}: cannot read the file | - | - | - | - |")
                    unreadable += 1
                    continue
            results[engine] = best
        base = results["logdb read_log"][0]
        counts_only = name == "top 10 uris"
        want = answer(results["logdb read_log"][3], counts_only)
        if not want:
            raise SystemExit(f"{name}: logdb printed no answer")
        for engine, (wall, cpu, rss, out) in results.items():
            same = answer(out, counts_only) == want
            flag = "" if same else " (answer differs)"
            mismatches += not same
            print(f"| {name} | {engine}{flag} | {wall:.2f} | {cpu:.2f} | {rss:.0f} | {wall / base:.2f} |")
    print(f"\nload average {os.getloadavg()[0]:.1f} at the end")
    if unreadable:
        print(f"{unreadable} runs of a peer could not read the file even skipping bad lines")
    if mismatches:
        print(f"{mismatches} answers differ from logdb's")
        sys.exit(1)


if __name__ == "__main__":
    main()
