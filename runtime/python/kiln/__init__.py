#===- kiln/__init__.py - Kiln from Python ---------------------------------===#
#
#   import kiln, numpy as np
#   kiln.compile("model.onnx", "libmodel.so", max_shapes={"seq": 64})
#   s = kiln.Session("libmodel.so")
#   out = s.run({"input_ids": np.zeros((1, 8), np.int64)})
#
# Session, TensorInfo, KvCache, Error and VersionWarning come from the C++
# extension (_kiln, runtime/python/KilnModule.cpp), which dlopens the
# artifact and calls the runtime inside it; a Session warns (VersionWarning)
# when that runtime is older than the package. compile() runs kilnc.
#
#===----------------------------------------------------------------------===#
import os
import shutil
import subprocess
from pathlib import Path

from ._kiln import (MODEL_ABI_VERSION, Error, KvCache, Session, TensorInfo,
                    VersionWarning)

__all__ = ["Session", "TensorInfo", "KvCache", "Error", "CompileError",
           "VersionWarning", "compile", "find_kilnc", "MODEL_ABI_VERSION"]
__version__ = "0.1.0"  # the project's VERSION in the top-level CMakeLists.txt


class CompileError(Error):
    """kilnc failed; the message holds its command line and output."""


def find_kilnc() -> str:
    """The kilnc to run: $KILN_KILNC, else one that belongs with this
    package (an install's <prefix>/bin/kilnc above
    <prefix>/lib/python3/dist-packages/kiln, or the build tree's
    tools/kilnc/kilnc above <build>/runtime/python/kiln), else kilnc on PATH."""
    env = os.environ.get("KILN_KILNC")
    if env:
        return env
    here = Path(__file__).resolve().parent
    for parent in list(here.parents)[:5]:
        for candidate in (parent / "bin" / "kilnc", parent / "tools" / "kilnc" / "kilnc"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    found = shutil.which("kilnc")
    if not found:
        raise CompileError("kilnc not found: set KILN_KILNC, put kilnc on PATH, "
                           "or pass kilnc=... (it is installed by `cmake --install` "
                           "and by the kiln Debian package)")
    return found


def _flag(key: str, value) -> list:
    """--key=value for a kilnc option given as a keyword argument."""
    opt = "--" + key.replace("_", "-")
    if value is True:
        return [opt]
    if value is False:
        return [opt + "=0"]
    if isinstance(value, (list, tuple)):
        value = ",".join(str(v) for v in value)
    return [f"{opt}={value}"]


def compile(model, out, *, shapes=None, max_shapes=None, opt_level=None,
            kilnc=None, extra_args=(), **options) -> Path:
    """Compiles the ONNX file `model` into the shared library `out` (and its
    C header, <model name>.h, beside it) with kilnc; returns out's path.

    shapes / max_shapes: {symbol: value}, kilnc's --shape / --max-shape.
    opt_level: -O<n>. Every other keyword is a kilnc option with '_' for
    '-': target="cuda", precision="bf16", quantize="int8-dynamic",
    quantize_exclude=["lm_head"] (lists are joined with commas),
    parallel_loops=False (--parallel-loops=0), name=..., cpu=...,
    runtime_dir=...; extra_args are passed as they are. Raises CompileError
    with kilnc's output when it fails.
    """
    cmd = [kilnc or find_kilnc(), os.fspath(model), "-o", os.fspath(out)]
    for key, value in (shapes or {}).items():
        cmd.append(f"--shape={key}={value}")
    for key, value in (max_shapes or {}).items():
        cmd.append(f"--max-shape={key}={value}")
    if opt_level is not None:
        cmd.append(f"-O{int(opt_level)}")
    for key, value in options.items():
        if value is not None:
            cmd += _flag(key, value)
    cmd += list(extra_args)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, text=True, errors="replace")
    if proc.returncode != 0:
        raise CompileError(f"kilnc exited {proc.returncode}: {' '.join(cmd)}\n"
                           f"{proc.stdout.strip()}")
    return Path(out)
