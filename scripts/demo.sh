#!/usr/bin/env bash
#===- scripts/demo.sh - set up, build, compile and run the GPT-2 example --===#
#
# README command 1. On a fresh Debian 12 machine: installs what is missing,
# builds Kiln, compiles examples/gpt2_tiny/model.onnx to a shared library,
# checks its outputs against the stored PyTorch reference, prints the top-5
# next-token ids, and times a call.
#
# Env: KILNC, KILN_RUN (tool paths; default the build/ ones),
#      KILN_SKIP_SETUP=1, KILN_SKIP_BUILD=1 (reuse what is there)
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

[[ "${KILN_SKIP_SETUP:-0}" == 1 ]] || bash scripts/setup.sh
[[ "${KILN_SKIP_BUILD:-0}" == 1 ]] || bash scripts/build.sh

KILNC="${KILNC:-build/tools/kilnc/kilnc}"
KILN_RUN="${KILN_RUN:-build/tools/kiln-run/kiln-run}"
EXAMPLE=examples/gpt2_tiny
LIB=build/examples/libgpt2_tiny.so
THREADS="$(nproc)"

for tool in "$KILNC" "$KILN_RUN"; do
  [[ -x "$tool" ]] || { echo "demo: $tool was not built" >&2; exit 1; }
done
mkdir -p build/examples
OUT="$(mktemp -d "${TMPDIR:-/tmp}/kiln-demo.XXXXXX")"
trap 'rm -rf "$OUT"' EXIT

echo
echo "== compile: $KILNC $EXAMPLE/model.onnx -o $LIB"
"$KILNC" "$EXAMPLE/model.onnx" -o "$LIB"
echo "   $(stat -c %s "$LIB") bytes"

echo
echo "== run and check against the PyTorch reference (atol 1e-4, rtol 1e-4)"
"$KILN_RUN" "$LIB" --inputs "$EXAMPLE/inputs" --outputs "$OUT" \
  --expect "$EXAMPLE/expected" --atol 1e-4 --rtol 1e-4

echo
echo "== top-5 next-token ids (logits at the last position)"
.venv/bin/python - "$EXAMPLE/inputs/input_input_ids.npy" "$OUT/logits.npy" <<'EOF'
import sys
import numpy as np

ids = np.load(sys.argv[1])
logits = np.load(sys.argv[2])
for b in range(logits.shape[0]):
    last = logits[b, -1]
    top = np.argsort(-last, kind="stable")[:5]
    print(f"   sequence {b} ({ids.shape[1]} tokens, ends ...{ids[b, -3:].tolist()}): "
          + "  ".join(f"{t} ({last[t]:+.3f})" for t in top))
EOF

echo
echo "== benchmark: 50 calls, $THREADS threads"
bench="$("$KILN_RUN" "$LIB" --inputs "$EXAMPLE/inputs" --bench 50 --threads "$THREADS")"
.venv/bin/python - "$bench" <<'EOF'
import json, sys
lines = [l for l in sys.argv[1].splitlines() if l.strip().startswith("{")]
if not lines:
    sys.exit("demo: kiln-run --bench printed no JSON line:\n" + sys.argv[1])
r = json.loads(lines[-1])
print(f"   gpt2_tiny prefill, batch 2 x seq 16: {r['median_ms']:.3f} ms per call "
      f"(median; p90 {r['p90_ms']:.3f} ms, min {r['min_ms']:.3f} ms)")
EOF
echo
echo "demo: OK"
