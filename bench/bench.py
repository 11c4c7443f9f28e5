#!/usr/bin/env python3
#===- bench/bench.py - Kiln vs ONNX Runtime on standard-size models ------===#
#
# Entry point: bash bench/run.sh [options]   (bench/README.md)
#
# For each selected configuration of bench/configs.py:
#   1. exports its model if build/bench/models lacks it (export_models.py
#      under .venv-export, with --exporter: torchscript by default, dynamo or
#      optimum into build/bench/<exporter>/; a configuration that the
#      exporter's graph cannot serve is skipped with the reason);
#   2. compiles it with kilnc once per run, recording wall time, peak RSS and
#      the weight bytes kilnc reports;
#   3. loads Kiln (ctypes worker) and ONNX Runtime (worker) on the same
#      inputs, compares every output, then times the two alternately for
#      --rounds rounds (ABBA order), each engine getting the same share of a
#      per-configuration time budget;
#   4. prints the results table and writes build/bench/results.json.
# A step that fails (export, kilnc, a run) is reported in its row; the other
# configurations go on.
#
# --quantize int8-dynamic|int8-weight|ort-int8 times int8: Kiln's artifact
# compiled with kilnc --quantize=MODE (or ORT's int8 model compiled as it
# is) against ONNX Runtime's quantize_dynamic model (quantize_models.py,
# made once), the two fp32 engines timed beside them in the same rounds;
# outputs checked by cosine with ORT fp32's, floors at the int8 peak.
# --quantize int4-weight|int4-dynamic|ort-int4 does the same for 4-bit
# weights (group 32; int4-dynamic with int8 activations) against ORT's
# MatMulNBits model (MatMulNBitsQuantizer, block 32).
#
#===----------------------------------------------------------------------===#
import argparse
import contextlib
import datetime
import fcntl
import fnmatch
import json
import os
import platform
import re
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from configs import (CONFIGS, DEFAULT_EXPORTER, EXPORTERS, MODELS, BenchConfig,  # noqa: E402
                     bench_dir, export_spec, tiny, unsupported)
import roofline  # noqa: E402


def log(msg: str):
    print(f"bench: {msg}", flush=True)


class StepError(Exception):
    """A failed step, with the message its table row shows."""


@contextlib.contextmanager
def machine_lock(path):
    """Holds an exclusive flock on `path` (if any) around a CPU-heavy step, so
    that timing never overlaps another process that takes the same lock."""
    if not path:
        yield
        return
    with open(path, "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log(f"waiting for {path}")
            fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def run_measured(cmd: list, log_path: Path, timeout: float, env=None) -> tuple:
    """Runs `cmd` with output to `log_path`; (exit status, wall s, peak RSS MiB)."""
    with open(log_path, "w") as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env=env)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(proc.pid, 0)
                proc.returncode = -9
                return None, time.perf_counter() - t0, usage.ru_maxrss / 1024
            time.sleep(0.05)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping again
    return proc.returncode, wall, usage.ru_maxrss / 1024


def crash_summary(log_path: Path, rc: int) -> str:
    """'SIGSEGV in step S at F' from a crashed tool's log: the last step it
    announced and the first stack frame that names Kiln code."""
    text = log_path.read_text(errors="replace")
    try:
        what = signal.Signals(-rc).name
    except ValueError:
        what = f"signal {-rc}"
    steps = re.findall(r"^\[kilnc\] (.+?) \.\.\.", text, re.M)
    frames = re.findall(r"^\s*#\d+ 0x[0-9a-f]+ (.*[Kk]iln.*?)(?: \(|$)", text, re.M)
    msg = f"crashed ({what})"
    if steps:
        msg += f" in step '{steps[-1]}'"
    if frames:
        msg += f" at {frames[0].strip()}"
    return msg


def first_error(log_path: Path) -> str:
    lines = [l.strip() for l in log_path.read_text(errors="replace").splitlines() if l.strip()]
    errors = [l for l in lines if re.search(r"\berror\b", l, re.I)]
    return (errors or lines or ["(no output)"])[0][:300]


#===----------------------------------------------------------------------===#
# Export and compile
#===----------------------------------------------------------------------===#

def graph_model(cfg: BenchConfig, args) -> str:
    """The model (file stem) whose graph serves `cfg` under --exporter."""
    spec = MODELS[cfg.model]
    return export_spec(args.exporter, tiny(spec) if args.tiny else spec).name


def ensure_models(names: dict, args) -> dict:
    """{model: manifest or StepError} for {model: a configs.MODELS name that
    exports it}, exporting what is missing."""
    result = {}
    for name, source in names.items():
        onnx_path, json_path = args.models / f"{name}.onnx", args.models / f"{name}.json"
        if not (onnx_path.exists() and json_path.exists()):
            if not Path(args.export_python).exists():
                result[name] = StepError(f"export needs {args.export_python} "
                                         "(bash scripts/setup-export.sh)")
                continue
            log(f"exporting {name} (once; cached in {args.models})")
            log_path = args.models / f"{name}.export.log"
            with machine_lock(args.lock):
                rc, wall, rss = run_measured(
                    [args.export_python, str(HERE / "export_models.py"), "--out", str(args.models),
                     "--exporter", args.exporter, source] + (["--tiny"] if args.tiny else []),
                    log_path, args.export_timeout)
            if rc != 0 or not json_path.exists():
                result[name] = StepError(f"{args.exporter} export failed: {first_error(log_path)} "
                                         f"(log {log_path})")
                continue
            log(f"exported {name} in {wall:.0f} s")
        result[name] = json.loads(json_path.read_text())
    return result


def lib_name(model: str, cfg: BenchConfig, specialize: bool, suffix: str = "") -> str:
    if not specialize:
        return model + suffix
    return f"{model}{suffix}__b{cfg.batch}_s{cfg.seq}" + (f"_p{cfg.past}" if cfg.past else "")


# --quantize: which artifact Kiln runs (kilnc --quantize=MODE on the fp32
# model, or ORT's int8 model compiled as it is), and how the floor counts it
# (roofline.work's int8: int8 weights with int8 or fp32 math).
QUANT_MODES = ("int8-dynamic", "int8-weight", "ort-int8", "int4-weight", "int4-dynamic",
               "ort-int4")
INT8_LIB_SUFFIX = {"int8-dynamic": "_int8dyn", "int8-weight": "_int8w", "ort-int8": "_ortint8",
                   "int4-weight": "_int4w", "int4-dynamic": "_int4dyn", "ort-int4": "_ortint4"}
INT8_WORK = {"int8-dynamic": "gemm", "int8-weight": "weights", "ort-int8": "gemm",
             "int4-weight": "int4", "int4-dynamic": "int4-gemm", "ort-int4": "int4"}
# ONNX Runtime's model of a mode (quantize_models.py --kind), and whether
# Kiln compiles that model too instead of quantizing the fp32 one.
ORT_KIND = {m: ("int4" if "int4" in m else "int8") for m in QUANT_MODES}
# int4-dynamic's activations are int8: ORT runs MatMulNBits at
# accuracy_level=4, its int8 compute, against it.
ORT_KIND["int4-dynamic"] = "int4q8"
COMPILES_ORT_MODEL = ("ort-int8", "ort-int4")


def bits_label(mode: str) -> str:
    return "int4" if "int4" in mode else "int8"


def ensure_int8_models(models: list, args) -> dict:
    """{model: path of ONNX Runtime's quantized model of --quantize's kind
    (int8: quantize_dynamic, QInt8 weights; int4: MatMulNBits) or StepError},
    made once by bench/quantize_models.py next to the fp32 model and remade
    when that is newer."""
    import quantize_models
    kind = ORT_KIND[args.quantize]
    tool = "MatMulNBitsQuantizer" if kind.startswith("int4") else "quantize_dynamic"
    result = {}
    for name in models:
        path, record = quantize_models.int8_paths(args.models, name, kind)
        if not quantize_models.is_current(args.models, name, kind):
            log(f"quantizing {name} with onnxruntime.quantization's {tool} "
                f"(once; cached as {path.name})")
            log_path = args.models / f"{name}_{kind}.quantize.log"
            with machine_lock(args.lock):
                rc, wall, rss = run_measured(
                    [sys.executable, str(HERE / "quantize_models.py"), str(args.models), name,
                     "--kind", kind, "--force"], log_path, args.export_timeout)
            if rc != 0 or not quantize_models.is_current(args.models, name, kind):
                result[name] = StepError(f"{tool} failed: {first_error(log_path)} "
                                         f"(log {log_path})")
                continue
            log(f"  {wall:.0f} s, peak RSS {rss:.0f} MiB")
        result[name] = path
    return result


def artifact(name: str, onnx_path: Path, extra: list, args, results: dict):
    """The path of artifact `name` compiled from `onnx_path` with `extra`
    kilnc flags, compiled once per run (or reused, --reuse-libs); its record
    goes into results['compile'], an error there too."""
    lib = args.libs / f"lib{name}.so"
    if name not in results["compile"]:
        reused = (args.reuse_libs and os.access(args.kilnc, os.X_OK)
                  and reusable_compile(onnx_path, lib, extra, args))
        if reused:
            results["compile"][name] = reused
            log(f"  reusing {lib}")
        elif os.access(args.kilnc, os.X_OK):
            lib.unlink(missing_ok=True)
            lib.with_suffix(".compile.json").unlink(missing_ok=True)
            results["compile"][name] = compile_model(onnx_path, lib, extra, args)
        else:
            results["compile"][name] = dict(error=f"no kilnc at {args.kilnc}")
    return str(lib)


def shape_flags(manifest: dict, cfg: BenchConfig) -> list:
    """--shape flags for every plain symbol of the graph's inputs (whatever
    the exporter named them: batch, batch_size, past_sequence_length, ...),
    from the shapes of the configuration's inputs. A dim of 0 (the empty past
    of a prefill through Optimum's with-past graph) stays symbolic: kilnc
    --shape takes values >= 1."""
    shapes = input_shapes(manifest, cfg)
    values = {}
    for name, axes in manifest["dynamic_axes"].items():
        for axis, sym in axes.items():
            if name in shapes and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", sym):
                values.setdefault(sym, shapes[name][0][int(axis)])
    return [f"--shape={k}={v}" for k, v in values.items() if v > 0]


def kilnc_steps(text: str) -> list:
    """kilnc -v's '[kilnc] STEP ...' lines with their times; the time ends the
    line or, when a pass timing report came between, stands on a line of its own."""
    steps, current = [], None
    for line in text.splitlines():
        m = re.match(r"^\[kilnc\] (.+?) \.\.\.(?: ([\d.]+) s)?$", line)
        if m:
            current = m.group(1)
            if m.group(2):
                steps.append(dict(step=current, seconds=float(m.group(2))))
                current = None
            continue
        m = re.match(r"^([\d.]+) s$", line)
        if m and current:
            steps.append(dict(step=current, seconds=float(m.group(1))))
            current = None
    return steps


def kilnc_command(onnx_path: Path, lib: Path, extra: list, args) -> list:
    return [args.kilnc, str(onnx_path), "-o", str(lib), "-v"] + shlex.split(args.kilnc_flags) + extra


def reusable_compile(onnx_path: Path, lib: Path, extra: list, args):
    """The compile record of `lib` if this very kilnc binary compiled it, with
    the same command, from the current model; else None."""
    cached = lib.with_suffix(".compile.json")
    info = json.loads(cached.read_text()) if cached.exists() else {}
    if (lib.exists() and info.get("cmd") == kilnc_command(onnx_path, lib, extra, args)
            and info.get("kilnc_mtime") == os.path.getmtime(args.kilnc)
            and lib.stat().st_mtime > onnx_path.stat().st_mtime):
        return dict(info, reused=True)
    return None


def compile_model(onnx_path: Path, lib: Path, extra: list, args) -> dict:
    cmd = kilnc_command(onnx_path, lib, extra, args)
    log_path = lib.with_suffix(".kilnc.log")
    # kilnc writes the weights again into TMPDIR while it links; a private
    # TMPDIR is removed even if kilnc is killed (--compile-timeout).
    tmp = args.out / "tmp" / lib.stem
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    log(f"compiling {onnx_path.name} -> {lib.name}: {' '.join(cmd[1:])}")
    with machine_lock(args.lock):
        kilnc_mtime = os.path.getmtime(args.kilnc)
        rc, wall, rss = run_measured(cmd, log_path, args.compile_timeout,
                                     env=dict(os.environ, TMPDIR=str(tmp)))
    shutil.rmtree(tmp, ignore_errors=True)
    info = dict(cmd=cmd, seconds=round(wall, 2), peak_rss_mib=round(rss, 1), log=str(log_path),
                kilnc_mtime=kilnc_mtime, runtime_mtime=runtime_mtime(args.kilnc))
    if rc is None:
        info["error"] = f"kilnc timed out after {args.compile_timeout:.0f} s (log {log_path})"
    elif rc < 0:
        info["error"] = f"kilnc {crash_summary(log_path, rc)} (log {log_path})"
    elif rc != 0 or not lib.exists():
        info["error"] = f"kilnc exit {rc}: {first_error(log_path)}"
    else:
        text = log_path.read_text(errors="replace")
        m = re.search(r"([\d.]+) MB of weights", text)
        info["weight_mb_kilnc"] = float(m.group(1)) if m else None
        info["lib_bytes"] = lib.stat().st_size
        info["steps"] = kilnc_steps(text)
        lib.with_suffix(".compile.json").write_text(json.dumps(info, indent=1) + "\n")
    state = "FAILED: " + info["error"] if "error" in info else "ok"
    log(f"  {wall:.1f} s, peak RSS {rss:.0f} MiB: {state}")
    return info


#===----------------------------------------------------------------------===#
# Timing
#===----------------------------------------------------------------------===#

class Worker:
    """A workers.py process for one engine."""

    def __init__(self, kind: str, log_path: Path, env=None):
        self.kind = kind
        self.log_path = log_path
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen([sys.executable, str(HERE / "workers.py"), kind],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True, bufsize=1, env=env)

    def request(self, req: dict, timeout: float) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.kill()
            raise StepError(f"no answer within {timeout:g} s (killed)")
        line = self.proc.stdout.readline()
        if not line:
            rc = self.proc.wait()
            tail = self.log_path.read_text(errors="replace").strip().splitlines()[-3:]
            raise StepError(f"worker died (exit {rc}): {' | '.join(tail)[:300]}")
        res = json.loads(line)
        if "error" in res:
            raise StepError(res["error"][:300])
        return res

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"cmd": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.kill()
        self.log.close()


# Cores that other processes may use during timing before a row is marked busy.
BUSY_CORES = 0.1


def cpu_jiffies(own_pids: list) -> tuple:
    """(busy jiffies of the whole machine, jiffies of `own_pids` and their
    threads), from /proc; their difference over a timing phase is what other
    processes took from it."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    busy = sum(fields) - fields[3] - fields[4]  # all but idle and iowait
    own = 0
    for pid in own_pids:
        with contextlib.suppress(OSError):
            stat = Path(f"/proc/{pid}/stat").read_text()
            after_comm = stat[stat.rindex(")") + 2:].split()
            own += int(after_comm[11]) + int(after_comm[12])  # utime, stime
    return busy, own


def input_shapes(manifest: dict, cfg: BenchConfig) -> dict:
    """{input: (shape, dtype)} of `cfg` for the model's inputs. The mask of a
    causal graph (Optimum's) covers past and new tokens."""
    c, b, s, p = manifest["config"], cfg.batch, cfg.seq, cfg.past
    shapes = {}
    for name in manifest["inputs"]:
        if name in ("input_ids", "token_type_ids", "position_ids"):
            shapes[name] = ((b, s), np.int64)
        elif name == "attention_mask":
            shapes[name] = ((b, s if manifest["family"] == "bert" else p + s), np.int64)
        elif name.startswith("past_key_values."):
            shapes[name] = ((b, c["kv_heads"], p, c["head_dim"]), np.float32)
        else:
            raise StepError(f"no input generator for model input '{name}'")
    return shapes


def make_inputs(manifest: dict, cfg: BenchConfig, directory: Path):
    """Deterministic inputs for `cfg`, one <name>.npy each: random token ids,
    an all-ones mask, zero token types, positions after the past, a
    standard-normal KV cache."""
    directory.mkdir(parents=True, exist_ok=True)
    g = np.random.default_rng(1234)
    c = manifest["config"]
    for name, (shape, dtype) in input_shapes(manifest, cfg).items():
        if name == "input_ids":
            value = g.integers(0, c["vocab"], shape, dtype=dtype)
        elif name == "attention_mask":
            value = np.ones(shape, dtype)
        elif name == "token_type_ids":
            value = np.zeros(shape, dtype)
        elif name == "position_ids":
            value = np.broadcast_to(np.arange(cfg.past, cfg.past + cfg.seq, dtype=dtype),
                                    shape).copy()
        else:
            value = g.standard_normal(shape, dtype)
        np.save(directory / f"{name}.npy", value)


def compare(kiln_dir: Path, ort_dir: Path, names: list, atol: float, rtol: float) -> dict:
    per_output, worst, failing = {}, None, 0
    for name in names:
        k_path = kiln_dir / f"{name.replace('/', '_')}.npy"
        if not k_path.exists():
            raise StepError(f"Kiln has no output '{name}'")
        got, want = np.load(k_path), np.load(ort_dir / f"{name.replace('/', '_')}.npy")
        if got.shape != want.shape:
            raise StepError(f"output {name}: Kiln shape {got.shape}, ORT {want.shape}")
        diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
        bad = int(np.count_nonzero(~(diff <= atol + rtol * np.abs(want))))  # NaN counts as bad
        err = float(np.nanmax(diff)) if diff.size else 0.0
        if np.isnan(diff).any():
            err = float("nan")
        per_output[name] = dict(max_abs_err=err, max_abs_ref=float(np.abs(want).max()),
                                mismatches=bad, elements=int(diff.size))
        failing += bad
        if worst is None or not (err <= per_output[worst]["max_abs_err"]):
            worst = name
    return dict(ok=failing == 0, worst_output=worst,
                max_abs_err=per_output[worst]["max_abs_err"] if worst else 0.0,
                atol=atol, rtol=rtol, outputs=per_output)


def summarize(samples: list, rounds: list) -> dict:
    s = sorted(samples)
    return dict(median_ms=statistics.median(s), min_ms=s[0],
                p90_ms=s[min(len(s) - 1, int(0.9 * len(s)))], iterations=len(s),
                round_medians_ms=[statistics.median(r) for r in rounds if r])


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    den = np.linalg.norm(a) * np.linalg.norm(b)
    return float(a @ b / den) if den else float(np.array_equal(a, b))


def compare_cosine(io: Path, names: list, min_cosine: float) -> dict:
    """--quantize's check: the cosine similarity of each output of Kiln's int8
    artifact (out_kiln) and of ONNX Runtime's int8 model (out_ort) with ONNX
    Runtime's fp32 output (out_ort_fp32), as whole tensors. An output passes
    when Kiln's cosine is at least `min_cosine`, or at least ORT's int8
    cosine where that is lower (int8 held to ORT's own int8 error). Kiln
    against ORT int8 is kept too: with --quantize ort-int8 both run the same
    weights and scheme."""
    per_output, worst, failing = {}, None, []
    for name in names:
        files = {k: io / f"out_{k}" / f"{name.replace('/', '_')}.npy"
                 for k in ("kiln", "ort", "ort_fp32")}
        if not files["kiln"].exists() or not files["ort_fp32"].exists():
            raise StepError(f"no output '{name}' of Kiln or of ORT fp32")
        got, ref = np.load(files["kiln"]), np.load(files["ort_fp32"])
        if got.shape != ref.shape:
            raise StepError(f"output {name}: Kiln shape {got.shape}, ORT fp32 {ref.shape}")
        entry = dict(cos_kiln=cosine(got, ref),
                     max_abs_err_kiln=float(np.abs(got.astype(np.float64) - ref).max())
                     if got.size else 0.0)
        if files["ort"].exists():
            ort8 = np.load(files["ort"])
            entry.update(cos_ort=cosine(ort8, ref), cos_kiln_ort=cosine(got, ort8),
                         max_abs_err_ort=float(np.abs(ort8.astype(np.float64) - ref).max())
                         if ort8.size else 0.0)
        bar = min(min_cosine, entry.get("cos_ort", min_cosine))
        entry["ok"] = bool(entry["cos_kiln"] >= bar)  # NaN fails
        if not entry["ok"]:
            failing.append(name)
        per_output[name] = entry
        if worst is None or not (entry["cos_kiln"] >= per_output[worst]["cos_kiln"]):
            worst = name
    return dict(ok=not failing, kind="cosine", min_cosine=min_cosine, failing=failing,
                worst_output=worst, cos_kiln=per_output[worst]["cos_kiln"] if worst else None,
                cos_ort=min((e["cos_ort"] for e in per_output.values() if "cos_ort" in e),
                            default=None),
                outputs=per_output)


def time_config(cfg: BenchConfig, manifest: dict, engines_spec: list, args, row: dict,
                untimed=()):
    """Fills row[KEY] for each (KEY, worker kind, model or None) of
    `engines_spec` (a None model: its compile failed, nothing to run), and
    row['check'] (and row['check_fp32'] with --quantize), or their errors.
    Engines named in `untimed` are loaded for their outputs only."""
    io = args.out / "io" / cfg.name
    inputs = io / "inputs"
    make_inputs(manifest, cfg, inputs)
    for key, _, _ in engines_spec:  # no check may read an earlier run's outputs
        shutil.rmtree(io / f"out_{key}", ignore_errors=True)
    engines = {key: (Worker(kind, io / f"{key}.log"), model)
               for key, kind, model in engines_spec if model is not None}
    estimate, samples, rounds, outputs = {}, {}, {}, {}
    try:
        for kind in list(engines):
            worker, model = engines[kind]
            try:
                res = worker.request(dict(cmd="load", model=model, inputs=str(inputs),
                                          outputs=str(io / f"out_{kind}"), threads=args.threads,
                                          steps=cfg.steps, inplace=cfg.inplace),
                                     args.call_timeout * max(1, cfg.steps))
                outputs[kind] = res["outputs"]
                if kind in untimed:
                    row[kind] = dict(load_ms=res["load_ms"], first_ms=res["first_ms"])
                    worker.close()
                    del engines[kind]
                    continue
                if args.warmup:
                    warm = worker.request(dict(cmd="time", n=args.warmup),
                                          args.call_timeout * args.warmup)["ms"]
                    estimate[kind] = statistics.median(warm)
                else:
                    estimate[kind] = res["first_ms"] * max(1, cfg.steps)
                row[kind] = dict(load_ms=res["load_ms"], first_ms=res["first_ms"])
                log(f"  {kind}: load {res['load_ms']:.0f} ms, first call {res['first_ms']:.1f} ms")
            except StepError as e:
                row[kind] = dict(error=str(e))
                log(f"  {kind}: FAILED: {e}")
                worker.kill()
                del engines[kind]
        if args.quantize and "kiln" in outputs and "ort_fp32" in outputs:
            try:
                row["check"] = c = compare_cosine(io, outputs["kiln"], args.min_cosine)
                ort = (f", ORT {bits_label(args.quantize)} {c['cos_ort']:.5f}"
                       if c["cos_ort"] is not None else "")
                log(f"  check: min cosine with ORT fp32: Kiln {c['cos_kiln']:.5f} "
                    f"({c['worst_output']}){ort}: {'ok' if c['ok'] else 'BELOW ' + str(c['min_cosine'])}")
            except StepError as e:
                row["check"] = dict(ok=False, error=str(e))
                log(f"  check: FAILED: {e}")
        pairs = ([("check_fp32", "kiln_fp32", "ort_fp32")] if args.quantize
                 else [("check", "kiln", "ort")])
        for key, kiln, ort in pairs:
            if kiln in outputs and ort in outputs:
                try:
                    row[key] = c = compare(io / f"out_{kiln}", io / f"out_{ort}", outputs[kiln],
                                           args.atol, args.rtol)
                    log(f"  {key}: max abs err {c['max_abs_err']:.2e} ({c['worst_output']}): "
                        f"{'ok' if c['ok'] else 'MISMATCH'}")
                except StepError as e:
                    row[key] = dict(ok=False, error=str(e))
                    log(f"  {key}: FAILED: {e}")

        # Equal shares of the budget per engine and round, at least one call.
        share = args.budget / (args.rounds * max(1, len(engines)))
        n = {k: max(1, min(args.max_iters, int(share * 1e3 / max(estimate[k], 1e-3))))
             for k in engines}
        order = [k for k, _, _ in engines_spec if k in engines]
        own = [os.getpid()] + [w.proc.pid for w, _ in engines.values()]
        before, t0 = cpu_jiffies(own), time.perf_counter()
        for r in range(args.rounds):
            for kind in (order if r % 2 == 0 else order[::-1]):
                if kind not in engines:
                    continue
                worker, _ = engines[kind]
                timeout = args.call_timeout + 5 * n[kind] * estimate[kind] / 1e3
                try:
                    ms = worker.request(dict(cmd="time", n=n[kind]), timeout)["ms"]
                except StepError as e:
                    row[kind]["error"] = str(e)
                    log(f"  {kind}: FAILED in round {r + 1}: {e}")
                    worker.kill()
                    del engines[kind]
                    continue
                if cfg.steps:  # a call was a whole generation: per token
                    ms = [m / cfg.steps for m in ms]
                samples.setdefault(kind, []).extend(ms)
                rounds.setdefault(kind, []).append(ms)
            log(f"  round {r + 1}/{args.rounds}: " + ", ".join(
                f"{k} {statistics.median(rounds[k][-1]):.2f} ms" for k in order
                if k in rounds and len(rounds[k]) == r + 1))
        after, wall = cpu_jiffies(own), time.perf_counter() - t0
        other = ((after[0] - before[0]) - (after[1] - before[1])) / os.sysconf("SC_CLK_TCK") / wall
        row["other_cpu_cores"] = round(max(other, 0.0), 2)
        if other > BUSY_CORES:
            log(f"  warning: other processes used {other:.2f} cores while timing")
        for kind in samples:
            row[kind].update(summarize(samples[kind], rounds[kind]))
    finally:
        for worker, _ in engines.values():
            worker.close()


#===----------------------------------------------------------------------===#
# Report
#===----------------------------------------------------------------------===#

def portable(value):
    """`value` with this checkout's path dropped from every string in it, so
    that results files do not name the machine they were measured on."""
    if isinstance(value, str):
        return value.replace(str(ROOT) + "/", "")
    if isinstance(value, list):
        return [portable(v) for v in value]
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    return value


def write_results(path: Path, results: dict):
    path.write_text(json.dumps(portable(results), indent=1) + "\n")


def fmt_ms(x):
    if x is None:
        return "-"
    return f"{x:.1f}" if x >= 10 else f"{x:.2f}" if x >= 1 else f"{x:.3f}"


def print_tables(results: dict):
    print()
    print("Compile (kilnc)")
    head = (f"{'artifact':<26} {'seconds':>8} {'peak RSS MiB':>13} {'weights MB':>11} {'.so MB':>8}"
            f"  status; kilnc -v steps (s)")
    print(head)
    print("-" * len(head))
    for name, c in results["compile"].items():
        status = c.get("error", "ok" + (" (reused)" if c.get("reused") else ""))
        w = c.get("weight_mb_kilnc")
        so = c.get("lib_bytes")
        steps = ", ".join(f"{st['step'].split()[0]} {st['seconds']:.1f}" for st in c.get("steps", []))
        print(f"{name:<26} {c.get('seconds', 0):>8.1f} {c.get('peak_rss_mib', 0):>13.0f} "
              f"{(f'{w:.1f}' if w else '-'):>11} {(f'{so / 1e6:.1f}' if so else '-'):>8}  {status}"
              + (f"; {steps}" if steps else ""))
    print()
    meta = results["meta"]
    exporter = meta.get("exporter", DEFAULT_EXPORTER)
    how = sorted({f"{m['exporter']} ({m['export']['call']}, opset {m['opset']}, attention "
                  f"{m['export']['attn_implementation']})"
                  for m in results["models"].values() if m.get("export")})
    print(f"Models exported by {exporter}" + (f": {'; '.join(how)}" if how else ""))
    print("Per-call time, median over all rounds (ms); floor = max(FLOPs/peak, bytes/bandwidth)")
    probes = [f"{m['fma_gflops']:.0f} GFLOP/s, "
              + (f"{m['int8_gops']:.0f} int8 GOP/s, " if m.get("int8_gops") else "")
              + f"{m['read_gbs']:.1f} GB/s" if "error" not in m
              else m["error"] for m in meta.get("measured_limits", [])]
    print(f"with peak {meta['peak_gflops']:.0f} GFLOP/s ({meta['peak_gflops_source']}) and bandwidth "
          f"{meta['bandwidth_gbs']:.1f} GB/s ({meta['bandwidth_gbs_source']}); kiln_machine_limits "
          f"measured {' at the start, '.join(probes) or 'nothing'} at the end")
    if meta.get("quantize"):
        print_int8_table(results)
        return
    head = (f"{'config':<18} {'kiln ms':>9} {'ORT ms':>9} {'ORT/kiln':>8} {'floor ms':>9} "
            f"{'bound':>7} {'kiln %fl':>8} {'ORT %fl':>8} {'max|err|':>9} {'iters k/o':>10}  notes")
    print(head)
    print("-" * len(head))
    for name, r in results["configs"].items():
        k, o = r.get("kiln", {}), r.get("ort", {})
        km, om, fl = k.get("median_ms"), o.get("median_ms"), r.get("floor_ms")
        ratio = f"{om / km:.2f}" if km and om else "-"
        kp = f"{100 * fl / km:.1f}" if km and fl else "-"
        op = f"{100 * fl / om:.1f}" if om and fl else "-"
        check = r.get("check", {})
        err = check.get("max_abs_err")
        notes = [r["error"]] if "error" in r else []
        notes += [f"skipped ({r.get('exporter', exporter)}): {r['skipped']}"] if "skipped" in r else []
        notes += [f"kiln: {k['error']}"] if "error" in k else []
        notes += [f"ort: {o['error']}"] if "error" in o else []
        if r.get("other_cpu_cores", 0) > BUSY_CORES:
            notes.append(f"BUSY: other processes used {r['other_cpu_cores']:.2f} cores")
        if check.get("error"):
            notes.append(f"check: {check['error']}")
        elif check and not check.get("ok"):
            notes.append(f"MISMATCH > {check['atol']:g}+{check['rtol']:g}|ref| "
                         f"in {check['worst_output']}")
        iters = f"{k.get('iterations', 0)}/{o.get('iterations', 0)}"
        print(f"{name:<18} {fmt_ms(km):>9} {fmt_ms(om):>9} {ratio:>8} {fmt_ms(fl):>9} "
              f"{r.get('bound', '-'):>7} {kp:>8} {op:>8} "
              f"{(f'{err:.1e}' if err is not None else '-'):>9} {iters:>10}  {'; '.join(notes)}")
    print()


def row_notes(r: dict, keys: tuple) -> list:
    notes = [r["error"]] if "error" in r else []
    notes += [f"skipped ({r.get('exporter')}): {r['skipped']}"] if "skipped" in r else []
    notes += [f"{k}: {r[k]['error']}" for k in keys if "error" in r.get(k, {})]
    if r.get("other_cpu_cores", 0) > BUSY_CORES:
        notes.append(f"BUSY: other processes used {r['other_cpu_cores']:.2f} cores")
    return notes


def int8_rows(results: dict) -> list:
    """Per configuration of a --quantize run, the cells of its table row."""
    rows = []
    for name, r in results["configs"].items():
        get = lambda k: r.get(k, {}).get("median_ms")  # noqa: E731
        k8, o8, k32, o32 = get("kiln"), get("ort"), get("kiln_fp32"), get("ort_fp32")
        fl, fl32 = r.get("floor_ms"), r.get("floor_fp32_ms")
        check, check32 = r.get("check", {}), r.get("check_fp32", {})
        notes = row_notes(r, ("kiln", "ort", "kiln_fp32", "ort_fp32"))
        if check.get("error"):
            notes.append(f"check: {check['error']}")
        elif check and not check.get("ok"):
            notes.append(f"cosine below {check['min_cosine']:g} in {', '.join(check['failing'])}")
        if check32.get("error"):
            notes.append(f"fp32 check: {check32['error']}")
        elif check32 and not check32.get("ok"):
            notes.append(f"fp32 MISMATCH in {check32['worst_output']}")
        pct = lambda f, t: f"{100 * f / t:.0f}" if f and t else "-"  # noqa: E731
        ratio = lambda a, b: f"{a / b:.2f}" if a and b else "-"  # noqa: E731
        cos = lambda c: f"{c:.4f}" if c is not None else "-"  # noqa: E731
        rows.append(dict(
            config=name, ort8=fmt_ms(o8), kiln8=fmt_ms(k8), ratio8=ratio(o8, k8),
            floor8=fmt_ms(fl), bound=r.get("bound", "-"), kpct8=pct(fl, k8), opct8=pct(fl, o8),
            cos_kiln=cos(check.get("cos_kiln")), cos_ort=cos(check.get("cos_ort")),
            ort32=fmt_ms(o32), kiln32=fmt_ms(k32), ratio32=ratio(o32, k32), floor32=fmt_ms(fl32),
            kpct32=pct(fl32, k32), gain=ratio(k32, k8), notes="; ".join(notes)))
    return rows


INT8_COLUMNS = (  # key, text header, width, Markdown header
    ("config", "config", 24, "config"),
    ("ort8", "ORT i8", 8, "ORT int8 ms"), ("kiln8", "Kiln i8", 8, "Kiln int8 ms"),
    ("ratio8", "ORT/K", 6, "ORT/Kiln"), ("floor8", "i8 floor", 9, "int8 floor ms"),
    ("bound", "bound", 7, "bound"), ("kpct8", "K %fl", 6, "Kiln % of floor"),
    ("opct8", "O %fl", 6, "ORT % of floor"), ("cos_kiln", "cos K", 7, "cos Kiln"),
    ("cos_ort", "cos O", 7, "cos ORT"), ("ort32", "ORT f32", 8, "ORT fp32 ms"),
    ("kiln32", "Kiln f32", 8, "Kiln fp32 ms"), ("ratio32", "ORT/K", 6, "ORT/Kiln fp32"),
    ("floor32", "f32 fl", 7, "fp32 floor ms"), ("kpct32", "K %fl", 6, "Kiln fp32 % of floor"),
    ("gain", "f32/i8", 6, "Kiln fp32/int8"))


def quantized_columns(mode: str) -> list:
    """INT8_COLUMNS with int8's names replaced by int4's for an int4 mode."""
    if bits_label(mode) == "int8":
        return list(INT8_COLUMNS)
    return [(k, h.replace("i8", "i4"), w, md.replace("int8", "int4"))
            for k, h, w, md in INT8_COLUMNS]


def print_int8_table(results: dict):
    meta = results["meta"]
    bits = bits_label(meta["quantize"])
    if bits == "int4":
        level = ", accuracy_level=4" if ORT_KIND[meta["quantize"]] == "int4q8" else ""
        ort_model = f"MatMulNBitsQuantizer(block_size=32, is_symmetric=True{level})'s model"
        compute = ("FLOPs / fp32 peak" if INT8_WORK[meta["quantize"]] == "int4" else
                   f"GEMM ops / {meta['int8_peak_gops']:.0f} GOP/s + other FLOPs / fp32 peak")
        floor = (f"max({compute}, bytes with 4-bit weights and an fp32 scale per 32 "
                 "/ bandwidth)")
    else:
        ort_model = "quantize_dynamic(weight_type=QInt8)'s model"
        floor = (f"max(int8 GEMM ops / {meta['int8_peak_gops']:.0f} GOP/s "
                 f"({meta['int8_peak_gops_source']}) + other FLOPs / fp32 peak, bytes with "
                 "1-byte weights / bandwidth)")
    print(f"{bits} ({meta['quantize']}): Kiln "
          + (f"compiles ONNX Runtime's {bits} model" if meta["quantize"] in COMPILES_ORT_MODEL
             else f"kilnc --quantize={meta['quantize']}")
          + f"; ORT runs {ort_model}. {bits} floor = {floor}; cos: min over outputs of the "
          "cosine with ORT fp32's output")
    columns = quantized_columns(meta["quantize"])
    head = " ".join(f"{h:<{w}}" if k == "config" else f"{h:>{w}}" for k, h, w, _ in columns)
    print(head + "  notes")
    print("-" * len(head))
    for row in int8_rows(results):
        print(" ".join(f"{row[k]:<{w}}" if k == "config" else f"{row[k]:>{w}}"
                       for k, _, w, _ in columns) + (f"  {row['notes']}" if row["notes"] else ""))
    print()


def print_markdown(results: dict):
    if results["meta"].get("quantize"):
        cols = ([(k, md) for k, _, _, md in quantized_columns(results["meta"]["quantize"])]
                + [("notes", "notes")])
        rows = int8_rows(results)
    else:
        cols = [("config", "config"), ("kiln", "Kiln ms"), ("ort", "ORT ms"),
                ("ratio", "ORT/Kiln"), ("floor", "floor ms"), ("kpct", "Kiln % of floor"),
                ("opct", "ORT % of floor"), ("err", "max abs err"), ("notes", "notes")]
        rows = []
        for name, r in results["configs"].items():
            km, om = r.get("kiln", {}).get("median_ms"), r.get("ort", {}).get("median_ms")
            fl, err = r.get("floor_ms"), r.get("check", {}).get("max_abs_err")
            rows.append(dict(config=name, kiln=fmt_ms(km), ort=fmt_ms(om),
                             ratio=f"{om / km:.2f}" if km and om else "-",
                             floor=f"{fmt_ms(fl)} ({r.get('bound', '-')})",
                             kpct=f"{100 * fl / km:.0f}" if km and fl else "-",
                             opct=f"{100 * fl / om:.0f}" if om and fl else "-",
                             err=f"{err:.1e}" if err is not None else "-",
                             notes="; ".join(row_notes(r, ("kiln", "ort")))))
    print("| " + " | ".join(h for _, h in cols) + " |")
    print("|" + "---|" * len(cols))
    for row in rows:
        print("| " + " | ".join(row[k] for k, _ in cols) + " |")
    print()


def tool_revision(path: str) -> str:
    try:
        # --dirty: a tool built from uncommitted changes says so.
        return subprocess.run(["git", "-C", str(Path(path).resolve().parent), "describe", "--always",
                               "--dirty"], capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def measure_limits(args) -> dict:
    """This machine's fp32 FMA peak, int8 (vpdpbusd) peak and read bandwidth
    now, from kiln_machine_limits on --threads threads, or {'error': why}."""
    probe = Path(args.limits_probe)
    if not os.access(probe, os.X_OK):
        return dict(error=f"no {probe} (build the project)")
    with machine_lock(args.lock):
        try:
            out = subprocess.run([str(probe), str(args.threads), "--json"], capture_output=True,
                                 text=True, timeout=300, check=True).stdout
            measured = json.loads(out)
        except (OSError, subprocess.SubprocessError, ValueError) as e:
            return dict(error=f"{probe}: {e}")
    int8 = (f", int8 peak {measured['int8_gops']:.0f} GOP/s ({measured['int8_isa']})"
            if measured.get("int8_gops") else "")
    log(f"  measured: fp32 FMA peak {measured['fma_gflops']:.0f} GFLOP/s ({measured['isa']}){int8}, "
        f"read {measured['read_gbs']:.1f} GB/s")
    return measured


def floor_limits(args, measured: list) -> dict:
    """The peak and bandwidth the floors divide by: a flag's value where
    given, else the best any probe of this run measured, else the defaults."""
    limits = {}
    for key, flag, default in (("peak_gflops", "fma_gflops", roofline.DEFAULT_PEAK_FLOPS / 1e9),
                               ("int8_peak_gops", "int8_gops",
                                roofline.DEFAULT_INT8_PEAK_OPS / 1e9),
                               ("bandwidth_gbs", "read_gbs", roofline.DEFAULT_BANDWIDTH / 1e9)):
        given = getattr(args, key, None)
        ok = [m[flag] for m in measured if m.get(flag)]  # a probe without VNNI says 0
        if given:
            limits[key], limits[key + "_source"] = given, "flag"
        elif ok:
            limits[key], limits[key + "_source"] = max(ok), "measured"
        else:
            limits[key], limits[key + "_source"] = default, "default"
    return limits


def apply_floors(results: dict, limits: dict) -> None:
    peaks = (limits["peak_gflops"] * 1e9, limits["bandwidth_gbs"] * 1e9,
             limits["int8_peak_gops"] * 1e9)
    for row in results["configs"].values():
        if "work" in row:
            row["floor_ms"], row["bound"] = roofline.floor_ms(row["work"], *peaks)
        if "work_fp32" in row:
            row["floor_fp32_ms"], row["bound_fp32"] = roofline.floor_ms(row["work_fp32"], *peaks)


def runtime_mtime(kilnc: str):
    """When the runtime library that kilnc links into artifacts
    (BUILD/runtime/libkiln_runtime.a, the kernels) was built, or None."""
    lib = Path(kilnc).resolve().parents[2] / "runtime" / "libkiln_runtime.a"
    if not lib.exists():
        return None
    return datetime.datetime.fromtimestamp(lib.stat().st_mtime).isoformat(timespec="seconds")


def machine_info() -> dict:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return dict(host=platform.node(), cpu=cpu, cores=os.cpu_count(),
                python=platform.python_version())


#===----------------------------------------------------------------------===#
# Main
#===----------------------------------------------------------------------===#

def parse_args(argv):
    ap = argparse.ArgumentParser(
        description="Kiln vs ONNX Runtime on BERT-base, GPT-2 small and a Llama-style model.",
        epilog=f"configurations: {', '.join(CONFIGS)}")
    ap.add_argument("--only", action="append", default=[],
                    help="configurations to run: names or globs, comma-separated, repeatable "
                         "(e.g. --only bert_b1,gpt2_decode_*)")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 round, no warm-up, 5 s budget per configuration")
    ap.add_argument("--tiny", action="store_true",
                    help="toy-size models of the same architectures and exporter, under "
                         "build/bench/tiny: tests the pipeline in seconds, times nothing useful")
    ap.add_argument("--exporter", choices=EXPORTERS, default=DEFAULT_EXPORTER,
                    help="how the models are exported (default torchscript): "
                         "torch.onnx.export dynamo=False (opset 17) or dynamo=True (opset 18), or "
                         "Optimum's main_export in .venv-optimum; dynamo and optimum keep their "
                         "models, artifacts and results under OUT/EXPORTER")
    ap.add_argument("--rounds", type=int, help="alternating rounds per configuration (default 5)")
    ap.add_argument("--budget", type=float,
                    help="seconds of timed calls per configuration, split evenly between the "
                         "engines and rounds; at least one call each (default 60)")
    ap.add_argument("--warmup", type=int, help="untimed calls per engine after the first (default 2)")
    ap.add_argument("--max-iters", type=int, default=200, help="calls per engine and round at most")
    ap.add_argument("--threads", type=int, default=2, help="threads for both engines (default 2)")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--quantize", choices=QUANT_MODES,
                    help="time int8 or int4: Kiln compiles each model with kilnc "
                         "--quantize=MODE (int8-dynamic, int8-weight, int4-weight, int4-dynamic: "
                         "group 32), or "
                         "compiles ONNX Runtime's model (ort-int8, ort-int4); ONNX Runtime runs "
                         "that model (int8: quantize_dynamic, QInt8 weights, made once as "
                         "OUT/models/NAME_int8.onnx; int4: MatMulNBitsQuantizer, block 32, "
                         "symmetric, as NAME_int4.onnx); both fp32 engines are timed in the "
                         "same rounds beside them")
    ap.add_argument("--min-cosine", type=float, default=0.99,
                    help="--quantize's check: cosine of each Kiln int8 output with ORT's fp32 "
                         "output at least this, or at least ORT int8's cosine where lower "
                         "(default 0.99)")
    ap.add_argument("--no-fp32", action="store_true",
                    help="with --quantize: time only the int8 engines (ORT fp32 still runs "
                         "once, as the check's reference)")
    ap.add_argument("--markdown", action="store_true",
                    help="also print the results table as Markdown (docs/performance.md)")
    ap.add_argument("--report", type=Path, metavar="RESULTS_JSON",
                    help="print the tables of an earlier run's results JSON (with --markdown: "
                         "also as Markdown) and exit")
    ap.add_argument("--peak-gflops", type=float,
                    help="fp32 FMA peak of --threads cores for the floors (default: the best "
                         "kiln_machine_limits measured at the start and end of this run)")
    ap.add_argument("--int8-peak-gops", type=float,
                    help="int8 peak (vpdpbusd) of --threads cores for --quantize's compute "
                         "floors (default: measured likewise)")
    ap.add_argument("--bandwidth-gbs", type=float,
                    help="memory bandwidth for the floors (default: measured likewise)")
    ap.add_argument("--limits-probe", default=str(ROOT / "build/test/runtime/kiln_machine_limits"),
                    help="the program that measures both (if missing: "
                         f"{roofline.DEFAULT_PEAK_FLOPS / 1e9:g} GFLOP/s, "
                         f"{roofline.DEFAULT_BANDWIDTH / 1e9:g} GB/s)")
    ap.add_argument("--kilnc", default=os.environ.get("KILNC", str(ROOT / "build/tools/kilnc/kilnc")))
    ap.add_argument("--kilnc-flags", default="-O3", help="extra kilnc flags (default -O3)")
    ap.add_argument("--specialize", action="store_true",
                    help="compile one artifact per configuration with --shape for its "
                         "batch/seq/past instead of one symbolic artifact per model")
    ap.add_argument("--reuse-libs", action="store_true",
                    help="skip kilnc where this kilnc binary already compiled the artifact "
                         "with the same command from the current model")
    ap.add_argument("--export-python", default=str(ROOT / ".venv-export/bin/python"))
    ap.add_argument("--out", type=Path, help="default build/bench (build/bench/tiny with --tiny), "
                    "and its subdirectory EXPORTER for --exporter dynamo or optimum")
    ap.add_argument("--results", type=Path, help="results JSON (default OUT/results.json)")
    ap.add_argument("--lock", default=os.environ.get("KILN_BENCH_LOCK"),
                    help="flock this file around every heavy step (env KILN_BENCH_LOCK)")
    ap.add_argument("--call-timeout", type=float, default=600,
                    help="seconds a load plus first call may take before the engine is killed")
    ap.add_argument("--compile-timeout", type=float, default=3600)
    ap.add_argument("--export-timeout", type=float, default=3600)
    args = ap.parse_args(argv)
    quick = dict(rounds=1, budget=5.0, warmup=0)
    full = dict(rounds=5, budget=60.0, warmup=2)
    for k, v in (quick if args.quick else full).items():
        if getattr(args, k) is None:
            setattr(args, k, v)
    if args.rounds < 1 or args.budget <= 0 or args.warmup < 0:
        ap.error("--rounds must be >= 1, --budget > 0, --warmup >= 0")
    patterns = [p for arg in args.only for p in arg.split(",") if p]
    args.selected = [c for c in CONFIGS if not patterns or any(fnmatch.fnmatch(c, p) for p in patterns)]
    unmatched = [p for p in patterns if not any(fnmatch.fnmatch(c, p) for c in CONFIGS)]
    if unmatched or not args.selected:
        ap.error(f"--only {','.join(unmatched) or ''} matches no configuration; "
                 f"known: {', '.join(CONFIGS)}")
    args.out = args.out or bench_dir(ROOT, args.tiny, args.exporter)
    args.models = args.out / "models"
    args.libs = args.out / "kiln"
    if args.no_fp32 and not args.quantize:
        ap.error("--no-fp32 needs --quantize")
    args.results = args.results or args.out / (f"results-{args.quantize}.json" if args.quantize
                                               else "results.json")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        results = json.loads(args.report.read_text())
        print_tables(results)
        if args.markdown:
            print_markdown(results)
        return 0
    import onnxruntime
    args.models.mkdir(parents=True, exist_ok=True)
    args.libs.mkdir(parents=True, exist_ok=True)
    started = datetime.datetime.now(datetime.timezone.utc)
    if not os.access(args.kilnc, os.X_OK):
        log(f"warning: kilnc not found at {args.kilnc} (--kilnc or KILNC); timing ORT only")
    log(f"configurations: {', '.join(args.selected)}; {args.rounds} round(s), "
        f"{args.budget:g} s budget each, {args.threads} threads; exporter {args.exporter}"
        + (f"; quantize {args.quantize}" if args.quantize else ""))

    configs = [CONFIGS[n] for n in args.selected]
    skipped = {c.name: unsupported(args.exporter, c) for c in configs}
    needed = {}
    for c in configs:
        if not skipped[c.name]:
            needed.setdefault(graph_model(c, args), c.model)
    manifests = ensure_models(dict(sorted(needed.items())), args)
    int8_models = (ensure_int8_models([m for m, man in manifests.items()
                                       if not isinstance(man, StepError)], args)
                   if args.quantize else {})
    results = dict(
        meta=dict(started=started.isoformat(timespec="seconds"), machine=machine_info(),
                  kilnc=args.kilnc, kilnc_revision=tool_revision(args.kilnc),
                  kilnc_mtime=(datetime.datetime.fromtimestamp(os.path.getmtime(args.kilnc))
                               .isoformat(timespec="seconds") if os.path.exists(args.kilnc) else None),
                  kilnc_flags=args.kilnc_flags, specialize=args.specialize, tiny=args.tiny,
                  exporter=args.exporter,
                  onnxruntime=onnxruntime.__version__, numpy=np.__version__,
                  threads=args.threads, rounds=args.rounds, budget_s=args.budget,
                  warmup=args.warmup, argv=sys.argv[1:], quantize=args.quantize,
                  kiln_runtime_mtime=runtime_mtime(args.kilnc)),
        models={}, compile={}, configs={})
    if args.quantize:
        results["meta"].update(min_cosine=args.min_cosine, fp32_beside=not args.no_fp32)
        results["int8_models"] = {
            m: ({"error": str(p)} if isinstance(p, StepError) else
                json.loads(p.with_suffix(".json").read_text()))
            for m, p in int8_models.items()}
    for name, man in manifests.items():
        results["models"][name] = ({"error": str(man), "exporter": args.exporter}
                                   if isinstance(man, StepError) else
                                   {k: man.get(k) for k in ("description", "exporter", "export",
                                                            "opset", "hf_config_class", "config",
                                                            "params", "initializer_bytes",
                                                            "onnx_bytes", "nodes", "inputs",
                                                            "outputs", "dynamic_axes",
                                                            "versions")})
        if not isinstance(man, StepError) and "exporter" not in man:
            results["models"][name]["exporter"] = DEFAULT_EXPORTER  # exported before the option

    log("machine limits at the start")
    measured = [measure_limits(args)]
    limits = floor_limits(args, measured)
    for cfg in configs:
        log(f"{cfg.name}: {cfg.description}")
        model = graph_model(cfg, args)
        row = dict(description=cfg.description, exporter=args.exporter, model=model,
                   batch=cfg.batch, seq=cfg.seq, past=cfg.past)
        results["configs"][cfg.name] = row
        if skipped[cfg.name]:
            row["skipped"] = skipped[cfg.name]
            log(f"  skipped: {skipped[cfg.name]}")
            write_results(args.results, results)
            continue
        man = manifests[model]
        if isinstance(man, StepError):
            row["error"] = str(man)
            log(f"  {man}")
            continue
        # A generation's steps grow the past linearly: their mean is the
        # step at the mean past.
        past = cfg.past + (cfg.steps - 1) / 2 if cfg.steps else cfg.past
        w = roofline.work(man, cfg.batch, cfg.seq, past, inplace=cfg.inplace,
                          int8=INT8_WORK.get(args.quantize, ""))
        fl, bound = roofline.floor_ms(w, limits["peak_gflops"] * 1e9,
                                      limits["bandwidth_gbs"] * 1e9,
                                      limits["int8_peak_gops"] * 1e9)
        row.update(work=w, floor_ms=fl, bound=bound)
        if args.quantize:
            row["quantize"] = args.quantize
            if not args.no_fp32:
                row["work_fp32"] = roofline.work(man, cfg.batch, cfg.seq, past,
                                                 inplace=cfg.inplace)

        # Compile once per artifact and run. Without --quantize: kiln (the
        # artifact) against ort (the model); with it: kiln and ort are the
        # int8 ones, kiln_fp32 and ort_fp32 beside them (ort_fp32 at least
        # loaded: it is the reference of the check).
        onnx_path = args.models / f"{model}.onnx"
        extra = shape_flags(man, cfg) if args.specialize else []
        fp32_lib = None
        if not args.quantize or not args.no_fp32:
            name = lib_name(model, cfg, args.specialize)
            fp32_lib = artifact(name, onnx_path, extra, args, results)
            row["artifact" if not args.quantize else "artifact_fp32"] = name
        if args.quantize:
            int8_model = int8_models.get(model)
            if isinstance(int8_model, StepError):
                row["ort"] = dict(error=str(int8_model))
                if args.quantize in COMPILES_ORT_MODEL:
                    row["kiln"] = dict(error=str(int8_model))
            name = lib_name(model, cfg, args.specialize, INT8_LIB_SUFFIX[args.quantize])
            if args.quantize in COMPILES_ORT_MODEL:
                int8_lib = (None if isinstance(int8_model, StepError)
                            else artifact(name, int8_model, extra, args, results))
            else:
                int8_lib = artifact(name, onnx_path, extra + [f"--quantize={args.quantize}"],
                                    args, results)
            row["artifact"] = name
            int8_onnx = None if isinstance(int8_model, StepError) else str(int8_model)
            spec = [("kiln", "kiln", int8_lib), ("ort", "ort", int8_onnx),
                    ("kiln_fp32", "kiln", fp32_lib), ("ort_fp32", "ort", str(onnx_path))]
        else:
            spec = [("kiln", "kiln", fp32_lib), ("ort", "ort", str(onnx_path))]
        for key, _, lib in spec:
            comp = results["compile"][Path(lib).stem[3:]] if key.startswith("kiln") and lib else {}
            if "error" in comp:
                row[key] = dict(error=comp["error"])
        spec = [(key, kind, None if "error" in row.get(key, {}) else lib)
                for key, kind, lib in spec]

        with machine_lock(args.lock):
            try:
                time_config(cfg, man, spec, args, row,
                            untimed=("ort_fp32",) if args.quantize and args.no_fp32 else ())
            except StepError as e:
                row["error"] = str(e)
                log(f"  FAILED: {e}")
        km, om = row.get("kiln", {}).get("median_ms"), row.get("ort", {}).get("median_ms")
        log(f"  median: kiln {fmt_ms(km)} ms, ORT {fmt_ms(om)} ms, floor {fmt_ms(fl)} ms ({bound})"
            + (" (int8)" if args.quantize else ""))
        # Written after every configuration, so an interrupted run keeps its rows.
        write_results(args.results, results)

    # The machine drifts: the floors use the best either probe measured.
    log("machine limits at the end")
    measured.append(measure_limits(args))
    limits = floor_limits(args, measured)
    apply_floors(results, limits)
    results["meta"].update(limits, measured_limits=measured)
    results["meta"]["seconds"] = round((datetime.datetime.now(datetime.timezone.utc)
                                        - started).total_seconds(), 1)
    write_results(args.results, results)
    print_tables(results)
    if args.markdown:
        print_markdown(results)
    log(f"wrote {args.results}")
    failed = [n for n, r in results["configs"].items() if "skipped" not in r and (
        "error" in r or "error" in r.get("kiln", {}) or not r.get("check", {}).get("ok")
        or "error" in r.get("kiln_fp32", {}) or not r.get("check_fp32", {"ok": True}).get("ok"))]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
