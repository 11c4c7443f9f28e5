//===- SymbolicShape.h - Symbolic extents as affine expressions -*- C++ -*-===//
//
// Kiln keeps every dynamic extent as an AffineExpr over the function's
// symbols (s0 = batch, s1 = seq, ...). Exporters write shape arithmetic such
// as `B*S*64 / (B*S*4)` that affine simplification does not cancel, so these
// helpers canonicalize through a polynomial form with exact division.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_SYMBOLICSHAPE_H
#define KILN_DIALECTS_KILN_SYMBOLICSHAPE_H

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/ArrayRef.h"
#include <optional>
#include <string>

namespace mlir::kiln {

/// Canonical form: sums of products of symbols are sorted and merged;
/// floordiv/mod by something that divides exactly are folded.
AffineExpr simplifySym(AffineExpr e);
AffineExpr symAdd(AffineExpr a, AffineExpr b);
AffineExpr symSub(AffineExpr a, AffineExpr b);
AffineExpr symMul(AffineExpr a, AffineExpr b);
/// Floor division; exact when `b` divides `a` as a polynomial.
AffineExpr symFloorDiv(AffineExpr a, AffineExpr b);
AffineExpr symMod(AffineExpr a, AffineExpr b);
bool symEqual(AffineExpr a, AffineExpr b);
std::optional<int64_t> symConstant(AffineExpr e);

/// The static extent of `e`, or ShapedType::kDynamic.
int64_t toStaticExtent(AffineExpr e);
/// A map `()[s0..sN-1] -> (exprs...)`.
AffineMap shapeMap(MLIRContext *ctx, unsigned numSymbols,
                   llvm::ArrayRef<AffineExpr> exprs);
/// Static extents of the map's results (kDynamic where symbolic).
llvm::SmallVector<int64_t> staticExtents(AffineMap map);

/// A lower bound of `e` when every symbol is at least `symbolMin`, for sums
/// of products of symbols and non-negative constants; nullopt for anything
/// else (a subtraction, a division).
std::optional<int64_t> symLowerBound(AffineExpr e, int64_t symbolMin);

/// Evaluates `e` with the given symbol values.
std::optional<int64_t> evaluateSym(AffineExpr e, llvm::ArrayRef<int64_t> syms);

/// `e` as a C expression over `s[i]` (int64_t), for generated descriptors.
std::string symToC(AffineExpr e);
/// `e` with symbol names, for diagnostics and signatures: "past_seq + seq".
std::string symToString(AffineExpr e, llvm::ArrayRef<std::string> names);

} // namespace mlir::kiln

#endif
