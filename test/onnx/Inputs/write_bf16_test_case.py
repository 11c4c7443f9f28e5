#!/usr/bin/env python3
#===- test/onnx/Inputs/write_bf16_test_case.py - bf16 as uint16 test data -===#
#
# Writes an ONNX backend-style test case whose bfloat16 tensors are stored
# the way the ONNX test data stores them: as UINT16 TensorProtos holding the
# bit patterns (numpy has no bfloat16). For test/onnx/bf16-test-data.test.
#
#   model.onnx         f32 = Cast(x: bf16), b16 = Cast(y: f32 -> bf16)
#   rne/test_data_set_0        expected b16 rounded to nearest even
#   truncated/test_data_set_0  expected b16 truncated (as ONNX's cast test)
#
# Usage: write_bf16_test_case.py OUT
#
#===----------------------------------------------------------------------===#
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = Path(sys.argv[1])
graph = helper.make_graph(
    [
        helper.make_node("Cast", ["x"], ["f32"], to=TensorProto.FLOAT),
        helper.make_node("Cast", ["y"], ["b16"], to=TensorProto.BFLOAT16),
    ],
    "bf16",
    [
        helper.make_tensor_value_info("x", TensorProto.BFLOAT16, [4]),
        helper.make_tensor_value_info("y", TensorProto.FLOAT, [4]),
    ],
    [
        helper.make_tensor_value_info("f32", TensorProto.FLOAT, [4]),
        helper.make_tensor_value_info("b16", TensorProto.BFLOAT16, [4]),
    ],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
model.ir_version = 8

# bf16 bits of 1.0, -2.5, 0.478515625 and 3.0e38 (too big for any uint16
# read by value to convert exactly).
x_bits = np.array([0x3F80, 0xC020, 0x3EF5, 0x7F62], np.uint16)
x_f32 = (x_bits.astype(np.uint32) << 16).view(np.float32)
# Values between two bf16 numbers, nearer the upper one.
y = np.array([0.48033667, 0.81910545, -0.21087195, 1.0], np.float32)
bits = y.view(np.uint32)
rne = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
truncated = (bits >> 16).astype(np.uint16)
assert (rne != truncated).sum() == 3


def save(path, array):
    path.write_bytes(numpy_helper.from_array(array).SerializeToString())


for name, expected in (("rne", rne), ("truncated", truncated)):
    case = out / name
    data = case / "test_data_set_0"
    data.mkdir(parents=True, exist_ok=True)
    onnx.save(model, case / "model.onnx")
    save(data / "input_0.pb", x_bits)
    save(data / "input_1.pb", y)
    save(data / "output_0.pb", x_f32)
    save(data / "output_1.pb", expected)
