//===- ObjectEmitter.h - LLVM dialect -> object file or LLVM IR -*- C++ -*-===//
//
// The host code of every target becomes machine code here: translation to
// LLVM IR, LLVM's optimization pipeline and the TargetMachine, in process.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_OBJECTEMITTER_H
#define KILN_CODEGEN_OBJECTEMITTER_H

#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::kiln {

struct TargetOptions;

/// Translates to LLVM IR, optimizes, and writes an object file or, with
/// `emitLLVM`, textual LLVM IR.
LogicalResult emitObject(ModuleOp module, const TargetOptions &options,
                         const std::string &path, bool emitLLVM);

} // namespace mlir::kiln

#endif
