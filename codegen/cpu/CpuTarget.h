//===- CpuTarget.h - The x86-64 CPU target ----------------------*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_CPUTARGET_H
#define KILN_CODEGEN_CPU_CPUTARGET_H

#include "codegen/Target.h"
#include <memory>

namespace mlir::kiln {

/// The CPU target, or null with `error` set when `options.precision` is not
/// one it has (fp32, fp16, bf16).
std::unique_ptr<Target> createCpuTarget(const TargetOptions &options,
                                        TargetError &error);

} // namespace mlir::kiln

#endif
