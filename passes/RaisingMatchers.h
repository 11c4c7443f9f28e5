//===- RaisingMatchers.h - Helpers for the raising patterns -----*- C++ -*-===//
//
// The raising passes recognize what exporters write for one operator spread
// over elementwise ops. They share these small matchers: a scalar constant
// of a given value, a commutative operand pair, and the f32 check.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_RAISINGMATCHERS_H
#define KILN_PASSES_RAISINGMATCHERS_H

#include "dialects/kiln/KilnOps.h"

#include "mlir/IR/BuiltinAttributes.h"
#include <cmath>
#include <optional>

namespace mlir::kiln::raising {

/// The value of a float constant that broadcasts like a scalar: a splat
/// `kiln.constant` whose every extent is 1 (rank 0 included).
inline std::optional<double> matchScalarConstant(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast<DenseFPElementsAttr>(c.getValue());
  if (!dense || !dense.isSplat())
    return std::nullopt;
  if (llvm::any_of(dense.getType().getShape(),
                   [](int64_t d) { return d != 1; }))
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

/// Whether `v` is a scalar constant within f32 rounding of `want`.
inline bool isScalar(Value v, double want) {
  std::optional<double> got = matchScalarConstant(v);
  return got && std::abs(*got - want) <= 1e-6 * std::abs(want);
}

inline bool isF32Tensor(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.getElementType().isF32();
}

/// Calls `fn(a, b)` with the operands of a binary op in both orders; true
/// when either order matches.
template <typename Fn> bool eitherOrder(Operation *op, Fn &&fn) {
  Value a = op->getOperand(0), b = op->getOperand(1);
  return fn(a, b) || fn(b, a);
}

/// The defining op of `v` as `OpT` when `v` has no other use: the raised op
/// replaces the whole chain, so an intermediate that is also read elsewhere
/// would have to be computed anyway.
template <typename OpT> OpT singleUse(Value v) {
  auto op = v.getDefiningOp<OpT>();
  return op && v.hasOneUse() ? op : OpT();
}

/// `x * x` or `pow(x, 2)` with no other use of the product; returns x.
inline Value squareOf(Value v) {
  if (auto m = singleUse<MulOp>(v); m && m.getLhs() == m.getRhs())
    return m.getLhs();
  if (auto p = singleUse<PowOp>(v); p && isScalar(p.getRhs(), 2.0))
    return p.getLhs();
  return Value();
}

} // namespace mlir::kiln::raising

#endif // KILN_PASSES_RAISINGMATCHERS_H
