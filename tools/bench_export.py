#!/usr/bin/env python3
"""Parquet export speed: logdb against DuckDB and ClickHouse (chDB) on the
databases `tools/bench.py` leaves in its work directory (run it first for the
workloads you want: `--workload access|records|real`).

Each case runs in a fresh process under /usr/bin/time -v (wall time, peak RSS):

- logdb export: `logdb export DB TABLE DIR` (day partitions, zstd);
- logdb COPY: `COPY table TO 'x.parquet'` (one file, snappy);
- DuckDB COPY: the same statement in DuckDB (one file, snappy, its default);
- DuckDB by day: `COPY (SELECT *, CAST(time AS DATE) AS day ...) TO DIR
  (FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)`, the export's layout;
- chDB: `INSERT INTO FUNCTION file('x.parquet', Parquet) SELECT * FROM table`.

    python3 tools/bench_export.py [--workdir /tmp/logdb-bench-gen] [--logdb target/release/logdb]

Prints a Markdown table per workload: rows, seconds, rows/s, bytes written, peak RSS.
"""
import argparse
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

# workload: (logdb db, DuckDB db, chDB dir, table, time column); names as bench.py makes them
WORKLOADS = {
    "access": ("logdb-10000000-d7", "duckdb-10000000-d7.duckdb", "chdb-10000000-d7", "logs", "ts"),
    "records": ("logdb-records-20000000", "duckdb-records-20000000.duckdb", "chdb-records-20000000", "records", "access_time"),
    "real": ("logdb-real", "duckdb-real.duckdb", "chdb-real", "logs", "ts"),
}


def size(path):
    p = Path(path)
    if p.is_file():
        return p.stat().st_size
    return sum(f.stat().st_size for f in p.rglob("*") if f.is_file())


def clear(path):
    p = Path(path)
    if p.is_dir():
        shutil.rmtree(p)
    elif p.exists():
        p.unlink()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", default="/tmp/logdb-bench-gen")
    ap.add_argument("--logdb", default="target/release/logdb")
    ap.add_argument("--out", default="/tmp/logdb-bench-export", help="scratch directory for the files")
    ap.add_argument("--workload", action="append", choices=sorted(WORKLOADS), help="default: every one found")
    args = ap.parse_args()
    work, out = Path(args.workdir), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    logdb = str(Path(args.logdb).resolve())
    py = sys.executable
    for name in args.workload or sorted(WORKLOADS):
        ldb, ddb, cdb, table, tc = WORKLOADS[name]
        if not (work / ldb).is_dir():
            print(f"{name}: {work / ldb} missing (run tools/bench.py --workload {name} first); skipped")
            continue
        rows = int(subprocess.run([logdb, str(work / ldb), "-o", "csv", "-c", f"SELECT count(*) FROM {table}"],
                                        capture_output=True, text=True, check=True).stdout.split()[1])
        cases = [
            ("logdb export (day partitions, zstd)", out / "logdb-export",
             [logdb, "export", str(work / ldb), table, str(out / "logdb-export")]),
            ("logdb COPY TO one file (snappy)", out / "logdb.parquet",
             [logdb, str(work / ldb), "-c", f"COPY {table} TO '{out / 'logdb.parquet'}'"]),
            ("DuckDB COPY TO one file (snappy)", out / "duckdb.parquet",
             [py, "-c", "import duckdb,sys; duckdb.connect(sys.argv[1], read_only=True).execute(sys.argv[2])",
              str(work / ddb), f"COPY {table} TO '{out / 'duckdb.parquet'}' (FORMAT parquet)"]),
            ("DuckDB COPY by day (zstd)", out / "duckdb-days",
             [py, "-c", "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True); "
              "c.execute(\"SET TimeZone='UTC'\"); c.execute(sys.argv[2])",
              str(work / ddb), f"COPY (SELECT *, CAST({tc} AS DATE) AS day FROM {table}) TO '{out / 'duckdb-days'}' "
              "(FORMAT parquet, PARTITION_BY (day), COMPRESSION zstd)"]),
        ]
        if (work / cdb).is_dir():
            cases.append(("chDB INSERT INTO FUNCTION file (Parquet)", out / "chdb.parquet",
                          [py, "-c", "import sys; from chdb import session; s=session.Session(sys.argv[1]); s.query(sys.argv[2])",
                           str(work / cdb), f"INSERT INTO FUNCTION file('{out / 'chdb.parquet'}', Parquet) SELECT * FROM {table}"]))
        print(f"\n### {name}: {rows:,} rows\n")
        print("| case | seconds | rows/s | bytes | peak RSS |")
        print("|---|---:|---:|---:|---:|")
        for label, dest, cmd in cases:
            clear(dest)
            wall, rss, _cpu, rc, err = bench.run_phase(cmd, "export")
            if rc != 0:
                print(f"| {label} | failed: {err.strip().splitlines()[-1] if err.strip() else rc} | | | |")
                continue
            b = size(dest)
            print(f"| {label} | {wall:.2f} | {rows / wall:,.0f} | {b / 2**20:,.1f} MiB | {bench.mib(rss)} MiB |")
            clear(dest)


if __name__ == "__main__":
    main()
