//===- TargetRegistry.cpp - Code generation targets by name ---------------===//
#include "compiler/TargetRegistry.h"
#include "codegen/cpu/CpuArch.h"
#include "codegen/cpu/CpuTarget.h"
#ifdef KILN_HAVE_CUDA_TARGET
#include "codegen/cuda/CudaTarget.h"
#endif

using namespace mlir;

std::unique_ptr<kiln::Target> kiln::createTarget(llvm::StringRef spec,
                                                 const TargetOptions &options,
                                                 TargetError &error) {
  auto [kind, arch] = spec.split(':');
  if (kind == "cpu")
    return createCpuTarget(options, arch, error);
  if (kind == "cuda") {
#ifdef KILN_HAVE_CUDA_TARGET
    return createCudaTarget(options, arch, error);
#else
    error = {TargetError::Option::Spec,
             "target '" + spec.str() +
                 "': this build of Kiln has no CUDA backend "
                 "(-DKILN_ENABLE_CUDA=OFF)"};
    return nullptr;
#endif
  }
  error = {TargetError::Option::Spec,
           "unknown target '" + spec.str() + "' (expected " +
               knownCpuTargetSpecs() + " or cuda[:sm_NN])"};
  return nullptr;
}

std::string kiln::runtimeSubdirFor(llvm::StringRef spec) {
  auto [kind, arch] = spec.split(':');
  const CpuArch *cpuArch = kind == "cpu" ? findCpuArch(arch) : nullptr;
  return cpuArch ? cpuArch->runtimeSubdir.str() : "";
}
