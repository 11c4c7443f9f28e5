//===- ArtifactSources.h - C sources written for an artifact ----*- C++ -*-===//
//
// The model descriptor (runtime/include/kiln/model_abi.h) compiled into the
// artifact, and the typed per-model header written beside it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_ARTIFACTSOURCES_H
#define KILN_CODEGEN_ARTIFACTSOURCES_H

#include "codegen/ModelSignature.h"
#include "llvm/ADT/StringRef.h"
#include <array>
#include <string>

namespace mlir::kiln {

/// The descriptor's kiln_abi_weights: weights in a file beside the library
/// (`external`: their size and hash, for the runtime to check the file), or
/// in the library, copied by the first session (WeightSection.h).
struct WeightsRef {
  uint64_t bytes;
  std::array<uint8_t, 32> hash;
  bool external;
};

/// C source of the model descriptor (kiln/model_abi.h) for `target`, with a
/// trampoline that calls the MLIR C interface `_mlir_ciface_<entry>`.
/// `weights`, when given, makes sessions map the weights file, or copy the
/// weights, first.
std::string descriptorSource(const ModelSignature &sig,
                             const std::string &entry, llvm::StringRef target,
                             const WeightsRef *weights = nullptr);
/// The per-model public header with typed signature constants.
std::string headerSource(const ModelSignature &sig);

} // namespace mlir::kiln

#endif
