#!/usr/bin/env bash
# Builds logdb's fuzz targets (fuzz/) and runs each one for SECONDS (default 30), one
# after another, starting from a seed corpus written from tests/golden, the queries
# of tests/slt (also as HTTP requests), logdb's own encoders and hand-written log
# lines and requests. The targets are every [[bin]] of fuzz/Cargo.toml (`cargo fuzz
# list`): parse_* (one per log format), segment, manifest, encoding, sql and
# http_request. A target with a dictionary in fuzz/dict/<target>.dict (sql: keywords,
# functions, columns; http_request: request syntax, parameters, format names) gets it.
#
#   tools/fuzz.sh [SECONDS] [TARGET...]
#
# Exits non-zero on the first crash, printing the artifact path and how to
# reproduce and minimize it.
#
# Toolchain notes (stable Rust only, no nightly available):
# - cargo-fuzz passes nightly-only flags (-Zsanitizer=address, -Cpasses=sancov...);
#   RUSTC_BOOTSTRAP=1 makes the stable compiler accept them.
# - The address sanitizer works with stable 1.95 + RUSTC_BOOTSTRAP=1, so it is the
#   default. Set FUZZ_SANITIZER=none to build without it (about 2x more executions
#   per second, but out-of-bounds reads in C code such as zstd go unnoticed).
# - fuzz/Cargo.toml turns on overflow checks and debug assertions in the release
#   profile cargo-fuzz builds with, so arithmetic that would wrap is reported.
# - libFuzzer's defaults apply: -rss_limit_mb=2048, and with ASan a single
#   allocation above 2048 MB is reported as a crash too.
#
# Environment:
#   FUZZ_SANITIZER  address (default) or none
#   FUZZ_JOBS       parallel fuzzing jobs per target (default 1; the machine is shared)
#   CARGO_FUZZ_VERSION  the cargo-fuzz installed when missing or different (0.13.2)
set -euo pipefail

seconds="${1:-30}"
shift || true
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
fuzz="$root/fuzz"
sanitizer="${FUZZ_SANITIZER:-address}"
jobs="${FUZZ_JOBS:-1}"
export RUSTC_BOOTSTRAP=1

cargo_fuzz_version="${CARGO_FUZZ_VERSION:-0.13.2}"
if ! cargo fuzz --version 2>/dev/null | grep -qF "$cargo_fuzz_version"; then
    echo "installing cargo-fuzz $cargo_fuzz_version" >&2
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked
fi

cd "$fuzz"
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi

# Seed corpus: written fresh into fuzz/corpus/<target>/seed-* on every run (the rest
# of the corpus, which the fuzzer grows, is kept between runs). Built in the main
# target directory, beside the tests' build, whose dependencies it shares.
echo "writing seed corpus" >&2
CARGO_TARGET_DIR="$root/target" cargo run --quiet --example seeds -- "$root" "$fuzz/corpus"

echo "building ${targets[*]} (sanitizer: $sanitizer)" >&2
for t in "${targets[@]}"; do
    cargo fuzz build --sanitizer "$sanitizer" "$t"
done

status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t"
    echo "== $t: ${seconds}s" >&2
    log="$fuzz/artifacts/$t/last-run.log"
    extra=()
    if [ -f "dict/$t.dict" ]; then
        extra+=("-dict=dict/$t.dict")
    fi
    if cargo fuzz run --sanitizer "$sanitizer" --jobs "$jobs" "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${extra[@]}" >"$log" 2>&1; then
        grep -E '^(stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added)' "$log" >&2 || true
    else
        status=1
        grep -v "^\s*\[" "$log" | tail -n 40 | cut -c1-240 >&2
        artifact="$(grep -oE 'Test unit written to [^ ]+' "$log" | tail -n 1 | sed 's/Test unit written to //')"
        echo "CRASH in $t: ${artifact:-see $log}" >&2
        if [ -n "$artifact" ]; then
            echo "  reproduce: (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run --sanitizer $sanitizer $t $artifact)" >&2
            echo "  minimize:  (cd fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz tmin --sanitizer $sanitizer $t $artifact)" >&2
        fi
        break
    fi
done
exit "$status"
