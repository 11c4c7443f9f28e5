//===- kilnc.cpp - The Kiln ahead-of-time compiler driver -----------------===//
#include "codegen/Target.h"
#include "codegen/cpu/ArtifactWriter.h"
#include "compiler/onnx/ModelImporter.h"
#include "compiler/onnx/OpTable.h"
#include "dialects/kiln/KilnDialect.h"
#include "passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Parser/Parser.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/raw_ostream.h"
#include <chrono>
#include <map>
#include <sys/resource.h>

using namespace mlir;
namespace cl = llvm::cl;

static cl::OptionCategory kilncCat("kilnc options");
static cl::opt<std::string> inputPath(cl::Positional,
                                      cl::desc("<model.onnx | kiln.mlir>"),
                                      cl::cat(kilncCat));
static cl::opt<std::string>
    outputPath("o",
               cl::desc("Output file (default: lib<model>.so, or stdout for "
                        "--emit=kiln|linalg|llvm)"),
               cl::value_desc("path"), cl::cat(kilncCat));
enum class Emit { Kiln, Linalg, Gpu, Ptx, LLVM, Obj, Lib };
static cl::opt<Emit> emit(
    "emit", cl::desc("What to produce"), cl::init(Emit::Lib),
    cl::values(
        clEnumValN(Emit::Kiln, "kiln", "Kiln dialect after import"),
        clEnumValN(Emit::Linalg, "linalg", "linalg/tensor IR after lowering"),
        clEnumValN(Emit::Gpu, "gpu",
                   "device targets: kernels outlined in the gpu "
                   "dialect, host code calling them"),
        clEnumValN(Emit::Ptx, "ptx", "device targets: kernels' PTX"),
        clEnumValN(Emit::LLVM, "llvm", "optimized LLVM IR (host)"),
        clEnumValN(Emit::Obj, "obj", "the model's object file alone"),
        clEnumValN(Emit::Lib, "lib", "shared library + C header (default)")),
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
    cl::desc("Code generation target: cpu (default), cuda (cubins for "
             "sm_90 and sm_100 plus PTX), cuda:sm_90 or cuda:sm_100"),
    cl::value_desc("target"), cl::init("cpu"), cl::cat(kilncCat));
static cl::opt<std::string> precision(
    "precision",
    cl::desc("GEMM operand type: fp16 or bf16 (weights stored in it, "
             "activations cast to it; accumulation, normalization "
             "statistics, softmax and the model's inputs and outputs stay "
             "fp32), tf32 (cuda) or fp32. Default: fp16 on cuda, fp32 on "
             "cpu"),
    cl::value_desc("type"), cl::cat(kilncCat));
static cl::opt<std::string>
    cpu("cpu",
        cl::desc("Target CPU for generated code: native (default) or an LLVM "
                 "CPU name such as x86-64-v3"),
        cl::init("native"), cl::cat(kilncCat));
static cl::opt<uint64_t> maxWeightBytes(
    "max-weight-bytes",
    cl::desc("Refuse models whose weights exceed this many bytes "
             "(default 64 GiB)"),
    cl::init(uint64_t(64) << 30), cl::cat(kilncCat));
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

namespace {
/// "[kilnc] step ... 0.12 s" progress lines on stderr.
class Progress {
public:
  void step(llvm::StringRef what) {
    finish();
    if (!quiet)
      llvm::errs() << "[kilnc] " << what << " ..." << (verbose ? "\n" : " ");
    what_ = what.str();
    start_ = std::chrono::steady_clock::now();
    open_ = true;
    broken_ = false;
  }
  /// Ends an open "step ..." line so that a diagnostic starts its own.
  void interrupt() {
    if (open_ && !quiet && !verbose && !broken_)
      llvm::errs() << "\n";
    broken_ = true;
  }
  void finish() {
    if (!open_ || quiet)
      return;
    double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_)
            .count();
    if (broken_ && !verbose)
      llvm::errs() << "[kilnc] " << what_ << ": ";
    llvm::errs() << llvm::format("%.2f s\n", s);
    open_ = false;
  }
  /// A step that failed after its diagnostics: no time, but no line left
  /// open either.
  ~Progress() {
    if (open_ && !quiet && !verbose && !broken_)
      llvm::errs() << "failed\n";
  }

private:
  std::string what_;
  std::chrono::steady_clock::time_point start_;
  bool open_ = false;
  bool broken_ = false;
};

/// Where a diagnostic points: "node 'name'" for ops imported from ONNX nodes
/// (nodes 'a', 'b' for ops fused from several), "file:line:col" in a .mlir
/// input; empty where the location says nothing more than the model file.
std::string describeLocation(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return "node '" + name.getName().str() + "'";
  if (auto file = dyn_cast<FileLineColLoc>(loc)) {
    if (file.getLine() == 0)
      return "";
    return (file.getFilename().strref() + ":" + llvm::Twine(file.getLine()) +
            ":" + llvm::Twine(file.getColumn()))
        .str();
  }
  if (auto call = dyn_cast<CallSiteLoc>(loc))
    return describeLocation(call.getCallee());
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::vector<std::string> names;
    for (Location part : fused.getLocations())
      if (auto name = dyn_cast<NameLoc>(part))
        names.push_back("'" + name.getName().str() + "'");
    if (names.size() == 1)
      return "node " + names[0];
    if (!names.empty()) {
      std::string out = "nodes " + names[0];
      for (size_t i = 1; i < names.size() && i < 4; ++i)
        out += ", " + names[i];
      return names.size() > 4 ? out + " and " +
                                    std::to_string(names.size() - 4) + " more"
                              : out;
    }
    for (Location part : fused.getLocations())
      if (std::string where = describeLocation(part); !where.empty())
        return where;
  }
  return "";
}
} // namespace

static std::string defaultName() {
  std::string base =
      llvm::sys::path::stem(outputPath.empty() ? inputPath : outputPath).str();
  if (!outputPath.empty() && llvm::StringRef(base).starts_with("lib"))
    base = base.substr(3);
  std::string id;
  for (char c : base)
    id += llvm::isAlnum(c) ? c : '_';
  if (id.empty() || llvm::isDigit(id[0]))
    id = "m" + id;
  return id;
}

static LogicalResult
writeText(const std::string &path,
          llvm::function_ref<void(llvm::raw_ostream &)> fn) {
  if (path.empty() || path == "-") {
    fn(llvm::outs());
    return success();
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec) {
    llvm::errs() << "kilnc: error: cannot write " << path << ": "
                 << ec.message() << "\n";
    return failure();
  }
  fn(os);
  return success();
}

static int listSupportedOps() {
  llvm::outs() << "# domain op min_opset-max_opset\n";
  for (const auto &row : kiln::onnx_import::opTable())
    llvm::outs() << (row.domain.empty() ? "ai.onnx" : row.domain) << " "
                 << row.opType << " " << row.minOpset << "-" << row.maxOpset
                 << "\n";
  return 0;
}

int main(int argc, char **argv) {
  auto compileStart = std::chrono::steady_clock::now();
  llvm::InitLLVM init(argc, argv);
  cl::HideUnrelatedOptions(kilncCat);
  cl::ParseCommandLineOptions(
      argc, argv,
      "kilnc - compile an ONNX transformer model ahead of time\n\n"
      "  kilnc model.onnx -o libmodel.so    shared library + model.h\n"
      "  kilnc model.onnx --emit=kiln       print the imported Kiln IR\n");
  if (listOps)
    return listSupportedOps();
  if (inputPath.empty()) {
    llvm::errs() << "kilnc: error: no input model (see --help)\n";
    return 2;
  }
  if (optLevel > 3) {
    llvm::errs() << "kilnc: error: -O" << optLevel << " is not 0-3\n";
    return 2;
  }

  // Checked before the compile, which can take a while: the linker would
  // only say it cannot open the file at the end.
  if (!outputPath.empty() && outputPath != "-") {
    llvm::StringRef dir = llvm::sys::path::parent_path(outputPath);
    if (!dir.empty() && !llvm::sys::fs::is_directory(dir)) {
      llvm::errs() << "kilnc: error: cannot write '" << outputPath
                   << "': there is no directory '" << dir << "'\n";
      return 2;
    }
  }

  kiln::onnx_import::ImportOptions importOptions;
  importOptions.maxWeightBytes = maxWeightBytes;
  importOptions.maxModelFileBytes = maxModelBytes;
  // NAME=VALUE lists (--shape, --max-shape) into `out`; false after an error.
  auto parseDims = [](const cl::list<std::string> &list, const char *flag,
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
  };
  std::map<std::string, int64_t> maxDims;
  if (!parseDims(shapes, "--shape", importOptions.shapeOverrides) ||
      !parseDims(maxShapes, "--max-shape", maxDims))
    return 2;

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllPasses();
  kiln::registerKilnPasses();
  registry.insert<kiln::KilnDialect>();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // An error on a function or module would otherwise come with a note that
  // prints all of it: every layer of the model.
  ctx.printOpOnDiagnostic(false);
  Progress progress;
  // Diagnostics: "kilnc: error: [where: ]<message>" plus attached notes.
  ScopedDiagnosticHandler handler(&ctx, [&progress](Diagnostic &diag) {
    progress.interrupt();
    std::string message = diag.str();
    std::string where = describeLocation(diag.getLocation());
    // The importer's messages start by naming their node already.
    bool named = llvm::StringRef(message).starts_with("node '") ||
                 llvm::StringRef(message).starts_with("unnamed node");
    if (!where.empty() && !named && message.find(where) == std::string::npos)
      message = where + ": " + message;
    llvm::errs() << "kilnc: "
                 << (diag.getSeverity() == DiagnosticSeverity::Error ? "error"
                     : diag.getSeverity() == DiagnosticSeverity::Warning
                         ? "warning"
                         : "note")
                 << ": " << message << "\n";
    for (auto &note : diag.getNotes())
      llvm::errs() << "kilnc: note: " << note << "\n";
    return success();
  });

  progress.step("importing " + inputPath);
  // A .mlir input is a module in the Kiln dialect (func @main with kiln.*
  // signature attributes), for testing ops no importer pattern forms yet.
  FailureOr<OwningOpRef<ModuleOp>> module = failure();
  if (llvm::StringRef(inputPath).ends_with(".mlir")) {
    OwningOpRef<ModuleOp> parsed = parseSourceFile<ModuleOp>(inputPath, &ctx);
    if (parsed && succeeded(verify(*parsed)))
      module = std::move(parsed);
  } else {
    module = kiln::onnx_import::importOnnxFile(ctx, inputPath, importOptions);
  }
  if (failed(module))
    return 1;
  ModuleOp m = **module;
  OpPrintingFlags flags;
  flags.elideLargeResourceString(64);
  if (emit == Emit::Kiln) {
    progress.finish();
    return failed(writeText(outputPath, [&](auto &os) { m->print(os, flags); }))
               ? 1
               : 0;
  }

  std::string name = modelName.empty() ? defaultName() : modelName.getValue();
  auto sig = kiln::captureSignature(m, name);
  if (failed(sig))
    return 1;
  sig->symbolMax.assign(sig->symbols.size(), INT64_MAX);
  for (auto &[dim, max] : maxDims) {
    auto it = llvm::find(sig->symbols, dim);
    if (it == sig->symbols.end()) {
      progress.interrupt();
      llvm::errs() << "kilnc: error: --max-shape names '" << dim << "', which "
                   << (importOptions.shapeOverrides.count(dim)
                           ? "--shape fixes"
                           : "is not a symbolic dimension of the model")
                   << "; its symbolic dimensions are: "
                   << (sig->symbols.empty() ? "none"
                                            : llvm::join(sig->symbols, ", "))
                   << "\n";
      return 2;
    }
    sig->symbolMax[it - sig->symbols.begin()] = max;
  }

  kiln::TargetOptions targetOptions;
  targetOptions.optLevel = optLevel;
  targetOptions.cpu = cpu;
  targetOptions.verbose = verbose;
  targetOptions.parallelLoops = parallelLoops;
  targetOptions.precision = precision;
  std::string targetError;
  auto target = kiln::createTarget(targetSpec, targetOptions, targetError);
  if (!target) {
    progress.finish();
    llvm::errs() << "kilnc: error: " << targetError << "\n";
    return 2;
  }

  if (target->name() == "cpu" && !target->gemmOperandType().empty() && !quiet) {
    progress.finish();
    llvm::errs() << "kilnc: warning: --precision=" << precision
                 << ": the cpu GEMM kernels take f32 operands only; GEMMs "
                    "on "
                 << target->gemmOperandType()
                 << " operands run as generic loops (slow)\n";
  }
  progress.step("lowering to linalg");
  if (failed(kiln::lowerKilnToLinalg(m, *target, verbose)))
    return 1;
  if (emit == Emit::Linalg) {
    progress.finish();
    return failed(writeText(outputPath, [&](auto &os) { m->print(os, flags); }))
               ? 1
               : 0;
  }
  auto entry = m.lookupSymbol<func::FuncOp>("main");
  std::string entryName = name + "_main";
  entry.setSymName(entryName);
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(&ctx));
  // The signature was captured above, except for the KV-cache pairs that the
  // lowering gave strided types; LLVM has no use for kiln.* attrs.
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    if (auto kv = entry.getArgAttrOfType<DenseI64ArrayAttr>(i, "kiln.kv_cache"))
      sig->kvPairs.push_back({i, unsigned(kv[0]), kv[1]});
  entry.setAllArgAttrs(ArrayRef<DictionaryAttr>{});

  if (emit == Emit::Gpu || emit == Emit::Ptx) {
    progress.step(emit == Emit::Gpu ? "generating GPU kernels"
                                    : "generating PTX");
    std::string deviceCode;
    llvm::raw_string_ostream text(deviceCode);
    if (failed(target->printDeviceCode(m,
                                       emit == Emit::Gpu
                                           ? kiln::DeviceStage::Kernels
                                           : kiln::DeviceStage::Ptx,
                                       text)))
      return 1;
    progress.finish();
    return failed(writeText(outputPath, [&](auto &os) { os << deviceCode; }))
               ? 1
               : 0;
  }

  progress.step("bufferizing and lowering to LLVM");
  if (failed(target->lowerToLLVMDialect(m)))
    return 1;

  std::string out = outputPath;
  if (out.empty())
    out = emit == Emit::Lib   ? "lib" + name + ".so"
          : emit == Emit::Obj ? name + ".o"
                              : "-";
  if (emit == Emit::LLVM || emit == Emit::Obj) {
    progress.step(emit == Emit::LLVM ? "optimizing LLVM IR"
                                     : "generating machine code");
    std::string path = out == "-" ? "/dev/stdout" : out;
    if (failed(target->emitObject(m, path, emit == Emit::LLVM)))
      return 1;
    progress.finish();
    return 0;
  }

  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("kilnc", dir)) {
    llvm::errs() << "kilnc: error: cannot create a temporary directory\n";
    return 1;
  }
  progress.step("generating machine code and linking " + out);
  uint64_t weightBytes = 0;
  LogicalResult linked = target->writeSharedLibrary(
      m, *sig, entryName, dir.str().str(), out, &weightBytes);
  if (keepTemps)
    llvm::errs() << "[kilnc] intermediate files kept in " << dir << "\n";
  else
    llvm::sys::fs::remove_directories(dir);
  if (failed(linked))
    return 1;
  llvm::SmallString<128> header(out);
  llvm::sys::path::remove_filename(header);
  llvm::sys::path::append(header, name + ".h");
  if (failed(writeText(header.str().str(),
                       [&](auto &os) { os << kiln::headerSource(*sig); })))
    return 1;
  progress.finish();
  if (!quiet) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    double total = std::chrono::duration<double>(
                       std::chrono::steady_clock::now() - compileStart)
                       .count();
    llvm::errs() << llvm::format(
        "[kilnc] wrote %s and %s: %.1f MB of weights, %.2f s, peak RSS %.0f "
        "MB\n",
        out.c_str(), header.c_str(), weightBytes / 1e6, total,
        usage.ru_maxrss / 1024.0);
  }
  return 0;
}
