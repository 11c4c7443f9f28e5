#!/usr/bin/env python3
#===- test/fuzz/check_regressions.py - kept fuzzer inputs through kilnc ---===#
#
# Runs `KILNC FILE --emit=llvm` on every file of DIR: each must compile or be
# refused with a "kilnc: error:" diagnostic (exit 0 or 1) within the time
# limit. A signal, another exit code or a timeout fails the test. In a
# fuzzing build ctest also replays them through kiln-fuzz-import itself.
#
# Usage: check_regressions.py KILNC DIR
#
#===----------------------------------------------------------------------===#
import subprocess
import sys
from pathlib import Path

kilnc, directory = sys.argv[1], Path(sys.argv[2])
failures = 0
files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != "README.md")
for path in files:
    try:
        # Binary ONNX whatever the file is called: kilnc picks the format by
        # extension, and the fuzzer only writes binary.
        r = subprocess.run([kilnc, "--emit=llvm", "-o", "/dev/null", "-q", str(path)],
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        print(f"FAIL {path.name}: timed out")
        failures += 1
        continue
    ok = r.returncode == 0 or (r.returncode == 1 and "kilnc: error:" in r.stderr)
    print(f"{'ok  ' if ok else 'FAIL'} {path.name}: exit {r.returncode} "
          f"{r.stderr.strip().splitlines()[0] if r.stderr.strip() else ''}")
    failures += not ok
print(f"{len(files)} inputs, {failures} failures")
sys.exit(1 if failures else 0)
