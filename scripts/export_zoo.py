#!/usr/bin/env python3
#===- scripts/export_zoo.py - the model zoo: tiny HF models, 3 exporters --===#
#
# Extended check, not part of CI. Run with the heavy venv (which starts the
# Optimum part in .venv-optimum by itself):
#   bash scripts/setup-export.sh
#   .venv-export/bin/python scripts/export_zoo.py [--only PATTERN] \
#       [--out test/models/zoo] [--force] [--no-optimum]
#
# Builds nine tiny Hugging Face architectures from config objects (2 layers,
# hidden 64, 4 heads of 16, intermediate 128, vocab 256, 128 positions;
# grouped-query attention 4/2 where the architecture has it) with seeded
# random weights (no hub access: HF_HUB_OFFLINE=1), and exports each, with
# attn_implementation eager and sdpa, the ways people export them today:
#   dynamo{N}    torch.onnx.export(dynamo=True, opset N) with torch.export.Dim
#                batch/seq/past_seq/total_seq (N = 18; GPT-2 and Llama sdpa
#                prefill also at 19..23, the opset sweep)
#   torchscript  torch.onnx.export(dynamo=False, opset 17) with dynamic_axes
#   optimum      optimum.exporters.onnx.main_export from a save_pretrained dir
#                (text-generation-with-past / feature-extraction), run as
#                .venv-optimum/bin/python scripts/export_zoo.py --optimum
#                (Optimum pins transformers 4.57); Optimum's names and layout
#
# Graphs of the torch exporters (the wrappers below):
#   encoder  input_ids, attention_mask[, token_type_ids (BERT)] [batch, seq]
#            -> last_hidden_state [batch, seq, 64]
#   prefill  input_ids, attention_mask [batch, seq] -> logits [batch, seq, V],
#            present.{i}.{key,value} [batch, kv_heads, seq, 16]
#   decode   input_ids [batch, seq], attention_mask [batch, total_seq],
#            past_key_values.{i}.{key,value} [batch, kv_heads, past_seq, 16]
#            -> logits, present.{i}.{key,value} [.., past_seq + seq, 16]
# The Optimum decoder graph (named *_decode) is one graph with past inputs
# (some architectures add position_ids); past_seq = 0 makes it a prefill.
#
# Each model is checked in ONNX Runtime (CPU, fp32, one thread) against
# PyTorch at a binding of the symbolic dims other than the export sample, and
# ORT's feeds and outputs are written as the reference:
#   encoder  batch 3, seq 7, attention_mask with 7/5/2 real tokens (right
#            padding), token_type_ids two segments
#   prefill  batch 2, seq 6, attention_mask ones; ref_leftpad/: the same with
#            2 left-padding tokens in row 1 (where ORT and PyTorch agree)
#   decode   batch 2, seq 1, past 5 (past key/values from a real PyTorch
#            prefill of the same model), attention_mask ones [2, 6]
#   optimum  ref_ort/ as decode; ref_prefill/: past 0, seq 6
#
# Writes to --out (default test/models/zoo):
#   <arch>_<exporter>_<attn>_<graph>.onnx         weights inside, no external data
#   ref_ort/<name>/input_<n>.npy, output_<n>.npy, manifest.json
#   ref_prefill/<name>/, ref_leftpad/<name>/      the same, where they apply
#   manifest.json   one entry per model: config, signature with dims, op
#                   histogram, per case the bindings and ORT-vs-PyTorch error,
#                   or why it could not be exported
#   README.md       regenerated from manifest.json
# Deterministic (per-parameter seeds, seeded inputs, one ORT thread);
# idempotent: a model whose .onnx and ref_ort/<name>/manifest.json exist is
# skipped unless --force.
#
#===----------------------------------------------------------------------===#
import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import argparse
import collections
import contextlib
import fnmatch
import io
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
import transformers
from transformers import DynamicCache

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "test" / "models" / "zoo"
OPTIMUM_PY = ROOT / ".venv-optimum" / "bin" / "python"

SEED = 20251205
ATOL = 1e-4  # ORT vs PyTorch, fp32
TORCHSCRIPT_OPSET = 17
DYNAMO_OPSET = 18
SWEEP_OPSETS = (19, 20, 21, 22, 23)  # on top of 18
SWEEP = (("gpt2", "sdpa", "prefill"), ("llama", "sdpa", "prefill"))
ATTNS = ("eager", "sdpa")

# Export samples differ from every reference binding, so a dim that an
# exporter baked in shows up as an ORT error or a mismatch.
EXPORT_SAMPLE = dict(encoder=dict(batch=2, seq=9), prefill=dict(batch=3, seq=9),
                     decode=dict(batch=3, seq=2, past=4))

#===----------------------------------------------------------------------===#
# Architectures
#===----------------------------------------------------------------------===#

# Vocab 256 rather than 512: the zoo is ~90 files, and the embedding and LM
# head dominate a tiny model (512 made the zoo 62 MiB).
VOCAB = 256
DECODER_DIMS = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    num_key_value_heads=2, head_dim=16, intermediate_size=128,
                    max_position_embeddings=128)
ENCODER_DIMS = dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=128, max_position_embeddings=128)


@dataclass(frozen=True)
class Arch:
    name: str
    kind: str  # "encoder" | "decoder"
    config_cls: str
    model_cls: str  # what the torch exporters and Optimum export
    config: dict = field(default_factory=dict)
    inputs: tuple = ("input_ids", "attention_mask")  # encoder inputs
    pad_token_id: int = 0  # for padded positions of input_ids
    note: str = ""


ARCHS = {a.name: a for a in [
    Arch("gpt2", "decoder", "GPT2Config", "GPT2LMHeadModel",
         dict(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_inner=128, n_positions=128),
         note="learned positions, pre-LayerNorm, fused QKV (Conv1D), tanh-GELU, tied LM head, MHA"),
    Arch("bert", "encoder", "BertConfig", "BertModel", dict(ENCODER_DIMS, type_vocab_size=2),
         inputs=("input_ids", "attention_mask", "token_type_ids"),
         note="post-LayerNorm, erf-GELU, token type embeddings"),
    Arch("distilbert", "encoder", "DistilBertConfig", "DistilBertModel",
         dict(vocab_size=VOCAB, dim=64, n_layers=2, n_heads=4, hidden_dim=128,
              max_position_embeddings=128),
         note="BERT without token types, 6 weight matrices per layer named differently"),
    Arch("roberta", "encoder", "RobertaConfig", "RobertaModel",
         dict(ENCODER_DIMS, type_vocab_size=1, pad_token_id=1, bos_token_id=0, eos_token_id=2),
         pad_token_id=1, note="BERT with positions from cumsum(input_ids != pad) + pad"),
    Arch("llama", "decoder", "LlamaConfig", "LlamaForCausalLM", dict(DECODER_DIMS),
         note="RMSNorm, rotary, SwiGLU, GQA 4/2, untied LM head"),
    Arch("qwen2", "decoder", "Qwen2Config", "Qwen2ForCausalLM", dict(DECODER_DIMS),
         note="Llama with q/k/v biases"),
    Arch("mistral", "decoder", "MistralConfig", "MistralForCausalLM", dict(DECODER_DIMS),
         note="Llama with sliding_window 4096 (the config default; longer than any sequence here)"),
    Arch("phi3", "decoder", "Phi3Config", "Phi3ForCausalLM",
         dict(DECODER_DIMS, pad_token_id=0, bos_token_id=1, eos_token_id=2),
         note="fused qkv_proj and gate_up_proj, rotary, SwiGLU"),
    Arch("gemma", "decoder", "GemmaConfig", "GemmaForCausalLM", dict(DECODER_DIMS),
         note="RMSNorm scaling by (1 + w), embeddings scaled by sqrt(hidden), tanh-GELU gate, "
              "tied LM head"),
]}


def init_weights(model: torch.nn.Module):
    """Seeded weights that do not let a bug hide: every parameter N(0, 0.05),
    norm scales 1 + N(0, 0.05) (Gemma stores scale - 1: N(0, 0.05)), biases
    N(0, 0.02). The seed of each parameter is derived from its name, so both
    transformers versions (5.x here, 4.57 under Optimum) get the same weights
    where the names agree."""
    norm_params = {}
    for mname, mod in model.named_modules():
        cls = type(mod).__name__
        if isinstance(mod, torch.nn.LayerNorm) or "Norm" in cls:
            for pname, _ in mod.named_parameters(recurse=False):
                norm_params[f"{mname}.{pname}" if mname else pname] = cls
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters once
            g = torch.Generator().manual_seed(SEED + zlib.crc32(name.encode()))
            noise = torch.randn(p.shape, generator=g, dtype=torch.float32)
            if name in norm_params and name.endswith("weight"):
                value = noise * 0.05 + (0.0 if norm_params[name].startswith("Gemma") else 1.0)
            elif name.endswith("bias"):
                value = noise * 0.02
            else:
                value = noise * 0.05
            p.copy_(value.to(p.dtype))


def build_model(arch: Arch, attn: str):
    torch.manual_seed(SEED)
    cfg = getattr(transformers, arch.config_cls)(**arch.config)
    cfg._attn_implementation = attn
    model = getattr(transformers, arch.model_cls)(cfg)
    init_weights(model)
    model.eval()
    got = model.config._attn_implementation
    if got != attn:
        raise RuntimeError(f"asked for attn_implementation={attn}, the model uses {got}")
    return cfg, model


def kv_layout(cfg):
    """(layers, kv_heads, head_dim) of a decoder config."""
    layers = getattr(cfg, "num_hidden_layers", None) or cfg.n_layer
    heads = getattr(cfg, "num_attention_heads", None) or cfg.n_head
    kv = getattr(cfg, "num_key_value_heads", None) or heads
    hidden = getattr(cfg, "hidden_size", None) or cfg.n_embd
    head_dim = getattr(cfg, "head_dim", None) or hidden // heads
    return layers, kv, head_dim


#===----------------------------------------------------------------------===#
# Wrappers for the torch exporters
#===----------------------------------------------------------------------===#

def flatten_cache(cache) -> list:
    flat = []
    for layer in cache.layers:
        flat += [layer.keys, layer.values]
    return flat


def fill_cache(past) -> DynamicCache:
    cache = DynamicCache()
    for i in range(len(past) // 2):
        cache.update(past[2 * i], past[2 * i + 1], i)
    return cache


class Encoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          return_dict=True).last_hidden_state


class EncoderWithTypes(Encoder):
    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.model(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids, return_dict=True).last_hidden_state


class Prefill(torch.nn.Module):
    """Causal LM over a prompt: logits and the KV cache it fills."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask):
        out = self.lm(input_ids=input_ids, attention_mask=attention_mask,
                      past_key_values=DynamicCache(), use_cache=True, return_dict=True)
        return (out.logits, *flatten_cache(out.past_key_values))


class Decode(torch.nn.Module):
    """One step with the KV cache as flat tensors; attention_mask covers
    past + new tokens."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, attention_mask, *past):
        out = self.lm(input_ids=input_ids, attention_mask=attention_mask,
                      past_key_values=fill_cache(past), use_cache=True, return_dict=True)
        return (out.logits, *flatten_cache(out.past_key_values))


def signature(arch: Arch, graph: str, layers: int):
    kv = [f"{i}.{k}" for i in range(layers) for k in ("key", "value")]
    if graph == "encoder":
        return list(arch.inputs), ["last_hidden_state"]
    ins = ["input_ids", "attention_mask"]
    if graph == "decode":
        ins += [f"past_key_values.{k}" for k in kv]
    return ins, ["logits"] + [f"present.{k}" for k in kv]


#===----------------------------------------------------------------------===#
# Inputs
#===----------------------------------------------------------------------===#

def case_rng(arch: str, case: str) -> np.random.Generator:
    """Same inputs for one architecture across exporters and attentions."""
    return np.random.default_rng([SEED, zlib.crc32(f"{arch}/{case}".encode())])


def token_ids(rng, arch: Arch, vocab: int, batch: int, seq: int) -> np.ndarray:
    # Ids 3.. avoid every architecture's special/pad ids.
    return rng.integers(3, vocab, size=(batch, seq), dtype=np.int64)


def encoder_feeds(rng, arch: Arch, vocab: int, lengths, names) -> dict:
    batch, seq = len(lengths), max(lengths)
    ids = token_ids(rng, arch, vocab, batch, seq)
    mask = np.zeros((batch, seq), np.int64)
    types = np.zeros((batch, seq), np.int64)
    for b, n in enumerate(lengths):
        mask[b, :n] = 1
        ids[b, n:] = arch.pad_token_id
        types[b, (n + 1) // 2:n] = 1  # a sentence pair
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {n: feeds[n] for n in names}


def left_padded_mask(batch: int, seq: int, pad: int, row: int = 1) -> np.ndarray:
    mask = np.ones((batch, seq), np.int64)
    mask[row, :pad] = 0
    return mask


#===----------------------------------------------------------------------===#
# ONNX helpers
#===----------------------------------------------------------------------===#

def dims_of(value_info) -> list:
    out = []
    for d in value_info.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.HasField("dim_param") else
                   (d.dim_value if d.HasField("dim_value") else "?"))
    return out


def describe(m: onnx.ModelProto) -> dict:
    def io(vs):
        return [dict(name=v.name, dtype=onnx.helper.tensor_dtype_to_np_dtype(
            v.type.tensor_type.elem_type).name, dims=dims_of(v)) for v in vs]
    ops = collections.Counter(
        n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}::{n.op_type}"
        for n in m.graph.node)
    sub = sum(1 for n in m.graph.node for a in n.attribute if a.type in (
        onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS))
    return dict(
        opset_imports={(o.domain or "ai.onnx"): o.version for o in m.opset_import},
        ir_version=m.ir_version, producer=f"{m.producer_name} {m.producer_version}".strip(),
        inputs=io(m.graph.input), outputs=io(m.graph.output), nodes=len(m.graph.node),
        nodes_with_subgraphs=sub, initializers=len(m.graph.initializer),
        initializer_bytes=int(sum(onnx.numpy_helper.to_array(t).nbytes
                                  for t in m.graph.initializer)),
        op_histogram=dict(sorted(ops.items(), key=lambda kv: (-kv[1], kv[0]))))


def check_inline(path: Path):
    """Weights inside the .onnx: no tensor with external data."""
    m = onnx.load(str(path), load_external_data=False)
    ext = [t.name for t in m.graph.initializer
           if t.data_location == onnx.TensorProto.EXTERNAL]
    if ext:
        raise RuntimeError(f"{path.name}: {len(ext)} initializers use external data")
    onnx.checker.check_model(m)
    return m


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 4  # failures are caught and recorded
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def bindings(m_desc: dict, feeds: dict, outs: dict) -> dict:
    """Symbol -> value, read off the arrays of one case."""
    b = {}
    for side, arrays in (("inputs", feeds), ("outputs", outs)):
        for v in m_desc[side]:
            for sym, n in zip(v["dims"], arrays[v["name"]].shape):
                if isinstance(sym, str):
                    if b.get(sym, n) != n:
                        raise RuntimeError(f"{sym} bound to {b[sym]} and {n}")
                    b[sym] = int(n)
    return b


def max_err(name: str, got: dict, want: dict) -> dict:
    """Per output max abs error; raises on a shape mismatch or NaN."""
    errs = {}
    for k, w in want.items():
        g = got[k]
        if g.shape != w.shape:
            raise RuntimeError(f"{name}: ORT output {k} has shape {g.shape}, PyTorch "
                               f"{w.shape}; the export baked in a dim")
        if np.isnan(g).any() or np.isnan(w).any():
            raise RuntimeError(f"{name}: NaN in output {k} (ORT {np.isnan(g).sum()}, "
                               f"PyTorch {np.isnan(w).sum()})")
        errs[k] = float(np.abs(g.astype(np.float64) - w).max()) if g.size else 0.0
    return errs


def run_case(name: str, sess, m_desc: dict, feeds: dict, torch_fn, real=None) -> tuple:
    """ORT and PyTorch on one case -> (ORT outputs, errors, bindings).

    With real (a [batch, seq] mask of a padded prefill) the errors are taken at
    the real tokens only, and the largest error at padded positions is
    returned as errs["(padded positions)"]: a query row whose keys are all
    masked has no meaning, and PyTorch's fused SDPA (zeros) and the exported
    Softmax (uniform weights) differ there."""
    names = [o.name for o in sess.get_outputs()]
    got = dict(zip(names, sess.run(names, feeds)))
    with torch.no_grad():
        want = {k: v.detach().numpy() for k, v in torch_fn(feeds).items()}
    missing = set(names) - set(want)
    if missing:
        raise RuntimeError(f"{name}: no PyTorch value for {sorted(missing)}")
    if real is None:
        errs = max_err(name, got, want)
    else:
        errs, pad = {}, 0.0
        for k in names:
            axis = 1 if k == "logits" else 2  # present.*: [batch, heads, seq, dim]
            sel = np.moveaxis(real.astype(bool), 1, 0)  # [seq, batch]
            g, w = np.moveaxis(got[k], axis, 1), np.moveaxis(want[k], axis, 1)
            g, w = np.moveaxis(g, 0, 1), np.moveaxis(w, 0, 1)  # [seq, batch, ...]
            errs.update(max_err(name, {k: g[sel]}, {k: w[sel]}))
            if np.isnan(g).any():
                raise RuntimeError(f"{name}: NaN in ORT output {k}")
            diff = np.abs(g[~sel].astype(np.float64) - w[~sel])
            pad = max(pad, float(np.nanmax(diff)) if diff.size else 0.0)
        errs["(padded positions)"] = pad
    return got, errs, bindings(m_desc, feeds, got)


def write_case(case_dir: Path, name: str, feeds: dict, outs: dict, errs: dict,
               bind: dict, what: str, extra: dict = None):
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    for k, v in feeds.items():
        np.save(case_dir / f"input_{k}.npy", v)
    for k, v in outs.items():
        np.save(case_dir / f"output_{k}.npy", v)
    man = dict(model=f"{name}.onnx", case=what,
               inputs={k: list(v.shape) for k, v in feeds.items()},
               outputs={k: list(v.shape) for k, v in outs.items()},
               bindings=bind, ort_vs_torch_max_abs_err=errs[worst_of(errs)],
               ort_vs_torch_per_output=errs,
               generator=f"onnxruntime {ort.__version__} CPUExecutionProvider, fp32, 1 thread",
               seed=SEED, **(extra or {}))
    (case_dir / "manifest.json").write_text(json.dumps(man, indent=1) + "\n")


def worst_of(errs: dict) -> str:
    return max((k for k in errs if not k.startswith("(")), key=errs.get)


def case_entry(errs: dict, bind: dict, feeds: dict, extra: dict = None) -> dict:
    worst = worst_of(errs)
    e = dict(bindings=bind, input_shapes={k: list(v.shape) for k, v in feeds.items()},
             ort_vs_torch_max_abs_err=errs[worst], worst_output=worst,
             ok=errs[worst] <= ATOL, **(extra or {}))
    if "(padded positions)" in errs:
        e["ort_vs_torch_at_padded_positions"] = errs["(padded positions)"]
    return e


def error_text(e: BaseException) -> str:
    lines = [ln.strip() for ln in str(e).splitlines() if ln.strip()]
    return f"{type(e).__name__}: {' '.join(lines)[:600]}"


def make_case(name, sess, m_desc, feeds, torch_fn, what, real=None, row=0) -> tuple:
    """run_case -> (feeds, ORT outputs, errors, bindings, description, note).

    Where ONNX Runtime itself fails at the case's batch (an exported graph
    that ORT runs only at batch 1), the case falls back to the one row `row`
    of the same inputs, and the note says why."""
    try:
        got, errs, bind = run_case(name, sess, m_desc, feeds, torch_fn, real)
        return feeds, got, errs, bind, what, None
    except Exception as e:
        batch = feeds["input_ids"].shape[0]
        if not type(e).__module__.startswith("onnxruntime") or batch == 1 or real is not None:
            raise
        one = {k: v[row:row + 1].copy() for k, v in feeds.items()}
        got, errs, bind = run_case(name, sess, m_desc, one, torch_fn)
        note = (f"batch 1 (row {row} of the case): ONNX Runtime fails at batch {batch}: "
                f"{error_text(e)}")
        return one, got, errs, bind, what, note


@contextlib.contextmanager
def quiet():
    """The exporters print progress and many warnings; keep the log short."""
    buf = io.StringIO()
    with warnings.catch_warnings(), contextlib.redirect_stdout(buf):
        warnings.simplefilter("ignore")
        try:
            yield buf
        except BaseException:
            sys.stderr.write(buf.getvalue()[-4000:])
            raise


#===----------------------------------------------------------------------===#
# Jobs
#===----------------------------------------------------------------------===#

@dataclass(frozen=True)
class Job:
    arch: str
    exporter: str  # dynamo18..dynamo23 | torchscript | optimum
    attn: str
    graph: str  # encoder | prefill | decode

    @property
    def name(self) -> str:
        return f"{self.arch}_{self.exporter}_{self.attn}_{self.graph}"

    @property
    def opset(self):
        if self.exporter.startswith("dynamo"):
            return int(self.exporter[len("dynamo"):])
        return TORCHSCRIPT_OPSET if self.exporter == "torchscript" else None


def all_jobs() -> list:
    jobs = []
    for arch in ARCHS.values():
        graphs = ("encoder",) if arch.kind == "encoder" else ("prefill", "decode")
        for exporter in (f"dynamo{DYNAMO_OPSET}", "torchscript"):
            for attn in ATTNS:
                jobs += [Job(arch.name, exporter, attn, g) for g in graphs]
    for arch, attn, graph in SWEEP:
        jobs += [Job(arch, f"dynamo{o}", attn, graph) for o in SWEEP_OPSETS]
    for arch in ARCHS.values():
        for attn in ATTNS:
            jobs.append(Job(arch.name, "optimum", attn,
                            "encoder" if arch.kind == "encoder" else "decode"))
    return jobs


def select(jobs, pattern):
    if not pattern:
        return jobs
    pats = [p if any(c in p for c in "*?[") else f"*{p}*" for p in pattern.split(",")]
    return [j for j in jobs if any(fnmatch.fnmatchcase(j.name, p) for p in pats)]


#===----------------------------------------------------------------------===#
# torch.onnx.export (dynamo and TorchScript)
#===----------------------------------------------------------------------===#

def torch_export(job: Job, wrapper, args, ins, outs, path: Path, layers: int):
    kv = [n for n in ins if n.startswith("past_key_values.")]
    if job.exporter == "torchscript":
        axes = {n: {0: "batch", 1: "seq"} for n in ins[:2] + outs[:1]}
        if job.graph == "decode":
            axes["attention_mask"] = {0: "batch", 1: "total_seq"}
            axes.update({n: {0: "batch", 2: "past_seq"} for n in kv})
            axes.update({n: {0: "batch", 2: "total_seq"} for n in outs[1:]})
        elif job.graph == "prefill":
            axes.update({n: {0: "batch", 2: "seq"} for n in outs[1:]})
        else:
            axes.update({n: {0: "batch", 1: "seq"} for n in ins})
        torch.onnx.export(wrapper, args, str(path), input_names=ins, output_names=outs,
                          dynamic_axes=axes, opset_version=job.opset,
                          do_constant_folding=True, dynamo=False)
        return
    Dim = torch.export.Dim
    batch, seq = Dim("batch"), Dim("seq")
    if job.graph == "decode":
        shapes = ({0: batch, 1: seq}, {0: batch, 1: Dim("total_seq")},
                  tuple({0: batch, 2: Dim("past_seq")} for _ in kv))
    else:
        shapes = tuple({0: batch, 1: seq} for _ in ins)
    prog = torch.onnx.export(wrapper, args, input_names=ins, output_names=outs,
                             dynamic_shapes=shapes, opset_version=job.opset, dynamo=True,
                             external_data=False)
    prog.save(str(path), external_data=False)


def export_torch(job: Job, out: Path) -> dict:
    arch = ARCHS[job.arch]
    cfg, model = build_model(arch, job.attn)
    vocab = cfg.vocab_size
    layers, kv_heads, head_dim = kv_layout(cfg) if arch.kind == "decoder" else (0, 0, 0)
    ins, outs = signature(arch, job.graph, layers)
    if job.graph == "encoder":
        wrapper = (EncoderWithTypes if "token_type_ids" in ins else Encoder)(model).eval()
    elif job.graph == "prefill":
        wrapper = Prefill(model).eval()
    else:
        wrapper = Decode(model).eval()

    # Export sample: padding in it, so the mask path is traced as data flow.
    s = EXPORT_SAMPLE[job.graph]
    rng = case_rng(job.arch, "export")
    if job.graph == "encoder":
        lengths = [s["seq"]] + [s["seq"] - 3] * (s["batch"] - 1)
        sample = encoder_feeds(rng, arch, vocab, lengths, ins)
        args = tuple(torch.from_numpy(sample[n]) for n in ins)
    elif job.graph == "prefill":
        args = (torch.from_numpy(token_ids(rng, arch, vocab, s["batch"], s["seq"])),
                torch.from_numpy(left_padded_mask(s["batch"], s["seq"], 1)))
    else:
        past = tuple(torch.from_numpy(rng.standard_normal(
            (s["batch"], kv_heads, s["past"], head_dim)).astype(np.float32))
            for _ in range(2 * layers))
        args = (torch.from_numpy(token_ids(rng, arch, vocab, s["batch"], s["seq"])),
                torch.from_numpy(left_padded_mask(s["batch"], s["past"] + s["seq"], 1)),
                *past)

    path = out / f"{job.name}.onnx"
    tmp = out / f".{job.name}.onnx.tmp"
    with torch.no_grad(), quiet():
        torch_export(job, wrapper, args, ins, outs, tmp, layers)
    m = check_inline(tmp)
    desc = describe(m)
    sess = session(tmp)

    def torch_fn(feeds):
        res = wrapper(*(torch.from_numpy(feeds[n]) for n in ins))
        res = res if isinstance(res, tuple) else (res,)
        return dict(zip(outs, res))

    cases = {}
    if job.graph == "encoder":
        feeds = encoder_feeds(case_rng(job.arch, "encoder"), arch, vocab, [7, 5, 2], ins)
        cases["ref_ort"] = make_case(job.name, sess, desc, feeds, torch_fn,
                                     "encoder: batch 3, seq 7, 7/5/2 real tokens", row=1)
    elif job.graph == "prefill":
        rng = case_rng(job.arch, "prefill")
        feeds = {"input_ids": token_ids(rng, arch, vocab, 2, 6),
                 "attention_mask": np.ones((2, 6), np.int64)}
        cases["ref_ort"] = make_case(job.name, sess, desc, feeds, torch_fn,
                                     "prefill: batch 2, seq 6, mask ones")
        feeds = dict(feeds, attention_mask=left_padded_mask(2, 6, 2))
        try:
            cases["ref_leftpad"] = make_case(
                job.name, sess, desc, feeds, torch_fn, "prefill: batch 2, seq 6, row 1 "
                "left-padded by 2; ORT vs PyTorch at the real tokens", real=feeds["attention_mask"])
        except Exception as e:
            cases["ref_leftpad"] = error_text(e)
    else:
        rng = case_rng(job.arch, "decode")
        prompt = token_ids(rng, arch, vocab, 2, 5)
        with torch.no_grad():
            pre = Prefill(model)(torch.from_numpy(prompt), torch.ones((2, 5), dtype=torch.int64))
        feeds = {"input_ids": token_ids(rng, arch, vocab, 2, 1),
                 "attention_mask": np.ones((2, 6), np.int64)}
        feeds.update({n: t.numpy().copy() for n, t in zip(ins[2:], pre[1:])})
        cases["ref_ort"] = make_case(job.name, sess, desc, feeds, torch_fn, "decode: batch 2, "
                                     "seq 1, past 5 from a real prefill, mask ones [2, 6]")
    del sess
    return finish(job, out, tmp, path, desc, cases, cfg,
                  dict(torch=torch.__version__, transformers=transformers.__version__,
                       onnx=onnx.__version__, onnxscript=_version("onnxscript"),
                       onnxruntime=ort.__version__))


def _version(mod: str):
    try:
        return __import__(mod).__version__
    except Exception:
        return None


def finish(job, out, tmp, path, desc, cases, cfg, versions) -> dict:
    """Write the reference dirs, move the model in place, return the entry."""
    entry_cases, ok = {}, True
    for kind, case in cases.items():
        case_dir = out / kind / job.name
        if isinstance(case, str):  # a case that could not be made
            entry_cases[kind] = dict(skipped=case)
            if case_dir.exists():
                shutil.rmtree(case_dir)
            continue
        feeds, got, errs, bind, what, note = case
        entry_cases[kind] = case_entry(errs, bind, feeds, dict(description=what))
        if note:
            entry_cases[kind]["note"] = note
        if kind == "ref_leftpad" and not entry_cases[kind]["ok"]:
            entry_cases[kind] = dict(skipped=f"ORT and PyTorch disagree by "
                                     f"{entry_cases[kind]['ort_vs_torch_max_abs_err']:.2e}")
            if case_dir.exists():
                shutil.rmtree(case_dir)
            continue
        ok &= entry_cases[kind]["ok"]
        write_case(case_dir, job.name, feeds, got, errs, bind, what,
                   dict(note=note) if note else None)
    tmp.replace(path)
    worst = max((c["ort_vs_torch_max_abs_err"] for k, c in entry_cases.items()
                 if "ort_vs_torch_max_abs_err" in c), default=None)
    return dict(
        name=job.name, file=path.name, arch=job.arch, exporter=job.exporter,
        opset=desc["opset_imports"].get("ai.onnx"), attn=job.attn, graph=job.graph,
        status="ok" if ok else "mismatch", file_bytes=path.stat().st_size,
        ort_vs_torch_max_abs_err=worst, cases=entry_cases,
        hf_config_class=type(cfg).__name__, hf_config=ARCHS[job.arch].config,
        architecture=ARCHS[job.arch].note, seed=SEED, versions=versions, **desc)


#===----------------------------------------------------------------------===#
# Optimum (runs in .venv-optimum)
#===----------------------------------------------------------------------===#

def export_optimum(job: Job, out: Path) -> dict:
    import optimum.version
    from optimum.exporters.onnx import main_export
    from optimum.exporters.tasks import TasksManager
    from optimum.utils import logging as optimum_logging

    # Without accelerate, Optimum skips the deduplication of tied weights and
    # warns each time; the duplicate is recorded in the README instead.
    optimum_logging.set_verbosity_error()

    arch = ARCHS[job.arch]
    cfg, model = build_model(arch, job.attn)
    vocab = cfg.vocab_size
    task = "feature-extraction" if arch.kind == "encoder" else "text-generation-with-past"
    with tempfile.TemporaryDirectory(prefix="kiln-zoo-") as tmpd:
        hf_dir, onnx_dir = Path(tmpd) / "hf", Path(tmpd) / "onnx"
        model.save_pretrained(hf_dir)
        del model
        # main_export hands model_kwargs to the patched forward, not to
        # from_pretrained, and the saved config does not carry the attention
        # implementation (4.57 loads sdpa whatever is asked). So the loader is
        # wrapped: it gets attn_implementation, and what was really used is
        # checked.
        loaded = {}
        orig = TasksManager.get_model_from_task

        def get_model(*a, **kw):
            kw["attn_implementation"] = job.attn
            mdl = orig(*a, **kw)
            loaded["attn"] = mdl.config._attn_implementation
            return mdl

        TasksManager.get_model_from_task = staticmethod(get_model)
        try:
            with quiet():
                main_export(str(hf_dir), onnx_dir, task=task, local_files_only=True,
                            device="cpu", do_validation=False)
        finally:
            TasksManager.get_model_from_task = staticmethod(orig)
        if loaded.get("attn") != job.attn:
            raise RuntimeError(f"Optimum loaded attn_implementation={loaded.get('attn')}, "
                               f"asked for {job.attn}")
        written = sorted(p.name for p in onnx_dir.iterdir() if p.suffix.startswith(".onnx")
                         or "onnx_data" in p.name)
        if written != ["model.onnx"]:
            raise RuntimeError(f"Optimum wrote {written}, expected model.onnx alone")
        path = out / f"{job.name}.onnx"
        tmp = out / f".{job.name}.onnx.tmp"
        shutil.copyfile(onnx_dir / "model.onnx", tmp)
        # The PyTorch side: the saved model, loaded as Optimum loaded it.
        cls = getattr(transformers, arch.model_cls)
        model = cls.from_pretrained(hf_dir, attn_implementation=job.attn,
                                    local_files_only=True).eval()

    m = check_inline(tmp)
    desc = describe(m)
    sess = session(tmp)
    in_names = [i["name"] for i in desc["inputs"]]
    out_names = [o["name"] for o in desc["outputs"]]

    if arch.kind == "encoder":
        def torch_fn(feeds):
            o = model(**{k: torch.from_numpy(v) for k, v in feeds.items()}, return_dict=True)
            return {n: getattr(o, n) for n in out_names}

        feeds = encoder_feeds(case_rng(job.arch, "encoder"), arch, vocab, [7, 5, 2], in_names)
        cases = {"ref_ort": make_case(job.name, sess, desc, feeds, torch_fn,
                                      "encoder: batch 3, seq 7, 7/5/2 real tokens", row=1)}
    else:
        layers, kv_heads, head_dim = kv_layout(cfg)
        past_names = [n for n in in_names if n.startswith("past_key_values.")]

        def torch_fn(feeds):
            kw = {k: torch.from_numpy(v) for k, v in feeds.items()
                  if not k.startswith("past_key_values.")}
            past = [torch.from_numpy(feeds[n]) for n in past_names]
            cache = fill_cache(past) if past[0].shape[2] else DynamicCache()
            o = model(**kw, past_key_values=cache, use_cache=True, return_dict=True)
            flat = flatten_cache(o.past_key_values)
            res = {"logits": o.logits}
            res.update({f"present.{i // 2}.{('key', 'value')[i % 2]}": t
                        for i, t in enumerate(flat)})
            return res

        def feeds_for(ids, past, mask):
            b, s = ids.shape
            p = past[0].shape[2]
            f = {"input_ids": ids, "attention_mask": mask,
                 "position_ids": np.broadcast_to(np.arange(p, p + s, dtype=np.int64),
                                                 (b, s)).copy()}
            f.update(dict(zip(past_names, past)))
            return {n: f[n] for n in in_names}

        rng = case_rng(job.arch, "decode")
        prompt = token_ids(rng, arch, vocab, 2, 5)
        empty = [np.zeros((2, kv_heads, 0, head_dim), np.float32)] * len(past_names)
        with torch.no_grad():
            pre = torch_fn(feeds_for(prompt, empty, np.ones((2, 5), np.int64)))
        past = [pre[n.replace("past_key_values.", "present.")].numpy().copy()
                for n in past_names]
        feeds = feeds_for(token_ids(rng, arch, vocab, 2, 1), past, np.ones((2, 6), np.int64))
        cases = {"ref_ort": make_case(job.name, sess, desc, feeds, torch_fn, "decode: batch 2, "
                                      "seq 1, past 5 from a real prefill, mask ones [2, 6]")}
        # Past length 0: the same graph as a prefill (the prefill inputs of the
        # torch exporters' cases).
        rng = case_rng(job.arch, "prefill")
        feeds = feeds_for(token_ids(rng, arch, vocab, 2, 6), empty, np.ones((2, 6), np.int64))
        try:
            cases["ref_prefill"] = make_case(job.name, sess, desc, feeds, torch_fn,
                                             "prefill: batch 2, seq 6, past 0, mask ones")
        except Exception as e:  # e.g. ORT cannot run a 0-length past
            cases["ref_prefill"] = error_text(e)
    del sess
    versions = dict(torch=torch.__version__, transformers=transformers.__version__,
                    onnx=onnx.__version__, onnxruntime=ort.__version__,
                    optimum=optimum.version.__version__, optimum_onnx=_dist_version("optimum-onnx"))
    entry = finish(job, out, tmp, path, desc, cases, cfg, versions)
    entry["optimum_task"] = task
    return entry


def _dist_version(dist: str):
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


#===----------------------------------------------------------------------===#
# Driver
#===----------------------------------------------------------------------===#

def load_manifest(out: Path) -> dict:
    p = out / "manifest.json"
    if p.exists():
        return {e["name"]: e for e in json.loads(p.read_text())["models"]}
    return {}


def save_manifest(out: Path, entries: dict):
    order = {j.name: i for i, j in enumerate(all_jobs())}
    models = sorted(entries.values(), key=lambda e: order.get(e["name"], len(order)))
    doc = dict(
        description="Tiny Hugging Face models exported by torch.onnx (dynamo and TorchScript) "
                    "and Optimum, with ONNX Runtime references; made by scripts/export_zoo.py",
        atol=ATOL, seed=SEED,
        reference_cases=dict(
            ref_ort="encoder: batch 3, seq 7, 7/5/2 real tokens; prefill: batch 2, seq 6, mask "
                    "ones; decode: batch 2, seq 1, past 5 (from a real prefill), mask ones [2, 6]",
            ref_leftpad="prefill graphs: batch 2, seq 6, row 1 left-padded by 2",
            ref_prefill="Optimum decoder graphs: past 0, seq 6, mask ones"),
        total_onnx_bytes=sum(e.get("file_bytes", 0) for e in models),
        models=models)
    tmp = out / ".manifest.json.tmp"
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out / "manifest.json")


def cached(job: Job, out: Path, entries: dict) -> bool:
    e = entries.get(job.name)
    return (e is not None and e.get("status") in ("ok", "mismatch")
            and (out / f"{job.name}.onnx").exists()
            and (out / "ref_ort" / job.name / "manifest.json").exists())


def run_jobs(jobs, out: Path, force: bool, exporter_fn) -> int:
    entries = load_manifest(out)
    status = 0
    for job in jobs:
        if not force and cached(job, out, entries):
            print(f"zoo: {job.name}: cached", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            entry = exporter_fn(job, out)
        except Exception as e:  # record why and go on
            msg = f"{type(e).__name__}: {e}".strip()
            first = next((ln for ln in msg.splitlines() if ln.strip()), msg)
            # A .tmp left behind: the export worked, ORT or the check did not.
            exported = (out / f".{job.name}.onnx.tmp").exists()
            for stale in [out / f"{job.name}.onnx"] + [out / d / job.name for d in
                                                       ("ref_ort", "ref_prefill", "ref_leftpad")]:
                if stale.is_dir():
                    shutil.rmtree(stale)
                elif stale.exists():
                    stale.unlink()
            for tmp in out.glob(f".{job.name}.onnx.tmp"):
                tmp.unlink()
            entry = dict(name=job.name, arch=job.arch, exporter=job.exporter, opset=job.opset,
                         attn=job.attn, graph=job.graph,
                         status="check_failed" if exported else "not_exported",
                         reason=("exported, but the check failed: " if exported else "")
                         + _short_reason(msg),
                         traceback=traceback.format_exc()[-3000:])
            print(f"zoo: {job.name}: {'CHECK FAILED' if exported else 'NOT EXPORTED'}: "
                  f"{first[:300]}", flush=True)
            status = 1 if exported else status
        else:
            c = entry["cases"]
            extra = " ".join(f"{k} skipped" if "skipped" in v else
                             f"{k} {v['ort_vs_torch_max_abs_err']:.1e}"
                             + (" (batch 1)" if "note" in v else "") for k, v in c.items())
            print(f"zoo: {job.name}: {entry['file_bytes'] / 1024:.0f} KiB, {entry['nodes']} nodes, "
                  f"opset {entry['opset']}, {extra}, {time.perf_counter() - t0:.1f} s"
                  + ("" if entry["status"] == "ok" else f" [{entry['status'].upper()}]"),
                  flush=True)
            if entry["status"] != "ok":
                status = 1
        entries[job.name] = entry
        save_manifest(out, entries)
    return status


def _short_reason(msg: str) -> str:
    """The first lines that say what went wrong, without the exporter's advice."""
    lines = [ln.strip() for ln in msg.splitlines() if ln.strip()]
    keep = [ln for ln in lines if not ln.startswith(("- ", "For more information", "The error "
                                                     "above", "(Refer to", "##"))]
    return " | ".join(keep[:6])[:1500]


def table(out: Path) -> str:
    entries = load_manifest(out)
    order = {j.name: i for i, j in enumerate(all_jobs())}
    rows = sorted(entries.values(), key=lambda e: order.get(e["name"], len(order)))
    lines = [f"{'model':<40} {'KiB':>6} {'nodes':>5} {'ORT vs PT':>9}  cases / reason"]
    total = 0
    for e in rows:
        if e["status"] in ("not_exported", "check_failed"):
            lines.append(f"{e['name']:<40} {'-':>6} {'-':>5} {'-':>9}  "
                         f"{e['status'].upper()}: {e['reason'][:100]}")
            continue
        total += e["file_bytes"]
        cs = ", ".join(f"{k} skipped" if "skipped" in v else
                       k + (" (batch 1)" if "note" in v else "") for k, v in e["cases"].items())
        lines.append(f"{e['name']:<40} {e['file_bytes'] / 1024:>6.0f} {e['nodes']:>5} "
                     f"{e['ort_vs_torch_max_abs_err']:>9.1e}  {cs}"
                     + ("" if e["status"] == "ok" else f" [{e['status'].upper()}]"))
    refs = sum(f.stat().st_size for d in ("ref_ort", "ref_prefill", "ref_leftpad")
               for f in (out / d).rglob("*") if f.is_file()) if out.exists() else 0
    lines.append(f"{len(rows)} models ({sum(e['status'] == 'ok' for e in rows)} ok); "
                 f".onnx {total / 2**20:.1f} MiB, references {refs / 2**20:.1f} MiB, "
                 f"zoo total {(total + refs) / 2**20:.1f} MiB")
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description="Export the model zoo with ORT references.")
    ap.add_argument("--only", help="glob(s) over model names, comma separated; "
                                   "without a wildcard a substring (e.g. llama, optimum, _decode)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default test/models/zoo")
    ap.add_argument("--force", action="store_true", help="re-export models that exist")
    ap.add_argument("--no-optimum", action="store_true", help="skip the Optimum part")
    ap.add_argument("--optimum", action="store_true",
                    help="run the Optimum part in this interpreter (.venv-optimum)")
    ap.add_argument("--list", action="store_true", help="list the model names and exit")
    args = ap.parse_args()
    out = args.out.resolve()
    jobs = select(all_jobs(), args.only)
    if args.list:
        print("\n".join(j.name for j in jobs))
        return 0
    out.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed"
    transformers.logging.set_verbosity_error()
    t0 = time.perf_counter()

    if args.optimum:
        return run_jobs([j for j in jobs if j.exporter == "optimum"], out, args.force,
                        export_optimum)

    status = run_jobs([j for j in jobs if j.exporter != "optimum"], out, args.force,
                      export_torch)
    opt_jobs = [j for j in jobs if j.exporter == "optimum"]
    if opt_jobs and not args.no_optimum:
        if not OPTIMUM_PY.exists():
            print(f"zoo: {OPTIMUM_PY} missing (bash scripts/setup-export.sh); "
                  "skipping the Optimum part", file=sys.stderr)
            status = 1
        else:
            cmd = [str(OPTIMUM_PY), str(Path(__file__).resolve()), "--optimum", "--out", str(out)]
            cmd += ["--only", args.only] if args.only else []
            cmd += ["--force"] if args.force else []
            print(f"zoo: Optimum part: {' '.join(cmd)}", flush=True)
            status |= subprocess.call(cmd, cwd=ROOT)
    write_readme(out)
    print(table(out))
    print(f"zoo: {time.perf_counter() - t0:.0f} s")
    return status


#===----------------------------------------------------------------------===#
# README
#===----------------------------------------------------------------------===#

README_HEAD = """\
# Model zoo: tiny Hugging Face models as people export them

Generated by `scripts/export_zoo.py`; do not edit (this file is rewritten from
`manifest.json`).

Nine architectures, tiny (2 layers, hidden 64, 4 heads of 16, intermediate
128, vocab 256, 128 positions; grouped-query attention with 4 query and 2 KV
heads for Llama, Qwen2, Mistral, Phi-3 and Gemma), built from Hugging Face
config objects with seeded random weights (every parameter N(0, 0.05), norm
scales 1 + N(0, 0.05), biases N(0, 0.02); no hub access), each with
`attn_implementation` eager and sdpa, exported three ways:

- `dynamo{N}`: `torch.onnx.export(dynamo=True, opset_version=N)` with
  `torch.export.Dim` for batch, seq, past_seq and total_seq (N = 18; GPT-2 and
  Llama sdpa prefill also at 19 to 23).
- `torchscript`: `torch.onnx.export(dynamo=False, opset_version=17)` with
  `dynamic_axes`.
- `optimum`: `optimum.exporters.onnx.main_export` from a `save_pretrained`
  directory, task `text-generation-with-past` (decoders) or
  `feature-extraction` (encoders), Optimum's default opset; names and layout as
  Optimum writes them.

Files are `<arch>_<exporter>_<attn>_<graph>.onnx`, weights inside.

| graph | inputs | outputs |
|---|---|---|
| encoder | `input_ids`, `attention_mask` [batch, seq] (+ `token_type_ids` for BERT) | `last_hidden_state` [batch, seq, 64] |
| prefill | `input_ids`, `attention_mask` [batch, seq] | `logits` [batch, seq, 256], `present.{i}.{key,value}` [batch, kv_heads, seq, 16] |
| decode (torch) | `input_ids` [batch, seq], `attention_mask` [batch, total_seq], `past_key_values.{i}.{key,value}` [batch, kv_heads, past_seq, 16] | `logits`, `present.{i}.{key,value}` [batch, kv_heads, past_seq + seq, 16] |
| decode (Optimum) | `input_ids`, `attention_mask`, `position_ids` (not Gemma), `past_key_values.*` with Optimum's dim names (`batch_size`, `sequence_length`, `past_sequence_length`) | `logits`, `present.*` |

## References

ONNX Runtime (CPU, fp32, one thread) feeds and outputs, at bindings of the
symbolic dims other than the export sample, after checking ORT against
PyTorch (max abs error <= 1e-4, recorded per case):

- `ref_ort/<name>/`: encoder batch 3, seq 7 with 7/5/2 real tokens (right
  padding; RoBERTa pads with id 1), `token_type_ids` two segments; prefill
  batch 2, seq 6, mask ones; decode batch 2, seq 1, past 5 with past
  key/values from a real PyTorch prefill of the same model, mask ones [2, 6].
  The Optimum decoder graph gets the decode case here.
- `ref_prefill/<name>/`: Optimum decoder graphs with past length 0 (past
  tensors [2, kv_heads, 0, 16]), seq 6.
- `ref_leftpad/<name>/`: prefill graphs, batch 2, seq 6, row 1 left-padded by
  2 tokens (only where ORT and PyTorch agree on every output).

Each holds `input_<name>.npy` (int64 ids and masks, float32 otherwise),
`output_<name>.npy` with the ONNX tensor names, and `manifest.json` (shapes,
the symbol bindings, the ORT-vs-PyTorch error). The inputs of one
architecture are the same across exporters and attentions.

`manifest.json` has one entry per model: architecture, exporter, opset,
attention, graph, file size, inputs/outputs with dims, op histogram, the
ORT-vs-PyTorch error per case, versions; or `status: not_exported` (or
`check_failed`: exported, but ORT or the check failed) and the reason.

## Regenerate

```
bash scripts/setup-export.sh            # .venv-export and .venv-optimum
.venv-export/bin/python scripts/export_zoo.py --force
```

This takes about 2.5 minutes on 2 cores (most of it the dynamo exports).
`--only PATTERN` (a glob or substring of the names, comma separated) remakes
a subset; without `--force` existing models are kept. The Optimum part runs
as `.venv-optimum/bin/python scripts/export_zoo.py --optimum` (Optimum pins
transformers 4.57; the torch exporters use transformers 5).
"""


README_NOTES = """\
## What the exporters write (observed with the versions above)

- dynamo: every node carries `metadata_props` (`namespace`,
  `pkg.torch.onnx.class_hierarchy`, `fx_node`, `name_scopes`, `stack_trace`
  with absolute paths of the exporting machine): 30 to 40% of each file.
  Weights that the exporter transposed at export time become initializers
  named `val_<n>`; the others keep their module paths (`lm.model.norm.weight`).
  A tied LM head is stored once (`Gather` for the embedding, a runtime
  `Transpose` before the `MatMul`), where TorchScript and Optimum store the
  table and a constant-folded transposed copy. Output dims are expressions of
  the input symbols (`past_seq + seq`). Without `input_names`/`output_names`
  the inputs take the forward's parameter names (varargs: `past_0`,
  `past_1`, ...) and the outputs the FX node names (`linear_14`, `cat_7`);
  with `Dim.AUTO` the dims are `s<n>` symbols, and inputs that share a batch
  or past dim can get different symbols. IR version 10 at every opset.
- dynamo opsets 19 to 22 give the opset-18 graph node for node (only
  `opset_import` changes). At opset 23 SDPA becomes the `Attention` op and,
  for Llama, RMSNorm and rotary become `RMSNormalization` and
  `RotaryEmbedding`; its `RotaryEmbedding` gets cos/sin of shape
  [1, seq, 8] (broadcast over batch), which ONNX Runtime 1.31 rejects for
  batch > 1, so `llama_dynamo23_sdpa_prefill`'s reference is at batch 1.
- SDPA is decomposed into MatMul/Softmax by every exporter below opset 23;
  the sdpa graphs (not Optimum's encoders) add an `IsNaN` guard that the
  eager graphs lack.
  PyTorch's fused SDPA and the exported graphs differ on query rows whose keys
  are all masked (the left padding of `ref_leftpad`); the real tokens agree.
- TorchScript (and Optimum, which uses it): `Constant` nodes rather than
  initializers for small constants, long `Shape`/`Gather`/`Unsqueeze`/`Concat`
  shape chains, `Cast`/`Flatten`/`Gather` for the advanced indexing of the
  mask code (dynamo: `GatherND`), `Sqrt`+`Div` for RMSNorm (dynamo:
  `Sqrt`+`Reciprocal`); no `Max`/`GatherND`/`Reciprocal`.
- Optimum: `main_export` passes `model_kwargs` to the patched forward, not to
  `from_pretrained`, and a saved config does not carry the attention
  implementation, so transformers 4.57 loads sdpa whatever is asked; the
  script wraps Optimum's loader to pass `attn_implementation` and checks what
  was loaded. Optimum uses the TorchScript exporter at opset 18, dims
  `batch_size`, `sequence_length`, `past_sequence_length`, and
  `past_sequence_length + sequence_length` for the mask and the presents;
  `position_ids` is an input for all decoders but Gemma; GPT-2's inputs come
  in the order `input_ids`, `past_key_values.*`, `attention_mask`,
  `position_ids`. Optimum deduplicates tied weights only when `accelerate`
  is installed (it is not in `.venv-optimum`), so GPT-2's and Gemma's tied
  embedding is stored twice, as by TorchScript. ONNX Runtime runs every
  Optimum decoder with a 0-length past (`ref_prefill`).
"""


def write_readme(out: Path):
    entries = load_manifest(out)
    if not entries:
        return
    order = {j.name: i for i, j in enumerate(all_jobs())}
    rows = sorted(entries.values(), key=lambda e: order.get(e["name"], len(order)))
    ok = [e for e in rows if e["status"] in ("ok", "mismatch")]
    versions = collections.OrderedDict()
    for e in ok:
        kind = "optimum" if e["exporter"] == "optimum" else "torch.onnx"
        versions.setdefault(kind, e["versions"])
    lines = [README_HEAD, "## Versions\n"]
    for kind, v in versions.items():
        lines.append(f"- {kind}: " + ", ".join(f"{k} {x}" for k, x in v.items() if x))
    lines += ["", "## Models\n",
              "| model | KiB | nodes | opset | ORT vs PyTorch | references |",
              "|---|---:|---:|---:|---:|---|"]
    for e in rows:
        if e["status"] in ("not_exported", "check_failed"):
            lines.append(f"| {e['name']} | | | | {e['status']} | {e['reason'][:160]} |")
            continue
        cs = ", ".join(f"{k}: skipped ({v['skipped'][:80]})" if "skipped" in v else
                       k + (" (at batch 1: ORT fails at batch 2; see its manifest)"
                            if "note" in v else "")
                       for k, v in e["cases"].items())
        lines.append(f"| {e['name']} | {e['file_bytes'] / 1024:.0f} | {e['nodes']} | "
                     f"{e['opset']} | {e['ort_vs_torch_max_abs_err']:.1e} | {cs} |")
    total = sum(e["file_bytes"] for e in ok)
    refs = sum(f.stat().st_size for d in ("ref_ort", "ref_prefill", "ref_leftpad")
               for f in (out / d).rglob("*") if f.is_file())
    lines += ["", f"{len(ok)} models, .onnx {total / 2**20:.1f} MiB, references "
              f"{refs / 2**20:.1f} MiB.", "", "## Op types by exporter\n"]
    fam = collections.OrderedDict((k, collections.Counter()) for k in
                                  ("dynamo18", "dynamo19-22", "dynamo23", "torchscript", "optimum"))
    count = collections.Counter()
    for e in ok:
        k = e["exporter"] if e["exporter"] in fam else "dynamo19-22"
        fam[k].update(e["op_histogram"].keys())
        count[k] += 1
    all_ops = sorted(set().union(*fam.values()))
    lines += ["Number of models of each exporter that use the op type (models per exporter: "
              + ", ".join(f"{k} {count[k]}" for k in fam) + ").\n",
              "| op | " + " | ".join(fam) + " |", "|---|" + "---:|" * len(fam)]
    for op in all_ops:
        lines.append(f"| {op} | " + " | ".join(str(fam[k][op] or "") for k in fam) + " |")
    lines += ["", README_NOTES]
    (out / "README.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
