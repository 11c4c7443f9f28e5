//===- LoweringUtils.cpp - Helpers for lowering kiln to linalg ------------===//
#include "codegen/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

Value mlir::kiln::materializeSymExpr(OpBuilder &b, Location loc, AffineExpr e,
                                     ArrayRef<Value> symbols) {
  switch (e.getKind()) {
  case AffineExprKind::Constant:
    return arith::ConstantIndexOp::create(
        b, loc, cast<AffineConstantExpr>(e).getValue());
  case AffineExprKind::SymbolId:
    return symbols[cast<AffineSymbolExpr>(e).getPosition()];
  case AffineExprKind::DimId:
    llvm_unreachable("shape maps have no dims");
  default:
    break;
  }
  auto bin = cast<AffineBinaryOpExpr>(e);
  Value l = materializeSymExpr(b, loc, bin.getLHS(), symbols);
  Value r = materializeSymExpr(b, loc, bin.getRHS(), symbols);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return arith::AddIOp::create(b, loc, l, r);
  case AffineExprKind::Mul:
    return arith::MulIOp::create(b, loc, l, r);
  case AffineExprKind::FloorDiv:
    return arith::FloorDivSIOp::create(b, loc, l, r);
  case AffineExprKind::CeilDiv:
    return arith::CeilDivSIOp::create(b, loc, l, r);
  case AffineExprKind::Mod: {
    // Affine mod is non-negative for a positive divisor.
    Value rem = arith::RemSIOp::create(b, loc, l, r);
    Value zero = arith::ConstantIndexOp::create(b, loc, 0);
    Value neg =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rem, zero);
    Value fixed = arith::AddIOp::create(b, loc, rem, r);
    return arith::SelectOp::create(b, loc, neg, fixed, rem);
  }
  default:
    llvm_unreachable("unknown affine expression kind");
  }
}

SmallVector<OpFoldResult>
mlir::kiln::materializeShape(OpBuilder &b, Location loc, AffineMap map,
                             ArrayRef<Value> symbols) {
  SmallVector<OpFoldResult> out;
  for (AffineExpr e : map.getResults()) {
    if (auto c = dyn_cast<AffineConstantExpr>(e))
      out.push_back(b.getIndexAttr(c.getValue()));
    else
      out.push_back(materializeSymExpr(b, loc, e, symbols));
  }
  return out;
}

Value mlir::kiln::buildArithConstant(OpBuilder &b, Location loc, Type type,
                                     double v) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, v));
  if (type.isIndex())
    return arith::ConstantIndexOp::create(b, loc, (int64_t)v);
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, (int64_t)v));
}

/// The product of `sizes`, folded where constant.
OpFoldResult kiln::productOf(OpBuilder &b, Location loc,
                             ArrayRef<OpFoldResult> sizes) {
  int64_t stat = 1;
  Value dyn;
  for (OpFoldResult f : sizes) {
    if (auto c = getConstantIntValue(f)) {
      stat *= *c;
      continue;
    }
    Value v = cast<Value>(f);
    dyn = dyn ? (Value)arith::MulIOp::create(b, loc, dyn, v) : v;
  }
  if (!dyn)
    return b.getIndexAttr(stat);
  if (stat != 1)
    dyn = arith::MulIOp::create(b, loc, dyn,
                                arith::ConstantIndexOp::create(b, loc, stat));
  return dyn;
}

RankedTensorType kiln::tensorTypeOf(ArrayRef<OpFoldResult> sizes, Type elem) {
  SmallVector<int64_t> shape;
  for (OpFoldResult f : sizes)
    shape.push_back(getConstantIntValue(f).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elem);
}
