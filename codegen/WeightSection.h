//===- WeightSection.h - Weights placed in the artifact after linking ===//
//
// The weights reach the shared library without passing through the assembler
// or the linker: the object that defines their symbols declares them in a
// NOBITS section, a linker script gives that section a PT_LOAD segment of its
// own (memory size only), and after the link the bytes are appended to the
// file and the segment and section headers are pointed at them. Neither tool
// holds a copy of the weights, so compile memory stays near kilnc's own.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_WEIGHTSECTION_H
#define KILN_CODEGEN_WEIGHTSECTION_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/ArrayRef.h"
#include <array>
#include <string>
#include <vector>

namespace mlir::kiln {

/// One weight's bytes and where they go in the section. The bytes belong to
/// the context's resource blobs, which outlive the compile.
struct WeightChunk {
  uint64_t offset;
  llvm::ArrayRef<char> data;
};

/// The weights of one artifact: the section's layout, and the two files in
/// the compile's temporary folder that define it for the link.
struct WeightFiles {
  std::string asm_;   // symbol definitions in the NOBITS section
  std::string script; // linker script giving the section its own segment
  std::vector<WeightChunk> chunks;
  uint64_t bytes = 0; // section size; 0 when the model has no weights
  /// Set by the caller for --weights=external: the section starts at a
  /// symbol `kiln_weights_base`, aligned for the runtime to map a file over
  /// it (WeightsFile.h), and stays without file bytes.
  bool external = false;
  /// Set by the caller for --weights=embedded in a shared library: the
  /// section starts at `kiln_weights_base` too, aligned to 2 MiB, and the
  /// first session copies it onto memory the kernel may back with 2 MiB
  /// pages (runtime/src/WeightPages.cpp).
  bool copied = false;
  /// Set by the caller for a static archive (kilnc --emit=static): the
  /// section is ordinary read-only data whose bytes the assembler reads from
  /// this file (.incbin), written by writeWeightsBinary; an archive has no
  /// link step after which to place them.
  std::string binary;
};

/// Moves every LLVM global initialized from a `dense_resource` blob out of
/// the module: the global becomes a hidden external declaration, its bytes
/// are recorded as a chunk (64-byte aligned), and `files.asm_` /
/// `files.script` define the symbols at the same offsets (each written
/// where its path is not empty). LLVM never holds a copy.
LogicalResult externalizeWeights(ModuleOp module, WeightFiles &files);

/// The bytes of the weights `module` holds as LLVM globals initialized from
/// `dense_resource` blobs: what externalizeWeights would move out.
uint64_t weightBytesInModule(ModuleOp module);

/// Writes the section's bytes (the chunks at their offsets) to
/// `files.binary`, for the assembler of a static archive's weight object.
LogicalResult writeWeightsBinary(Location loc, const WeightFiles &files);

/// BLAKE3 of the weights' layout and bytes: what identifies them in the
/// build-id, and in an external weights file.
std::array<uint8_t, 32> hashWeights(const WeightFiles &files);

/// After the link: writes the chunks after the end of the shared library
/// `library` (the gaps stay holes, read as zeros) and makes the weight
/// section and its segment refer to them. The bytes go from memory to the
/// library once; no intermediate file holds them. The linker's build-id,
/// which saw the section empty, is replaced by a hash of it and `files`'s
/// hash, so that it identifies the whole file.
LogicalResult fillWeightSection(Location loc, const std::string &library,
                                const WeightFiles &files);

} // namespace mlir::kiln

#endif
