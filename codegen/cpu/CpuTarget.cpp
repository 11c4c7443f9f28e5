//===- CpuTarget.cpp - The x86-64 CPU target --------------------------------===//
#include "codegen/Target.h"
#include "codegen/cpu/ArtifactWriter.h"
#include "codegen/cpu/CpuPipeline.h"

#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
class CpuTarget final : public Target {
public:
  explicit CpuTarget(const TargetOptions &options) : options_(options) {}

  llvm::StringRef name() const override { return "cpu"; }
  bool hasCpuAttentionKernel() const override { return true; }

  LogicalResult lowerToLLVMDialect(ModuleOp module) override {
    return lowerLinalgToLLVMDialect(module, options_);
  }

  LogicalResult emitObject(ModuleOp module, const std::string &path,
                           bool emitLLVM) override {
    return kiln::emitObject(module, options_, path, emitLLVM);
  }

  LogicalResult writeSharedLibrary(ModuleOp module, const ModelSignature &sig,
                                   const std::string &entry,
                                   const std::string &tmpDir,
                                   const std::string &output,
                                   uint64_t *weightBytes) override {
    std::string base = tmpDir + "/" + sig.name;
    std::string obj = base + ".o", desc = base + "_descriptor.c";
    std::string weightsBin = base + "_weights.bin";
    std::string weightsAsm = base + "_weights.S";
    // Weights leave the LLVM module before translation: the assembler
    // .incbin's them, so LLVM never holds a copy.
    if (failed(externalizeWeights(module, weightsBin, weightsAsm, weightBytes)))
      return failure();
    if (failed(kiln::emitObject(module, options_, obj, false)))
      return failure();
    std::error_code ec;
    {
      llvm::raw_fd_ostream os(desc, ec);
      if (ec)
        return module.emitError() << "cannot write " << desc << ": "
                                  << ec.message();
      os << descriptorSource(sig, entry, name());
    }
    return linkSharedLibrary(module.getLoc(), {obj, desc, weightsAsm}, output,
                             options_.verbose);
  }

private:
  TargetOptions options_;
};
} // namespace

std::unique_ptr<Target> kiln::createCpuTarget(const TargetOptions &options) {
  return std::make_unique<CpuTarget>(options);
}
