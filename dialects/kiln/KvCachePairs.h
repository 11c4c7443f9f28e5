//===- KvCachePairs.h - KV-cache pairs of a decode graph --------*- C++ -*-===//
#ifndef KILN_DIALECTS_KILN_KVCACHEPAIRS_H
#define KILN_DIALECTS_KILN_KVCACHEPAIRS_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir::kiln {

/// An output that is Concat(input, ...) of one of the function's inputs
/// along `axis`: a decode graph's present = Concat(past, new). With a 16-bit
/// cache (kiln-kv-cache-type) the input is cast to f32 before the concat
/// and the concat back after it; both sides have the cache's type.
struct KvCachePair {
  unsigned input, output;
  int64_t axis;
};

/// The pairs of a kiln-level function (tensor results, before lowering).
SmallVector<KvCachePair> findKvCachePairs(func::FuncOp func);

} // namespace mlir::kiln

#endif
