#!/usr/bin/env python3
"""Times one refresh of the `logdb serve` dashboard against a running server.

A refresh is the dashboard's six panel queries sent at once, as the page sends them.
The SQL below mirrors the panels of src/bin/logdb/serve/dashboard/dashboard.js (the
page shows each panel's SQL: copy it from there when a panel changes). Prints the
median and best wall time of a refresh, each query's server-side elapsed time, and
the sum of elapsed times when the queries run one after another.

    logdb generate --lines 10000000 --days 7 -o big.log
    logdb import big.db big.log -f combined -q
    logdb serve big.db --listen 127.0.0.1:8097 &
    python3 tools/serve_refresh_bench.py --port 8097 --hours 1

With `--grow LOG --source SRC`, a thread appends SRC's lines to LOG (a file the
server follows: `logdb serve big.db --follow LOG -f combined`) at `--lines-per-sec`
while the refreshes run, so each refresh sees new segments, as a live dashboard does.
The first refresh of a window (which scans it all) is reported apart.
"""

import argparse
import calendar
import concurrent.futures
import json
import threading
import time
import urllib.request

# time_bucket widths the page picks for a window of about 120 buckets.
BUCKETS = [60, 120, 300, 600, 1800, 3600, 10800, 21600, 43200, 86400, 604800]


def panel_queries(table, where, bucket):
    extra = where + " AND " if where else " WHERE "
    return {
        "summary": "SELECT count(*) AS requests, count_if(status >= 500) AS errors_5xx, "
        "approx_count_distinct(client_ip) AS visitors, sum(bytes) AS bytes, "
        "approx_quantile(request_time, 0.5) AS p50, approx_quantile(request_time, 0.95) AS p95, "
        f"approx_quantile(request_time, 0.99) AS p99 FROM {table}{where}",
        "timeline": f"SELECT time_bucket(INTERVAL '{bucket} seconds', ts) AS t, "
        f"count(*) AS requests, count_if(status >= 500) AS errors_5xx FROM {table}{where} "
        "GROUP BY t ORDER BY t",
        "statuses": f"SELECT status, count(*) AS requests FROM {table}{where} "
        "GROUP BY status ORDER BY requests DESC",
        "uris": "SELECT uri, count(*) AS requests, count_if(status >= 500) AS errors_5xx "
        f"FROM {table}{where} GROUP BY uri ORDER BY requests DESC LIMIT 10",
        "agents": f"SELECT user_agent, count(*) AS requests FROM {table}{where} "
        "GROUP BY user_agent ORDER BY requests DESC LIMIT 10",
        "visitors": f"SELECT uid, count(*) AS requests FROM {table}{extra}uid IS NOT NULL "
        "GROUP BY uid ORDER BY requests DESC LIMIT 10",
    }


def request(url, token, body=None):
    req = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(req) as answer:
        return json.load(answer)


def grow(log, source, per_sec):
    """Appends `source`'s lines to `log`, `per_sec` a second in 10 steps a second."""
    with open(source) as src, open(log, "a") as out:
        step = max(1, per_sec // 10)
        while True:
            lines = [line for _, line in zip(range(step), src)]
            if not lines:
                return
            out.writelines(lines)
            out.flush()
            time.sleep(0.1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--table", default="logs")
    p.add_argument("--hours", type=float, default=1.0,
                   help="the window, ending at the newest row; 0 = everything")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--token")
    p.add_argument("--grow", help="a followed log to append to while timing")
    p.add_argument("--source", help="the lines to append (with --grow)")
    p.add_argument("--lines-per-sec", type=int, default=2000)
    args = p.parse_args()
    if args.grow:
        if not args.source:
            p.error("--grow needs --source")
        threading.Thread(target=grow, args=(args.grow, args.source, args.lines_per_sec),
                         daemon=True).start()
        time.sleep(2)
    base = f"http://127.0.0.1:{args.port}"

    table = next(t for t in request(base + "/tables", args.token)["tables"]
                 if t["name"] == args.table)
    newest = calendar.timegm(time.strptime(table["newest"][:19], "%Y-%m-%d %H:%M:%S")) + 1
    oldest = calendar.timegm(time.strptime(table["oldest"][:19], "%Y-%m-%d %H:%M:%S"))
    start = oldest if args.hours == 0 else newest - args.hours * 3600
    where = "" if args.hours == 0 else (
        " WHERE ts >= TIMESTAMP '%s' AND ts < TIMESTAMP '%s'" % (
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(start)),
            time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(newest))))
    wanted = (newest - start) / 120
    bucket = next((b for b in BUCKETS if b >= wanted), BUCKETS[-1])
    queries = panel_queries(args.table, where, bucket)

    def run(name):
        result = request(base + "/query", args.token, queries[name].encode())
        return name, result["statistics"]["elapsed"] * 1000

    walls = []
    with concurrent.futures.ThreadPoolExecutor(len(queries)) as pool:
        t = time.perf_counter()
        list(pool.map(run, queries))
        first = (time.perf_counter() - t) * 1000
        for _ in range(args.runs):
            t = time.perf_counter()
            elapsed = dict(pool.map(run, queries))
            walls.append((time.perf_counter() - t) * 1000)
    walls.sort()
    window = "everything" if args.hours == 0 else f"last {args.hours:g} h"
    print(f"{table['rows']} rows, {window}: refresh median {walls[len(walls) // 2]:.1f} ms, "
          f"best {walls[0]:.1f} ms over {args.runs} runs (the first: {first:.1f} ms)"
          + (f", {args.lines_per_sec} lines/s appended" if args.grow else ""))
    print("  server ms (last run): " + ", ".join(f"{k} {v:.1f}" for k, v in elapsed.items()))
    one_by_one = sum(run(name)[1] for name in queries)
    print(f"  one after another: {one_by_one:.1f} ms of server time")


if __name__ == "__main__":
    main()
