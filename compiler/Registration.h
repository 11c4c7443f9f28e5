//===- Registration.h - Dialects and passes of the tools --------*- C++ -*-===//
#ifndef KILN_COMPILER_REGISTRATION_H
#define KILN_COMPILER_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::kiln {

/// MLIR's dialects and extensions, and the Kiln dialect.
void registerKilnDialects(DialectRegistry &registry);

/// MLIR's passes and all of Kiln's (passes/, codegen/, codegen/cpu,
/// codegen/cuda), for textual pipelines and kiln-opt. Safe to call more
/// than once, from any thread.
void registerAllKilnPasses();

} // namespace mlir::kiln

#endif
