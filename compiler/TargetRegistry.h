//===- TargetRegistry.h - Code generation targets by name -------*- C++ -*-===//
#ifndef KILN_COMPILER_TARGETREGISTRY_H
#define KILN_COMPILER_TARGETREGISTRY_H

#include "codegen/Target.h"
#include <memory>

namespace mlir::kiln {

/// The target for a spec ("cpu", "cpu:aarch64", "cuda", "cuda:sm_90",
/// "cuda:sm_100"), or null with `error` set.
std::unique_ptr<Target> createTarget(llvm::StringRef spec,
                                     const TargetOptions &options,
                                     TargetError &error);

/// The runtime dir's folder with the runtime that a spec's artifacts link
/// (codegen/RuntimeDir.h): "aarch64" for cpu:aarch64, empty for the build
/// machine's runtime (and for specs that createTarget refuses).
std::string runtimeSubdirFor(llvm::StringRef spec);

} // namespace mlir::kiln

#endif
