//===- KernelImage.h - PTX -> cubins + PTX in one fatbinary -----*- C++ -*-===//
//
// MLIR's gpu-module-to-binary serializes a gpu.module for one chip. An
// artifact carries cubins for every chip it targets plus PTX for newer ones,
// so each gpu.binary's PTX goes through the toolkit's ptxas (once per chip)
// and fatbinary, and the fatbinary replaces the binary's object. The driver
// picks the cubin of the GPU it runs on, or JIT-compiles the PTX.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CUDA_KERNELIMAGE_H
#define KILN_CODEGEN_CUDA_KERNELIMAGE_H

#include "mlir/IR/BuiltinOps.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct KernelImageOptions {
  /// Chips to compile cubins for, e.g. {"sm_90", "sm_100"}.
  std::vector<std::string> chips;
  /// The virtual architecture of the embedded PTX, e.g. "sm_90".
  std::string ptxChip;
  /// The CUDA toolkit root (ptxas and fatbinary live in its bin/).
  std::string toolkit = "/usr/local/cuda";
  int optLevel = 3;
  bool verbose = false;
};

/// Replaces the PTX object of every gpu.binary in `module` (as made by
/// gpu-module-to-binary{format=isa}) with a fatbinary of cubins for
/// options.chips and the PTX.
LogicalResult embedFatbinaries(ModuleOp module,
                               const KernelImageOptions &options);

/// The PTX of every gpu.binary in `module`, after gpu-module-to-binary
/// {format=isa}, for --emit=ptx.
LogicalResult printPtx(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::kiln

#endif
