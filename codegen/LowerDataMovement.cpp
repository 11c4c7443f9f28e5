//===- LowerDataMovement.cpp - Gather, slice, reshape, pad and friends ----===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"
#include "codegen/RuntimeCalls.h"
#include "dialects/kiln/NodeName.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/IndexingUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

/// result[pre..., idx..., post...] = data[pre..., clamp(indices[idx...]),
/// post...]
LogicalResult FunctionLowering::lowerGather(GatherOp op) {
  Location loc = op.getLoc();
  Value data = op.getData(), indices = op.getIndices();
  auto rt = op.getType();
  int64_t axis = op.getAxis(), rank = rt.getRank();
  int64_t idxRank = tensorTy(indices).getRank();
  int64_t dataRank = tensorTy(data).getRank();
  SmallVector<OpFoldResult> ds = sizesOf(data), is = sizesOf(indices);
  SmallVector<OpFoldResult> sizes(ds.begin(), ds.begin() + axis);
  sizes.append(is.begin(), is.end());
  sizes.append(ds.begin() + axis + 1, ds.end());
  Value init = empty(loc, sizes, rt.getElementType());
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < idxRank; ++i)
    idxExprs.push_back(b.getAffineDimExpr(axis + i));
  SmallVector<AffineMap> maps{AffineMap::get(rank, 0, idxExprs, b.getContext()),
                              b.getMultiDimIdentityMap(rank)};
  Value axisExtent = getValueOrCreateConstantIndexOp(b, loc, ds[axis]);
  checkIndices(op, "Gather", indices, axisExtent);
  Value r =
      linalg::GenericOp::create(
          b, loc, TypeRange{rt}, ValueRange{indices}, ValueRange{init}, maps,
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            SmallVector<Value> coords;
            for (int64_t d = 0; d < axis; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nl, d));
            coords.push_back(clampedIndex(nb, nl, a[0], axisExtent));
            for (int64_t d = axis + 1; d < dataRank; ++d)
              coords.push_back(
                  linalg::IndexOp::create(nb, nl, d - 1 + idxRank));
            linalg::YieldOp::create(
                nb, nl, (Value)tensor::ExtractOp::create(nb, nl, data, coords));
          })
          .getResult(0);
  b.replaceOp(op, r);
  return success();
}

void FunctionLowering::checkIndices(Operation *op, StringRef onnxOp,
                                    Value indices, Value extent,
                                    StringRef part) {
  Type elem = tensorTy(indices).getElementType();
  if (!indexChecks || matchPattern(indices, m_Constant()) ||
      !(elem.isInteger(64) || elem.isInteger(32)))
    return;
  Location loc = op->getLoc();
  SmallVector<OpFoldResult> flat{productOf(b, loc, sizesOf(indices))};
  Value list = runtimeOperand(
      loc, reshape(loc, indices, tensorTypeOf(flat, elem), flat));
  std::string name = nodeName(loc);
  std::string what = "node '" + (name.empty() ? std::string("?") : name) +
                     "' (" + onnxOp.str() + part.str() + ")";
  auto whatType = RankedTensorType::get({int64_t(what.size())}, b.getI8Type());
  Value whatTensor = arith::ConstantOp::create(
      b, loc, whatType,
      DenseElementsAttr::get(
          whatType,
          ArrayRef<int8_t>(reinterpret_cast<const int8_t *>(what.data()),
                           what.size())));
  SmallVector<Value> args{
      list, arith::IndexCastOp::create(b, loc, b.getI64Type(), extent),
      runtimeOperand(loc, whatTensor)};
  func::FuncOp callee =
      declareRuntimeFunction(op->getParentOfType<ModuleOp>(),
                             elem.isInteger(64) ? "kiln_rt_check_indices_i64"
                                                : "kiln_rt_check_indices_i32",
                             ValueRange(args).getTypes());
  func::CallOp::create(b, loc, callee, args);
}

void FunctionLowering::checkIndexTuples(Operation *op, StringRef onnxOp,
                                        Value indices,
                                        ArrayRef<Value> extents) {
  if (!indexChecks || matchPattern(indices, m_Constant()))
    return;
  Location loc = op->getLoc();
  int64_t q = tensorTy(indices).getRank(), k = extents.size();
  SmallVector<OpFoldResult> offsets(q, b.getIndexAttr(0)),
      sizes = sizesOf(indices), strides(q, b.getIndexAttr(1));
  sizes.back() = b.getIndexAttr(1);
  for (int64_t t = 0; t < k; ++t) {
    offsets.back() = b.getIndexAttr(t);
    Value column = tensor::ExtractSliceOp::create(b, loc, indices, offsets,
                                                  sizes, strides);
    std::string part = ", entry " + std::to_string(t) + " of each index tuple";
    checkIndices(op, onnxOp, k == 1 ? indices : copyOf(loc, column), extents[t],
                 part);
  }
}

Value FunctionLowering::clampedIndex(OpBuilder &nb, Location nl, Value raw,
                                     Value extent) {
  Value i = arith::IndexCastOp::create(nb, nl, nb.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
  Value neg = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(nb, nl, neg,
                              arith::AddIOp::create(nb, nl, i, extent), i);
  Value last = arith::SubIOp::create(nb, nl, extent,
                                     arith::ConstantIndexOp::create(nb, nl, 1));
  i = arith::MaxSIOp::create(nb, nl, i, zero);
  return arith::MinSIOp::create(nb, nl, i, last);
}

/// result[i0, .., ik, ..] = data[i0, .., clamp(indices[i0, .., ik, ..]), ..]
LogicalResult FunctionLowering::lowerGatherElements(GatherElementsOp op) {
  Location loc = op.getLoc();
  Value data = op.getData(), indices = op.getIndices();
  auto rt = op.getType();
  int64_t axis = op.getAxis(), rank = rt.getRank();
  Value init = empty(loc, sizesOf(indices), rt.getElementType());
  Value extent = tensor::DimOp::create(b, loc, data, axis);
  checkIndices(op, "GatherElements", indices, extent);
  SmallVector<AffineMap> maps(2, b.getMultiDimIdentityMap(rank));
  Value r =
      linalg::GenericOp::create(
          b, loc, TypeRange{rt}, ValueRange{indices}, ValueRange{init}, maps,
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            SmallVector<Value> coords;
            for (int64_t d = 0; d < rank; ++d)
              coords.push_back(d == axis
                                   ? clampedIndex(nb, nl, a[0], extent)
                                   : (Value)linalg::IndexOp::create(nb, nl, d));
            linalg::YieldOp::create(
                nb, nl, (Value)tensor::ExtractOp::create(nb, nl, data, coords));
          })
          .getResult(0);
  b.replaceOp(op, r);
  return success();
}

/// result[b.., i.., rest..] = data[b.., clamp(indices[b.., i.., 0]), ..,
/// clamp(indices[b.., i.., K-1]), rest..]
LogicalResult FunctionLowering::lowerGatherND(GatherNDOp op) {
  Location loc = op.getLoc();
  Value data = op.getData(), indices = op.getIndices();
  auto rt = op.getType();
  auto it = tensorTy(indices);
  int64_t batch = op.getBatchDims(), q = it.getRank(), rank = rt.getRank();
  int64_t k = it.getDimSize(q - 1);
  SmallVector<OpFoldResult> is = sizesOf(indices), ds = sizesOf(data);
  SmallVector<OpFoldResult> sizes(is.begin(), is.end() - 1);
  sizes.append(ds.begin() + batch + k, ds.end());
  Value init = empty(loc, sizes, rt.getElementType());
  SmallVector<Value> extents;
  for (int64_t t = 0; t < k; ++t)
    extents.push_back(tensor::DimOp::create(b, loc, data, batch + t));
  checkIndexTuples(op, "GatherND", indices, extents);
  Value r =
      linalg::GenericOp::create(
          b, loc, TypeRange{rt}, ValueRange{}, ValueRange{init},
          SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange) {
            SmallVector<Value> idxCoords, coords;
            for (int64_t d = 0; d < q - 1; ++d)
              idxCoords.push_back(linalg::IndexOp::create(nb, nl, d));
            for (int64_t d = 0; d < batch; ++d)
              coords.push_back(idxCoords[d]);
            idxCoords.push_back(Value());
            for (int64_t t = 0; t < k; ++t) {
              idxCoords.back() = arith::ConstantIndexOp::create(nb, nl, t);
              Value raw = tensor::ExtractOp::create(nb, nl, indices, idxCoords);
              coords.push_back(clampedIndex(nb, nl, raw, extents[t]));
            }
            for (int64_t d = q - 1; d < rank; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nl, d));
            linalg::YieldOp::create(
                nb, nl, (Value)tensor::ExtractOp::create(nb, nl, data, coords));
          })
          .getResult(0);
  b.replaceOp(op, r);
  return success();
}

LogicalResult FunctionLowering::lowerConcat(ConcatOp op) {
  Location loc = op.getLoc();
  int64_t axis = op.getAxis();
  auto inputs = op.getInputs();
  SmallVector<OpFoldResult> sizes = sizesOf(inputs[0]);
  Value total = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
  for (Value in : inputs.drop_front())
    total = arith::AddIOp::create(b, loc, total,
                                  tensor::DimOp::create(b, loc, in, axis));
  sizes[axis] = getAsOpFoldResult(total);
  Value acc = empty(loc, sizes, op.getType().getElementType());
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  int64_t rank = op.getType().getRank();
  for (Value in : inputs) {
    // An empty input writes nothing; insert_slice would verify its offsets
    // against the result's empty dims.
    if (llvm::is_contained(tensorTy(in).getShape(), 0)) {
      offset = arith::AddIOp::create(b, loc, offset,
                                     tensor::DimOp::create(b, loc, in, axis));
      continue;
    }
    SmallVector<OpFoldResult> offs(rank, b.getIndexAttr(0));
    offs[axis] = offset;
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    acc = tensor::InsertSliceOp::create(b, loc, in, acc, offs, sizesOf(in),
                                        strides);
    offset = arith::AddIOp::create(b, loc, offset,
                                   tensor::DimOp::create(b, loc, in, axis));
  }
  Value result = tensor::CastOp::create(b, loc, op.getType(), acc);
  if (axis == 2 && rank == 4 && inputs.size() == 2)
    sequenceConcats[result] = {inputs[0], inputs[1]};
  b.replaceOp(op, result);
  return success();
}

LogicalResult FunctionLowering::lowerSlice(SliceOp op) {
  Location loc = op.getLoc();
  SmallVector<OpFoldResult> offs =
      materializeShape(b, loc, op.getOffsets(), symbols);
  SmallVector<OpFoldResult> sizes =
      materializeShape(b, loc, op.getSizes(), symbols);
  ArrayRef<int64_t> steps = op.getStrides();
  // An empty result reads nothing. extract_slice would verify its offsets
  // against the source even then (start 10 of 10 is out of bounds), so the
  // result is a fresh empty tensor instead. So is any slice of an empty
  // input, whose sizes (read at run time) can only be 0 there.
  if (llvm::is_contained(op.getType().getShape(), 0) ||
      llvm::is_contained(tensorTy(op.getInput()).getShape(), 0)) {
    Value e = empty(loc, sizes, op.getType().getElementType());
    if (e.getType() != op.getType())
      e = tensor::CastOp::create(b, loc, op.getType(), e);
    b.replaceOp(op, e);
    return success();
  }
  if (llvm::all_of(steps, [](int64_t s) { return s > 0; })) {
    SmallVector<OpFoldResult> strides;
    for (int64_t s : steps)
      strides.push_back(b.getIndexAttr(s));
    Value r = tensor::ExtractSliceOp::create(
        b, loc, op.getType(), op.getInput(), offs, sizes, strides);
    b.replaceOp(op, r);
    return success();
  }
  // Negative steps: gather element by element.
  int64_t rank = op.getType().getRank();
  Value init = empty(loc, sizes, op.getType().getElementType());
  Value input = op.getInput();
  Value r = linalg::GenericOp::create(
                b, loc, TypeRange{op.getType()}, ValueRange{}, ValueRange{init},
                SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
                SmallVector<IteratorType>(rank, IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange) {
                  SmallVector<Value> coords;
                  for (int64_t d = 0; d < rank; ++d) {
                    Value i = linalg::IndexOp::create(nb, nl, d);
                    Value s = arith::ConstantIndexOp::create(nb, nl, steps[d]);
                    Value o = getValueOrCreateConstantIndexOp(nb, nl, offs[d]);
                    coords.push_back(arith::AddIOp::create(
                        nb, nl, o, arith::MulIOp::create(nb, nl, i, s)));
                  }
                  linalg::YieldOp::create(
                      nb, nl,
                      (Value)tensor::ExtractOp::create(nb, nl, input, coords));
                })
                .getResult(0);
  b.replaceOp(op, r);
  return success();
}

LogicalResult FunctionLowering::lowerTranspose(TransposeOp t) {
  // Undoing a transpose (the attention kernel's output, written in the
  // layout its user wants; AttentionKernelCall.cpp) is its input again.
  if (auto inner = t.getInput().getDefiningOp<linalg::TransposeOp>();
      inner && isIdentityPermutation(
                   applyPermutation(inner.getPermutation(), t.getPerm()))) {
    Value source = inner.getInput();
    b.replaceOp(t, source.getType() == t.getType()
                       ? source
                       : (Value)tensor::CastOp::create(b, t.getLoc(),
                                                       t.getType(), source));
    return success();
  }
  SmallVector<OpFoldResult> in = sizesOf(t.getInput()), out;
  for (int64_t p : t.getPerm())
    out.push_back(in[p]);
  Location loc = t.getLoc();
  Value init = empty(loc, out, t.getType().getElementType());
  b.replaceOp(
      t, linalg::TransposeOp::create(b, loc, t.getInput(), init, t.getPerm())
             .getResult()[0]);
  return success();
}

LogicalResult FunctionLowering::lowerReshape(ReshapeOp r) {
  Location loc = r.getLoc();
  b.replaceOp(r, reshape(loc, r.getInput(), r.getType(),
                         materializeShape(b, loc, r.getShape(), symbols)));
  return success();
}

LogicalResult FunctionLowering::lowerExpand(ExpandOp e) {
  Location loc = e.getLoc();
  auto rt = e.getType();
  Value init = empty(loc, materializeShape(b, loc, e.getShape(), symbols),
                     rt.getElementType());
  int64_t rank = rt.getRank();
  SmallVector<AffineMap> maps{broadcastMap(tensorTy(e.getInput()), rt),
                              b.getMultiDimIdentityMap(rank)};
  b.replaceOp(e, linalg::GenericOp::create(
                     b, loc, TypeRange{rt}, ValueRange{e.getInput()},
                     ValueRange{init}, maps,
                     SmallVector<IteratorType>(rank, IteratorType::parallel),
                     [](OpBuilder &nb, Location nl, ValueRange a) {
                       linalg::YieldOp::create(nb, nl, a[0]);
                     })
                     .getResult(0));
  return success();
}

LogicalResult FunctionLowering::lowerFill(FillOp f) {
  Location loc = f.getLoc();
  Value init = empty(loc, materializeShape(b, loc, f.getShape(), symbols),
                     f.getType().getElementType());
  Value v = arith::ConstantOp::create(b, loc, f.getValue());
  b.replaceOp(f, linalg::FillOp::create(b, loc, ValueRange{v}, ValueRange{init})
                     .getResult(0));
  return success();
}

LogicalResult FunctionLowering::lowerSymbolicValues(SymbolicValuesOp s) {
  Location loc = s.getLoc();
  Type elem = s.getType().getElementType();
  SmallVector<Value> elems;
  for (AffineExpr e : s.getValues().getResults())
    elems.push_back(arith::IndexCastOp::create(
        b, loc, elem, materializeSymExpr(b, loc, e, symbols)));
  b.replaceOp(s, tensor::FromElementsOp::create(b, loc, s.getType(), elems));
  return success();
}

LogicalResult FunctionLowering::lowerRange(RangeOp r) {
  Location loc = r.getLoc();
  Type elem = r.getType().getElementType();
  Value start = materializeSymExpr(b, loc, r.getStart().getResult(0), symbols);
  Value init = empty(loc, materializeShape(b, loc, r.getSize(), symbols), elem);
  int64_t step = r.getStep();
  b.replaceOp(
      r,
      linalg::GenericOp::create(
          b, loc, TypeRange{r.getType()}, ValueRange{}, ValueRange{init},
          SmallVector<AffineMap>{b.getMultiDimIdentityMap(1)},
          SmallVector<IteratorType>{IteratorType::parallel},
          [&](OpBuilder &nb, Location nl, ValueRange) {
            Value i = linalg::IndexOp::create(nb, nl, 0);
            Value v = arith::AddIOp::create(
                nb, nl, start,
                arith::MulIOp::create(
                    nb, nl, i, arith::ConstantIndexOp::create(nb, nl, step)));
            Value i64 = arith::IndexCastOp::create(nb, nl, nb.getI64Type(), v);
            linalg::YieldOp::create(nb, nl, castScalar(nb, nl, i64, elem));
          })
          .getResult(0));
  return success();
}

/// result = valid ? values : 0, and each symbol its element of the result.
LogicalResult FunctionLowering::lowerBindSymbols(BindSymbolsOp op) {
  Location loc = op.getLoc();
  auto type = tensorTy(op.getValues());
  Value r = elementwise(
      loc, type, ValueRange{op.getValid(), op.getValues()},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value zero = buildArithConstant(nb, nl, a[1].getType(), 0);
        return (Value)arith::SelectOp::create(nb, nl, a[0], a[1], zero);
      });
  for (auto [i, s] : llvm::enumerate(op.getSymbols())) {
    Value idx = arith::ConstantIndexOp::create(b, loc, i);
    Value v = tensor::ExtractOp::create(b, loc, r, ValueRange{idx});
    symbols[s] = arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  }
  b.replaceOp(op, r);
  return success();
}

/// One generic over the result: per dim, the position s = o - max(before,
/// 0) in the input cropped by the negative pads (extent len), mapped into
/// [0, len) by the mode, plus the crop at the start:
///   constant  s itself where 0 <= s < len, else the pad value
///   edge      clamp(s, 0, len - 1)
///   reflect   m = s mod 2(len - 1), then m < len ? m : 2(len - 1) - m
///   wrap      s mod len
/// Where a cropped extent may be 0 at run time, an scf.if fills the result
/// with the pad value instead: there is nothing to read.
LogicalResult FunctionLowering::lowerPad(PadOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto rt = op.getType();
  Type elem = rt.getElementType();
  int64_t rank = rt.getRank();
  StringRef mode = op.getMode();
  SmallVector<OpFoldResult> pads =
      materializeShape(b, loc, op.getPads(), symbols);
  auto index = [&](OpFoldResult f) {
    return getValueOrCreateConstantIndexOp(b, loc, f);
  };
  auto cst = [&](int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  Value zero = cst(0), one = cst(1);
  auto max = [&](Value l, Value r) {
    return b.createOrFold<arith::MaxSIOp>(loc, l, r);
  };
  auto sub = [&](Value l, Value r) {
    return b.createOrFold<arith::SubIOp>(loc, l, r);
  };
  SmallVector<Value> cropStart, padStart, len, period;
  SmallVector<OpFoldResult> sizes;
  Value allNonEmpty;
  for (int64_t d = 0; d < rank; ++d) {
    Value before = index(pads[d]), after = index(pads[rank + d]);
    Value n = b.createOrFold<tensor::DimOp>(loc, x, d);
    cropStart.push_back(max(sub(zero, before), zero));
    padStart.push_back(max(before, zero));
    len.push_back(sub(sub(n, cropStart.back()), max(sub(zero, after), zero)));
    if (mode == "reflect") // 2(len - 1), or 1 where len is 1
      period.push_back(
          max(sub(b.createOrFold<arith::AddIOp>(loc, len.back(), len.back()),
                  cst(2)),
              one));
    sizes.push_back(
        rt.isDynamicDim(d)
            ? OpFoldResult(b.createOrFold<arith::AddIOp>(
                  loc, b.createOrFold<arith::AddIOp>(loc, n, before), after))
            : OpFoldResult(b.getIndexAttr(rt.getDimSize(d))));
    auto staticLen = getConstantIntValue(len.back());
    if (staticLen && *staticLen > 0)
      continue;
    Value nonEmpty = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                           len.back(), zero);
    allNonEmpty =
        allNonEmpty
            ? (Value)arith::AndIOp::create(b, loc, allNonEmpty, nonEmpty)
            : nonEmpty;
  }
  Value padValue = op.getValue()
                       ? (Value)tensor::ExtractOp::create(b, loc, op.getValue(),
                                                          ValueRange{})
                       : arith::ConstantOp::create(b, loc, b.getZeroAttr(elem));
  auto build = [&](OpBuilder &gb, Location gl) {
    Value init = tensor::EmptyOp::create(gb, gl, sizes, elem);
    return linalg::GenericOp::create(
               gb, gl, TypeRange{init.getType()}, ValueRange{},
               ValueRange{init},
               SmallVector<AffineMap>{gb.getMultiDimIdentityMap(rank)},
               SmallVector<IteratorType>(rank, IteratorType::parallel),
               [&](OpBuilder &nb, Location nl, ValueRange) {
                 Value z = arith::ConstantIndexOp::create(nb, nl, 0);
                 auto posMod = [&](Value v, Value m) {
                   Value r = arith::RemSIOp::create(nb, nl, v, m);
                   return (Value)arith::RemSIOp::create(
                       nb, nl, arith::AddIOp::create(nb, nl, r, m), m);
                 };
                 Value inRange;
                 SmallVector<Value> coords;
                 for (int64_t d = 0; d < rank; ++d) {
                   Value o = linalg::IndexOp::create(nb, nl, d);
                   Value s = arith::SubIOp::create(nb, nl, o, padStart[d]);
                   Value last = arith::SubIOp::create(
                       nb, nl, len[d],
                       arith::ConstantIndexOp::create(nb, nl, 1));
                   Value c;
                   if (mode == "reflect") {
                     Value m = posMod(s, period[d]);
                     Value inside = arith::CmpIOp::create(
                         nb, nl, arith::CmpIPredicate::slt, m, len[d]);
                     c = arith::SelectOp::create(
                         nb, nl, inside, m,
                         arith::SubIOp::create(nb, nl, period[d], m));
                   } else if (mode == "wrap") {
                     c = posMod(s, len[d]);
                   } else {
                     c = arith::MinSIOp::create(
                         nb, nl, arith::MaxSIOp::create(nb, nl, s, z), last);
                   }
                   if (mode == "constant") {
                     Value ok = arith::AndIOp::create(
                         nb, nl,
                         arith::CmpIOp::create(nb, nl,
                                               arith::CmpIPredicate::sge, s, z),
                         arith::CmpIOp::create(
                             nb, nl, arith::CmpIPredicate::slt, s, len[d]));
                     inRange =
                         inRange
                             ? (Value)arith::AndIOp::create(nb, nl, inRange, ok)
                             : ok;
                   }
                   coords.push_back(
                       arith::AddIOp::create(nb, nl, c, cropStart[d]));
                 }
                 Value v = tensor::ExtractOp::create(nb, nl, x, coords);
                 if (inRange)
                   v = arith::SelectOp::create(nb, nl, inRange, v, padValue);
                 linalg::YieldOp::create(nb, nl, v);
               })
        .getResult(0);
  };
  Value r;
  if (!allNonEmpty) {
    r = build(b, loc);
  } else {
    r = scf::IfOp::create(
            b, loc, allNonEmpty,
            [&](OpBuilder &tb, Location tl) {
              scf::YieldOp::create(tb, tl, build(tb, tl));
            },
            [&](OpBuilder &eb, Location el) {
              Value init = tensor::EmptyOp::create(eb, el, sizes, elem);
              scf::YieldOp::create(eb, el,
                                   linalg::FillOp::create(eb, el,
                                                          ValueRange{padValue},
                                                          ValueRange{init})
                                       .getResult(0));
            })
            .getResult(0);
  }
  if (r.getType() != rt)
    r = tensor::CastOp::create(b, loc, rt, r);
  b.replaceOp(op, r);
  return success();
}
