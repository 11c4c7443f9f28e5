"""Raw files for the static-archive tests' C program (Inputs/static_gpt2_run.c).

  raw_reference.py ids REF_DIR OUT      input_ids.npy -> raw int64
  raw_reference.py check REF_DIR RAW    raw float32 logits vs output_logits.npy
"""
import sys

import numpy as np

mode, ref, path = sys.argv[1:4]
if mode == "ids":
    np.load(ref + "/input_input_ids.npy").astype(np.int64).tofile(path)
else:
    want = np.load(ref + "/output_logits.npy")
    got = np.fromfile(path, dtype=np.float32).reshape(want.shape)
    err = float(np.abs(got - want).max())
    print("logits max_abs_err ok" if err <= 1e-4 else "logits max_abs_err %g" % err)
