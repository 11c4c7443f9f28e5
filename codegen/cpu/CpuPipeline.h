//===- CpuPipeline.h - Kiln dialect -> LLVM object for x86-64 ---*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_CPUPIPELINE_H
#define KILN_CODEGEN_CPU_CPUPIPELINE_H

#include "codegen/Target.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::kiln {

/// Bufferizes linalg on tensors and lowers it to the LLVM dialect.
LogicalResult lowerLinalgToLLVMDialect(ModuleOp module,
                                       const TargetOptions &options);
/// Translates to LLVM IR, optimizes, and writes an object file or, with
/// `emitLLVM`, textual LLVM IR.
LogicalResult emitObject(ModuleOp module, const TargetOptions &options,
                         const std::string &path, bool emitLLVM);

} // namespace mlir::kiln

#endif
