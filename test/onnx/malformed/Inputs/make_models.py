#!/usr/bin/env python3
#===- test/onnx/malformed/Inputs/make_models.py - hostile ONNX models -----===#
#
# Writes the malformed-model corpus as binary .onnx files, built with the
# onnx package's helpers but never passed through its checker, so each file
# holds exactly the defect its name says. The lit tests beside this script
# run kilnc on every file and check its diagnostic.
#
# Usage: make_models.py OUT_DIR GROUP...   (groups: file graph tensor op limit)
#
#===----------------------------------------------------------------------===#
import random
import sys
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

F32 = TensorProto.FLOAT


def model(nodes, inputs=None, outputs=None, inits=(), opsets=(("", 17),)):
    """A model with IR version 8 and the given graph, unchecked."""
    if inputs is None:
        inputs = [helper.make_tensor_value_info("x", F32, [4])]
    if outputs is None:
        outputs = [helper.make_tensor_value_info("y", F32, None)]
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    m.ir_version = 8
    return m


def relu():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")])


def tensor(name, dtype, dims, raw=None, floats=None):
    t = TensorProto()
    t.name, t.data_type = name, dtype
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if floats is not None:
        t.float_data.extend(floats)
    return t


def add_w(w, x_dims=(4,)):
    """y = x + w, with the initializer w under test."""
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add")],
                 inputs=[helper.make_tensor_value_info("x", F32, list(x_dims))],
                 inits=[w])


def i64(name, values):
    return numpy_helper.from_array(np.array(values, np.int64), name)


def reference_model():
    """A small valid model with every kind of field: the truncation base."""
    w = numpy_helper.from_array(np.arange(64, dtype=np.float32).reshape(4, 16), "w")
    return model(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="mm"),
         helper.make_node("Softmax", ["h"], ["y"], name="sm", axis=-1)],
        inputs=[helper.make_tensor_value_info("x", F32, ["batch", 4])],
        inits=[w])


#===----------------------------------------------------------------------===#
# Cases: name -> bytes or ModelProto
#===----------------------------------------------------------------------===#

def file_cases():
    ref = reference_model().SerializeToString()
    rng = random.Random(5)
    cases = {
        "reference": ref,
        "empty": b"",
        "random-bytes": bytes(rng.randrange(256) for _ in range(4096)),
        # A valid protobuf of another message: a TensorProto is no ModelProto.
        "tensor-proto": numpy_helper.from_array(np.ones(8, np.float32), "t").SerializeToString(),
        # Field 7 (graph) with wire type 0 (varint) instead of 2.
        "wrong-wire-type": b"\x08\x08\x38\x05",
        # A length prefix far past the end of the file.
        "length-past-end": b"\x08\x08\x3a\xff\xff\xff\x7f" + b"\0" * 16,
        # A graph nested in itself through a node's GRAPH attribute, 2000
        # levels deep: beyond protobuf's recursion limit.
        "deep-nesting": deep_nesting(2000),
    }
    # Truncated at offsets throughout the model, into every field kind.
    for cut in sorted({1, 2, 3, 7, 13, 29, 61, 127, len(ref) // 3,
                       len(ref) // 2, len(ref) - 300, len(ref) - 40, len(ref) - 1}):
        cases[f"truncated-{cut:04d}"] = ref[:cut]
    return cases


def deep_nesting(depth):
    inner = b""
    for _ in range(depth):
        # GraphProto.node (1) { AttributeProto (5) { g (6) = inner } }
        attr = b"\x32" + varint(len(inner)) + inner
        node = b"\x2a" + varint(len(attr)) + attr
        inner = b"\x0a" + varint(len(node)) + node
    return b"\x08\x08\x3a" + varint(len(inner)) + inner


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def graph_cases():
    x = helper.make_tensor_value_info("x", F32, [4])
    y = helper.make_tensor_value_info("y", F32, None)
    no_graph = relu()
    no_graph.ClearField("graph")
    return {
        "no-graph": no_graph,
        "cycle": model([helper.make_node("Relu", ["b"], ["a"], name="r1"),
                        helper.make_node("Relu", ["a"], ["b"], name="r2"),
                        helper.make_node("Add", ["x", "b"], ["y"], name="add")]),
        "self-loop": model([helper.make_node("Relu", ["y"], ["y"], name="loop")]),
        "undefined-input": model([helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")]),
        "duplicate-node-output": model([helper.make_node("Relu", ["x"], ["y"], name="first"),
                                        helper.make_node("Neg", ["x"], ["y"], name="second")]),
        "node-redefines-input": model([helper.make_node("Relu", ["x"], ["x"], name="shadow")],
                                      outputs=[x]),
        "duplicate-graph-output": model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                        outputs=[y, y]),
        "duplicate-graph-input": model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                       inputs=[x, x]),
        "output-not-produced": model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                                     outputs=[helper.make_tensor_value_info("z", F32, None)]),
    }


def tensor_cases():
    def input_with(dims, dtype=F32):
        return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                     inputs=[helper.make_tensor_value_info("x", dtype, dims)])
    return {
        "input-negative-dim": input_with([-3]),
        "input-huge-dim": input_with([1 << 62]),
        "input-huge-numel": input_with([1 << 30, 1 << 30, 1 << 30]),
        "init-negative-dim": add_w(tensor("w", F32, [-4])),
        "init-huge-dim": add_w(tensor("w", F32, [1 << 41])),
        "init-huge-numel": add_w(tensor("w", F32, [1 << 30, 1 << 30, 1 << 30])),
        "raw-data-short": add_w(tensor("w", F32, [4], raw=b"\0" * 15)),
        "raw-data-long": add_w(tensor("w", F32, [4], raw=b"\0" * 4096)),
        "float-data-short": add_w(tensor("w", F32, [4], floats=[1, 2, 3])),
        "init-unknown-dtype": add_w(tensor("w", 999, [4], raw=b"\0" * 16)),
        "init-string-dtype": add_w(tensor("w", TensorProto.STRING, [1])),
        "input-unknown-dtype": input_with([4], dtype=999),
        "input-undefined-dtype": input_with([4], dtype=TensorProto.UNDEFINED),
        "cast-unknown-dtype": model([helper.make_node("Cast", ["x"], ["y"], name="cast", to=999)]),
        "constant-of-shape-huge": model(
            [helper.make_node("ConstantOfShape", ["s"], ["y"], name="fill")],
            inits=[i64("s", [1 << 40, 1 << 40])]),
        "input-rank-100": input_with([1] * 100),
        "init-rank-100": add_w(tensor("w", F32, [1] * 100, floats=[1])),
        "unsqueeze-rank-101": model(
            [helper.make_node("Unsqueeze", ["x"], ["y"], name="unsqueeze",
                              axes=list(range(100)))],
            inputs=[helper.make_tensor_value_info("x", F32, [1])],
            opsets=(("", 11),)),
        # Each input with its own dim_param: every shape map would carry them all.
        "too-many-symbols": model(
            [helper.make_node("Relu", ["x0"], ["y"], name="relu")],
            inputs=[helper.make_tensor_value_info(f"x{i}", F32, [f"d{i}"])
                    for i in range(5000)]),
        "expand-negative": model(
            [helper.make_node("Expand", ["x", "s"], ["y"], name="expand")],
            inits=[i64("s", [-1, 4])]),
    }


def op_cases():
    def with_opsets(*opsets):
        return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], opsets=opsets)
    return {
        "unimported-domain": model(
            [helper.make_node("Foo", ["x"], ["y"], name="foo", domain="com.evil")]),
        "unknown-domain-op": model(
            [helper.make_node("Foo", ["x"], ["y"], name="foo", domain="com.evil")],
            opsets=(("", 17), ("com.evil", 1))),
        "opset-too-new": with_opsets(("", 99)),
        "opset-zero": with_opsets(("", 0)),
        "opset-negative": with_opsets(("", 17), ("com.evil", -3)),
        "too-few-inputs": model([helper.make_node("Add", ["x"], ["y"], name="add")]),
        "no-inputs": model([helper.make_node("Relu", [], ["y"], name="relu")]),
        "too-many-inputs": model([helper.make_node("Relu", ["x", "x"], ["y"], name="relu")]),
        "empty-required-input": model([helper.make_node("Add", ["", "x"], ["y"], name="add")]),
        "attribute-wrong-type": model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1.5)]),
        "attribute-missing": model([helper.make_node("Cast", ["x"], ["y"], name="cast")]),
        "axis-out-of-range": model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=100)]),
        # A scalar has no axis 0: the fuzzer's Split of one read past its dims.
        "split-scalar": model(
            [helper.make_node("Split", ["x"], ["a", "b"], name="split")],
            inputs=[helper.make_tensor_value_info("x", F32, [])],
            outputs=[helper.make_tensor_value_info(n, F32, None) for n in "ab"]),
        "perm-not-permutation": model(
            [helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])],
            inputs=[helper.make_tensor_value_info("x", F32, [2, 3])]),
    }


def limit_cases():
    big = numpy_helper.from_array(np.ones(1024, np.float32), "w")  # 4096 bytes
    return {
        "weights-4k": add_w(big, x_dims=(1024,)),
    }


GROUPS = {"file": file_cases, "graph": graph_cases, "tensor": tensor_cases,
          "op": op_cases, "limit": limit_cases}

if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for group in sys.argv[2:]:
        for name, case in GROUPS[group]().items():
            data = case if isinstance(case, bytes) else case.SerializeToString()
            (out / f"{name}.onnx").write_bytes(data)
