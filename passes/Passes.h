//===- Passes.h - Kiln dialect pass declarations ----------------*- C++ -*-===//
//
// The target-neutral passes on the Kiln dialect: shape canonicalization,
// raising and mixed precision. Code generation passes are declared by the
// codegen layers (codegen/Passes.h, codegen/cpu/Passes.h,
// codegen/cuda/Passes.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_PASSES_H
#define KILN_PASSES_PASSES_H

#include "dialects/kiln/KilnDialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kiln {

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::kiln

#endif
