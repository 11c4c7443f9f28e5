//===- Compiler.h - The compile library -------------------------*- C++ -*-===//
//
// One entry point for everything between the bytes of a model and an
// artifact on disk: import (ONNX or Kiln-dialect MLIR), the raising passes,
// the target's lowering and code generation, and the shared library with its
// C header. kilnc is option parsing over compileModel; the fuzzer and the
// tests run the same steps through Compilation.
//
//   kiln::CompileOptions options;
//   options.inputPath = "model.onnx";
//   options.outputPath = "libmodel.so";
//   kiln::CompileResult result = kiln::compileModel(options);
//   if (!result.succeeded())
//     for (const kiln::CompileDiagnostic &d : result.diagnostics) ...
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_COMPILER_H
#define KILN_COMPILER_COMPILER_H

#include "codegen/ModelSignature.h"
#include "codegen/Target.h"
#include "compiler/onnx/OptionNames.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/OwningOpRef.h"
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln {

/// Where a compile stops, and what it writes there.
enum class EmitStage {
  Kiln,    ///< the Kiln dialect after import (text)
  Raised,  ///< the Kiln dialect after the raising passes (text)
  Linalg,  ///< linalg/tensor IR after the lowering (text)
  Gpu,     ///< device targets: kernels in the gpu dialect (text)
  Ptx,     ///< device targets: the kernels' PTX (text)
  LLVM,    ///< optimized LLVM IR of the host code (text)
  Object,  ///< the model's object file alone
  Asm,     ///< the model's assembly (text)
  Library, ///< the shared library and its C header
  Static,  ///< a static archive with the runtime inside, and the C header
};

struct CompileOptions {
  /// The model: binary ONNX, ONNX text format (.onnxtxt, .textproto,
  /// .pbtxt), or a module in the Kiln dialect (.mlir) with a func.func @main
  /// carrying kiln.* signature attributes.
  std::string inputPath;
  /// The model's bytes, when the caller holds them already; `inputPath` then
  /// only names the model and locates its external data. The bytes must
  /// outlive the compile.
  std::optional<llvm::StringRef> inputBytes;
  EmitStage emit = EmitStage::Library;
  /// The output file, or "-" for standard output (text stages). Empty: the
  /// text stages write to standard output, an object goes to <name>.o and a
  /// library to lib<name>.so.
  std::string outputPath;
  /// The model's C identifier; empty: from `outputPath` (without "lib"),
  /// else from `inputPath`.
  std::string modelName;
  /// Symbolic dims fixed to a value.
  std::map<std::string, int64_t> shapeOverrides;
  /// The largest value a symbolic dim may take at run time: larger calls
  /// are refused, and the header defines <MODEL>_MAX_<NAME>.
  std::map<std::string, int64_t> maxShapes;
  /// "cpu", "cuda", "cuda:sm_90" or "cuda:sm_100".
  std::string target = "cpu";
  TargetOptions targetOptions;
  /// Weight quantization after the raising (kiln-quantize): empty for
  /// none, "int8-dynamic" (int8 weights per output column, activations
  /// quantized per row at run time), "int8-weight" (int8 weights, f32
  /// activations), "int4-weight[:group=N]" (4-bit weights scaled per
  /// group of N rows of K, default 32, and column; f32 activations) or
  /// "int4-dynamic[:group=N]" (the same weights, activations quantized per
  /// row at run time). The cpu target only.
  std::string quantize;
  /// GEMMs kiln-quantize leaves in f32: op kinds (linear, matmul,
  /// qlinear_int4) or text
  /// in their ONNX node names.
  std::vector<std::string> quantizeExclude;
  /// Outputs [batch, sequence, ...] returned for the last position only,
  /// e.g. {"logits"} for a decoder whose callers read the next token's
  /// logits alone (compiler/onnx/LastPosition.h).
  std::vector<std::string> lastPositionOutputs;
  /// Element type of a decode graph's KV cache (its past inputs and present
  /// outputs, kiln-kv-cache-type): empty or "f32" as exported, "bf16",
  /// which halves the cache's memory and the bytes a decode step reads, or
  /// "f8e4m3fn", which quarters them (3 mantissa bits: a 6% rounding step).
  /// The cpu target only.
  std::string kvCacheType;
  /// Refuse models whose weights exceed this many bytes.
  uint64_t maxWeightBytes = uint64_t(64) << 30;
  /// Refuse models whose peak arena at the maxShapes bounds exceeds this
  /// many bytes, or that have no bound for a symbol it depends on.
  std::optional<uint64_t> maxArenaBytes;
  /// Refuse model files larger than this (protobuf parses at most 2 GiB).
  uint64_t maxModelBytes = uint64_t(2) << 30;
  /// Keep the intermediate files of the link (object, descriptor source,
  /// weight symbols and link script).
  bool keepTemps = false;
  /// How messages name the options above.
  OptionNames optionNames;
};

/// One diagnostic, formatted: `message` starts with where it points (an
/// ONNX node, or file:line:col in an .mlir input) where the location says
/// more than the model file.
struct CompileDiagnostic {
  DiagnosticSeverity severity;
  std::string message;
  std::vector<std::string> notes;
};

enum class CompileStatus {
  Succeeded,
  /// The options were refused before any code was generated.
  InvalidOptions,
  /// The model was refused or the compile failed (see the diagnostics).
  Failed,
};

struct CompileResult {
  CompileStatus status = CompileStatus::Failed;
  /// What was written: the output path, or "-" for standard output.
  std::string output;
  /// The C header beside a library; empty for other stages.
  std::string header;
  /// Bytes of weights embedded in a library, or in its weights file.
  uint64_t weightBytes = 0;
  /// The weights file beside a library compiled with external weights
  /// (TargetOptions::externalWeights); empty when there is none.
  std::string weightsFile;
  /// The artifact's size in bytes (a library or archive; 0 otherwise).
  uint64_t artifactBytes = 0;
  /// The planned arena's bytes with every symbol at its maximum (at the
  /// maxShapes bounds; exact for a model without symbolic dims); unset
  /// when unknown or unbounded (arenaUnbounded names the symbols).
  std::optional<uint64_t> peakArenaBytes;
  std::vector<std::string> arenaUnbounded;
  /// Whether the target planned memory (kiln-plan-memory), and how many
  /// intermediate buffers it left outside the plan, allocated at run time.
  bool memoryPlanned = false;
  int64_t unplannedBuffers = 0;
  /// Every diagnostic, in order (compileModel without a context only).
  std::vector<CompileDiagnostic> diagnostics;

  bool succeeded() const { return status == CompileStatus::Succeeded; }
};

/// Told of a compile's progress as it goes, for a long compile's progress
/// display. Every method has an empty default.
class CompileObserver {
public:
  virtual ~CompileObserver();
  /// A step starts ("importing model.onnx"); it ends at the next step, at
  /// stepFinished, or with the compile.
  virtual void stepStarted(llvm::StringRef what);
  /// The current step ended.
  virtual void stepFinished();
  /// A diagnostic (compileModel without a context only).
  virtual void diagnostic(const CompileDiagnostic &diagnostic);
  /// The intermediate files were kept in `dir` (CompileOptions::keepTemps).
  virtual void keptIntermediateFiles(llvm::StringRef dir);
};

/// Formats `diag` (its location folded into the message as in
/// CompileDiagnostic).
CompileDiagnostic formatDiagnostic(Diagnostic &diag);

/// One compile, step by step, in a context the caller owns; the caller also
/// handles the context's diagnostics. Each step needs the ones before it.
class Compilation {
public:
  Compilation(MLIRContext &ctx, const CompileOptions &options,
              CompileObserver *observer = nullptr);
  ~Compilation();

  /// The options that need no model: the output directory exists.
  LogicalResult checkOptions();
  /// Reads and imports the model into the Kiln dialect.
  LogicalResult importModel();
  /// Gives the KV cache kvCacheType (kiln-kv-cache-type), before the
  /// signature is captured.
  LogicalResult setKvCacheType();
  /// Captures the signature (with maxShapes), makes the target, and runs
  /// the raising passes.
  LogicalResult raise();
  /// Raises (unless raise() ran) and lowers to linalg on tensors for the
  /// target.
  LogicalResult lowerToLinalg();
  /// A device target's kernels at `stage`.
  LogicalResult printDeviceCode(DeviceStage stage, llvm::raw_ostream &os);
  /// linalg on tensors -> the LLVM dialect.
  LogicalResult lowerToLLVMDialect();
  /// The LLVM dialect -> an object file, assembly or LLVM IR text at `path`.
  /// Text (LLVM IR, assembly) declares the weights instead of defining them
  /// once they pass kMaxWeightBytesInText, with a warning.
  LogicalResult emitObject(const std::string &path, HostCodeFile file);
  /// The LLVM dialect -> the shared library `output` and its C header.
  LogicalResult writeLibrary(const std::string &output);

  /// Every step up to the options' stage, its output written.
  CompileResult run();

  ModuleOp module() const;
  /// Captured by lowerToLinalg.
  const ModelSignature *signature() const;
  /// Whether a failure was the options' (CompileStatus::InvalidOptions).
  bool failedOnOptions() const { return invalidOptions; }

private:
  void step(llvm::StringRef what);
  void finishStep();
  /// Names the entry function for the C ABI (<name>_main with a C
  /// interface) and takes the KV-cache pairs off its arguments, once.
  LogicalResult prepareEntry();
  LogicalResult optionError(const llvm::Twine &message);
  /// After the memory plan: records the peak arena, checks maxArenaBytes.
  LogicalResult checkArena(ModuleOp module);
  LogicalResult writeText(const std::string &path,
                          llvm::function_ref<void(llvm::raw_ostream &)> fn);
  std::string modelName() const;

  MLIRContext &ctx;
  CompileOptions options;
  CompileObserver *observer;
  OwningOpRef<ModuleOp> owned;
  std::optional<ModelSignature> sig;
  std::unique_ptr<Target> target;
  std::string name, entryName;
  CompileResult result;
  bool invalidOptions = false;
  bool raised = false;
};

/// Compiles in a context of its own, collecting the diagnostics into the
/// result (and passing each to `observer` as it comes). Thread-safe: each
/// call has its own context.
CompileResult compileModel(const CompileOptions &options,
                           CompileObserver *observer = nullptr);

/// The same in `ctx`, whose diagnostic handler the caller installs; the
/// result's diagnostics stay empty.
CompileResult compileModel(MLIRContext &ctx, const CompileOptions &options,
                           CompileObserver *observer = nullptr);

} // namespace mlir::kiln

#endif
