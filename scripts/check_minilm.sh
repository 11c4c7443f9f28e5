#!/usr/bin/env bash
#===- scripts/check_minilm.sh - compile and check all-MiniLM-L6-v2 --------===#
#
# Extended check, not part of CI. Needs the exports from
#   bash scripts/setup-export.sh && .venv-export/bin/python scripts/export_minilm.py
# (build/minilm/{torchscript,dynamo,optimum}/) and a build (bash
# scripts/build.sh). For each exporter's directory: compiles model.onnx with
# kilnc, checks last_hidden_state against ONNX Runtime with kiln-run --expect
# (ATOL/RTOL), then compares the mean-pooled sentence embeddings with ORT's:
# prints the max abs errors and the min cosine similarity, and fails when the
# min cosine is below MIN_COSINE. Ends with one summary line per exporter.
#
# Usage: bash scripts/check_minilm.sh [DIR|EXPORTER]...
#   no argument     every exporter directory under build/minilm that exists
#                   (torchscript, dynamo, optimum; a missing one is reported,
#                   and fails the check only if none exists)
#   EXPORTER        build/minilm/EXPORTER (must exist)
#   DIR             DIR itself if it has model.onnx, else its exporter dirs
#                   (as build/minilm without an argument)
# Env:   ATOL, RTOL (kiln-run --expect; default 1e-4), MIN_COSINE (0.99999),
#        KILNC, KILN_RUN (tool paths; default the build/ ones), BENCH_RUNS
#        (kiln-run --bench N after a pass; default 20, 0 skips)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

EXPORTERS=(torchscript dynamo optimum)
ATOL="${ATOL:-1e-4}"
RTOL="${RTOL:-1e-4}"
MIN_COSINE="${MIN_COSINE:-0.99999}"
KILNC="${KILNC:-build/tools/kilnc/kilnc}"
KILN_RUN="${KILN_RUN:-build/tools/kiln-run/kiln-run}"
BENCH_RUNS="${BENCH_RUNS:-20}"

for tool in "$KILNC" "$KILN_RUN"; do
  [[ -x "$tool" ]] || { echo "check_minilm: $tool missing; run bash scripts/build.sh" >&2; exit 2; }
done
bash scripts/setup.sh >/dev/null

# The directories to check; exporter dirs looked for but not found (absent:
# reported; missing, named on the command line: an error).
dirs=()
absent=()
missing=()
add_parent() {  # add_parent DIR: DIR's exporter subdirectories
  local e
  for e in "${EXPORTERS[@]}"; do
    if [[ -f "$1/$e/model.onnx" ]]; then dirs+=("$1/$e"); else absent+=("$1/$e"); fi
  done
}
if (($# == 0)); then
  add_parent build/minilm
fi
for arg in "$@"; do
  if [[ -f "$arg/model.onnx" ]]; then
    dirs+=("$arg")
  elif [[ " ${EXPORTERS[*]} " == *" $arg "* && -f "build/minilm/$arg/model.onnx" ]]; then
    dirs+=("build/minilm/$arg")
  elif [[ -d "$arg" && " ${EXPORTERS[*]} " != *" $arg "* ]]; then
    add_parent "$arg"
  else
    missing+=("$arg")
  fi
done
for m in "${absent[@]+"${absent[@]}"}" "${missing[@]+"${missing[@]}"}"; do
  echo "check_minilm: no model.onnx for $m (not exported)" >&2
done
if ((${#dirs[@]} == 0 || ${#missing[@]} > 0)); then
  echo "check_minilm: nothing to check in ${missing[*]:-${*:-build/minilm}}; run:" >&2
  echo "  bash scripts/setup-export.sh && .venv-export/bin/python scripts/export_minilm.py" >&2
  exit 2
fi

# check_dir DIR: compile and check one export; appends to $summary.
summary=()
overall=0
check_dir() {
  local dir="$1" name lib out status=0 ms
  name="$(basename "$dir")"
  lib="$dir/libminilm.so"
  out="$dir/kiln_out"
  rm -rf "$out" "$lib"
  mkdir -p "$out"

  echo "check_minilm: [$name] compiling $dir/model.onnx"
  local start_ms=$(($(date +%s%N) / 1000000))
  local rc=0
  "$KILNC" "$dir/model.onnx" -o "$lib" 2>&1 | tee "$dir/kilnc.log" || rc=$?
  if ((rc)); then
    local msg
    msg="$(grep -m1 -i error "$dir/kilnc.log" || tail -n1 "$dir/kilnc.log")"
    echo "check_minilm: [$name] kilnc FAILED, exit $rc (log $dir/kilnc.log)"
    summary+=("$name: FAILED: kilnc exit $rc: ${msg:-(no output)}")
    overall=1
    return
  fi
  ms=$(( $(date +%s%N) / 1000000 - start_ms ))
  echo "check_minilm: [$name] compiled in $ms ms, $(du -h "$lib" | cut -f1)"

  "$KILN_RUN" "$lib" --inputs "$dir" --outputs "$out" --expect "$dir" \
    --atol "$ATOL" --rtol "$RTOL" 2>&1 | tee "$dir/kiln-run.log" || status=1

  local figures
  figures="$(.venv/bin/python - "$dir" "$out" "$MIN_COSINE" <<'EOF'
import sys
from pathlib import Path
import numpy as np

ref_dir, out_dir, min_cos = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3])
if not (out_dir / "last_hidden_state.npy").exists():
    print("no output from kiln-run")
    sys.exit(1)
mask = np.load(ref_dir / "input_attention_mask.npy")
hidden = np.load(out_dir / "last_hidden_state.npy")
ref_hidden = np.load(ref_dir / "output_last_hidden_state.npy")
ref_emb = np.load(ref_dir / "embeddings_ort.npy")
m = mask[..., None].astype(np.float32)
emb = (hidden * m).sum(1) / np.clip(m.sum(1), 1e-9, None)
cos = (emb * ref_emb).sum(1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(ref_emb, axis=1))
print(f"last_hidden_state max abs err {np.abs(hidden - ref_hidden).max():.3e}, embeddings max "
      f"abs err {np.abs(emb - ref_emb).max():.3e}, min cosine {cos.min():.9f} over {len(cos)} "
      f"sentences")
sys.exit(0 if cos.min() >= min_cos else 1)
EOF
  )" || status=1
  echo "check_minilm: [$name] $figures"

  if ((status)); then
    echo "check_minilm: [$name] FAILED (atol=$ATOL rtol=$RTOL, min cosine >= $MIN_COSINE)"
    summary+=("$name: FAILED: $figures; kiln-run: $(grep -m1 -iE 'mismatch|error' "$dir/kiln-run.log" || true)")
    overall=1
  else
    if ((BENCH_RUNS > 0)); then
      "$KILN_RUN" "$lib" --inputs "$dir" --bench "$BENCH_RUNS" || true
    fi
    echo "check_minilm: [$name] OK"
    summary+=("$name: OK: $figures; compiled in $ms ms")
  fi
}

for dir in "${dirs[@]}"; do
  check_dir "$dir"
done

echo
echo "check_minilm: atol=$ATOL rtol=$RTOL (kiln-run vs ONNX Runtime), min cosine >= $MIN_COSINE"
for line in "${summary[@]}"; do
  echo "check_minilm: $line"
done
if ((overall)); then
  echo "check_minilm: FAILED"
else
  echo "check_minilm: OK"
fi
exit "$overall"
