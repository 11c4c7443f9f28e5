#!/usr/bin/env python3
"""A model selecting by a 64 x 4 bool initializer (large enough to be a
resource blob, not an inline constant), with inputs and numpy's outputs:
DIR/model.onnx, DIR/io/{x,y,z}.npy. Used by emit-llvm.test.

usage: write_bool_weight_model.py DIR
"""
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
(out / "io").mkdir(parents=True, exist_ok=True)
# Row r keeps columns 0 and 2 from x when r is even, 1 and 3 when odd.
keep = np.zeros((64, 4), dtype=bool)
keep[0::2, 0::2] = True
keep[1::2, 1::2] = True
graph = helper.make_graph(
    [helper.make_node("Where", ["keep", "x", "y"], ["z"], name="select")], "bool_weight",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64, 4]),
     helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 64, 4])],
    [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["n", 64, 4])],
    [numpy_helper.from_array(keep, "keep")])
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, out / "model.onnx")

rng = np.random.default_rng(3)
x = rng.standard_normal((2, 64, 4)).astype(np.float32)
y = rng.standard_normal((2, 64, 4)).astype(np.float32)
for name, value in dict(x=x, y=y, z=np.where(keep, x, y)).items():
    np.save(out / "io" / f"{name}.npy", value)
