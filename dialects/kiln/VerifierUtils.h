//===- VerifierUtils.h - Helpers shared by the kiln op verifiers -*- C++
//-*-===//
#ifndef KILN_DIALECTS_KILN_VERIFIERUTILS_H
#define KILN_DIALECTS_KILN_VERIFIERUTILS_H

#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Operation.h"

namespace mlir::kiln {

inline RankedTensorType tensorType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Fails with "axis A is out of range for rank R" unless 0 <= axis < rank.
LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank);

/// Whether two extents may be equal: one of them is dynamic, or both are the
/// same static extent.
inline bool compatibleExtents(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// A reduction of the scatter ops: "none", "add", "mul", "max" or "min".
bool isScatterReduction(StringRef reduction);

} // namespace mlir::kiln

#endif
