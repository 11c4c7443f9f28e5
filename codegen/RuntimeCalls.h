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

#include <optional>

namespace mlir::kiln {

/// memref<?x..xelem, strided<[?, ..], offset: ?>>: one declaration serves
/// every layout.
MemRefType fullyDynamicMemRef(unsigned rank, Type elem);

/// An empty 1-D buffer of `elem` as fullyDynamicMemRef(1): an optional
/// operand (a bias) the call is told is absent by its size 0.
Value emptyRuntimeOperand(OpBuilder &b, Location loc, Type elem);

/// The private declaration of runtime function `name` (made once, with
/// `llvm.emit_c_interface`).
func::FuncOp declareRuntimeFunction(ModuleOp module, StringRef name,
                                    TypeRange argTypes);

/// The KILN_RT_ACT_* code (runtime/src/kernels/Kernels.h) of a kiln.linear
/// or kiln.qlinear activation; nullopt for another name.
std::optional<int32_t> runtimeActivationCode(StringRef activation);

} // namespace mlir::kiln

#endif
