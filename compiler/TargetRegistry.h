//===- TargetRegistry.h - Code generation targets by name -------*- C++ -*-===//
#ifndef KILN_COMPILER_TARGETREGISTRY_H
#define KILN_COMPILER_TARGETREGISTRY_H

#include "codegen/Target.h"
#include <memory>

namespace mlir::kiln {

/// The target for a spec ("cpu", "cuda", "cuda:sm_90", "cuda:sm_100"), or
/// null with `error` set.
std::unique_ptr<Target> createTarget(llvm::StringRef spec,
                                     const TargetOptions &options,
                                     TargetError &error);

} // namespace mlir::kiln

#endif
