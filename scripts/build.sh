#!/usr/bin/env bash
#===- scripts/build.sh - configure (if needed) and build build/ -----------===#
#
# Release build with Ninja, clang-22 and lld, against Debian's LLVM/MLIR 22.
# Configures only when build/ has no build.ninja (or with --reconfigure), so
# that a tree configured by hand keeps its options.
#
# Usage: bash scripts/build.sh [--reconfigure] [ninja targets...]
# Env:   KILN_BUILD_DIR (default build), KILN_CMAKE_ARGS (extra -D options),
#        KILN_JOBS (default nproc)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD="${KILN_BUILD_DIR:-build}"
JOBS="${KILN_JOBS:-$(nproc)}"
LLVM_PREFIX=/usr/lib/llvm-22

reconfigure=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --reconfigure) reconfigure=1 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) targets+=("$arg") ;;
  esac
done

if ((reconfigure)) || [[ ! -f "$BUILD/build.ninja" ]]; then
  echo "build: configuring $BUILD (Release, clang-22, lld, MLIR 22)"
  mkdir -p "$BUILD"
  # shellcheck disable=SC2086  # KILN_CMAKE_ARGS is a list of options
  cmake -S . -B "$BUILD" -G Ninja \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 \
    -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld \
    -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld \
    -DCMAKE_MODULE_LINKER_FLAGS=-fuse-ld=lld \
    -DMLIR_DIR="$LLVM_PREFIX/lib/cmake/mlir" \
    -DLLVM_DIR="$LLVM_PREFIX/lib/cmake/llvm" \
    -DLLVM_EXTERNAL_LIT="$LLVM_PREFIX/bin/lit" \
    -DKILN_TEST_PYTHON="$ROOT/.venv/bin/python" \
    ${KILN_CMAKE_ARGS:-} >"$BUILD/configure.log" 2>&1 || {
      tail -40 "$BUILD/configure.log" >&2
      echo "build: cmake configure failed (full log: $BUILD/configure.log)" >&2
      exit 1
    }
fi

echo "build: ninja -C $BUILD -j$JOBS ${targets[*]:-}"
start=$SECONDS
# Ninja's own progress line is compact; keep it, but drop the "ninja: Entering
# directory" noise.
ninja -C "$BUILD" -j"$JOBS" "${targets[@]}" | { grep -v '^ninja: Entering directory' || true; } || {
  echo "build: FAILED" >&2
  exit 1
}
echo "build: done in $((SECONDS - start)) s"
