//===- CudaPipeline.cpp - linalg on tensors -> gpu/NVVM + host LLVM -------===//
#include "codegen/cuda/CudaPipeline.h"
#include "codegen/cuda/KernelImage.h"
#include "passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"

using namespace mlir;

/// Host code must not touch tensor data: every buffer is device memory.
/// A load or store left outside a kernel means some op was not mapped.
static LogicalResult checkNoHostAccess(ModuleOp module) {
  WalkResult r = module->walk<WalkOrder::PreOrder>([&](Operation *op)
                                                       -> WalkResult {
    if (isa<gpu::LaunchOp, gpu::GPUModuleOp>(op))
      return WalkResult::skip();
    if (isa<memref::LoadOp, memref::StoreOp>(op))
      return op->emitError()
             << "the CUDA target cannot run this on the host (device memory): "
                "it was not mapped to a kernel";
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

/// gpu-kernel-outlining makes one gpu.module per kernel; one module per
/// model means one ptxas and fatbinary run and one module load per session.
/// Outlined kernels of one function share a name in their own modules, so
/// each takes its module's (unique) name as it moves.
static void mergeGpuModules(ModuleOp module) {
  auto modules = llvm::to_vector(module.getOps<gpu::GPUModuleOp>());
  if (modules.size() < 2)
    return;
  gpu::GPUModuleOp into = modules.front();
  MLIRContext *ctx = module.getContext();
  llvm::DenseMap<std::pair<StringAttr, StringAttr>, StringAttr> renamed;
  for (gpu::GPUModuleOp from : modules) {
    auto funcs = llvm::to_vector(from.getOps<gpu::GPUFuncOp>());
    for (gpu::GPUFuncOp f : funcs) {
      StringAttr name =
          funcs.size() == 1
              ? from.getNameAttr()
              : StringAttr::get(ctx, from.getName() + "_" + f.getName());
      renamed[{from.getNameAttr(), f.getNameAttr()}] = name;
      f.setName(name);
    }
    if (from == into)
      continue;
    Block &body = into.getBodyRegion().front();
    Block &fromBody = from.getBodyRegion().front();
    body.getOperations().splice(body.end(), fromBody.getOperations());
  }
  module.walk([&](gpu::LaunchFuncOp launch) {
    SymbolRefAttr kernel = launch.getKernel();
    auto it =
        renamed.find({kernel.getRootReference(), kernel.getLeafReference()});
    if (it == renamed.end())
      return;
    launch.setKernelAttr(SymbolRefAttr::get(
        into.getNameAttr(), {FlatSymbolRefAttr::get(it->second)}));
  });
  for (gpu::GPUModuleOp from : llvm::drop_begin(modules))
    from.erase();
}

LogicalResult kiln::lowerToGpuKernels(ModuleOp module, const CudaOptions &cuda,
                                      const TargetOptions &options) {
  if (failed(runPassPipeline(
          module,
          llvm::formatv(
              "kiln-fuse-elementwise,canonicalize,cse,"
              "one-shot-bufferize,"
              "kiln-cuda-matmul-to-cublaslt{{precision={0}},"
              "buffer-deallocation-pipeline,func.func(kiln-plan-memory)",
              cuda.precision)
              .str(),
          options.verbose)))
    return failure();
  // Every kernel and library call of a run goes to the session's one
  // stream, in program order, so a slot can pass from one buffer to the
  // next as on the CPU: the run makes one device allocation, the arena.
  if (options.afterMemoryPlan && failed(options.afterMemoryPlan(module)))
    return failure();
  if (failed(runPassPipeline(
          module,
          llvm::formatv(
              "kiln-cuda-memref-copy-to-linalg,"
              "convert-linalg-to-parallel-loops,canonicalize,"
              "func.func(kiln-cuda-tile-parallel-loops{{block-size={0}}),"
              "func.func(gpu-map-parallel-loops),"
              "convert-parallel-loops-to-gpu,canonicalize",
              cuda.blockSize)
              .str(),
          options.verbose)))
    return failure();
  if (failed(checkNoHostAccess(module)))
    return failure();
  if (failed(runPassPipeline(module, "gpu-kernel-outlining", options.verbose)))
    return failure();
  mergeGpuModules(module);
  return runPassPipeline(module, "lower-affine,canonicalize,cse",
                         options.verbose);
}

void kiln::registerCudaTranslations(MLIRContext *ctx) {
  DialectRegistry registry;
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  registerGPUDialectTranslation(registry);
  registerNVVMDialectTranslation(registry);
  gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
  ctx->appendDialectRegistry(registry);
}

LogicalResult kiln::lowerKernelsToPtx(ModuleOp module, const CudaOptions &cuda,
                                      const TargetOptions &options) {
  // gpu-module-to-binary translates each gpu.module to LLVM IR.
  registerCudaTranslations(module.getContext());
  // math.erf, math.tanh, ... become calls of libdevice's __nv_* functions.
  // MLIR links libdevice on its own only when it finds the toolkit through
  // CUDA_HOME or the like; name it, so the PTX never depends on the caller's
  // environment.
  std::string libdevice = cuda.toolkit + "/nvvm/libdevice/libdevice.10.bc";
  if (!llvm::sys::fs::exists(libdevice))
    return module.emitError() << "cannot find " << libdevice
                              << ": the CUDA backend needs the CUDA toolkit";
  // PTX ISA 8.0 is the first with sm_90, 8.6 the first with sm_100.
  const std::string &chip = cuda.chips.front();
  std::string features = chip == "sm_90" ? "+ptx80" : "+ptx86";
  return runPassPipeline(
      module,
      llvm::formatv(
          "kiln-expand-shape-to-reinterpret-cast,expand-strided-metadata,"
          "lower-affine,convert-scf-to-cf,canonicalize,"
          "nvvm-attach-target{{chip={0} features={1} O={2} l={3}},"
          "gpu.module(convert-gpu-to-nvvm,canonicalize,cse,"
          "reconcile-unrealized-casts),"
          "gpu-module-to-binary{{format=isa}",
          chip, features, options.optLevel >= 3 ? 3 : options.optLevel,
          libdevice)
          .str(),
      options.verbose);
}

LogicalResult kiln::lowerHostToLLVM(ModuleOp module, const CudaOptions &cuda,
                                    const TargetOptions &options) {
  KernelImageOptions image;
  image.chips = cuda.chips;
  image.ptxChip = cuda.chips.front();
  image.toolkit = cuda.toolkit;
  image.verbose = options.verbose;
  if (failed(embedFatbinaries(module, image)))
    return failure();
  return runPassPipeline(
      module,
      "gpu-to-llvm,convert-math-to-llvm,convert-math-to-libm,"
      "finalize-memref-to-llvm{use-generic-functions=1},"
      "convert-to-llvm,reconcile-unrealized-casts,"
      "kiln-cuda-device-memory,canonicalize",
      options.verbose);
}
