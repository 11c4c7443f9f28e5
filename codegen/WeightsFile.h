//===- WeightsFile.h - Weights in a file beside the library -----*- C++ -*-===//
//
// kilnc --weights=external: the weights go to "<library>.weights" (header,
// then the section's bytes at KILN_WEIGHTS_FILE_DATA_OFFSET, the layout of
// runtime/include/kiln/model_abi.h), and the library keeps only an address
// range for them, which the runtime maps the file over
// (runtime/src/ExternalWeights.cpp).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_WEIGHTSFILE_H
#define KILN_CODEGEN_WEIGHTSFILE_H

#include "codegen/WeightSection.h"

namespace mlir::kiln {

/// Where the runtime maps the file: the weight section's alignment and the
/// offset of the weights in the file, a multiple of any page size.
uint64_t externalWeightsAlignment();

/// Writes the header and `files`'s chunks to `path` (the gaps stay holes),
/// replacing any file there. `hash` is hashWeights(files).
LogicalResult writeWeightsFile(Location loc, const std::string &path,
                               const WeightFiles &files,
                               const std::array<uint8_t, 32> &hash);

} // namespace mlir::kiln

#endif
