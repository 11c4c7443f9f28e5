//===- SymbolicShapes.h - Symbolic extents of kiln values -------*- C++ -*-===//
//
// The extents of a kiln tensor value as affine expressions over the
// function's symbols, derived from the ops' shape attributes and the
// arguments' `kiln.dims`. Raising patterns use them to prove that two
// dynamic extents are the same (a mask's rows and the query length, the
// causal offset and Sk - Sq). Results are cached per value, so a user must
// not keep one across rewrites that erase values.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_SYMBOLICSHAPES_H
#define KILN_PASSES_SYMBOLICSHAPES_H

#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/Value.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/ADT/SmallVector.h"
#include <optional>

namespace mlir::kiln {

using SymbolicShape = llvm::SmallVector<AffineExpr, 4>;

class SymbolicShapes {
public:
  /// The extents of `v`, or nullopt where an op on its path has no rule.
  std::optional<SymbolicShape> get(Value v);

private:
  std::optional<SymbolicShape> compute(Value v);
  llvm::DenseMap<Value, std::optional<SymbolicShape>> cache;
};

/// Whether two extent lists are the same length and pairwise equal.
bool sameShape(llvm::ArrayRef<AffineExpr> a, llvm::ArrayRef<AffineExpr> b);

} // namespace mlir::kiln

#endif
