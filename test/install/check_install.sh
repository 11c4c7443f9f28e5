#!/usr/bin/env bash
#===- test/install/check_install.sh - An install that is moved works -------===#
#
# Usage: check_install.sh BUILD_DIR SOURCE_DIR [cuda]   (env CMAKE: cmake)
#
# Installs BUILD_DIR into a temporary prefix, copies the prefix elsewhere and
# deletes the original, so that nothing can point into where it was
# installed, then, with the copy alone:
#   - kilnc --version names the copy's runtime dir;
#   - the copy's kilnc compiles test/models/gpt2_tiny_prefill.onnx, its link
#     line naming the copy's runtime and nothing in the build tree, and the
#     copy's kiln-run checks the library against the stored references;
#   - a kilnc with no runtime beside it refuses to link, naming the path it
#     tried and --runtime-dir, and does not fall back to the build tree's
#     runtime; with --runtime-dir it links again;
#   - with `cuda`: the copy's kilnc links a --target=cuda library with the
#     copy's CUDA runtime (built, not run: no GPU is needed);
#   - where the build has an aarch64 runtime (scripts/build-aarch64.sh), the
#     copy carries it as lib/kiln/aarch64 and its kilnc links a
#     --target=cpu:aarch64 library with it (an AArch64 ELF; not run).
# The build tree is only read: other builds may use it meanwhile.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

BUILD="$(cd "$1" && pwd -P)"
SRC="$(cd "$2" && pwd -P)"
CUDA="${3:-}"
MODEL="$SRC/test/models/gpt2_tiny_prefill.onnx"
REF="$SRC/test/models/ref/gpt2_tiny_prefill"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/kiln-install.XXXXXX")"
TMP="$(cd "$TMP" && pwd -P)"
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
# expect_no_build_path FILE: FILE mentions nothing inside the build tree.
expect_no_build_path() {
  if grep -F "$BUILD/" "$1"; then
    fail "the lines above name the build tree $BUILD"
  fi
}
# link_target TARGET NAME RUNTIME: the moved kilnc compiles MODEL for
# TARGET into $TMP/out/libgpt2_NAME.so, and its link line names the
# install's RUNTIME (a path under $P) and nothing in the build tree.
link_target() {
  local log="$TMP/$2.log"
  echo "== link a --target=$1 library with the moved kilnc"
  "$P/bin/kilnc" "$MODEL" --target="$1" -o "$TMP/out/libgpt2_$2.so" \
    -v >"$log" 2>&1 || { cat "$log"; fail "kilnc --target=$1 failed"; }
  grep -F -- "-fuse-ld=lld" "$log" | tee "$TMP/$2_link.txt"
  grep -qF "$P/$3" "$TMP/$2_link.txt" ||
    fail "the $2 link line does not name $P/$3"
  expect_no_build_path "$log"
}

echo "== install into $TMP/first, moved to $TMP/moved"
"${CMAKE:-cmake}" --install "$BUILD" --prefix "$TMP/first" >"$TMP/install.log"
cp -a "$TMP/first" "$TMP/moved"
rm -rf "$TMP/first"
P="$TMP/moved"
for f in bin/kilnc bin/kiln-opt bin/kiln-run lib/kiln/libkiln_runtime.a \
         lib/kiln/include/kiln/runtime.h include/kiln/runtime.h \
         lib/cmake/Kiln/KilnConfig.cmake lib/cmake/Kiln/KilnTargets.cmake \
         lib/pkgconfig/kiln.pc; do
  [[ -e "$P/$f" ]] || fail "the install has no $f"
done
if [[ "$CUDA" == cuda ]]; then
  [[ -e "$P/lib/kiln/libkiln_cuda_runtime.a" ]] ||
    fail "the install has no lib/kiln/libkiln_cuda_runtime.a"
fi

echo "== kilnc --version"
"$P/bin/kilnc" --version | tee "$TMP/version.txt"
grep -qxF "  runtime dir: $P/lib/kiln" "$TMP/version.txt" ||
  fail "kilnc --version does not name $P/lib/kiln"
"$P/bin/kiln-opt" --version >/dev/null

echo "== compile $(basename "$MODEL") with the moved kilnc"
mkdir -p "$TMP/out"
"$P/bin/kilnc" "$MODEL" -o "$TMP/out/libgpt2.so" -v >"$TMP/compile.log" 2>&1 ||
  { cat "$TMP/compile.log"; fail "kilnc failed"; }
grep -F -- "-fuse-ld=lld" "$TMP/compile.log" | tee "$TMP/link.txt"
grep -qF "$P/lib/kiln/libkiln_runtime.a" "$TMP/link.txt" ||
  fail "the link line does not name $P/lib/kiln/libkiln_runtime.a"
grep -qF -- "-I$P/lib/kiln/include" "$TMP/link.txt" ||
  fail "the link line does not name $P/lib/kiln/include"
expect_no_build_path "$TMP/compile.log"

echo "== run it with the moved kiln-run against $REF"
"$P/bin/kiln-run" "$TMP/out/libgpt2.so" --inputs "$REF" --expect "$REF" \
  --atol 1e-4 --rtol 1e-4

echo "== a kilnc without a runtime beside it"
mkdir -p "$TMP/lone/bin"
cp "$P/bin/kilnc" "$TMP/lone/bin/"
rc=0
"$TMP/lone/bin/kilnc" "$MODEL" -o "$TMP/out/liblone.so" >"$TMP/lone.log" 2>&1 ||
  rc=$?
cat "$TMP/lone.log"
((rc != 0)) || fail "kilnc linked without a runtime"
[[ ! -e "$TMP/out/liblone.so" ]] || fail "kilnc wrote a library without a runtime"
grep -qF "cannot find the Kiln runtime" "$TMP/lone.log" || fail "no clear error"
grep -qF "$TMP/lone/lib/kiln" "$TMP/lone.log" || fail "the error names no path tried"
grep -qF -- "--runtime-dir" "$TMP/lone.log" || fail "the error does not name --runtime-dir"
expect_no_build_path "$TMP/lone.log"
"$TMP/lone/bin/kilnc" --version | grep -F "runtime dir: none" ||
  fail "kilnc --version claims a runtime dir"

echo "== the same kilnc with --runtime-dir"
"$TMP/lone/bin/kilnc" "$MODEL" -o "$TMP/out/liblone.so" -v \
  --runtime-dir="$P/lib/kiln" >"$TMP/explicit.log" 2>&1 ||
  { cat "$TMP/explicit.log"; fail "kilnc --runtime-dir failed"; }
expect_no_build_path "$TMP/explicit.log"
"$P/bin/kiln-run" "$TMP/out/liblone.so" --inputs "$REF" --expect "$REF" \
  --atol 1e-4 --rtol 1e-4 >/dev/null
rc=0
"$TMP/lone/bin/kilnc" "$MODEL" -o "$TMP/out/libbad.so" \
  --runtime-dir="$TMP/lone" >"$TMP/bad.log" 2>&1 || rc=$?
cat "$TMP/bad.log"
((rc == 2)) || fail "a --runtime-dir without the runtime exited $rc, not 2"
grep -qF -- "--runtime-dir=$TMP/lone is not a Kiln runtime directory" \
  "$TMP/bad.log" || fail "no clear error for a wrong --runtime-dir"

if [[ "$CUDA" == cuda ]]; then
  link_target cuda:sm_90 cuda lib/kiln/libkiln_cuda_runtime.a
fi
if [[ -e "$BUILD/lib/kiln/aarch64/libkiln_runtime.a" ]]; then
  for f in lib/kiln/aarch64/libkiln_runtime.a \
           lib/kiln/aarch64/include/kiln/runtime.h; do
    [[ -e "$P/$f" ]] || fail "the install has no $f"
  done
  link_target cpu:aarch64 aarch64 lib/kiln/aarch64/libkiln_runtime.a
  od -An -tx1 -j18 -N2 "$TMP/out/libgpt2_aarch64.so" | grep -q "b7 00" ||
    fail "libgpt2_aarch64.so is not an AArch64 ELF (e_machine 183)"
else
  echo "== no aarch64 runtime in $BUILD (scripts/build-aarch64.sh): not checked"
fi
echo "PASS"
