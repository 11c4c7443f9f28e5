//===- KilnIndexingOps.cpp - Verifiers of selection, scatter and pad ops --===//
//
// kiln.arg_max, kiln.arg_min, kiln.top_k, kiln.scatter_nd,
// kiln.scatter_elements and kiln.pad: the ops whose lowerings compute
// positions (KilnOps.cpp holds the other verifiers).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"
#include "dialects/kiln/VerifierUtils.h"

using namespace mlir;
using namespace mlir::kiln;

bool kiln::isScatterReduction(StringRef reduction) {
  return llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction);
}

//===----------------------------------------------------------------------===//
// Selection
//===----------------------------------------------------------------------===//

/// `result` is `input` with extent `extent` at `axis` (dropped when
/// `extent` is nullopt); static extents must agree.
static LogicalResult verifyAlongAxis(Operation *op, RankedTensorType input,
                                     RankedTensorType result, int64_t axis,
                                     std::optional<int64_t> extent) {
  int64_t rank = input.getRank(), want = extent ? rank : rank - 1;
  if (result.getRank() != want)
    return op->emitOpError()
           << "result rank " << result.getRank() << ", expected " << want;
  for (int64_t d = 0, r = 0; d < rank; ++d) {
    if (d == axis && !extent)
      continue;
    int64_t expected = d == axis ? *extent : input.getDimSize(d);
    if (!compatibleExtents(expected, result.getDimSize(r)))
      return op->emitOpError()
             << "result " << result << " does not match the input " << input
             << " along axis " << axis;
    ++r;
  }
  return success();
}

template <typename OpT> static LogicalResult verifyArgReduce(OpT op) {
  auto in = tensorType(op.getInput());
  if (failed(verifyAxis(op, op.getAxis(), in.getRank())))
    return failure();
  return verifyAlongAxis(op, in, op.getResult().getType(), op.getAxis(),
                         op.getKeepdims() ? std::optional<int64_t>(1)
                                          : std::nullopt);
}
LogicalResult ArgMaxOp::verify() { return verifyArgReduce(*this); }
LogicalResult ArgMinOp::verify() { return verifyArgReduce(*this); }

LogicalResult TopKOp::verify() {
  auto in = tensorType(getInput());
  auto values = getValues().getType(), indices = getIndices().getType();
  int64_t axis = getAxis();
  if (failed(verifyAxis(*this, axis, in.getRank())))
    return failure();
  AffineMap kMap = getK();
  if (kMap.getNumDims() != 0 || kMap.getNumResults() != 1)
    return emitOpError() << "k must be one symbolic extent, got "
                         << AffineMapAttr::get(kMap);
  int64_t k = ShapedType::kDynamic;
  if (auto c = dyn_cast<AffineConstantExpr>(kMap.getResult(0)))
    k = c.getValue();
  int64_t n = in.getDimSize(axis);
  if (!ShapedType::isDynamic(k) &&
      (k < 0 || (!ShapedType::isDynamic(n) && k > n)))
    return emitOpError() << "k = " << k << " is out of range for extent "
                         << (ShapedType::isDynamic(n) ? std::string("?")
                                                      : std::to_string(n));
  if (values.getElementType() != in.getElementType())
    return emitOpError() << "values must have the input's element type";
  if (values.getShape() != indices.getShape())
    return emitOpError() << "values and indices must have one shape";
  return verifyAlongAxis(*this, in, values, axis, k);
}

//===----------------------------------------------------------------------===//
// Scatter
//===----------------------------------------------------------------------===//

/// Common checks: the reduction's name, updates with the data's element type.
template <typename OpT> static LogicalResult verifyScatterCommon(OpT op) {
  if (!isScatterReduction(op.getReduction()))
    return op.emitOpError()
           << "reduction must be none, add, mul, max or min, got \""
           << op.getReduction() << "\"";
  if (tensorType(op.getUpdates()).getElementType() !=
      op.getData().getType().getElementType())
    return op.emitOpError() << "updates must have the data's element type";
  return success();
}

LogicalResult ScatterNDOp::verify() {
  if (failed(verifyScatterCommon(*this)))
    return failure();
  auto data = getData().getType(), idx = tensorType(getIndices()),
       upd = tensorType(getUpdates());
  int64_t r = data.getRank(), q = idx.getRank();
  if (q < 1)
    return emitOpError() << "indices must have rank 1 or more";
  int64_t k = idx.getDimSize(q - 1);
  if (ShapedType::isDynamic(k))
    return emitOpError() << "the last dim of the indices must be static";
  if (k < 1 || k > r)
    return emitOpError() << "index tuples of " << k
                         << " do not fit data of rank " << r;
  SmallVector<int64_t> want(idx.getShape().drop_back());
  llvm::append_range(want, data.getShape().drop_front(k));
  if ((int64_t)want.size() != upd.getRank() ||
      !llvm::all_of(llvm::zip(want, upd.getShape()), [](auto p) {
        return compatibleExtents(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError() << "updates " << upd
                         << " must have the shape indices.shape[:-1] + "
                            "data.shape[k:]";
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  if (failed(verifyScatterCommon(*this)))
    return failure();
  auto data = getData().getType(), idx = tensorType(getIndices()),
       upd = tensorType(getUpdates());
  if (failed(verifyAxis(*this, getAxis(), data.getRank())))
    return failure();
  if (idx.getRank() != data.getRank() || upd.getRank() != data.getRank())
    return emitOpError() << "indices and updates must have the data's rank "
                         << data.getRank();
  for (int64_t d = 0; d < idx.getRank(); ++d)
    if (!compatibleExtents(idx.getDimSize(d), upd.getDimSize(d)))
      return emitOpError() << "indices " << idx << " and updates " << upd
                           << " must have one shape";
  return success();
}

//===----------------------------------------------------------------------===//
// Pad
//===----------------------------------------------------------------------===//

LogicalResult PadOp::verify() {
  StringRef mode = getMode();
  if (!llvm::is_contained({"constant", "edge", "reflect", "wrap"}, mode))
    return emitOpError() << "mode must be constant, edge, reflect or wrap, "
                            "got \""
                         << mode << "\"";
  auto in = tensorType(getInput());
  auto res = getResult().getType();
  int64_t rank = in.getRank();
  AffineMap pads = getPads();
  if (pads.getNumDims() != 0 || pads.getNumResults() != 2 * rank)
    return emitOpError() << "pads must be a map without dims with " << 2 * rank
                         << " results";
  if (res.getRank() != rank || res.getElementType() != in.getElementType())
    return emitOpError() << "result " << res
                         << " must have the input's rank and element type";
  if (Value v = getValue()) {
    auto vt = tensorType(v);
    if (mode != "constant" || vt.getRank() != 0 ||
        vt.getElementType() != in.getElementType())
      return emitOpError() << "value must be a rank-0 tensor of the input's "
                              "element type, in constant mode only";
  }
  for (int64_t d = 0; d < rank; ++d) {
    auto before = symConstant(pads.getResult(d));
    auto after = symConstant(pads.getResult(rank + d));
    int64_t n = in.getDimSize(d);
    if (!before || !after || ShapedType::isDynamic(n))
      continue;
    int64_t want = n + *before + *after;
    if (want < 0 || !compatibleExtents(want, res.getDimSize(d)))
      return emitOpError() << "dim " << d << " of extent " << n << " padded by "
                           << *before << " and " << *after << " gives " << want
                           << ", not " << res.getDimSize(d);
  }
  return success();
}
