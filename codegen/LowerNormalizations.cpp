//===- LowerNormalizations.cpp - LayerNorm, RMSNorm and reductions --------===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"
#include "codegen/RuntimeCalls.h"
#include "runtime/src/kernels/Kernels.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

Value FunctionLowering::callNormKernel(Operation *op, Value x, Value scale,
                                       Value bias, int64_t axis, float eps,
                                       int32_t kind) {
  Type f32 = b.getF32Type();
  auto xt = tensorTy(x);
  int64_t rank = xt.getRank();
  if (!normKernel || xt.getElementType() != f32 || axis < 1 || axis >= rank)
    return nullptr;
  // scale and bias must have the normalized dims' shape, all static: the
  // kernel reads one value per column and does not broadcast, where a
  // dynamic extent could turn out to be 1.
  ArrayRef<int64_t> normalized = xt.getShape().drop_front(axis);
  if (ShapedType::isDynamicShape(normalized))
    return nullptr;
  for (Value v : {scale, bias})
    if (v && (tensorTy(v).getElementType() != f32 ||
              tensorTy(v).getShape() != normalized))
      return nullptr;
  Location loc = op->getLoc();
  SmallVector<OpFoldResult> xs = sizesOf(x);
  OpFoldResult rows = productOf(b, loc, ArrayRef(xs).take_front(axis));
  OpFoldResult cols = productOf(b, loc, ArrayRef(xs).drop_front(axis));
  SmallVector<OpFoldResult> sizes2{rows, cols};
  RankedTensorType type2 = tensorTypeOf(sizes2, f32);
  auto operand = [&](Value t) -> Value {
    if (tensorTy(t).getRank() > 1) {
      SmallVector<OpFoldResult> flat{cols};
      t = reshape(loc, t, tensorTypeOf(flat, f32), flat);
    }
    return runtimeOperand(loc, t);
  };
  Value x2 = runtimeOperand(loc, reshape(loc, x, type2, sizes2));
  Value biasBuffer = bias ? operand(bias) : emptyRuntimeOperand(b, loc, f32);
  SmallVector<Value> dynamicSizes;
  for (auto [d, size] : llvm::enumerate(sizes2))
    if (type2.isDynamicDim(d))
      dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, size));
  Value out =
      memref::AllocOp::create(b, loc, MemRefType::get(type2.getShape(), f32),
                              dynamicSizes, b.getI64IntegerAttr(64));
  SmallVector<Value> args{
      x2,
      operand(scale),
      biasBuffer,
      memref::CastOp::create(b, loc, fullyDynamicMemRef(2, f32), out),
      arith::ConstantOp::create(b, loc, b.getF32FloatAttr(eps)),
      arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(kind))};
  func::FuncOp callee =
      declareRuntimeFunction(op->getParentOfType<ModuleOp>(),
                             "kiln_rt_norm_f32", ValueRange(args).getTypes());
  func::CallOp::create(b, loc, callee, args);
  Value y = bufferization::ToTensorOp::create(b, loc, type2, out,
                                              /*restrict=*/true,
                                              /*writable=*/true);
  return reshape(loc, y, xt, xs);
}

/// Statistics in f32 over axes [axis, rank): mean, then variance of the
/// centered values (two passes, as ONNX Runtime does, for accuracy).
LogicalResult FunctionLowering::lowerLayerNorm(LayerNormOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  if (Value y = callNormKernel(op, x, op.getScale(), op.getBias(), op.getAxis(),
                               op.getEpsilon().convertToFloat(),
                               KILN_RT_NORM_LAYER)) {
    b.replaceOp(op, y);
    return success();
  }
  auto xt = tensorTy(x);
  Type elem = xt.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = op.getAxis(); d < rank; ++d)
    axes.push_back(d);
  auto add = [&](OpBuilder &nb, Location nl, Value v, Value acc) {
    return (Value)arith::AddFOp::create(nb, nl, extendTo(nb, nl, v, ct), acc);
  };
  Value n = countOf(loc, x, axes, ct);
  Value sum = reduce(loc, x, axes, ct, 0.0, add);
  AffineMap statMap = dropAxesMap(rank, axes);
  SmallVector<IteratorType> redIters;
  for (int64_t d = 0; d < rank; ++d)
    redIters.push_back(d >= op.getAxis() ? IteratorType::reduction
                                         : IteratorType::parallel);
  // var = sum((x - sum/n)^2) / n
  Value varInit = linalg::FillOp::create(
                      b, loc, ValueRange{buildArithConstant(b, loc, ct, 0)},
                      ValueRange{empty(loc, sizesOf(sum), ct)})
                      .getResult(0);
  Value sq = linalg::GenericOp::create(
                 b, loc, TypeRange{varInit.getType()}, ValueRange{x, sum},
                 ValueRange{varInit},
                 SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank), statMap,
                                        statMap},
                 redIters,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value mean = arith::DivFOp::create(nb, nl, a[1], n);
                   Value d = arith::SubFOp::create(
                       nb, nl, extendTo(nb, nl, a[0], ct), mean);
                   Value s = arith::MulFOp::create(nb, nl, d, d);
                   linalg::YieldOp::create(
                       nb, nl, (Value)arith::AddFOp::create(nb, nl, s, a[2]));
                 })
                 .getResult(0);
  SmallVector<Value> ins{x, sum, sq, op.getScale()};
  if (op.getBias())
    ins.push_back(op.getBias());
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank), statMap, statMap,
                              broadcastMap(tensorTy(op.getScale()), xt)};
  if (op.getBias())
    maps.push_back(broadcastMap(tensorTy(op.getBias()), xt));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  float eps = op.getEpsilon().convertToFloat();
  bool hasBias = (bool)op.getBias();
  Value y =
      linalg::GenericOp::create(
          b, loc, TypeRange{xt}, ins, ValueRange{empty(loc, sizesOf(x), elem)},
          maps, SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value mean = arith::DivFOp::create(nb, nl, a[1], n);
            Value var = arith::DivFOp::create(nb, nl, a[2], n);
            Value inv = math::RsqrtOp::create(
                nb, nl,
                arith::AddFOp::create(nb, nl, var,
                                      buildArithConstant(nb, nl, ct, eps)));
            Value d =
                arith::SubFOp::create(nb, nl, extendTo(nb, nl, a[0], ct), mean);
            Value r = arith::MulFOp::create(
                nb, nl, arith::MulFOp::create(nb, nl, d, inv),
                extendTo(nb, nl, a[3], ct));
            if (hasBias)
              r = arith::AddFOp::create(nb, nl, r, extendTo(nb, nl, a[4], ct));
            linalg::YieldOp::create(nb, nl, truncTo(nb, nl, r, elem));
          })
          .getResult(0);
  b.replaceOp(op, y);
  return success();
}

LogicalResult FunctionLowering::lowerRMSNorm(RMSNormOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xt = tensorTy(x);
  if (Value y =
          callNormKernel(op, x, op.getScale(), Value(), xt.getRank() - 1,
                         op.getEpsilon().convertToFloat(), KILN_RT_NORM_RMS)) {
    b.replaceOp(op, y);
    return success();
  }
  Type elem = xt.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank();
  SmallVector<int64_t> axes{rank - 1};
  Value n = countOf(loc, x, axes, ct);
  Value ss = reduce(loc, x, axes, ct, 0.0,
                    [&](OpBuilder &nb, Location nl, Value v, Value acc) {
                      Value e = extendTo(nb, nl, v, ct);
                      return (Value)arith::AddFOp::create(
                          nb, nl, arith::MulFOp::create(nb, nl, e, e), acc);
                    });
  float eps = op.getEpsilon().convertToFloat();
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              dropAxesMap(rank, axes),
                              broadcastMap(tensorTy(op.getScale()), xt),
                              b.getMultiDimIdentityMap(rank)};
  Value y =
      linalg::GenericOp::create(
          b, loc, TypeRange{xt}, ValueRange{x, ss, op.getScale()},
          ValueRange{empty(loc, sizesOf(x), elem)}, maps,
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value ms = arith::DivFOp::create(nb, nl, a[1], n);
            Value inv = math::RsqrtOp::create(
                nb, nl,
                arith::AddFOp::create(nb, nl, ms,
                                      buildArithConstant(nb, nl, ct, eps)));
            Value r = arith::MulFOp::create(
                nb, nl,
                arith::MulFOp::create(nb, nl, extendTo(nb, nl, a[0], ct), inv),
                extendTo(nb, nl, a[2], ct));
            linalg::YieldOp::create(nb, nl, truncTo(nb, nl, r, elem));
          })
          .getResult(0);
  b.replaceOp(op, y);
  return success();
}

template <typename OpT> LogicalResult FunctionLowering::lowerReduce(OpT op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  Type elem = tensorTy(x).getElementType();
  // Booleans order as 0 < 1: unsigned (signed i1 has true = -1).
  bool isFloat = isa<FloatType>(elem),
       isUnsigned = isUnsignedIn(op) || elem.isInteger(1);
  Type ct = computeType(elem);
  ArrayRef<int64_t> axes = op.getAxes();
  double init = 0;
  std::function<Value(OpBuilder &, Location, Value, Value)> combine;
  auto ext = [&](OpBuilder &nb, Location nl, Value v) {
    return isFloat ? extendTo(nb, nl, v, ct) : v;
  };
  if constexpr (std::is_same_v<OpT, ReduceMaxOp> ||
                std::is_same_v<OpT, ReduceMinOp>) {
    constexpr bool isMax = std::is_same_v<OpT, ReduceMaxOp>;
    if (isFloat)
      init = isMax ? -INFINITY : INFINITY;
    else
      init = isMax ? (double)std::numeric_limits<int64_t>::min()
                   : (double)std::numeric_limits<int64_t>::max();
    if (!isFloat && elem.getIntOrFloatBitWidth() < 64)
      init = isMax ? -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1)
                   : std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) - 1;
    if (isUnsigned) // 0 and all ones (-1 truncates to the width)
      init = isMax ? 0 : -1;
    combine = [&, isFloat, isUnsigned](OpBuilder &nb, Location nl, Value v,
                                       Value acc) -> Value {
      v = ext(nb, nl, v);
      if (isFloat)
        return isMax ? (Value)arith::MaximumFOp::create(nb, nl, v, acc)
                     : (Value)arith::MinimumFOp::create(nb, nl, v, acc);
      if (isUnsigned)
        return isMax ? (Value)arith::MaxUIOp::create(nb, nl, v, acc)
                     : (Value)arith::MinUIOp::create(nb, nl, v, acc);
      return isMax ? (Value)arith::MaxSIOp::create(nb, nl, v, acc)
                   : (Value)arith::MinSIOp::create(nb, nl, v, acc);
    };
  } else if constexpr (std::is_same_v<OpT, ReduceProdOp>) {
    init = 1;
    combine = [&, isFloat](OpBuilder &nb, Location nl, Value v,
                           Value acc) -> Value {
      v = ext(nb, nl, v);
      return isFloat ? (Value)arith::MulFOp::create(nb, nl, v, acc)
                     : (Value)arith::MulIOp::create(nb, nl, v, acc);
    };
  } else {
    combine = [&, isFloat](OpBuilder &nb, Location nl, Value v,
                           Value acc) -> Value {
      v = ext(nb, nl, v);
      return isFloat ? (Value)arith::AddFOp::create(nb, nl, v, acc)
                     : (Value)arith::AddIOp::create(nb, nl, v, acc);
    };
  }
  Value r = reduce(loc, x, axes, ct, init, combine);
  auto rt = tensorTy(r);
  if (std::is_same_v<OpT, ReduceMeanOp> || ct != elem) {
    bool mean = std::is_same_v<OpT, ReduceMeanOp>;
    Value n = mean ? countOf(loc, x, axes, ct) : Value();
    auto outT = RankedTensorType::get(rt.getShape(), elem);
    r = elementwise(loc, outT, ValueRange{r},
                    [&](OpBuilder &nb, Location nl, ValueRange a) {
                      Value v = a[0];
                      if (mean && isFloat)
                        v = arith::DivFOp::create(nb, nl, v, n);
                      else if (mean)
                        v = isUnsigned
                                ? (Value)arith::DivUIOp::create(nb, nl, v, n)
                                : (Value)arith::DivSIOp::create(nb, nl, v, n);
                      return isFloat ? truncTo(nb, nl, v, elem) : v;
                    });
  }
  if (op.getKeepdims()) {
    SmallVector<OpFoldResult> xs = sizesOf(x), sizes;
    for (int64_t d = 0; d < (int64_t)xs.size(); ++d)
      sizes.push_back(llvm::is_contained(axes, d) ? b.getIndexAttr(1) : xs[d]);
    r = reshape(loc, r, op.getType(), sizes);
  }
  b.replaceOp(op, r);
  return success();
}

/// result[.., i, ..] = sum over j of (j <= i ? x[.., j, ..] : 0) (or j < i,
/// j >= i, j > i), one generic with a reduction over j. Quadratic in the
/// axis extent, which in exports is a sequence of positions or a mask.
/// 16-bit floats sum in f32 and round once.
LogicalResult FunctionLowering::lowerCumSum(CumSumOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto rt = op.getType();
  Type elem = rt.getElementType(), acc = computeType(elem);
  int64_t rank = rt.getRank(), axis = op.getAxis();
  bool exclusive = op.getExclusive(), reverse = op.getReverse();
  SmallVector<OpFoldResult> sizes = sizesOf(x);
  Value init = empty(loc, sizes, acc);
  Value zero = buildArithConstant(b, loc, acc, 0);
  init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
             .getResult(0);
  // Dims 0..rank-1 are the result's, dim `rank` is j.
  SmallVector<AffineExpr> inExprs, outExprs;
  for (int64_t d = 0; d < rank; ++d) {
    inExprs.push_back(b.getAffineDimExpr(d == axis ? rank : d));
    outExprs.push_back(b.getAffineDimExpr(d));
  }
  SmallVector<AffineMap> maps{
      AffineMap::get(rank + 1, 0, inExprs, b.getContext()),
      AffineMap::get(rank + 1, 0, outExprs, b.getContext())};
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  iters.push_back(IteratorType::reduction);
  auto pred =
      reverse
          ? (exclusive ? arith::CmpIPredicate::sgt : arith::CmpIPredicate::sge)
          : (exclusive ? arith::CmpIPredicate::slt : arith::CmpIPredicate::sle);
  bool isFloat = isa<FloatType>(acc);
  Value sum = linalg::GenericOp::create(
                  b, loc, TypeRange{RankedTensorType::get(rt.getShape(), acc)},
                  ValueRange{x}, ValueRange{init}, maps, iters,
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value i = linalg::IndexOp::create(nb, nl, axis);
                    Value j = linalg::IndexOp::create(nb, nl, rank);
                    Value take = arith::CmpIOp::create(nb, nl, pred, j, i);
                    Value v = isFloat ? extendTo(nb, nl, a[0], acc) : a[0];
                    Value z = buildArithConstant(nb, nl, acc, 0);
                    v = arith::SelectOp::create(nb, nl, take, v, z);
                    Value r =
                        isFloat ? (Value)arith::AddFOp::create(nb, nl, a[1], v)
                                : (Value)arith::AddIOp::create(nb, nl, a[1], v);
                    linalg::YieldOp::create(nb, nl, r);
                  })
                  .getResult(0);
  if (acc != elem)
    sum = elementwise(loc, rt, sum,
                      [&](OpBuilder &nb, Location nl, ValueRange a) {
                        return truncTo(nb, nl, a[0], elem);
                      });
  b.replaceOp(op, sum);
  return success();
}

template LogicalResult FunctionLowering::lowerReduce(ReduceSumOp);
template LogicalResult FunctionLowering::lowerReduce(ReduceMeanOp);
template LogicalResult FunctionLowering::lowerReduce(ReduceMaxOp);
template LogicalResult FunctionLowering::lowerReduce(ReduceMinOp);
template LogicalResult FunctionLowering::lowerReduce(ReduceProdOp);
