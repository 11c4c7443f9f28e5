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

LogicalResult kiln::lowerKilnToLinalg(ModuleOp module, bool verbose) {
  return runPassPipeline(module,
                         "func.func(kiln-canonicalize-shapes,kiln-raise-gelu,"
                         "kiln-raise-silu,kiln-raise-layer-norm,"
                         "kiln-raise-rms-norm,kiln-raise-linear),"
                         "kiln-lower-to-linalg,canonicalize,cse",
                         verbose);
}

std::unique_ptr<kiln::Target> kiln::createTarget(llvm::StringRef spec,
                                                 const TargetOptions &options,
                                                 std::string &error) {
  auto [kind, arch] = spec.split(':');
  if (kind == "cpu" && arch.empty())
    return createCpuTarget(options);
  if (kind == "cuda") {
    error = "target '" + spec.str() +
            "': the CUDA backend is not part of this build yet";
    return nullptr;
  }
  error = "unknown target '" + spec.str() + "' (expected cpu or cuda[:sm_NN])";
  return nullptr;
}
