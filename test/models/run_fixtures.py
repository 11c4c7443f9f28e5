#!/usr/bin/env python3
#===- test/models/run_fixtures.py - whole-model tests on the fixtures -----===#
#
# For every fixture model in this directory (fp32 and int8) and every
# reference dir for it (ref/<model>: PyTorch, batch 2 seq 16 past 16;
# ref_ort/<model>: ONNX Runtime at other shapes), compiles the model once with
#   kilnc <model>.onnx -o <work>/lib<model>.so
# and checks each reference with
#   kiln-run <lib> --inputs <refdir> --expect <refdir> --atol A --rtol R
#
# The int8 models are judged against the fp32 references with the tolerance in
# tolerances.json (derived from ONNX Runtime's own int8 error; see
# scripts/make_ort_references.py); fp32 models with atol = rtol = 1e-4.
#
# Each fp32 model is also compiled with every precision in tolerances.json's
# "mixed" table (kilnc --precision=fp16, bf16: GEMM operands in that type,
# f32 accumulation) and judged against the same fp32 references with that
# precision's tolerance; those cases are named "<model>@<precision>/<refset>".
# And with every mode in its "quantize" list (kilnc --quantize=int8-dynamic,
# int8-weight), held to ONNX Runtime's own int8 error on the same weights
# (the int8 table's ort_max_abs_err): "<model>@<mode>/<refset>"; and with
# every mode of its "quantize_int4" table (int4-weight, int4-dynamic), held
# to int4_margin_over_ort times the error of ONNX Runtime's MatMulNBits
# model of the same weights that the table names (the int4 table).
#
# xfail.txt beside this file lists expected failures, one case name per line
# (e.g. "llama_tiny_prefill_int8/ref_ort  # reason"). A failing case not on
# the list fails the run; a listed case that passes is an unexpected pass and
# fails the run too, so that the list only shrinks.
#
# Cross targets: --kilnc-flags adds flags to every compile and --run-prefix
# runs kiln-run through a command; --aarch64 is both for 64-bit Arm
# (kilnc --target=cpu:aarch64, kiln-run under qemu-aarch64 with Debian's cross
# sysroot; --kiln-run is then the aarch64 one, scripts/build-aarch64.sh).
# The tolerances are the same as on x86.
#
# Ends with the line "N passed, M failed[, K skipped]"; exits 1 on any failure.
#
#===----------------------------------------------------------------------===#
import argparse
import json
import os
import re
import shlex
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
REFSETS = ("ref", "ref_ort")
AARCH64_RUN_PREFIX = ["qemu-aarch64", "-L", "/usr/aarch64-linux-gnu"]


def read_xfail(path: Path) -> dict:
    """name -> reason, from lines 'name  # reason'."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, reason = line.partition("#")
            name = name.strip()
            if name:
                out[name] = reason.strip()
    return out


def write_xfail(path: Path, header: str, failures: list, old: dict, pattern=None):
    # With --filter only some cases ran: keep the other entries as they are.
    entries = {k: v for k, v in old.items() if pattern and not re.search(pattern, k)}
    for name in failures:
        entries[name] = old.get(name) or "TODO: triage"
    lines = [header] + [f"{k}  # {v}" for k, v in sorted(entries.items())]
    path.write_text("\n".join(lines) + "\n")
    return len(entries)


def tail(text: str, n: int = 15) -> str:
    lines = text.strip().splitlines()
    return "\n".join("    | " + l for l in lines[-n:])


def run_cmd(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, text=True, errors="replace",
                           timeout=timeout)
        return p.returncode, p.stdout
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return 124, out + f"\n(timed out after {timeout}s)"
    except OSError as e:
        return 127, str(e)


def discover(models_dir: Path, tolerances: dict, pattern, refsets=REFSETS):
    """[(label, onnx_path, kilnc_flags, [(case_name, refdir, atol, rtol)])]"""
    fp32 = tolerances.get("fp32", {"atol": 1e-4, "rtol": 1e-4})
    int8 = tolerances.get("int8", {})
    variants = [("", [], fp32)] + [
        (f"@{p}", [f"--precision={p}"], t) for p, t in tolerances.get("mixed", {}).items()]
    out = []
    for onnx_path in sorted(models_dir.glob("*.onnx")):
        model = onnx_path.stem
        quantized = model.endswith("_int8")
        base = model[:-len("_int8")] if quantized else model
        # ORT's quantize_dynamic leaves some GEMMs in fp32 (Gemm nodes, such
        # as BERT's pooler); "quantize_exclude" keeps the same ones in fp32.
        exclude = tolerances.get("quantize_exclude", {}).get(model)
        excluded = [f"--quantize-exclude={exclude}"] if exclude else []
        quantize = [] if quantized else [
            (f"@{q}", [f"--quantize={q}"] + excluded, q)
            for q in tolerances.get("quantize", [])] + [
            (f"@{q}", [f"--quantize={q}"] + excluded, ("int4", key))
            for q, key in tolerances.get("quantize_int4", {}).items()]
        for suffix, flags, tol in (variants[:1] if quantized else variants) + quantize:
            label = model + suffix
            cases = []
            for refset in refsets:
                refdir = models_dir / refset / base
                if not refdir.is_dir():
                    continue
                name = f"{label}/{refset}"
                if pattern and not re.search(pattern, name):
                    continue
                if isinstance(tol, tuple):
                    # kilnc's int4 modes: within a margin of ONNX Runtime's
                    # MatMulNBits model of the same weights.
                    ort = tolerances.get("int4", {}).get(model, {}).get(refset, {}).get(tol[1])
                    if ort is None:
                        print(f"warning: no ORT int4 error for {name} in tolerances.json; skipping",
                              file=sys.stderr)
                        continue
                    margin = tolerances.get("int4_margin_over_ort", 1.0)
                    cases.append((name, refdir, round(ort * margin, 6), 0.0))
                elif isinstance(tol, str):
                    # kilnc --quantize: no worse than ONNX Runtime's own int8
                    # model of the same weights (quantize_dynamic).
                    ort = int8.get(model + "_int8", {}).get(refset, {}).get("ort_max_abs_err")
                    if ort is None:
                        print(f"warning: no ORT int8 error for {name} in tolerances.json; skipping",
                              file=sys.stderr)
                        continue
                    cases.append((name, refdir, ort, 0.0))
                elif quantized:
                    t = int8.get(model, {}).get(refset)
                    if t is None:
                        print(f"warning: no int8 tolerance for {name} in tolerances.json; skipping",
                              file=sys.stderr)
                        continue
                    cases.append((name, refdir, t["atol"], t.get("rtol", 0.0)))
                else:
                    cases.append((name, refdir, tol["atol"], tol["rtol"]))
            if cases:
                out.append((label, onnx_path, flags, cases))
    return out


def check_model(args, work: Path, label, onnx_path, flags, cases):
    """Compile once, run every reference. Returns [(case, ok, detail)]."""
    lib = work / f"lib{label.replace('@', '_')}.so"
    rc, out = run_cmd([args.kilnc, str(onnx_path), *args.kilnc_flags, *flags, "-o", str(lib)],
                      args.compile_timeout)
    if rc != 0 or not lib.exists():
        detail = f"kilnc exited {rc}\n{tail(out)}"
        return [(name, False, detail) for name, *_ in cases]
    results = []
    for name, refdir, atol, rtol in cases:
        cmd = [*args.run_prefix, args.kiln_run, str(lib), "--inputs", str(refdir), "--expect", str(refdir),
               "--atol", f"{atol:g}", "--rtol", f"{rtol:g}"]
        rc, out = run_cmd(cmd, args.run_timeout)
        results.append((name, rc == 0, f"kiln-run exited {rc} (atol {atol:g}, rtol {rtol:g})\n{tail(out)}"))
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description="Compile and check the fixture models.")
    ap.add_argument("--kilnc", required=True, help="path to kilnc")
    ap.add_argument("--kiln-run", required=True, help="path to kiln-run")
    ap.add_argument("--models", type=Path, default=HERE, help="fixture dir (default: this dir)")
    ap.add_argument("--xfail", type=Path, default=HERE / "xfail.txt")
    ap.add_argument("--update-xfail", action="store_true",
                    help="rewrite the xfail list with the current failures")
    ap.add_argument("--filter", help="regex on case names (model/refset)")
    ap.add_argument("--refsets", default=",".join(REFSETS),
                    help="comma-separated reference dirs beside the models "
                         "(default: %(default)s; the zoo also has ref_prefill "
                         "and ref_leftpad)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--work", type=Path, help="dir for compiled libraries (default: a temp dir)")
    ap.add_argument("--compile-timeout", type=int, default=600)
    ap.add_argument("--run-timeout", type=int, default=300)
    ap.add_argument("--summary-json", type=Path, help="write {passed, failed, skipped} here")
    ap.add_argument("--kilnc-flags", default="",
                    help="extra kilnc flags for every compile, one string "
                         "(e.g. '--target=cpu:aarch64 --cpu=neoverse-n1')")
    ap.add_argument("--run-prefix", default="",
                    help="command that runs kiln-run, one string (e.g. "
                         "'qemu-aarch64 -L /usr/aarch64-linux-gnu')")
    ap.add_argument("--aarch64", action="store_true",
                    help="compile for cpu:aarch64 and run the (aarch64) "
                         "--kiln-run under " + " ".join(AARCH64_RUN_PREFIX))
    args = ap.parse_args()
    args.kilnc_flags = shlex.split(args.kilnc_flags)
    args.run_prefix = shlex.split(args.run_prefix)
    if args.aarch64:
        args.kilnc_flags = ["--target=cpu:aarch64"] + args.kilnc_flags
        args.run_prefix = args.run_prefix or AARCH64_RUN_PREFIX

    for tool in (args.kilnc, args.kiln_run):
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            print(f"error: {tool} not found or not executable (build first)", file=sys.stderr)
            return 2

    tol_path = args.models / "tolerances.json"
    tolerances = json.loads(tol_path.read_text()) if tol_path.exists() else {}
    models = discover(args.models, tolerances, args.filter,
                      tuple(r for r in args.refsets.split(",") if r))
    xfail = read_xfail(args.xfail)

    tmp = None
    if args.work:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="kiln-fixtures-")
        work = Path(tmp.name)

    passed = failed = xfailed = 0
    failures = []
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(check_model, args, work, *m) for m in models]
        for fut in futures:
            for name, ok, detail in fut.result():
                expected_fail = name in xfail
                if not ok:
                    failures.append(name)
                if ok and not expected_fail:
                    passed += 1
                    print(f"PASS   {name}")
                elif ok and expected_fail:
                    failed += 1
                    print(f"XPASS  {name}  (unexpected pass: remove it from {args.xfail.name})")
                elif expected_fail:
                    xfailed += 1
                    print(f"XFAIL  {name}  # {xfail[name]}")
                else:
                    failed += 1
                    print(f"FAIL   {name}\n{detail}")
    if tmp:
        tmp.cleanup()

    if args.update_xfail:
        n = write_xfail(args.xfail, "# Expected failures of test/models/run_fixtures.py: case  # reason",
                        failures, xfail, args.filter)
        print(f"wrote {n} entries to {args.xfail}")

    if args.summary_json:
        args.summary_json.write_text(json.dumps(
            {"passed": passed, "failed": failed, "skipped": xfailed}) + "\n")
    if xfailed:
        print(f"({xfailed} expected failures counted as skipped)")
    print(f"{passed} passed, {failed} failed" + (f", {xfailed} skipped" if xfailed else ""))
    if args.update_xfail:
        return 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
