//===- KilnDialect.h - Kiln dialect declaration -----------------*- C++ -*-===//
#ifndef KILN_DIALECTS_KILN_KILNDIALECT_H
#define KILN_DIALECTS_KILN_KILNDIALECT_H

#include "mlir/IR/Dialect.h"

#include "dialects/kiln/KilnDialect.h.inc"

namespace mlir::kiln {
/// Attribute names shared by the importer, the passes and codegen.
inline constexpr llvm::StringLiteral kSymbolsAttr = "kiln.symbols";
inline constexpr llvm::StringLiteral kSymbolMaxAttr = "kiln.symbol_max";
/// On func @main: the symbols whose value the importer assumed non-zero
/// when it folded shape arithmetic (none may then be 0 at run time).
inline constexpr llvm::StringLiteral kNonZeroSymbolsAttr =
    "kiln.nonzero_symbols";
/// On func @main after kiln-outline-symbol-inference: the positions of the
/// data symbols, which it takes as trailing index arguments.
inline constexpr llvm::StringLiteral kDataSymbolsAttr = "kiln.data_symbols";
/// On the function that computes the data symbols (@main_symbols).
inline constexpr llvm::StringLiteral kSymbolInferenceAttr =
    "kiln.symbol_inference";
inline constexpr llvm::StringLiteral kDimsAttr = "kiln.dims";
inline constexpr llvm::StringLiteral kNameAttr = "kiln.name";
/// On the linalg.generic that applies kiln.linear's bias and activation to
/// the 2-D matmul result: {activation = "<act>", bias = <bool>}. Lets
/// kiln-linalg-to-microkernels move it into the GEMM kernel; elementwise
/// fusion leaves such a generic alone.
inline constexpr llvm::StringLiteral kEpilogueAttr = "kiln.epilogue";
} // namespace mlir::kiln

#endif
