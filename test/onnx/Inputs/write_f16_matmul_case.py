#!/usr/bin/env python3
"""An fp16 model whose products sum 4096 terms, with inputs and float64
reference outputs rounded to fp16 (DIR/model.onnx, DIR/io/*.npy).

Every value is in [0, 1), so each output is near 1024, where fp16's spacing
is 1: summed in fp32 and rounded once, an output is within 1 of the
reference; summed in fp16, the running sum stops gaining the small products
and ends about 8% low. Used by f16-matmul-run.test.

usage: write_f16_matmul_case.py DIR
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

K = 4096
out = Path(sys.argv[1])
(out / "io").mkdir(parents=True, exist_ok=True)
rng = np.random.default_rng(7)
w = rng.random((K, 8)).astype(np.float16)
bias = rng.random(8).astype(np.float16)
x = rng.random((2, 3, K)).astype(np.float16)
y = rng.random((2, K, 4)).astype(np.float16)

f16 = TensorProto.FLOAT16
nodes = [
    # x @ W: the weight path (kiln.matmul over a rank-2 initializer).
    helper.make_node("MatMul", ["x", "w"], ["xw"], name="by_weight"),
    # x @ W + b: raised to kiln.linear with a bias epilogue.
    helper.make_node("MatMul", ["x", "w"], ["xw_for_bias"], name="linear_matmul"),
    helper.make_node("Add", ["xw_for_bias", "b"], ["linear"], name="linear_bias"),
    # x @ y: the batched path (both operands activations).
    helper.make_node("MatMul", ["x", "y"], ["batched"], name="batched"),
]
graph = helper.make_graph(
    nodes, "f16_matmul",
    [helper.make_tensor_value_info("x", f16, ["batch", 3, K]),
     helper.make_tensor_value_info("y", f16, ["batch", K, 4])],
    [helper.make_tensor_value_info("xw", f16, ["batch", 3, 8]),
     helper.make_tensor_value_info("linear", f16, ["batch", 3, 8]),
     helper.make_tensor_value_info("batched", f16, ["batch", 3, 4])],
    [numpy_helper.from_array(w, "w"), numpy_helper.from_array(bias, "b")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.checker.check_model(model)
onnx.save(model, out / "model.onnx")

x64, w64, y64 = x.astype(np.float64), w.astype(np.float64), y.astype(np.float64)
tensors = dict(x=x, y=y, xw=x64 @ w64, linear=x64 @ w64 + bias.astype(np.float64),
               batched=x64 @ y64)
for name, value in tensors.items():
    np.save(out / "io" / f"{name}.npy", value.astype(np.float16))
