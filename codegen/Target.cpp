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

LogicalResult kiln::lowerKilnToLinalg(ModuleOp module, const Target &target,
                                     bool verbose) {
  std::string lower = "kiln-lower-to-linalg{attention-kernel=" +
                      target.attentionKernel().str() + "},";
  return runPassPipeline(module,
                         "func.func(kiln-canonicalize-shapes,kiln-raise-gelu,"
                         "kiln-raise-silu,kiln-raise-layer-norm,"
                         "kiln-raise-rms-norm,kiln-raise-attention,"
                         "kiln-raise-rotary,kiln-raise-linear),"
                         + lower + "canonicalize,cse",
                         verbose);
}

std::unique_ptr<kiln::Target> kiln::createTarget(llvm::StringRef spec,
                                                 const TargetOptions &options,
                                                 std::string &error) {
  auto [kind, arch] = spec.split(':');
  if (kind == "cpu" && arch.empty()) {
    if (!options.precision.empty() && options.precision != "fp32") {
      error = "--precision=" + options.precision +
              " is for device targets; the cpu target computes in fp32";
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
