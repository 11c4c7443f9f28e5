//===- KilnIndexingOps.cpp - Verifiers of selection, scatter and pad ops --===//
//
// kiln.arg_max, kiln.arg_min and kiln.top_k: the ops whose lowerings compute
// positions (KilnOps.cpp holds the other verifiers).
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"
#include "dialects/kiln/VerifierUtils.h"

using namespace mlir;
using namespace mlir::kiln;

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
  int64_t axis = getAxis(), k = getK();
  if (failed(verifyAxis(*this, axis, in.getRank())))
    return failure();
  int64_t n = in.getDimSize(axis);
  if (k < 0 || (!ShapedType::isDynamic(n) && k > n))
    return emitOpError() << "k = " << k << " is out of range for extent "
                         << (ShapedType::isDynamic(n) ? std::string("?")
                                                      : std::to_string(n));
  if (values.getElementType() != in.getElementType())
    return emitOpError() << "values must have the input's element type";
  if (values.getShape() != indices.getShape())
    return emitOpError() << "values and indices must have one shape";
  return verifyAlongAxis(*this, in, values, axis, k);
}
