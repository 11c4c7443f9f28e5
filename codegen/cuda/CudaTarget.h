//===- CudaTarget.h - The NVIDIA GPU target ---------------------*- C++ -*-===//
#ifndef KILN_CODEGEN_CUDA_CUDATARGET_H
#define KILN_CODEGEN_CUDA_CUDATARGET_H

#include "codegen/Target.h"
#include <memory>

namespace mlir::kiln {

/// The CUDA target for chip `arch` ("" for every chip it builds, "sm_90" or
/// "sm_100"), or null with `error` set for another chip or a precision it
/// does not have.
std::unique_ptr<Target> createCudaTarget(const TargetOptions &options,
                                         llvm::StringRef arch,
                                         TargetError &error);

} // namespace mlir::kiln

#endif
