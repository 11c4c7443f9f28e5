#!/usr/bin/env python3
#===- test/onnx-backend/generate_node_tests.py - ONNX's newer node tests --===#
#
# Debian 12's libonnx-testdata is ONNX 1.12 (opsets up to 17). The pinned
# onnx package (scripts/requirements.txt) carries the node test cases of its
# own release as Python (onnx.backend.test.case.node) but not their data;
# this writes them in the layout of libonnx-testdata:
#   OUT/<test>/model.onnx, OUT/<test>/test_data_set_<i>/{input,output}_<j>.pb
# so that run_backend.py runs them: the opset 18-23 forms of the ops (axes
# and split sizes as inputs, Split's num_outputs, Attention, RMSNormalization,
# RotaryEmbedding, ...). Takes a few seconds; OUT/.onnx-version records the
# onnx version, and a matching OUT is left as it is.
#
# Usage: .venv/bin/python test/onnx-backend/generate_node_tests.py OUT
#
#===----------------------------------------------------------------------===#
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx.backend.test.case.node as node_cases
from onnx import TensorProto, numpy_helper


def write_tensor(path: Path, value, info) -> None:
    if not isinstance(value, TensorProto):
        value = numpy_helper.from_array(np.asarray(value), info.name)
    path.write_bytes(value.SerializeToString())


def main() -> int:
    out = Path(sys.argv[1])
    stamp = out / ".onnx-version"
    if stamp.exists() and stamp.read_text().strip() == onnx.__version__:
        print(f"node tests of onnx {onnx.__version__} already in {out}")
        return 0
    if out.exists():
        shutil.rmtree(out)
    written = 0
    for case in node_cases.collect_testcases():
        model = case.model
        # Sequence, map and optional inputs are outside Kiln's op set; their
        # tests are skipped as unclaimed anyway.
        if not all(v.type.HasField("tensor_type")
                   for v in list(model.graph.input) + list(model.graph.output)):
            continue
        d = out / case.name
        d.mkdir(parents=True)
        (d / "model.onnx").write_bytes(model.SerializeToString())
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ds = d / f"test_data_set_{i}"
            ds.mkdir()
            for j, v in enumerate(inputs):
                write_tensor(ds / f"input_{j}.pb", v, model.graph.input[j])
            for j, v in enumerate(outputs):
                write_tensor(ds / f"output_{j}.pb", v, model.graph.output[j])
        written += 1
    stamp.write_text(onnx.__version__ + "\n")
    print(f"wrote {written} node tests of onnx {onnx.__version__} to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
