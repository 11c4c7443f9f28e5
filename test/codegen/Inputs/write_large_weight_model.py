#!/usr/bin/env python3
"""A model adding an initializer of N float32 values (default 4.5 M, 18 MB)
to its input: DIR/model.onnx. Used by emit-llvm.test for weights past what
--emit=llvm writes as text.

usage: write_large_weight_model.py DIR [N]
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
out.mkdir(parents=True, exist_ok=True)
n = int(sys.argv[2]) if len(sys.argv) > 2 else 4_500_000
w = np.arange(n, dtype=np.float32)
graph = helper.make_graph(
    [helper.make_node("Add", ["x", "w"], ["y"], name="add")], "large_weight",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [n])],
    [numpy_helper.from_array(w, "w")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.save(model, out / "model.onnx")
