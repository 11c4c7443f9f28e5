//===- Target.h - Code generation targets -----------------------*- C++ -*-===//
//
// kilnc drives every backend through this interface. The Kiln -> linalg
// lowering is shared; a Target takes the module from linalg on tensors to
// machine code and a linked artifact with the descriptor ABI of
// runtime/include/kiln/model_abi.h. The CPU target lives in codegen/cpu, the
// CUDA target ("cuda") in codegen/cuda.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_TARGET_H
#define KILN_CODEGEN_TARGET_H

#include "codegen/cpu/ArtifactWriter.h"
#include "mlir/IR/BuiltinOps.h"
#include <memory>
#include <string>

namespace mlir::kiln {

struct TargetOptions {
  int optLevel = 2;
  /// The CPU for host code: "native" or an LLVM CPU name.
  std::string cpu = "native";
  /// Print the pass timings and the commands run.
  bool verbose = false;
  /// Split generated loop nests across the session's threads.
  bool parallelLoops = true;
  /// GEMM precision: fp16 or bf16 (GEMM operands stored in that type,
  /// accumulation and everything else f32), tf32 (cuda only) or fp32; empty
  /// for the target's default (cpu: fp32, cuda: fp16).
  std::string precision;
};

/// What --emit=gpu|ptx prints for a device target.
enum class DeviceStage { Kernels, Ptx };

class Target {
public:
  virtual ~Target() = default;
  /// The target string stored in the artifact's descriptor.
  virtual llvm::StringRef name() const = 0;
  /// Which runtime's fused kernel f32 kiln.attention calls instead of the
  /// reference linalg lowering: kiln-lower-to-linalg's attention-kernel
  /// option ("none", "cpu", "cuda").
  virtual llvm::StringRef attentionKernel() const { return "none"; }
  /// The kiln.linear activations its GEMMs apply in their epilogue, comma
  /// separated; empty: all of them. The others run as elementwise code.
  virtual llvm::StringRef gemmEpilogueActivations() const { return ""; }
  /// The operand type kiln-mixed-precision gives f32 GEMMs, "f16" or
  /// "bf16", or empty to keep them f32.
  virtual llvm::StringRef gemmOperandType() const { return {}; }
  /// Whether KV-cache inputs and outputs take strided views (an in-place
  /// cache through kiln_session_run_cached).
  virtual bool kvCacheViews() const { return false; }
  /// linalg on tensors -> the LLVM dialect.
  virtual LogicalResult lowerToLLVMDialect(ModuleOp module) = 0;
  /// linalg on tensors -> device code at `stage`, printed to `os`. Only
  /// device targets have any.
  virtual LogicalResult printDeviceCode(ModuleOp module, DeviceStage stage,
                                        llvm::raw_ostream &os) {
    (void)stage;
    (void)os;
    return module.emitError() << "--emit=gpu and --emit=ptx need a device "
                                 "target (--target=cuda)";
  }
  /// LLVM dialect -> an object file, or optimized LLVM IR text.
  virtual LogicalResult emitObject(ModuleOp module, const std::string &path,
                                   bool emitLLVM) = 0;
  /// LLVM dialect -> the shared library `output`. `entry` is the model
  /// function's name, `tmpDir` a directory for intermediate files.
  virtual LogicalResult
  writeSharedLibrary(ModuleOp module, const ModelSignature &sig,
                     const std::string &entry, const std::string &tmpDir,
                     const std::string &output, uint64_t *weightBytes) = 0;
};

/// The GEMM operand type of a --precision value: "f16" for fp16, "bf16" for
/// bf16, empty for anything else (f32 storage).
llvm::StringRef gemmOperandTypeFor(llvm::StringRef precision);

/// Kiln dialect -> linalg on tensors, the same for every target but for
/// f32 kiln.attention, which becomes a call of the target runtime's fused
/// kernel (Target::attentionKernel), for the kiln.linear activations the
/// target's GEMM epilogue lacks, and for the GEMM operand type
/// (Target::gemmOperandType).
LogicalResult lowerKilnToLinalg(ModuleOp module, const Target &target,
                                bool verbose);

/// Runs a textual pass pipeline (the body of a builtin.module pipeline).
LogicalResult runPassPipeline(ModuleOp module, llvm::StringRef pipeline,
                              bool verbose);

/// The target for a --target spec ("cpu", "cuda", "cuda:sm_90"), or null with
/// `error` set.
std::unique_ptr<Target> createTarget(llvm::StringRef spec,
                                     const TargetOptions &options,
                                     std::string &error);

std::unique_ptr<Target> createCpuTarget(const TargetOptions &options);
/// `arch` is "", "sm_90" or "sm_100"; null with `error` set otherwise.
std::unique_ptr<Target> createCudaTarget(const TargetOptions &options,
                                         llvm::StringRef arch,
                                         std::string &error);

} // namespace mlir::kiln

#endif
