#===- bench/roofline.py - FLOP and byte floors of a configuration --------===#
#
# A lower bound on the time of one call, from the model's architecture alone:
#   floor = max(FLOPs / peak FLOP/s, bytes / memory bandwidth)
#
# FLOPs (multiply-add = 2):
#   2 * linear_per_token * batch * seq     every matmul weight, every new token
#                                          (LM head included: the graphs return
#                                          logits for every position)
# + 2 * linear_per_sequence * batch        BERT's pooler, first token only
# + 4 * layers * batch * heads * head_dim * pairs     QK^T and AV
#   where pairs = query/key pairs attended: seq * (past + seq) without a causal
#   mask, seq * past + seq * (seq + 1) / 2 with one (the masked half is work a
#   kernel need not do).
# Elementwise ops, norms and softmax are left out: they are a few percent of
# the FLOPs at these sizes.
#
# Bytes: 4 * streamed parameters (every weight read once; embedding tables
# that are only gathered from are left out, a table tied to the LM head is
# in), plus the KV cache (fp32): past read and present written, or with an
# in-place cache only the new entries written (and all of them read).
#
# The parameter counts come from the exporter's manifest (counted on the
# PyTorch modules), the rest from the resolved config in the same manifest.
#
#===----------------------------------------------------------------------===#

DEFAULT_PEAK_FLOPS = 450e9   # fp32 FMA, 2 cores of the development machine
DEFAULT_BANDWIDTH = 70e9     # bytes/s


def attention_pairs(seq: int, past: int, causal: bool) -> float:
    if causal:
        return seq * past + seq * (seq + 1) / 2
    return seq * (past + seq)


def work(manifest: dict, batch: int, seq: int, past: int, inplace: bool = False) -> dict:
    """FLOPs and bytes of one call; the terms are kept for the report."""
    cfg, params = manifest["config"], manifest["params"]
    matmul = 2 * params["linear_per_token"] * batch * seq + 2 * params["linear_per_sequence"] * batch
    attn = (4 * cfg["layers"] * batch * cfg["heads"] * cfg["head_dim"]
            * attention_pairs(seq, past, cfg["causal"]))
    weight_bytes = 4 * params["streamed"]
    kv_bytes = 0
    if manifest["graph"] in ("prefill", "decode"):
        per_token = 2 * cfg["layers"] * cfg["kv_heads"] * cfg["head_dim"] * 4
        kv_bytes = per_token * batch * ((past + seq) + seq if inplace else past + (past + seq))
    return dict(matmul_flops=matmul, attention_flops=attn, flops=matmul + attn,
                weight_bytes=weight_bytes, kv_bytes=kv_bytes, bytes=weight_bytes + kv_bytes)


def floor_ms(w: dict, peak_flops: float = DEFAULT_PEAK_FLOPS,
             bandwidth: float = DEFAULT_BANDWIDTH) -> tuple:
    """(floor in ms, 'compute' or 'memory')."""
    compute, memory = w["flops"] / peak_flops, w["bytes"] / bandwidth
    return 1e3 * max(compute, memory), ("compute" if compute >= memory else "memory")
