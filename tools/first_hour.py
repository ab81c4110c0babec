#!/usr/bin/env python3
"""A newcomer's first hour, replayed: clone, the README's two commands, install, import
each real sample log of the repository with format detection, five everyday queries.

Prints the wall time of every step and fails (non-zero exit) on the first step that
does not do what the README promises.

    python3 tools/first_hour.py             # the whole hour: fresh clone, cold builds
    python3 tools/first_hour.py --quick     # CI: this checkout's debug binary, no clone,
                                            # a small demo, the imports and the queries
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

QUERIES = [
    ("top URLs", "SELECT uri, count(*) AS requests FROM logs GROUP BY uri ORDER BY requests DESC, uri LIMIT 10"),
    ("status mix", "SELECT status, count(*) AS n FROM logs GROUP BY status ORDER BY n DESC, status"),
    ("requests per day", "SELECT date_trunc('day', ts) AS day, count(*) AS n FROM logs GROUP BY 1 ORDER BY 1"),
    ("top clients", "SELECT client_ip, count(*) AS n FROM logs GROUP BY 1 ORDER BY n DESC, 1 LIMIT 5"),
    ("not-found pages", "SELECT uri, count(*) AS n FROM logs WHERE status = 404 GROUP BY uri ORDER BY n DESC, uri LIMIT 5"),
]

steps = []


def step(name, argv, cwd, env=None, check=None):
    """Runs one step, records its wall time, and stops the replay if it fails."""
    print(f"== {name}: {' '.join(str(a) for a in argv)}", flush=True)
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True)
    secs = time.monotonic() - start
    steps.append((name, secs))
    problem = None
    if proc.returncode != 0:
        problem = f"exit code {proc.returncode}"
    elif check is not None:
        problem = check(proc)
    if problem:
        sys.stdout.write(proc.stdout[-4000:])
        sys.stderr.write(proc.stderr[-4000:])
        report()
        sys.exit(f"first hour: step '{name}' failed: {problem}")
    tail = (proc.stderr.strip().splitlines() or [""])[-1]
    print(f"   {secs:.1f} s  {tail[:120]}", flush=True)
    return proc


def report():
    print("\nstep                                      wall time")
    for name, secs in steps:
        print(f"{name:<40} {secs:>9.1f} s")
    print(f"{'total':<40} {sum(s for _, s in steps):>9.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="no clone or builds: use this checkout's binary")
    ap.add_argument("--binary", help="logdb binary for --quick (default target/debug/logdb, built if missing)")
    ap.add_argument("--lines", type=int, default=None, help="demo lines (default: the demo's own, 5M; 100k with --quick)")
    ap.add_argument("--skip-tests", action="store_true", help="do not run the test command")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="logdb-first-hour-"))
    try:
        run(args, work)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    report()


def run(args, work):
    env = dict(os.environ)
    if args.quick:
        checkout = REPO
        logdb = Path(args.binary) if args.binary else REPO / "target" / "debug" / "logdb"
        if not logdb.exists():
            step("build (debug)", ["cargo", "build", "--bin", "logdb"], REPO)
        lines = args.lines or 100_000
        step("demo", [logdb, "demo", work / "demo", "--lines", str(lines), "--days", "2"], work,
             check=lambda p: None if "rows stored:" in p.stdout else "no import summary")
    else:
        checkout = work / "logdb"
        step("clone", ["git", "clone", "--quiet", str(REPO), checkout], work)
        # Builds of the clone's own: nothing shared with this checkout's target/.
        env.pop("CARGO_TARGET_DIR", None)
        step("cargo build --release", ["cargo", "build", "--release", "--locked"], checkout, env=env)
        demo = ["cargo", "run", "--release", "--locked", "--", "demo"]
        if args.lines:
            demo += ["--lines", str(args.lines)]
        step("README command 1: logdb demo", demo, checkout, env=env,
             check=lambda p: None if "rows stored:" in p.stdout else "no import summary")
        step("demo leaves the clone clean", ["git", "status", "--porcelain"], checkout,
             check=lambda p: f"untracked or changed files: {p.stdout.strip()}" if p.stdout.strip() else None)
        if not args.skip_tests:
            step("README command 2: tools/test", ["tools/test", "--locked"], checkout, env=env,
                 check=lambda p: None if "== ok:" in p.stdout else "no '== ok:' summary line")
        root = work / "install"
        step("cargo install --path .", ["cargo", "install", "--locked", "--quiet", "--path", ".", "--root", root],
             checkout, env=env)
        logdb = root / "bin" / "logdb"

    db = work / "web.db"
    samples = sorted((checkout / "tests" / "data" / "real").glob("*.log"))
    if not samples:
        sys.exit("first hour: no sample logs under tests/data/real")
    for sample in samples:
        def imported(p):
            if "rows stored:" not in p.stdout and "rows stored:" not in p.stderr:
                return "no import summary"
            for line in (p.stdout + p.stderr).splitlines():
                if line.strip().startswith("lines rejected:") and line.split(":")[1].split()[0] != "0":
                    return f"rejected lines: {line.strip()}"
            return None
        step(f"import {sample.name}", [logdb, "import", db, sample], work, check=imported)
    step("logdb info", [logdb, "info", db], work,
         check=lambda p: None if "logs" in p.stdout else "no table 'logs'")
    for name, sql in QUERIES:
        step(f"query: {name}", [logdb, db, "-c", sql], work,
             check=lambda p: None if p.stdout.strip() else "empty answer")


if __name__ == "__main__":
    main()
