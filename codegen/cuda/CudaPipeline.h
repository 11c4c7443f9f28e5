//===- CudaPipeline.h - linalg -> gpu/NVVM + host LLVM ----------*- C++ -*-===//
#ifndef KILN_CODEGEN_CUDA_CUDAPIPELINE_H
#define KILN_CODEGEN_CUDA_CUDAPIPELINE_H

#include "codegen/Target.h"
#include "mlir/IR/BuiltinOps.h"
#include <string>
#include <vector>

namespace mlir::kiln {

struct CudaOptions {
  /// Chips to build cubins for; the first also names the PTX's target.
  std::vector<std::string> chips = {"sm_90", "sm_100"};
  /// GEMM tensor-core input type: fp16 (default), bf16, tf32 or fp32.
  std::string precision = "fp16";
  int64_t blockSize = 256;
  std::string toolkit = "/usr/local/cuda";
};

/// Registers the LLVM IR translations of the builtin, LLVM, GPU and NVVM
/// dialects, with gpu.binary's embedding.
void registerCudaTranslations(MLIRContext *ctx);

/// Bufferizes, moves matmuls to cuBLASLt and maps every other linalg op to
/// a kernel in a gpu.launch; stops with the kernels outlined into
/// gpu.modules (the --emit=gpu stage).
LogicalResult lowerToGpuKernels(ModuleOp module, const CudaOptions &cuda,
                                const TargetOptions &options);

/// gpu.modules -> NVVM -> PTX in gpu.binary ops (the --emit=ptx stage).
LogicalResult lowerKernelsToPtx(ModuleOp module, const CudaOptions &cuda,
                                const TargetOptions &options);

/// PTX -> fatbinaries, and the host code to the LLVM dialect.
LogicalResult lowerHostToLLVM(ModuleOp module, const CudaOptions &cuda,
                              const TargetOptions &options);

} // namespace mlir::kiln

#endif
