//===- Indexing.cpp - GatherElements and GatherND -------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

static LogicalResult convertGatherElements(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank == 0 || nc.rank(1) != rank)
    return nc.error() << "data and indices must have the same rank of 1 or "
                         "more, got "
                      << nc.formatDims(nc.dims(0)) << " and "
                      << nc.formatDims(nc.dims(1));
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  Value data = nc.input(0), idx = nc.input(1);
  auto type = nc.tensorType(nc.dims(1), nc.elementType(0));
  nc.setOutput(
      0,
      k::GatherElementsOp::create(nc.builder(), nc.loc(), type, data, idx,
                                  nc.builder().getI64IntegerAttr(*axis)),
      nc.dims(1));
  return success();
}

static LogicalResult convertGatherND(NodeContext &nc) {
  ArrayRef<AffineExpr> dataDims = nc.dims(0), idxDims = nc.dims(1);
  int64_t r = dataDims.size(), q = idxDims.size();
  int64_t batch = nc.getInt("batch_dims", 0);
  if (r < 1 || q < 1)
    return nc.error() << "data and indices must have rank 1 or more, got "
                      << nc.formatDims(dataDims) << " and "
                      << nc.formatDims(idxDims);
  std::optional<int64_t> k = k::symConstant(idxDims.back());
  if (!k)
    return nc.error() << "the last dim of the indices, '"
                      << nc.formatExtent(idxDims.back())
                      << "', must be known at compile time";
  if (batch < 0 || batch >= std::min(q, r) || *k < 1 || batch + *k > r)
    return nc.error() << "batch_dims " << batch << " and index tuples of " << *k
                      << " do not fit data " << nc.formatDims(dataDims)
                      << " and indices " << nc.formatDims(idxDims);
  for (int64_t d = 0; d < batch; ++d)
    if (!k::symEqual(dataDims[d], idxDims[d]))
      return nc.error() << "batch dim " << d << " differs: data "
                        << nc.formatDims(dataDims) << ", indices "
                        << nc.formatDims(idxDims);
  SmallVector<AffineExpr> outDims(idxDims.begin(), idxDims.end() - 1);
  outDims.append(dataDims.begin() + batch + *k, dataDims.end());
  Value data = nc.input(0), idx = nc.input(1);
  auto type = nc.tensorType(outDims, nc.elementType(0));
  nc.setOutput(0,
               k::GatherNDOp::create(nc.builder(), nc.loc(), type, data, idx,
                                     nc.builder().getI64IntegerAttr(batch)),
               outDims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::indexingConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "GatherElements", 11, M, convertGatherElements, "Indexing"},
      {"", "GatherND", 11, M, convertGatherND, "Indexing"},
  };
  return rows;
}
