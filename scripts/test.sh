#!/usr/bin/env bash
#===- scripts/test.sh - set up, build and run every test suite ------------===#
#
# README command 2 (and CI's, through .ci/run). On a fresh Debian 12 machine:
# installs what is missing, builds Kiln, then runs
#   format     scripts/check_format.sh: C, C++ and CMake files formatted
#   ctest      C++ unit tests and whatever else the build registers
#   lit        build/test (only when ctest does not already run it)
#   fixtures   test/models/run_fixtures.py: the fixture models vs references,
#              then the model zoo of today's exporters (test/models/zoo)
#   backend    test/onnx-backend/run_backend.py: ONNX node conformance tests,
#              Debian's libonnx-testdata (onnx 1.12) and those of the pinned
#              onnx 1.23 (test/onnx-backend/generate_node_tests.py)
#   aarch64    the cross build (scripts/build-aarch64.sh, made in the build
#              step): its runtime tests under qemu-aarch64 (ctest in
#              build-aarch64), then the fixtures and the zoo compiled with
#              kilnc --target=cpu:aarch64 and run by the aarch64 kiln-run
#              under qemu-aarch64, with the x86 tolerances (about 2 min)
#   sanitize   scripts/sanitize.sh: ctest, lit, fixtures and backend again in
#              build-asan (ASan+UBSan, leaks on), the runtime tests in
#              build-tsan (TSan)
#   fuzz       scripts/fuzz.sh: the importer fuzzer for KILN_FUZZ_SECONDS
#              (default 60) in build-asan (ASan+UBSan+libFuzzer)
# Every suite runs even when an earlier one fails. Ends with the line
#   N passed, M failed, K skipped
# summed over the suites, and exits non-zero on any failure.
#
# Usage: bash scripts/test.sh [SUITE...]   (e.g. `scripts/test.sh ctest lit`)
# Env: KILN_SUITES (default "format ctest lit fixtures backend aarch64
#      sanitize fuzz"; suites given as arguments win),
#      KILN_SKIP_SETUP=1, KILN_SKIP_BUILD=1 (reuse what is there),
#      KILNC, KILN_RUN (tool paths; default the build/ ones)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD="${KILN_BUILD_DIR:-build}"
SUITES="${KILN_SUITES:-format ctest lit fixtures backend aarch64 sanitize fuzz}"
if (($#)); then
  case "$1" in
    -h|--help) sed -n '2,31p' "${BASH_SOURCE[0]}"; exit 0 ;;
  esac
  for suite in "$@"; do
    case " format ctest lit fixtures backend aarch64 sanitize fuzz " in
      *" $suite "*) ;;
      *) echo "test.sh: unknown suite '$suite' (format ctest lit fixtures backend aarch64 sanitize fuzz)" >&2; exit 2 ;;
    esac
  done
  SUITES="$*"
fi
KILNC="${KILNC:-$BUILD/tools/kilnc/kilnc}"
KILN_RUN="${KILN_RUN:-$BUILD/tools/kiln-run/kiln-run}"
LIT=/usr/lib/llvm-22/bin/lit
JOBS="$(nproc)"
PY="$ROOT/.venv/bin/python"

LOGS="$(mktemp -d "${TMPDIR:-/tmp}/kiln-test.XXXXXX")"
trap 'rm -rf "$LOGS"' EXIT

total_pass=0 total_fail=0 total_skip=0
report=()

# record SUITE PASSED FAILED SKIPPED
record() {
  total_pass=$((total_pass + $2)) total_fail=$((total_fail + $3)) total_skip=$((total_skip + $4))
  report+=("$(printf '  %-12s %5d passed, %d failed, %d skipped' "$1" "$2" "$3" "$4")")
}

finish() {
  echo
  echo "== summary"
  printf '%s\n' "${report[@]}"
  echo "$total_pass passed, $total_fail failed, $total_skip skipped"
  ((total_fail == 0))
  exit $?
}

banner() { echo; echo "== $*"; }

has_suite() { [[ " $SUITES " == *" $1 "* ]]; }

# Sum of the integers that a Perl regex with one \K-anchored number matches.
count() { { grep -oP "$1" "$2" || true; } | awk '{s += $1} END {print s + 0}'; }

#--- setup and build ---------------------------------------------------------#
if [[ "${KILN_SKIP_SETUP:-0}" != 1 ]]; then
  banner "setup"
  bash scripts/setup.sh
fi
if [[ "${KILN_SKIP_BUILD:-0}" != 1 ]]; then
  banner "build"
  if ! bash scripts/build.sh; then
    record build 0 1 0
    finish
  fi
  # Before lit, whose aarch64 run tests need the aarch64 runtime.
  if has_suite aarch64 && ! bash scripts/build-aarch64.sh; then
    record aarch64-build 0 1 0
  fi
fi

#--- format ------------------------------------------------------------------#
if has_suite format; then
  banner "format"
  if bash scripts/check_format.sh; then
    record format 1 0 0
  else
    record format 0 1 0
  fi
fi

#--- ctest -------------------------------------------------------------------#
# run_ctest NAME DIR: ctest in build dir DIR, counted as suite NAME.
run_ctest() {
  local log="$LOGS/$1.log" rc=0 ran failed skipped
  ctest --test-dir "$2" --output-on-failure -j"$JOBS" 2>&1 | tee "$log" || rc=$?
  ran="$(count '\d+ tests? failed out of \K\d+' "$log")"
  failed="$(count '\d+% tests passed, \K\d+(?= tests? failed)' "$log")"
  skipped="$(grep -cE '^ *[0-9]+/[0-9]+ Test +#[0-9]+: .*\*\*\*Skipped' "$log" || true)"
  if ((rc != 0 && failed == 0)); then failed=1; fi  # ctest itself failed
  record "$1" $((ran - failed - skipped < 0 ? 0 : ran - failed - skipped)) "$failed" "$skipped"
}

lit_in_ctest=0
if has_suite ctest; then
  banner "ctest"
  run_ctest ctest "$BUILD"
  # Not `ctest | grep -q`: grep's early exit would fail the pipeline
  # (pipefail) now and then, and lit would run twice.
  listed="$(ctest --test-dir "$BUILD" -N 2>/dev/null || true)"
  if grep -qiE 'Test +#[0-9]+: .*lit' <<<"$listed"; then
    lit_in_ctest=1
  fi
fi

#--- lit (when ctest does not run it) ----------------------------------------#
if has_suite lit && ((lit_in_ctest == 0)); then
  banner "lit"
  if [[ -f "$BUILD/test/lit.site.cfg.py" ]]; then
    log="$LOGS/lit.log"
    rc=0
    "$LIT" -sv "$BUILD/test" 2>&1 | tee "$log" || rc=$?
    p="$(count '^\s*(Passed|Expectedly Failed)\s*:\s*\K\d+' "$log")"
    f="$(count '^\s*(Failed|Unexpectedly Passed|Unresolved|Timed Out)\s*:\s*\K\d+' "$log")"
    s="$(count '^\s*(Unsupported|Skipped|Excluded)\s*:\s*\K\d+' "$log")"
    if ((rc != 0 && f == 0)); then f=1; fi
    record lit "$p" "$f" "$s"
  else
    echo "no $BUILD/test/lit.site.cfg.py: the build configures no lit suite yet"
  fi
fi

#--- Python-driven suites ----------------------------------------------------#
# run_python_suite NAME SCRIPT ARGS...: the script writes its counts as JSON.
run_python_suite() {
  local name="$1" script="$2"
  shift 2
  banner "$name"
  local json="$LOGS/$name.json" rc=0
  "$PY" "$script" --kilnc "$KILNC" --kiln-run "$KILN_RUN" --summary-json "$json" "$@" || rc=$?
  if [[ -f "$json" ]]; then
    read -r p f s < <("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["passed"], d["failed"], d["skipped"])' "$json")
    if ((rc != 0 && f == 0)); then f=1; fi
    record "$name" "$p" "$f" "$s"
  else
    record "$name" 0 1 0  # the runner could not run (missing tool, crash)
  fi
}

if has_suite fixtures; then
  run_python_suite fixtures test/models/run_fixtures.py -j "$JOBS"
  # The model zoo: today's exporters (dynamo, TorchScript, Optimum) over nine
  # architectures, against ONNX Runtime (test/models/zoo/README.md).
  run_python_suite zoo test/models/run_fixtures.py -j "$JOBS" \
    --models test/models/zoo --xfail test/models/zoo/xfail.txt \
    --refsets ref_ort,ref_prefill,ref_leftpad
fi
if has_suite backend; then
  run_python_suite backend test/onnx-backend/run_backend.py -j "$JOBS"
  # The same runner on the node tests of the pinned onnx package (opsets up
  # to 23), which Debian's libonnx-testdata 1.12 predates.
  node_tests="$BUILD/onnx-node-tests"
  "$PY" test/onnx-backend/generate_node_tests.py "$node_tests"
  run_python_suite backend-1.23 test/onnx-backend/run_backend.py -j "$JOBS" \
    --data-dir "$node_tests" --xfail test/onnx-backend/xfail-onnx-1.23.txt
fi

#--- aarch64: the cross build's tests and the fixtures under qemu-aarch64 -----#
if has_suite aarch64; then
  AARCH64_BUILD="${KILN_AARCH64_BUILD_DIR:-build-aarch64}"
  if [[ -f "$AARCH64_BUILD/build.ninja" ]]; then
    banner "aarch64: runtime tests under qemu-aarch64"
    run_ctest aarch64-ctest "$AARCH64_BUILD"
    aarch64_run="$AARCH64_BUILD/tools/kiln-run/kiln-run"
    run_python_suite aarch64-fixtures test/models/run_fixtures.py -j "$JOBS" \
      --aarch64 --kiln-run "$aarch64_run"
    run_python_suite aarch64-zoo test/models/run_fixtures.py -j "$JOBS" \
      --aarch64 --kiln-run "$aarch64_run" \
      --models test/models/zoo --xfail test/models/zoo/xfail.txt \
      --refsets ref_ort,ref_prefill,ref_leftpad
  else
    banner "aarch64"
    echo "no $AARCH64_BUILD/build.ninja: run scripts/build-aarch64.sh"
    record aarch64 0 1 0
  fi
fi

#--- sanitize: the suites again under ASan+UBSan, the runtime under TSan -----#
# Before fuzz, which then finds build-asan built.
if has_suite sanitize; then
  for config in asan tsan; do
    banner "sanitize: $config"
    log="$LOGS/sanitize-$config.log"
    rc=0
    KILN_SUITES="ctest lit fixtures backend" bash scripts/sanitize.sh "$config" \
      >"$log" 2>&1 || rc=$?
    tail -n 12 "$log"
    if [[ "$config" == asan ]] && summary="$(grep -P '^\d+ passed, \d+ failed, \d+ skipped$' "$log" | tail -1)" && [[ -n "$summary" ]]; then
      read -r p _ f _ k _ <<<"${summary//,/}"
    elif [[ "$config" == tsan ]] && grep -q 'tests failed out of' "$log"; then
      f="$(count '\K\d+(?= tests failed out of)' "$log")"
      p=$(( $(count 'tests failed out of \K\d+' "$log") - f )) k=0
    else
      p=0 f=1 k=0  # did not get as far as running tests
    fi
    ((rc == 0 || f > 0)) || f=1
    record "$config" "$p" "$f" "$k"
  done
fi

#--- fuzz: a bounded run of the importer fuzzer -------------------------------#
if has_suite fuzz; then
  banner "fuzz"
  if bash scripts/fuzz.sh "${KILN_FUZZ_SECONDS:-60}"; then
    record fuzz 1 0 0
  else
    record fuzz 0 1 0
  fi
fi

finish
