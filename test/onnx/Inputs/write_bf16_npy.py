#!/usr/bin/env python3
#===- test/onnx/Inputs/write_bf16_npy.py - bf16 .npy inputs and checks ---===#
#
# For test/onnx/bf16-test-data.test (model: f32 = Cast(x: bf16),
# b16 = Cast(y: f32 -> bf16)). Writes OUT/x.npy as ml_dtypes' bfloat16 (a
# '<V2' array of bit patterns) and OUT/y.npy as float32; with --check, prints
# the dtype and values of each output dir's f32.npy and b16.npy, reading a
# '<V2' array as ml_dtypes' bfloat16.
#
# Usage: write_bf16_npy.py OUT [--check DIR...]
#
#===----------------------------------------------------------------------===#
import sys
from pathlib import Path

import ml_dtypes
import numpy as np

out = Path(sys.argv[1])
if len(sys.argv) > 2 and sys.argv[2] == "--check":
    for d in map(Path, sys.argv[3:]):
        for name in ("b16", "f32"):
            a = np.load(d / f"{name}.npy")
            if a.dtype == np.dtype("V2"):
                a = a.view(ml_dtypes.bfloat16)
            values = ", ".join(repr(float(v)) for v in a)
            print(f"{d.name} {name}: {a.dtype} [{values}]")
    sys.exit(0)
out.mkdir(parents=True, exist_ok=True)
np.save(out / "x.npy", np.array([0.5, -2.25, 3.0, 1.0], dtype=ml_dtypes.bfloat16))
np.save(out / "y.npy", np.array([0.5, -2.3, 3.1, 1.0], dtype=np.float32))
