#!/usr/bin/env python3
#===- bench/quantize_models.py - ONNX Runtime's int8/int4 models of the bench ===#
#
# usage: .venv/bin/python bench/quantize_models.py MODELS_DIR NAME [NAME...]
#            [--kind int8|int4|int4q8] [--force]
#
# --kind int8 (default) writes MODELS_DIR/NAME_int8.onnx from
# MODELS_DIR/NAME.onnx with ONNX Runtime's own dynamic quantization, as its
# documentation recommends for transformers on CPU:
#
#   quantize_dynamic(NAME.onnx, NAME_int8.onnx, weight_type=QuantType.QInt8)
#
# (per-tensor int8 weights, uint8 activations quantized per tensor at run
# time by DynamicQuantizeLinear; MatMul and Gather quantized, the rest
# fp32). ORT_ENABLE_ALL fuses each DynamicQuantizeLinear + MatMulInteger +
# scale into DynamicQuantizeMatMul, MLAS's u8s8 GEMM (VNNI where the CPU
# has it): ORT's fastest CPU int8 path.
#
# --kind int4 writes NAME_int4.onnx with ONNX Runtime's 4-bit weight
# quantizer at its defaults but the block size:
#
#   MatMulNBitsQuantizer(model, block_size=32, is_symmetric=True)
#
# after rewriting each Gemm by a constant as MatMul + Add (the quantizer
# takes MatMul only; the legacy exporter writes GPT-2's layers as Gemm).
#
# (every MatMul by a constant becomes com.microsoft MatMulNBits, 4-bit
# weights with an fp32 scale per 32 rows of K; no accuracy_level, so ORT
# computes in f32, as Kiln's int4-weight does).
#
# --kind int4q8 writes NAME_int4q8.onnx the same way with accuracy_level=4:
# ORT quantizes the activations to int8 (per block of 32) and multiplies in
# int8, as Kiln's int4-dynamic does (per row).
#
# bench.py --quantize runs this once per model; NAME_<kind>.json records how
# the file was made, and the file is made again when the fp32 model is
# newer or onnxruntime's version differs.
#
#===----------------------------------------------------------------------===#
import argparse
import json
import os
import sys
import time
from pathlib import Path


INT4_BLOCK = 32


def int8_paths(models: Path, name: str, kind: str = "int8") -> tuple:
    return models / f"{name}_{kind}.onnx", models / f"{name}_{kind}.json"


def is_current(models: Path, name: str, kind: str = "int8") -> bool:
    """Whether NAME_<kind>.onnx exists, is newer than NAME.onnx and was made
    by this onnxruntime."""
    import onnxruntime
    out, record = int8_paths(models, name, kind)
    src = models / f"{name}.onnx"
    if not (out.exists() and record.exists() and src.exists()):
        return False
    info = json.loads(record.read_text())
    return (info.get("onnxruntime") == onnxruntime.__version__
            and out.stat().st_mtime >= src.stat().st_mtime)


def gemms_as_matmuls(model) -> int:
    """Rewrites each Gemm(A, B[, C]) with a constant B, alpha = beta = 1 and
    transA = 0 as MatMul(A, B or B^T) [+ Add C], in place; returns how many.
    MatMulNBitsQuantizer quantizes MatMul only, and the legacy exporter
    writes GPT-2's Conv1D layers as Gemm."""
    import numpy as np
    import onnx
    from onnx import helper, numpy_helper
    inits = {t.name: t for t in model.graph.initializer}
    nodes, count = [], 0
    for node in model.graph.node:
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if (node.op_type != "Gemm" or node.input[1] not in inits or attrs.get("transA", 0)
                or attrs.get("alpha", 1.0) != 1.0 or attrs.get("beta", 1.0) != 1.0):
            nodes.append(node)
            continue
        b = inits[node.input[1]]
        if attrs.get("transB", 0):
            t = numpy_helper.from_array(np.ascontiguousarray(numpy_helper.to_array(b).T),
                                        b.name + "_t")
            model.graph.initializer.append(t)
            inits[t.name] = t
            b = t
        has_c = len(node.input) > 2 and node.input[2]
        product = node.output[0] + "_matmul" if has_c else node.output[0]
        nodes.append(helper.make_node("MatMul", [node.input[0], b.name], [product],
                                      name=node.name + "_matmul"))
        if has_c:
            nodes.append(helper.make_node("Add", [product, node.input[2]], [node.output[0]],
                                          name=node.name + "_bias"))
        count += 1
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    onnx.checker.check_model(model, full_check=False)
    return count


def quantize(models: Path, name: str, kind: str = "int8") -> dict:
    import onnx
    import onnxruntime
    src = models / f"{name}.onnx"
    out, record = int8_paths(models, name, kind)
    tmp = out.with_suffix(".onnx.tmp")
    t0 = time.perf_counter()
    if kind in ("int4", "int4q8"):
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
        model = onnx.load(str(src))
        rewritten = gemms_as_matmuls(model)
        level = {"accuracy_level": 4} if kind == "int4q8" else {}
        q = MatMulNBitsQuantizer(model, block_size=INT4_BLOCK, is_symmetric=True, **level)
        q.process()
        onnx.save(q.model.model, str(tmp))
        call = (f"{rewritten} Gemm by a constant rewritten as MatMul + Add, then "
                f"onnxruntime.quantization.matmul_nbits_quantizer.MatMulNBitsQuantizer(model, "
                f"block_size={INT4_BLOCK}, is_symmetric=True"
                + (", accuracy_level=4" if level else "") + ").process()")
    else:
        from onnxruntime.quantization import QuantType, quantize_dynamic
        quantize_dynamic(str(src), str(tmp), weight_type=QuantType.QInt8)
        call = ("onnxruntime.quantization.quantize_dynamic(source, output, "
                "weight_type=QuantType.QInt8)")
    seconds = time.perf_counter() - t0
    os.replace(tmp, out)
    ops = {}
    for node in onnx.load(str(out), load_external_data=False).graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    info = dict(source=src.name, call=call, onnxruntime=onnxruntime.__version__,
                onnx=onnx.__version__, seconds=round(seconds, 1), onnx_bytes=out.stat().st_size,
                nodes=dict(sorted(ops.items())))
    record.write_text(json.dumps(info, indent=1) + "\n")
    return info


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="ONNX Runtime int8 (quantize_dynamic) copies of the "
                                             "bench models")
    ap.add_argument("models", type=Path, help="directory of NAME.onnx (build/bench/models)")
    ap.add_argument("names", nargs="+")
    ap.add_argument("--kind", choices=("int8", "int4", "int4q8"), default="int8",
                    help="int8: quantize_dynamic (QInt8 weights); int4: MatMulNBitsQuantizer "
                         f"(block {INT4_BLOCK}, symmetric); int4q8: the same with "
                         "accuracy_level=4 (int8 activations)")
    ap.add_argument("--force", action="store_true", help="quantize even where the file is current")
    args = ap.parse_args(argv)
    for name in args.names:
        if not args.force and is_current(args.models, name, args.kind):
            print(f"{name}_{args.kind}.onnx is current")
            continue
        info = quantize(args.models, name, args.kind)
        print(f"{name}_{args.kind}.onnx: {info['onnx_bytes'] / 1e6:.1f} MB in "
              f"{info['seconds']:.0f} s; "
              f"nodes {info['nodes']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
