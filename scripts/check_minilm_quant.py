"""all-MiniLM-L6-v2 with its real weights, quantized: Kiln vs ONNX Runtime.

Extended check, not part of CI (needs the exports of scripts/export_minilm.py
in build/minilm/EXPORTER and a build). For one export it compares, on the
export's padded sentences, the mean-pooled sentence embeddings of
  - ONNX Runtime's int8 model (quantize_dynamic, per-tensor int8 weights),
    run in ORT and compiled by Kiln (raised to kiln.qlinear),
  - kilnc --quantize=int8-dynamic and int8-weight, and --precision=bf16,
  - ONNX Runtime's int4 model (MatMulNBitsQuantizer, blocks of 32,
    symmetric: com.microsoft MatMulNBits), run in ORT and compiled by Kiln
    (kiln.qlinear_int4), and with accuracy_level=4 (int8 activations) in
    ORT, kilnc --quantize=int4-dynamic (the same weights, int8
    activations), and kilnc --quantize=int4-weight at groups of 32 and 128,
against the fp32 ones (ONNX Runtime on model.onnx), and prints per variant
the min cosine over the sentences and the max abs error of
last_hidden_state. Exits 1 when Kiln's int8-dynamic cosine is below ORT's
int8 one, or bf16's below 0.999 (issue #16's goals).

usage: .venv/bin/python scripts/check_minilm_quant.py [EXPORTER]  (default torchscript)
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort
from onnxruntime.quantization import QuantType, quantize_dynamic
from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer
import onnx

ROOT = Path(__file__).resolve().parent.parent
KILNC = ROOT / "build/tools/kilnc/kilnc"
KILN_RUN = ROOT / "build/tools/kiln-run/kiln-run"


def pooled(hidden, mask):
    m = mask[..., None].astype(np.float64)
    return (hidden * m).sum(1) / np.maximum(m.sum(1), 1e-9)


def cosines(a, b):
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def kiln_hidden(model, flags, inputs_dir, work):
    lib = work / ("lib" + "_".join(f.strip("-").replace("=", "_") for f in flags or ["fp32"]) + ".so")
    subprocess.run([str(KILNC), "-q", str(model), *flags, "-o", str(lib)], check=True)
    out = work / (lib.stem + "_out")
    subprocess.run([str(KILN_RUN), str(lib), "--inputs", str(inputs_dir), "--outputs", str(out)],
                   check=True, stdout=subprocess.DEVNULL)
    return np.load(out / "last_hidden_state.npy").astype(np.float64)


def main():
    exporter = sys.argv[1] if len(sys.argv) > 1 else "torchscript"
    d = ROOT / "build/minilm" / exporter
    model = d / "model.onnx"
    feeds = {n: np.load(d / f"input_{n}.npy") for n in ("input_ids", "attention_mask", "token_type_ids")}
    mask = feeds["attention_mask"]
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2

    def ort_hidden(path):
        s = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        names = [i.name for i in s.get_inputs()]
        return s.run(["last_hidden_state"], {n: feeds[n] for n in names})[0].astype(np.float64)

    ref = ort_hidden(model)
    ref_emb = pooled(ref, mask)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        int8 = work / "model_int8.onnx"
        quantize_dynamic(str(model), str(int8), weight_type=QuantType.QInt8)
        int4 = work / "model_int4.onnx"
        q4 = MatMulNBitsQuantizer(onnx.load(model), bits=4, block_size=32,
                                  is_symmetric=True, accuracy_level=0)
        q4.process()
        onnx.save(q4.model.model, int4)
        # The same weights with accuracy_level=4: ONNX Runtime quantizes the
        # activations to int8 per block of 32 and multiplies in int8.
        int4_q8 = work / "model_int4_acc4.onnx"
        q4 = MatMulNBitsQuantizer(onnx.load(model), bits=4, block_size=32,
                                  is_symmetric=True, accuracy_level=4)
        q4.process()
        onnx.save(q4.model.model, int4_q8)
        variants = {
            "ORT int8 (quantize_dynamic) in ORT": ort_hidden(int8),
            "same int8 model compiled by Kiln": kiln_hidden(int8, [], d, work),
            "kilnc --quantize=int8-dynamic": kiln_hidden(model, ["--quantize=int8-dynamic"], d, work),
            "kilnc --quantize=int8-weight": kiln_hidden(model, ["--quantize=int8-weight"], d, work),
            "kilnc --precision=bf16": kiln_hidden(model, ["--precision=bf16"], d, work),
            "ORT int4 (MatMulNBits, block 32) in ORT": ort_hidden(int4),
            "same int4 model compiled by Kiln": kiln_hidden(int4, [], d, work),
            "kilnc --quantize=int4-weight": kiln_hidden(model, ["--quantize=int4-weight"], d, work),
            "kilnc --quantize=int4-weight:group=128":
                kiln_hidden(model, ["--quantize=int4-weight:group=128"], d, work),
            "ORT int4, accuracy_level=4, in ORT": ort_hidden(int4_q8),
            "kilnc --quantize=int4-dynamic": kiln_hidden(model, ["--quantize=int4-dynamic"], d, work),
        }
    print(f"all-MiniLM-L6-v2 ({exporter} export), {len(mask)} sentences, vs fp32 ONNX Runtime")
    print(f"{'variant':40s} {'min cosine':>12s} {'max abs err':>12s}")
    result = {}
    for name, hidden in variants.items():
        cos = cosines(pooled(hidden, mask), ref_emb).min()
        err = np.abs(hidden - ref)[mask.astype(bool)].max()
        result[name] = cos
        print(f"{name:40s} {cos:12.7f} {err:12.3g}")
    ok = (result["kilnc --quantize=int8-dynamic"] >= result["ORT int8 (quantize_dynamic) in ORT"]
          and result["kilnc --precision=bf16"] >= 0.999)
    print("ok" if ok else "FAILED: below ORT int8's cosine (int8-dynamic) or 0.999 (bf16)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
