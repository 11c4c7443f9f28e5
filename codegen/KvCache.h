//===- KvCache.h - KV-cache outputs of a decode graph -----------*- C++ -*-===//
#ifndef KILN_CODEGEN_KVCACHE_H
#define KILN_CODEGEN_KVCACHE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::kiln {

/// An output that is Concat(input, ...) of one of the function's inputs
/// along `axis`: a decode graph's present = Concat(past, new).
struct KvCachePair {
  unsigned input, output;
  int64_t axis;
};

/// The pairs of a kiln-level function (tensor results, before lowering).
SmallVector<KvCachePair> findKvCachePairs(func::FuncOp func);

/// The memref type of either side of a pair, so that both can be views of
/// one cache buffer longer along `axis`: the dims from `axis` inward are
/// dense, the strides outside it are dynamic.
MemRefType kvCacheViewType(RankedTensorType type, int64_t axis);

} // namespace mlir::kiln

#endif
