#!/usr/bin/env python3
#===- bench/export_models.py - export the benchmark models to ONNX -------===#
#
# Run with the heavy venv (torch, transformers):
#   .venv-export/bin/python bench/export_models.py [--out DIR] [--tiny]
#       [--exporter torchscript|dynamo|optimum] [NAME...]
#
# Builds each model of bench/configs.py from a Hugging Face config object with
# random weights (seed 0, HF's own init; no hub access) and exports it with
# --exporter (default torchscript):
#   torchscript  torch.onnx.export(dynamo=False), opset 17, constant folding,
#                eager attention, dynamic_axes batch/seq/past_seq/total_seq
#   dynamo       torch.onnx.export(dynamo=True), opset 18, the same wrappers
#                and eager attention, torch.export.Dim batch/seq/past_seq
#                (outputs get expressions such as 'past_seq + seq')
#   optimum      optimum.exporters.onnx.main_export on a save_pretrained copy
#                of the same model, run by .venv-optimum/bin/python (this
#                script's --optimum-worker mode; optimum-onnx pins
#                transformers 4.57, which loads sdpa attention): task
#                feature-extraction for BERT, text-generation-with-past for
#                GPT-2 and the Llama-style model, one graph per family
#                (FAMILY_with_past, configs.export_spec) that serves decode,
#                and prefill with past length 0
# then checks ONNX Runtime against PyTorch (transformers of .venv-export) at
# shapes other than the export sample (so a dim that tracing baked in shows
# up): batch 3, seq 4, past 9; decode graphs also at seq 1, and Optimum's
# with-past graphs at past 0.
#
# Writes, per model NAME, into --out (default configs.bench_dir/models:
# build/bench/models, build/bench/<exporter>/models for dynamo and optimum):
#   NAME.onnx   graph and weights in one file
#   NAME.json   resolved config, parameter counts for the roofline, op
#               histogram, signature and dims as the graph has them,
#               exporter, ORT-vs-PyTorch error
# A model whose .onnx and .json both exist is skipped unless --force.
#
# Graph signatures of the torch exporters (names as optimum / the fixture
# models write them):
#   encoder  input_ids, attention_mask, token_type_ids [batch, seq] int64
#            -> last_hidden_state [batch, seq, H], pooler_output [batch, H]
#   prefill  input_ids [batch, seq] -> logits [batch, seq, V],
#            present.{i}.{key,value} [batch, kv_heads, seq, head_dim]
#   decode   input_ids [batch, seq], past_key_values.{i}.{key,value}
#            [batch, kv_heads, past_seq, head_dim] -> logits,
#            present.{i}.{key,value} [batch, kv_heads, past_seq + seq, head_dim]
# Optimum's: the encoder returns last_hidden_state only; the with-past graph
# also takes attention_mask [batch_size, past_sequence_length +
# sequence_length] and position_ids [batch_size, sequence_length] (GPT-2
# after the pasts, Llama before them), dims batch_size, sequence_length,
# past_sequence_length.
#
#===----------------------------------------------------------------------===#
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import collections
import json
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from transformers import (BertConfig, BertModel, DynamicCache, GPT2Config, GPT2LMHeadModel,
                          LlamaConfig, LlamaForCausalLM)

sys.path.insert(0, str(Path(__file__).resolve().parent))
from configs import (DEFAULT_EXPORTER, EXPORTERS, MODELS, OPSETS, ModelSpec,  # noqa: E402
                     bench_dir, export_spec, tiny)

ROOT = Path(__file__).resolve().parent.parent
OPTIMUM_PYTHON = ROOT / ".venv-optimum" / "bin" / "python"

# Export with one shape and check at another: a traced constant that should
# have been symbolic then fails the check instead of the benchmark.
EXPORT_SHAPE = dict(batch=2, seq=7, past=5)
CHECK_SHAPE = dict(batch=3, seq=4, past=9)
DECODE_CHECK_SHAPE = dict(batch=2, seq=1, past=6)   # a decode step
PAST0_CHECK_SHAPE = dict(batch=2, seq=5, past=0)    # a prefill through a with-past graph
CHECK_ATOL = 1e-4


#===----------------------------------------------------------------------===#
# Models
#===----------------------------------------------------------------------===#

class Encoder(torch.nn.Module):
    """BertModel with positional inputs and tuple outputs, for export."""

    def __init__(self, bert):
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        out = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                        token_type_ids=token_type_ids, return_dict=True)
        return out.last_hidden_state, out.pooler_output


def flatten_cache(cache) -> list:
    flat = []
    for layer in cache.layers:
        flat += [layer.keys, layer.values]
    return flat


class Prefill(torch.nn.Module):
    """Causal LM over a whole prompt: logits and the KV cache it fills."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        out = self.lm(input_ids=input_ids, use_cache=True, return_dict=True)
        return (out.logits, *flatten_cache(out.past_key_values))


class Decode(torch.nn.Module):
    """Causal LM step with past_key_values as flat tensor inputs."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, *past):
        cache = DynamicCache(ddp_cache_data=[(past[i], past[i + 1]) for i in range(0, len(past), 2)])
        out = self.lm(input_ids=input_ids, past_key_values=cache, use_cache=True, return_dict=True)
        return (out.logits, *flatten_cache(out.past_key_values))


def resolved_config(spec: ModelSpec, cfg) -> dict:
    """The architecture numbers the roofline needs, under common names."""
    if spec.family == "bert":
        return dict(hidden=cfg.hidden_size, layers=cfg.num_hidden_layers,
                    heads=cfg.num_attention_heads, kv_heads=cfg.num_attention_heads,
                    head_dim=cfg.hidden_size // cfg.num_attention_heads,
                    intermediate=cfg.intermediate_size, vocab=cfg.vocab_size,
                    max_positions=cfg.max_position_embeddings, causal=False)
    if spec.family == "gpt2":
        return dict(hidden=cfg.n_embd, layers=cfg.n_layer, heads=cfg.n_head,
                    kv_heads=cfg.n_head, head_dim=cfg.n_embd // cfg.n_head,
                    intermediate=cfg.n_inner or 4 * cfg.n_embd, vocab=cfg.vocab_size,
                    max_positions=cfg.n_positions, causal=True)
    if spec.family == "llama":
        head_dim = getattr(cfg, "head_dim", None) or cfg.hidden_size // cfg.num_attention_heads
        return dict(hidden=cfg.hidden_size, layers=cfg.num_hidden_layers,
                    heads=cfg.num_attention_heads, kv_heads=cfg.num_key_value_heads,
                    head_dim=head_dim, intermediate=cfg.intermediate_size,
                    vocab=cfg.vocab_size, max_positions=cfg.max_position_embeddings,
                    causal=True)
    raise ValueError(spec.family)


def build(spec: ModelSpec):
    torch.manual_seed(0)
    if spec.family == "bert":
        cfg = BertConfig(**spec.hf_config)
        cls = BertModel
    elif spec.family == "gpt2":
        cfg = GPT2Config(**spec.hf_config)
        cls = GPT2LMHeadModel
    elif spec.family == "llama":
        cfg = LlamaConfig(**spec.hf_config)
        cls = LlamaForCausalLM
    else:
        raise ValueError(spec.family)
    # Eager attention exports the MatMul/Softmax/MatMul pattern that
    # optimum's default ONNX export of these models also has.
    cfg._attn_implementation = "eager"
    model = cls(cfg).eval()
    if spec.family == "bert":
        wrapper = Encoder(model)
    elif spec.graph == "prefill":
        wrapper = Prefill(model)
    else:
        wrapper = Decode(model)
    return cfg, model, wrapper.eval()


def param_counts(model: torch.nn.Module, spec: ModelSpec, pooler: bool = True) -> dict:
    """Parameters by how the forward pass touches them.

    linear_per_token: weights of every matmul applied to each token;
    linear_per_sequence: BERT's pooler, applied to the first token only;
    streamed: every parameter a forward pass reads in full, i.e. all but
    embedding tables that are only gathered from (a table tied to the LM head
    is read in full and counts). pooler=False: the graph has no pooler
    (Optimum's feature-extraction), so it is left out of both.
    """
    from transformers.pytorch_utils import Conv1D

    per_token, per_seq, streamed, seen = 0, 0, 0, set()
    for name, mod in model.named_modules():
        if not pooler and "pooler" in name.split("."):
            continue
        if isinstance(mod, (torch.nn.Linear, Conv1D)):
            n = mod.weight.numel()
            if spec.family == "bert" and "pooler" in name.split("."):
                per_seq += n
            else:
                per_token += n
        if isinstance(mod, torch.nn.Embedding):
            continue
        for p in mod.parameters(recurse=False):
            if id(p) not in seen:
                seen.add(id(p))
                streamed += p.numel()
    total = sum(p.numel() for p in model.parameters())
    return dict(total=total, linear_per_token=per_token, linear_per_sequence=per_seq,
                streamed=streamed)


#===----------------------------------------------------------------------===#
# Export and check
#===----------------------------------------------------------------------===#

def signature(spec: ModelSpec, rc: dict):
    """(input names, output names, dynamic axes)."""
    layers = rc["layers"]
    kv = [f"{i}.{kind}" for i in range(layers) for kind in ("key", "value")]
    if spec.family == "bert":
        ins = ["input_ids", "attention_mask", "token_type_ids"]
        outs = ["last_hidden_state", "pooler_output"]
        axes = {n: {0: "batch", 1: "seq"} for n in ins + ["last_hidden_state"]}
        axes["pooler_output"] = {0: "batch"}
        return ins, outs, axes
    ins = ["input_ids"]
    outs = ["logits"] + [f"present.{k}" for k in kv]
    axes = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    if spec.graph == "decode":
        ins += [f"past_key_values.{k}" for k in kv]
        axes.update({f"past_key_values.{k}": {0: "batch", 2: "past_seq"} for k in kv})
        axes.update({f"present.{k}": {0: "batch", 2: "total_seq"} for k in kv})
    else:
        axes.update({f"present.{k}": {0: "batch", 2: "seq"} for k in kv})
    return ins, outs, axes


def dynamo_shapes(spec: ModelSpec, ins: list) -> dict:
    """torch.export dynamic shapes of the wrappers' arguments."""
    batch, seq = torch.export.Dim("batch"), torch.export.Dim("seq")
    if spec.family == "bert":
        return {n: {0: batch, 1: seq} for n in ins}
    shapes = {"input_ids": {0: batch, 1: seq}}
    if spec.graph == "decode":
        past = torch.export.Dim("past_seq")
        shapes["past"] = tuple({0: batch, 2: past} for _ in ins[1:])  # Decode's *past
    return shapes


def sample_inputs(spec: ModelSpec, rc: dict, batch: int, seq: int, past: int, seed: int,
                  names=None) -> dict:
    """Inputs for `names` (default: the torch wrappers' signature, plus what
    Optimum's graphs take): all-ones masks over past and new tokens (BERT:
    some padding), positions after the past, zero token types, a
    standard-normal KV cache."""
    g = np.random.default_rng(seed)
    feeds = {"input_ids": g.integers(0, rc["vocab"], (batch, seq), dtype=np.int64)}
    if spec.family == "bert":
        mask = np.ones((batch, seq), np.int64)
        mask[0, seq - 2:] = 0  # some padding, so the mask path is exercised
        feeds["attention_mask"] = mask
        feeds["token_type_ids"] = np.zeros((batch, seq), np.int64)
    elif spec.graph == "decode":
        shape = (batch, rc["kv_heads"], past, rc["head_dim"])
        for i in range(rc["layers"]):
            for kind in ("key", "value"):
                feeds[f"past_key_values.{i}.{kind}"] = g.standard_normal(shape, np.float32)
        feeds["attention_mask"] = np.ones((batch, past + seq), np.int64)
        feeds["position_ids"] = np.broadcast_to(np.arange(past, past + seq, dtype=np.int64),
                                                (batch, seq)).copy()
    if names is None:
        names = signature(spec, rc)[0]
    missing = [n for n in names if n not in feeds]
    if missing:
        raise RuntimeError(f"{spec.name}: no input generator for {missing}")
    return {n: feeds[n] for n in names}


def graph_dims(m) -> dict:
    """{name: {axis: dim_param}} of the graph's inputs and outputs."""
    dims = {}
    for v in list(m.graph.input) + list(m.graph.output):
        axes = {str(a): d.dim_param for a, d in enumerate(v.type.tensor_type.shape.dim)
                if d.dim_param}
        if axes:
            dims[v.name] = axes
    return dims


def torch_outputs(wrapper, spec: ModelSpec, torch_ins: list, torch_outs: list,
                  feeds: dict) -> dict:
    args = [torch.from_numpy(feeds[n]) for n in torch_ins]
    with torch.no_grad():
        if spec.graph == "decode" and args[1].shape[2] == 0:
            # Past length 0 (a prefill through a with-past graph): no cache.
            values = Prefill(wrapper.lm)(args[0])
        else:
            values = wrapper(*args)
    return {n: v.numpy() for n, v in zip(torch_outs, values)}


#===----------------------------------------------------------------------===#
# Exporters
#===----------------------------------------------------------------------===#

def export_torchscript(wrapper, ins, outs, axes, sample, path: Path) -> dict:
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, tuple(torch.from_numpy(sample[n]) for n in ins), str(path),
                          input_names=ins, output_names=outs, dynamic_axes=axes,
                          opset_version=OPSETS["torchscript"], do_constant_folding=True,
                          dynamo=False)
    return dict(call=f"torch.onnx.export(dynamo=False, opset_version={OPSETS['torchscript']}, "
                     "do_constant_folding=True, dynamic_axes)", attn_implementation="eager")


def export_dynamo(wrapper, spec, ins, outs, sample, path: Path) -> dict:
    opset = OPSETS["dynamo"]
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = torch.onnx.export(wrapper, tuple(torch.from_numpy(sample[n]) for n in ins),
                                 input_names=ins, output_names=outs,
                                 dynamic_shapes=dynamo_shapes(spec, ins), opset_version=opset,
                                 dynamo=True, external_data=False, verbose=False)
        prog.save(str(path))
    return dict(call=f"torch.onnx.export(dynamo=True, opset_version={opset}, dynamic_shapes="
                     "torch.export.Dim batch/seq/past_seq)", attn_implementation="eager")


def optimum_task(spec: ModelSpec) -> str:
    return "feature-extraction" if spec.family == "bert" else "text-generation-with-past"


def optimum_worker(hf_dir: str, out: str, task: str) -> int:
    """In .venv-optimum: main_export of the saved model into `out`; prints one
    JSON line of facts (versions, the attention implementation it loaded)."""
    import optimum.version
    from optimum.exporters.onnx import main_export
    from optimum.exporters.tasks import TasksManager
    from optimum.utils import logging as optimum_logging

    # Without accelerate Optimum skips its dedup of tied weights and warns.
    optimum_logging.set_verbosity_error()
    loaded, orig = {}, TasksManager.get_model_from_task

    def get_model(*a, **kw):
        mdl = orig(*a, **kw)
        loaded["attn"] = mdl.config._attn_implementation
        return mdl

    TasksManager.get_model_from_task = staticmethod(get_model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        main_export(hf_dir, out, task=task, library_name="transformers", local_files_only=True,
                    device="cpu", do_validation=False)
    try:
        from importlib.metadata import version
        optimum_onnx = version("optimum-onnx")
    except Exception:  # noqa: BLE001
        optimum_onnx = None
    print(json.dumps(dict(optimum=optimum.version.__version__, optimum_onnx=optimum_onnx,
                          transformers=transformers.__version__, torch=torch.__version__,
                          attn=loaded.get("attn"))))
    return 0


def export_optimum(spec: ModelSpec, model, path: Path, python: Path):
    """save_pretrained of `model`, main_export by `python` (.venv-optimum);
    returns (export facts, the PyTorch wrapper of the saved model loaded as
    Optimum loaded it)."""
    if not python.exists():
        raise RuntimeError(f"no {python} (bash scripts/setup-export.sh)")
    task = optimum_task(spec)
    with tempfile.TemporaryDirectory(prefix="kiln-bench-optimum-") as tmpd:
        hf_dir, onnx_dir = Path(tmpd) / "hf", Path(tmpd) / "onnx"
        model.save_pretrained(hf_dir)
        env = dict(os.environ, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
        proc = subprocess.run([str(python), str(Path(__file__).resolve()), "--optimum-worker",
                               str(hf_dir), str(onnx_dir), task], capture_output=True, text=True,
                              env=env)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
            raise RuntimeError(f"Optimum export failed (exit {proc.returncode}): {tail}")
        facts = json.loads(proc.stdout.strip().splitlines()[-1])
        written = sorted(p.name for p in onnx_dir.iterdir() if ".onnx" in p.name)
        if written != ["model.onnx"]:
            raise RuntimeError(f"Optimum wrote {written}, expected model.onnx alone")
        shutil.move(str(onnx_dir / "model.onnx"), str(path))
        # The PyTorch side: the saved model with the attention Optimum used.
        cls = type(model)
        loaded = cls.from_pretrained(hf_dir, attn_implementation=facts["attn"],
                                     local_files_only=True).eval()
    wrapper = Encoder(loaded) if spec.family == "bert" else Decode(loaded)
    info = dict(call=f"optimum.exporters.onnx.main_export(task={task!r})", optimum_task=task,
                attn_implementation=facts["attn"],
                optimum=dict(optimum=facts["optimum"], optimum_onnx=facts["optimum_onnx"],
                             transformers=facts["transformers"], torch=facts["torch"]))
    return info, wrapper.eval()


#===----------------------------------------------------------------------===#
# Export and check
#===----------------------------------------------------------------------===#

def export_one(spec: ModelSpec, out_dir: Path, exporter: str, optimum_python: Path) -> dict:
    t0 = time.perf_counter()
    cfg, model, wrapper = build(spec)
    rc = resolved_config(spec, cfg)
    torch_ins, torch_outs, axes = signature(spec, rc)
    sample = sample_inputs(spec, rc, **EXPORT_SHAPE, seed=1)
    path = out_dir / f"{spec.name}.onnx"
    tmp = path.with_suffix(".onnx.tmp")
    tmp.unlink(missing_ok=True)
    if exporter == "torchscript":
        info = export_torchscript(wrapper, torch_ins, torch_outs, axes, sample, tmp)
        ref_wrapper = wrapper
    elif exporter == "dynamo":
        info = export_dynamo(wrapper, spec, torch_ins, torch_outs, sample, tmp)
        ref_wrapper = wrapper
    else:
        info, ref_wrapper = export_optimum(spec, model, tmp, optimum_python)
    t_export = time.perf_counter() - t0

    m = onnx.load(str(tmp))
    onnx.checker.check_model(m)
    init_bytes = sum(onnx.numpy_helper.to_array(t).nbytes for t in m.graph.initializer)
    ops = collections.Counter(n.op_type for n in m.graph.node)
    opset = next((o.version for o in m.opset_import if o.domain in ("", "ai.onnx")), None)
    ins = [i.name for i in m.graph.input]
    outs = [o.name for o in m.graph.output]
    unknown = [n for n in outs if n not in torch_outs]
    if unknown:
        raise RuntimeError(f"{spec.name}: graph outputs {unknown} have no PyTorch counterpart")

    shapes = [CHECK_SHAPE]
    if spec.graph == "decode":
        shapes.append(DECODE_CHECK_SHAPE)
        if exporter == "optimum":
            shapes.append(PAST0_CHECK_SHAPE)
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    errs = {}
    for k, shape in enumerate(shapes):
        feeds = sample_inputs(spec, rc, **shape, seed=2 + k, names=sorted(set(ins) | set(torch_ins)))
        got = dict(zip(outs, sess.run(outs, {n: feeds[n] for n in ins})))
        want = torch_outputs(ref_wrapper, spec, torch_ins, torch_outs, feeds)
        where = "batch {batch}, seq {seq}, past {past}".format(**shape)
        for name in outs:
            g, w = got[name], want[name]
            if g.shape != w.shape:
                raise RuntimeError(f"{spec.name}: ORT output {name} has shape {g.shape}, "
                                   f"PyTorch {w.shape} ({where}); the export baked in a dim")
            errs[name] = max(errs.get(name, 0.0), float(np.abs(g - w).max()))
        worst = max(errs, key=errs.get)
        if errs[worst] > CHECK_ATOL:
            raise RuntimeError(f"{spec.name}: ORT disagrees with PyTorch on {worst} ({where}): "
                               f"max abs err {errs[worst]:.2e} > {CHECK_ATOL}")
    del sess
    tmp.replace(path)

    manifest = dict(
        model=spec.name, family=spec.family, graph=spec.graph, description=spec.description,
        exporter=exporter, export=info,
        hf_config_class=type(cfg).__name__, hf_config_overrides=spec.hf_config,
        config=rc, params=param_counts(wrapper, spec, pooler=spec.family != "bert"
                                       or "pooler_output" in outs),
        opset=opset, onnx_bytes=path.stat().st_size, initializer_bytes=init_bytes,
        nodes=len(m.graph.node), op_histogram=dict(ops.most_common()),
        inputs=ins, outputs=outs, dynamic_axes=graph_dims(m),
        export_shape=EXPORT_SHAPE, check_shapes=shapes, ort_vs_torch_max_abs_err=errs[worst],
        ort_vs_torch_max_abs_err_per_output=errs,
        export_seconds=round(t_export, 1), seed=0,
        versions=dict(torch=torch.__version__, transformers=transformers.__version__,
                      onnx=onnx.__version__, onnxruntime=ort.__version__))
    (out_dir / f"{spec.name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description="Export the benchmark models to ONNX.")
    ap.add_argument("names", nargs="*", help=f"models to export (default all: {' '.join(MODELS)}); "
                    "with --exporter optimum the causal ones map to FAMILY_with_past")
    ap.add_argument("--exporter", choices=EXPORTERS, default=DEFAULT_EXPORTER,
                    help=f"default {DEFAULT_EXPORTER}")
    ap.add_argument("--out", type=Path, help="default build/bench/models (build/bench/tiny/models); "
                    "for dynamo and optimum build/bench[/tiny]/EXPORTER/models")
    ap.add_argument("--tiny", action="store_true", help="toy-size models (configs.TINY)")
    ap.add_argument("--force", action="store_true", help="re-export models that exist")
    ap.add_argument("--optimum-python", type=Path, default=OPTIMUM_PYTHON,
                    help="the Python with optimum-onnx (default .venv-optimum/bin/python)")
    ap.add_argument("--optimum-worker", nargs=3, metavar=("HF_DIR", "OUT", "TASK"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.optimum_worker:
        return optimum_worker(*args.optimum_worker)
    transformers.utils.logging.disable_progress_bar()
    unknown = [n for n in args.names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {' '.join(unknown)}; known: {' '.join(MODELS)}")
    args.out = args.out or bench_dir(ROOT, args.tiny, args.exporter) / "models"
    args.out.mkdir(parents=True, exist_ok=True)
    status = 0
    specs = {}
    for name in args.names or list(MODELS):
        spec = export_spec(args.exporter, tiny(MODELS[name]) if args.tiny else MODELS[name])
        specs.setdefault(spec.name, spec)
    for name, spec in specs.items():
        onnx_path, json_path = args.out / f"{name}.onnx", args.out / f"{name}.json"
        if onnx_path.exists() and json_path.exists() and not args.force:
            print(f"export: {name}: cached ({onnx_path})", flush=True)
            continue
        try:
            man = export_one(spec, args.out, args.exporter, args.optimum_python)
        except Exception as e:  # report and go on with the other models
            print(f"export: {name}: FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            status = 1
            continue
        print(f"export: {name} ({args.exporter}): {man['onnx_bytes'] / 2**20:.0f} MiB, opset "
              f"{man['opset']}, {man['nodes']} nodes, {man['params']['total'] / 1e6:.1f} M params, "
              f"ORT vs PyTorch {man['ort_vs_torch_max_abs_err']:.1e}, {man['export_seconds']} s",
              flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
