#!/usr/bin/env python3
#===- f8_rounding_matches.py - f8 tensors as f32 ones rounded -------------===#
#
# Usage: f8_rounding_matches.py F32_DIR F8_DIR NAME...
# For each NAME, checks that F8_DIR/NAME.npy (an f8e4m3fn tensor kiln-run
# wrote as float32) equals F32_DIR/NAME.npy rounded to the nearest
# f8e4m3fn by ml_dtypes, element for element; prints one line per tensor,
# exits 1 on the first that differs.
#
#===----------------------------------------------------------------------===#
import sys

import ml_dtypes
import numpy as np

wide_dir, narrow_dir, names = sys.argv[1], sys.argv[2], sys.argv[3:]
for name in names:
    wide = np.load(f"{wide_dir}/{name}.npy")
    narrow = np.load(f"{narrow_dir}/{name}.npy")
    rounded = wide.astype(ml_dtypes.float8_e4m3fn).astype(np.float32)
    if rounded.shape != narrow.shape or not np.array_equal(rounded, narrow):
        bad = np.argwhere(rounded != narrow)
        sys.exit(f"{name}: {len(bad)} values differ, first at {bad[0].tolist()}: "
                 f"{narrow[tuple(bad[0])]} against {rounded[tuple(bad[0])]} "
                 f"(f32 {wide[tuple(bad[0])]})")
    print(f"{name}: {narrow.size} values, the f32 ones rounded to f8e4m3fn exactly")
