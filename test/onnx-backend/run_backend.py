#!/usr/bin/env python3
#===- test/onnx-backend/run_backend.py - ONNX node conformance tests ------===#
#
# Runs ONNX's own backend node tests against Kiln: Debian's libonnx-testdata
# by default, or another dir of the same layout (--data-dir; the test
# command also runs those of the pinned onnx, generate_node_tests.py, with
# their own list of expected failures, xfail-onnx-1.23.txt).
# A test is selected when every node of its model (subgraphs included) is an
# op that `kilnc --list-ops` claims at the model's opset; the others are
# skipped. A selected test is
#   kilnc <dir>/model.onnx -o <work>/<test>/lib.so
#   kiln-run <work>/<test>/lib.so --onnx-test-dir <dir>
# and passes when both exit 0.
#
# xfail.txt beside this file lists expected failures, one test name per line
# with '# reason'. A failure not on the list fails the run; a listed test that
# passes is an "unexpected pass" and fails the run too, so the list shrinks.
# --update-xfail rewrites the list with the current failures (keeping the
# reasons of those already listed, "TODO: triage" for new ones).
#
# Prints per-op pass counts and ends with "N passed, M failed, K skipped",
# where skipped = not claimed + expected failures. Exits 1 on any failure.
#
#===----------------------------------------------------------------------===#
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import onnx

HERE = Path(__file__).resolve().parent
DEFAULT_DATA = os.environ.get("KILN_ONNX_NODE_TESTS", "/usr/share/libonnx-testdata/data/node")
DEFAULT_DOMAIN = "ai.onnx"
LIST_OPS_LINE = re.compile(r"^(\S+)\s+(\S+)\s+(\d+)\s*(?:-\s*(\d+|\*)?)?\s*$")


def norm_domain(d: str) -> str:
    return DEFAULT_DOMAIN if d in ("", DEFAULT_DOMAIN) else d


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


def claimed_ops(kilnc: str) -> dict:
    """(domain, op) -> (min, max) from `kilnc --list-ops`."""
    rc, out = run_cmd([kilnc, "--list-ops"], 60)
    if rc != 0:
        raise SystemExit(f"error: '{kilnc} --list-ops' exited {rc}:\n{out}")
    ops = {}
    for line in out.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = LIST_OPS_LINE.match(line)
        if not m:
            print(f"warning: ignoring --list-ops line: {line!r}", file=sys.stderr)
            continue
        domain, op, lo, hi = m.groups()
        lo = int(lo)
        hi = 10**9 if hi in (None, "*") else int(hi)
        key = (norm_domain(domain), op)
        # An op may be listed once per supported version range.
        ops.setdefault(key, []).append((lo, hi))
    return ops


def graph_nodes(graph):
    for node in graph.node:
        yield node
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                yield from graph_nodes(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    yield from graph_nodes(g)


def model_ops(model_path: Path):
    """[(domain, op, opset)] of every node, subgraphs included."""
    model = onnx.load(str(model_path), load_external_data=False)
    opsets = {norm_domain(o.domain): o.version for o in model.opset_import}
    ops = set()
    for node in graph_nodes(model.graph):
        d = norm_domain(node.domain)
        ops.add((d, node.op_type, opsets.get(d, -1)))
    return sorted(ops)


def is_claimed(ops, claims) -> bool:
    for domain, op, version in ops:
        ranges = claims.get((domain, op))
        if not ranges or not any(lo <= version <= hi for lo, hi in ranges):
            return False
    return True


def op_label(domain, op):
    return op if domain == DEFAULT_DOMAIN else f"{domain}.{op}"


def read_xfail(path: Path) -> dict:
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            name, _, reason = line.partition("#")
            if name.strip():
                out[name.strip()] = reason.strip()
    return out


def tail(text: str, n: int = 12) -> str:
    return "\n".join("    | " + l for l in text.strip().splitlines()[-n:])


def run_test(args, work: Path, test_dir: Path):
    out_dir = work / test_dir.name
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / "lib.so"
    rc, out = run_cmd([args.kilnc, str(test_dir / "model.onnx"), "-o", str(lib)], args.timeout)
    if rc != 0 or not lib.exists():
        result = (False, f"kilnc exited {rc}\n{tail(out)}")
    else:
        rc, out = run_cmd([args.kiln_run, str(lib), "--onnx-test-dir", str(test_dir)], args.timeout)
        result = (rc == 0, f"kiln-run exited {rc}\n{tail(out)}")
    if not args.keep:
        shutil.rmtree(out_dir, ignore_errors=True)
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description="Run the ONNX backend node tests against Kiln.")
    ap.add_argument("--kilnc", required=True)
    ap.add_argument("--kiln-run", required=True)
    ap.add_argument("--data-dir", type=Path, default=Path(DEFAULT_DATA),
                    help=f"ONNX node test dirs (default {DEFAULT_DATA}; env KILN_ONNX_NODE_TESTS)")
    ap.add_argument("--xfail", type=Path, default=HERE / "xfail.txt")
    ap.add_argument("--update-xfail", action="store_true",
                    help="rewrite the xfail list with the current failures")
    ap.add_argument("--filter", help="regex on test names")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=int, default=300, help="seconds per kilnc or kiln-run call")
    ap.add_argument("--work", type=Path, help="dir for compiled tests (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep compiled libraries")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every test, not only failures")
    ap.add_argument("--summary-json", type=Path, help="write {passed, failed, skipped} here")
    args = ap.parse_args()

    for tool in (args.kilnc, args.kiln_run):
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            print(f"error: {tool} not found or not executable (build first)", file=sys.stderr)
            return 2
    if not args.data_dir.is_dir():
        print(f"error: no ONNX node tests at {args.data_dir} (apt-get install libonnx-testdata)",
              file=sys.stderr)
        return 2

    claims = claimed_ops(args.kilnc)
    xfail = read_xfail(args.xfail)

    selected, unclaimed = [], 0
    test_ops = {}
    for d in sorted(p for p in args.data_dir.iterdir() if (p / "model.onnx").is_file()):
        if args.filter and not re.search(args.filter, d.name):
            continue
        try:
            ops = model_ops(d / "model.onnx")
        except Exception as e:  # a malformed test model is the data's problem, not Kiln's
            print(f"warning: cannot read {d.name}/model.onnx: {e}", file=sys.stderr)
            unclaimed += 1
            continue
        if is_claimed(ops, claims) and any(d.glob("test_data_set_*")):
            selected.append(d)
            test_ops[d.name] = {op_label(dom, op) for dom, op, _ in ops}
        else:
            unclaimed += 1

    tmp = None
    if args.work:
        work = args.work
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="kiln-backend-")
        work = Path(tmp.name)

    print(f"kilnc claims {sum(len(v) for v in claims.values())} op version ranges; "
          f"running {len(selected)} node tests, {unclaimed} not claimed", flush=True)
    passed = failed = xfailed = 0
    failures = []
    per_op = defaultdict(lambda: [0, 0])  # op -> [passed, run]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        results = pool.map(lambda d: (d, run_test(args, work, d)), selected)
        for d, (ok, detail) in results:
            name = d.name
            for op in test_ops[name]:
                per_op[op][1] += 1
                per_op[op][0] += ok
            listed = name in xfail
            if not ok:
                failures.append(name)
            if ok and not listed:
                passed += 1
                if args.verbose:
                    print(f"PASS   {name}")
            elif ok and listed:
                failed += 1
                print(f"XPASS  {name}  (unexpected pass: remove it from {args.xfail.name})")
            elif listed:
                xfailed += 1
                if args.verbose:
                    print(f"XFAIL  {name}  # {xfail[name]}")
            else:
                failed += 1
                print(f"FAIL   {name}\n{detail}", flush=True)
    if tmp:
        tmp.cleanup()

    stale = sorted(set(xfail) - {d.name for d in selected})
    if stale and not args.filter:
        print(f"note: {len(stale)} xfail entries not run (op not claimed or test gone): "
              + ", ".join(stale[:10]) + (" ..." if len(stale) > 10 else ""))

    if per_op:
        print("\nper-op results (tests containing the op: passed/run)")
        width = max(len(op) for op in per_op)
        for op in sorted(per_op):
            p, n = per_op[op]
            print(f"  {op:<{width}}  {p}/{n}" + ("" if p == n else "  *"))
        print()

    if args.update_xfail:
        # With --filter only some tests ran: keep the other entries as they are.
        entries = {k: v for k, v in xfail.items()
                   if args.filter and not re.search(args.filter, k)}
        lines = ["# Expected failures of test/onnx-backend/run_backend.py: test name  # reason"]
        for name in failures:
            entries[name] = xfail.get(name) or "TODO: triage"
        lines += [f"{k}  # {v}" for k, v in sorted(entries.items())]
        args.xfail.write_text("\n".join(lines) + "\n")
        print(f"wrote {len(entries)} entries to {args.xfail}")

    skipped = unclaimed + xfailed
    if args.summary_json:
        args.summary_json.write_text(json.dumps(
            {"passed": passed, "failed": failed, "skipped": skipped}) + "\n")
    print(f"skipped: {unclaimed} not claimed by kilnc --list-ops, {xfailed} expected failures")
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    if args.update_xfail:
        return 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
