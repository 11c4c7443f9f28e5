//===- CpuPipeline.h - linalg -> LLVM dialect for the CPU -------*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_CPUPIPELINE_H
#define KILN_CODEGEN_CPU_CPUPIPELINE_H

#include "codegen/Target.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::kiln {

/// Bufferizes linalg on tensors and lowers it to the LLVM dialect.
LogicalResult lowerLinalgToLLVMDialect(ModuleOp module,
                                       const TargetOptions &options);

} // namespace mlir::kiln

#endif
