#!/usr/bin/env python3
#===- scripts/make_int4_fixtures.py - ORT MatMulNBits fixtures and refs ---===#
#
# Quantizes test/models/gpt2_tiny_prefill.onnx with ONNX Runtime's own 4-bit
# weight quantizer (onnxruntime.quantization.matmul_nbits_quantizer,
# MatMulNBitsQuantizer: every MatMul by a constant becomes com.microsoft
# MatMulNBits, bits 4, blocks of 32 along K), symmetric (no zero points) and
# asymmetric (uint8 zero points), and runs ONNX Runtime (CPU) on each at the
# ref_ort inputs (batch 1, seq 7). Writes
#
#   test/models/int4/gpt2_tiny_prefill_int4_{sym,asym}.onnx
#   test/models/int4/ref_ort/<model>/{input_*.npy, output_*.npy, manifest.json}
#
# and prints ORT's int4 error against the fp32 model's outputs. The lit test
# test/onnx/matmulnbits-ort.test holds Kiln's outputs on those models to ORT's.
#
# accuracy_level is 0 (ORT computes in f32 from the dequantized weights, as
# Kiln does: level 4 would quantize the activations to int8). Deterministic:
# ORT's RTN quantizer, one ORT thread. Needs onnx-ir (scripts/requirements.txt),
# which the quantizer imports. Run with the .venv python:
#   .venv/bin/python scripts/make_int4_fixtures.py
#
#===----------------------------------------------------------------------===#
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "test" / "models"
OUT = MODELS / "int4"
BASE = "gpt2_tiny_prefill"
BLOCK = 32


def session(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def quantize(symmetric: bool) -> onnx.ModelProto:
    q = MatMulNBitsQuantizer(onnx.load(MODELS / f"{BASE}.onnx"), bits=4,
                             block_size=BLOCK, is_symmetric=symmetric,
                             accuracy_level=0)
    q.process()
    return q.model.model


def main() -> int:
    refdir = MODELS / "ref_ort" / BASE
    inputs = {p.name[len("input_"):-len(".npy")]: np.load(p)
              for p in sorted(refdir.glob("input_*.npy"))}
    fp32 = session(MODELS / f"{BASE}.onnx")
    names = [o.name for o in fp32.get_outputs()]
    expect = dict(zip(names, fp32.run(None, inputs)))
    OUT.mkdir(parents=True, exist_ok=True)
    for symmetric, suffix in ((True, "sym"), (False, "asym")):
        name = f"{BASE}_int4_{suffix}"
        model = quantize(symmetric)
        nodes = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
        onnx.save(model, OUT / f"{name}.onnx")
        outputs = dict(zip(names, session(model).run(None, inputs)))
        d = OUT / "ref_ort" / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        for k, v in inputs.items():
            np.save(d / f"input_{k}.npy", v)
        for k, v in outputs.items():
            np.save(d / f"output_{k}.npy", v)
        err = {k: float(np.abs(outputs[k] - expect[k]).max()) for k in names}
        (d / "manifest.json").write_text(json.dumps({
            "model": f"{name}.onnx",
            "source": f"{BASE}.onnx, MatMulNBitsQuantizer(bits=4, block_size={BLOCK}, "
                      f"is_symmetric={symmetric}, accuracy_level=0)",
            "matmulnbits_nodes": len(nodes),
            "inputs": {k: list(v.shape) for k, v in inputs.items()},
            "ort_max_abs_err_vs_fp32": err,
        }, indent=1) + "\n")
        print(f"{name}: {len(nodes)} MatMulNBits; ORT int4 max abs err vs fp32: "
              f"logits {err['logits']:.4g}, all outputs {max(err.values()):.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
