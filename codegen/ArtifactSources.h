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
#include <string>

namespace mlir::kiln {

/// C source of the model descriptor (kiln/model_abi.h) for `target`, with a
/// trampoline that calls the MLIR C interface `_mlir_ciface_<entry>`.
std::string descriptorSource(const ModelSignature &sig,
                             const std::string &entry, llvm::StringRef target);
/// The per-model public header with typed signature constants.
std::string headerSource(const ModelSignature &sig);

} // namespace mlir::kiln

#endif
