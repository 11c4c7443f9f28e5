#!/usr/bin/env python3
#===- test/onnx/Inputs/write_external_data_model.py - external data model -===#
#
# Writes a binary ONNX model whose initializers live in one external data
# file beside it, with onnx's own writer, for test/onnx/external-data.test:
#   y = x + small + sum(big)   with small = [1, 2, 3, 4], big = 0..31
#
# Usage: write_external_data_model.py OUT/model.onnx
# Writes OUT/model.data, and OUT/io/input_x.npy with the expected
# OUT/io/output_y.npy for `kiln-run --inputs OUT/io --expect OUT/io`.
#
#===----------------------------------------------------------------------===#
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
small = numpy_helper.from_array(np.array([1, 2, 3, 4], np.float32), "small")
big = numpy_helper.from_array(np.arange(32, dtype=np.float32), "big")
graph = helper.make_graph(
    [
        helper.make_node("Add", ["x", "small"], ["t"], name="add_small"),
        helper.make_node("ReduceSum", ["big"], ["s"], name="sum_big", keepdims=0),
        helper.make_node("Add", ["t", "s"], ["y"], name="add_sum"),
    ],
    "external_data",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
    initializer=[small, big],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
onnx.save_model(model, str(out), save_as_external_data=True,
                all_tensors_to_one_file=True, location="model.data",
                size_threshold=0)
# The writer must really have moved both tensors out of the model file.
saved = onnx.load(str(out), load_external_data=False)
assert all(t.data_location == TensorProto.EXTERNAL for t in saved.graph.initializer)

io = out.parent / "io"
io.mkdir(exist_ok=True)
x = np.array([0.5, -1, 2, 10], np.float32)
np.save(io / "input_x.npy", x)
np.save(io / "output_y.npy", x + numpy_helper.to_array(small) + numpy_helper.to_array(big).sum())
