#===- bench/configs.py - benchmark models and configurations -------------===#
#
# The models the benchmark exports and the configurations it times, in plain
# Python so that both the exporter (.venv-export: torch, transformers) and the
# harness (.venv: onnxruntime, numpy) can import it.
#
# A model is a Hugging Face architecture built from a config object with
# random weights (no hub access). A configuration is one (model, shapes) pair
# timed by bench.py; several configurations share one compiled model, since
# every model keeps its batch/sequence/past axes symbolic.
#
#===----------------------------------------------------------------------===#
from dataclasses import dataclass, field, replace

OPSET = 17  # the TorchScript exporter's

# --exporter: how the models are exported (bench/export_models.py).
#   torchscript  torch.onnx.export(dynamo=False), opset 17, dynamic_axes
#   dynamo       torch.onnx.export(dynamo=True), opset 18, torch.export.Dim
#   optimum      optimum.exporters.onnx.main_export in .venv-optimum:
#                feature-extraction (BERT), text-generation-with-past (GPT-2,
#                Llama-style: one graph with past_key_values, attention_mask
#                and position_ids inputs, which serves decode, and prefill
#                with past length 0; export_spec)
EXPORTERS = ("torchscript", "dynamo", "optimum")
DEFAULT_EXPORTER = "torchscript"
OPSETS = {"torchscript": OPSET, "dynamo": 18, "optimum": None}  # None: Optimum's default


@dataclass(frozen=True)
class ModelSpec:
    name: str          # file stem under build/bench/models
    family: str        # bert | gpt2 | llama
    graph: str         # encoder | prefill | decode
    hf_config: dict = field(default_factory=dict)  # kwargs of the HF config class
    description: str = ""


@dataclass(frozen=True)
class BenchConfig:
    name: str          # what --only selects
    model: str         # ModelSpec.name
    batch: int
    seq: int           # new tokens per sequence
    past: int = 0      # cached tokens (decode only)
    steps: int = 0     # >0: time a generation of this many tokens, each step's
                       # present fed back as past; times are per token
    inplace: bool = False  # Kiln through its in-place KV cache (ORT as before)
    description: str = ""


# --tiny: the same architectures and exporter at toy size (2 layers, hidden
# 64), to smoke-test the whole pipeline in seconds.
TINY = {
    "bert": dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                 intermediate_size=128, vocab_size=1000),
    "gpt2": dict(n_embd=64, n_layer=2, n_head=4, vocab_size=1000, bos_token_id=0,
                 eos_token_id=0),
    "llama": dict(hidden_size=64, intermediate_size=176, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, vocab_size=1000),
}

LLAMA_1024 = dict(hidden_size=1024, intermediate_size=2816, num_hidden_layers=8,
                  num_attention_heads=16, num_key_value_heads=4, vocab_size=32000)

MODELS = {m.name: m for m in [
    ModelSpec("bert_base", "bert", "encoder", {},
              "BERT-base (BertConfig() defaults), last_hidden_state + pooler_output"),
    ModelSpec("gpt2_prefill", "gpt2", "prefill", {},
              "GPT-2 small (GPT2Config() defaults), logits + present key/values"),
    ModelSpec("gpt2_decode", "gpt2", "decode", {},
              "GPT-2 small, one step with past_key_values inputs"),
    ModelSpec("llama_prefill", "llama", "prefill", LLAMA_1024,
              "Llama-style 1024 hidden, 8 layers, GQA 16/4 heads, vocab 32000"),
]}

CONFIGS = {c.name: c for c in [
    BenchConfig("bert_b1", "bert_base", 1, 128, description="BERT-base b1 s128"),
    BenchConfig("bert_b8", "bert_base", 8, 128, description="BERT-base b8 s128"),
    BenchConfig("gpt2_prefill_b1", "gpt2_prefill", 1, 128,
                description="GPT-2 small prefill b1 s128"),
    BenchConfig("gpt2_decode_b1", "gpt2_decode", 1, 1, past=128,
                description="GPT-2 small decode 1 token, past 128, b1"),
    BenchConfig("gpt2_decode_b8", "gpt2_decode", 8, 1, past=128,
                description="GPT-2 small decode 1 token, past 128, b8"),
    BenchConfig("gpt2_generate_b1", "gpt2_decode", 1, 1, past=128, steps=64,
                description="GPT-2 small, 64 decode steps from past 128, b1, per token"),
    BenchConfig("gpt2_generate_b8", "gpt2_decode", 8, 1, past=128, steps=64,
                description="GPT-2 small, 64 decode steps from past 128, b8, per token"),
    BenchConfig("gpt2_generate_inplace_b1", "gpt2_decode", 1, 1, past=128, steps=64,
                inplace=True, description="as gpt2_generate_b1, Kiln's in-place KV cache"),
    BenchConfig("gpt2_generate_inplace_b8", "gpt2_decode", 8, 1, past=128, steps=64,
                inplace=True, description="as gpt2_generate_b8, Kiln's in-place KV cache"),
    BenchConfig("llama_prefill_b1", "llama_prefill", 1, 128,
                description="Llama-style prefill b1 s128"),
]}

FAMILY_NAMES = {"bert": "BERT-base", "gpt2": "GPT-2 small", "llama": "Llama-style"}


def export_spec(exporter: str, spec: ModelSpec) -> ModelSpec:
    """The graph that serves `spec`'s configurations when `exporter` exports
    the models. Optimum writes one text-generation-with-past graph per causal
    model (FAMILY_with_past): decode configurations run it as the torch
    exporters' decode graphs, prefill configurations with past length 0."""
    if exporter == "optimum" and spec.graph in ("prefill", "decode"):
        size = "tiny " if spec.description.startswith("tiny ") else ""
        return replace(spec, name=f"{spec.family}_with_past", graph="decode",
                       description=f"{size}{FAMILY_NAMES[spec.family]}, Optimum text-generation-"
                                   "with-past: past_key_values, attention_mask, position_ids inputs")
    return spec


def unsupported(exporter: str, cfg: BenchConfig) -> str:
    """Why `exporter`'s graph cannot serve `cfg` ('' where it can): such a
    configuration is skipped with this reason."""
    return ""


def bench_dir(root, tiny: bool, exporter: str):
    """Where a run keeps models, artifacts and results: build/bench (or
    build/bench/tiny) for the TorchScript exporter, as before the other
    exporters came, and its subdirectory EXPORTER for the others."""
    out = root / "build" / "bench" / ("tiny" if tiny else "")
    return out if exporter == DEFAULT_EXPORTER else out / exporter


def tiny(spec: ModelSpec) -> ModelSpec:
    return replace(spec, hf_config={**spec.hf_config, **TINY[spec.family]},
                   description=f"tiny {spec.description}")
