#!/usr/bin/env python3
"""SQL compatibility gauge: runs DuckDB's sqllogictest files through an engine's command
line and counts, per directory, the records that pass, are unsupported, fail with
another error, or give a wrong answer.

The test files are DuckDB's (MIT licensed) and stay outside this repository: point the
script at a checkout (or an export of its test/ tree).

    python3 tools/sql_gauge.py --duckdb-tests ~/src/duckdb                       # logdb
    python3 tools/sql_gauge.py --duckdb-tests ~/src/duckdb --engine duckdb \\
        --binary /path/to/duckdb       # DuckDB's CLI through the same script: a check of
                                       # the script itself (its pass rate should be ~100%)

Use the test files of the DuckDB release whose CLI you compare with (`git checkout
v1.5.5`): newer files test newer behaviour. Every record runs in a fresh process of the
engine (`logdb DB -c SQL -o json`, `duckdb FILE -list -c SQL`) against one database per test file, so state that lives
in a session (SET, PREPARE, temporary tables) does not carry over between records, for
either engine. A record counts as:

  pass         the statement succeeded / failed as the file expects; a query's rows
               match (floats to 6 significant digits, in the file's sort mode);
               `statement error` records are counted apart (they also pass when a
               feature is missing, so they are not evidence of support)
  unsupported  the engine said "not supported"
  error        any other error where success was expected
  wrong        the engine answered, with other rows; "after setup failure" when an
               earlier statement of the same file failed (its data are not the file's)
  crash        the process died of a signal or printed a panic
  skipped      records under `skipif`/`onlyif` for other engines, `mode skip`, and
               files that `require` an extension or a build option

Prints one line per directory and a total, and with --failures FILE writes every
non-passing record (file, line, SQL, reason) for triage.
"""

import argparse
import concurrent.futures
import hashlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

DIRECTORIES = [
    "aggregate/aggregates", "function/date", "function/timestamp", "function/interval",
    "function/string", "function/numeric", "window", "order", "limit", "join/inner",
    "join/left_outer", "join/right_outer", "join/full_outer", "join/cross_product",
    "subquery/scalar", "subquery/exists", "subquery/any_all", "cte", "filter", "setops",
    "types/null", "types/date", "types/interval", "types/decimal",
]

# `require` lines that do not need anything an engine's CLI lacks.
HARMLESS_REQUIRES = {"skip_reload", "no_alternative_verify", "notwindows", "64bit",
                     "noforcestorage", "no_extension_autoloading", "strinline"}

TYPE_SETS = {
    "<signed>": ["tinyint", "smallint", "integer", "bigint", "hugeint"],
    "<unsigned>": ["utinyint", "usmallint", "uinteger", "ubigint", "uhugeint"],
    "<float>": ["float", "double"],
}
TYPE_SETS["<integral>"] = TYPE_SETS["<signed>"] + TYPE_SETS["<unsigned>"]
TYPE_SETS["<numeric>"] = TYPE_SETS["<integral>"] + TYPE_SETS["<float>"]

TIMEOUT_S = 30
UNIT_SEPARATOR = "\x1f"

# Statements whose effect lasts only for a session: replayed before every later record
# of the file (each record runs in a fresh process).
SESSION_STATEMENT = re.compile(
    r"^\s*(SET|RESET|PRAGMA|PREPARE|DEALLOCATE|CREATE\s+(OR\s+REPLACE\s+)?TEMP(ORARY)?\s|USE\s)",
    re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Parsing a test file into records


class Record:
    def __init__(self, kind, sql, line, sort="nosort", columns=0, expected=None,
                 error_text=None):
        self.kind = kind            # "ok", "error", "maybe" or "query"
        self.sql = sql
        self.line = line
        self.sort = sort
        self.columns = columns
        self.expected = expected    # list of lines (query) or None
        self.error_text = error_text


def read_blocks(lines, start):
    """Lines from `start` to the next blank line."""
    out = []
    i = start
    while i < len(lines) and lines[i].strip() != "":
        out.append(lines[i])
        i += 1
    return out, i


def expand_loops(lines):
    """Unrolls loop/foreach/concurrentloop ... endloop (nested), substituting
    ${var} (loop) and {var} (foreach). Returns (line number, text) pairs."""
    numbered = list(enumerate(lines, 1))
    return _expand(numbered)


def _expand(numbered):
    out = []
    i = 0
    while i < len(numbered):
        no, text = numbered[i]
        words = text.split()
        if words and words[0] in ("loop", "foreach", "concurrentloop", "concurrentforeach"):
            depth, j = 1, i + 1
            while j < len(numbered) and depth:
                w = numbered[j][1].split()
                if w and w[0] in ("loop", "foreach", "concurrentloop", "concurrentforeach"):
                    depth += 1
                elif w and w[0] == "endloop":
                    depth -= 1
                j += 1
            body = numbered[i + 1:j - 1]
            var = words[1]
            if words[0] in ("loop", "concurrentloop"):
                values = [str(v) for v in range(int(words[2]), int(words[3]))]
            else:
                values = []
                for w in words[2:]:
                    values += TYPE_SETS.get(w, [w])
            for v in values:
                out += _expand([(n, t.replace("${" + var + "}", v).replace("{" + var + "}", v))
                                for n, t in body])
            i = j
        else:
            out.append((no, text))
            i += 1
    return out


def parse_file(path, test_dir):
    """Returns (records, skipped_records, reason the whole file is skipped or None)."""
    raw = path.read_text(encoding="utf-8", errors="replace").split("\n")
    try:
        numbered = expand_loops(raw)
    except (ValueError, IndexError) as e:
        return [], 0, f"cannot unroll a loop: {e}"
    lines = [t.replace("__TEST_DIR__", test_dir) for _, t in numbered]
    numbers = [n for n, _ in numbered]
    records, skipped = [], 0
    skip_mode = False
    i = 0
    condition_skip = False
    while i < len(lines):
        text = lines[i].strip()
        words = text.split()
        if not words or text.startswith("#"):
            i += 1
            continue
        head = words[0]
        if head == "require":
            what = words[1] if len(words) > 1 else ""
            if what == "vector_size" and len(words) > 2 and int(words[2]) <= 2048:
                pass
            elif what not in HARMLESS_REQUIRES:
                return [], 0, f"require {' '.join(words[1:])}"
            i += 1
            continue
        if head == "mode":
            if len(words) > 1 and words[1] == "skip":
                skip_mode = True
            elif len(words) > 1 and words[1] == "unskip":
                skip_mode = False
            i += 1
            continue
        if head == "halt":
            break
        if head in ("skipif", "onlyif"):
            engine = words[1] if len(words) > 1 else ""
            if (head == "skipif" and engine == "duckdb") or (head == "onlyif" and engine != "duckdb"):
                condition_skip = True
            i += 1
            continue
        if head in ("statement", "query"):
            start_line = numbers[i]
            block, end = read_blocks(lines, i + 1)
            i = end
            if head == "statement":
                kind = words[1] if len(words) > 1 else "ok"
                sql_lines, err = block, None
                if "----" in block:
                    k = block.index("----")
                    sql_lines, err = block[:k], "\n".join(block[k + 1:])
                    # An expected error message may continue after the blank line.
                rec = Record(kind, "\n".join(sql_lines), start_line, error_text=err)
            else:
                types = words[1] if len(words) > 1 else ""
                sort = words[2] if len(words) > 2 else "nosort"
                if "----" in block:
                    k = block.index("----")
                    sql_lines = block[:k]
                    expected = block[k + 1:]
                else:
                    sql_lines, expected = block, []
                rec = Record("query", "\n".join(sql_lines), start_line, sort=sort,
                             columns=len(types), expected=expected)
            if skip_mode or condition_skip:
                skipped += 1
            else:
                records.append(rec)
            condition_skip = False
            continue
        # load, restart, set, hash-threshold, unzip, sleep, ...: nothing to run.
        condition_skip = False
        i += 1
    return records, skipped, None


# ---------------------------------------------------------------------------------------
# Running records


class Engine:
    def __init__(self, kind, binary):
        self.kind = kind
        self.binary = binary

    def argv(self, db, sql):
        if self.kind == "logdb":
            return [self.binary, db, "-c", sql, "-o", "json"]
        # DuckDB's own text for every value (lists, structs, decimals), one row a line.
        return [self.binary, db, "-list", "-noheader", "-separator", UNIT_SEPARATOR,
                "-nullvalue", "NULL", "-c", sql]

    def run(self, db, sql):
        """Returns ("ok", rows) / ("error", message) / ("crash", message)."""
        try:
            p = subprocess.run(self.argv(db, sql), capture_output=True, timeout=TIMEOUT_S,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            return "error", f"timeout after {TIMEOUT_S} s"
        out = p.stdout.decode("utf-8", "replace")
        err = p.stderr.decode("utf-8", "replace")
        if p.returncode < 0 or "panicked" in err or "RUST_BACKTRACE" in err:
            return "crash", (err.strip() or f"signal {-p.returncode}")[-300:]
        if p.returncode != 0 or (self.kind == "duckdb" and err.strip().startswith(("Error", "Binder", "Parser", "Catalog", "Conversion", "Invalid", "Not implemented", "Constraint", "Out of Range", "Dependency", "Serialization", "Sequence"))):
            return "error", (err.strip() or out.strip())[-300:]
        if self.kind == "logdb":
            return "ok", parse_json_rows(out)
        return "ok", [line.split(UNIT_SEPARATOR) for line in out.split("\n") if line != ""]


def parse_json_rows(out):
    """The rows of the last JSON array printed (one per statement), as lists of text."""
    rows = []
    text = out.strip()
    if not text:
        return rows
    decoder = json.JSONDecoder(object_pairs_hook=lambda pairs: pairs,
                               parse_float=lambda s: ("float", s),
                               parse_int=lambda s: ("int", s))
    pos, last = 0, []
    while pos < len(text):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            value, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        if isinstance(value, list):
            last = value
    for obj in last:
        if isinstance(obj, list):
            rows.append([render(v) for _, v in obj])
    return rows


def render(v):
    """A JSON value as sqllogictest prints it."""
    if v is None:
        return "NULL"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, tuple):
        return v[1]
    if isinstance(v, str):
        return v if v != "" else "(empty)"
    if isinstance(v, list) and (not v or not isinstance(v[0], tuple) or v[0][0] in ("int", "float")):
        if all(isinstance(x, tuple) and x[0] in ("int", "float") for x in v):
            return "[" + ", ".join(x[1] for x in v) + "]"
        return "[" + ", ".join(render_inner(x) for x in v) + "]"
    if isinstance(v, list):  # an object: list of pairs
        return "{" + ", ".join(f"'{k}': {render_inner(x)}" for k, x in v) + "}"
    return str(v)


LIST_SPECIAL = set("'\\[]{}():=\",")


def render_inner(v):
    """A list element as DuckDB prints it inside a list: strings bare unless
    that would be ambiguous, then quoted with backslash escapes."""
    r = render(v)
    if isinstance(v, str):
        quote = (v == "" or v.lower() == "null" or v[:1].isspace() or v[-1:].isspace()
                 or any(c in LIST_SPECIAL for c in v))
        if not quote:
            return v
        return "'" + v.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return r


def split_list(text):
    """The top-level elements of a printed list `[a, b, [c, d]]`, or None."""
    if not (text.startswith("[") and text.endswith("]")):
        return None
    inner, items, depth, cur, quote = text[1:-1], [], 0, "", None
    i = 0
    while i < len(inner):
        c = inner[i]
        if quote:
            cur += c
            if c == "\\" and i + 1 < len(inner):
                cur += inner[i + 1]
                i += 1
            elif c == quote:
                quote = None
        elif c == "'":
            quote = c
            cur += c
        elif c in "[{":
            depth += 1
            cur += c
        elif c in "]}":
            depth -= 1
            cur += c
        elif c == "," and depth == 0:
            items.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    if inner.strip():
        items.append(cur.strip())
    return items


BOOLEAN_AS_INTEGER = {"true": "1", "false": "0"}


def values_equal(expected, actual):
    if expected == actual:
        return True
    if expected == "(empty)" and actual == "":
        return True
    if BOOLEAN_AS_INTEGER.get(actual) == expected:  # a BOOLEAN in a column typed I
        return True
    if actual in BOOLEAN_AS_INTEGER and expected.lower() == actual:
        return True
    ei, ai = split_list(expected), split_list(actual)
    if ei is not None and ai is not None:  # lists: element by element
        return len(ei) == len(ai) and all(values_equal(e, a) for e, a in zip(ei, ai))
    try:
        e, a = float(expected), float(actual)
    except ValueError:
        return False
    if math.isnan(e) and math.isnan(a):
        return True
    if math.isinf(e) or math.isinf(a):
        return e == a
    return abs(e - a) <= 1e-6 * max(abs(e), abs(a)) or abs(e - a) < 1e-12


def compare(rec, rows):
    """None when the rows match the record's expectation, else a reason."""
    ncols = rec.columns or (len(rows[0]) if rows else 1)
    actual = [v for row in rows for v in row]
    if rows and len(rows[0]) != ncols:
        return f"{len(rows[0])} columns, expected {ncols}"
    exp_lines = rec.expected or []
    m = re.match(r"^(\d+) values hashing to ([0-9a-f]{32})$", exp_lines[0].strip()) if len(exp_lines) == 1 else None
    if m:
        if rec.sort == "rowsort":
            ordered = [v for row in sorted(rows) for v in row]
        elif rec.sort == "valuesort":
            ordered = sorted(actual)
        else:
            ordered = actual
        h = hashlib.md5("".join(v + "\n" for v in ordered).encode()).hexdigest()
        if int(m.group(1)) != len(actual):
            return f"{len(actual)} values, expected {m.group(1)}"
        return None if h == m.group(2) else "values differ (hash)"
    expected = []
    for line in exp_lines:
        parts = line.split("\t")
        expected += parts
    if len(expected) != len(actual):
        return f"{len(actual)} values ({len(rows)} rows), expected {len(expected)}"
    if rec.sort == "rowsort":
        exp_rows = sorted(tuple(expected[i:i + ncols]) for i in range(0, len(expected), ncols))
        act_rows = sorted(tuple(r) for r in rows)
        expected = [v for r in exp_rows for v in r]
        actual = [v for r in act_rows for v in r]
    elif rec.sort == "valuesort":
        expected, actual = sorted(expected), sorted(actual)
    for e, a in zip(expected, actual):
        if not values_equal(e.strip() if e.strip() == "NULL" else e, a):
            return f"got {a!r}, expected {e!r}"
    return None


def run_file(engine, path, root):
    work = tempfile.mkdtemp(prefix="sql-gauge-")
    try:
        records, skipped, file_skip = parse_file(path, work)
        outcomes = []
        if file_skip:
            return path, [("skipped-file", None, file_skip)], skipped
        db = os.path.join(work, "db" if engine.kind == "logdb" else "test.duckdb")
        setup_failed = False
        session = []  # statements whose effect lives in a session, replayed before each record
        for rec in records:
            if rec.sql.lstrip().upper().startswith("EXPLAIN"):
                outcomes.append(("skipped", rec, "EXPLAIN output is engine-specific"))
                continue
            status, payload = engine.run(db, ";\n".join(session + [rec.sql.strip().rstrip(";")]))
            if status == "ok" and rec.kind in ("ok", "maybe") and SESSION_STATEMENT.match(rec.sql):
                session.append(rec.sql.strip().rstrip(";"))
            if status == "crash":
                outcomes.append(("crash", rec, payload))
                setup_failed = True
                continue
            if rec.kind in ("ok", "maybe"):
                if status == "ok" or rec.kind == "maybe":
                    outcomes.append(("pass", rec, None))
                else:
                    setup_failed = True
                    outcomes.append((classify_error(payload), rec, payload))
            elif rec.kind == "error":
                outcomes.append(("pass-error" if status == "error" else "wrong", rec,
                                 None if status == "error" else "succeeded, expected an error"))
            else:
                if status != "ok":
                    outcomes.append((classify_error(payload), rec, payload))
                    continue
                reason = compare(rec, payload)
                if reason is None:
                    outcomes.append(("pass", rec, None))
                else:
                    outcomes.append(("wrong-after-setup-failure" if setup_failed else "wrong", rec, reason))
        return path, outcomes, skipped
    finally:
        shutil.rmtree(work, ignore_errors=True)


def classify_error(message):
    low = (message or "").lower()
    if "not supported" in low or "not implemented" in low or "unsupported" in low:
        return "unsupported"
    return "error"


# ---------------------------------------------------------------------------------------

COLUMNS = ["pass", "pass-error", "unsupported", "error", "wrong", "wrong-after-setup-failure", "crash"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duckdb-tests", required=True, type=Path,
                    help="a DuckDB checkout (or export) containing test/sql")
    ap.add_argument("--engine", choices=["logdb", "duckdb"], default="logdb")
    ap.add_argument("--binary", help="the engine's CLI (default target/release/logdb, or `duckdb` on PATH)")
    ap.add_argument("--dirs", help="comma-separated directories under test/sql (default: the gauge's 24)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--failures", type=Path, help="write every non-passing record here (TSV)")
    ap.add_argument("--json", type=Path, help="write the per-directory counts here")
    args = ap.parse_args()

    root = args.duckdb_tests / "test" / "sql"
    if not root.is_dir():
        sys.exit(f"{root} is not a directory: pass a DuckDB checkout with --duckdb-tests")
    if args.binary:
        binary = args.binary
    elif args.engine == "logdb":
        binary = str(Path(__file__).resolve().parent.parent / "target" / "release" / "logdb")
    else:
        binary = shutil.which("duckdb") or sys.exit("no duckdb on PATH: pass --binary")
    engine = Engine(args.engine, binary)
    dirs = args.dirs.split(",") if args.dirs else DIRECTORIES

    files = []
    for d in dirs:
        files += [(d, p) for p in sorted((root / d).rglob("*.test"))]
    per_dir = defaultdict(Counter)
    failures = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_file, engine, p, root): d for d, p in files}
        for fut in concurrent.futures.as_completed(futures):
            d = futures[fut]
            path, outcomes, skipped = fut.result()
            per_dir[d]["skipped"] += skipped
            per_dir[d]["files"] += 1
            for kind, rec, detail in outcomes:
                per_dir[d][kind] += 1
                if kind not in ("pass", "pass-error", "skipped"):
                    rel = path.relative_to(root)
                    failures.append((str(rel), rec.line if rec else 0, kind,
                                     (rec.sql if rec else "").replace("\n", " ")[:300],
                                     (detail or "").replace("\n", " ")[:300]))

    header = f"{'directory':<24} {'files':>5} {'records':>7} {'pass':>6} {'p-err':>6} {'unsup':>6} {'error':>6} {'wrong':>6} {'w/setup':>7} {'crash':>5} {'skip':>5} {'pass%':>6}"
    print(f"engine: {engine.kind} ({engine.binary})")
    print(header)
    total = Counter()
    for d in dirs:
        c = per_dir[d]
        total.update(c)
        print(row_line(d, c))
    print(row_line("total", total))
    print("pass% = (pass + pass-error) / records run; skip-file counts files needing an extension")
    if args.failures:
        with open(args.failures, "w") as f:
            for r in sorted(failures):
                f.write("\t".join(str(x) for x in r) + "\n")
    if args.json:
        args.json.write_text(json.dumps({d: dict(per_dir[d]) for d in dirs} | {"total": dict(total)}, indent=1))


def row_line(name, c):
    records = sum(c[k] for k in COLUMNS)
    rate = 100.0 * (c["pass"] + c["pass-error"]) / records if records else 0.0
    return (f"{name:<24} {c['files']:>5} {records:>7} {c['pass']:>6} {c['pass-error']:>6} "
            f"{c['unsupported']:>6} {c['error']:>6} {c['wrong']:>6} {c['wrong-after-setup-failure']:>7} "
            f"{c['crash']:>5} {c['skipped'] + c['skipped-file']:>5} {rate:>5.1f}%")


if __name__ == "__main__":
    main()
