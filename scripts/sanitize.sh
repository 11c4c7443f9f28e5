#!/usr/bin/env bash
#===- scripts/sanitize.sh - test suites under ASan+UBSan and TSan ---------===#
#
# scripts/test.sh runs both as its `sanitize` suite (so CI does); this script
# runs them alone. Each configuration has its own build directory.
#
#   asan  build-asan/: everything, the compiler and the runtime linked into
#         artifacts included, with -fsanitize=address,undefined (UBSan
#         reports are fatal) and libFuzzer coverage, so that scripts/fuzz.sh
#         reuses the build. Runs the whole test suite through scripts/test.sh
#         (ctest, lit, fixtures, backend; KILN_SUITES picks).
#   tsan  build-tsan/: the runtime and its tests only, with -fsanitize=thread.
#         The compiler is left out: it runs single-threaded in tests, and
#         Debian's uninstrumented libMLIR would hide its synchronization from
#         TSan. The concurrency tests' gpt2_tiny_prefill artifact, and
#         kiln-serve's test models (engine and end-to-end tests; the list in
#         test/serve/artifacts.txt, which the build reads as well), are
#         compiled by build/'s kilnc (built first if needed) and run by the
#         instrumented runtime of the test binary. TSan ignores the accesses
#         of uninstrumented libraries (ignore_noninstrumented_modules):
#         Debian's prebuilt cpp-httplib initializes function-local statics
#         behind a guard whose fast path TSan cannot see, which it would
#         report as a race between two streamed responses.
#
# Usage: bash scripts/sanitize.sh [asan] [tsan]     (default: both)
# Env:   KILN_SUITES (asan's suites), KILN_JOBS
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

configs=("$@")
((${#configs[@]})) || configs=(asan tsan)

# Fail on the first report, with symbolized stacks. LeakSanitizer stays on.
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:ignore_noninstrumented_modules=1}"
export LLVM_SYMBOLIZER_PATH="${LLVM_SYMBOLIZER_PATH:-/usr/lib/llvm-22/bin/llvm-symbolizer}"

status=0
for config in "${configs[@]}"; do
  case "$config" in
    asan)
      echo "== sanitize: asan (build-asan)"
      KILN_BUILD_DIR=build-asan \
      KILN_CMAKE_ARGS="-DKILN_SANITIZE=address,undefined -DKILN_ENABLE_FUZZER=ON" \
        bash scripts/build.sh || { status=1; continue; }
      KILN_BUILD_DIR=build-asan KILN_SKIP_SETUP=1 KILN_SKIP_BUILD=1 \
      KILN_SUITES="${KILN_SUITES:-ctest lit fixtures backend}" \
        bash scripts/test.sh || status=1
      ;;
    tsan)
      echo "== sanitize: tsan (build-tsan)"
      bash scripts/build.sh kilnc || { status=1; continue; }
      mkdir -p build-tsan/artifacts
      artifact="$ROOT/build-tsan/artifacts/libgpt2_tiny_prefill.so"
      build/tools/kilnc/kilnc test/models/gpt2_tiny_prefill.onnx -q -o "$artifact"
      serve="$ROOT/build-tsan/artifacts/serve"
      mkdir -p "$serve"
      while IFS='|' read -r name model flag; do
        [[ -z "$name" || "$name" == \#* ]] && continue
        # shellcheck disable=SC2086 # no flag, or one
        build/tools/kilnc/kilnc "test/models/$model.onnx" -q $flag \
          -o "$serve/lib$name.so" || status=1
      done < test/serve/artifacts.txt
      KILN_BUILD_DIR=build-tsan \
      KILN_CMAKE_ARGS="-DKILN_SANITIZE=thread -DKILN_ENABLE_COMPILER=OFF -DKILN_TEST_GPT2_ARTIFACT=$artifact -DKILN_TEST_SERVE_ARTIFACTS=$serve" \
        bash scripts/build.sh || { status=1; continue; }
      ctest --test-dir build-tsan --output-on-failure -j"$(nproc)" || status=1
      ;;
    *) echo "sanitize: unknown configuration '$config' (asan, tsan)" >&2; exit 2 ;;
  esac
done
exit "$status"
