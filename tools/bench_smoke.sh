#!/usr/bin/env bash
# CI smoke run of the end-to-end benchmark: 200,000 generated lines imported into logdb,
# DuckDB and ClickHouse (chDB), the query suite run once on each, and every answer
# compared with logdb's (exit 1 on a mismatch). Uses the debug binary that `cargo test`
# builds. The venv lives outside the checkout so that later runs on the same machine
# reuse it (it is re-created when tools/requirements.txt changes).
set -euo pipefail
cd "$(dirname "$0")/.."

LOGDB="${LOGDB:-target/debug/logdb}"
VENV="${LOGDB_BENCH_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/logdb/venv-bench}"
WORKDIR="$(mktemp -d "${TMPDIR:-/tmp}/logdb-bench-smoke.XXXXXX")"
trap 'rm -rf "$WORKDIR"' EXIT

if [ ! -x "$LOGDB" ]; then
  cargo build --locked --quiet --bin logdb
fi
mkdir -p "$(dirname "$VENV")"
python3 tools/bench.py --lines 200000 --runs 1 --logdb "$LOGDB" --venv "$VENV" \
  --workdir "$WORKDIR" --json "$WORKDIR/bench-smoke.json"
