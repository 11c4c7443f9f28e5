#!/usr/bin/env python3
#===- scripts/make_ort_references.py - ORT references at new shapes -------===#
#
# The fixture references in test/models/ref/ come from PyTorch at batch 2,
# seq 16, past 16. This script makes a second set with ONNX Runtime (CPU) at
# other values of the symbolic axes, so that a pass shows that a compiled
# artifact works for more than one binding of batch/seq/past:
#
#   prefill models   batch 1, seq 7
#   bert             batch 3, seq 7, attention_mask with padding (7, 5, 2 tokens)
#   gpt2 decode      batch 1, seq 1, past 5; the past key/values come from a
#                    real ORT run of gpt2_tiny_prefill over 5 tokens
#
# Writes test/models/ref_ort/<model>/{input_<name>.npy,output_<name>.npy,
# manifest.json}, and test/models/tolerances.json: the tolerance per precision,
# with the int8 models' absolute tolerance derived from ONNX Runtime's own
# int8 error against the fp32 reference in each reference dir, and ONNX
# Runtime's int4 error (MatMulNBitsQuantizer: blocks of 32, symmetric, at
# accuracy_level 0 and 4) that kilnc's int4 modes are held to.
#
# Deterministic: seeded inputs, one ORT thread. Run with the .venv python:
#   .venv/bin/python scripts/make_ort_references.py
#
#===----------------------------------------------------------------------===#
import argparse
import json
import math
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "test" / "models"

VOCAB = 1000
SEED = 20240607
FP32_TOL = {"atol": 1e-4, "rtol": 1e-4}
# A compiler's int8 error must be no worse than ONNX Runtime's (the fixture
# README); the margin allows a different but equally valid rounding order.
INT8_MARGIN = 1.5
# kilnc --precision=fp16|bf16 (f16/bf16 GEMM operands, f32 accumulation)
# against the fp32 references. Kiln's own measured worst case over the four
# fixtures and both reference sets (2026-11-23, docs/cuda.md "Precision"):
# max |err| / (1 + |ref|) 2.96e-4 with fp16 and 2.76e-3 with bf16; the
# tolerances leave a margin of about 3.4x and 3.6x.
# kilnc --quantize modes that run_fixtures.py checks, each held to ONNX
# Runtime's own int8 error on the same weights (ort_max_abs_err below); BERT's
# pooler stays fp32 there, as ORT's quantizer leaves Gemm nodes in fp32.
QUANTIZE = ["int8-dynamic", "int8-weight"]
QUANTIZE_EXCLUDE = {"bert_tiny_encoder": "pooler"}
# kilnc's int4 modes (group 32), each held to ONNX Runtime's MatMulNBits
# model of the same weights: int4-weight (f32 math on the dequantized
# weights) to accuracy_level 0, which computes the same way, and
# int4-dynamic (int8 activations per row) to accuracy_level 4 (int8
# activations per block of K). The margin allows the different activation
# blocks; ORT leaves Gemm nodes (BERT's pooler) in fp32, as
# QUANTIZE_EXCLUDE does.
QUANTIZE_INT4 = {"int4-weight": "ort_max_abs_err", "int4-dynamic": "ort_acc4_max_abs_err"}
INT4_MARGIN = 1.1
INT4_BLOCK = 32
MIXED_TOL = {
    "fp16": {"atol": 1e-3, "rtol": 1e-3, "kiln_max_abs_err": 3.05e-4},
    "bf16": {"atol": 1e-2, "rtol": 1e-2, "kiln_max_abs_err": 2.88e-3},
}


def session(model) -> ort.InferenceSession:
    """One-thread CPU session on a model file or an in-memory ModelProto."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    data = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])


def run(sess: ort.InferenceSession, feeds: dict) -> dict:
    names = [o.name for o in sess.get_outputs()]
    return dict(zip(names, sess.run(names, feeds)))


def int4_session(path: Path, accuracy_level: int) -> ort.InferenceSession:
    q = MatMulNBitsQuantizer(onnx.load(path), bits=4, block_size=INT4_BLOCK,
                             is_symmetric=True, accuracy_level=accuracy_level)
    q.process()
    return session(q.model.model)


def prefill_inputs(rng, batch, seq):
    return {"input_ids": rng.integers(0, VOCAB, size=(batch, seq), dtype=np.int64)}


def bert_inputs(rng, batch, seq, lengths):
    assert len(lengths) == batch and max(lengths) == seq
    ids = rng.integers(1, VOCAB, size=(batch, seq), dtype=np.int64)
    mask = np.zeros((batch, seq), dtype=np.int64)
    types = np.zeros((batch, seq), dtype=np.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = 0  # [PAD]
        types[b, (n + 1) // 2:n] = 1  # two segments, as a sentence pair
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def decode_inputs(rng, batch, past):
    # Past key/values from a real prefill over `past` tokens, then one new token.
    prefill = session(MODELS / "gpt2_tiny_prefill.onnx")
    outs = run(prefill, prefill_inputs(rng, batch, past))
    feeds = {"input_ids": rng.integers(0, VOCAB, size=(batch, 1), dtype=np.int64)}
    for name, value in outs.items():
        if name.startswith("present."):
            feeds["past_key_values." + name[len("present."):]] = value
    return feeds


# model -> (shape bindings, input maker)
CASES = {
    "gpt2_tiny_prefill": ({"batch": 1, "seq": 7, "past": 0},
                          lambda rng: prefill_inputs(rng, 1, 7)),
    "llama_tiny_prefill": ({"batch": 1, "seq": 7, "past": 0},
                           lambda rng: prefill_inputs(rng, 1, 7)),
    "bert_tiny_encoder": ({"batch": 3, "seq": 7, "past": 0},
                          lambda rng: bert_inputs(rng, 3, 7, [7, 5, 2])),
    "gpt2_tiny_decode": ({"batch": 1, "seq": 1, "past": 5},
                         lambda rng: decode_inputs(rng, 1, 5)),
}


def save_dir(out: Path, model: str, shape: dict, feeds: dict, outputs: dict):
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    for name, value in feeds.items():
        np.save(out / f"input_{name}.npy", value)
    for name, value in outputs.items():
        np.save(out / f"output_{name}.npy", value)
    manifest = {
        "model": f"{model}.onnx",
        "inputs": {k: list(v.shape) for k, v in feeds.items()},
        "outputs": {k: list(v.shape) for k, v in outputs.items()},
        "shape": shape,
        "generator": f"onnxruntime {ort.__version__} CPUExecutionProvider, fp32",
        "seed": SEED,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def load_dir(d: Path):
    feeds = {p.name[len("input_"):-4]: np.load(p) for p in sorted(d.glob("input_*.npy"))}
    outs = {p.name[len("output_"):-4]: np.load(p) for p in sorted(d.glob("output_*.npy"))}
    return feeds, outs


def round_up(x: float, digits: int = 2) -> float:
    """Round up to `digits` significant digits, for a readable tolerance."""
    if x <= 0:
        return 0.0
    e = math.floor(math.log10(x)) - digits + 1
    return float(f"{math.ceil(x / 10**e) * 10**e:.{digits}g}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1] if __doc__ else None)
    ap.add_argument("--models", type=Path, default=MODELS, help="fixture dir (default test/models)")
    args = ap.parse_args()
    models_dir = args.models.resolve()

    rng = np.random.default_rng(SEED)
    for model, (shape, make) in CASES.items():
        feeds = make(rng)
        sess = session(models_dir / f"{model}.onnx")
        outs = run(sess, feeds)
        save_dir(models_dir / "ref_ort" / model, model, shape, feeds, outs)
        print(f"ref_ort/{model}: " + ", ".join(f"{k}{list(v.shape)}" for k, v in outs.items()))

    # fp32 sanity and int8 tolerance, for every reference dir of every model.
    tol = {"fp32": FP32_TOL, "mixed": MIXED_TOL, "quantize": QUANTIZE,
           "quantize_exclude": QUANTIZE_EXCLUDE, "int8": {},
           "int8_margin_over_ort": INT8_MARGIN, "quantize_int4": QUANTIZE_INT4,
           "int4": {}, "int4_margin_over_ort": INT4_MARGIN}
    for model in CASES:
        int4 = {level: int4_session(models_dir / f"{model}.onnx", level) for level in (0, 4)}
        for refset in ("ref", "ref_ort"):
            d = models_dir / refset / model
            if not d.is_dir():
                continue
            feeds, ref = load_dir(d)
            fp32 = run(session(models_dir / f"{model}.onnx"), feeds)
            err32 = max(float(np.abs(fp32[k] - ref[k]).max()) for k in ref)
            if err32 > 1e-5:
                print(f"error: ORT fp32 disagrees with {refset}/{model}: {err32:.3g}", file=sys.stderr)
                return 1
            errs4 = {}
            for level, sess4 in int4.items():
                out4 = run(sess4, feeds)
                errs4[level] = max(float(np.abs(out4[k] - ref[k]).max()) for k in ref)
            tol["int4"].setdefault(model, {})[refset] = {
                "ort_max_abs_err": round_up(errs4[0], 3),
                "ort_acc4_max_abs_err": round_up(errs4[4], 3)}
            print(f"{refset}/{model}: ORT int4 err {errs4[0]:.3g} (accuracy_level 4: {errs4[4]:.3g})")
            q = models_dir / f"{model}_int8.onnx"
            if not q.exists():
                continue
            int8 = run(session(q), feeds)
            err8 = max(float(np.abs(int8[k] - ref[k]).max()) for k in ref)
            atol = round_up(err8 * INT8_MARGIN)
            tol["int8"].setdefault(q.stem, {})[refset] = {
                "atol": atol, "rtol": 0.0, "ort_max_abs_err": round_up(err8, 3)}
            print(f"{refset}/{model}: ORT fp32 err {err32:.2g}; int8 err {err8:.3g} -> atol {atol:g}")
    (models_dir / "tolerances.json").write_text(json.dumps(tol, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
