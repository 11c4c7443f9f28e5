#!/usr/bin/env python3
#===- bench/gemm.py - GEMM microbenchmark: Kiln, ORT, OpenBLAS -----------===#
#
# Entry point: bash bench/run.sh gemm [options]   (bench/README.md)
#
# One fp32 MatMul Y[M, N] = X[M, K] @ W[K, N] per (K, N) of the standard
# models, for each M from a decode step (1, 8) to a prefill (128, 512):
#   kiln      one-MatMul ONNX model, W an initializer (kilnc packs it into
#             panels at compile time: the path real models take), M symbolic;
#   kiln_in   the same with W a graph input (packed per call at run time);
#   ort       ONNX Runtime on the initializer model (it pre-packs W too);
#   ort_in    ONNX Runtime on the input model;
#   ob_hsw    OpenBLAS cblas_sgemm with OPENBLAS_CORETYPE=Haswell (AVX2);
#   ob_auto   OpenBLAS with the core type it detects itself.
# Every engine runs in its own workers.py process (OpenBLAS reads its core
# type when loaded), with the same threads and the same inputs; its output is
# checked against numpy in float64 before it is timed. The engines then take
# turns for --rounds rounds (order reversed every other round); the table
# shows GFLOP/s of the median call, the ratios, % of the FMA peak and, for
# M <= 8, the weight stream in GB/s.
#
#===----------------------------------------------------------------------===#
import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import bench  # noqa: E402
from bench import (BUSY_CORES, StepError, Worker, compare, compile_model, cpu_jiffies,  # noqa: E402
                   floor_limits, log, machine_info, machine_lock, measure_limits, reusable_compile,
                   summarize, tool_revision)

ROOT = bench.ROOT
DEFAULT_M = "1,8,128,512"
# (K, N) of the standard models' linear layers: BERT/GPT-2 attention output
# (768x768), FFN up (768x3072) and down (3072x768), GPT-2's fused QKV
# (768x2304), the Llama-style FFN (1024x2816).
DEFAULT_KN = "768x768,768x3072,3072x768,768x2304,1024x2816"
ENGINES = ("kiln", "kiln_in", "ort", "ort_in", "ob_hsw", "ob_auto")
# M up to this many is reported as a weight stream (GB/s) too.
STREAM_MAX_M = 8


def find_openblas() -> str:
    """The real file behind libopenblas.so.0 (Debian: an alternatives link
    into openblas-pthread/), or '' if none is installed."""
    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        p = Path(d) / "libopenblas.so.0"
        if p.exists():
            return str(p.resolve())
    return ""


def write_models(k: int, n: int, directory: Path) -> dict:
    """{'init': path, 'input': path} of the two one-MatMul models for (k, n)
    and the weight W.npy they share; written once (deterministic)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    directory.mkdir(parents=True, exist_ok=True)
    paths = dict(init=directory / f"matmul_k{k}_n{n}.onnx",
                 input=directory / f"matmul_k{k}_n{n}_in.onnx", weight=directory / f"w_k{k}_n{n}.npy")
    if all(p.exists() for p in paths.values()):
        return paths
    # Scaled like a trained layer's weight, so that Y stays O(1).
    w = (np.random.default_rng(k * 100003 + n).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    x_info = helper.make_tensor_value_info("X", TensorProto.FLOAT, ["m", k])
    y_info = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["m", n])
    node = helper.make_node("MatMul", ["X", "W"], ["Y"])
    for kind, inputs, inits in (
            ("init", [x_info], [numpy_helper.from_array(w, "W")]),
            ("input", [x_info, helper.make_tensor_value_info("W", TensorProto.FLOAT, [k, n])], [])):
        graph = helper.make_graph([node], f"matmul_k{k}_n{n}", inputs, [y_info], inits)
        # IR version 8 goes with opset 17, as the exported models have it;
        # the onnx package's default can be newer than ONNX Runtime reads.
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
        onnx.checker.check_model(model)
        onnx.save(model, paths[kind])
    np.save(paths["weight"], w)
    return paths


def make_inputs(m: int, k: int, w: np.ndarray, directory: Path) -> np.ndarray:
    """Writes X.npy and W.npy for one shape; returns the float64 reference Y
    and the scale |X| @ |W| (the size of the terms each output sums)."""
    directory.mkdir(parents=True, exist_ok=True)
    x = np.random.default_rng(m * 7919 + k).standard_normal((m, k)).astype(np.float32)
    np.save(directory / "X.npy", x)
    np.save(directory / "W.npy", w)
    x64, w64 = x.astype(np.float64), w.astype(np.float64)
    return x64 @ w64, np.abs(x64) @ np.abs(w64)


#===----------------------------------------------------------------------===#
# One (K, N): every M, every engine
#===----------------------------------------------------------------------===#

def engine_plan(args, libs: dict, paths: dict) -> dict:
    """{engine: (worker kind, model path, environment or None)} for the
    engines selected and available."""
    plan = {}
    if libs.get("init"):
        plan["kiln"] = ("kiln", str(libs["init"]), None)
    if libs.get("input") and args.unpacked:
        plan["kiln_in"] = ("kiln", str(libs["input"]), None)
    if args.ort:
        plan["ort"] = ("ort", str(paths["init"]), None)
        if args.unpacked:
            plan["ort_in"] = ("ort", str(paths["input"]), None)
    if args.openblas:
        env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
        env["OPENBLAS_NUM_THREADS"] = str(args.threads)
        plan["ob_hsw"] = ("openblas", args.openblas, dict(env, OPENBLAS_CORETYPE="Haswell"))
        plan["ob_auto"] = ("openblas", args.openblas, env)
    return plan


def run_kn(k: int, n: int, libs: dict, paths: dict, args, rows: dict, meta: dict):
    """Times every M for one (K, N); fills rows[(m, k, n)]."""
    io = args.out / "io" / f"k{k}_n{n}"
    io.mkdir(parents=True, exist_ok=True)
    w = np.load(paths["weight"])
    plan = engine_plan(args, libs, paths)
    workers = {}
    try:
        for name, (kind, _, env) in plan.items():
            workers[name] = Worker(kind, io / f"{name}.log", env=env)
        for m in args.m:
            row = rows[f"m{m}_k{k}_n{n}"] = dict(m=m, k=k, n=n, flops=2 * m * k * n,
                                                 weight_bytes=4 * k * n)
            for name in ("kiln", "kiln_in"):
                if f"{name}_error" in libs:
                    row[name] = dict(error=libs[f"{name}_error"])
            time_shape(m, k, w, plan, workers, io / f"m{m}", args, row, meta)
    finally:
        for worker in workers.values():
            worker.close()


def time_shape(m: int, k: int, w: np.ndarray, plan: dict, workers: dict, io: Path, args,
               row: dict, meta: dict):
    ref, scale = make_inputs(m, k, w, io / "inputs")
    (io / "ref").mkdir(parents=True, exist_ok=True)
    np.save(io / "ref" / "Y.npy", ref)
    # |got - ref| <= rtol * max(|X| @ |W|) + rtol * |ref|: the rounding error
    # of a K-term fp32 sum grows with its terms, not with its (cancelling)
    # result.
    atol = args.rtol * float(scale.max())
    live, estimate = {}, {}
    for name, (_, model, _) in plan.items():
        worker = workers.get(name)
        if worker is None or worker.proc.poll() is not None:
            row[name] = dict(error="worker died on an earlier shape")
            continue
        try:
            res = worker.request(dict(cmd="load", model=model, inputs=str(io / "inputs"),
                                      outputs=str(io / f"out_{name}"), threads=args.threads),
                                 args.call_timeout)
            if res.get("engine"):
                meta.setdefault("engines", {})[name] = res["engine"]
            check = compare(io / f"out_{name}", io / "ref", ["Y"], atol, args.rtol)
            row[name] = dict(first_ms=res["first_ms"], max_abs_err=check["max_abs_err"],
                             check_ok=check["ok"])
            if not check["ok"]:
                row[name]["error"] = (f"MISMATCH: max abs err {check['max_abs_err']:.2e} > "
                                      f"{atol:.1e} + {args.rtol:g}|ref|")
                log(f"  M={m}: {name}: {row[name]['error']}")
                continue
            warm = worker.request(dict(cmd="time", n=max(1, args.warmup)), args.call_timeout)["ms"]
            estimate[name] = statistics.median(warm)
            live[name] = worker
        except StepError as e:
            # A worker that answered with an error can load the next shape;
            # request() has killed one that hung.
            row[name] = dict(error=str(e))
            log(f"  M={m}: {name}: FAILED: {e}")

    share = args.budget / (args.rounds * max(1, len(live)))
    count = {e: max(1, min(args.max_iters, int(share * 1e3 / max(estimate[e], 1e-3)))) for e in live}
    order = [e for e in ENGINES if e in live]
    samples, rounds = {}, {}
    own = [os.getpid()] + [wk.proc.pid for wk in live.values()]
    before, t0 = cpu_jiffies(own), time.perf_counter()
    for r in range(args.rounds):
        for name in (order if r % 2 == 0 else order[::-1]):
            if name not in live:
                continue
            # OpenBLAS's idle workers spin for about 2^28 cycles after a
            # call, ORT's for a little while: let them go to sleep before
            # the next engine's turn, so no engine is timed against them.
            time.sleep(args.settle)
            timeout = args.call_timeout + 5 * count[name] * estimate[name] / 1e3
            try:
                ms = live[name].request(dict(cmd="time", n=count[name]), timeout)["ms"]
            except StepError as e:
                row[name]["error"] = str(e)
                log(f"  M={m}: {name}: FAILED in round {r + 1}: {e}")
                live.pop(name).kill()
                continue
            samples.setdefault(name, []).extend(ms)
            rounds.setdefault(name, []).append(ms)
    after, wall = cpu_jiffies(own), time.perf_counter() - t0
    other = ((after[0] - before[0]) - (after[1] - before[1])) / os.sysconf("SC_CLK_TCK") / max(wall, 1e-9)
    row["other_cpu_cores"] = round(max(other, 0.0), 2)
    for name in samples:
        row[name].update(summarize(samples[name], rounds[name]))
        row[name]["gflops"] = row["flops"] / row[name]["median_ms"] / 1e6
    busy = f", BUSY: others used {other:.2f} cores" if other > BUSY_CORES else ""
    log(f"  M={m} K={k} N={row['n']}: " + ", ".join(
        f"{e} {row[e]['gflops']:.1f}" for e in order if "gflops" in row.get(e, {})) + f" GFLOP/s{busy}")


#===----------------------------------------------------------------------===#
# Report
#===----------------------------------------------------------------------===#

def gflops(row: dict, engine: str):
    return row.get(engine, {}).get("gflops")


def ratio(a, b) -> str:
    return f"{a / b:.2f}" if a and b else "-"


def print_markdown(results: dict, peak: float):
    """The table of print_table as Markdown, for docs/performance.md."""
    print("| M | K | N | Kiln | Kiln, W input | ORT | ORT, W input | OpenBLAS Haswell | "
          "OpenBLAS auto | Kiln/ORT | Kiln/OB Haswell | Kiln/OB auto | Kiln % of peak | "
          "Kiln GB/s | notes |")
    print("|" + "---|" * 15)
    for r in results["rows"].values():
        g = {e: gflops(r, e) for e in ENGINES}
        cells = " | ".join(f"{g[e]:.1f}" if g[e] else "-" for e in ENGINES)
        pct = f"{100 * g['kiln'] / peak:.0f}" if g["kiln"] and peak else "-"
        gbs = (f"{r['weight_bytes'] / r['kiln']['median_ms'] / 1e6:.0f}"
               if g["kiln"] and r["m"] <= STREAM_MAX_M else "")
        notes = [f"{e}: error" for e in ENGINES if r.get(e, {}).get("error")]
        if r.get("other_cpu_cores", 0) > BUSY_CORES:
            notes.append(f"BUSY ({r['other_cpu_cores']:.2f} cores)")
        print(f"| {r['m']} | {r['k']} | {r['n']} | {cells} | {ratio(g['kiln'], g['ort'])} | "
              f"{ratio(g['kiln'], g['ob_hsw'])} | {ratio(g['kiln'], g['ob_auto'])} | {pct} | {gbs} | "
              f"{'; '.join(notes)} |")


def print_table(results: dict, peak: float):
    print()
    print(f"fp32 GEMM Y[M,N] = X[M,K] @ W[K,N], {results['meta']['threads']} threads: GFLOP/s of the "
          f"median call; ratios are speed (Kiln / other); peak {peak:.0f} GFLOP/s "
          f"({results['meta'].get('peak_gflops_source', 'flag')})")
    head = (f"{'M':>4} {'K':>5} {'N':>5} | {'kiln':>6} {'kiln_in':>7} {'ort':>6} {'ort_in':>6} "
            f"{'ob_hsw':>6} {'ob_auto':>7} | {'k/ort':>5} {'k/hsw':>5} {'k/auto':>6} | "
            f"{'k %pk':>5} {'k GB/s':>6}  notes")
    print(head)
    print("-" * len(head))
    for r in results["rows"].values():
        g = {e: gflops(r, e) for e in ENGINES}
        cells = " ".join(f"{(f'{g[e]:.1f}' if g[e] else '-'):>{w}}"
                         for e, w in zip(ENGINES, (6, 7, 6, 6, 6, 7)))
        pct = f"{100 * g['kiln'] / peak:.0f}" if g["kiln"] and peak else "-"
        gbs = "-"
        if g["kiln"] and r["m"] <= STREAM_MAX_M:
            gbs = f"{r['weight_bytes'] / r['kiln']['median_ms'] / 1e6:.1f}"
        notes = [f"{e}: {r[e]['error'][:60]}" for e in ENGINES if r.get(e, {}).get("error")]
        if r.get("other_cpu_cores", 0) > BUSY_CORES:
            notes.append(f"BUSY {r['other_cpu_cores']:.2f} cores")
        print(f"{r['m']:>4} {r['k']:>5} {r['n']:>5} | {cells} | {ratio(g['kiln'], g['ort']):>5} "
              f"{ratio(g['kiln'], g['ob_hsw']):>5} {ratio(g['kiln'], g['ob_auto']):>6} | "
              f"{pct:>5} {gbs:>6}  {'; '.join(notes)}")
    print()
    for name, info in results["meta"].get("engines", {}).items():
        print(f"{name}: {info}")


#===----------------------------------------------------------------------===#
# Main
#===----------------------------------------------------------------------===#

def parse_int_list(text: str) -> list:
    return [int(v) for v in text.split(",") if v]


def parse_kn(text: str) -> list:
    return [tuple(int(v) for v in item.split("x")) for item in text.split(",") if item]


def parse_args(argv):
    ap = argparse.ArgumentParser(
        prog="bash bench/run.sh gemm",
        description="fp32 GEMM microbenchmark: Kiln (packed and unpacked weights), ONNX Runtime "
                    "and OpenBLAS (Haswell and auto-detected kernels) on the standard models' "
                    "linear layers.")
    ap.add_argument("--m", default=DEFAULT_M, help=f"rows, comma-separated (default {DEFAULT_M})")
    ap.add_argument("--kn", default=DEFAULT_KN,
                    help=f"KxN weight shapes, comma-separated (default {DEFAULT_KN})")
    ap.add_argument("--quick", action="store_true",
                    help="smoke test: 1 round, 0.3 s per shape, one warm-up call")
    ap.add_argument("--rounds", type=int, help="alternating rounds per shape (default 5)")
    ap.add_argument("--budget", type=float,
                    help="seconds of timed calls per shape, split evenly between the engines and "
                         "rounds; at least one call each (default 2)")
    ap.add_argument("--warmup", type=int, help="untimed calls per engine and shape (default 3)")
    ap.add_argument("--max-iters", type=int, default=2000, help="calls per engine and round at most")
    ap.add_argument("--settle", type=float, default=0.15,
                    help="seconds of idle before each engine's turn, for the previous engine's "
                         "spinning threads to sleep (default 0.15)")
    ap.add_argument("--threads", type=int, default=2, help="threads for every engine (default 2)")
    ap.add_argument("--rtol", type=float, default=1e-4,
                    help="check: |got - ref| <= rtol * (max(|X| @ |W|) + |ref|) (default 1e-4)")
    ap.add_argument("--peak-gflops", type=float,
                    help="fp32 FMA peak of --threads cores (default: the best kiln_machine_limits "
                         "measured at the start and end of this run)")
    ap.add_argument("--limits-probe", default=str(ROOT / "build/test/runtime/kiln_machine_limits"),
                    help="the program that measures it")
    ap.add_argument("--no-unpacked", dest="unpacked", action="store_false",
                    help="skip the weight-as-input models (kiln_in, ort_in)")
    ap.add_argument("--no-ort", dest="ort", action="store_false", help="skip ONNX Runtime")
    ap.add_argument("--openblas", default=find_openblas(),
                    help="OpenBLAS library ('' skips it; default the file behind libopenblas.so.0)")
    ap.add_argument("--kilnc", default=os.environ.get("KILNC", str(ROOT / "build/tools/kilnc/kilnc")))
    ap.add_argument("--kilnc-flags", default="-O3", help="kilnc flags (default -O3)")
    ap.add_argument("--reuse-libs", action="store_true",
                    help="skip kilnc where this kilnc binary already compiled the artifact")
    ap.add_argument("--out", type=Path, default=ROOT / "build/bench/gemm")
    ap.add_argument("--lock", default=os.environ.get("KILN_BENCH_LOCK"),
                    help="flock this file around every compile and timing step (env KILN_BENCH_LOCK)")
    ap.add_argument("--report", type=Path, metavar="RESULTS_JSON",
                    help="print the tables of an earlier run's results.json and exit")
    ap.add_argument("--markdown", action="store_true", help="also print the table as Markdown")
    ap.add_argument("--call-timeout", type=float, default=120)
    ap.add_argument("--compile-timeout", type=float, default=600)
    args = ap.parse_args(argv)
    quick = dict(rounds=1, budget=0.3, warmup=1)
    full = dict(rounds=5, budget=2.0, warmup=3)
    for key, v in (quick if args.quick else full).items():
        if getattr(args, key) is None:
            setattr(args, key, v)
    try:
        args.m, args.kn = parse_int_list(args.m), parse_kn(args.kn)
    except ValueError:
        ap.error("--m takes integers (1,8,128), --kn KxN pairs (768x768,768x3072)")
    if (args.rounds < 1 or args.budget <= 0 or args.warmup < 0 or not args.m or not args.kn
            or min(args.m) < 1 or any(len(kn) != 2 or min(kn) < 1 for kn in args.kn)):
        ap.error("--rounds >= 1, --budget > 0, --warmup >= 0, and positive --m and --kn sizes")
    return args


def report(results: dict, args):
    peak = results["meta"].get("peak_gflops") or args.peak_gflops or 0
    print_table(results, peak)
    if args.markdown:
        print()
        print_markdown(results, peak)
        print()


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.report:
        report(json.loads(args.report.read_text()), args)
        return 0
    import onnxruntime
    started = datetime.datetime.now(datetime.timezone.utc)
    models, libs_dir = args.out / "models", args.out / "kiln"
    libs_dir.mkdir(parents=True, exist_ok=True)
    have_kilnc = os.access(args.kilnc, os.X_OK)
    if not have_kilnc:
        log(f"warning: kilnc not found at {args.kilnc} (--kilnc or KILNC); no Kiln columns")
    if not args.openblas:
        log("warning: no OpenBLAS (apt-get install libopenblas-dev); no OpenBLAS columns")
    if os.environ.get("OPENBLAS_CORETYPE"):
        log(f"note: OPENBLAS_CORETYPE={os.environ['OPENBLAS_CORETYPE']} in this environment; "
            "ob_auto runs without it, ob_hsw with Haswell")
    results = dict(
        meta=dict(started=started.isoformat(timespec="seconds"), machine=machine_info(),
                  kilnc=args.kilnc, kilnc_revision=tool_revision(args.kilnc) if have_kilnc else None,
                  kilnc_flags=args.kilnc_flags, onnxruntime=onnxruntime.__version__,
                  numpy=np.__version__, openblas=args.openblas,
                  env_openblas_coretype=os.environ.get("OPENBLAS_CORETYPE"),
                  threads=args.threads, rounds=args.rounds, budget_s=args.budget,
                  warmup=args.warmup, argv=sys.argv[1:]),
        compile={}, rows={})
    measured = [measure_limits(args)]
    results_path = args.out / "results.json"
    log(f"M {args.m} x (K, N) {args.kn}; {args.rounds} round(s), {args.budget:g} s per shape, "
        f"{args.threads} threads")
    # All compiles (under a second each) under one lock: on a shared machine
    # every wait for the lock can take minutes.
    plans = []
    with machine_lock(args.lock):
        unlocked = argparse.Namespace(**dict(vars(args), lock=None))
        for k, n in args.kn:
            paths = write_models(k, n, models)
            libs = {}
            for kind in ("init", "input") if args.unpacked else ("init",):
                engine = "kiln" if kind == "init" else "kiln_in"
                if not have_kilnc:
                    libs[f"{engine}_error"] = "no kilnc"
                    continue
                lib = libs_dir / f"lib{paths[kind].stem}.so"
                info = args.reuse_libs and reusable_compile(paths[kind], lib, [], args)
                if not info:
                    info = compile_model(paths[kind], lib, [], unlocked)
                results["compile"][lib.name] = info
                if "error" in info:
                    libs[f"{engine}_error"] = info["error"]
                else:
                    libs[kind] = lib
            plans.append((k, n, paths, libs))
    for k, n, paths, libs in plans:
        with machine_lock(args.lock):
            run_kn(k, n, libs, paths, args, results["rows"], results["meta"])
        results_path.write_text(json.dumps(results, indent=1) + "\n")

    measured.append(measure_limits(args))
    limits = floor_limits(args, measured)
    results["meta"].update(peak_gflops=limits["peak_gflops"],
                           peak_gflops_source=limits["peak_gflops_source"], measured_limits=measured)
    results["meta"]["seconds"] = round((datetime.datetime.now(datetime.timezone.utc)
                                        - started).total_seconds(), 1)
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    report(results, args)
    busy = [r["other_cpu_cores"] for r in results["rows"].values()
            if r.get("other_cpu_cores", 0) > BUSY_CORES]
    if busy:
        log(f"warning: other processes used CPU while {len(busy)} of {len(results['rows'])} shapes "
            f"were timed (up to {max(busy):.2f} cores): do not quote those rows")
    log(f"wrote {results_path}")
    failed = [key for key, r in results["rows"].items()
              if any(r.get(e, {}).get("error") for e in ENGINES)]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
