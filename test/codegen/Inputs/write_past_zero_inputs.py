#!/usr/bin/env python3
#===- test/codegen/Inputs/write_past_zero_inputs.py - an empty KV cache ---===#
#
# For test/codegen/past-length-zero.test: x [1, 2, 4], an empty past
# [1, 0, 4], and the expected present (x itself).
#
# Usage: write_past_zero_inputs.py OUT
#
#===----------------------------------------------------------------------===#
import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
x = np.arange(8, dtype=np.float32).reshape(1, 2, 4)
np.save(out / "x.npy", x)
np.save(out / "past.npy", np.zeros((1, 0, 4), dtype=np.float32))
np.save(out / "output_present.npy", x)
