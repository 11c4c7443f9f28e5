//===- LowerScatter.cpp - ScatterND and ScatterElements -------------------===//
//
// A scatter writes at positions read from data, and updates to one position
// must apply in order (reduction "none" keeps the last, "add" sums them).
// Both ops are a copy of the data (a linalg.copy into a tensor.empty, which
// eliminate-empty-tensors places in the output buffer when the result is a
// model output) and then a sequential scf.for nest over the updates,
// carrying the result tensor, with tensor.extract/tensor.insert in the
// innermost body: stores in place after bufferization.
//
//===----------------------------------------------------------------------===//
#include "codegen/FunctionLowering.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

namespace {

/// `old` combined with `update` by a scatter reduction; i1 adds as "or" and
/// multiplies as "and".
Value combine(OpBuilder &b, Location loc, StringRef reduction, Value old,
              Value update, bool isUnsigned) {
  if (reduction == "none")
    return update;
  Type t = update.getType();
  bool isFloat = isa<FloatType>(t), isBool = t.isInteger(1);
  bool isAdd = reduction == "add", isMax = reduction == "max";
  if (isBool)
    return isAdd || isMax ? (Value)arith::OrIOp::create(b, loc, old, update)
                          : (Value)arith::AndIOp::create(b, loc, old, update);
  if (isAdd)
    return isFloat ? (Value)arith::AddFOp::create(b, loc, old, update)
                   : (Value)arith::AddIOp::create(b, loc, old, update);
  if (reduction == "mul")
    return isFloat ? (Value)arith::MulFOp::create(b, loc, old, update)
                   : (Value)arith::MulIOp::create(b, loc, old, update);
  if (isFloat) // NaN-propagating, as numpy's maximum and minimum
    return isMax ? (Value)arith::MaximumFOp::create(b, loc, old, update)
                 : (Value)arith::MinimumFOp::create(b, loc, old, update);
  if (isUnsigned)
    return isMax ? (Value)arith::MaxUIOp::create(b, loc, old, update)
                 : (Value)arith::MinUIOp::create(b, loc, old, update);
  return isMax ? (Value)arith::MaxSIOp::create(b, loc, old, update)
               : (Value)arith::MinSIOp::create(b, loc, old, update);
}

/// An index read from the indices (i32 or i64) for a dim of `extent`, as an
/// index counted from the start; `inRange` is and-ed with whether it lies
/// in [0, extent).
Value wrapIndex(OpBuilder &b, Location loc, Value raw, Value extent,
                Value &inRange) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value negative =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, loc, negative,
                              arith::AddIOp::create(b, loc, i, extent), i);
  Value ok = arith::AndIOp::create(
      b, loc, arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sge, i, zero),
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, extent));
  inRange = inRange ? (Value)arith::AndIOp::create(b, loc, inRange, ok) : ok;
  return i;
}

/// Loop bounds 0..extent, step 1, for the dims [from, to) of `v`.
void appendBounds(OpBuilder &b, Location loc, Value v, int64_t from, int64_t to,
                  SmallVector<Value> &lbs, SmallVector<Value> &ubs,
                  SmallVector<Value> &steps) {
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t d = from; d < to; ++d) {
    lbs.push_back(zero);
    ubs.push_back(tensor::DimOp::create(b, loc, v, d));
    steps.push_back(one);
  }
}

/// `updateInRange(t)` where `inRange` holds, else `t` unchanged: an scf.if,
/// so that an index out of range neither reads nor writes.
Value guardedUpdate(
    OpBuilder &b, Location loc, Value inRange, Value t,
    function_ref<Value(OpBuilder &, Location, Value)> updateInRange) {
  auto ifOp = scf::IfOp::create(
      b, loc, inRange,
      [&](OpBuilder &tb, Location tl) {
        scf::YieldOp::create(tb, tl, updateInRange(tb, tl, t));
      },
      [&](OpBuilder &eb, Location el) { scf::YieldOp::create(eb, el, t); });
  return ifOp.getResult(0);
}

} // namespace

Value FunctionLowering::copyOf(Location loc, Value v) {
  return linalg::CopyOp::create(
             b, loc, ValueRange{v},
             ValueRange{empty(loc, sizesOf(v), tensorTy(v).getElementType())})
      .getResult(0);
}

/// for u in indices.shape[:-1]:            (row-major, in order)
///   tuple = wrap(indices[u, 0..K-1])
///   if tuple in range:
///     for s in data.shape[K:]:
///       result[tuple, s] = combine(result[tuple, s], updates[u, s])
LogicalResult FunctionLowering::lowerScatterND(ScatterNDOp op) {
  Location loc = op.getLoc();
  Value data = op.getData(), indices = op.getIndices(),
        updates = op.getUpdates();
  int64_t q = tensorTy(indices).getRank(), r = tensorTy(data).getRank();
  int64_t k = tensorTy(indices).getDimSize(q - 1);
  StringRef reduction = op.getReduction();
  bool isUnsigned = isUnsignedIn(op);
  SmallVector<Value> lbs, ubs, steps, sliceLbs, sliceUbs, sliceSteps;
  appendBounds(b, loc, indices, 0, q - 1, lbs, ubs, steps);
  appendBounds(b, loc, data, k, r, sliceLbs, sliceUbs, sliceSteps);
  SmallVector<Value> extents;
  for (int64_t t = 0; t < k; ++t)
    extents.push_back(tensor::DimOp::create(b, loc, data, t));
  checkIndexTuples(op, "ScatterND", indices, extents);
  auto outer = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{copyOf(loc, data)},
      [&](OpBuilder &ob, Location ol, ValueRange u, ValueRange acc) {
        SmallVector<Value> idxCoords(u.begin(), u.end());
        idxCoords.push_back(Value());
        SmallVector<Value> tuple;
        Value inRange;
        for (int64_t t = 0; t < k; ++t) {
          idxCoords.back() = arith::ConstantIndexOp::create(ob, ol, t);
          Value raw = tensor::ExtractOp::create(ob, ol, indices, idxCoords);
          tuple.push_back(wrapIndex(ob, ol, raw, extents[t], inRange));
        }
        auto slice = [&](OpBuilder &ib, Location il, Value t) {
          return scf::buildLoopNest(
                     ib, il, sliceLbs, sliceUbs, sliceSteps, ValueRange{t},
                     [&](OpBuilder &sb, Location sl, ValueRange s,
                         ValueRange inner) -> scf::ValueVector {
                       SmallVector<Value> dc(tuple), uc(u.begin(), u.end());
                       dc.append(s.begin(), s.end());
                       uc.append(s.begin(), s.end());
                       Value upd =
                           tensor::ExtractOp::create(sb, sl, updates, uc);
                       Value old = reduction == "none"
                                       ? Value()
                                       : (Value)tensor::ExtractOp::create(
                                             sb, sl, inner[0], dc);
                       Value v =
                           combine(sb, sl, reduction, old, upd, isUnsigned);
                       return {
                           tensor::InsertOp::create(sb, sl, v, inner[0], dc)};
                     })
              .results[0];
        };
        return scf::ValueVector{guardedUpdate(ob, ol, inRange, acc[0], slice)};
      });
  b.replaceOp(op, outer.results[0]);
  return success();
}

/// for u in indices.shape:                 (row-major, in order)
///   i = wrap(indices[u])
///   if i in range:
///     result[u with i at axis] = combine(result[..], updates[u])
LogicalResult FunctionLowering::lowerScatterElements(ScatterElementsOp op) {
  Location loc = op.getLoc();
  Value data = op.getData(), indices = op.getIndices(),
        updates = op.getUpdates();
  int64_t rank = tensorTy(data).getRank(), axis = op.getAxis();
  StringRef reduction = op.getReduction();
  bool isUnsigned = isUnsignedIn(op);
  SmallVector<Value> lbs, ubs, steps;
  appendBounds(b, loc, indices, 0, rank, lbs, ubs, steps);
  Value extent = tensor::DimOp::create(b, loc, data, axis);
  checkIndices(op, "ScatterElements", indices, extent);
  auto nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{copyOf(loc, data)},
      [&](OpBuilder &ob, Location ol, ValueRange u, ValueRange acc) {
        Value raw = tensor::ExtractOp::create(ob, ol, indices, u);
        Value inRange;
        Value i = wrapIndex(ob, ol, raw, extent, inRange);
        auto update = [&](OpBuilder &ib, Location il, Value t) {
          SmallVector<Value> dc(u.begin(), u.end());
          dc[axis] = i;
          Value upd = tensor::ExtractOp::create(ib, il, updates, u);
          Value old = reduction == "none"
                          ? Value()
                          : (Value)tensor::ExtractOp::create(ib, il, t, dc);
          Value v = combine(ib, il, reduction, old, upd, isUnsigned);
          return (Value)tensor::InsertOp::create(ib, il, v, t, dc);
        };
        return scf::ValueVector{guardedUpdate(ob, ol, inRange, acc[0], update)};
      });
  b.replaceOp(op, nest.results[0]);
  return success();
}
