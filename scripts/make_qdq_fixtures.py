#!/usr/bin/env python3
#===- scripts/make_qdq_fixtures.py - ORT quantize_static (QDQ) fixtures ---===#
#
# Quantizes fixture models with ONNX Runtime's static quantizer
# (onnxruntime.quantization.quantize_static, QuantFormat.QDQ: every MatMul
# by a constant gets QuantizeLinear/DequantizeLinear on its activation and a
# DequantizeLinear on its int8 weight), calibrated with MinMax on seeded
# random token ids, and runs ONNX Runtime (CPU) on each at the ref_ort
# inputs. Two flavours per model:
#
#   s8s8_channel: int8 activations with a zero point, int8 weights
#                 symmetric per output channel (ORT's defaults, per_channel)
#   u8s8_tensor:  uint8 activations, int8 weights per tensor
#
# Writes test/models/qdq/<model>_qdq_<flavour>.onnx and
# test/models/qdq/ref_ort/<name>/{input_*.npy, output_*.npy, manifest.json},
# and prints ORT's error against the fp32 model. The lit test
# test/onnx/qdq-ort.test holds Kiln's outputs on them to ORT's.
#
# op_types_to_quantize is MatMul alone: the weight GEMMs, which Kiln raises
# to kiln.qlinear. Deterministic (seeded data, one ORT thread). Run with the
# .venv python:
#   .venv/bin/python scripts/make_qdq_fixtures.py
#
#===----------------------------------------------------------------------===#
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization import (CalibrationDataReader, QuantFormat,
                                      QuantType, quantize_static)

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "test" / "models"
OUT = MODELS / "qdq"
BASES = ["gpt2_tiny_prefill", "bert_tiny_encoder"]
FLAVOURS = {
    "s8s8_channel": dict(activation_type=QuantType.QInt8,
                         weight_type=QuantType.QInt8, per_channel=True),
    "u8s8_tensor": dict(activation_type=QuantType.QUInt8,
                        weight_type=QuantType.QInt8, per_channel=False),
}


def session(model) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


class Calibration(CalibrationDataReader):
    """Eight seeded batches of random token ids (batch 2, seq 16)."""

    def __init__(self, model: Path):
        rng = np.random.default_rng(7)
        vocab = 1000
        names = [i.name for i in onnx.load(model).graph.input]
        self.batches = []
        for _ in range(8):
            feed = {}
            for name in names:
                if name == "input_ids":
                    feed[name] = rng.integers(0, vocab, (2, 16), dtype=np.int64)
                elif name == "attention_mask":
                    feed[name] = np.ones((2, 16), dtype=np.int64)
                else:
                    feed[name] = np.zeros((2, 16), dtype=np.int64)
            self.batches.append(feed)
        self.it = iter(self.batches)

    def get_next(self):
        return next(self.it, None)


def quantize(base: str, flavour: dict) -> onnx.ModelProto:
    src = MODELS / f"{base}.onnx"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "q.onnx"
        quantize_static(str(src), str(out), Calibration(src),
                        quant_format=QuantFormat.QDQ,
                        op_types_to_quantize=["MatMul", "Gemm"], **flavour)
        return onnx.load(out)


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for base in BASES:
        refdir = MODELS / "ref_ort" / base
        inputs = {p.name[len("input_"):-len(".npy")]: np.load(p)
                  for p in sorted(refdir.glob("input_*.npy"))}
        fp32 = session(MODELS / f"{base}.onnx")
        names = [o.name for o in fp32.get_outputs()]
        expect = dict(zip(names, fp32.run(None, inputs)))
        for suffix, flavour in FLAVOURS.items():
            name = f"{base}_qdq_{suffix}"
            model = quantize(base, flavour)
            counts = {op: sum(n.op_type == op for n in model.graph.node)
                      for op in ("QuantizeLinear", "DequantizeLinear", "MatMul")}
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
                "source": f"{base}.onnx, quantize_static(QDQ, MatMul, MinMax, "
                          f"{ {k: str(v) for k, v in flavour.items()} })",
                "nodes": counts,
                "inputs": {k: list(v.shape) for k, v in inputs.items()},
                "ort_max_abs_err_vs_fp32": err,
            }, indent=1) + "\n")
            print(f"{name}: {counts}; ORT max abs err vs fp32: "
                  + ", ".join(f"{k} {v:.4g}" for k, v in err.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
