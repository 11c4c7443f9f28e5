#!/usr/bin/env python3
#===- bench/quantize_models.py - ONNX Runtime's int8 models of the bench --===#
#
# usage: .venv/bin/python bench/quantize_models.py MODELS_DIR NAME [NAME...] [--force]
#
# Writes MODELS_DIR/NAME_int8.onnx from MODELS_DIR/NAME.onnx with ONNX
# Runtime's own dynamic quantization, as its documentation recommends for
# transformers on CPU:
#
#   quantize_dynamic(NAME.onnx, NAME_int8.onnx, weight_type=QuantType.QInt8)
#
# (per-tensor int8 weights, uint8 activations quantized per tensor at run
# time by DynamicQuantizeLinear; MatMul and Gather quantized, the rest
# fp32). ORT_ENABLE_ALL fuses each DynamicQuantizeLinear + MatMulInteger +
# scale into DynamicQuantizeMatMul, MLAS's u8s8 GEMM (VNNI where the CPU
# has it): ORT's fastest CPU int8 path. bench.py --quantize runs this once
# per model; NAME_int8.json records how the file was made, and the file is
# made again when the fp32 model is newer or onnxruntime's version differs.
#
#===----------------------------------------------------------------------===#
import argparse
import json
import os
import sys
import time
from pathlib import Path


def int8_paths(models: Path, name: str) -> tuple:
    return models / f"{name}_int8.onnx", models / f"{name}_int8.json"


def is_current(models: Path, name: str) -> bool:
    """Whether NAME_int8.onnx exists, is newer than NAME.onnx and was made by
    this onnxruntime."""
    import onnxruntime
    out, record = int8_paths(models, name)
    src = models / f"{name}.onnx"
    if not (out.exists() and record.exists() and src.exists()):
        return False
    info = json.loads(record.read_text())
    return (info.get("onnxruntime") == onnxruntime.__version__
            and out.stat().st_mtime >= src.stat().st_mtime)


def quantize(models: Path, name: str) -> dict:
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic
    src = models / f"{name}.onnx"
    out, record = int8_paths(models, name)
    tmp = out.with_suffix(".onnx.tmp")
    t0 = time.perf_counter()
    quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
    seconds = time.perf_counter() - t0
    os.replace(tmp, out)
    ops = {}
    for node in onnx.load(str(out), load_external_data=False).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    info = dict(source=src.name, call="onnxruntime.quantization.quantize_dynamic(source, output, "
                "weight_type=QuantType.QInt8)", onnxruntime=onnxruntime.__version__,
                onnx=onnx.__version__, seconds=round(seconds, 1), onnx_bytes=out.stat().st_size,
                nodes=dict(sorted(ops.items())))
    record.write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="ONNX Runtime int8 (quantize_dynamic) copies of the "
                                             "bench models")
    ap.add_argument("models", type=Path, help="directory of NAME.onnx (build/bench/models)")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--force", action="store_true", help="quantize even where the file is current")
    args = ap.parse_args(argv)
    for name in args.names:
        if not args.force and is_current(args.models, name):
            print(f"{name}_int8.onnx is current")
            continue
        info = quantize(args.models, name)
        print(f"{name}_int8.onnx: {info['onnx_bytes'] / 1e6:.1f} MB in {info['seconds']:.0f} s; "
              f"nodes {info['nodes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
