#!/usr/bin/env python3
#===- bench/workers.py - timing workers for Kiln and ONNX Runtime --------===#
#
# One process per engine, driven by bench.py (and gemm.py) over JSON lines:
#   python workers.py kiln      (ctypes on a kilnc artifact's C API)
#   python workers.py ort       (onnxruntime CPUExecutionProvider)
#   python workers.py openblas  (cblas_sgemm; "model" is the library's path)
#
# Separate processes keep the two engines' thread pools and allocators apart,
# and let bench.py kill an engine that hangs or crashes without losing the
# other. Requests and replies, one JSON object a line:
#   {"cmd": "load", "model": PATH, "inputs": DIR, "outputs": DIR, "threads": T,
#    "steps": S}
#       -> {"load_ms", "first_ms", "outputs": [names], "engine"}; writes
#          DIR/<name>.npy; "engine" describes the engine (OpenBLAS: its build
#          and the core type it chose), absent where there is nothing to say.
#          With "steps" > 0 (decode graphs) a timed call is a generation of S
#          tokens, each step's present fed back as the next past (KvLoop), and
#          the last step's logits are written as generated_logits.npy; with
#          "inplace" Kiln keeps the past in kiln_session_run_cached's cache
#   {"cmd": "time", "n": N}  -> {"ms": [N per-call times]}
#   {"cmd": "quit"}
# Any failure replies {"error": MESSAGE}.
#
# Both engines are timed the same way: inputs bound once, outputs written
# into preallocated buffers (kiln_session_run; ORT I/O binding), one
# perf_counter_ns pair around each call.
#
#===----------------------------------------------------------------------===#
import ctypes
import json
import os
import sys
import time
import traceback
from pathlib import Path

import ml_dtypes
import numpy as np


def load_inputs(directory: Path, names: list) -> list:
    arrays = []
    for name in names:
        path = directory / f"{name.replace('/', '_')}.npy"
        if not path.exists():
            raise FileNotFoundError(f"no input file {path} for model input '{name}'")
        arrays.append(np.load(path))
    return arrays


def time_calls(call, n: int) -> list:
    ms = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        call()
        ms.append((time.perf_counter_ns() - t0) / 1e6)
    return ms


class StepInputs:
    """The inputs of a generation step other than the KV cache: where the
    graph has them (Optimum's), attention_mask grows by one column of ones
    per step and position_ids advance by one; input_ids stays the same token
    (timing does not depend on it)."""

    def __init__(self, in_names, inputs, steps):
        self.mask = in_names.index("attention_mask") if "attention_mask" in in_names else None
        if self.mask is not None:
            b, total = inputs[self.mask].shape
            self.mask_shape = (b, total)
            self.ones = np.ones(b * (total + steps), inputs[self.mask].dtype)
        self.pos = in_names.index("position_ids") if "position_ids" in in_names else None
        if self.pos is not None:
            self.positions = [inputs[self.pos] + k for k in range(steps)]

    def at(self, k: int) -> dict:
        """{input index: array} of step k."""
        changed = {}
        if self.mask is not None:
            b, total = self.mask_shape
            changed[self.mask] = self.ones[:b * (total + k)].reshape(b, total + k)
        if self.pos is not None:
            changed[self.pos] = self.positions[k]
        return changed


class KvLoop:
    """The buffers of a generation loop over a decode graph, as an
    application without an in-place cache API writes it: each step's
    present.N.* outputs are the next step's past_key_values.N.* inputs. Two
    buffers of the final length per cache tensor take turns (no allocation
    per step); every step's tensors are dense prefixes of them. The other
    inputs are StepInputs'."""

    def __init__(self, in_names, inputs, out_names, outputs, steps):
        self.inputs, self.outputs, self.num_steps = inputs, outputs, steps
        self.pairs = []  # (input index, output index, ping, pong)
        for i, name in enumerate(in_names):
            if not name.startswith("past_key_values."):
                continue
            o = out_names.index("present." + name[len("past_key_values."):])
            b, h, past, d = inputs[i].shape
            ping, pong = (np.empty(b * h * (past + steps) * d, inputs[i].dtype) for _ in range(2))
            ping[:inputs[i].size] = inputs[i].ravel()
            self.pairs.append((i, o, ping, pong))
        if not self.pairs:
            raise ValueError("a generation needs past_key_values.* inputs")
        self.others = StepInputs(in_names, inputs, steps)
        self.logits_index = out_names.index("logits")

    def steps(self):
        """(inputs, outputs) array lists of every step."""
        for k in range(self.num_steps):
            ins, outs = list(self.inputs), list(self.outputs)
            for i, o, ping, pong in self.pairs:
                b, h, past, d = self.inputs[i].shape
                src, dst = (ping, pong) if k % 2 == 0 else (pong, ping)
                ins[i] = src[:b * h * (past + k) * d].reshape(b, h, past + k, d)
                outs[o] = dst[:b * h * (past + k + 1) * d].reshape(b, h, past + k + 1, d)
            for i, a in self.others.at(k).items():
                ins[i] = a
            yield ins, outs

    def logits(self) -> np.ndarray:
        return self.outputs[self.logits_index].copy()


#===----------------------------------------------------------------------===#
# Kiln: runtime/include/kiln/runtime.h through ctypes
#===----------------------------------------------------------------------===#

KILN_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
               7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
               13: np.uint64, 16: ml_dtypes.bfloat16, 17: ml_dtypes.float8_e4m3fn}


class KilnTensor(ctypes.Structure):
    _fields_ = [("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)), ("data", ctypes.c_void_p),
                ("size_bytes", ctypes.c_size_t)]


class KilnSessionOptions(ctypes.Structure):
    # The fields of runtime.h's kiln_session_options, filled through
    # kiln_session_options_init_sized with this struct's size.
    _fields_ = [("struct_size", ctypes.c_size_t), ("num_threads", ctypes.c_int32),
                ("device", ctypes.c_int32), ("max_arena_bytes", ctypes.c_uint64),
                ("error_message", ctypes.c_char_p), ("error_message_size", ctypes.c_size_t),
                ("arena", ctypes.c_void_p), ("arena_bytes", ctypes.c_uint64)]


class KilnTensorInfo(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("dtype", ctypes.c_int32), ("rank", ctypes.c_int32),
                ("dims", ctypes.POINTER(ctypes.c_int64)),
                ("dim_names", ctypes.POINTER(ctypes.c_char_p)),
                ("dim_symbols", ctypes.POINTER(ctypes.c_int32))]


def kiln_tensors(arrays: list, keep: list):
    """A kiln_tensor array viewing `arrays`; `keep` holds the dims it borrows."""
    tensors = (KilnTensor * len(arrays))()
    for t, arr in zip(tensors, arrays):
        dims = (ctypes.c_int64 * max(arr.ndim, 1))(*arr.shape)
        keep.append(dims)
        t.dtype = next(k for k, v in KILN_DTYPES.items() if np.dtype(v) == arr.dtype)
        t.rank, t.dims, t.data, t.size_bytes = arr.ndim, dims, arr.ctypes.data, arr.nbytes
    return tensors


class KilnEngine:
    def __init__(self, lib_path: str, threads: int):
        self.lib = lib = ctypes.CDLL(os.path.abspath(lib_path), mode=os.RTLD_NOW | os.RTLD_LOCAL)
        lib.kiln_session_create.argtypes = [ctypes.c_void_p, ctypes.POINTER(KilnSessionOptions),
                                            ctypes.POINTER(ctypes.c_void_p)]
        lib.kiln_session_last_error.restype = ctypes.c_char_p
        lib.kiln_session_last_error.argtypes = [ctypes.c_void_p]
        lib.kiln_status_string.restype = ctypes.c_char_p
        lib.kiln_model_validate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
        lib.kiln_session_num_inputs.argtypes = [ctypes.c_void_p]
        lib.kiln_session_num_outputs.argtypes = [ctypes.c_void_p]
        for f in (lib.kiln_session_input_info, lib.kiln_session_output_info):
            f.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(KilnTensorInfo)]
        lib.kiln_session_run.argtypes = [ctypes.c_void_p, ctypes.POINTER(KilnTensor), ctypes.c_size_t,
                                         ctypes.POINTER(KilnTensor), ctypes.c_size_t]
        lib.kiln_session_run_alloc.argtypes = [ctypes.c_void_p, ctypes.POINTER(KilnTensor),
                                               ctypes.c_size_t,
                                               ctypes.POINTER(ctypes.POINTER(KilnTensor)),
                                               ctypes.POINTER(ctypes.c_size_t)]
        lib.kiln_session_destroy.argtypes = [ctypes.c_void_p]

        # The artifact exports its descriptor as data, not as a function.
        descriptor = ctypes.addressof(ctypes.c_byte.in_dll(lib, "kiln_model_descriptor"))
        # The sized init fills exactly the struct declared here (an older
        # runtime without it: its kiln_session_options_init fills the first
        # version, which these fields begin with).
        opts = KilnSessionOptions()
        init = getattr(lib, "kiln_session_options_init_sized", None)
        if init is not None:
            init.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
            init(ctypes.byref(opts), ctypes.sizeof(opts))
        else:
            lib.kiln_session_options_init(ctypes.byref(opts))
        opts.num_threads = threads
        self.session = ctypes.c_void_p()
        status = lib.kiln_session_create(descriptor, ctypes.byref(opts), ctypes.byref(self.session))
        if status != 0:
            # No session to ask; the validator says what is wrong with the
            # artifact (e.g. a runtime of another model ABI version).
            message = ctypes.create_string_buffer(512)
            lib.kiln_model_validate(ctypes.c_void_p(descriptor), message, len(message))
            raise RuntimeError(f"kiln_session_create: {lib.kiln_status_string(status).decode()}: "
                               f"{message.value.decode(errors='replace')}")

    def check(self, status: int, what: str):
        if status != 0:
            msg = self.lib.kiln_session_last_error(self.session).decode() if self.session else ""
            raise RuntimeError(f"{what}: {self.lib.kiln_status_string(status).decode()}: {msg}")

    def signature(self, output: bool) -> list:
        count = (self.lib.kiln_session_num_outputs if output else self.lib.kiln_session_num_inputs)
        info_fn = self.lib.kiln_session_output_info if output else self.lib.kiln_session_input_info
        infos = []
        for i in range(count(self.session)):
            info = KilnTensorInfo()
            self.check(info_fn(self.session, i, ctypes.byref(info)), "tensor info")
            infos.append((info.name.decode(), KILN_DTYPES.get(info.dtype)))
        return infos

    def prepare(self, inputs_dir: Path, outputs_dir: Path) -> tuple:
        ins = self.signature(output=False)
        arrays = load_inputs(inputs_dir, [n for n, _ in ins])
        self.inputs = [np.ascontiguousarray(a, dtype=dt) for a, (_, dt) in zip(arrays, ins)]
        self._keep = []
        in_tensors = kiln_tensors(self.inputs, self._keep)

        # First call: the session allocates, which tells the output shapes.
        outs_ptr, n_outs = ctypes.POINTER(KilnTensor)(), ctypes.c_size_t()
        t0 = time.perf_counter_ns()
        self.check(self.lib.kiln_session_run_alloc(self.session, in_tensors, len(ins),
                                                   ctypes.byref(outs_ptr), ctypes.byref(n_outs)),
                   "kiln_session_run_alloc")
        first_ms = (time.perf_counter_ns() - t0) / 1e6
        names = [n for n, _ in self.signature(output=True)]
        self.outputs = []
        for i, name in enumerate(names):
            t = outs_ptr[i]
            shape = tuple(t.dims[d] for d in range(t.rank))
            dt = KILN_DTYPES[t.dtype]
            count = int(np.prod(shape, dtype=np.int64))
            src = np.ctypeslib.as_array(ctypes.cast(t.data, ctypes.POINTER(ctypes.c_byte)),
                                        (count * np.dtype(dt).itemsize,))
            value = src.view(dt).reshape(shape).copy()
            if value.dtype in (ml_dtypes.bfloat16, ml_dtypes.float8_e4m3fn):  # as kiln-run saves them: exact
                value = value.astype(np.float32)
            np.save(outputs_dir / f"{name.replace('/', '_')}.npy", value)
            self.outputs.append(np.empty(shape, dt))
        out_tensors = kiln_tensors(self.outputs, self._keep)
        self._args = (self.session, in_tensors, len(ins), out_tensors, len(names))
        return first_ms, names

    def call(self):
        status = self.lib.kiln_session_run(*self._args)
        if status != 0:
            self.check(status, "kiln_session_run")

    def prepare_generate(self, steps: int) -> np.ndarray:
        """Builds the calls of a `steps`-token generation (see KvLoop) and
        runs it once; returns the last step's logits."""
        in_names = [n for n, _ in self.signature(output=False)]
        out_names = [n for n, _ in self.signature(output=True)]
        self.loop = KvLoop(in_names, self.inputs, out_names, self.outputs, steps)
        self._steps = []
        for ins, outs in self.loop.steps():
            ins_t, outs_t = kiln_tensors(ins, self._keep), kiln_tensors(outs, self._keep)
            self._steps.append((self.session, ins_t, len(ins), outs_t, len(outs)))
        self.generate()
        return self.loop.logits()

    def prepare_generate_inplace(self, steps: int) -> np.ndarray:
        """The same generation through kiln_session_run_cached: the past
        stays in one cache buffer per pair, each step appends to it. A
        generation starts by loading the initial past (kiln_kv_cache_set,
        timed with it). The other inputs are StepInputs': a growing
        attention_mask and advancing position_ids where the graph has them."""
        lib = self.lib
        lib.kiln_kv_cache_create.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                                             ctypes.POINTER(ctypes.c_void_p)]
        lib.kiln_kv_cache_set.argtypes = [ctypes.c_void_p, ctypes.POINTER(KilnTensor),
                                          ctypes.c_size_t]
        lib.kiln_session_run_cached.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                ctypes.POINTER(KilnTensor), ctypes.c_size_t,
                                                ctypes.POINTER(KilnTensor), ctypes.c_size_t]
        in_names = [n for n, _ in self.signature(output=False)]
        out_names = [n for n, _ in self.signature(output=True)]
        pasts = [i for i, n in enumerate(in_names) if n.startswith("past_key_values.")]
        presents = {out_names.index("present." + in_names[i][len("past_key_values."):])
                    for i in pasts}
        batch, _, past, _ = self.inputs[pasts[0]].shape
        self.cache = ctypes.c_void_p()
        self.check(lib.kiln_kv_cache_create(self.session, batch, past + steps,
                                            ctypes.byref(self.cache)), "kiln_kv_cache_create")
        self._initial = kiln_tensors([self.inputs[i] for i in pasts], self._keep)
        others_out = [a for o, a in enumerate(self.outputs) if o not in presents]
        out_t = kiln_tensors(others_out, self._keep)
        self._cached_steps = []
        step_inputs = StepInputs(in_names, self.inputs, steps)
        for k in range(steps):
            ins = {**dict(enumerate(self.inputs)), **step_inputs.at(k)}
            others_in = [a for i, a in sorted(ins.items()) if i not in pasts]
            self._keep.append(others_in)  # the C tensors point into them
            self._cached_steps.append((self.session, self.cache,
                                       kiln_tensors(others_in, self._keep), len(others_in),
                                       out_t, len(others_out)))
        self._num_pasts = len(pasts)
        self._logits = self.outputs[out_names.index("logits")]
        self.generate_inplace()
        return self._logits.copy()

    def generate_inplace(self):
        lib = self.lib
        self.check(lib.kiln_kv_cache_set(self.cache, self._initial, self._num_pasts),
                   "kiln_kv_cache_set")
        for args in self._cached_steps:
            status = lib.kiln_session_run_cached(*args)
            if status != 0:
                self.check(status, "kiln_session_run_cached")

    def generate(self):
        run = self.lib.kiln_session_run
        for args in self._steps:
            status = run(*args)
            if status != 0:
                self.check(status, "kiln_session_run")


#===----------------------------------------------------------------------===#
# ONNX Runtime
#===----------------------------------------------------------------------===#

class OrtEngine:
    def __init__(self, model_path: str, threads: int):
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])

    def prepare(self, inputs_dir: Path, outputs_dir: Path) -> tuple:
        ins = self.sess.get_inputs()
        names = [o.name for o in self.sess.get_outputs()]
        types = {"tensor(int64)": np.int64, "tensor(float)": np.float32,
                 "tensor(int32)": np.int32, "tensor(bool)": np.bool_}
        arrays = load_inputs(inputs_dir, [i.name for i in ins])
        feeds = {i.name: np.ascontiguousarray(a, dtype=types.get(i.type, a.dtype))
                 for i, a in zip(ins, arrays)}
        t0 = time.perf_counter_ns()
        values = self.sess.run(names, feeds)
        first_ms = (time.perf_counter_ns() - t0) / 1e6
        for name, value in zip(names, values):
            np.save(outputs_dir / f"{name.replace('/', '_')}.npy", value)

        # I/O binding: inputs bound once, outputs written into preallocated
        # arrays, as kiln_session_run does.
        self.io = self.sess.io_binding()
        for name, a in feeds.items():
            self.io.bind_cpu_input(name, a)
        self.outputs = [np.empty_like(v) for v in values]
        for name, buf in zip(names, self.outputs):
            self.io.bind_output(name, "cpu", 0, buf.dtype, list(buf.shape), buf.ctypes.data)
        self.feeds = feeds
        return first_ms, names

    def call(self):
        self.sess.run_with_iobinding(self.io)

    def prepare_generate(self, steps: int) -> np.ndarray:
        in_names = list(self.feeds)
        out_names = [o.name for o in self.sess.get_outputs()]
        self.loop = KvLoop(in_names, list(self.feeds.values()), out_names, self.outputs, steps)
        self._steps = []
        for ins, outs in self.loop.steps():
            io = self.sess.io_binding()
            for name, a in zip(in_names, ins):
                io.bind_input(name, "cpu", 0, a.dtype, list(a.shape), a.ctypes.data)
            for name, a in zip(out_names, outs):
                io.bind_output(name, "cpu", 0, a.dtype, list(a.shape), a.ctypes.data)
            self._steps.append(io)
        self.generate()
        return self.loop.logits()

    def generate(self):
        for io in self._steps:
            self.sess.run_with_iobinding(io)


#===----------------------------------------------------------------------===#
# OpenBLAS: cblas_sgemm on the inputs X [M, K] and W [K, N] -> Y [M, N]
#===----------------------------------------------------------------------===#

class BlasEngine:
    """Y = X @ W by cblas_sgemm, row-major, for bench/gemm.py. OpenBLAS reads
    OPENBLAS_CORETYPE when it is loaded, so the caller sets it in this
    process's environment; the thread count is set here."""

    def __init__(self, lib_path: str, threads: int):
        self.lib = lib = ctypes.CDLL(lib_path)
        lib.openblas_set_num_threads(threads)
        lib.openblas_get_corename.restype = ctypes.c_char_p
        lib.openblas_get_config.restype = ctypes.c_char_p
        self.info = (f"{lib.openblas_get_config().decode()}; core {lib.openblas_get_corename().decode()}"
                     f", {lib.openblas_get_num_threads()} threads")
        f = ctypes.c_float
        lib.cblas_sgemm.argtypes = ([ctypes.c_int] * 3 + [ctypes.c_int] * 3
                                    + [f, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p, ctypes.c_int,
                                       f, ctypes.c_void_p, ctypes.c_int])
        lib.cblas_sgemm.restype = None

    def prepare(self, inputs_dir: Path, outputs_dir: Path) -> tuple:
        x, w = (np.ascontiguousarray(a, np.float32) for a in load_inputs(inputs_dir, ["X", "W"]))
        (m, k), n = x.shape, w.shape[1]
        self.inputs, self.y = (x, w), np.empty((m, n), np.float32)
        row_major, no_trans = 101, 111
        self._args = (row_major, no_trans, no_trans, m, n, k, 1.0, x.ctypes.data, k,
                      w.ctypes.data, n, 0.0, self.y.ctypes.data, n)
        t0 = time.perf_counter_ns()
        self.call()
        first_ms = (time.perf_counter_ns() - t0) / 1e6
        np.save(outputs_dir / "Y.npy", self.y)
        return first_ms, ["Y"]

    def call(self):
        self.lib.cblas_sgemm(*self._args)


#===----------------------------------------------------------------------===#
# Request loop
#===----------------------------------------------------------------------===#

def main() -> int:
    kind = sys.argv[1]
    # Replies go to the original stdout; anything the engine prints goes to stderr.
    reply_fd = os.dup(1)
    os.dup2(2, 1)
    reply = os.fdopen(reply_fd, "w", buffering=1)
    engine = None
    for line in sys.stdin:
        req = json.loads(line)
        try:
            if req["cmd"] == "load":
                t0 = time.perf_counter_ns()
                cls = {"kiln": KilnEngine, "ort": OrtEngine, "openblas": BlasEngine}[kind]
                engine = cls(req["model"], int(req["threads"]))
                load_ms = (time.perf_counter_ns() - t0) / 1e6
                out_dir = Path(req["outputs"])
                out_dir.mkdir(parents=True, exist_ok=True)
                first_ms, names = engine.prepare(Path(req["inputs"]), out_dir)
                if int(req.get("steps", 0)) > 0:
                    # Timed calls are whole generations from here on; Kiln
                    # runs them through its in-place cache when asked.
                    if req.get("inplace") and kind == "kiln":
                        logits = engine.prepare_generate_inplace(int(req["steps"]))
                        engine.call = engine.generate_inplace
                    else:
                        logits = engine.prepare_generate(int(req["steps"]))
                        engine.call = engine.generate
                    np.save(out_dir / "generated_logits.npy", logits)
                    names = names + ["generated_logits"]
                res = {"load_ms": load_ms, "first_ms": first_ms, "outputs": names}
                if getattr(engine, "info", None):
                    res["engine"] = engine.info
            elif req["cmd"] == "time":
                res = {"ms": time_calls(engine.call, int(req["n"]))}
            elif req["cmd"] == "quit":
                return 0
            else:
                res = {"error": f"unknown command {req['cmd']}"}
        except Exception as e:
            traceback.print_exc()
            res = {"error": f"{type(e).__name__}: {e}"}
        reply.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
