#!/usr/bin/env bash
#===- bench/run.sh - Kiln vs ONNX Runtime benchmark suite ----------------===#
#
# Usage: bash bench/run.sh [--quick] [--only NAMES] [--exporter torchscript|dynamo|optimum]
#                          [--quantize int8-dynamic|int8-weight|ort-int8] [--rounds N] [...]
#        bash bench/run.sh gemm [--quick] [--m 1,8] [--kn 768x768] [...]
#        (--help lists every option of either; bench/README.md)
#
# Exports the models on first use (needs .venv-export: bash
# scripts/setup-export.sh; --exporter optimum also .venv-optimum), compiles
# them with kilnc (needs a build: bash scripts/build.sh), times Kiln and ONNX
# Runtime alternately, prints the tables and writes build/bench/results.json
# (build/bench/<exporter>/results.json for dynamo and optimum;
# results-<mode>.json with --quantize). The gemm mode runs the GEMM
# microbenchmark (bench/gemm.py: Kiln, ONNX Runtime and OpenBLAS on single
# MatMuls) and writes build/bench/gemm/results.json.
#
# Env: KILNC (default build/tools/kilnc/kilnc), KILN_BENCH_LOCK (a file to
#      flock around every heavy step), BENCH_PYTHON (the harness's Python:
#      numpy + onnxruntime; default .venv, else .venv-export).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PY="${BENCH_PYTHON:-}"
if [[ -z "$PY" ]]; then
  for candidate in .venv/bin/python .venv-export/bin/python; do
    if [[ -x "$candidate" ]]; then PY="$candidate"; break; fi
  done
fi
if [[ -z "$PY" ]]; then
  echo "bench: no Python with onnxruntime; run bash scripts/setup.sh (and" \
       "bash scripts/setup-export.sh to export the models)" >&2
  exit 2
fi
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
if [[ "${1:-}" == gemm ]]; then
  shift
  exec "$PY" bench/gemm.py "$@"
fi
exec "$PY" bench/bench.py "$@"
