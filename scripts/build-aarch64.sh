#!/usr/bin/env bash
#===- scripts/build-aarch64.sh - cross-build the runtime for aarch64 ------===#
#
# Builds, on an x86-64 machine, what runs on the Arm device: the runtime
# (libkiln_runtime.a, which `kilnc --target=cpu:aarch64` links into
# artifacts), kiln-run and the runtime tests, into build-aarch64/ with
# cmake/aarch64-linux-gnu.cmake (clang-22, lld-22, Debian's cross sysroot).
# GoogleTest is built first from Debian's sources (/usr/src/googletest) with
# the same toolchain. The compiler, CUDA, kiln-serve and the Python bindings
# are left out.
#
# The build's runtime dir, build-aarch64/lib/kiln, is what build/'s kilnc
# links for --target=cpu:aarch64 (through build/lib/kiln/aarch64).
# Run the tests under qemu-user:
#   ctest --test-dir build-aarch64            (each test through qemu-aarch64)
#   qemu-aarch64 -L /usr/aarch64-linux-gnu build-aarch64/tools/kiln-run/kiln-run
#
# Usage: bash scripts/build-aarch64.sh [--reconfigure] [ninja targets...]
# Env:   KILN_AARCH64_BUILD_DIR (default build-aarch64), KILN_JOBS (default
#        nproc), KILN_CMAKE_ARGS (extra -D options)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

BUILD="${KILN_AARCH64_BUILD_DIR:-build-aarch64}"
JOBS="${KILN_JOBS:-$(nproc)}"
TOOLCHAIN="$ROOT/cmake/aarch64-linux-gnu.cmake"
GTEST_SRC=/usr/src/googletest
GTEST_PREFIX="$ROOT/$BUILD/googletest-install"

reconfigure=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --reconfigure) reconfigure=1 ;;
    -h|--help) sed -n '2,21p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) targets+=("$arg") ;;
  esac
done

for need in /usr/aarch64-linux-gnu/include/stdio.h \
            /usr/aarch64-linux-gnu/include/c++ "$GTEST_SRC/CMakeLists.txt"; do
  [[ -e "$need" ]] || {
    echo "build-aarch64: $need is missing; run scripts/setup.sh" >&2
    exit 1
  }
done
mkdir -p "$BUILD"

if [[ ! -f "$GTEST_PREFIX/lib/cmake/GTest/GTestConfig.cmake" ]]; then
  echo "build-aarch64: GoogleTest for aarch64 from $GTEST_SRC"
  {
    cmake -S "$GTEST_SRC" -B "$BUILD/googletest" -G Ninja \
      -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$GTEST_PREFIX" -DBUILD_GMOCK=OFF &&
      ninja -C "$BUILD/googletest" -j"$JOBS" install
  } >"$BUILD/googletest.log" 2>&1 || {
    tail -30 "$BUILD/googletest.log" >&2
    echo "build-aarch64: GoogleTest failed (log: $BUILD/googletest.log)" >&2
    exit 1
  }
fi

if ((reconfigure)) || [[ ! -f "$BUILD/build.ninja" ]]; then
  echo "build-aarch64: configuring $BUILD (Release, clang-22 --target=aarch64-linux-gnu)"
  # shellcheck disable=SC2086  # KILN_CMAKE_ARGS is a list of options
  cmake -S . -B "$BUILD" -G Ninja \
    -DCMAKE_TOOLCHAIN_FILE="$TOOLCHAIN" \
    -DCMAKE_BUILD_TYPE=Release \
    -DKILN_ENABLE_COMPILER=OFF \
    -DKILN_ENABLE_CUDA=OFF \
    -DKILN_ENABLE_SERVE=OFF \
    -DKILN_ENABLE_PYTHON=OFF \
    -DGTest_DIR="$GTEST_PREFIX/lib/cmake/GTest" \
    ${KILN_CMAKE_ARGS:-} >"$BUILD/configure.log" 2>&1 || {
      tail -40 "$BUILD/configure.log" >&2
      echo "build-aarch64: cmake configure failed (log: $BUILD/configure.log)" >&2
      exit 1
    }
fi

echo "build-aarch64: ninja -C $BUILD -j$JOBS ${targets[*]:-}"
start=$SECONDS
ninja -C "$BUILD" -j"$JOBS" "${targets[@]}" | { grep -v '^ninja: Entering directory' || true; } || {
  echo "build-aarch64: FAILED" >&2
  exit 1
}
echo "build-aarch64: done in $((SECONDS - start)) s"
