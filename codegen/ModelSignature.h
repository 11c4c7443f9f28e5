//===- ModelSignature.h - What the runtime knows of a model -----*- C++ -*-===//
#ifndef KILN_CODEGEN_MODELSIGNATURE_H
#define KILN_CODEGEN_MODELSIGNATURE_H

#include "codegen/KvCache.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct TensorSignature {
  std::string name;
  int32_t dtype; // kiln_dtype
  std::vector<AffineExpr> dims;
};

/// What the runtime needs to know about the compiled function.
struct ModelSignature {
  std::string name;
  std::vector<std::string> symbols;
  /// The largest value of each symbol a call may bring
  /// (CompileOptions::maxShapes); empty, or INT64_MAX, for unbounded.
  std::vector<int64_t> symbolMax;
  std::vector<TensorSignature> inputs, outputs;
  /// Inputs that an output concatenates onto, both compiled as strided
  /// views (kiln_abi_kv_pair).
  std::vector<KvCachePair> kvPairs;
};

/// Reads the signature off the kiln-level `func.func @main`.
FailureOr<ModelSignature> captureSignature(ModuleOp module,
                                           const std::string &name);

} // namespace mlir::kiln

#endif
