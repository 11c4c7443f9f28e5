#!/usr/bin/env bash
#===- test/install/check_cmake_product.sh - kiln_add_model in a product ----===#
#
# Usage: check_cmake_product.sh BUILD_DIR SOURCE_DIR   (env CMAKE: cmake)
#
# Installs BUILD_DIR into a temporary prefix, moves it, and builds
# examples/cmake_product against the moved install (find_package(Kiln),
# kiln_add_model() on a copy of examples/gpt2_tiny/model.onnx), then:
#   - runs its test: embed, linked with libgpt2_tiny.so, matches the stored
#     PyTorch logits within 1e-4;
#   - a second build does nothing; after the model changes, kilnc runs again.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

BUILD="$(cd "$1" && pwd -P)"
SRC="$(cd "$2" && pwd -P)"
CMAKE="${CMAKE:-cmake}"
CTEST="$(dirname "$CMAKE")/ctest"
[[ -x "$CTEST" ]] || CTEST=ctest

TMP="$(mktemp -d "${TMPDIR:-/tmp}/kiln-product.XXXXXX")"
TMP="$(cd "$TMP" && pwd -P)"
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

echo "== install, moved to $TMP/kiln"
"$CMAKE" --install "$BUILD" --prefix "$TMP/first" >/dev/null
mv "$TMP/first" "$TMP/kiln"
cp "$SRC/examples/gpt2_tiny/model.onnx" "$TMP/model.onnx"

echo "== configure and build examples/cmake_product"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
"$CMAKE" -S "$SRC/examples/cmake_product" -B "$TMP/product" "${generator[@]}" \
  -DCMAKE_PREFIX_PATH="$TMP/kiln" -DGPT2_TINY_MODEL="$TMP/model.onnx" \
  >"$TMP/configure.log" 2>&1 || { cat "$TMP/configure.log"; fail "configure failed"; }
build() { "$CMAKE" --build "$TMP/product" -v >"$TMP/build.log" 2>&1 ||
            { cat "$TMP/build.log"; fail "the build failed"; }; }
build
grep -F "kilnc" "$TMP/build.log" | head -1
grep -qF "$TMP/kiln/bin/kilnc" "$TMP/build.log" || fail "the build did not run the installed kilnc"
lib="$TMP/product/gpt2_tiny/libgpt2_tiny.so"
[[ -f "$lib" && -f "$TMP/product/gpt2_tiny/gpt2_tiny.h" ]] || fail "no library or header"
readelf -d "$TMP/product/embed" | grep -F "(NEEDED)" | grep -qF "[libgpt2_tiny.so]" ||
  fail "embed does not load libgpt2_tiny.so by name"

echo "== run the product's test"
"$CTEST" --test-dir "$TMP/product" --output-on-failure | tail -3
"$TMP/product/embed" "$SRC/examples/gpt2_tiny/inputs/input_input_ids.npy" \
  "$SRC/examples/gpt2_tiny/expected/output_logits.npy"

echo "== rebuilds"
before="$(stat -c %Y "$lib")"
build
if grep -qF "kilnc" "$TMP/build.log"; then cat "$TMP/build.log"; fail "an unchanged model was compiled again"; fi
sleep 1  # a newer mtime in whole seconds
touch "$TMP/model.onnx"
build
grep -qF "kilnc" "$TMP/build.log" || { cat "$TMP/build.log"; fail "a changed model was not compiled again"; }
[[ "$(stat -c %Y "$lib")" != "$before" ]] ||
  fail "the library was not rewritten"
echo "PASS"
