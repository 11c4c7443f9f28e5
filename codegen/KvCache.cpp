//===- KvCache.cpp - KV-cache outputs of a decode graph -------------------===//
#include "codegen/KvCache.h"
#include "dialects/kiln/KilnOps.h"

using namespace mlir;
using namespace mlir::kiln;

SmallVector<KvCachePair> mlir::kiln::findKvCachePairs(func::FuncOp func) {
  SmallVector<KvCachePair> pairs;
  if (func.isExternal())
    return pairs;
  Block &entry = func.getBody().front();
  auto ret = dyn_cast<func::ReturnOp>(entry.getTerminator());
  if (!ret)
    return pairs;
  llvm::SmallDenseSet<unsigned> taken;
  for (auto [j, v] : llvm::enumerate(ret.getOperands())) {
    auto concat = v.getDefiningOp<ConcatOp>();
    if (!concat || concat.getInputs().size() < 2)
      continue;
    auto arg = dyn_cast<BlockArgument>(concat.getInputs()[0]);
    auto type = dyn_cast<RankedTensorType>(v.getType());
    auto argType = arg ? dyn_cast<RankedTensorType>(arg.getType()) : nullptr;
    if (!arg || arg.getOwner() != &entry || !type || !argType ||
        argType.getElementType() != type.getElementType() ||
        argType.getEncoding() || !taken.insert(arg.getArgNumber()).second)
      continue;
    int64_t axis = concat.getAxis();
    if (axis < 0)
      axis += type.getRank();
    pairs.push_back({arg.getArgNumber(), unsigned(j), axis});
  }
  return pairs;
}

MemRefType mlir::kiln::kvCacheViewType(RankedTensorType type, int64_t axis) {
  SmallVector<int64_t> strides(type.getRank(), ShapedType::kDynamic);
  int64_t stride = 1;
  for (int64_t d = type.getRank() - 1; d >= axis; --d) {
    strides[d] = stride;
    stride = ShapedType::isDynamic(stride) || type.isDynamicDim(d)
                 ? ShapedType::kDynamic
                 : stride * type.getDimSize(d);
  }
  return MemRefType::get(
      type.getShape(), type.getElementType(),
      StridedLayoutAttr::get(type.getContext(), /*offset=*/0, strides));
}
