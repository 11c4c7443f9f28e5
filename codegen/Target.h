//===- Target.h - Code generation targets -----------------------*- C++ -*-===//
//
// The compile library (compiler/Compiler.h) drives every backend through
// this interface. The Kiln -> linalg lowering is shared (lowerToLinalg); a
// Target takes the module from linalg on tensors to machine code and a
// linked artifact with the descriptor ABI of runtime/include/kiln/model_abi.h.
// The CPU target lives in codegen/cpu, the CUDA target in codegen/cuda.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_TARGET_H
#define KILN_CODEGEN_TARGET_H

#include "codegen/ModelSignature.h"
#include "mlir/IR/BuiltinOps.h"
#include <functional>
#include <string>

namespace mlir::kiln {

struct TargetOptions {
  int optLevel = 2;
  /// The CPU for host code: "native" or an LLVM CPU name; empty for the
  /// target's default (native on the build machine's instruction set,
  /// generic for a cross target).
  std::string cpu;
  /// The LLVM target triple of host code and of the link; empty for the
  /// build machine's. Set by the target (codegen/cpu/CpuArch.h).
  std::string triple;
  /// Print the pass timings and the commands run.
  bool verbose = false;
  /// Split generated loop nests across the session's threads.
  bool parallelLoops = true;
  /// GEMM precision: fp16 or bf16 (GEMM operands stored in that type,
  /// accumulation and everything else f32), tf32 (cuda only) or fp32; empty
  /// for the target's default (cpu: fp32, cuda: fp16).
  std::string precision;
  /// The runtime dir the library links from (codegen/RuntimeDir.h); empty:
  /// found by findRuntimeDir when the library is linked.
  std::string runtimeDir;
  /// kilnc --weights=external: the weights go to "<library>.weights"
  /// (codegen/WeightsFile.h), mapped at load; the library holds only code.
  bool externalWeights = false;
  /// kilnc --weights=embedded (the default): a cpu shared library's first
  /// session copies its weights onto anonymous memory the kernel may back
  /// with 2 MiB pages (runtime/src/WeightPages.cpp); false (--weights=mapped)
  /// reads them where the loader mapped the library.
  bool copyWeights = true;
  /// kilnc --emit=static: the artifact is a static archive holding the
  /// model's object and the runtime's (codegen/StaticArchive.h).
  bool staticArchive = false;
  /// Called on the bufferized module once kiln-plan-memory has placed the
  /// buffers (the compile's peak arena, codegen/ArenaSize.h); a failure
  /// stops the compile. Targets without the plan do not call it.
  std::function<LogicalResult(ModuleOp)> afterMemoryPlan;
};

/// What emitObject writes of the host code (kilnc --emit=obj|asm|llvm).
enum class HostCodeFile { Object, Assembly, LLVMIR };

/// What a device target prints of its kernels (kilnc --emit=gpu|ptx).
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
  /// What the chosen GEMM operand type costs on this target, for a warning;
  /// empty when nothing.
  virtual std::string gemmOperandTypeCaveat() const { return ""; }
  /// Whether kiln.qlinear (int8 weights, kilnc --quantize) runs on this
  /// target: a call of the runtime's int8 GEMM.
  virtual bool hasInt8GemmKernel() const { return false; }
  /// Whether the runtime's LayerNorm/RMSNorm row kernel serves host memory.
  virtual bool hasNormKernel() const { return false; }
  /// Whether generated code may call the runtime to check a gather's
  /// indices (kiln_rt_check_indices_*, host memory) before it clamps them.
  virtual bool checksIndices() const { return false; }
  /// Whether KV-cache inputs and outputs take strided views (an in-place
  /// cache through kiln_session_run_cached).
  virtual bool kvCacheViews() const { return false; }
  /// Whether the target has device code for printDeviceCode.
  virtual bool hasDeviceCode() const { return false; }
  /// linalg on tensors -> the LLVM dialect.
  virtual LogicalResult lowerToLLVMDialect(ModuleOp module) = 0;
  /// linalg on tensors -> device code at `stage`, printed to `os`. Only
  /// targets with hasDeviceCode() implement it.
  virtual LogicalResult printDeviceCode(ModuleOp module, DeviceStage stage,
                                        llvm::raw_ostream &os) {
    (void)stage;
    (void)os;
    return module.emitError() << "target '" << name() << "' has no device code";
  }
  /// LLVM dialect -> an object file, assembly, or optimized LLVM IR text.
  virtual LogicalResult emitObject(ModuleOp module, const std::string &path,
                                   HostCodeFile file) = 0;
  /// LLVM dialect -> the shared library `output`. `entry` is the model
  /// function's name, `tmpDir` a directory for intermediate files.
  virtual LogicalResult
  writeSharedLibrary(ModuleOp module, const ModelSignature &sig,
                     const std::string &entry, const std::string &tmpDir,
                     const std::string &output, uint64_t *weightBytes) = 0;
};

/// Why a target could not be made from its options. `message` completes a
/// sentence whose subject is the option at fault: the target spec itself
/// (it names the spec), or the precision or the CPU ("is not one of ...",
/// after the caller's name for that option and its value).
struct TargetError {
  enum class Option { Spec, Precision, Cpu } option = Option::Spec;
  std::string message;
};

/// The GEMM operand type of a precision name: "f16" for fp16, "bf16" for
/// bf16, empty for anything else (f32 storage).
llvm::StringRef gemmOperandTypeFor(llvm::StringRef precision);

/// Raised Kiln IR -> linalg on tensors for `target`: quantized ops expanded
/// into generic ones where it has no int8 GEMM, f32 GEMMs narrowed to
/// the target's GEMM operand type (kiln-mixed-precision), then
/// kiln-lower-to-linalg with the target's attention kernel, GEMM epilogue
/// activations and KV-cache views.
LogicalResult lowerToLinalg(ModuleOp module, const Target &target,
                            bool verbose);

} // namespace mlir::kiln

#endif
