//===- KernelImage.cpp - PTX -> cubins + PTX in one fatbinary -------------===//
#include "codegen/cuda/KernelImage.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Process.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace {

/// A temporary file removed when this goes out of scope.
struct TempFile {
  llvm::SmallString<128> path;
  LogicalResult create(StringRef suffix) {
    int fd;
    if (llvm::sys::fs::createTemporaryFile("kiln-kernels", suffix, fd, path))
      return failure();
    llvm::sys::Process::SafelyCloseFileDescriptor(fd);
    return success();
  }
  ~TempFile() {
    if (!path.empty())
      llvm::sys::fs::remove(path);
  }
};

LogicalResult runTool(Location loc, const std::string &tool,
                      std::vector<std::string> args, bool verbose) {
  if (!llvm::sys::fs::can_execute(tool))
    return emitError(loc) << "cannot run " << tool
                          << ": the CUDA backend needs the CUDA toolkit "
                             "(ptxas, fatbinary) at that path";
  args.insert(args.begin(), tool);
  std::vector<StringRef> refs(args.begin(), args.end());
  if (verbose) {
    for (auto &a : args)
      llvm::errs() << a << " ";
    llvm::errs() << "\n";
  }
  TempFile log;
  if (failed(log.create("log")))
    return emitError(loc) << "cannot create a temporary file";
  std::optional<StringRef> redirects[] = {std::nullopt, log.path.str(),
                                          log.path.str()};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(tool, refs, std::nullopt, redirects, 0, 0,
                                     &err);
  if (rc != 0) {
    auto text = llvm::MemoryBuffer::getFile(log.path);
    return emitError(loc) << tool << " failed (exit " << rc << ")"
                          << (err.empty() ? "" : ": ") << err << "\n"
                          << (text ? (*text)->getBuffer() : "");
  }
  return success();
}

/// "sm_90" -> "90".
std::string smNumber(StringRef chip) {
  return chip.starts_with("sm_") ? chip.drop_front(3).str() : chip.str();
}

} // namespace

LogicalResult kiln::printPtx(ModuleOp module, llvm::raw_ostream &os) {
  WalkResult r = module.walk([&](gpu::BinaryOp binary) -> WalkResult {
    for (Attribute a : binary.getObjects()) {
      auto object = cast<gpu::ObjectAttr>(a);
      if (object.getFormat() != gpu::CompilationTarget::Assembly)
        return binary.emitError() << "expected PTX from gpu-module-to-binary";
      os << "// gpu.binary @" << binary.getSymName() << "\n"
         << object.getObject().getValue() << "\n";
    }
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}

LogicalResult kiln::embedFatbinaries(ModuleOp module,
                                     const KernelImageOptions &options) {
  std::string bin = options.toolkit + "/bin/";
  WalkResult r = module.walk([&](gpu::BinaryOp binary) -> WalkResult {
    if (binary.getObjects().size() != 1)
      return binary.emitError() << "expected one PTX object";
    auto object = cast<gpu::ObjectAttr>(binary.getObjects()[0]);
    if (object.getFormat() != gpu::CompilationTarget::Assembly)
      return binary.emitError() << "expected PTX from gpu-module-to-binary";
    Location loc = binary.getLoc();
    TempFile ptx, fatbin;
    if (failed(ptx.create("ptx")) || failed(fatbin.create("fatbin")))
      return emitError(loc) << "cannot create a temporary file";
    {
      std::error_code ec;
      llvm::raw_fd_ostream os(ptx.path, ec);
      if (ec)
        return emitError(loc) << "cannot write " << ptx.path;
      os << object.getObject().getValue();
    }
    std::vector<TempFile> cubins(options.chips.size());
    std::vector<std::string> fatbinArgs = {"-64", "--create",
                                           fatbin.path.str().str()};
    for (auto [chip, cubin] : llvm::zip(options.chips, cubins)) {
      if (failed(cubin.create("cubin")))
        return emitError(loc) << "cannot create a temporary file";
      if (failed(
              runTool(loc, bin + "ptxas",
                      {"-arch=" + chip, "-O" + std::to_string(options.optLevel),
                       ptx.path.str().str(), "-o", cubin.path.str().str()},
                      options.verbose)))
        return WalkResult::interrupt();
      fatbinArgs.push_back("--image3=kind=elf,sm=" + smNumber(chip) +
                           ",file=" + cubin.path.str().str());
    }
    fatbinArgs.push_back("--image3=kind=ptx,sm=" + smNumber(options.ptxChip) +
                         ",file=" + ptx.path.str().str());
    if (failed(runTool(loc, bin + "fatbinary", fatbinArgs, options.verbose)))
      return WalkResult::interrupt();
    auto data = llvm::MemoryBuffer::getFile(fatbin.path, /*IsText=*/false);
    if (!data)
      return emitError(loc) << "cannot read " << fatbin.path;
    MLIRContext *ctx = module.getContext();
    auto image = gpu::ObjectAttr::get(
        ctx, object.getTarget(), gpu::CompilationTarget::Fatbin,
        StringAttr::get(ctx, (*data)->getBuffer()), object.getProperties(),
        object.getKernels());
    binary.setObjectsAttr(ArrayAttr::get(ctx, {image}));
    return WalkResult::advance();
  });
  return failure(r.wasInterrupted());
}
