#!/usr/bin/env python3
"""Merges tools/bench.py reports of runs over the same data with different --engines.

At 100 million lines the peers' imports take most of an hour, so they can run once
(`--engines duckdb,chdb`) while logdb is rebuilt and measured later
(`--engines logdb`). This script puts those reports into one table, after checking
that they used the same data and the same query parameters, and compares every
engine's answers with logdb's from the result files the runs left in the workdir:

    python3 tools/bench_merge.py WORKDIR/peers.json WORKDIR/logdb.json \\
        --workdir WORKDIR [--json merged.json]

The merged report says which run each figure comes from; ratios between engines of
different runs carry the difference in machine load (both load averages are shown).
Exits 1 when the runs do not fit together or an answer differs.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("reports", nargs="+", help="report JSON files written by tools/bench.py")
    ap.add_argument("--workdir", required=True, help="the runs' workdir (results-ENGINE-N-dD.json)")
    ap.add_argument("--json", help="write the merged report here")
    args = ap.parse_args()

    reports = [json.loads(Path(p).read_text()) for p in args.reports]
    first = reports[0]
    for r in reports[1:]:
        for key in ("lines", "days", "raw_bytes", "params"):
            if r[key] != first[key]:
                sys.exit(f"error: the runs differ in {key}: {first[key]!r} vs {r[key]!r}")
    tag = f"{first['lines']}-d{first['days']}"
    workdir = Path(args.workdir)

    engines, imports, phases, shell, source = [], {}, {}, None, {}
    for i, r in enumerate(reports):
        for e in r["query_phases"]:
            if e in engines:
                sys.exit(f"error: engine {e} is in more than one report")
            engines.append(e)
            source[e] = i
            phases[e] = r["query_phases"][e]
        imports.update(r.get("imports") or {})
        if r.get("shell_q3") and r["shell_q3"].get("times_s"):
            shell = r["shell_q3"]
    engines.sort(key=lambda e: list(bench.ENGINES).index(e))
    imports = {e: imports[e] for e in engines if e in imports}

    answers = {}
    for e in engines:
        res = json.loads((workdir / f"results-{e}-{tag}.json").read_text())
        answers[e] = {q["name"]: q for q in res["queries"]}
    ref = "logdb" if "logdb" in engines else engines[0]
    problems, per_query = [], []
    for q in bench.SUITE:
        name = q["name"]
        row = {"name": name, "what": q["what"], "engines": {}, "match": True, "diffs": {}}
        for e in engines:
            a = answers[e][name]
            row["engines"][e] = {"stats": bench.stats(a.get("times_s")), "rows": len(a.get("rows") or []), "error": a.get("error")}
            if a.get("error"):
                row["match"] = False
                problems.append(f"{e} {name} failed: {a['error']}")
            elif e != ref:
                d = bench.compare_rows(answers[ref][name]["rows"], a["rows"])
                if d:
                    row["match"] = False
                    row["diffs"][e] = d
                    problems.append(f"{name}: {e} differs from {ref}: {d}")
        per_query.append(row)
    if shell and ref in answers:
        shell["match"] = bench.compare_rows(answers[ref]["Q3"]["rows"], shell["rows"]) is None
        if not shell["match"]:
            problems.append("shell pipeline: top uris differ from " + ref)

    md = bench.render(argparse.Namespace(lines=first["lines"]), engines, per_query, imports, phases, shell, first["raw_bytes"])
    print(md)
    for i, r in enumerate(reports):
        who = ", ".join(e for e in engines if source[e] == i)
        print(
            f"- run {i + 1} ({who}): `{r['command']}`, logdb {r['machine']['logdb']}, load average "
            f"before {' '.join(r['load_start'] or [])}, after {' '.join(r['load_end'] or [])}"
        )
    print(f"- parameters: {', '.join(f'{k} = {v!r}' for k, v in first['params'].items())}")
    print("\nPROBLEMS:\n" + "\n".join(f"- {p}" for p in problems) if problems else "\nall answers match")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "runs": [r["command"] for r in reports],
                    "lines": first["lines"],
                    "params": first["params"],
                    "queries": per_query,
                    "imports": imports,
                    "query_phases": phases,
                    "shell_q3": shell,
                    "answers_match": not problems,
                    "problems": problems,
                    "report_markdown": md,
                },
                indent=2,
            )
            + "\n"
        )
    if problems:
        sys.exit(1)


if __name__ == "__main__":
    main()
