"""Inputs and float64 expected outputs of Inputs/qlinear-modes.mlir.

Reads the weight, scales and bias constants from the .mlir, draws x (with an
all-zero row and an outlier row), quantizes it as kiln.qlinear specifies
(in float32, as the kernels do: per-row symmetric int8, or ONNX's
DynamicQuantizeLinear over the whole tensor), multiplies the integers exactly
and rescales, and writes x.npy and the three outputs' .npy files to DIR.

usage: qlinear_reference.py MODEL.mlir DIR
"""
import math
import re
import sys
from pathlib import Path

import numpy as np


def constant(text, name):
    m = re.search(r"%" + name + r" = kiln.constant dense<(.*?)> : tensor<([0-9x]+)x?(i8|f32)>", text)
    values = np.array(eval(m.group(1)), dtype=np.float64)
    return values


def main():
    text = Path(sys.argv[1]).read_text()
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    w = constant(text, "w").astype(np.int64)
    s = constant(text, "s").astype(np.float32)
    b = constant(text, "b").astype(np.float32)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((37, w.shape[0])).astype(np.float32)
    x[3] = 0.0
    x[5] *= 100.0
    np.save(out / "x.npy", x)

    f32 = np.float32
    # row: per-row symmetric int8.
    amax = np.abs(x).max(axis=1, keepdims=True).astype(f32)
    scale = (amax / f32(127.0)).astype(f32)
    inv = np.where(scale == 0, f32(0), (f32(1) / np.where(scale == 0, f32(1), scale)).astype(f32))
    q = np.rint((x * inv).astype(f32)).astype(np.int64)
    acc = q @ w
    row = acc.astype(np.float64) * (scale * s).astype(np.float64) + b
    gelu = np.vectorize(lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))))
    np.save(out / "row.npy", gelu(row).astype(np.float32))

    # tensor_u8: ONNX DynamicQuantizeLinear.
    lo = f32(min(0.0, x.min()))
    hi = f32(max(0.0, x.max()))
    sc = f32((hi - lo) / f32(255.0))
    div = sc if sc != 0 else f32(1.0)
    zp = np.clip(np.rint(f32(-lo / div)), 0, 255)
    qu = np.clip(np.rint((x / div).astype(f32)) + zp, 0, 255).astype(np.int64)
    acc = (qu - int(zp)) @ w
    t = acc.astype(np.float64) * (f32(sc) * s).astype(np.float64)
    np.save(out / "tensor.npy", (t / (1.0 + np.exp(-t))).astype(np.float32))

    # none: f32 x times the dequantized weight.
    none = x.astype(np.float64) @ (w * s.astype(np.float64)) + b
    np.save(out / "none.npy", none.astype(np.float32))


if __name__ == "__main__":
    main()
