//===- CpuPipeline.h - Kiln dialect -> LLVM object for x86-64 ---*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_CPUPIPELINE_H
#define KILN_CODEGEN_CPU_CPUPIPELINE_H

#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::kiln {

struct CpuOptions {
  int optLevel = 2;
  /// "native" targets the compiling machine's CPU.
  std::string cpu = "native";
  bool verbose = false;
};

/// The kiln -> linalg stage alone (for --emit=linalg).
LogicalResult lowerToLinalg(ModuleOp module, const CpuOptions &options);
/// The rest: bufferize and lower to the LLVM dialect.
LogicalResult lowerLinalgToLLVMDialect(ModuleOp module,
                                       const CpuOptions &options);
/// Translates to LLVM IR, optimizes, and writes an object file or, with
/// `emitLLVM`, textual LLVM IR.
LogicalResult emitObject(ModuleOp module, const CpuOptions &options,
                         const std::string &path, bool emitLLVM);

} // namespace mlir::kiln

#endif
