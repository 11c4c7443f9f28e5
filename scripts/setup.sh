#!/usr/bin/env bash
#===- scripts/setup.sh - install Kiln's build and test dependencies -------===#
#
# Idempotent. On Debian 12:
#   1. installs the Debian packages below that are missing (one apt-get update,
#      only when something is missing; sudo when not root);
#   2. creates or updates .venv with the pinned packages of
#      scripts/requirements.txt, skipping pip when the stamp in .venv matches
#      the hash of that file.
#
# Usage: bash scripts/setup.sh [--no-venv]
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

WITH_VENV=1
for arg in "$@"; do
  case "$arg" in
    --no-venv) WITH_VENV=0 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup: unknown argument '$arg'" >&2; exit 2 ;;
  esac
done

# LLVM/MLIR 22, clang-22 and lld-22 come from Debian's own archive
# (bookworm-security); ONNX's C++ library and its node test data from bookworm.
# The aarch64 cross build (scripts/build-aarch64.sh) uses Debian's arm64 cross
# sysroot and gcc's crt objects and libgcc; its tests run under qemu-user.
PACKAGES=(
  ca-certificates
  cmake ninja-build
  clang-22 lld-22 libclang-rt-22-dev clang-format-22 cmake-format
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools
  libonnx-dev libonnx-testdata protobuf-compiler libprotobuf-dev
  libgtest-dev
  libcpp-httplib-dev nlohmann-json3-dev
  libopenblas-dev
  python3 python3-venv python3-dev pybind11-dev
  qemu-user libc6-dev-arm64-cross libstdc++-12-dev-arm64-cross
  gcc-aarch64-linux-gnu
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  SUDO=()
  if [[ "$(id -u)" != 0 ]]; then
    command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
  fi
  echo "setup: installing ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: Debian packages present"
fi

# The CUDA backend (KILN_ENABLE_CUDA, on by default) needs the CUDA 13
# toolkit's headers, ptxas, fatbinary and libdevice, which Debian does not
# package; the development and CI images carry it at /usr/local/cuda. No GPU
# or driver is needed. Without it, configure stops; say so here first.
CUDA_ROOT="${CUDAToolkit_ROOT:-/usr/local/cuda}"
if [[ -x "$CUDA_ROOT/bin/ptxas" && -x "$CUDA_ROOT/bin/fatbinary" &&
      -f "$CUDA_ROOT/nvvm/libdevice/libdevice.10.bc" ]]; then
  echo "setup: CUDA toolkit present at $CUDA_ROOT"
else
  echo "setup: warning: no CUDA toolkit at $CUDA_ROOT (ptxas, fatbinary, libdevice):" \
       "install CUDA 13 there (NVIDIA's cuda-toolkit-13-0 package) or build with" \
       "KILN_CMAKE_ARGS=-DKILN_ENABLE_CUDA=OFF" >&2
fi

((WITH_VENV)) || exit 0

# Debian's interpreter, not whatever python3 comes first on PATH (pyenv etc.):
# the pins in requirements.txt are resolved for Debian 12's Python 3.11.
PY="${KILN_PYTHON:-/usr/bin/python3}"
VENV="$ROOT/.venv"
REQ="$ROOT/scripts/requirements.txt"
STAMP="$VENV/.kiln-requirements.sha256"
want="$(sha256sum "$REQ" | cut -d' ' -f1)"

if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "setup: .venv up to date"
  exit 0
fi
if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup: creating .venv"
  "$PY" -m venv "$VENV"
fi
echo "setup: installing Python test packages into .venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
"$VENV/bin/python" -m pip install -q -r "$REQ"
"$VENV/bin/python" -c "import onnx, onnxruntime, numpy; \
print('setup: onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__, 'numpy', numpy.__version__)"
echo "$want" > "$STAMP"
