#!/usr/bin/env bash
#===- scripts/check_minilm.sh - compile and check all-MiniLM-L6-v2 --------===#
#
# Extended check, not part of CI. Needs the export from
#   bash scripts/setup-export.sh && .venv-export/bin/python scripts/export_minilm.py
# and a build (bash scripts/build.sh). Compiles the exported model with kilnc,
# checks last_hidden_state against ONNX Runtime with kiln-run --expect, then
# compares mean-pooled sentence embeddings: prints the min cosine similarity
# and the max abs error, and fails when the min cosine is below MIN_COSINE.
#
# Usage: bash scripts/check_minilm.sh [DIR]     (default build/minilm)
# Env:   ATOL, RTOL (kiln-run --expect; default 1e-3), MIN_COSINE (0.9999),
#        KILNC, KILN_RUN (tool paths; default the build/ ones)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

DIR="${1:-build/minilm}"
ATOL="${ATOL:-1e-3}"
RTOL="${RTOL:-1e-3}"
MIN_COSINE="${MIN_COSINE:-0.9999}"
KILNC="${KILNC:-build/tools/kilnc/kilnc}"
KILN_RUN="${KILN_RUN:-build/tools/kiln-run/kiln-run}"

if [[ ! -f "$DIR/model.onnx" ]]; then
  echo "check_minilm: no $DIR/model.onnx; run:" >&2
  echo "  bash scripts/setup-export.sh && .venv-export/bin/python scripts/export_minilm.py --out $DIR" >&2
  exit 2
fi
for tool in "$KILNC" "$KILN_RUN"; do
  [[ -x "$tool" ]] || { echo "check_minilm: $tool missing; run bash scripts/build.sh" >&2; exit 2; }
done
bash scripts/setup.sh >/dev/null

LIB="$DIR/libminilm.so"
OUT="$DIR/kiln_out"
rm -rf "$OUT"
mkdir -p "$OUT"

echo "check_minilm: compiling $DIR/model.onnx"
start_ms=$(($(date +%s%N) / 1000000))
"$KILNC" "$DIR/model.onnx" -o "$LIB"
echo "check_minilm: compiled in $(( $(date +%s%N) / 1000000 - start_ms )) ms, $(du -h "$LIB" | cut -f1)"

status=0
"$KILN_RUN" "$LIB" --inputs "$DIR" --outputs "$OUT" --expect "$DIR" \
  --atol "$ATOL" --rtol "$RTOL" || status=$?

.venv/bin/python - "$DIR" "$OUT" "$MIN_COSINE" <<'EOF' || status=1
import sys
from pathlib import Path
import numpy as np

ref_dir, out_dir, min_cos = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
mask = np.load(ref_dir / "input_attention_mask.npy")
hidden = np.load(out_dir / "last_hidden_state.npy")
ref_hidden = np.load(ref_dir / "output_last_hidden_state.npy")
ref_emb = np.load(ref_dir / "embeddings_ort.npy")
m = mask[..., None].astype(np.float32)
emb = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
cos = (emb * ref_emb).sum(1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref_emb, axis=1))
print(f"check_minilm: last_hidden_state max abs err {np.abs(hidden - ref_hidden).max():.3e}")
print(f"check_minilm: embeddings max abs err {np.abs(emb - ref_emb).max():.3e}, "
      f"min cosine {cos.min():.7f} over {len(cos)} sentences")
sys.exit(0 if cos.min() >= min_cos else 1)
EOF

if ((status)); then
  echo "check_minilm: FAILED"
else
  "$KILN_RUN" "$LIB" --inputs "$DIR" --bench 20 || true
  echo "check_minilm: OK"
fi
exit "$status"
