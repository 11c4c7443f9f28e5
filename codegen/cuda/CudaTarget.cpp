//===- CudaTarget.cpp - The NVIDIA GPU target -----------------------------===//
//
// --target=cuda builds cubins for sm_90 and sm_100 plus sm_90 PTX;
// --target=cuda:sm_90 or cuda:sm_100 builds that chip's cubin and PTX.
// Host code is x86-64 and goes through the shared object emission and link
// step (codegen/ObjectEmitter.h, codegen/ArtifactWriter.h), with the CUDA
// runtime linked in beside the CPU one.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/CudaTarget.h"
#include "codegen/ArtifactWriter.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/cuda/CudaPipeline.h"
#include "codegen/cuda/KernelImage.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
class CudaTarget final : public Target {
public:
  CudaTarget(const TargetOptions &options, const CudaOptions &cuda)
      : options_(options), cuda_(cuda) {}

  llvm::StringRef name() const override { return "cuda"; }
  llvm::StringRef attentionKernel() const override { return "cuda"; }
  bool hasDeviceCode() const override { return true; }
  /// cuBLASLt's epilogues: ReLU and GELU (its GELU is the tanh form).
  llvm::StringRef gemmEpilogueActivations() const override {
    return "relu,gelu_tanh";
  }

  /// fp16 (the default) and bf16 store GEMM operands in that type, for
  /// cuBLASLt's 16-bit inputs with f32 output; tf32 and fp32 keep f32.
  llvm::StringRef gemmOperandType() const override {
    return gemmOperandTypeFor(cuda_.precision);
  }

  LogicalResult lowerToLLVMDialect(ModuleOp module) override {
    return failure(failed(lowerToGpuKernels(module, cuda_, options_)) ||
                   failed(lowerKernelsToPtx(module, cuda_, options_)) ||
                   failed(lowerHostToLLVM(module, cuda_, options_)));
  }

  LogicalResult printDeviceCode(ModuleOp module, DeviceStage stage,
                                llvm::raw_ostream &os) override {
    if (failed(lowerToGpuKernels(module, cuda_, options_)))
      return failure();
    if (stage == DeviceStage::Kernels) {
      module->print(os, OpPrintingFlags().elideLargeResourceString(64));
      return success();
    }
    if (failed(lowerKernelsToPtx(module, cuda_, options_)))
      return failure();
    return printPtx(module, os);
  }

  LogicalResult emitObject(ModuleOp module, const std::string &path,
                           HostCodeFile file) override {
    registerTranslations(module);
    return kiln::emitObject(module, options_, path, file);
  }

  LogicalResult writeSharedLibrary(ModuleOp module, const ModelSignature &sig,
                                   const std::string &entry,
                                   const std::string &tmpDir,
                                   const std::string &output,
                                   uint64_t *weightBytes) override {
    registerTranslations(module);
    return writeHostArtifact(module, options_, sig, entry, name(), tmpDir,
                             output, weightBytes, {"libkiln_cuda_runtime.a"});
  }

private:
  static void registerTranslations(ModuleOp module) {
    registerCudaTranslations(module.getContext());
  }

  TargetOptions options_;
  CudaOptions cuda_;
};
} // namespace

std::unique_ptr<Target> kiln::createCudaTarget(const TargetOptions &options,
                                               llvm::StringRef arch,
                                               TargetError &error) {
  CudaOptions cuda;
  cuda.toolkit = KILN_CUDA_TOOLKIT_DIR;
  if (arch == "sm_90" || arch == "sm_100")
    cuda.chips = {arch.str()};
  else if (!arch.empty()) {
    error = {TargetError::Option::Spec,
             "target 'cuda:" + arch.str() +
                 "': unsupported chip (expected sm_90 or sm_100)"};
    return nullptr;
  }
  cuda.precision = options.precision.empty() ? "fp16" : options.precision;
  if (cuda.precision != "fp16" && cuda.precision != "bf16" &&
      cuda.precision != "tf32" && cuda.precision != "fp32") {
    error = {TargetError::Option::Precision,
             "is not one of fp16, bf16, tf32, fp32"};
    return nullptr;
  }
  return std::make_unique<CudaTarget>(options, cuda);
}
