#!/usr/bin/env bash
#===- scripts/fuzz.sh - build and run the importer and request fuzzers ----===#
#
# Builds build-asan/test/fuzz/kiln-fuzz-import and kiln-fuzz-request
# (ASan+UBSan+libFuzzer; only the libraries they need), fuzzes the importer
# and the pipeline up to LLVM IR for SECONDS (default 60), then kiln-serve's
# request parser for KILN_FUZZ_REQUEST_SECONDS (default 20; seeds:
# test/fuzz/request-seeds, corpus build-asan/fuzz/request-corpus). Seeds: the fixture models, ONNX's node test
# models (every 6th one, or all with KILN_FUZZ_SEEDS=all) and the kept
# regression inputs of test/fuzz/regressions. New interesting inputs go to
# build-asan/fuzz/corpus (kept between runs), crashing ones to
# build-asan/fuzz/crashes/. Exits non-zero if an input crashed, leaked,
# timed out or ran out of memory.
#
# Usage: bash scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
# Env:   KILN_FUZZ_SEEDS=sample|all, KILN_FUZZ_BUILD_DIR (default build-asan),
#        KILN_FUZZ_REQUEST_SECONDS, KILN_JOBS
#
# A crash: reproduce with `build-asan/test/fuzz/kiln-fuzz-import FILE`, fix,
# then keep FILE in test/fuzz/regressions/ (ctest runs them in build-asan;
# test/fuzz/regressions.test runs them through kilnc in every build).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

SECONDS_TO_RUN="${1:-60}"
shift || true
BUILD="${KILN_FUZZ_BUILD_DIR:-build-asan}"
FUZZER="$BUILD/test/fuzz/kiln-fuzz-import"
NODE_TESTS=/usr/share/libonnx-testdata/data/node

KILN_BUILD_DIR="$BUILD" \
KILN_CMAKE_ARGS="-DKILN_SANITIZE=address,undefined -DKILN_ENABLE_FUZZER=ON" \
  bash scripts/build.sh kiln-fuzz-import kiln-fuzz-request

work="$BUILD/fuzz"
seeds="$work/seeds"
rm -rf "$seeds"
mkdir -p "$seeds" "$work/corpus" "$work/crashes"
cp test/models/*.onnx "$seeds/"
if [[ -d "$NODE_TESTS" ]]; then
  every=6
  [[ "${KILN_FUZZ_SEEDS:-sample}" == all ]] && every=1
  i=0
  for model in "$NODE_TESTS"/*/model.onnx; do
    if ((i++ % every == 0)); then
      cp "$model" "$seeds/node_$(basename "$(dirname "$model")").onnx"
    fi
  done
fi
for input in test/fuzz/regressions/*; do
  [[ "$input" == */README.md ]] || cp "$input" "$seeds/"
done
echo "fuzz: $(ls "$seeds" | wc -l) seeds, $(ls "$work/corpus" | wc -l) corpus inputs, ${SECONDS_TO_RUN} s"

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LLVM_SYMBOLIZER_PATH="${LLVM_SYMBOLIZER_PATH:-/usr/lib/llvm-22/bin/llvm-symbolizer}"
log="$work/fuzz.log"
rc=0
# One input may take a few seconds (a fixture model through the whole
# pipeline under ASan); 30 s is a hang. 4 GiB is far more than any seed
# needs: a bigger allocation is a hostile size that got through. max_len
# admits the largest fixture model whole (libFuzzer would cut it to 1 MiB).
max_len=$(stat -c %s "$seeds"/* | sort -n | tail -1)
"$FUZZER" "$work/corpus" "$seeds" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=30 -rss_limit_mb=4096 \
  -max_len="$max_len" \
  -artifact_prefix="$work/crashes/" -print_final_stats=1 "$@" \
  >"$log" 2>&1 || rc=$?
grep -E 'INITED|DONE|^stat::|==ERROR|^SUMMARY|Test unit written' "$log" || true

# kiln-serve's request parser: small JSON bodies, many runs a second; 10 s
# for one is a hang.
request_seconds="${KILN_FUZZ_REQUEST_SECONDS:-20}"
request_log="$work/request-fuzz.log"
request_rc=0
mkdir -p "$work/request-corpus"
echo "fuzz: request parser, $(ls "$work/request-corpus" | wc -l) corpus inputs, ${request_seconds} s"
"$BUILD/test/fuzz/kiln-fuzz-request" "$work/request-corpus" test/fuzz/request-seeds \
  -max_total_time="$request_seconds" -timeout=10 -rss_limit_mb=2048 \
  -artifact_prefix="$work/crashes/request-" -print_final_stats=1 \
  >"$request_log" 2>&1 || request_rc=$?
grep -E 'INITED|DONE|==ERROR|^SUMMARY|Test unit written' "$request_log" || true

if ((rc != 0)); then
  echo "fuzz: importer FAILED (exit $rc); log: $log; inputs: $work/crashes/" >&2
fi
if ((request_rc != 0)); then
  echo "fuzz: request parser FAILED (exit $request_rc); log: $request_log; inputs: $work/crashes/request-*" >&2
fi
((rc == 0 && request_rc == 0)) || exit 1
echo "fuzz: no crash"
