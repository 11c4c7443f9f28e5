"""Inputs and a numpy reference for Inputs/attention.mlir.

Usage: attention_reference.py OUT_DIR BATCH Q_LEN K_LEN
Writes OUT_DIR/in/{q,k,v,mask}.npy and OUT_DIR/ref/out.npy.
"""
import os
import sys

import numpy as np

out, batch, q_len, k_len = sys.argv[1], *map(int, sys.argv[2:5])
rng = np.random.default_rng(7)
q = rng.standard_normal((batch, 4, q_len, 8), dtype=np.float32)
k = rng.standard_normal((batch, 2, k_len, 8), dtype=np.float32)
v = rng.standard_normal((batch, 2, k_len, 8), dtype=np.float32)
mask = np.zeros((batch, 1, 1, k_len), np.float32)
mask[-1, ..., 0] = -1e4  # the last sequence pads its first key

scale = np.float32(0.35355339)
kh = np.repeat(k, 2, axis=1).astype(np.float64)  # query head h reads h // 2
vh = np.repeat(v, 2, axis=1).astype(np.float64)
s = scale * np.einsum("bhid,bhjd->bhij", q.astype(np.float64), kh) + mask
i = np.arange(q_len)[:, None]
j = np.arange(k_len)[None, :]
s = np.where(j > i + (k_len - q_len), -np.inf, s)
p = np.exp(s - s.max(-1, keepdims=True))
p /= p.sum(-1, keepdims=True)
ref = np.einsum("bhij,bhjd->bhid", p, vh).astype(np.float32)

for d in ("in", "ref"):
    os.makedirs(os.path.join(out, d), exist_ok=True)
for name, a in (("q", q), ("k", k), ("v", v), ("mask", mask)):
    np.save(os.path.join(out, "in", name + ".npy"), a)
np.save(os.path.join(out, "ref", "out.npy"), ref)
