//===- LowerSelection.cpp - ArgMax, ArgMin and TopK -----------------------===//
//
// The three ops pick elements along an axis by one order on (value,
// position) pairs: by value (largest first, or smallest first), NaNs before
// every number as numpy's argmax/argmin have them, and among equal values
// by position. Each pick is a reduction over the axis with the pair as its
// accumulator, so no element is ever read at a computed position.
//
//===----------------------------------------------------------------------===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

namespace {

/// The value order of one op on scalars of its (signless) element type.
struct ValueOrder {
  bool largest;
  bool isUnsigned;

  /// Whether `v` comes strictly before `w`.
  Value before(OpBuilder &b, Location loc, Value v, Value w) const {
    if (isa<FloatType>(v.getType())) {
      Value vNan = isNan(b, loc, v), wNan = isNan(b, loc, w);
      Value cmp = arith::CmpFOp::create(b, loc,
                                        largest ? arith::CmpFPredicate::OGT
                                                : arith::CmpFPredicate::OLT,
                                        v, w);
      Value wNum = arith::XOrIOp::create(b, loc, wNan, trueValue(b, loc));
      return arith::OrIOp::create(b, loc, cmp,
                                  arith::AndIOp::create(b, loc, vNan, wNum));
    }
    using P = arith::CmpIPredicate;
    P pred =
        isUnsigned ? (largest ? P::ugt : P::ult) : (largest ? P::sgt : P::slt);
    return arith::CmpIOp::create(b, loc, pred, v, w);
  }

  /// Whether `v` and `w` tie (two NaNs tie).
  Value same(OpBuilder &b, Location loc, Value v, Value w) const {
    if (isa<FloatType>(v.getType()))
      return arith::OrIOp::create(
          b, loc,
          arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, v, w),
          arith::AndIOp::create(b, loc, isNan(b, loc, v), isNan(b, loc, w)));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, v, w);
  }

  /// The end of the order: every element comes before or ties with it.
  Value lastValue(OpBuilder &b, Location loc, Type t) const {
    if (auto ft = dyn_cast<FloatType>(t))
      return arith::ConstantOp::create(
          b, loc,
          b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(),
                                             /*Negative=*/largest)));
    unsigned w = t.getIntOrFloatBitWidth();
    APInt v = isUnsigned ? (largest ? APInt::getZero(w) : APInt::getMaxValue(w))
                         : (largest ? APInt::getSignedMinValue(w)
                                    : APInt::getSignedMaxValue(w));
    return arith::ConstantOp::create(b, loc, b.getIntegerAttr(t, v));
  }

private:
  static Value isNan(OpBuilder &b, Location loc, Value v) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNO, v, v);
  }
  static Value trueValue(OpBuilder &b, Location loc) {
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
  }
};

Value i64Constant(OpBuilder &b, Location loc, int64_t v) {
  return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
}

} // namespace

/// One generic reducing over the axis into (best value, best position),
/// from (the end of the order, a position that every tie replaces).
template <typename OpT> LogicalResult FunctionLowering::lowerArgReduce(OpT op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xt = tensorTy(x);
  Type elem = xt.getElementType(), i64 = b.getI64Type();
  int64_t rank = xt.getRank(), axis = op.getAxis();
  bool last = op.getSelectLastIndex();
  ValueOrder order{std::is_same_v<OpT, ArgMaxOp>,
                   isUnsignedIn(op) || elem.isInteger(1)};
  SmallVector<OpFoldResult> sizes = sizesOf(x);
  sizes.erase(sizes.begin() + axis);
  auto fill = [&](Value v, Type t) {
    return linalg::FillOp::create(b, loc, ValueRange{v},
                                  ValueRange{empty(loc, sizes, t)})
        .getResult(0);
  };
  Value bestValue = fill(order.lastValue(b, loc, elem), elem);
  Value bestIndex =
      fill(i64Constant(b, loc, last ? -1 : std::numeric_limits<int64_t>::max()),
           i64);
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              dropAxesMap(rank, {axis}),
                              dropAxesMap(rank, {axis})};
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  iters[axis] = IteratorType::reduction;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{bestValue.getType(), bestIndex.getType()},
      ValueRange{x}, ValueRange{bestValue, bestIndex}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value j = arith::IndexCastOp::create(
            nb, nl, i64, linalg::IndexOp::create(nb, nl, axis));
        Value tieBreak = arith::CmpIOp::create(nb, nl,
                                               last ? arith::CmpIPredicate::sgt
                                                    : arith::CmpIPredicate::slt,
                                               j, a[2]);
        Value take = arith::OrIOp::create(
            nb, nl, order.before(nb, nl, a[0], a[1]),
            arith::AndIOp::create(nb, nl, order.same(nb, nl, a[0], a[1]),
                                  tieBreak));
        linalg::YieldOp::create(
            nb, nl,
            ValueRange{arith::SelectOp::create(nb, nl, take, a[0], a[1]),
                       arith::SelectOp::create(nb, nl, take, j, a[2])});
      });
  Value r = generic.getResult(1);
  if (op.getKeepdims()) {
    SmallVector<OpFoldResult> keep = sizesOf(x);
    keep[axis] = b.getIndexAttr(1);
    r = reshape(loc, r, op.getType(), keep);
  }
  b.replaceOp(op, r);
  return success();
}

template LogicalResult FunctionLowering::lowerArgReduce(ArgMaxOp);
template LogicalResult FunctionLowering::lowerArgReduce(ArgMinOp);

/// k passes over the axis, in an scf.for over the output position r:
///
///   (v[r], i[r]) = the first in the order of the (x[j], j) that come
///                  strictly after (v[r-1], i[r-1])
///
/// each pass one generic reducing into the slices r of the results. The
/// pair a pass starts after is carried in two tensors of the reduced shape,
/// copied from the pass's result: read from the results themselves, one-shot
/// bufferization could not tell slice r-1 from slice r and would copy to a
/// new buffer each pass. That is k * n comparisons and no other memory;
/// exports ask for a small k.
LogicalResult FunctionLowering::lowerTopK(TopKOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xt = tensorTy(x);
  auto valuesType = op.getValues().getType();
  Type elem = xt.getElementType(), i64 = b.getI64Type();
  int64_t rank = xt.getRank(), axis = op.getAxis();
  ValueOrder order{op.getLargest(), isUnsignedIn(op) || elem.isInteger(1)};

  SmallVector<OpFoldResult> outSizes = sizesOf(x);
  OpFoldResult k = materializeShape(b, loc, op.getK(), symbols)[0];
  outSizes[axis] = k;
  // Loop-carried tensors must not share a buffer: CSE would merge two
  // equal tensor.empty ops, so all but the first are fresh allocations.
  auto fresh = [&](ArrayRef<OpFoldResult> sizes, Type t) {
    SmallVector<Value> dynamic;
    SmallVector<int64_t> shape;
    dispatchIndexOpFoldResults(sizes, dynamic, shape);
    return (Value)bufferization::AllocTensorOp::create(
        b, loc, RankedTensorType::get(shape, t), dynamic);
  };
  Value values = empty(loc, outSizes, elem);
  Value indices = fresh(outSizes, i64);
  SmallVector<OpFoldResult> sliceSizes = outSizes;
  sliceSizes[axis] = b.getIndexAttr(1);
  SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
  SmallVector<int64_t> reducedShape(valuesType.getShape());
  reducedShape.erase(reducedShape.begin() + axis);
  auto reducedValues = RankedTensorType::get(reducedShape, elem);
  auto reducedIndices = RankedTensorType::get(reducedShape, i64);

  SmallVector<OpFoldResult> reducedSizes = sizesOf(x);
  reducedSizes.erase(reducedSizes.begin() + axis);
  Value prevValues = fresh(reducedSizes, elem);
  Value prevIndices = fresh(reducedSizes, i64);
  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value ub = getValueOrCreateConstantIndexOp(b, loc, k);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  auto loop = scf::ForOp::create(
      b, loc, lb, ub, one, ValueRange{values, indices, prevValues, prevIndices},
      [&](OpBuilder &lb, Location ll, Value r, ValueRange acc) {
        Value zero = arith::ConstantIndexOp::create(lb, ll, 0);
        Value first =
            arith::CmpIOp::create(lb, ll, arith::CmpIPredicate::eq, r, zero);
        auto offsetsAt = [&](Value pos) {
          SmallVector<OpFoldResult> offsets(rank, lb.getIndexAttr(0));
          offsets[axis] = pos;
          return offsets;
        };
        auto slice = [&](Value t, RankedTensorType type, Value pos) {
          return (Value)tensor::ExtractSliceOp::create(
              lb, ll, type, t, offsetsAt(pos), sliceSizes, strides);
        };
        Value bestValue = linalg::FillOp::create(
                              lb, ll, ValueRange{order.lastValue(lb, ll, elem)},
                              ValueRange{slice(acc[0], reducedValues, r)})
                              .getResult(0);
        Value bestIndex = linalg::FillOp::create(
                              lb, ll,
                              ValueRange{i64Constant(
                                  lb, ll, std::numeric_limits<int64_t>::max())},
                              ValueRange{slice(acc[1], reducedIndices, r)})
                              .getResult(0);
        AffineMap reduced = dropAxesMap(rank, {axis});
        SmallVector<AffineMap> maps{lb.getMultiDimIdentityMap(rank), reduced,
                                    reduced, reduced, reduced};
        SmallVector<IteratorType> iters(rank, IteratorType::parallel);
        iters[axis] = IteratorType::reduction;
        auto generic = linalg::GenericOp::create(
            lb, ll, TypeRange{reducedValues, reducedIndices},
            ValueRange{x, acc[2], acc[3]}, ValueRange{bestValue, bestIndex},
            maps, iters, [&](OpBuilder &nb, Location nl, ValueRange a) {
              Value v = a[0], pv = a[1], pi = a[2], bv = a[3], bi = a[4];
              Value j = arith::IndexCastOp::create(
                  nb, nl, i64, linalg::IndexOp::create(nb, nl, axis));
              auto lessThan = [&](Value p, Value q) {
                return arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                             p, q);
              };
              // (v, j) after (pv, pi), and before (bv, bi).
              Value after = arith::OrIOp::create(
                  nb, nl, order.before(nb, nl, pv, v),
                  arith::AndIOp::create(nb, nl, order.same(nb, nl, pv, v),
                                        lessThan(pi, j)));
              Value eligible = arith::OrIOp::create(nb, nl, first, after);
              Value better = arith::OrIOp::create(
                  nb, nl, order.before(nb, nl, v, bv),
                  arith::AndIOp::create(nb, nl, order.same(nb, nl, v, bv),
                                        lessThan(j, bi)));
              Value take = arith::AndIOp::create(nb, nl, eligible, better);
              linalg::YieldOp::create(
                  nb, nl,
                  ValueRange{arith::SelectOp::create(nb, nl, take, v, bv),
                             arith::SelectOp::create(nb, nl, take, j, bi)});
            });
        auto insert = [&](Value part, Value into) {
          return (Value)tensor::InsertSliceOp::create(
              lb, ll, part, into, offsetsAt(r), sliceSizes, strides);
        };
        auto copy = [&](Value from, Value to) {
          return linalg::CopyOp::create(lb, ll, ValueRange{from},
                                        ValueRange{to})
              .getResult(0);
        };
        Value nextValues = copy(generic.getResult(0), acc[2]);
        Value nextIndices = copy(generic.getResult(1), acc[3]);
        scf::YieldOp::create(lb, ll,
                             ValueRange{insert(generic.getResult(0), acc[0]),
                                        insert(generic.getResult(1), acc[1]),
                                        nextValues, nextIndices});
      });
  b.replaceOp(op, loop.getResults().take_front(2));
  return success();
}
