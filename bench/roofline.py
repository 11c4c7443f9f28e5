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
# int8 (bench.py --quantize): every matmul weight is one byte (per-column
# or per-tensor scales, a few KB, left out), the other streamed parameters
# (biases, norms) stay fp32, and so does the KV cache. With int8 activations
# (int8-dynamic, ort-int8) the GEMMs' multiply-adds run at the int8 peak
# (vpdpbusd) and attention's at the fp32 peak, one after the other:
#   compute = int8 GEMM ops / int8 peak + attention FLOPs / fp32 peak
# With fp32 activations (int8-weight) all of it runs at the fp32 peak.
#
# int4 (int4-weight, ort-int4): every matmul weight is half a byte plus an
# fp32 scale per 32 of them (0.625 bytes), the math fp32; with int8
# activations (int4-dynamic) the GEMMs' ops at the int8 peak, as above.
#
#===----------------------------------------------------------------------===#

DEFAULT_PEAK_FLOPS = 450e9   # fp32 FMA, 2 cores of the development machine
DEFAULT_INT8_PEAK_OPS = 1750e9  # vpdpbusd, the same 2 cores (Xeon, AVX512-VNNI)
DEFAULT_BANDWIDTH = 70e9     # bytes/s
INT4_WEIGHT_BYTES = 0.5 + 4 / 32  # the 4-bit value and its share of a group's fp32 scale


def attention_pairs(seq: int, past: int, causal: bool) -> float:
    if causal:
        return seq * past + seq * (seq + 1) / 2
    return seq * (past + seq)


def work(manifest: dict, batch: int, seq: int, past: int, inplace: bool = False,
         int8: str = "") -> dict:
    """FLOPs and bytes of one call; the terms are kept for the report.
    `int8`: "" (fp32), "weights" (int8 weights, fp32 math), "gemm" (int8
    weights and activations: the GEMMs' ops move from `flops` to
    `int8_ops`), "int4" (4-bit weights in groups of 32, fp32 math) or
    "int4-gemm" (the same weights, the GEMMs' ops as `int8_ops`)."""
    cfg, params = manifest["config"], manifest["params"]
    matmul = 2 * params["linear_per_token"] * batch * seq + 2 * params["linear_per_sequence"] * batch
    attn = (4 * cfg["layers"] * batch * cfg["heads"] * cfg["head_dim"]
            * attention_pairs(seq, past, cfg["causal"]))
    weight_bytes = 4 * params["streamed"]
    if int8:
        linear = params["linear_per_token"] + params["linear_per_sequence"]
        per_weight = INT4_WEIGHT_BYTES if int8.startswith("int4") else 1
        weight_bytes = per_weight * linear + 4 * (params["streamed"] - linear)
    kv_bytes = 0
    if manifest["graph"] in ("prefill", "decode"):
        per_token = 2 * cfg["layers"] * cfg["kv_heads"] * cfg["head_dim"] * 4
        kv_bytes = per_token * batch * ((past + seq) + seq if inplace else past + (past + seq))
    w = dict(matmul_flops=matmul, attention_flops=attn, flops=matmul + attn,
             weight_bytes=weight_bytes, kv_bytes=kv_bytes, bytes=weight_bytes + kv_bytes)
    if int8 in ("gemm", "int4-gemm"):
        w.update(flops=attn, int8_ops=matmul)
    return w


def floor_ms(w: dict, peak_flops: float = DEFAULT_PEAK_FLOPS,
             bandwidth: float = DEFAULT_BANDWIDTH,
             int8_peak_ops: float = DEFAULT_INT8_PEAK_OPS) -> tuple:
    """(floor in ms, 'compute' or 'memory')."""
    compute = w["flops"] / peak_flops + w.get("int8_ops", 0) / int8_peak_ops
    memory = w["bytes"] / bandwidth
    return 1e3 * max(compute, memory), ("compute" if compute >= memory else "memory")
