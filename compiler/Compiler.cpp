//===- Compiler.cpp - The compile library: a model in, an artifact out ----===//
#include "compiler/Compiler.h"
#include "codegen/ArenaSize.h"
#include "codegen/ArtifactSources.h"
#include "codegen/CIdentifier.h"
#include "codegen/RuntimeDir.h"
#include "codegen/WeightSection.h"
#include "compiler/Registration.h"
#include "compiler/TargetRegistry.h"
#include "compiler/onnx/ModelImporter.h"
#include "dialects/kiln/KvCachePairs.h"
#include "passes/Passes.h"
#include "passes/Pipelines.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kiln;

CompileObserver::~CompileObserver() = default;
void CompileObserver::stepStarted(llvm::StringRef) {}
void CompileObserver::stepFinished() {}
void CompileObserver::diagnostic(const CompileDiagnostic &) {}
void CompileObserver::keptIntermediateFiles(llvm::StringRef) {}

//===----------------------------------------------------------------------===//
// Diagnostics
//===----------------------------------------------------------------------===//

/// Where a diagnostic points: "node 'name'" for ops imported from ONNX nodes
/// (nodes 'a', 'b' for ops fused from several), "file:line:col" in a .mlir
/// input; empty where the location says nothing more than the model file.
static std::string describeLocation(Location loc) {
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
      return names.size() > 4
                 ? out + " and " + std::to_string(names.size() - 4) + " more"
                 : out;
    }
    for (Location part : fused.getLocations())
      if (std::string where = describeLocation(part); !where.empty())
        return where;
  }
  return "";
}

CompileDiagnostic kiln::formatDiagnostic(Diagnostic &diag) {
  CompileDiagnostic out;
  out.severity = diag.getSeverity();
  out.message = diag.str();
  std::string where = describeLocation(diag.getLocation());
  // The importer's messages start by naming their node already.
  llvm::StringRef message = out.message;
  bool named =
      message.starts_with("node '") || message.starts_with("unnamed node");
  if (!where.empty() && !named && out.message.find(where) == std::string::npos)
    out.message = where + ": " + out.message;
  for (Diagnostic &note : diag.getNotes())
    out.notes.push_back(note.str());
  return out;
}

//===----------------------------------------------------------------------===//
// Compilation
//===----------------------------------------------------------------------===//

Compilation::Compilation(MLIRContext &ctx, const CompileOptions &options,
                         CompileObserver *observer)
    : ctx(ctx), options(options), observer(observer) {}

Compilation::~Compilation() = default;

ModuleOp Compilation::module() const { return owned ? *owned : ModuleOp(); }

const ModelSignature *Compilation::signature() const {
  return sig ? &*sig : nullptr;
}

void Compilation::step(llvm::StringRef what) {
  if (observer)
    observer->stepStarted(what);
}

void Compilation::finishStep() {
  if (observer)
    observer->stepFinished();
}

/// kiln-quantize's options for a --quantize value: int8-dynamic,
/// int8-weight, or int4-weight or int4-dynamic with an optional ":group=N"
/// (default 32).
static FailureOr<KilnQuantizeOptions> parseQuantizeMode(llvm::StringRef text) {
  KilnQuantizeOptions options;
  auto [mode, rest] = text.split(':');
  options.mode = mode.str();
  bool int4 = mode == "int4-weight" || mode == "int4-dynamic";
  if ((mode != "int8-dynamic" && mode != "int8-weight" && !int4) ||
      (!int4 && text.contains(':')))
    return failure();
  if (!text.contains(':'))
    return options;
  int64_t group = 0;
  if (!rest.consume_front("group=") || rest.getAsInteger(10, group) ||
      group <= 0 || group % 8 != 0)
    return failure();
  options.groupSize = group;
  return options;
}

LogicalResult Compilation::optionError(const llvm::Twine &message) {
  invalidOptions = true;
  return emitError(UnknownLoc::get(&ctx)) << message;
}

LogicalResult
Compilation::writeText(const std::string &path,
                       llvm::function_ref<void(llvm::raw_ostream &)> fn) {
  if (path.empty() || path == "-") {
    fn(llvm::outs());
    return success();
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec);
  if (ec)
    return emitError(UnknownLoc::get(&ctx))
           << "cannot write " << path << ": " << ec.message();
  fn(os);
  return success();
}

std::string Compilation::modelName() const {
  if (!options.modelName.empty())
    return options.modelName;
  const std::string &from =
      options.outputPath.empty() ? options.inputPath : options.outputPath;
  llvm::StringRef base = llvm::sys::path::stem(from);
  if (!options.outputPath.empty())
    base.consume_front("lib");
  return sanitizeCIdentifier(base, "m");
}

LogicalResult Compilation::checkOptions() {
  // Checked before the compile, which can take a while: the linker would
  // only say it cannot open the file at the end.
  const std::string &out = options.outputPath;
  if (!out.empty() && out != "-") {
    llvm::StringRef dir = llvm::sys::path::parent_path(out);
    if (!dir.empty() && !llvm::sys::fs::is_directory(dir))
      return optionError("cannot write '" + out + "': there is no directory '" +
                         dir + "'");
  }
  // The runtime the library links, found now rather than after the compile.
  if (options.emit == EmitStage::Static &&
      options.targetOptions.externalWeights)
    return optionError(options.optionNames.weights +
                       "=external needs a shared library; a static "
                       "archive holds its weights (" +
                       options.optionNames.emit + "=static)");
  options.targetOptions.staticArchive = options.emit == EmitStage::Static;
  if (options.emit == EmitStage::Library || options.emit == EmitStage::Static) {
    std::string &runtimeDir = options.targetOptions.runtimeDir;
    RuntimeDirSearch search =
        findRuntimeDir(runtimeDir, runtimeSubdirFor(options.target));
    if (search.dir.empty()) {
      std::string message =
          runtimeDirNotFoundMessage(search, options.optionNames.runtimeDir);
      if (search.explicitDir)
        return optionError(message);
      return emitError(UnknownLoc::get(&ctx)) << message;
    }
    runtimeDir = search.dir;
  }
  return success();
}

LogicalResult Compilation::importModel() {
  // A .mlir input is a module in the Kiln dialect (func @main with kiln.*
  // signature attributes), for testing ops no importer pattern forms yet.
  if (llvm::StringRef(options.inputPath).ends_with(".mlir")) {
    OwningOpRef<ModuleOp> parsed =
        options.inputBytes ? parseSourceString<ModuleOp>(
                                 *options.inputBytes, &ctx, options.inputPath)
                           : parseSourceFile<ModuleOp>(options.inputPath, &ctx);
    if (!parsed || failed(verify(*parsed)))
      return failure();
    owned = std::move(parsed);
    return success();
  }
  onnx_import::ImportOptions importOptions;
  importOptions.shapeOverrides = options.shapeOverrides;
  importOptions.maxWeightBytes = options.maxWeightBytes;
  importOptions.maxModelFileBytes = options.maxModelBytes;
  importOptions.lastPositionOutputs = options.lastPositionOutputs;
  importOptions.optionNames = options.optionNames;
  FailureOr<OwningOpRef<ModuleOp>> imported =
      options.inputBytes
          ? onnx_import::importOnnxBuffer(ctx, *options.inputBytes,
                                          options.inputPath, importOptions)
          : onnx_import::importOnnxFile(ctx, options.inputPath, importOptions);
  if (failed(imported))
    return failure();
  owned = std::move(*imported);
  return success();
}

LogicalResult Compilation::setKvCacheType() {
  const std::string &type = options.kvCacheType;
  const OptionNames &names = options.optionNames;
  if (type.empty() || type == "f32")
    return success();
  if (type != "bf16" && type != "f8e4m3fn")
    return optionError(names.kvCacheType + "=" + type +
                       " is not one of f32, bf16, f8e4m3fn");
  if (!llvm::StringRef(options.target).starts_with("cpu"))
    return optionError(names.kvCacheType + "=" + type +
                       " needs the cpu target; " + options.target +
                       " has no attention kernel over a " + type + " cache");
  auto entry = module().lookupSymbol<func::FuncOp>("main");
  if (!entry || findKvCachePairs(entry).empty()) {
    emitWarning(UnknownLoc::get(&ctx))
        << names.kvCacheType << "=" << type
        << ": the model has no KV cache (an output present = Concat(past, "
           "new) of an input past), so nothing changes";
    return success();
  }
  PassManager pm(&ctx, func::FuncOp::getOperationName());
  KilnKvCacheTypeOptions kvOptions;
  kvOptions.elementType = type;
  pm.addPass(createKilnKvCacheType(kvOptions));
  return pm.run(entry);
}

LogicalResult Compilation::raise() {
  ModuleOp m = module();
  const OptionNames &names = options.optionNames;
  name = modelName();
  if (failed(setKvCacheType()))
    return failure();
  FailureOr<ModelSignature> captured = captureSignature(m, name);
  if (failed(captured))
    return failure();
  sig = std::move(*captured);
  sig->symbolMax.assign(sig->symbols.size(), INT64_MAX);
  for (auto &[dim, max] : options.maxShapes) {
    auto it = llvm::find(sig->symbols, dim);
    if (it == sig->symbols.end())
      return optionError(
          names.maxShape + " names '" + dim + "', which " +
          (options.shapeOverrides.count(dim)
               ? names.shape + " fixes"
               : std::string("is not a symbolic dimension of the model")) +
          "; its symbolic dimensions are: " +
          (sig->symbols.empty() ? std::string("none")
                                : llvm::join(sig->symbols, ", ")));
    if (max < 1)
      return optionError(names.maxShape + " gives '" + dim + "' the value " +
                         llvm::Twine(max) + "; it must be at least 1");
    sig->symbolMax[it - sig->symbols.begin()] = max;
  }

  options.targetOptions.afterMemoryPlan = [this](ModuleOp m) {
    return checkArena(m);
  };
  TargetError error;
  target = createTarget(options.target, options.targetOptions, error);
  if (!target) {
    finishStep();
    if (error.option == TargetError::Option::Precision)
      return optionError(names.precision + "=" +
                         options.targetOptions.precision + " " + error.message);
    if (error.option == TargetError::Option::Cpu)
      return optionError(names.cpu + "=" + options.targetOptions.cpu + " " +
                         error.message);
    return optionError(error.message);
  }
  if (target->hasDeviceCode() && options.targetOptions.staticArchive) {
    finishStep();
    return optionError(names.emit + "=static needs the cpu target; " +
                       options.target +
                       " links its device runtime into a "
                       "shared library");
  }
  if (target->hasDeviceCode() && options.targetOptions.externalWeights) {
    finishStep();
    return optionError(names.weights + "=external needs the cpu target; " +
                       options.target + " keeps its weights in the library");
  }
  if (target->hasDeviceCode() && !sig->symbolChecks.empty()) {
    finishStep();
    return emitError(UnknownLoc::get(&ctx))
           << "the model has shapes known only at run time, read from "
              "tensor data (the first: "
           << sig->symbolChecks.front() << "); the " << options.target
           << " target does not support them yet, the cpu target does";
  }
  if (std::string caveat = target->gemmOperandTypeCaveat(); !caveat.empty()) {
    finishStep();
    emitWarning(UnknownLoc::get(&ctx))
        << names.precision << "=" << options.targetOptions.precision << ": "
        << caveat;
  }

  if (!options.quantize.empty()) {
    finishStep();
    if (failed(parseQuantizeMode(options.quantize)))
      return optionError(names.quantize + "=" + options.quantize +
                         " is not one of int8-dynamic, int8-weight, "
                         "int4-weight[:group=N], int4-dynamic[:group=N] (N "
                         "a multiple of 8)");
    if (!target->hasInt8GemmKernel())
      return optionError(names.quantize + " needs the cpu target; " +
                         options.target + " has no int8 GEMM");
    if (!options.targetOptions.precision.empty() &&
        options.targetOptions.precision != "fp32")
      return optionError(names.quantize + " and " + names.precision + "=" +
                         options.targetOptions.precision +
                         " cannot be combined yet");
  } else if (!options.quantizeExclude.empty()) {
    finishStep();
    return optionError(names.quantizeExclude + " needs " + names.quantize);
  }

  step("raising");
  raised = true;
  if (failed(runRaisingPipeline(m, options.targetOptions.verbose)))
    return failure();
  if (options.quantize.empty())
    return success();
  step("quantizing");
  // Built, not parsed: exclude entries are node names, which may hold any
  // character.
  PassManager pm(m->getName());
  KilnQuantizeOptions quantizeOptions = *parseQuantizeMode(options.quantize);
  quantizeOptions.exclude.assign(options.quantizeExclude.begin(),
                                 options.quantizeExclude.end());
  pm.addPass(createKilnQuantize(quantizeOptions));
  if (options.targetOptions.verbose)
    pm.enableTiming();
  return pm.run(m);
}

LogicalResult Compilation::lowerToLinalg() {
  if (!raised && failed(raise()))
    return failure();
  step("lowering to linalg");
  return kiln::lowerToLinalg(module(), *target, options.targetOptions.verbose);
}

LogicalResult Compilation::prepareEntry() {
  if (!entryName.empty())
    return success();
  ModuleOp m = module();
  auto entry = m.lookupSymbol<func::FuncOp>("main");
  if (!entry)
    return m.emitError() << "the module has no func.func @main";
  entryName = name + "_main";
  entry.setSymName(entryName);
  entry->setAttr("llvm.emit_c_interface", UnitAttr::get(&ctx));
  // The signature was captured before the lowering, which gave the KV-cache
  // pairs strided types; LLVM has no use for kiln.* attrs.
  for (unsigned i = 0; i < entry.getNumArguments(); ++i)
    if (auto kv = entry.getArgAttrOfType<DenseI64ArrayAttr>(i, "kiln.kv_cache"))
      sig->kvPairs.push_back({i, unsigned(kv[0]), kv[1]});
  entry.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
  if (auto inference = m.lookupSymbol<func::FuncOp>("main_symbols")) {
    sig->inferenceEntry = name + "_symbols";
    inference.setSymName(sig->inferenceEntry);
    inference->setAttr("llvm.emit_c_interface", UnitAttr::get(&ctx));
    inference.setAllArgAttrs(ArrayRef<DictionaryAttr>{});
  }
  computeSymbolMinimums(*sig);
  return success();
}

LogicalResult Compilation::checkArena(ModuleOp m) {
  PeakArena peak = peakArenaBytes(m, *sig, entryName);
  result.peakArenaBytes = peak.bytes;
  result.arenaUnbounded = peak.unbounded;
  result.memoryPlanned = true;
  result.unplannedBuffers = peak.unplannedBuffers;
  if (!options.maxArenaBytes)
    return success();
  const OptionNames &names = options.optionNames;
  if (peak.unplannedBuffers)
    return m.emitError() << names.maxArenaBytes << ": " << peak.unplannedBuffers
                         << " intermediate buffer(s) lie outside the memory "
                            "plan (inside parallel loops or sized from data), "
                            "so the run's peak memory is not known at compile "
                            "time";
  if (!peak.bytes) {
    if (peak.unbounded.empty())
      return m.emitError() << names.maxArenaBytes
                           << ": the arena's size could not be evaluated at "
                              "compile time";
    return m.emitError() << names.maxArenaBytes
                         << " needs the arena bounded: its size depends on "
                         << llvm::join(peak.unbounded, ", ") << "; give "
                         << names.maxShape << " for "
                         << (peak.unbounded.size() > 1 ? "them" : "it");
  }
  if (*peak.bytes > *options.maxArenaBytes)
    return m.emitError() << "the model needs a peak arena of " << *peak.bytes
                         << " bytes at the " << names.maxShape
                         << " bounds, more than " << names.maxArenaBytes << "="
                         << *options.maxArenaBytes;
  return success();
}

LogicalResult Compilation::printDeviceCode(DeviceStage stage,
                                           llvm::raw_ostream &os) {
  if (!target->hasDeviceCode()) {
    const OptionNames &names = options.optionNames;
    return emitError(UnknownLoc::get(&ctx))
           << names.emit << "=gpu and " << names.emit
           << "=ptx need a device target (" << names.target << "=cuda)";
  }
  if (failed(prepareEntry()))
    return failure();
  return target->printDeviceCode(module(), stage, os);
}

LogicalResult Compilation::lowerToLLVMDialect() {
  if (failed(prepareEntry()))
    return failure();
  return target->lowerToLLVMDialect(module());
}

/// Text is read, not linked: a real model's weights written as constants
/// make gigabytes of it, and LLVM takes minutes over them (GPT-2 small's
/// 652 MB: over 5 minutes for --emit=llvm, against 3 s for a library).
constexpr uint64_t kMaxWeightBytesInText = 16 << 20;

LogicalResult Compilation::emitObject(const std::string &path,
                                      HostCodeFile file) {
  if (file != HostCodeFile::Object) {
    uint64_t bytes = weightBytesInModule(module());
    if (bytes > kMaxWeightBytesInText) {
      WeightFiles unused;
      if (failed(externalizeWeights(module(), unused)))
        return failure();
      emitWarning(UnknownLoc::get(&ctx))
          << "the model's " << llvm::formatv("{0:f1}", bytes / 1e6).str()
          << " MB of weights are declared, not defined, in the "
          << (file == HostCodeFile::LLVMIR ? "LLVM IR" : "assembly")
          << " (as external globals kiln_weight_N): text holds up to "
          << (kMaxWeightBytesInText >> 20)
          << " MiB of them; --emit=obj and the libraries define them";
    }
  }
  return target->emitObject(module(), path, file);
}

LogicalResult Compilation::writeLibrary(const std::string &output) {
  llvm::SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("kilnc", dir))
    return emitError(UnknownLoc::get(&ctx))
           << "cannot create a temporary directory";
  step("generating machine code and linking " + output);
  LogicalResult linked = target->writeSharedLibrary(
      module(), *sig, entryName, dir.str().str(), output, &result.weightBytes);
  if (options.keepTemps) {
    if (observer)
      observer->keptIntermediateFiles(dir);
  } else {
    llvm::sys::fs::remove_directories(dir);
  }
  if (failed(linked))
    return failure();
  llvm::SmallString<128> header(output);
  llvm::sys::path::remove_filename(header);
  llvm::sys::path::append(header, sig->name + ".h");
  if (failed(writeText(header.str().str(),
                       [&](auto &os) { os << headerSource(*sig); })))
    return failure();
  result.output = output;
  result.header = header.str().str();
  if (options.targetOptions.externalWeights && result.weightBytes)
    result.weightsFile = output + ".weights";
  if (llvm::sys::fs::file_size(output, result.artifactBytes))
    result.artifactBytes = 0;
  return success();
}

CompileResult Compilation::run() {
  auto finish = [&](LogicalResult outcome) {
    if (succeeded(outcome))
      finishStep();
    result.status = succeeded(outcome) ? CompileStatus::Succeeded
                    : invalidOptions   ? CompileStatus::InvalidOptions
                                       : CompileStatus::Failed;
    return std::move(result);
  };
  OpPrintingFlags flags;
  flags.elideLargeResourceString(64);
  auto printModule = [&] {
    finishStep();
    result.output = options.outputPath.empty() ? "-" : options.outputPath;
    return writeText(options.outputPath,
                     [&](auto &os) { module()->print(os, flags); });
  };

  if (failed(checkOptions()))
    return finish(failure());
  step("importing " + options.inputPath);
  if (failed(importModel()))
    return finish(failure());
  EmitStage emit = options.emit;
  if (emit == EmitStage::Kiln)
    return finish(printModule());
  if (failed(raise()))
    return finish(failure());
  if (emit == EmitStage::Raised)
    return finish(printModule());
  if (failed(lowerToLinalg()))
    return finish(failure());
  if (emit == EmitStage::Linalg)
    return finish(printModule());

  if (emit == EmitStage::Gpu || emit == EmitStage::Ptx) {
    step(emit == EmitStage::Gpu ? "generating GPU kernels" : "generating PTX");
    std::string deviceCode;
    llvm::raw_string_ostream text(deviceCode);
    if (failed(printDeviceCode(emit == EmitStage::Gpu ? DeviceStage::Kernels
                                                      : DeviceStage::Ptx,
                               text)))
      return finish(failure());
    finishStep();
    result.output = options.outputPath.empty() ? "-" : options.outputPath;
    return finish(
        writeText(options.outputPath, [&](auto &os) { os << deviceCode; }));
  }

  step("bufferizing and lowering to LLVM");
  if (failed(lowerToLLVMDialect()))
    return finish(failure());
  std::string out = options.outputPath;
  if (out.empty())
    out = emit == EmitStage::Library  ? "lib" + name + ".so"
          : emit == EmitStage::Static ? "lib" + name + ".a"
          : emit == EmitStage::Object ? name + ".o"
                                      : "-";
  if (emit == EmitStage::LLVM || emit == EmitStage::Object ||
      emit == EmitStage::Asm) {
    step(emit == EmitStage::LLVM ? "optimizing LLVM IR"
                                 : "generating machine code");
    result.output = out;
    return finish(emitObject(out == "-" ? "/dev/stdout" : out,
                             emit == EmitStage::LLVM  ? HostCodeFile::LLVMIR
                             : emit == EmitStage::Asm ? HostCodeFile::Assembly
                                                      : HostCodeFile::Object));
  }
  return finish(writeLibrary(out));
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

CompileResult kiln::compileModel(MLIRContext &ctx,
                                 const CompileOptions &options,
                                 CompileObserver *observer) {
  registerAllKilnPasses();
  Compilation compilation(ctx, options, observer);
  return compilation.run();
}

CompileResult kiln::compileModel(const CompileOptions &options,
                                 CompileObserver *observer) {
  DialectRegistry registry;
  registerKilnDialects(registry);
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  // An error on a function or module would otherwise come with a note that
  // prints all of it: every layer of the model.
  ctx.printOpOnDiagnostic(false);
  std::vector<CompileDiagnostic> diagnostics;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &diag) {
    diagnostics.push_back(formatDiagnostic(diag));
    if (observer)
      observer->diagnostic(diagnostics.back());
    return success();
  });
  CompileResult result = compileModel(ctx, options, observer);
  result.diagnostics = std::move(diagnostics);
  return result;
}
