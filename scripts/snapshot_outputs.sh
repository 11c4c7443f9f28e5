#!/usr/bin/env bash
#===- scripts/snapshot_outputs.sh - hash every fixture's outputs -----------===#
#
# Usage: bash scripts/snapshot_outputs.sh BUILD OUTDIR
#
# Compiles every fixture of test/models (fp32, int8, and the fp32 ones at
# --precision=fp16 and bf16) and the example with BUILD's kilnc, writes
# their outputs on each reference input set under OUTDIR/out, and the
# sha256 of those outputs and of the libraries to OUTDIR/outputs.sha256 and
# OUTDIR/libs.sha256. Two snapshots, before and after a change, show whether
# it left every output bit-identical (diff the outputs.sha256 files).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
B=$1
OUT=$2
rm -rf "$OUT"
mkdir -p "$OUT/lib" "$OUT/out"
for m in "$ROOT"/test/models/*.onnx "$ROOT"/examples/gpt2_tiny/model.onnx; do
  n=$(basename "$m" .onnx)
  [[ $n == model ]] && n=example_gpt2
  base=${n%_int8}
  for prec in "" fp16 bf16; do
    [[ -n $prec && $n == *_int8 ]] && continue
    [[ -n $prec && $n == example_gpt2 ]] && continue
    tag=$n${prec:+@$prec}
    "$B/tools/kilnc/kilnc" -q "$m" ${prec:+--precision=$prec} -o "$OUT/lib/lib$tag.so"
    for rs in ref ref_ort; do
      d=$ROOT/test/models/$rs/$base
      [[ $n == example_gpt2 ]] && d=$ROOT/examples/gpt2_tiny/inputs
      [[ -d $d ]] || continue
      mkdir -p "$OUT/out/$tag/$rs"
      "$B/tools/kiln-run/kiln-run" "$OUT/lib/lib$tag.so" --inputs "$d" \
        --outputs "$OUT/out/$tag/$rs" >/dev/null
      [[ $n == example_gpt2 ]] && break
    done
  done
done
(cd "$OUT/out" && find . -type f | sort | xargs sha256sum) >"$OUT/outputs.sha256"
(cd "$OUT/lib" && sha256sum ./*.so) >"$OUT/libs.sha256"
wc -l "$OUT/outputs.sha256" "$OUT/libs.sha256"
