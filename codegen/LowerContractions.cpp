//===- LowerContractions.cpp - matmul, linear, softmax, attention, einsum -===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

Value FunctionLowering::matmulByWeight(Location loc, Value a, Value w, Type acc,
                                       SmallVector<OpFoldResult> &c2) {
  SmallVector<OpFoldResult> as = sizesOf(a), ws = sizesOf(w);
  OpFoldResult m = productOf(b, loc, ArrayRef(as).drop_back());
  SmallVector<OpFoldResult> a2{m, as.back()};
  Value a2v =
      reshape(loc, a, tensorTypeOf(a2, tensorTy(a).getElementType()), a2);
  c2 = {m, ws[1]};
  Value init = empty(loc, c2, acc);
  Value zero = buildArithConstant(b, loc, acc, 0);
  init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
             .getResult(0);
  return linalg::MatmulOp::create(b, loc, TypeRange{tensorTypeOf(c2, acc)},
                                  ValueRange{a2v, w}, ValueRange{init})
      .getResult(0);
}

/// matmulByWeight, then bias and activation in one generic on the 2-D result
/// marked with kEpilogueAttr, then the reshape to the result's dims. An
/// activation the target's GEMM cannot apply (epilogueActivations) goes into
/// a separate, unmarked generic after the epilogue.
LogicalResult FunctionLowering::lowerLinear(LinearOp op) {
  Location loc = op.getLoc();
  RankedTensorType rt = op.getType();
  Type elem = rt.getElementType(), ct = computeType(elem);
  SmallVector<OpFoldResult> c2;
  // Products of f16/bf16 tensors sum in f32 (ct); the epilogue or a
  // conversion below narrows the sums once.
  Value y = matmulByWeight(loc, op.getInput(), op.getWeight(), ct, c2);
  StringRef act = op.getActivation(), after = "none";
  if (!epilogueActivations.empty() &&
      !llvm::is_contained(epilogueActivations, act))
    std::swap(act, after);
  Value bias = op.getBias();
  if (bias || act != "none") {
    AffineMap id = b.getMultiDimIdentityMap(2);
    SmallVector<Value> ins{y};
    SmallVector<AffineMap> maps{id};
    if (bias) {
      ins.push_back(bias);
      maps.push_back(
          AffineMap::get(2, 0, {b.getAffineDimExpr(1)}, b.getContext()));
    }
    maps.push_back(id);
    auto epilogue = linalg::GenericOp::create(
        b, loc, TypeRange{tensorTypeOf(c2, elem)}, ins,
        ValueRange{empty(loc, c2, elem)}, maps,
        SmallVector<IteratorType>(2, IteratorType::parallel),
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value v = extendTo(nb, nl, args[0], ct);
          if (bias)
            v = arith::AddFOp::create(nb, nl, v, extendTo(nb, nl, args[1], ct));
          linalg::YieldOp::create(
              nb, nl, truncTo(nb, nl, activationBody(nb, nl, act, v), elem));
        });
    epilogue->setAttr(
        kEpilogueAttr,
        b.getDictionaryAttr(
            {b.getNamedAttr("activation", b.getStringAttr(act)),
             b.getNamedAttr("bias", b.getBoolAttr(bias != nullptr))}));
    y = epilogue.getResult(0);
  }
  if (after != "none" || tensorTy(y).getElementType() != elem)
    y = elementwise(loc, tensorTypeOf(c2, elem), ValueRange{y},
                    [&](OpBuilder &nb, Location nl, ValueRange args) {
                      Value v = extendTo(nb, nl, args[0], ct);
                      return truncTo(nb, nl, activationBody(nb, nl, after, v),
                                     elem);
                    });
  SmallVector<OpFoldResult> resultSizes = sizesOf(op.getInput());
  resultSizes.back() = c2[1];
  b.replaceOp(op, reshape(loc, y, rt, resultSizes));
  return success();
}

/// [..., M, K] x [..., K, N]: weights (rank-2 rhs) fold the batch into M and
/// use linalg.matmul; otherwise batch dims are broadcast, collapsed, and fed
/// to linalg.batch_matmul.
LogicalResult FunctionLowering::lowerMatMul(MatMulOp op) {
  Location loc = op.getLoc();
  Value a = op.getLhs(), w = op.getRhs();
  auto at = tensorTy(a), wt = tensorTy(w), rt = op.getType();
  // linalg's matmuls extend each product's inputs to the accumulator type,
  // so operands may be narrower than the result (f16/bf16 by f32, int8 by
  // int32). An f16/bf16 result is summed in f32 (acc) and narrowed once at
  // the end: summed in f16, a K of 4096 loses 8% of the result.
  Type elem = rt.getElementType(), inElem = at.getElementType();
  Type acc = computeType(elem);
  int64_t rank = rt.getRank();
  SmallVector<OpFoldResult> as = sizesOf(a), ws = sizesOf(w);
  Value zero = buildArithConstant(b, loc, acc, 0);
  auto narrow = [&](Value v, ArrayRef<OpFoldResult> sizes) {
    if (acc == elem)
      return v;
    return elementwise(loc, tensorTypeOf(sizes, elem), ValueRange{v},
                       [&](OpBuilder &nb, Location nl, ValueRange args) {
                         return truncTo(nb, nl, args[0], elem);
                       });
  };
  SmallVector<OpFoldResult> resultSizes;
  Value result;
  if (wt.getRank() == 2) {
    SmallVector<OpFoldResult> c2;
    Value mm = narrow(matmulByWeight(loc, a, w, acc, c2), c2);
    resultSizes.assign(as.begin(), as.end() - 1);
    resultSizes.push_back(ws[1]);
    result = reshape(loc, mm, rt, resultSizes);
  } else {
    // Broadcast both operands to the full batch shape first.
    SmallVector<OpFoldResult> outSizes = broadcastSizes(rt, ValueRange{a, w});
    auto expandTo = [&](Value v, RankedTensorType vt,
                        ArrayRef<OpFoldResult> vs) -> Value {
      SmallVector<OpFoldResult> full(outSizes.begin(), outSizes.end() - 2);
      full.append(vs.end() - 2, vs.end());
      auto fullType = tensorTypeOf(full, vt.getElementType());
      bool same = vt.getRank() == rank;
      for (int64_t d = 0; same && d < rank - 2; ++d)
        same = vt.getDimSize(d) == fullType.getDimSize(d);
      if (same)
        return v;
      Value init = empty(loc, full, vt.getElementType());
      SmallVector<AffineMap> maps{broadcastMap(vt, fullType),
                                  b.getMultiDimIdentityMap(rank)};
      return linalg::GenericOp::create(
                 b, loc, TypeRange{fullType}, ValueRange{v}, ValueRange{init},
                 maps, SmallVector<IteratorType>(rank, IteratorType::parallel),
                 [](OpBuilder &nb, Location nl, ValueRange args) {
                   linalg::YieldOp::create(nb, nl, args[0]);
                 })
          .getResult(0);
    };
    a = expandTo(a, at, as);
    w = expandTo(w, wt, ws);
    OpFoldResult batch = productOf(b, loc, ArrayRef(outSizes).drop_back(2));
    SmallVector<OpFoldResult> a3{batch, as[as.size() - 2], as.back()};
    SmallVector<OpFoldResult> w3{batch, ws[ws.size() - 2], ws.back()};
    SmallVector<OpFoldResult> c3{batch, as[as.size() - 2], ws.back()};
    Value a3v = reshape(loc, a, tensorTypeOf(a3, inElem), a3);
    Value w3v = reshape(loc, w, tensorTypeOf(w3, wt.getElementType()), w3);
    Value init = empty(loc, c3, acc);
    init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
               .getResult(0);
    Value mm = narrow(
        linalg::BatchMatmulOp::create(b, loc, TypeRange{tensorTypeOf(c3, acc)},
                                      ValueRange{a3v, w3v}, ValueRange{init})
            .getResult(0),
        c3);
    result = reshape(loc, mm, rt, outSizes);
  }
  b.replaceOp(op, result);
  return success();
}

LogicalResult FunctionLowering::lowerSoftmax(SoftmaxOp op) {
  b.replaceOp(op,
              softmax(op.getLoc(), op.getInput(), op.getAxis(), op.getType()));
  return success();
}

Value FunctionLowering::softmax(Location loc, Value x, int64_t axis,
                                RankedTensorType resultType) {
  auto xt = tensorTy(x);
  Type elem = resultType.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank();
  Value mx = reduce(loc, x, {axis}, ct, -INFINITY,
                    [&](OpBuilder &nb, Location nl, Value v, Value acc) {
                      return (Value)arith::MaximumFOp::create(
                          nb, nl, extendTo(nb, nl, v, ct), acc);
                    });
  // e = exp(x - max), sum = sum(e), y = e / sum: two more generics.
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              dropAxesMap(rank, {axis}),
                              b.getMultiDimIdentityMap(rank)};
  SmallVector<IteratorType> par(rank, IteratorType::parallel);
  auto ctType = RankedTensorType::get(xt.getShape(), ct);
  Value e =
      linalg::GenericOp::create(
          b, loc, TypeRange{ctType}, ValueRange{x, mx},
          ValueRange{empty(loc, sizesOf(x), ct)}, maps, par,
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value d =
                arith::SubFOp::create(nb, nl, extendTo(nb, nl, a[0], ct), a[1]);
            linalg::YieldOp::create(nb, nl,
                                    (Value)math::ExpOp::create(nb, nl, d));
          })
          .getResult(0);
  Value sum = reduce(loc, e, {axis}, ct, 0.0,
                     [](OpBuilder &nb, Location nl, Value v, Value acc) {
                       return (Value)arith::AddFOp::create(nb, nl, v, acc);
                     });
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ValueRange{e, sum},
             ValueRange{empty(loc, sizesOf(x), elem)}, maps, par,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value q = arith::DivFOp::create(nb, nl, a[0], a[1]);
               linalg::YieldOp::create(nb, nl, truncTo(nb, nl, q, elem));
             })
      .getResult(0);
}

/// Reference lowering: scores = scale * q k^T (+ mask, causal), softmax in
/// f32, then p v. Query head h reads key/value head h floordiv (H / Hkv).
LogicalResult FunctionLowering::lowerAttention(AttentionOp op) {
  std::optional<AttentionAppend> append;
  auto key = sequenceConcats.find(op.getKey());
  auto value = sequenceConcats.find(op.getValue());
  if (attentionKernel == AttentionKernel::Cpu && key != sequenceConcats.end() &&
      value != sequenceConcats.end())
    append = AttentionAppend{key->second.first,
                             key->second.second,
                             value->second.first,
                             value->second.second,
                             widenedInputs.lookup(key->second.first),
                             widenedInputs.lookup(value->second.first)};
  if (attentionKernel)
    if (Value call = buildAttentionKernelCall(b, op, *attentionKernel,
                                              append ? &*append : nullptr)) {
      b.replaceOp(op, call);
      return success();
    }
  Location loc = op.getLoc();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  auto qt = tensorTy(q), kt = tensorTy(k);
  RankedTensorType rt = op.getType();
  Type elem = rt.getElementType(), ct = computeType(elem);
  int64_t group = qt.getDimSize(1) / kt.getDimSize(1);
  MLIRContext *ctx = b.getContext();
  AffineExpr d0, d1, d2, d3, d4;
  bindDims(ctx, d0, d1, d2, d3, d4);
  auto map5 = [&](ArrayRef<AffineExpr> r) {
    return AffineMap::get(5, 0, r, ctx);
  };
  auto par = IteratorType::parallel, red = IteratorType::reduction;
  SmallVector<OpFoldResult> qs = sizesOf(q), ks = sizesOf(k), vs = sizesOf(v);

  // out[b, h, i, n] = sum_r lhs[b, h, i, r] * rhs[b, h / g, rhsMap], in ct;
  // iteration dims (b, h, i, n, r).
  Value zero = buildArithConstant(b, loc, ct, 0);
  auto contract = [&](Value lhs, Value rhs, AffineMap rhsMap,
                      ArrayRef<OpFoldResult> sizes, RankedTensorType type) {
    Value init = linalg::FillOp::create(b, loc, ValueRange{zero},
                                        ValueRange{empty(loc, sizes, ct)})
                     .getResult(0);
    return linalg::GenericOp::create(
               b, loc, TypeRange{type}, ValueRange{lhs, rhs}, ValueRange{init},
               SmallVector<AffineMap>{map5({d0, d1, d2, d4}), rhsMap,
                                      map5({d0, d1, d2, d3})},
               SmallVector<IteratorType>{par, par, par, par, red},
               [&](OpBuilder &nb, Location nl, ValueRange a) {
                 Value p =
                     arith::MulFOp::create(nb, nl, extendTo(nb, nl, a[0], ct),
                                           extendTo(nb, nl, a[1], ct));
                 linalg::YieldOp::create(
                     nb, nl, (Value)arith::AddFOp::create(nb, nl, p, a[2]));
               })
        .getResult(0);
  };

  // scores[b, h, i, j] = sum_d q[b, h, i, d] * k[b, h / g, j, d]
  SmallVector<OpFoldResult> scoreSizes{qs[0], qs[1], qs[2], ks[2]};
  auto scoreType = RankedTensorType::get(
      {qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2), kt.getDimSize(2)},
      ct);
  Value scores = contract(q, k, map5({d0, d1.floorDiv(group), d3, d4}),
                          scoreSizes, scoreType);

  // scale, mask and causal hiding in one pass.
  Value scale = buildArithConstant(b, loc, ct, op.getScale().convertToFloat());
  Value offset; // Sk - Sq
  if (op.getCausal())
    offset = arith::SubIOp::create(
        b, loc, getValueOrCreateConstantIndexOp(b, loc, ks[2]),
        getValueOrCreateConstantIndexOp(b, loc, qs[2]));
  SmallVector<Value> ins{scores};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(4)};
  if (Value mask = op.getMask()) {
    ins.push_back(mask);
    maps.push_back(broadcastMap(tensorTy(mask), scoreType));
  }
  maps.push_back(b.getMultiDimIdentityMap(4));
  Value masked =
      linalg::GenericOp::create(
          b, loc, TypeRange{scoreType}, ins,
          ValueRange{empty(loc, scoreSizes, ct)}, maps,
          SmallVector<IteratorType>(4, par),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value x = arith::MulFOp::create(nb, nl, a[0], scale);
            if (op.getMask())
              x = arith::AddFOp::create(nb, nl, x, extendTo(nb, nl, a[1], ct));
            if (offset) {
              Value i = linalg::IndexOp::create(nb, nl, 2);
              Value j = linalg::IndexOp::create(nb, nl, 3);
              Value last = arith::AddIOp::create(nb, nl, i, offset);
              Value hidden = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::sgt, j, last);
              x = arith::SelectOp::create(
                  nb, nl, hidden, buildArithConstant(nb, nl, ct, -INFINITY), x);
            }
            linalg::YieldOp::create(nb, nl, x);
          })
          .getResult(0);
  Value probs = softmax(loc, masked, 3, scoreType);

  // out[b, h, i, e] = sum_j p[b, h, i, j] * v[b, h / g, j, e]
  SmallVector<OpFoldResult> outSizes{qs[0], qs[1], qs[2], vs[3]};
  Value out = contract(probs, v, map5({d0, d1.floorDiv(group), d4, d3}),
                       outSizes, RankedTensorType::get(rt.getShape(), ct));
  if (ct != elem)
    out = elementwise(loc, rt, ValueRange{out},
                      [&](OpBuilder &nb, Location nl, ValueRange a) {
                        return truncTo(nb, nl, a[0], elem);
                      });
  b.replaceOp(op, out);
  return success();
}

/// One generic: y = x * cos + sign * x[partner] * sin, where the partner of
/// d is d + D/2 (sign -1) in the first half and d - D/2 (sign +1) in the
/// second, read with tensor.extract.
LogicalResult FunctionLowering::lowerRotary(RotaryOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  RankedTensorType xt = tensorTy(x);
  Type elem = xt.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank(), half = xt.getDimSize(rank - 1) / 2;
  SmallVector<AffineMap> maps{
      b.getMultiDimIdentityMap(rank), broadcastMap(tensorTy(op.getCos()), xt),
      broadcastMap(tensorTy(op.getSin()), xt), b.getMultiDimIdentityMap(rank)};
  Value y =
      linalg::GenericOp::create(
          b, loc, TypeRange{xt}, ValueRange{x, op.getCos(), op.getSin()},
          ValueRange{empty(loc, sizesOf(x), elem)}, maps,
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            SmallVector<Value> idx;
            for (int64_t d = 0; d < rank; ++d)
              idx.push_back(linalg::IndexOp::create(nb, nl, d));
            Value h = arith::ConstantIndexOp::create(nb, nl, half);
            Value first = arith::CmpIOp::create(
                nb, nl, arith::CmpIPredicate::ult, idx.back(), h);
            idx.back() = arith::SelectOp::create(
                nb, nl, first, arith::AddIOp::create(nb, nl, idx.back(), h),
                arith::SubIOp::create(nb, nl, idx.back(), h));
            Value partner =
                extendTo(nb, nl, tensor::ExtractOp::create(nb, nl, x, idx), ct);
            partner = arith::SelectOp::create(
                nb, nl, first, arith::NegFOp::create(nb, nl, partner), partner);
            Value r = arith::AddFOp::create(
                nb, nl,
                arith::MulFOp::create(nb, nl, extendTo(nb, nl, a[0], ct),
                                      extendTo(nb, nl, a[1], ct)),
                arith::MulFOp::create(nb, nl, partner,
                                      extendTo(nb, nl, a[2], ct)));
            linalg::YieldOp::create(nb, nl, truncTo(nb, nl, r, elem));
          })
          .getResult(0);
  b.replaceOp(op, y);
  return success();
}

/// One generic over the equation's iteration space: the product of the
/// inputs summed into the zero-filled result, 16-bit floats in f32 and
/// rounded once at the end (i1: and, then or).
LogicalResult FunctionLowering::lowerEinsum(EinsumOp op) {
  Location loc = op.getLoc();
  auto maps =
      llvm::to_vector(op.getIndexingMaps().getAsValueRange<AffineMapAttr>());
  auto rt = op.getType();
  Type elem = rt.getElementType(), acc = computeType(elem);
  AffineMap outMap = maps.back();
  SmallVector<OpFoldResult> sizes;
  for (AffineExpr e : outMap.getResults()) {
    OpFoldResult size;
    for (auto [in, map] : llvm::zip(op.getInputs(), maps))
      for (auto [pos, ie] : llvm::enumerate(map.getResults()))
        if (!size && ie == e)
          size = sizesOf(in)[pos];
    sizes.push_back(size);
  }
  Value init = linalg::FillOp::create(
                   b, loc, ValueRange{buildArithConstant(b, loc, acc, 0)},
                   ValueRange{empty(loc, sizes, acc)})
                   .getResult(0);
  SmallVector<IteratorType> iters;
  for (unsigned d = 0; d < outMap.getNumDims(); ++d)
    iters.push_back(outMap.isFunctionOfDim(d) ? IteratorType::parallel
                                              : IteratorType::reduction);
  bool isFloat = isa<FloatType>(acc), isBool = acc.isInteger(1);
  Value r =
      linalg::GenericOp::create(
          b, loc, TypeRange{init.getType()}, op.getInputs(), ValueRange{init},
          maps, iters,
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value p;
            for (Value v : a.drop_back()) {
              v = isFloat ? extendTo(nb, nl, v, acc) : v;
              if (!p)
                p = v;
              else if (isFloat)
                p = arith::MulFOp::create(nb, nl, p, v);
              else if (isBool)
                p = arith::AndIOp::create(nb, nl, p, v);
              else
                p = arith::MulIOp::create(nb, nl, p, v);
            }
            Value sum =
                isFloat  ? (Value)arith::AddFOp::create(nb, nl, a.back(), p)
                : isBool ? (Value)arith::OrIOp::create(nb, nl, a.back(), p)
                         : (Value)arith::AddIOp::create(nb, nl, a.back(), p);
            linalg::YieldOp::create(nb, nl, sum);
          })
          .getResult(0);
  if (acc != elem)
    r = elementwise(loc, rt, r, [&](OpBuilder &nb, Location nl, ValueRange a) {
      return truncTo(nb, nl, a[0], elem);
    });
  b.replaceOp(op, r);
  return success();
}
