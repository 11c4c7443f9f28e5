"""Inputs and float64 expected outputs of Inputs/qlinear-int4.mlir.

Reads the constants from the .mlir, draws x (with an all-zero row and an
outlier row), dequantizes the weights as kiln.qlinear_int4 specifies,
w[k, n] = (q[k, n] - zp[k // g, n]) * s[k // g, n], and writes x.npy and the
two outputs' .npy files to DIR.

usage: qlinear_int4_reference.py MODEL.mlir DIR
"""
import math
import re
import sys
from pathlib import Path

import numpy as np


def constant(text, name):
    m = re.search(r"%" + name + r" = kiln.constant dense<(.*?)> : tensor<", text)
    return np.array(eval(m.group(1)), dtype=np.float64)


def main():
    text = Path(sys.argv[1]).read_text()
    out = Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    g = int(re.search(r"group_size = (\d+)", text).group(1))
    rng = np.random.default_rng(12)
    k = constant(text, "w").shape[0]
    x = rng.standard_normal((37, k)).astype(np.float32)
    x[3] = 0.0
    x[5] *= 100.0
    np.save(out / "x.npy", x)
    rows = np.arange(k) // g

    w = constant(text, "w") * constant(text, "s")[rows]
    y = x.astype(np.float64) @ w + constant(text, "b")
    gelu = np.vectorize(lambda v: 0.5 * v * (1.0 + math.erf(v / math.sqrt(2.0))))
    np.save(out / "signed.npy", gelu(y).astype(np.float32))

    u = (constant(text, "u") - constant(text, "z")[rows]) * constant(text, "t")[rows]
    np.save(out / "zero_points.npy", (x.astype(np.float64) @ u).astype(np.float32))


if __name__ == "__main__":
    main()
