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
enum class HostCodeFile;

/// Translates to LLVM IR for `options.triple` (empty: the build machine's)
/// and `options.cpu`, optimizes, and writes `file`: an object file,
/// assembly, or textual LLVM IR.
LogicalResult emitObject(ModuleOp module, const TargetOptions &options,
                         const std::string &path, HostCodeFile file);

} // namespace mlir::kiln

#endif
