//===- KvCache.h - KV-cache outputs of a decode graph -----------*- C++ -*-===//
#ifndef KILN_CODEGEN_KVCACHE_H
#define KILN_CODEGEN_KVCACHE_H

#include "dialects/kiln/KvCachePairs.h"
#include "mlir/IR/BuiltinTypes.h"

namespace mlir::kiln {

/// The memref type of either side of a pair, so that both can be views of
/// one cache buffer longer along `axis`: the dims from `axis` inward are
/// dense, the strides outside it are dynamic.
MemRefType kvCacheViewType(RankedTensorType type, int64_t axis);

} // namespace mlir::kiln

#endif
