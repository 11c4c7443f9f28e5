//===- ArtifactWriter.h - Descriptor, header and link step ------*- C++ -*-===//
#ifndef KILN_CODEGEN_CPU_ARTIFACTWRITER_H
#define KILN_CODEGEN_CPU_ARTIFACTWRITER_H

#include "codegen/KvCache.h"
#include "mlir/IR/AffineExpr.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct TensorSignature {
  std::string name;
  int32_t dtype; // ONNX numbering, as kiln_dtype
  std::vector<AffineExpr> dims;
};

/// What the runtime needs to know about the compiled function.
struct ModelSignature {
  std::string name;
  std::vector<std::string> symbols;
  /// The largest value of each symbol a call may bring (kilnc --max-shape);
  /// empty, or INT64_MAX, for unbounded.
  std::vector<int64_t> symbolMax;
  std::vector<TensorSignature> inputs, outputs;
  /// Inputs that an output concatenates onto, both compiled as strided
  /// views (kiln_abi_kv_pair).
  std::vector<KvCachePair> kvPairs;
};

/// Reads the signature off the kiln-level `func.func @main`.
FailureOr<ModelSignature> captureSignature(ModuleOp module,
                                           const std::string &name);

/// C source of the model descriptor (kiln/model_abi.h) for `target`, with a
/// trampoline that calls the MLIR C interface `_mlir_ciface_<entry>`.
std::string descriptorSource(const ModelSignature &sig,
                             const std::string &entry, llvm::StringRef target);
/// The per-model public header with typed signature constants.
std::string headerSource(const ModelSignature &sig);

/// Links `objects` (inputs and options for the clang driver) with the runtime, and before it `runtimeLibraries`
/// (a device target's runtime), into a shared library.
LogicalResult linkSharedLibrary(
    Location loc, const std::vector<std::string> &objects,
    const std::string &output, bool verbose,
    const std::vector<std::string> &runtimeLibraries = {});

} // namespace mlir::kiln


namespace mlir::kiln {
struct TargetOptions;

/// The host side of every target's artifact, from a module in the LLVM
/// dialect: weights externalized, the object emitted, the descriptor for
/// `target` written into `tmpDir`, all linked into `output` with the runtime
/// (and `runtimeLibraries` before it).
LogicalResult writeHostArtifact(ModuleOp module, const TargetOptions &options,
                                const ModelSignature &sig,
                                const std::string &entry,
                                llvm::StringRef target,
                                const std::string &tmpDir,
                                const std::string &output,
                                uint64_t *weightBytes,
                                const std::vector<std::string>
                                    &runtimeLibraries = {});

} // namespace mlir::kiln

#endif
