//===- LoweringUtils.cpp - Helpers for lowering kiln to linalg ------------===//
#include "codegen/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/AffineExpr.h"

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
