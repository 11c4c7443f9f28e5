//===- KvCache.cpp - KV-cache outputs of a decode graph -------------------===//
#include "codegen/KvCache.h"

using namespace mlir;
using namespace mlir::kiln;

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
