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
  /// The smallest value of each symbol a call may bring: 0 for a KV cache's
  /// past length that may be empty (symbolMinimums), else 1.
  std::vector<int64_t> symbolMin;
  /// Symbols the importer assumed non-zero (kiln.nonzero_symbols).
  std::vector<std::string> nonZeroSymbols;
  /// Positions of the symbols read from tensor data at run time
  /// (kiln.bind_symbols): the last ones, in order.
  std::vector<unsigned> dataSymbols;
  /// The message of each kiln.bind_symbols, in program order: the symbol
  /// function returns 1 + the index of the first whose check fails.
  std::vector<std::string> symbolChecks;
  /// The C name of the function that computes the data symbols; empty when
  /// there are no bindings.
  std::string inferenceEntry;
  std::vector<TensorSignature> inputs, outputs;
  /// Inputs that an output concatenates onto, both compiled as strided
  /// views (kiln_abi_kv_pair).
  std::vector<KvCachePair> kvPairs;
};

/// Reads the signature off the kiln-level `func.func @main`.
FailureOr<ModelSignature> captureSignature(ModuleOp module,
                                           const std::string &name);

/// Sets sig.symbolMin once sig.kvPairs are known: a symbol may be 0 when
/// every input dim that binds it is the concat axis of a KV-cache pair's
/// past input (a run with no past yet: Optimum's decoders do their prefill
/// so) and the importer assumed it nowhere to be non-zero. Every other
/// symbol is at least 1.
/// Data symbols may be 0 unless the importer assumed them non-zero.
void computeSymbolMinimums(ModelSignature &sig);

/// Whether `e` depends on a data symbol: a dim known only once the inputs'
/// data is read.
bool dependsOnData(const ModelSignature &sig, AffineExpr e);

} // namespace mlir::kiln

#endif
