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

/// Weights in a file beside the library: their size and hash, which the
/// descriptor's kiln_abi_weights holds for the runtime to check the file.
struct ExternalWeightsRef {
  uint64_t bytes;
  std::array<uint8_t, 32> hash;
};

/// C source of the model descriptor (kiln/model_abi.h) for `target`, with a
/// trampoline that calls the MLIR C interface `_mlir_ciface_<entry>`.
/// `externalWeights`, when given, makes sessions map the weights file first.
std::string
descriptorSource(const ModelSignature &sig, const std::string &entry,
                 llvm::StringRef target,
                 const ExternalWeightsRef *externalWeights = nullptr);
/// The per-model public header with typed signature constants.
std::string headerSource(const ModelSignature &sig);

} // namespace mlir::kiln

#endif
