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
  wrong        the engine answered, with other rows (or succeeded where the file
               expects an error); "after setup failure" when an earlier statement of
               the same file failed, or a `query` record that changes data (its data
               are not the file's)
  version      a "wrong" record where the reference DuckDB (the Python package
               `duckdb`, the current release) disagrees with the file's expectation
               and gives the engine's answer: the file expects the behaviour of the
               release it comes from. Asked by replaying the file's records in order
               in a fresh in-memory connection up to the record (--no-reference: not
               asked, and such records stay "wrong"). Not counted as passing.
  order        a "wrong" record whose rows are the file's in another order, where the
               query leaves the order open (no ORDER BY outside parentheses) but the
               file expects DuckDB's. Not counted as passing.
  beyond       a `statement error` record whose expected message says DuckDB does not
               support the statement yet ("not implemented", "not supported"), where
               the engine answered. Not counted as passing, nor as wrong: the file
               records a missing feature of DuckDB, not a rule of SQL.
  crash        the process died of a signal or printed a panic
  skipped      records under `skipif`/`onlyif` for other engines, `mode skip`,
               queries of random() after the runner's `set seed` (their values are
               DuckDB's random sequence), and files that `require` an extension or a
               build option

A NUL byte in a value is compared as `\\0` (the files' spelling), a result line of
spaces is a value (a `bar`), not the end of the expected rows, and `<REGEX>:` values
are patterns, as in DuckDB's runner.

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
import threading
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

# A statement that changes data, also inside a `query` record (`WITH ... DELETE ...`).
DATA_CHANGE = re.compile(r"\b(INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\w+\s+SET)\b", re.IGNORECASE)


# ---------------------------------------------------------------------------------------
# Parsing a test file into records


class Record:
    def __init__(self, kind, sql, line, sort="nosort", columns=0, expected=None,
                 error_text=None, label=None):
        self.kind = kind            # "ok", "error", "maybe" or "query"
        self.sql = sql
        self.line = line
        self.sort = sort
        self.columns = columns
        self.expected = expected    # list of lines (query) or None
        self.error_text = error_text
        self.label = label          # records of one label must give the same rows


def read_blocks(lines, start):
    """Lines from `start` to the next blank line. After the `----` separator only an
    empty line ends the block: a line of spaces is a value (`bar` draws them)."""
    out = []
    i = start
    results = False
    while i < len(lines):
        line = lines[i]
        if (line.rstrip("\r") == "") if results else (line.strip() == ""):
            break
        if line.strip() == "----":
            results = True
        out.append(line)
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
    seeded = False
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
                if sort == "sort":  # DuckDB's runner reads `sort` as `rowsort`
                    sort = "rowsort"
                if "----" in block:
                    k = block.index("----")
                    sql_lines = block[:k]
                    expected = block[k + 1:]
                else:
                    sql_lines, expected = block, []
                rec = Record("query", "\n".join(sql_lines), start_line, sort=sort,
                             columns=len(types), expected=expected,
                             label=words[3] if len(words) > 3 else None)
            if skip_mode or condition_skip:
                skipped += 1
            elif seeded and rec.kind == "query" and "random()" in rec.sql.lower():
                skipped += 1  # its values are DuckDB's random sequence
            else:
                records.append(rec)
            condition_skip = False
            continue
        if head == "set" and len(words) > 1 and words[1] == "seed":
            seeded = True  # later random() values are DuckDB's sequence from that seed
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
            rows = parse_json_rows(out)
        else:
            rows = [line.split(UNIT_SEPARATOR) for line in out.split("\n") if line != ""]
        return "ok", [[show_nul(v) for v in row] for row in rows]


def show_nul(value):
    """DuckDB's test files write a NUL byte in a value as `\\0`."""
    return value.replace("\x00", "\\0")


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


def values_equal(expected, actual, approximate=False):
    """Whether an answer's value is the expected one. Numbers match to 6 significant
    digits; `approximate` (a FLOAT or DOUBLE column) to 1% as DuckDB's own test runner
    compares them. `<REGEX>:p` / `<!REGEX>:p` expect a value that p matches (or not)."""
    if expected == actual:
        return True
    for prefix, want in (("<REGEX>:", True), ("<!REGEX>:", False)):
        if expected.startswith(prefix):
            try:
                return (re.fullmatch(expected[len(prefix):], actual, re.DOTALL) is not None) == want
            except re.error:
                return False
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
    if approximate:
        return abs(a - e) <= abs(e) * 0.01 + 1e-8
    return abs(e - a) <= 1e-6 * max(abs(e), abs(a)) or abs(e - a) < 1e-12


APPROXIMATE_TYPES = ("FLOAT", "DOUBLE")


def compare(rec, rows, types=None):
    """None when the rows match the record's expectation, else a reason. `types` (the
    result's column types, when known) marks the FLOAT and DOUBLE columns whose values
    DuckDB's runner compares to 1%."""
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
        # A row's values are separated by tabs; like DuckDB's runner, empty pieces between
        # two tabs are no values (an empty string is written `(empty)`).
        expected += [p for p in line.split("\t") if p != ""] if "\t" in line else [line]
    if len(expected) != len(actual):
        return f"{len(actual)} values ({len(rows)} rows), expected {len(expected)}"
    if rec.sort == "rowsort":
        exp_rows = sorted(tuple(expected[i:i + ncols]) for i in range(0, len(expected), ncols))
        act_rows = sorted(tuple(r) for r in rows)
        expected = [v for r in exp_rows for v in r]
        actual = [v for r in act_rows for v in r]
    elif rec.sort == "valuesort":
        expected, actual = sorted(expected), sorted(actual)
    approximate = [bool(types) and len(types) == ncols and
                   (types[i % ncols] in APPROXIMATE_TYPES if rec.sort != "valuesort"
                    else all(t in APPROXIMATE_TYPES for t in types))
                   for i in range(len(expected))]
    for e, a, approx in zip(expected, actual, approximate):
        if not values_equal(e.strip() if e.strip() == "NULL" else e, a, approx):
            return f"got {a!r}, expected {e!r}"
    return None


class Reference:
    """The reference DuckDB (the Python package, DuckDB 2.0 here) asked about a file's
    "wrong" records: the file's records run in order in one fresh in-memory connection
    (errors ignored), and at each record asked about, its answer is taken as text."""

    def __init__(self):
        import duckdb  # only when the check is on
        self.duckdb = duckdb
        self.version = duckdb.__version__

    def answers(self, records, wanted):
        """{record index: ("ok", rows, column types) | ("error", message, None)} for the
        indices in `wanted`."""
        con = self.duckdb.connect()
        out = {}
        try:
            for i, rec in enumerate(records[:max(wanted) + 1]):
                sql = rec.sql.strip().rstrip(";")
                timer = threading.Timer(TIMEOUT_S, con.interrupt)
                timer.start()
                try:
                    if i in wanted:
                        out[i] = self.as_text(con, sql)
                    else:
                        con.execute(sql).fetchall()
                except Exception as e:  # any failure of a replayed record: go on, as a test would
                    if i in wanted:
                        out[i] = ("error", str(e).split("\n")[0][:300], None)
                finally:
                    timer.cancel()
        finally:
            con.close()
        return out

    @staticmethod
    def as_text(con, sql):
        """The rows of one statement, every value cast to VARCHAR by DuckDB itself."""
        rel = con.sql(sql)
        if rel is None:
            return "ok", [], []
        casts = ", ".join(f"CAST(#{i} AS VARCHAR)" for i in range(1, len(rel.columns) + 1))
        rows = rel.query("gauge_result", f"SELECT {casts} FROM gauge_result").fetchall()
        return "ok", [["NULL" if v is None else (show_nul(v) if v != "" else "(empty)")
                       for v in row] for row in rows], [str(t) for t in rel.types]


def same_rows(rec, rows, other, types=None):
    """Whether two answers to `rec` are the same rows (in the record's sort mode)."""
    as_expected = Record("query", rec.sql, rec.line, sort=rec.sort,
                         columns=len(other[0]) if other else 0,
                         expected=["\t".join(row) for row in other])
    if not rows and not other:
        return True
    return compare(as_expected, rows, types) is None


def reference_check(reference, records, outcomes, candidates):
    """Settles the "wrong" outcomes with the reference DuckDB's answers:

    - "pass" where the engine's answer matches the file once FLOAT and DOUBLE columns
      (the reference's result types) are compared to 1%, as DuckDB's runner does, or
      where it is the reference's answer and that matches the file (a hashed result
      whose text JSON cannot carry: a DOUBLE 0.0 printed as 0);
    - "version" where the reference disagrees with the file's expectation and gives the
      engine's answer: the file tests the behaviour of the DuckDB release it comes
      from, and the reference changed since."""
    if reference is None or not candidates:
        return
    answers = reference.answers(records, {idx for _, idx, _ in candidates})
    for pos, idx, rows in candidates:
        rec = records[idx]
        status, payload, types = answers.get(idx, ("error", "not run", None))
        if rec.kind == "query" and types and compare(rec, rows, types) is None:
            outcomes[pos] = ("pass", rec, None)
            continue
        if rec.kind == "error":
            file_agrees = status == "error"
        else:
            file_agrees = status == "ok" and compare(rec, payload, types) is None
        if status != "ok" or not same_rows(rec, rows, payload, types):
            continue
        if file_agrees:
            if rec.kind == "query":
                # The reference's text matches the file (a hash, say) and the engine
                # gives the reference's values: JSON had printed 0.0 as 0.
                outcomes[pos] = ("pass", rec, None)
            continue
        _, _, detail = outcomes[pos]
        outcomes[pos] = ("version", rec, f"DuckDB {reference.version} gives this answer too; "
                                         f"the file expects: {detail}")


def run_file(engine, path, root, reference=None):
    work = tempfile.mkdtemp(prefix="sql-gauge-")
    try:
        records, skipped, file_skip = parse_file(path, work)
        outcomes = []
        if file_skip:
            return path, [("skipped-file", None, file_skip)], skipped
        db = os.path.join(work, "db" if engine.kind == "logdb" else "test.duckdb")
        setup_failed = False
        session = []  # statements whose effect lives in a session, replayed before each record
        candidates = []  # (outcome position, record index, the engine's rows) of "wrong" records
        labels = {}  # label -> (first record, its rows)
        for idx, rec in enumerate(records):
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
                if status == "error":
                    outcomes.append(("pass-error", rec, None))
                elif classify_error(rec.error_text) == "unsupported":
                    outcomes.append(("beyond", rec, "succeeded where the file's DuckDB says "
                                     f"it does not support this: {rec.error_text}"))
                else:
                    candidates.append((len(outcomes), idx, payload))
                    outcomes.append(("wrong", rec, "succeeded, expected an error"))
            else:
                if status != "ok":
                    if DATA_CHANGE.search(rec.sql):
                        # A `query` record that changes data (`WITH ... DELETE`):
                        # the rows after it are not the file's.
                        setup_failed = True
                    outcomes.append((classify_error(payload), rec, payload))
                    continue
                if rec.label is not None and not rec.expected:
                    # A labelled record without rows: the same rows as the label's first.
                    first = labels.setdefault(rec.label, (rec, payload))
                    reason = None if same_rows(first[0], payload, first[1]) else \
                        f"not the rows of the first query labelled {rec.label}"
                else:
                    reason = compare(rec, payload)
                if reason is None:
                    outcomes.append(("pass", rec, None))
                elif not setup_failed and unordered(rec) and \
                        compare(Record("query", rec.sql, rec.line, sort="rowsort",
                                       columns=rec.columns, expected=rec.expected),
                                payload) is None:
                    outcomes.append(("order", rec, f"the rows in another order: {reason}"))
                else:
                    if not setup_failed:
                        candidates.append((len(outcomes), idx, payload))
                    outcomes.append(("wrong-after-setup-failure" if setup_failed else "wrong", rec, reason))
        reference_check(reference, records, outcomes, candidates)
        return path, outcomes, skipped
    finally:
        shutil.rmtree(work, ignore_errors=True)


def unordered(rec):
    """Whether `rec` compares rows in order although its query leaves the order open:
    no ORDER BY outside parentheses (window specifications, subqueries)."""
    if rec.sort != "nosort" or rec.sql.lstrip().startswith("("):
        return False
    text, previous = rec.sql, None
    while text != previous:
        previous, text = text, re.sub(r"\([^()]*\)", " ", text)
    return re.search(r"\bORDER\s+BY\b", text, re.IGNORECASE) is None


def classify_error(message):
    low = (message or "").lower()
    if "not supported" in low or "not implemented" in low or "unsupported" in low:
        return "unsupported"
    return "error"


# ---------------------------------------------------------------------------------------

COLUMNS = ["pass", "pass-error", "unsupported", "error", "wrong", "version", "order", "beyond",
           "wrong-after-setup-failure", "crash"]


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
    ap.add_argument("--no-reference", action="store_true",
                    help="do not ask the Python package `duckdb` about wrong records")
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
    reference = None
    if not args.no_reference:
        try:
            reference = Reference()
        except ImportError:
            print("note: no Python package `duckdb`: wrong records are not checked against it",
                  file=sys.stderr)

    files = []
    for d in dirs:
        files += [(d, p) for p in sorted((root / d).rglob("*.test"))]
    per_dir = defaultdict(Counter)
    failures = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        futures = {pool.submit(run_file, engine, p, root, reference): d for d, p in files}
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

    header = f"{'directory':<24} {'files':>5} {'records':>7} {'pass':>6} {'p-err':>6} {'unsup':>6} {'error':>6} {'wrong':>6} {'version':>7} {'order':>5} {'beyond':>6} {'w/setup':>7} {'crash':>5} {'skip':>5} {'pass%':>6}"
    print(f"engine: {engine.kind} ({engine.binary})")
    print("reference: " + (f"DuckDB {reference.version} (Python package)" if reference
                           else "none (wrong records not checked against a current DuckDB)"))
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
            f"{c['unsupported']:>6} {c['error']:>6} {c['wrong']:>6} {c['version']:>7} {c['order']:>5} "
            f"{c['beyond']:>6} {c['wrong-after-setup-failure']:>7} "
            f"{c['crash']:>5} {c['skipped'] + c['skipped-file']:>5} {rate:>5.1f}%")


if __name__ == "__main__":
    main()
