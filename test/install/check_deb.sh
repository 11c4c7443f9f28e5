#!/usr/bin/env bash
#===- test/install/check_deb.sh - The Debian package works -----------------===#
#
# Usage: check_deb.sh BUILD_DIR SOURCE_DIR   (env CPACK: cpack)
#
# Builds kiln_<version>_amd64.deb from BUILD_DIR with cpack into a temporary
# directory and checks:
#   - its name, that it installs into /usr, and that it Depends on clang-22,
#     lld-22 and the LLVM/MLIR 22 libraries;
#   - that every shared library the packaged programs load directly comes
#     from a package in Depends (or libc6, libgcc-s1, libstdc++6), and that
#     each of those packages is installed here;
#   - extracted with `dpkg -x` into a temporary root (installing it would
#     touch this machine's /usr, shared with other builds): the root's kilnc
#     names the root's runtime dir, compiles test/models/bert_tiny_encoder,
#     and the root's kiln-run checks the library against test/models/ref;
#     the root's kiln.pc names the root's headers and archive.
# Exits 77 (skipped) without dpkg. About 3 s of CPU.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

BUILD="$(cd "$1" && pwd -P)"
SRC="$(cd "$2" && pwd -P)"
CPACK="${CPACK:-cpack}"
MODEL="$SRC/test/models/bert_tiny_encoder.onnx"
REF="$SRC/test/models/ref/bert_tiny_encoder"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/kiln-deb.XXXXXX")"
TMP="$(cd "$TMP" && pwd -P)"
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
for tool in dpkg dpkg-deb pkg-config; do
  command -v "$tool" >/dev/null || { echo "SKIP: no $tool (not Debian?)"; exit 77; }
done

echo "== cpack -G DEB"
"$CPACK" -G DEB -B "$TMP/pkg" --config "$BUILD/CPackConfig.cmake" \
  >"$TMP/cpack.log" 2>&1 || { cat "$TMP/cpack.log"; fail "cpack failed"; }
version="$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' \
  "$BUILD/CPackConfig.cmake")"
DEB="$TMP/pkg/kiln_${version}_amd64.deb"
[[ -f "$DEB" ]] || { ls "$TMP/pkg"; fail "no $(basename "$DEB")"; }
dpkg-deb -f "$DEB" Package Version Architecture Depends
depends="$(dpkg-deb -f "$DEB" Depends)"
for pkg in clang-22 lld-22 libllvm22 libmlir-22; do
  grep -qE "(^|, )$pkg( |,|$)" <<<"$depends" || fail "Depends lacks $pkg"
done
dpkg-deb -c "$DEB" | awk '{print $6}' | grep -vE '^\./usr(/|$)' &&
  fail "files outside /usr"

# The package names in Depends, without versions.
declared=" $(sed -E 's/ *\([^)]*\)//g; s/,/ /g' <<<"$depends") libc6 libgcc-s1 libstdc++6 "
for pkg in $declared; do
  [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] ||
    fail "Depends names $pkg, which is not installed here"
done

echo "== dpkg -x into $TMP/root"
dpkg -x "$DEB" "$TMP/root"
R="$TMP/root/usr"
for f in bin/kilnc bin/kiln-opt bin/kiln-run lib/kiln/libkiln_runtime.a \
         lib/kiln/include/kiln/runtime.h include/kiln/runtime.h \
         lib/cmake/Kiln/KilnConfig.cmake lib/pkgconfig/kiln.pc; do
  [[ -e "$R/$f" ]] || fail "the package has no usr/$f"
done

echo "== the libraries the packaged programs load"
for exe in "$R"/bin/*; do
  ldd "$exe" >"$TMP/ldd.txt" || fail "ldd $exe failed"
  grep -q "not found" "$TMP/ldd.txt" && { cat "$TMP/ldd.txt"; fail "$exe: a library is missing"; }
  for lib in $(readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
    path="$(awk -v l="$lib" '$1 == l && $2 == "=>" {print $3}' "$TMP/ldd.txt")"
    [[ -n "$path" ]] || continue  # the dynamic loader itself
    owner=""
    # The file itself, links resolved: /usr/lib/llvm-22/lib/libLLVM.so.22.1
    # is llvm-22-dev's link to libllvm22's library.
    real="$(readlink -f "$path")"
    for p in "$real" "${real#/usr}" "/usr$real"; do
      owner="$(dpkg -S "$p" 2>/dev/null | head -1 | cut -d: -f1)" && [[ -n "$owner" ]] && break
    done
    [[ -n "$owner" ]] || fail "$(basename "$exe") loads $path, which no package owns"
    [[ "$declared" == *" $owner "* ]] ||
      fail "$(basename "$exe") loads $lib from $owner, which Depends does not name"
    echo "  $(basename "$exe"): $lib ($owner)"
  done
done

echo "== kilnc --version"
"$R/bin/kilnc" --version | tee "$TMP/version.txt"
grep -qxF "  runtime dir: $R/lib/kiln" "$TMP/version.txt" ||
  fail "kilnc --version does not name $R/lib/kiln"

echo "== compile $(basename "$MODEL") with the package's kilnc, run it with its kiln-run"
mkdir -p "$TMP/out"
"$R/bin/kilnc" "$MODEL" -o "$TMP/out/libbert.so" -v >"$TMP/compile.log" 2>&1 ||
  { cat "$TMP/compile.log"; fail "kilnc failed"; }
grep -qF "$R/lib/kiln/libkiln_runtime.a" "$TMP/compile.log" ||
  fail "the link did not use $R/lib/kiln"
if grep -F "$BUILD/" "$TMP/compile.log"; then fail "the compile names the build tree"; fi
"$R/bin/kiln-run" "$TMP/out/libbert.so" --inputs "$REF" --expect "$REF" \
  --atol 1e-4 --rtol 1e-4

echo "== kiln.pc"
pc() { PKG_CONFIG_PATH="$R/lib/pkgconfig" pkg-config "$@" kiln; }
include="$(pc --cflags-only-I | xargs)" libdir="$(pc --libs-only-L | xargs)"
echo "  $include $libdir $(pc --libs-only-l)"
[[ "$(realpath "${include#-I}")" == "$R/include" ]] ||
  fail "kiln.pc's include dir is not $R/include"
[[ "$(realpath "${libdir#-L}")" == "$R/lib/kiln" ]] ||
  fail "kiln.pc's library dir is not $R/lib/kiln"
echo "PASS"
