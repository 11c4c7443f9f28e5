//===- CpuTarget.h - The CPU target -----------------------------*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_CPUTARGET_H
#define KILN_CODEGEN_CPU_CPUTARGET_H

#include "codegen/Target.h"
#include <memory>

namespace mlir::kiln {

/// The CPU target for the instruction set `arch` (codegen/cpu/CpuArch.h;
/// empty: the build machine's), or null with `error` set when Kiln does not
/// know `arch` or its `options.cpu`, or `options.precision` is not one the
/// target has (fp32, fp16, bf16).
std::unique_ptr<Target> createCpuTarget(const TargetOptions &options,
                                        llvm::StringRef arch,
                                        TargetError &error);

} // namespace mlir::kiln

#endif
