# -*- Python -*-
#===- test/lit.cfg.py - lit configuration for Kiln's tests ----------------===#
#
# Run through the configured <build>/test/lit.site.cfg.py:
#   /usr/lib/llvm-22/bin/lit -sv build/test
#
# Substitutions:
#   kiln-opt, kilnc, kiln-run   the built tools (build/tools/<tool>/<tool>)
#   %kiln-run-aarch64           the aarch64 kiln-run under qemu-aarch64
#   %qemu-aarch64               qemu-aarch64 with the cross sysroot
#   FileCheck, not, count       LLVM 22's test utilities
#   %python                     the test venv's python (.venv, with onnx,
#                               onnxruntime and numpy)
#   %models                     the fixture models, test/models
#   %clang                      LLVM 22's clang (with -fsanitize=... in a
#                               sanitizer build)
#
#===----------------------------------------------------------------------===#
import os
import shutil
import sys

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "Kiln"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)

# .mlir: kiln-opt pass and dialect tests; .onnxtxt: ONNX text models fed to
# kilnc; .test: anything else driven by RUN lines.
config.suffixes = [".mlir", ".onnxtxt", ".test"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kiln_obj_root, "test")

# Not lit tests: inputs of other tests, fixture data and the Python-driven
# suites, which scripts/test.sh runs on their own.
config.excludes = [
    "Inputs",
    "CMakeLists.txt",
    "README.md",
    "lit.cfg.py",
    "lit.site.cfg.py",
    "models",
    "onnx-backend",
]

llvm_config.with_system_environment(["HOME", "TMP", "TEMP"])
llvm_config.use_default_substitutions()  # FileCheck, count, not

# The tools are built into build/tools/<tool>/; bin/ too in case the build
# gathers them there.
tools_root = os.path.join(config.kiln_obj_root, "tools")
tool_dirs = [
    os.path.join(tools_root, "kiln-opt"),
    os.path.join(tools_root, "kilnc"),
    os.path.join(tools_root, "kiln-run"),
    tools_root,
    os.path.join(config.kiln_obj_root, "bin"),
    config.llvm_tools_dir,
]
llvm_config.add_tool_substitutions(
    [ToolSubst(t, unresolved="warn") for t in ("kiln-opt", "kilnc", "kiln-run")],
    tool_dirs)
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

# The venv python when it exists (scripts/setup.sh makes it), else lit's own.
python = getattr(config, "kiln_python", "") or ""
if not (python and os.access(python, os.X_OK)):
    venv_python = os.path.join(config.kiln_src_root, ".venv", "bin", "python")
    python = venv_python if os.access(venv_python, os.X_OK) else sys.executable
# use_default_substitutions() has set %python to lit's interpreter: replace it.
config.substitutions = [s for s in config.substitutions if s[0] != "%python"]
config.substitutions.append(("%python", '"%s"' % python))
config.substitutions.append(("%models", os.path.join(config.kiln_src_root, "test", "models")))
config.substitutions.append(("%kiln_src", config.kiln_src_root))
# In a sanitizer build (scripts/sanitize.sh) artifacts carry the instrumented
# runtime, so programs linked against them need the sanitizer runtime too.
clang = os.path.join(config.llvm_tools_dir, "clang")
sanitize = getattr(config, "kiln_sanitize", "")
if sanitize:
    clang += " -fsanitize=" + sanitize
    config.available_features.add("sanitizer")
config.substitutions.append(("%clang", clang))

# aarch64 (kilnc --target=cpu:aarch64): "aarch64-sysroot" when Debian's
# cross sysroot is installed (scripts/setup.sh), "aarch64-runtime" when the
# build's runtime dir also has the aarch64 runtime (scripts/build-aarch64.sh)
# and qemu-aarch64 runs its programs: %qemu-aarch64 runs one, and
# %kiln-run-aarch64 is the aarch64 kiln-run under it.
aarch64_sysroot = "/usr/aarch64-linux-gnu"
if os.path.isdir(os.path.join(aarch64_sysroot, "include", "c++")):
    config.available_features.add("aarch64-sysroot")
aarch64_runtime = os.path.realpath(
    os.path.join(config.kiln_obj_root, "lib", "kiln", "aarch64"))
aarch64_kiln_run = os.path.join(os.path.dirname(os.path.dirname(aarch64_runtime)),
                                "tools", "kiln-run", "kiln-run")
qemu = shutil.which("qemu-aarch64")
if (qemu and os.path.isfile(os.path.join(aarch64_runtime, "libkiln_runtime.a"))
        and os.access(aarch64_kiln_run, os.X_OK)):
    config.available_features.add("aarch64-runtime")
qemu_cmd = "%s -L %s" % (qemu or "qemu-aarch64", aarch64_sysroot)
config.substitutions.append(("%qemu-aarch64", qemu_cmd))
config.substitutions.append(("%kiln-run-aarch64", qemu_cmd + " " + aarch64_kiln_run))

# CUDA: "cuda" when this build has the CUDA backend (kilnc --target=cuda);
# "cuda-driver" when libcuda.so.1 loads; "cuda-gpu" when nvidia-smi also lists
# a GPU. Tests that run kernels REQUIRE cuda-gpu and are UNSUPPORTED (with
# that reason in lit's output) on machines without one, such as CI.
import ctypes
import shutil
import subprocess

if getattr(config, "kiln_enable_cuda", "").upper() in ("ON", "1", "TRUE", "YES"):
    config.available_features.add("cuda")
try:
    ctypes.CDLL("libcuda.so.1")
    config.available_features.add("cuda-driver")
    smi = shutil.which("nvidia-smi")
    if smi and "GPU " in subprocess.run([smi, "-L"], capture_output=True,
                                        text=True, timeout=30).stdout:
        config.available_features.add("cuda-gpu")
except (OSError, subprocess.SubprocessError):
    pass
if "cuda-gpu" not in config.available_features:
    lit_config.note("no NVIDIA GPU here: the CUDA execution tests are "
                    "UNSUPPORTED (compile, PTX and link tests still run)")
