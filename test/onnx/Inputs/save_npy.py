#!/usr/bin/env python3
#===- test/onnx/Inputs/save_npy.py - write small .npy files for lit tests -===#
#
# Writes each NAME=DTYPE:VALUES argument as DIR/NAME.npy, so that a test
# states its inputs and expected outputs in plain text for
# `kiln-run --inputs DIR --expect DIR`.
#
# Usage: save_npy.py DIR NAME=DTYPE[SHAPE]:V,V,...  ...
#   x=uint8:200,100        1-D uint8 [200, 100]
#   m=float32[2,0]:        an empty 2x0 float32 tensor
#   s=int64[]:7            a scalar
# DTYPE is a numpy dtype name; SHAPE defaults to [number of values].
#
#===----------------------------------------------------------------------===#
import re
import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
for arg in sys.argv[2:]:
    m = re.fullmatch(r"([\w.]+)=(\w+)(?:\[([\d,]*)\])?:(.*)", arg)
    if not m:
        sys.exit(f"save_npy.py: bad argument '{arg}' (want NAME=DTYPE[SHAPE]:V,...)")
    name, dtype, shape, values = m.groups()
    items = [v for v in values.split(",") if v]
    # Python ints first, so that uint64 values above 2^63 stay exact.
    data = [int(v) if re.fullmatch(r"-?\d+", v) else float(v) for v in items]
    array = np.array(data, dtype=dtype)
    if shape is not None:
        array = array.reshape([int(d) for d in shape.split(",") if d])
    np.save(out / f"{name}.npy", array)
