//===- ObjectEmitter.cpp - LLVM dialect -> object file or LLVM IR ---------===//
#include "codegen/ObjectEmitter.h"
#include "codegen/Target.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"

using namespace mlir;

/// LLVM IR translation has no conversion for a dense_resource of i1 (an
/// ONNX bool initializer; its blob holds one byte per element). For
/// --emit=llvm|obj, which keep the weights in the module, such globals get
/// the same values as dense elements. (Libraries take every weight out of
/// the module first: WeightSection.h.)
static LogicalResult inlineBoolResources(ModuleOp module) {
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    auto res =
        dyn_cast_or_null<DenseResourceElementsAttr>(global.getValueOrNull());
    if (!res || !res.getType().getElementType().isInteger(1))
      continue;
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    int64_t n = res.getType().getNumElements();
    if (!blob || (int64_t)blob->getData().size() != n)
      return global.emitError()
             << "bool weight '" << res.getRawHandle().getKey() << "' has "
             << (blob ? blob->getData().size() : 0) << " bytes for " << n
             << " elements";
    SmallVector<bool> values;
    values.reserve(n);
    for (char byte : blob->getData())
      values.push_back(byte != 0);
    global.setValueAttr(DenseElementsAttr::get(res.getType(), values));
  }
  return success();
}

LogicalResult kiln::emitObject(ModuleOp module, const TargetOptions &options,
                               const std::string &path, HostCodeFile file) {
  if (failed(inlineBoolResources(module)))
    return failure();
  registerBuiltinDialectTranslation(*module->getContext());
  registerLLVMDialectTranslation(*module->getContext());
  bool cross = !options.triple.empty();
  if (cross) {
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  } else {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  }

  llvm::LLVMContext llvmCtx;
  auto llvmModule = translateModuleToLLVMIR(module, llvmCtx);
  if (!llvmModule)
    return module.emitError() << "translation to LLVM IR failed";

  llvm::Triple triple(cross ? options.triple
                            : llvm::sys::getDefaultTargetTriple());
  std::string err;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple, err);
  if (!target)
    return module.emitError()
           << "no LLVM target for " << triple.str() << ": " << err;
  bool native = !cross && (options.cpu.empty() || options.cpu == "native");
  std::string cpu = native ? llvm::sys::getHostCPUName().str() : options.cpu;
  std::string features;
  if (native) {
    llvm::SubtargetFeatures f;
    for (auto &feat : llvm::sys::getHostCPUFeatures())
      f.AddFeature(feat.first(), feat.second);
    features = f.getString();
  }
  llvm::TargetOptions to;
  auto cg = options.optLevel >= 2   ? llvm::CodeGenOptLevel::Aggressive
            : options.optLevel == 1 ? llvm::CodeGenOptLevel::Less
                                    : llvm::CodeGenOptLevel::None;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpu, features, to, llvm::Reloc::PIC_, std::nullopt, cg));
  llvmModule->setDataLayout(tm->createDataLayout());
  llvmModule->setTargetTriple(triple);

  if (options.optLevel > 0) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PassBuilder pb(tm.get());
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    auto level = options.optLevel >= 3   ? llvm::OptimizationLevel::O3
                 : options.optLevel == 2 ? llvm::OptimizationLevel::O2
                                         : llvm::OptimizationLevel::O1;
    pb.buildPerModuleDefaultPipeline(level).run(*llvmModule, mam);
  }

  std::error_code ec;
  llvm::raw_fd_ostream out(path, ec, llvm::sys::fs::OF_None);
  if (ec)
    return module.emitError()
           << "cannot write " << path << ": " << ec.message();
  if (file == HostCodeFile::LLVMIR) {
    llvmModule->print(out, nullptr);
    return success();
  }
  llvm::legacy::PassManager pm;
  if (tm->addPassesToEmitFile(pm, out, nullptr,
                              file == HostCodeFile::Assembly
                                  ? llvm::CodeGenFileType::AssemblyFile
                                  : llvm::CodeGenFileType::ObjectFile))
    return module.emitError() << "the target cannot emit this file type";
  pm.run(*llvmModule);
  return success();
}
