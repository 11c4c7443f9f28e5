//===- LowerElementwise.cpp - Elementwise kiln ops to linalg.generic ------===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/TypeSwitch.h"
#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

//===----------------------------------------------------------------------===//
// Scalar bodies
//===----------------------------------------------------------------------===//

/// x^y for integers by repeated squaring, wrapping as the multiplications
/// do. A negative exponent gives what C's pow and a cast to the integer type
/// give (ONNX leaves it open): 1 for x = 1, -1 or 1 for x = -1, else 0.
/// MLIR's math.ipowi has no LLVM lowering, hence the loop here.
static Value integerPow(OpBuilder &b, Location loc, Value x, Value y,
                        bool isUnsigned) {
  Type t = x.getType();
  using I = arith::CmpIPredicate;
  Value zero = buildArithConstant(b, loc, t, 0),
        one = buildArithConstant(b, loc, t, 1);
  Value exponent = y, negative;
  if (!isUnsigned) {
    negative = arith::CmpIOp::create(b, loc, I::slt, y, zero);
    exponent = arith::SelectOp::create(b, loc, negative, zero, y);
  }
  // (acc, base, e) -> (e & 1 ? acc * base : acc, base * base, e >> 1)
  auto loop = scf::WhileOp::create(
      b, loc, TypeRange{t, t, t}, ValueRange{one, x, exponent},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value more = arith::CmpIOp::create(nb, nl, I::ne, a[2], zero);
        scf::ConditionOp::create(nb, nl, more, a);
      },
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value odd = arith::CmpIOp::create(
            nb, nl, I::ne, arith::AndIOp::create(nb, nl, a[2], one), zero);
        Value acc = arith::SelectOp::create(
            nb, nl, odd, arith::MulIOp::create(nb, nl, a[0], a[1]), a[0]);
        Value base = arith::MulIOp::create(nb, nl, a[1], a[1]);
        Value rest = arith::ShRUIOp::create(nb, nl, a[2], one);
        scf::YieldOp::create(nb, nl, ValueRange{acc, base, rest});
      });
  Value r = loop.getResult(0);
  if (isUnsigned)
    return r;
  Value minusOne = buildArithConstant(b, loc, t, -1);
  Value oddExponent = arith::CmpIOp::create(
      b, loc, I::ne, arith::AndIOp::create(b, loc, y, one), zero);
  Value ofMinusOne =
      arith::SelectOp::create(b, loc, oddExponent, minusOne, one);
  Value ofOther = arith::SelectOp::create(
      b, loc, arith::CmpIOp::create(b, loc, I::eq, x, minusOne), ofMinusOne,
      zero);
  Value reciprocal = arith::SelectOp::create(
      b, loc, arith::CmpIOp::create(b, loc, I::eq, x, one), one, ofOther);
  return arith::SelectOp::create(b, loc, negative, reciprocal, r);
}

/// Scalar body of a binary kiln op; `isUnsigned` when the operands are
/// unsigned integers.
Value linalg_lowering::binaryBody(OpBuilder &b, Location loc, Operation *op,
                                  Value x, Value y, bool isUnsigned) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t);
  using P = arith::CmpFPredicate;
  using I = arith::CmpIPredicate;
  auto cmp = [&](P fp, I sp, I up) -> Value {
    if (isFloat)
      return arith::CmpFOp::create(b, loc, fp, x, y);
    return arith::CmpIOp::create(b, loc, isUnsigned ? up : sp, x, y);
  };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<AddOp>([&](auto) -> Value {
        return isFloat ? (Value)arith::AddFOp::create(b, loc, x, y)
                       : (Value)arith::AddIOp::create(b, loc, x, y);
      })
      .Case<SubOp>([&](auto) -> Value {
        return isFloat ? (Value)arith::SubFOp::create(b, loc, x, y)
                       : (Value)arith::SubIOp::create(b, loc, x, y);
      })
      .Case<MulOp>([&](auto) -> Value {
        return isFloat ? (Value)arith::MulFOp::create(b, loc, x, y)
                       : (Value)arith::MulIOp::create(b, loc, x, y);
      })
      .Case<DivOp>([&](auto) -> Value {
        if (isFloat)
          return arith::DivFOp::create(b, loc, x, y);
        return isUnsigned ? (Value)arith::DivUIOp::create(b, loc, x, y)
                          : (Value)arith::DivSIOp::create(b, loc, x, y);
      })
      .Case<PowOp>([&](auto) -> Value {
        if (isFloat)
          return math::PowFOp::create(b, loc, x, y);
        return integerPow(b, loc, x, y, isUnsigned);
      })
      .Case<MaxOp>([&](auto) -> Value {
        if (isFloat)
          return arith::MaximumFOp::create(b, loc, x, y);
        return isUnsigned ? (Value)arith::MaxUIOp::create(b, loc, x, y)
                          : (Value)arith::MaxSIOp::create(b, loc, x, y);
      })
      .Case<MinOp>([&](auto) -> Value {
        if (isFloat)
          return arith::MinimumFOp::create(b, loc, x, y);
        return isUnsigned ? (Value)arith::MinUIOp::create(b, loc, x, y)
                          : (Value)arith::MinSIOp::create(b, loc, x, y);
      })
      .Case<ModOp>([&](auto) -> Value {
        if (isFloat)
          return arith::RemFOp::create(b, loc, x, y);
        if (isUnsigned)
          return arith::RemUIOp::create(b, loc, x, y);
        // Integer Mod takes the sign of the divisor.
        Value r = arith::RemSIOp::create(b, loc, x, y);
        Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
        Value rNeg = arith::CmpIOp::create(b, loc, I::slt, r, zero);
        Value yNeg = arith::CmpIOp::create(b, loc, I::slt, y, zero);
        Value rNonZero = arith::CmpIOp::create(b, loc, I::ne, r, zero);
        Value differ = arith::XOrIOp::create(b, loc, rNeg, yNeg);
        Value fix = arith::AndIOp::create(b, loc, differ, rNonZero);
        Value adj = arith::AddIOp::create(b, loc, r, y);
        return arith::SelectOp::create(b, loc, fix, adj, r);
      })
      .Case<AndOp>(
          [&](auto) -> Value { return arith::AndIOp::create(b, loc, x, y); })
      .Case<OrOp>(
          [&](auto) -> Value { return arith::OrIOp::create(b, loc, x, y); })
      .Case<EqualOp>([&](auto) { return cmp(P::OEQ, I::eq, I::eq); })
      .Case<LessOp>([&](auto) { return cmp(P::OLT, I::slt, I::ult); })
      .Case<LessEqualOp>([&](auto) { return cmp(P::OLE, I::sle, I::ule); })
      .Case<GreaterOp>([&](auto) { return cmp(P::OGT, I::sgt, I::ugt); })
      .Case<GreaterEqualOp>([&](auto) { return cmp(P::OGE, I::sge, I::uge); })
      .Default([](Operation *) { return Value(); });
}

static Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = buildArithConstant(b, loc, x.getType(), 1.0);
  Value neg = arith::NegFOp::create(b, loc, x);
  Value e = math::ExpOp::create(b, loc, neg);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

static Value geluBody(OpBuilder &b, Location loc, Value x, bool tanhForm) {
  auto c = [&](double v) { return buildArithConstant(b, loc, x.getType(), v); };
  Value inner;
  if (tanhForm) {
    Value x3 =
        arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value poly = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), x3));
    inner = math::TanhOp::create(
        b, loc, arith::MulFOp::create(b, loc, c(0.7978845608028654), poly));
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, c(0.7071067811865476)));
  }
  Value s = arith::AddFOp::create(b, loc, c(1.0), inner);
  return arith::MulFOp::create(b, loc, arith::MulFOp::create(b, loc, c(0.5), x),
                               s);
}

/// kiln.linear's activations on a float scalar.
Value linalg_lowering::activationBody(OpBuilder &b, Location loc, StringRef act,
                                      Value x) {
  if (act == "relu")
    return arith::MaximumFOp::create(
        b, loc, x, buildArithConstant(b, loc, x.getType(), 0.0));
  if (act == "gelu" || act == "gelu_tanh")
    return geluBody(b, loc, x, act == "gelu_tanh");
  if (act == "silu")
    return arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x));
  return x;
}

/// Scalar body of a unary kiln op; `isUnsigned` when the operand is an
/// unsigned integer.
Value linalg_lowering::unaryBody(OpBuilder &b, Location loc, Operation *op,
                                 Value x, bool isUnsigned) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t);
  auto c = [&](double v) { return buildArithConstant(b, loc, t, v); };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<NegOp>([&](auto) -> Value {
        if (isFloat)
          return arith::NegFOp::create(b, loc, x);
        return arith::SubIOp::create(b, loc, c(0), x);
      })
      .Case<AbsOp>([&](auto) -> Value {
        if (isFloat)
          return math::AbsFOp::create(b, loc, x);
        return isUnsigned ? x : (Value)math::AbsIOp::create(b, loc, x);
      })
      .Case<SqrtOp>([&](auto) { return math::SqrtOp::create(b, loc, x); })
      .Case<RsqrtOp>([&](auto) { return math::RsqrtOp::create(b, loc, x); })
      .Case<ExpOp>([&](auto) { return math::ExpOp::create(b, loc, x); })
      .Case<LogOp>([&](auto) { return math::LogOp::create(b, loc, x); })
      .Case<ErfOp>([&](auto) { return math::ErfOp::create(b, loc, x); })
      .Case<TanhOp>([&](auto) { return math::TanhOp::create(b, loc, x); })
      .Case<SinOp>([&](auto) { return math::SinOp::create(b, loc, x); })
      .Case<CosOp>([&](auto) { return math::CosOp::create(b, loc, x); })
      .Case<FloorOp>([&](auto) { return math::FloorOp::create(b, loc, x); })
      .Case<CeilOp>([&](auto) { return math::CeilOp::create(b, loc, x); })
      .Case<RoundOp>([&](auto) { return math::RoundEvenOp::create(b, loc, x); })
      .Case<SigmoidOp>([&](auto) { return sigmoid(b, loc, x); })
      .Case<SiluOp>([&](auto) -> Value {
        return arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x));
      })
      .Case<ReluOp>([&](auto) -> Value {
        if (isFloat)
          return arith::MaximumFOp::create(b, loc, x, c(0));
        return isUnsigned ? x : (Value)arith::MaxSIOp::create(b, loc, x, c(0));
      })
      .Case<ReciprocalOp>(
          [&](auto) -> Value { return arith::DivFOp::create(b, loc, c(1), x); })
      .Case<NotOp>([&](auto) -> Value {
        Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
        return arith::XOrIOp::create(b, loc, x, one);
      })
      .Case<GeluOp>([&](GeluOp g) -> Value {
        return geluBody(b, loc, x, g.getApproximate() == "tanh");
      })
      .Default([](Operation *) { return Value(); });
}

/// ONNX Cast semantics between scalar types; the flags say whether the
/// (signless) integer types stand for unsigned ones.
namespace {

Value i32Constant(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(int32_t(v)));
}

/// The f32 of an f8E4M3FN value, exactly, in integer steps (LLVM has no
/// such type): the runtime's f8e4m3ToF32 (runtime/src/kernels/F8Bits.h).
Value widenF8(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) { return i32Constant(b, loc, v); };
  Value w = arith::ExtUIOp::create(
      b, loc, i32, arith::BitcastOp::create(b, loc, b.getI8Type(), x));
  Value mag = arith::AndIOp::create(b, loc, w, c(0x7f));
  Value normal = arith::BitcastOp::create(
      b, loc, f32,
      arith::AddIOp::create(b, loc, arith::ShLIOp::create(b, loc, mag, c(20)),
                            c(120 << 23)));
  Value sub = arith::MulFOp::create(
      b, loc,
      arith::UIToFPOp::create(b, loc, f32,
                              arith::AndIOp::create(b, loc, mag, c(7))),
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(0x1p-9f)));
  Value v = arith::SelectOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, mag, c(8)), sub,
      normal);
  Value bits = arith::SelectOp::create(
      b, loc,
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, mag, c(0x7f)),
      c(0x7fc00000), arith::BitcastOp::create(b, loc, i32, v));
  Value sign = arith::ShLIOp::create(
      b, loc, arith::AndIOp::create(b, loc, w, c(0x80)), c(24));
  return arith::BitcastOp::create(b, loc, f32,
                                  arith::OrIOp::create(b, loc, bits, sign));
}

/// The f8E4M3FN nearest to the f32 x, ties to even, saturating at +-448,
/// NaN kept: the runtime's f32ToF8e4m3.
Value narrowF8(OpBuilder &b, Location loc, Value x, Type to) {
  Type i32 = b.getI32Type(), f32 = b.getF32Type();
  auto c = [&](int64_t v) { return i32Constant(b, loc, v); };
  auto f = [&](float v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  };
  auto cmp = [&](arith::CmpIPredicate p, Value l, int64_t r) {
    return arith::CmpIOp::create(b, loc, p, l, c(r));
  };
  Value u = arith::BitcastOp::create(b, loc, i32, x);
  Value a = arith::AndIOp::create(b, loc, u, c(0x7fffffff));
  Value lsb = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, a, c(20)), c(1));
  Value r = arith::AddIOp::create(
      b, loc, a, arith::AddIOp::create(b, loc, lsb, c(0x7ffff)));
  Value code = arith::SubIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, r, c(20)), c(120 << 3));
  // Below 2^-6 the code is a * 2^9 rounded to an integer, ties to even:
  // adding and taking away 2^23 rounds so.
  Value scaled = arith::MulFOp::create(
      b, loc, arith::BitcastOp::create(b, loc, f32, a), f(0x1p9f));
  Value rounded = arith::SubFOp::create(
      b, loc, arith::AddFOp::create(b, loc, scaled, f(0x1p23f)), f(0x1p23f));
  Value sub = arith::FPToSIOp::create(b, loc, i32, rounded);
  code = arith::SelectOp::create(
      b, loc, cmp(arith::CmpIPredicate::ult, a, 0x3c800000), sub, code);
  code = arith::SelectOp::create(
      b, loc, cmp(arith::CmpIPredicate::uge, a, 0x43e00000), c(0x7e), code);
  code = arith::SelectOp::create(
      b, loc, cmp(arith::CmpIPredicate::ugt, a, 0x7f800000), c(0x7f), code);
  Value sign = arith::AndIOp::create(
      b, loc, arith::ShRUIOp::create(b, loc, u, c(24)), c(0x80));
  Value byte = arith::TruncIOp::create(
      b, loc, b.getI8Type(), arith::OrIOp::create(b, loc, code, sign));
  return arith::BitcastOp::create(b, loc, to, byte);
}

} // namespace

Value linalg_lowering::castScalar(OpBuilder &b, Location loc, Value x, Type to,
                                  bool fromUnsigned, bool toUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  // f8E4M3FN (a KV cache's, kiln-kv-cache-type) goes through f32.
  if (isa<Float8E4M3FNType>(from))
    return castScalar(b, loc, widenF8(b, loc, x), to, false, toUnsigned);
  if (isa<Float8E4M3FNType>(to))
    return narrowF8(b, loc, castScalar(b, loc, x, b.getF32Type(), fromUnsigned),
                    to);
  if (to.isInteger(1)) {
    if (isa<FloatType>(from))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x,
                                   buildArithConstant(b, loc, from, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                 buildArithConstant(b, loc, from, 0));
  }
  auto fromF = dyn_cast<FloatType>(from), toF = dyn_cast<FloatType>(to);
  if (fromF && toF)
    return fromF.getWidth() < toF.getWidth()
               ? (Value)arith::ExtFOp::create(b, loc, to, x)
               : (Value)arith::TruncFOp::create(b, loc, to, x);
  if (fromF)
    return toUnsigned ? (Value)arith::FPToUIOp::create(b, loc, to, x)
                      : (Value)arith::FPToSIOp::create(b, loc, to, x);
  bool zeroExtend = fromUnsigned || from.isInteger(1);
  if (toF)
    return zeroExtend ? (Value)arith::UIToFPOp::create(b, loc, to, x)
                      : (Value)arith::SIToFPOp::create(b, loc, to, x);
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw)
    return zeroExtend ? (Value)arith::ExtUIOp::create(b, loc, to, x)
                      : (Value)arith::ExtSIOp::create(b, loc, to, x);
  return arith::TruncIOp::create(b, loc, to, x);
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

LogicalResult FunctionLowering::lowerBinary(Operation *op) {
  auto rt = cast<RankedTensorType>(op->getResult(0).getType());
  bool isUnsigned = isUnsignedIn(op);
  Value r = elementwise(op->getLoc(), rt, op->getOperands(),
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          return binaryBody(nb, nl, op, a[0], a[1], isUnsigned);
                        });
  b.replaceOp(op, r);
  return success();
}

LogicalResult FunctionLowering::lowerUnary(Operation *op) {
  auto rt = cast<RankedTensorType>(op->getResult(0).getType());
  Type elem = rt.getElementType();
  bool widen = isa<FloatType>(elem) && computeType(elem) != elem;
  bool isUnsigned = isUnsignedIn(op);
  Value r = elementwise(op->getLoc(), rt, op->getOperand(0),
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          Value x = a[0];
                          if (widen)
                            x = extendTo(nb, nl, x, computeType(elem));
                          Value y = unaryBody(nb, nl, op, x, isUnsigned);
                          return widen ? truncTo(nb, nl, y, elem) : y;
                        });
  b.replaceOp(op, r);
  return success();
}

LogicalResult FunctionLowering::lowerConstant(ConstantOp c) {
  b.replaceOp(c, arith::ConstantOp::create(b, c.getLoc(), c.getType(),
                                           cast<TypedAttr>(c.getValue())));
  return success();
}

LogicalResult FunctionLowering::lowerCast(CastOp c) {
  Type to = c.getType().getElementType();
  bool fromUnsigned = isUnsignedIn(c), toUnsigned = unsignedResult.contains(c);
  Value input = c.getInput();
  Value result = elementwise(c.getLoc(), c.getType(), input,
                             [&](OpBuilder &nb, Location nl, ValueRange a) {
                               return castScalar(nb, nl, a[0], to, fromUnsigned,
                                                 toUnsigned);
                             });
  auto read = input.getDefiningOp<bufferization::ToTensorOp>();
  Type narrow = tensorTy(input).getElementType();
  if (read && isa<BlockArgument>(read.getBuffer()) && to.isF32() &&
      (narrow.isBF16() || isa<Float8E4M3FNType>(narrow)))
    widenedInputs[result] = input;
  b.replaceOp(c, result);
  return success();
}

LogicalResult FunctionLowering::lowerClip(ClipOp c) {
  Type t = c.getType().getElementType();
  double lo = c.getMin().convertToDouble(), hi = c.getMax().convertToDouble();
  bool isUnsigned = isUnsignedIn(c);
  b.replaceOp(
      c, elementwise(c.getLoc(), c.getType(), c.getInput(),
                     [&](OpBuilder &nb, Location nl, ValueRange a) {
                       Value x = a[0];
                       bool f = isa<FloatType>(t);
                       if (std::isfinite(lo) || f) {
                         Value l = buildArithConstant(nb, nl, t, lo);
                         x = f ? (Value)arith::MaximumFOp::create(nb, nl, x, l)
                             : isUnsigned
                                 ? (Value)arith::MaxUIOp::create(nb, nl, x, l)
                                 : (Value)arith::MaxSIOp::create(nb, nl, x, l);
                       }
                       if (std::isfinite(hi) || f) {
                         Value h = buildArithConstant(nb, nl, t, hi);
                         x = f ? (Value)arith::MinimumFOp::create(nb, nl, x, h)
                             : isUnsigned
                                 ? (Value)arith::MinUIOp::create(nb, nl, x, h)
                                 : (Value)arith::MinSIOp::create(nb, nl, x, h);
                       }
                       return x;
                     }));
  return success();
}

LogicalResult FunctionLowering::lowerWhere(WhereOp w) {
  b.replaceOp(w, elementwise(w.getLoc(), w.getType(), w->getOperands(),
                             [](OpBuilder &nb, Location nl, ValueRange a) {
                               return (Value)arith::SelectOp::create(
                                   nb, nl, a[0], a[1], a[2]);
                             }));
  return success();
}

LogicalResult FunctionLowering::lowerTrilu(TriluOp t) {
  auto rt = t.getType();
  int64_t rank = rt.getRank();
  bool upper = t.getUpper();
  int64_t kOff = t.getK();
  Type elem = rt.getElementType();
  b.replaceOp(
      t, elementwise(
             t.getLoc(), rt, t.getInput(),
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value i = linalg::IndexOp::create(nb, nl, rank - 2);
               Value j = linalg::IndexOp::create(nb, nl, rank - 1);
               Value diff = arith::SubIOp::create(nb, nl, j, i);
               Value k = arith::ConstantIndexOp::create(nb, nl, kOff);
               Value keep =
                   arith::CmpIOp::create(nb, nl,
                                         upper ? arith::CmpIPredicate::sge
                                               : arith::CmpIPredicate::sle,
                                         diff, k);
               Value zero =
                   arith::ConstantOp::create(nb, nl, nb.getZeroAttr(elem));
               return (Value)arith::SelectOp::create(nb, nl, keep, a[0], zero);
             }));
  return success();
}

LogicalResult FunctionLowering::lowerIsNan(IsNanOp op) {
  b.replaceOp(op, elementwise(op.getLoc(), cast<RankedTensorType>(op.getType()),
                              op.getInput(),
                              [](OpBuilder &nb, Location nl, ValueRange a) {
                                return (Value)arith::CmpFOp::create(
                                    nb, nl, arith::CmpFPredicate::UNO, a[0],
                                    a[0]);
                              }));
  return success();
}

LogicalResult FunctionLowering::lowerIsInf(IsInfOp op) {
  bool positive = op.getDetectPositive(), negative = op.getDetectNegative();
  b.replaceOp(
      op, elementwise(
              op.getLoc(), cast<RankedTensorType>(op.getType()), op.getInput(),
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                auto type = cast<FloatType>(a[0].getType());
                auto isValue = [&](bool negativeInf) {
                  APFloat inf =
                      APFloat::getInf(type.getFloatSemantics(), negativeInf);
                  Value c = arith::ConstantOp::create(
                      nb, nl, nb.getFloatAttr(type, inf));
                  return (Value)arith::CmpFOp::create(
                      nb, nl, arith::CmpFPredicate::OEQ, a[0], c);
                };
                Value result =
                    arith::ConstantOp::create(nb, nl, nb.getBoolAttr(false));
                if (positive)
                  result = isValue(false);
                if (negative)
                  result = positive ? (Value)arith::OrIOp::create(
                                          nb, nl, result, isValue(true))
                                    : isValue(true);
                return result;
              }));
  return success();
}
