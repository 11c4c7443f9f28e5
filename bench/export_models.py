#!/usr/bin/env python3
#===- bench/export_models.py - export the benchmark models to ONNX -------===#
#
# Run with the heavy venv (torch, transformers):
#   .venv-export/bin/python bench/export_models.py [--out DIR] [--tiny] [NAME...]
#
# Builds each model of bench/configs.py from a Hugging Face config object with
# random weights (seed 0, HF's own init; no hub access), exports it with the
# TorchScript exporter (torch.onnx.export dynamo=False, opset 17, constant
# folding, eager attention) with symbolic batch/seq/past axes as real
# exporters write them, and checks ONNX Runtime against PyTorch at a shape
# other than the export sample (so a dim that tracing baked in shows up).
#
# Writes, per model NAME:
#   NAME.onnx   graph and weights in one file
#   NAME.json   resolved config, parameter counts for the roofline, op
#               histogram, signature, ORT-vs-PyTorch error
# A model whose .onnx and .json both exist is skipped unless --force.
#
# Graph signatures (names as optimum / the fixture models write them):
#   encoder  input_ids, attention_mask, token_type_ids [batch, seq] int64
#            -> last_hidden_state [batch, seq, H], pooler_output [batch, H]
#   prefill  input_ids [batch, seq] -> logits [batch, seq, V],
#            present.{i}.{key,value} [batch, kv_heads, seq, head_dim]
#   decode   input_ids [batch, seq], past_key_values.{i}.{key,value}
#            [batch, kv_heads, past_seq, head_dim] -> logits,
#            present.{i}.{key,value} [batch, kv_heads, past_seq + seq, head_dim]
#
#===----------------------------------------------------------------------===#
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import argparse
import collections
import json
import sys
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
from configs import MODELS, OPSET, ModelSpec, tiny  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

# Export with one shape and check at another: a traced constant that should
# have been symbolic then fails the check instead of the benchmark.
EXPORT_SHAPE = dict(batch=2, seq=7, past=5)
CHECK_SHAPE = dict(batch=3, seq=4, past=9)
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


def param_counts(model: torch.nn.Module, spec: ModelSpec) -> dict:
    """Parameters by how the forward pass touches them.

    linear_per_token: weights of every matmul applied to each token;
    linear_per_sequence: BERT's pooler, applied to the first token only;
    streamed: every parameter a forward pass reads in full, i.e. all but
    embedding tables that are only gathered from (a table tied to the LM head
    is read in full and counts).
    """
    from transformers.pytorch_utils import Conv1D

    per_token, per_seq, streamed, seen = 0, 0, 0, set()
    for name, mod in model.named_modules():
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


def sample_inputs(spec: ModelSpec, rc: dict, batch: int, seq: int, past: int, seed: int) -> dict:
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
    return feeds


def export_one(spec: ModelSpec, out_dir: Path) -> dict:
    t0 = time.perf_counter()
    cfg, model, wrapper = build(spec)
    rc = resolved_config(spec, cfg)
    ins, outs, axes = signature(spec, rc)
    sample = sample_inputs(spec, rc, **EXPORT_SHAPE, seed=1)
    path = out_dir / f"{spec.name}.onnx"
    tmp = path.with_suffix(".onnx.tmp")
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, tuple(torch.from_numpy(sample[n]) for n in ins), str(tmp),
                          input_names=ins, output_names=outs, dynamic_axes=axes,
                          opset_version=OPSET, do_constant_folding=True, dynamo=False)
    t_export = time.perf_counter() - t0

    m = onnx.load(str(tmp))
    onnx.checker.check_model(m)
    init_bytes = sum(onnx.numpy_helper.to_array(t).nbytes for t in m.graph.initializer)
    ops = collections.Counter(n.op_type for n in m.graph.node)

    feeds = sample_inputs(spec, rc, **CHECK_SHAPE, seed=2)
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = sess.run(outs, feeds)
    with torch.no_grad():
        want = wrapper(*(torch.from_numpy(feeds[n]) for n in ins))
    errs = {}
    for name, g, w in zip(outs, got, want):
        w = w.numpy()
        if g.shape != w.shape:
            raise RuntimeError(f"{spec.name}: ORT output {name} has shape {g.shape}, "
                               f"PyTorch {w.shape}; the export baked in a dim")
        errs[name] = float(np.abs(g - w).max())
    worst = max(errs, key=errs.get)
    if errs[worst] > CHECK_ATOL:
        raise RuntimeError(f"{spec.name}: ORT disagrees with PyTorch on {worst}: "
                           f"max abs err {errs[worst]:.2e} > {CHECK_ATOL}")
    del sess
    tmp.replace(path)

    manifest = dict(
        model=spec.name, family=spec.family, graph=spec.graph, description=spec.description,
        hf_config_class=type(cfg).__name__, hf_config_overrides=spec.hf_config,
        config=rc, params=param_counts(wrapper, spec), opset=OPSET,
        onnx_bytes=path.stat().st_size, initializer_bytes=init_bytes,
        nodes=len(m.graph.node), op_histogram=dict(ops.most_common()),
        inputs=ins, outputs=outs, dynamic_axes={k: {str(a): v for a, v in d.items()}
                                                for k, d in axes.items()},
        export_shape=EXPORT_SHAPE, check_shape=CHECK_SHAPE, ort_vs_torch_max_abs_err=errs[worst],
        export_seconds=round(t_export, 1), seed=0,
        versions=dict(torch=torch.__version__, transformers=transformers.__version__,
                      onnx=onnx.__version__, onnxruntime=ort.__version__))
    (out_dir / f"{spec.name}.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main() -> int:
    ap = argparse.ArgumentParser(description="Export the benchmark models to ONNX.")
    ap.add_argument("names", nargs="*", help=f"models to export (default all: {' '.join(MODELS)})")
    ap.add_argument("--out", type=Path, help="default build/bench/models (build/bench/tiny/models)")
    ap.add_argument("--tiny", action="store_true", help="toy-size models (configs.TINY)")
    ap.add_argument("--force", action="store_true", help="re-export models that exist")
    args = ap.parse_args()
    unknown = [n for n in args.names if n not in MODELS]
    if unknown:
        ap.error(f"unknown model(s) {' '.join(unknown)}; known: {' '.join(MODELS)}")
    args.out = args.out or ROOT / "build" / "bench" / ("tiny" if args.tiny else "") / "models"
    args.out.mkdir(parents=True, exist_ok=True)
    status = 0
    for name in args.names or list(MODELS):
        spec = tiny(MODELS[name]) if args.tiny else MODELS[name]
        onnx_path, json_path = args.out / f"{name}.onnx", args.out / f"{name}.json"
        if onnx_path.exists() and json_path.exists() and not args.force:
            print(f"export: {name}: cached ({onnx_path})", flush=True)
            continue
        try:
            man = export_one(spec, args.out)
        except Exception as e:  # report and go on with the other models
            print(f"export: {name}: FAILED: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            status = 1
            continue
        print(f"export: {name}: {man['onnx_bytes'] / 2**20:.0f} MiB, {man['nodes']} nodes, "
              f"{man['params']['total'] / 1e6:.1f} M params, ORT vs PyTorch "
              f"{man['ort_vs_torch_max_abs_err']:.1e}, {man['export_seconds']} s", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
