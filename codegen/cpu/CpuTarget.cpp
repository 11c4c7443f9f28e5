//===- CpuTarget.cpp - The CPU target -------------------------------------===//
#include "codegen/cpu/CpuTarget.h"
#include "codegen/ArtifactWriter.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/cpu/CpuArch.h"
#include "codegen/cpu/CpuPipeline.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
class CpuTarget final : public Target {
public:
  explicit CpuTarget(const TargetOptions &options) : options_(options) {}

  llvm::StringRef name() const override { return "cpu"; }
  llvm::StringRef attentionKernel() const override { return "cpu"; }
  bool hasInt8GemmKernel() const override { return true; }
  bool hasNormKernel() const override { return true; }
  bool checksIndices() const override { return true; }
  bool kvCacheViews() const override { return true; }
  llvm::StringRef gemmOperandType() const override {
    return gemmOperandTypeFor(options_.precision);
  }
  std::string gemmOperandTypeCaveat() const override {
    // bf16 GEMMs by a constant weight call the runtime's bf16 kernel
    // (kiln-linalg-to-microkernels); f16 has no kernel on the cpu yet.
    llvm::StringRef type = gemmOperandType();
    if (type.empty() || type == "bf16")
      return "";
    return ("the cpu GEMM kernels take f32 and bf16 operands only; GEMMs on " +
            type + " operands run as generic loops (slow)")
        .str();
  }

  LogicalResult lowerToLLVMDialect(ModuleOp module) override {
    return lowerLinalgToLLVMDialect(module, options_);
  }

  LogicalResult emitObject(ModuleOp module, const std::string &path,
                           HostCodeFile file) override {
    return kiln::emitObject(module, options_, path, file);
  }

  LogicalResult writeSharedLibrary(ModuleOp module, const ModelSignature &sig,
                                   const std::string &entry,
                                   const std::string &tmpDir,
                                   const std::string &output,
                                   uint64_t *weightBytes) override {
    return writeHostArtifact(module, options_, sig, entry, name(), tmpDir,
                             output, weightBytes);
  }

private:
  TargetOptions options_;
};
} // namespace

std::unique_ptr<Target> kiln::createCpuTarget(const TargetOptions &options,
                                              llvm::StringRef archName,
                                              TargetError &error) {
  const CpuArch *arch = findCpuArch(archName);
  if (!arch) {
    error = {TargetError::Option::Spec,
             "unknown target 'cpu:" + archName.str() +
                 "' (known cpu targets: " + knownCpuTargetSpecs() + ")"};
    return nullptr;
  }
  TargetOptions resolved = options;
  resolved.triple = arch->triple.str();
  if (!arch->cpus.empty()) {
    // A cross target has no "native": the build machine is not the device.
    if (resolved.cpu.empty())
      resolved.cpu = arch->cpus.front().str();
    if (!llvm::is_contained(arch->cpus, resolved.cpu)) {
      error = {TargetError::Option::Cpu,
               "is not a CPU Kiln knows for cpu:" + arch->name.str() +
                   " (known: " + joinCpuNames(arch->cpus) + ")"};
      return nullptr;
    }
  }
  if (!options.precision.empty() && options.precision != "fp32" &&
      gemmOperandTypeFor(options.precision).empty()) {
    error = {TargetError::Option::Precision,
             "is not one of fp32, fp16, bf16 for the cpu target (tf32 is a "
             "tensor-core format)"};
    return nullptr;
  }
  return std::make_unique<CpuTarget>(resolved);
}
