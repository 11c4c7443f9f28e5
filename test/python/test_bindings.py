#!/usr/bin/env python3
#===- test/python/test_bindings.py - the kiln Python package --------------===#
#
# The bindings against the fixtures: kiln.compile builds gpt2_tiny_prefill,
# gpt2_tiny_decode and bert_tiny_encoder with this build's kilnc; each runs
# through kiln.Session on its test/models/ref inputs and matches the
# references (atol = rtol = 1e-4, as test/models/run_fixtures.py holds fp32);
# the error paths (wrong dtype, rank, shape, a missing or unknown input, a
# kilnc failure, another model ABI version) raise with the input's name or
# the reason; an artifact of an older runtime warns (kiln.VersionWarning)
# and runs; and decode steps through the KV cache (set from a prefill's
# outputs, write_row, realign, use_rows, copy_row) give the logits of dense
# runs that feed the presents back.
#
# Usage (ctest kiln_python_bindings):
#   PYTHONPATH=build/runtime/python python test_bindings.py --kilnc KILNC
#
#===----------------------------------------------------------------------===#
import argparse
import re
import sys
import tempfile
import unittest
import warnings
from pathlib import Path

import ml_dtypes
import numpy as np

import kiln

MODELS = Path(__file__).resolve().parents[1] / "models"
KILNC = None
WORK = None
FAKE_FUTURE = FAKE_CURRENT = None  # test/python/FakeArtifact.c's libraries
FAKE_OLD_RUNTIME = None  # test/runtime/FakeModel.c with an older runtime
ATOL = RTOL = 1e-4


def artifact(name: str, **options) -> Path:
    """test/models/<name>.onnx compiled once per run with kiln.compile."""
    out = Path(WORK.name) / f"lib{name}.so"
    if not out.exists():
        kiln.compile(MODELS / f"{name}.onnx", out, kilnc=KILNC, **options)
    return out


def reference(name: str):
    """({input: array}, {output: array}) of test/models/ref/<name>."""
    ref = MODELS / "ref" / name
    inputs = {p.stem[len("input_"):]: np.load(p) for p in ref.glob("input_*.npy")}
    outputs = {p.stem[len("output_"):]: np.load(p) for p in ref.glob("output_*.npy")}
    return inputs, outputs


class Fixtures(unittest.TestCase):
    def check_reference(self, name):
        session = kiln.Session(str(artifact(name)), threads=2)
        inputs, expected = reference(name)
        got = session.run(inputs)
        self.assertEqual(sorted(got), sorted(expected))
        for key, want in expected.items():
            self.assertEqual(got[key].dtype, want.dtype, key)
            np.testing.assert_allclose(got[key], want, atol=ATOL, rtol=RTOL, err_msg=key)

    def test_gpt2_tiny_prefill(self):
        self.check_reference("gpt2_tiny_prefill")

    def test_gpt2_tiny_decode(self):
        self.check_reference("gpt2_tiny_decode")

    def test_bert_tiny_encoder(self):
        self.check_reference("bert_tiny_encoder")

    def test_signature(self):
        s = kiln.Session(str(artifact("gpt2_tiny_decode")), threads=1)
        self.assertEqual(s.name, "gpt2_tiny_decode")
        self.assertEqual(s.target, "cpu")
        self.assertEqual(s.num_threads, 1)
        self.assertEqual([i.name for i in s.inputs],
                         ["input_ids"] + [f"past_key_values.{l}.{kv}"
                                          for l in (0, 1) for kv in ("key", "value")])
        ids, past = s.inputs[0], s.inputs[1]
        self.assertEqual(ids.dtype, np.int64)
        self.assertEqual(ids.shape, ("batch", "seq"))
        self.assertEqual(past.dtype, np.float32)
        self.assertEqual(past.shape, ("batch", 4, "past_seq", 16))
        self.assertEqual(s.outputs[1].dim_names, ["batch", "4", "seq + past_seq", "16"])
        self.assertEqual(s.kv_pairs[0], ("past_key_values.0.key", "present.0.key", 2))
        self.assertIn("past_seq", s.symbols)
        self.assertIn("shape=('batch', 'seq')", repr(ids))

    def test_non_contiguous_input_is_copied(self):
        s = kiln.Session(str(artifact("bert_tiny_encoder")), threads=2)
        inputs, _ = reference("bert_tiny_encoder")
        dense = s.run(inputs)
        # Every other column of arrays twice as wide: strided views.
        strided = {}
        for k, v in inputs.items():
            wide = np.zeros((v.shape[0], 2 * v.shape[1]), v.dtype)
            wide[:, ::2] = v
            strided[k] = wide[:, ::2]
            self.assertFalse(strided[k].flags["C_CONTIGUOUS"])
        got = s.run(strided)
        for k in dense:
            np.testing.assert_array_equal(got[k], dense[k], err_msg=k)


class Errors(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = kiln.Session(str(artifact("bert_tiny_encoder")), threads=1)
        cls.inputs, _ = reference("bert_tiny_encoder")

    def with_input(self, **change):
        feeds = dict(self.inputs)
        feeds.update(change)
        return feeds

    def test_wrong_dtype(self):
        bad = self.inputs["input_ids"].astype(np.int32)
        with self.assertRaisesRegex(TypeError,
                                    r"^input 'input_ids': expected dtype int64, got int32$"):
            self.s.run(self.with_input(input_ids=bad))

    def test_wrong_rank(self):
        bad = self.inputs["attention_mask"][0]
        with self.assertRaisesRegex(
                ValueError, r"^input 'attention_mask': expected rank 2 \(batch, seq\), "
                            r"got rank 1 with shape \(16,\)$"):
            self.s.run(self.with_input(attention_mask=bad))

    def test_missing_input(self):
        feeds = dict(self.inputs)
        del feeds["token_type_ids"]
        with self.assertRaisesRegex(ValueError, r"^missing input 'token_type_ids' \(expected "
                                                r"'input_ids', 'attention_mask', 'token_type_ids'\)$"):
            self.s.run(feeds)

    def test_unknown_input(self):
        with self.assertRaisesRegex(ValueError, r"^unknown input 'position_ids'"):
            self.s.run(self.with_input(position_ids=self.inputs["input_ids"]))

    def test_shape_mismatch_is_the_runtimes_error(self):
        bad = self.inputs["attention_mask"][:1]
        with self.assertRaisesRegex(kiln.Error, r"^KILN_ERROR_SHAPE_MISMATCH: input "
                                                r"'attention_mask' dim 0 \(batch\)"):
            self.s.run(self.with_input(attention_mask=bad))
        self.assertTrue(issubclass(kiln.Error, RuntimeError))

    def test_not_an_artifact(self):
        with self.assertRaisesRegex(kiln.Error, r"cannot load '/nonexistent/lib.so'"):
            kiln.Session("/nonexistent/lib.so")

    def test_other_abi_or_no_c_api(self):
        if not (FAKE_FUTURE and FAKE_CURRENT):
            self.skipTest("needs --fake-future and --fake-current")
        abi = kiln.MODEL_ABI_VERSION
        with self.assertRaisesRegex(kiln.Error, rf"has model ABI version {abi + 1}; these "
                                                rf"bindings support version {abi} \(recompile"):
            kiln.Session(FAKE_FUTURE)
        with self.assertRaisesRegex(kiln.Error, r"does not export kiln_status_string"):
            kiln.Session(FAKE_CURRENT)

    def test_runtime_version(self):
        self.assertEqual(kiln.__version__, kiln._kiln.VERSION)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = kiln.Session(str(artifact("bert_tiny_encoder")), threads=1)
        self.assertEqual(s.runtime_version, kiln.__version__)

    def test_older_runtime_warns(self):
        if not FAKE_OLD_RUNTIME:
            self.skipTest("needs --fake-old-runtime")
        version = re.escape(kiln.__version__)
        with self.assertWarnsRegex(kiln.VersionWarning,
                                   rf"carries the runtime of Kiln 0\.0\.1, older than "
                                   rf"these bindings' \(Kiln {version}\); recompile"):
            s = kiln.Session(FAKE_OLD_RUNTIME, threads=2)
        self.assertTrue(issubclass(kiln.VersionWarning, UserWarning))
        self.assertEqual(s.runtime_version, "0.0.1")
        # An older runtime still runs (test/runtime/FakeModel.h: y = 2x + ids).
        ids = np.array([[1, 2]], np.int64)
        x = np.ones((1, 2, 4), np.float32)
        out = s.run({"input_ids": ids, "x": x})
        np.testing.assert_array_equal(out["y"], 2 * x + ids[..., None])

    def test_compile_error(self):
        with self.assertRaisesRegex(kiln.CompileError, r"kilnc exited 1"):
            kiln.compile(MODELS / "no_such_model.onnx", Path(WORK.name) / "libx.so",
                         kilnc=KILNC)

    def test_compile_options(self):
        out = Path(WORK.name) / "libbert_max32.so"
        lib = kiln.compile(str(MODELS / "bert_tiny_encoder.onnx"), out, kilnc=KILNC,
                           max_shapes={"seq": 32}, name="bert_max32", opt_level=1,
                           parallel_loops=False, quantize="int8-dynamic",
                           quantize_exclude=["matmul"])
        self.assertEqual(lib, out)
        self.assertTrue((out.parent / "bert_max32.h").exists())  # named after the model
        s = kiln.Session(str(lib), threads=1)
        self.assertEqual(s.name, "bert_max32")
        self.assertEqual(s.symbols["seq"], 32)
        inputs, _ = reference("bert_tiny_encoder")
        with self.assertRaisesRegex(kiln.Error, r"^KILN_ERROR_LIMIT_EXCEEDED"):
            s.run({k: np.concatenate([v, v, v], axis=1) for k, v in inputs.items()})


class KvCache(unittest.TestCase):
    """Greedy decode steps: the cache against dense runs fed back."""

    STEPS = 4

    @classmethod
    def setUpClass(cls):
        cls.prefill = kiln.Session(str(artifact("gpt2_tiny_prefill")), threads=2)
        cls.decode = kiln.Session(str(artifact("gpt2_tiny_decode")), threads=2)
        rng = np.random.default_rng(0)
        cls.prompt = rng.integers(0, 1000, size=(2, 6), dtype=np.int64)
        cls.prefilled = cls.prefill.run({"input_ids": cls.prompt})
        cls.pairs = cls.decode.kv_pairs

    def dense_steps(self, presents, first_ids, steps):
        """[(ids, logits)] of `steps` greedy steps through Session.run."""
        past = {p: presents[o] for p, o, _ in self.pairs}
        ids, out = first_ids, []
        for _ in range(steps):
            result = self.decode.run({"input_ids": ids, **past})
            out.append((ids, result["logits"]))
            past = {p: result[o] for p, o, _ in self.pairs}
            ids = result["logits"][:, -1:].argmax(-1).astype(np.int64)
        return out, past

    def test_cached_steps_equal_dense_steps(self):
        first = self.prefilled["logits"][:, -1:].argmax(-1).astype(np.int64)
        dense, last_past = self.dense_steps(self.prefilled, first, self.STEPS)
        cache = self.decode.kv_cache(batch=2, max_length=32)
        self.assertEqual((cache.length, cache.max_length, cache.batch), (0, 32, 2))
        cache.set(self.prefilled)  # the prefill's outputs, by present name
        self.assertEqual(cache.length, 6)
        for step, (ids, logits) in enumerate(dense):
            got = cache.run({"input_ids": ids})
            self.assertEqual(list(got), ["logits"])
            np.testing.assert_array_equal(got["logits"], logits, err_msg=f"step {step}")
        self.assertEqual(cache.length, 6 + self.STEPS)
        # A cache set from the last dense pasts (a list in kv_pairs order)
        # continues where the dense steps ended.
        cache.set([last_past[p] for p, _, _ in self.pairs])
        self.assertEqual(cache.length, 6 + self.STEPS)

    def test_rows_written_one_by_one(self):
        cache = self.decode.kv_cache(batch=2, max_length=16)
        cache.realign(6)
        for row in range(2):
            alone = self.prefill.run({"input_ids": self.prompt[row:row + 1]})
            cache.write_row(row, 0, alone)
        ids = np.array([[1], [2]], np.int64)
        dense, _ = self.dense_steps(self.prefilled, ids, 1)
        np.testing.assert_allclose(cache.run({"input_ids": ids})["logits"], dense[0][1],
                                   atol=1e-5, rtol=1e-5)

    def test_realign_use_rows_copy_row(self):
        ids = np.array([[5], [7]], np.int64)
        reference = self.decode.kv_cache(batch=2, max_length=16)
        reference.set(self.prefilled)
        want = reference.run({"input_ids": ids})["logits"]

        cache = self.decode.kv_cache(batch=2, max_length=16)
        cache.set(self.prefilled)
        cache.realign(9)  # 3 zero positions on the left ...
        self.assertEqual(cache.length, 9)
        cache.realign(6)  # ... dropped again: the content is as it was
        np.testing.assert_array_equal(cache.run({"input_ids": ids})["logits"], want)

        # Row 0 alone: batch 1 inputs and outputs.
        cache.set(self.prefilled)
        cache.use_rows(1)
        self.assertEqual(cache.rows, 1)
        one = cache.run({"input_ids": ids[:1]})["logits"]
        self.assertEqual(one.shape, (1, 1, 1000))
        np.testing.assert_allclose(one, want[:1], atol=1e-5, rtol=1e-5)

        # Row 0 copied over row 1: both rows give row 0's logits.
        cache.set(self.prefilled)
        cache.use_rows(2)
        cache.copy_row(0, 1)
        both = cache.run({"input_ids": np.array([[5], [5]], np.int64)})["logits"]
        np.testing.assert_allclose(both[1], want[0], atol=1e-5, rtol=1e-5)

    def check_narrow_cache_takes_f32_presents(self, kind, dtype, atol):
        """kilnc --kv-cache-type=KIND on the decode graph alone: the f32
        prefill's presents fill its cache as their rounding to DTYPE would,
        and the logits stay within ATOL of the f32 cache's."""
        out = Path(WORK.name) / f"libgpt2_tiny_decode_{kind}_cache.so"
        kiln.compile(MODELS / "gpt2_tiny_decode.onnx", out, kilnc=KILNC,
                     kv_cache_type=kind)
        decode = kiln.Session(str(out), threads=2)
        past = decode.kv_pairs[0][0]
        self.assertEqual(next(t.dtype for t in decode.inputs if t.name == past),
                         np.dtype(dtype))
        ids = self.prefilled["logits"][:, -1:].argmax(-1).astype(np.int64)
        from_f32 = decode.kv_cache(batch=2, max_length=16)
        from_f32.set(self.prefilled)
        rounded = {o: self.prefilled[o].astype(dtype) for _, o, _ in self.pairs}
        from_narrow = decode.kv_cache(batch=2, max_length=16)
        from_narrow.set(rounded)
        got = from_f32.run({"input_ids": ids})["logits"]
        np.testing.assert_array_equal(got, from_narrow.run({"input_ids": ids})["logits"])
        f32 = self.decode.kv_cache(batch=2, max_length=16)
        f32.set(self.prefilled)
        np.testing.assert_allclose(got, f32.run({"input_ids": ids})["logits"], atol=atol)
        with self.assertRaisesRegex(TypeError, rf"expected dtype {np.dtype(dtype).name}, got float64"):
            from_f32.set([self.prefilled[o].astype(np.float64) for _, o, _ in self.pairs])

    def test_bf16_cache_takes_f32_presents(self):
        self.check_narrow_cache_takes_f32_presents("bf16", ml_dtypes.bfloat16, 2e-2)

    def test_f8_cache_takes_f32_presents(self):
        self.check_narrow_cache_takes_f32_presents("f8e4m3fn", ml_dtypes.float8_e4m3fn, 0.1)

    def test_cache_errors(self):
        cache = self.decode.kv_cache(batch=2, max_length=8)
        with self.assertRaisesRegex(kiln.Error, r"^KILN_ERROR_INVALID_ARGUMENT: the KV cache is empty"):
            cache.run({"input_ids": np.zeros((2, 1), np.int64)})
        with self.assertRaisesRegex(ValueError, r"expected 4 arrays \(one per KV pair\), got 1"):
            cache.set([self.prefilled["present.0.key"]])
        with self.assertRaisesRegex(TypeError, r"'past_key_values.0.key': expected dtype float32"):
            cache.set([self.prefilled[o].astype(np.float64) for _, o, _ in self.pairs])
        cache.set(self.prefilled)
        with self.assertRaisesRegex(kiln.Error, r"^KILN_ERROR_LIMIT_EXCEEDED"):
            cache.run({"input_ids": np.zeros((2, 3), np.int64)})
        with self.assertRaisesRegex(kiln.Error, r"^KILN_ERROR_INVALID_ARGUMENT"):
            cache.use_rows(3)
        with self.assertRaisesRegex(kiln.Error, r"^KILN_ERROR_UNSUPPORTED"):
            kiln.Session(str(artifact("bert_tiny_encoder"))).kv_cache(1, 8)


def main():
    global KILNC, WORK, FAKE_FUTURE, FAKE_CURRENT, FAKE_OLD_RUNTIME
    ap = argparse.ArgumentParser()
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--fake-future", help="a descriptor of the next model ABI version")
    ap.add_argument("--fake-current", help="a descriptor without the runtime's C API")
    ap.add_argument("--fake-old-runtime", help="an artifact of runtime version 0.0.1")
    args, rest = ap.parse_known_args()
    KILNC, FAKE_FUTURE, FAKE_CURRENT = args.kilnc, args.fake_future, args.fake_current
    FAKE_OLD_RUNTIME = args.fake_old_runtime
    WORK = tempfile.TemporaryDirectory(prefix="kiln-python-")
    try:
        unittest.main(argv=[sys.argv[0]] + rest)
    finally:
        WORK.cleanup()


if __name__ == "__main__":
    main()
