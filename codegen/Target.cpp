//===- Target.cpp - Target selection and the shared lowering ---------------===//
#include "codegen/Target.h"

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

LogicalResult kiln::runPassPipeline(ModuleOp module, llvm::StringRef pipeline,
                                    bool verbose) {
  PassManager pm(module->getName());
  if (failed(parsePassPipeline(pipeline, pm, llvm::errs())))
    return module.emitError() << "internal error: bad pipeline " << pipeline;
  if (verbose)
    pm.enableTiming();
  return pm.run(module);
}

llvm::StringRef kiln::gemmOperandTypeFor(llvm::StringRef precision) {
  if (precision == "fp16")
    return "f16";
  if (precision == "bf16")
    return "bf16";
  return {};
}

LogicalResult kiln::lowerKilnToLinalg(ModuleOp module, const Target &target,
                                      bool verbose) {
  std::string narrow;
  if (llvm::StringRef type = target.gemmOperandType(); !type.empty())
    narrow = ("kiln-mixed-precision{type=" + type + "},").str();
  std::string options = "attention-kernel=" + target.attentionKernel().str();
  if (StringRef acts = target.gemmEpilogueActivations(); !acts.empty())
    options += " epilogue-activations=" + acts.str();
  if (target.kvCacheViews())
    options += " kv-cache-views=1";
  std::string lower = "kiln-lower-to-linalg{" + options + "},";
  return runPassPipeline(module,
                         "func.func(kiln-canonicalize-shapes,kiln-raise-gelu,"
                         "kiln-raise-silu,kiln-raise-layer-norm,"
                         "kiln-raise-rms-norm,kiln-raise-attention,"
                         "kiln-raise-rotary,kiln-raise-linear)," +
                             narrow + lower + "canonicalize,cse",
                         verbose);
}

std::unique_ptr<kiln::Target> kiln::createTarget(llvm::StringRef spec,
                                                 const TargetOptions &options,
                                                 std::string &error) {
  auto [kind, arch] = spec.split(':');
  if (kind == "cpu" && arch.empty()) {
    if (!options.precision.empty() && options.precision != "fp32" &&
        gemmOperandTypeFor(options.precision).empty()) {
      error = "--precision=" + options.precision +
              " is not one of fp32, fp16, bf16 for the cpu target (tf32 is "
              "a tensor-core format)";
      return nullptr;
    }
    return createCpuTarget(options);
  }
  if (kind == "cuda") {
#ifdef KILN_HAVE_CUDA_TARGET
    return createCudaTarget(options, arch, error);
#else
    error = "target '" + spec.str() +
            "': this kilnc was built without the CUDA backend "
            "(-DKILN_ENABLE_CUDA=OFF)";
    return nullptr;
#endif
  }
  error = "unknown target '" + spec.str() + "' (expected cpu or cuda[:sm_NN])";
  return nullptr;
}
