//===- WeightSection.h - Weights placed in the artifact after linking -*- C++
//-*-===//
//
// The weights reach the shared library without passing through the assembler
// or the linker: the object that defines their symbols declares them in a
// NOBITS section, a linker script gives that section a PT_LOAD segment of its
// own (memory size only), and after the link the bytes are appended to the
// file and the segment and section headers are pointed at them. Neither tool
// holds a copy of the weights, so compile memory stays near kilnc's own.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_WEIGHTSECTION_H
#define KILN_CODEGEN_CPU_WEIGHTSECTION_H

#include "mlir/IR/BuiltinOps.h"
#include <string>

namespace mlir::kiln {

/// The weight files of one artifact, all in the compile's temporary folder.
struct WeightFiles {
  std::string bin;    // the bytes, laid out as the section
  std::string asm_;   // symbol definitions in the NOBITS section
  std::string script; // linker script giving the section its own segment
  uint64_t bytes = 0; // size of `bin`; 0 when the model has no weights
};

/// Moves every LLVM global initialized from a `dense_resource` blob out of
/// the module: the global becomes a hidden external declaration, its bytes
/// go to `files.bin` (64-byte aligned), and `files.asm_` / `files.script`
/// define the symbols at the same offsets. LLVM never holds a copy.
LogicalResult externalizeWeights(ModuleOp module, WeightFiles &files);

/// After the link: appends `files.bin` to the shared library `library` and
/// makes the weight section and its segment refer to it.
LogicalResult fillWeightSection(Location loc, const std::string &library,
                                const WeightFiles &files);

} // namespace mlir::kiln

#endif
