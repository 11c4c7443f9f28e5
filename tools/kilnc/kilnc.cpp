//===- kilnc.cpp - The Kiln ahead-of-time compiler driver -----------------===//
//
// Option parsing over the compile library (compiler/Compiler.h).
//
//===----------------------------------------------------------------------===//
#include "codegen/RuntimeDir.h"
#include "compiler/Compiler.h"
#include "compiler/ConsoleReporter.h"
#include "compiler/onnx/OpTable.h"
#include "tools/kilnc/AccuracyReport.h"

#include "llvm/Config/llvm-config.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/raw_ostream.h"
#include <map>

using namespace mlir;
using kiln::EmitStage;
namespace cl = llvm::cl;

static cl::OptionCategory kilncCat("kilnc options");
static cl::opt<std::string> inputPath(cl::Positional,
                                      cl::desc("<model.onnx | kiln.mlir>"),
                                      cl::cat(kilncCat));
static cl::opt<std::string> outputPath(
    "o",
    cl::desc("Output file (default: lib<model>.so or .a, or stdout for "
             "--emit=kiln|linalg|llvm)"),
    cl::value_desc("path"), cl::cat(kilncCat));
static cl::opt<EmitStage> emit(
    "emit", cl::desc("What to produce"), cl::init(EmitStage::Library),
    cl::values(
        clEnumValN(EmitStage::Kiln, "kiln", "Kiln dialect after import"),
        clEnumValN(EmitStage::Raised, "raised",
                   "Kiln dialect after the raising passes (attention, "
                   "norms, linear epilogues, ...)"),
        clEnumValN(EmitStage::Linalg, "linalg",
                   "linalg/tensor IR after lowering"),
        clEnumValN(EmitStage::Gpu, "gpu",
                   "device targets: kernels outlined in the gpu "
                   "dialect, host code calling them"),
        clEnumValN(EmitStage::Ptx, "ptx", "device targets: kernels' PTX"),
        clEnumValN(EmitStage::LLVM, "llvm",
                   "optimized LLVM IR (host); past 16 MiB the weights are "
                   "declared, not defined"),
        clEnumValN(EmitStage::Object, "obj", "the model's object file alone"),
        clEnumValN(EmitStage::Asm, "asm",
                   "the model's assembly (host); past 16 MiB the weights "
                   "are declared, not defined"),
        clEnumValN(EmitStage::Library, "lib",
                   "shared library + C header (default)"),
        clEnumValN(EmitStage::Static, "static",
                   "static archive lib<name>.a with the runtime inside + C "
                   "header; the product calls <name>_model_descriptor() "
                   "(cpu targets)")),
    cl::cat(kilncCat));
static cl::list<std::string>
    shapes("shape",
           cl::desc("Specialize a symbolic dim, NAME=VALUE (repeatable)"),
           cl::value_desc("NAME=VALUE"), cl::cat(kilncCat));
static cl::list<std::string> maxShapes(
    "max-shape",
    cl::desc("The largest value a symbolic dim may take at run time, "
             "NAME=VALUE (repeatable): a call with more is refused before "
             "any work (KILN_ERROR_LIMIT_EXCEEDED), and "
             "kiln_session_symbol_max reports it; default unbounded"),
    cl::value_desc("NAME=VALUE"), cl::cat(kilncCat));
static cl::opt<unsigned>
    optLevel("O", cl::desc("Optimization level 0-3 (default 2)"), cl::Prefix,
             cl::init(2), cl::cat(kilncCat));
static cl::opt<bool> listOps("list-ops",
                             cl::desc("Print the supported ONNX ops and exit"),
                             cl::cat(kilncCat));
static cl::opt<std::string>
    modelName("name", cl::desc("C identifier for the model (default: from -o)"),
              cl::cat(kilncCat));
static cl::opt<std::string> targetSpec(
    "target",
    cl::desc("Code generation target: cpu (default: this machine), "
             "cpu:aarch64 (64-bit Arm Linux; links the runtime dir's "
             "aarch64/ runtime), cuda (cubins for sm_90 and sm_100 plus "
             "PTX), cuda:sm_90 or cuda:sm_100"),
    cl::value_desc("target"), cl::init("cpu"), cl::cat(kilncCat));
static cl::opt<std::string> precision(
    "precision",
    cl::desc("GEMM operand type: fp16 or bf16 (weights stored in it, "
             "activations cast to it; accumulation, normalization "
             "statistics, softmax and the model's inputs and outputs stay "
             "fp32), tf32 (cuda) or fp32. Default: fp16 on cuda, fp32 on "
             "cpu"),
    cl::value_desc("type"), cl::cat(kilncCat));
static cl::opt<std::string> quantize(
    "quantize",
    cl::desc("Quantize the weights of GEMMs by constants: int8-dynamic "
             "(int8 weights per output column, activations quantized per "
             "row at run time, int32 accumulation), int8-weight (int8 "
             "weights, fp32 math), int4-weight[:group=N] (4-bit weights "
             "with a scale per group of N rows, default 32, and column; "
             "fp32 math) or int4-dynamic[:group=N] (the same 4-bit weights, "
             "activations quantized per row at run time, int8 math; on a "
             "model with MatMulNBits, switches those to int8 math too). "
             "Normalizations, softmax and attention stay fp32. cpu target "
             "only"),
    cl::value_desc("mode"), cl::cat(kilncCat));
static cl::list<std::string> quantizeExclude(
    "quantize-exclude",
    cl::desc("GEMMs to keep in fp32 with --quantize: op kinds (linear, "
             "matmul, qlinear_int4) or text contained in their ONNX node "
             "names, e.g. lm_head"),
    cl::value_desc("name,..."), cl::CommaSeparated, cl::cat(kilncCat));
static cl::list<std::string> lastPosition(
    "last-position",
    cl::desc("Return these outputs [batch, sequence, ...] for the last "
             "position only, e.g. --last-position=logits: a prefill then "
             "returns the next token's logits, [batch, 1, vocab], all that "
             "generation (and kiln-serve) reads, and the LM head multiplies "
             "one row per sequence instead of one per position"),
    cl::value_desc("output,..."), cl::CommaSeparated, cl::cat(kilncCat));
static cl::opt<std::string> kvCacheType(
    "kv-cache-type",
    cl::desc("Element type of a decode graph's KV cache, its past inputs "
             "and present outputs: f32 (default, as exported), bf16, "
             "which halves the cache's memory and the bytes each decode "
             "step reads, or f8e4m3fn (8-bit float, 3 mantissa bits, "
             "+-448 at most), which quarters them; the new keys and "
             "values are rounded to nearest even as they are stored "
             "(f8e4m3fn saturating), attention computes in fp32. cpu "
             "target only"),
    cl::value_desc("type"), cl::cat(kilncCat));
static cl::opt<std::string> accuracyReport(
    "accuracy-report",
    cl::desc("With --quantize, --precision or --kv-cache-type: also "
             "compile the fp32 "
             "artifact, run both on the inputs in DIR (as kiln-run --inputs "
             "reads them) or, without DIR, on random token ids with every "
             "symbolic dim 16 (a decoder's past empty), print per output "
             "the max and mean abs error, "
             "cosine similarity and, for logits, top-1 agreement, and write "
             "them to <library>.accuracy.json"),
    cl::value_desc("DIR"), cl::ValueOptional, cl::cat(kilncCat));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("Target CPU for generated code: native (default) or an LLVM "
                 "CPU name such as x86-64-v3; for cpu:aarch64 generic "
                 "(default), cortex-a76, neoverse-n1, neoverse-v1, apple-m1 "
                 "and others (an unknown one is refused with the list)"),
        cl::cat(kilncCat));
static cl::opt<uint64_t> maxWeightBytes(
    "max-weight-bytes",
    cl::desc("Refuse models whose weights exceed this many bytes "
             "(default 64 GiB)"),
    cl::init(uint64_t(64) << 30), cl::cat(kilncCat));
static cl::opt<uint64_t> maxArenaBytes(
    "max-arena-bytes",
    cl::desc("Refuse a model whose peak arena (the planned intermediates of "
             "one call) exceeds this many bytes at the --max-shape bounds; "
             "every symbol the arena depends on needs a bound"),
    cl::value_desc("N"), cl::cat(kilncCat));
static cl::opt<uint64_t> maxModelBytes(
    "max-model-bytes",
    cl::desc("Refuse model files larger than this many bytes (default 2 GiB, "
             "the most protobuf can parse; larger weights go in external "
             "data)"),
    cl::init(uint64_t(2) << 30), cl::cat(kilncCat));
static cl::opt<bool> parallelLoops(
    "parallel-loops",
    cl::desc("Split generated loop nests (everything but the GEMM kernels) "
             "across the session's threads (default on; "
             "--parallel-loops=0 keeps them on the calling thread)"),
    cl::init(true), cl::cat(kilncCat));
static cl::opt<bool> verbose(
    "v",
    cl::desc("Print each step and its time, pass timings and the commands run"),
    cl::cat(kilncCat));
static cl::opt<bool> keepTemps(
    "keep-temps",
    cl::desc("Keep the intermediate files (object code, the descriptor's C "
             "source, the weight symbols and link script) and print their "
             "directory"),
    cl::cat(kilncCat));
static cl::opt<bool> quiet("q", cl::desc("Print nothing but errors"),
                           cl::cat(kilncCat));
enum class WeightsPlacement { Embedded, Mapped, External };
static cl::opt<WeightsPlacement> weightsPlacement(
    "weights", cl::desc("Where the library's weights go"),
    cl::values(clEnumValN(WeightsPlacement::Embedded, "embedded",
                          "in the library; a cpu library's first session "
                          "copies them onto memory the kernel may back "
                          "with 2 MiB pages, which cuts TLB misses when "
                          "steps stream them (default)"),
               clEnumValN(WeightsPlacement::Mapped, "mapped",
                          "in the library, read where the loader maps it: "
                          "processes that load it share those pages, and "
                          "a session starts without the copy"),
               clEnumValN(WeightsPlacement::External, "external",
                          "in OUT.so.weights beside it, mapped read-only at "
                          "the first session; the library holds only code "
                          "and refuses a missing, truncated or other "
                          "compile's file (KILN_ERROR_IO). cpu target only")),
    cl::init(WeightsPlacement::Embedded), cl::cat(kilncCat));
static cl::opt<std::string> runtimeDir(
    "runtime-dir",
    cl::desc("The Kiln runtime to link the library with: a directory with "
             "libkiln_runtime.a (libkiln_cuda_runtime.a for cuda) and "
             "include/kiln (default: <kilnc's dir>/../lib/kiln, as "
             "installed; kilnc --version prints the one it uses)"),
    cl::value_desc("DIR"), cl::cat(kilncCat));

/// --runtime-dir's value, read before the options are parsed: --version
/// prints and exits as soon as it is parsed, maybe before --runtime-dir.
static std::string runtimeDirArgument(int argc, char **argv) {
  std::string dir;
  for (int i = 1; i < argc; ++i) {
    llvm::StringRef arg = argv[i];
    if (arg == "--")
      break;
    if (!arg.consume_front("--"))
      arg.consume_front("-");
    if (arg.consume_front("runtime-dir="))
      dir = arg.str();
    else if (arg == "runtime-dir" && i + 1 < argc)
      dir = argv[++i];
  }
  return dir;
}

/// kilnc --version: the Kiln and LLVM versions and the runtime dir that a
/// library would link.
static void printVersion(llvm::raw_ostream &os, llvm::StringRef explicitDir) {
  os << "kilnc (Kiln) " KILN_VERSION "\n  LLVM/MLIR " LLVM_VERSION_STRING "\n";
  kiln::RuntimeDirSearch search = kiln::findRuntimeDir(explicitDir);
  if (!search.dir.empty())
    os << "  runtime dir: " << search.dir << "\n";
  else
    os << "  runtime dir: none: "
       << kiln::runtimeDirNotFoundMessage(search, "--runtime-dir") << "\n";
  // Cross runtimes are optional: printed only where there is one.
  if (explicitDir.empty()) {
    kiln::RuntimeDirSearch aarch64 = kiln::findRuntimeDir("", "aarch64");
    if (!aarch64.dir.empty())
      os << "  runtime dir for cpu:aarch64: " << aarch64.dir << "\n";
  }
}

/// NAME=VALUE options (--shape, --max-shape) into `out`; false after an error.
static bool parseDims(const cl::list<std::string> &list, const char *flag,
                      std::map<std::string, int64_t> &out) {
  for (const std::string &s : list) {
    auto [name, value] = llvm::StringRef(s).split('=');
    int64_t v;
    if (name.empty() || value.getAsInteger(10, v) || v < 1) {
      llvm::errs() << "kilnc: error: " << flag
                   << " expects NAME=VALUE with VALUE >= 1, got '" << s
                   << "'\n";
      return false;
    }
    out[name.str()] = v;
  }
  return true;
}

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(kilncCat);
  std::string explicitRuntimeDir = runtimeDirArgument(argc, argv);
  cl::SetVersionPrinter(
      [&](llvm::raw_ostream &os) { printVersion(os, explicitRuntimeDir); });
  cl::ParseCommandLineOptions(
      argc, argv,
      "kilnc - compile an ONNX transformer model ahead of time\n\n"
      "  kilnc model.onnx -o libmodel.so    shared library + model.h\n"
      "  kilnc model.onnx --emit=kiln       print the imported Kiln IR\n");
  if (listOps) {
    kiln::onnx_import::printOpTable(llvm::outs());
    return 0;
  }
  if (inputPath.empty()) {
    llvm::errs() << "kilnc: error: no input model (see --help)\n";
    return 2;
  }
  if (optLevel > 3) {
    llvm::errs() << "kilnc: error: -O" << optLevel << " is not 0-3\n";
    return 2;
  }

  kiln::CompileOptions options;
  options.inputPath = inputPath;
  options.outputPath = outputPath;
  options.emit = emit;
  options.modelName = modelName;
  if (!parseDims(shapes, "--shape", options.shapeOverrides) ||
      !parseDims(maxShapes, "--max-shape", options.maxShapes))
    return 2;
  options.target = targetSpec;
  options.targetOptions.optLevel = optLevel;
  options.targetOptions.cpu = cpu;
  options.targetOptions.verbose = verbose;
  options.targetOptions.parallelLoops = parallelLoops;
  options.targetOptions.precision = precision;
  options.quantize = quantize;
  options.quantizeExclude.assign(quantizeExclude.begin(),
                                 quantizeExclude.end());
  options.lastPositionOutputs.assign(lastPosition.begin(), lastPosition.end());
  options.kvCacheType = kvCacheType;
  options.maxWeightBytes = maxWeightBytes;
  options.maxModelBytes = maxModelBytes;
  if (maxArenaBytes.getNumOccurrences())
    options.maxArenaBytes = maxArenaBytes;
  options.keepTemps = keepTemps;
  options.targetOptions.runtimeDir = runtimeDir;
  options.targetOptions.externalWeights =
      weightsPlacement == WeightsPlacement::External;
  options.targetOptions.copyWeights =
      weightsPlacement == WeightsPlacement::Embedded;
  kiln::OptionNames &names = options.optionNames;
  names.shape = "--shape";
  names.maxShape = "--max-shape";
  names.maxWeightBytes = "--max-weight-bytes";
  names.maxArenaBytes = "--max-arena-bytes";
  names.precision = "--precision";
  names.quantize = "--quantize";
  names.quantizeExclude = "--quantize-exclude";
  names.lastPosition = "--last-position";
  names.kvCacheType = "--kv-cache-type";
  names.emit = "--emit";
  names.target = "--target";
  names.cpu = "--cpu";
  names.runtimeDir = "--runtime-dir";
  names.weights = "--weights";
  names.listOps = "kilnc --list-ops";

  if (accuracyReport.getNumOccurrences() &&
      (emit != EmitStage::Library ||
       (quantize.empty() && (precision.empty() || precision == "fp32") &&
        (kvCacheType.empty() || kvCacheType == "f32")))) {
    llvm::errs() << "kilnc: error: --accuracy-report compares a library "
                    "compiled with --quantize, --precision or --kv-cache-type "
                    "against fp32\n";
    return 2;
  }
  kiln::ConsoleReporter reporter("kilnc", quiet, verbose);
  kiln::CompileResult result = kiln::compileModel(options, &reporter);
  switch (result.status) {
  case kiln::CompileStatus::Succeeded:
    reporter.summary(result);
    if (accuracyReport.getNumOccurrences())
      return kiln::writeAccuracyReport(options, result, accuracyReport,
                                       argv[0]);
    return 0;
  case kiln::CompileStatus::InvalidOptions:
    return 2;
  case kiln::CompileStatus::Failed:
    return 1;
  }
  return 1;
}
