#!/usr/bin/env bash
#===- test/python/check_wheel.sh - the kiln wheel, built and tested ------===#
#
# Builds the wheel with `pip wheel runtime/python` (scikit-build-core and
# pybind11 from PyPI, pinned in runtime/python/pyproject.toml), checks what it
# holds, installs it into a temporary directory and runs test_bindings.py
# against that copy instead of the build tree's.
#
# Usage: check_wheel.sh SOURCE_DIR KILNC [PYTHON]
#   PYTHON: an interpreter with NumPy (default: SOURCE_DIR/.venv/bin/python)
# Needs PyPI (or a pip find-links holding the build requirements). About 10 s
# of CPU and 120 KB of wheel. ctest runs it as kiln_python_wheel when the
# build is configured with -DKILN_TEST_WHEEL=ON.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

SRC="$1"
KILNC="$2"
PY="${3:-$SRC/.venv/bin/python}"
TMP="$(mktemp -d "${TMPDIR:-/tmp}/kiln-wheel.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
export CXX="${CXX:-clang++-22}"
"$PY" -m pip wheel -q --no-deps "$SRC/runtime/python" -w "$TMP/dist"

shopt -s nullglob
wheels=("$TMP"/dist/kiln-*.whl)
[[ ${#wheels[@]} == 1 ]] || { echo "check_wheel: expected one kiln wheel, got: ${wheels[*]:-none}" >&2; exit 1; }
echo "check_wheel: built $(basename "${wheels[0]}") ($(stat -c %s "${wheels[0]}") bytes)"
contents="$("$PY" -m zipfile -l "${wheels[0]}")"
for want in 'kiln/__init__.py' 'kiln/_kiln\.cpython-[^ ]*\.so'; do
  grep -q "$want" <<<"$contents" || { echo "check_wheel: the wheel lacks $want" >&2; echo "$contents" >&2; exit 1; }
done

"$PY" -m pip install -q --no-deps --target "$TMP/site" "${wheels[0]}"
cd "$TMP"
PYTHONPATH="$TMP/site" "$PY" - <<'PY'
import kiln, os
assert kiln.__file__.startswith(os.environ["PYTHONPATH"]), kiln.__file__
PY
PYTHONPATH="$TMP/site" "$PY" "$SRC/test/python/test_bindings.py" --kilnc "$KILNC"
