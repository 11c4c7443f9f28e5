#!/usr/bin/env python3
#===- bench/decode_steps.py - Time in-place decode steps of a decoder ------===#
#
# Times kiln_session_run_cached steps of a decoder artifact with past inputs
# (Optimum's text-generation-with-past graph, as kiln-serve runs it): a
# prefill of --prompt tokens for --batch rows fills a KV cache, then --steps
# decode steps append one token a row, and the cache is refilled from the
# same prefill for each of --reps rounds. Prints the median and best step
# time and the prefill's. The same C API calls as bench/serve.py's direct
# loop (its Direct engine), without the sampling between steps, so that a
# profiler sees the steps alone:
#
#   .venv/bin/python bench/decode_steps.py build/bench/optimum/kiln/libgpt2_with_past_int8dyn.so --batch 16
#   perf record -g .venv/bin/python bench/decode_steps.py LIB --batch 16 --reps 20
#
#===----------------------------------------------------------------------===#
import argparse
import ctypes
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serve  # noqa: E402
import workers  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(
        description="Time kiln_session_run_cached decode steps of a decoder artifact "
                    "with past inputs (Optimum's graph): a prefill fills the KV cache, "
                    "then --steps one-token steps, --reps times.")
    ap.add_argument("lib", help="decoder artifact (kilnc output) with past inputs")
    ap.add_argument("--batch", type=int, default=16, help="rows (default 16)")
    ap.add_argument("--prompt", type=int, default=48, help="prefill tokens a row (default 48)")
    ap.add_argument("--steps", type=int, default=32, help="decode steps a round (default 32)")
    ap.add_argument("--reps", type=int, default=10, help="rounds (default 10)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if min(args.batch, args.prompt, args.steps, args.reps, args.threads) < 1:
        ap.error("--batch, --prompt, --steps, --reps and --threads must be >= 1")

    eng = serve.Direct(args.lib, args.threads)
    if not any(name.startswith("past_key_values.") for name, _ in eng.ins):
        ap.error(f"{args.lib} has no past_key_values inputs")
    b, n = args.batch, args.prompt
    t0 = time.perf_counter()
    outs = eng.run_alloc(eng.prompt_feed([[1] * n] * b))
    prefill_ms = (time.perf_counter() - t0) * 1e3
    presents = eng.presents(outs)
    vocab = outs[eng.outs.index("logits")].shape[-1]

    keep = []
    cache = ctypes.c_void_p()
    eng.check(eng.lib.kiln_kv_cache_create(eng.session, b, n + args.steps, ctypes.byref(cache)),
              "kv_cache_create")
    logits = np.empty((b, 1, vocab), np.float32)
    out_t = workers.kiln_tensors([logits], keep)
    steps = []
    for _ in range(args.reps):
        eng.check(eng.lib.kiln_kv_cache_set(cache, workers.kiln_tensors(presents, keep),
                                            len(presents)), "kv_cache_set")
        for k in range(args.steps):
            others = eng.step_feed([1] * b, n + k + 1)
            t0 = time.perf_counter()
            eng.check(eng.lib.kiln_session_run_cached(
                eng.session, cache, workers.kiln_tensors(others, keep), len(others), out_t, 1),
                "run_cached")
            steps.append(time.perf_counter() - t0)
    eng.lib.kiln_kv_cache_destroy(cache)
    print(f"batch {b}, past {n}..{n + args.steps - 1}: step median {np.median(steps) * 1e3:.2f} ms, "
          f"best {min(steps) * 1e3:.2f} ms over {len(steps)} steps; first prefill "
          f"{prefill_ms:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
