//===- RuntimeCalls.h - Calling runtime kernels -----------------*- C++ -*-===//
//
// Both targets replace some linalg ops by calls of runtime functions that
// take memref descriptors through MLIR's C interface.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_RUNTIMECALLS_H
#define KILN_CODEGEN_RUNTIMECALLS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::kiln {

/// memref<?x..xelem, strided<[?, ..], offset: ?>>: one declaration serves
/// every layout.
MemRefType fullyDynamicMemRef(unsigned rank, Type elem);

/// The private declaration of runtime function `name` (made once, with
/// `llvm.emit_c_interface`).
func::FuncOp declareRuntimeFunction(ModuleOp module, StringRef name,
                                    TypeRange argTypes);

} // namespace mlir::kiln

#endif
