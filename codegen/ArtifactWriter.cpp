//===- ArtifactWriter.cpp - Object, descriptor and link step --------------===//
#include "codegen/ArtifactWriter.h"
#include "codegen/ArtifactSources.h"
#include "codegen/ObjectEmitter.h"
#include "codegen/RuntimeDir.h"
#include "codegen/StaticArchive.h"
#include "codegen/Target.h"
#include "codegen/WeightSection.h"
#include "codegen/WeightsFile.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kiln;

FailureOr<std::string> mlir::kiln::findClang(Location loc,
                                             llvm::StringRef output) {
  std::string clang = KILN_CLANG;
  if (llvm::sys::fs::can_execute(clang))
    return clang;
  auto found = llvm::sys::findProgramByName("clang-22");
  if (!found)
    return emitError(loc) << "cannot find clang-22 to write " << output;
  return *found;
}

LogicalResult mlir::kiln::runCommand(Location loc,
                                     const std::vector<std::string> &args,
                                     const llvm::Twine &what, bool verbose) {
  std::vector<llvm::StringRef> refs(args.begin(), args.end());
  if (verbose) {
    for (auto &a : args)
      llvm::errs() << a << " ";
    llvm::errs() << "\n";
  }
  std::string err;
  int rc =
      llvm::sys::ExecuteAndWait(args[0], refs, std::nullopt, {}, 0, 0, &err);
  if (rc != 0)
    return emitError(loc) << what << " failed (" << args[0] << " exited with "
                          << rc << ")" << (err.empty() ? "" : ": ") << err;
  return success();
}

LogicalResult mlir::kiln::linkSharedLibrary(
    Location loc, const std::vector<std::string> &objects,
    const std::string &output, const TargetOptions &options,
    const std::vector<std::string> &runtimeLibraries) {
  std::string runtimeDir = options.runtimeDir;
  if (runtimeDir.empty()) {
    RuntimeDirSearch search = findRuntimeDir("");
    if (search.dir.empty())
      return emitError(loc)
             << runtimeDirNotFoundMessage(search, "the runtime dir");
    runtimeDir = search.dir;
  }
  FailureOr<std::string> clang = findClang(loc, output);
  if (failed(clang))
    return failure();
  std::vector<std::string> args = {
      *clang,         "-shared",
      "-fPIC",        "-O2",
      "-fuse-ld=lld", "-o",
      output,         "-I" + runtimeIncludePath(runtimeDir)};
  // A cross link: clang finds the target's libc, crt objects and libgcc in
  // Debian's cross sysroot (/usr/<triple>, /usr/lib/gcc-cross/<triple>).
  if (!options.triple.empty())
    args.push_back("--target=" + options.triple);
  args.insert(args.end(), objects.begin(), objects.end());
  args.push_back("-Wl,--whole-archive");
  for (const std::string &library : runtimeLibraries) {
    std::string path = runtimeDir + "/" + library;
    if (!llvm::sys::fs::exists(path))
      return emitError(loc) << "cannot link " << output << ": the runtime dir "
                            << runtimeDir << " has no " << library;
    args.push_back(path);
  }
  args.insert(args.end(),
              {runtimeLibraryPath(runtimeDir), "-Wl,--no-whole-archive", "-lm",
               "-lpthread", "-ldl", "-Wl,--gc-sections",
               // A content hash, whatever the toolchain's default; the
               // weights are added to it after the link (WeightSection.h).
               "-Wl,--build-id=sha1"});
  return runCommand(loc, args, "linking " + output, options.verbose);
}

LogicalResult mlir::kiln::writeHostArtifact(
    ModuleOp module, const TargetOptions &options, const ModelSignature &sig,
    const std::string &entry, llvm::StringRef target, const std::string &tmpDir,
    const std::string &output, uint64_t *weightBytes,
    const std::vector<std::string> &runtimeLibraries) {
  std::string base = tmpDir + "/" + sig.name;
  std::string obj = base + ".o", desc = base + "_descriptor.c";
  WeightFiles weights;
  weights.asm_ = base + "_weights.S";
  weights.script = base + "_weights.ld";
  weights.external = options.externalWeights;
  weights.copied = options.copyWeights && !options.externalWeights &&
                   !options.staticArchive && target == "cpu";
  if (options.staticArchive)
    weights.binary = base + "_weights.bin";
  // Weights leave the LLVM module before translation and join the library
  // after the link (WeightSection.h): no tool holds a copy of them.
  if (failed(externalizeWeights(module, weights)))
    return failure();
  if (weightBytes)
    *weightBytes = weights.bytes;
  if (failed(emitObject(module, options, obj, HostCodeFile::Object)))
    return failure();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(desc, ec);
    if (ec)
      return module.emitError()
             << "cannot write " << desc << ": " << ec.message();
    std::optional<WeightsRef> ref;
    if (weights.external && weights.bytes)
      ref = WeightsRef{weights.bytes, hashWeights(weights), true};
    else if (weights.copied && weights.bytes)
      ref = WeightsRef{weights.bytes, {}, false};
    os << descriptorSource(sig, entry, target, ref ? &*ref : nullptr);
  }
  std::vector<std::string> inputs = {obj, desc};
  if (options.staticArchive) {
    if (weights.bytes) {
      if (failed(writeWeightsBinary(module.getLoc(), weights)))
        return failure();
      inputs.push_back(weights.asm_);
    }
    return writeStaticArchive(module.getLoc(), inputs, base + "_model.o",
                              output, sig.name + "_model_descriptor", options);
  }
  if (weights.bytes)
    inputs.insert(inputs.end(), {weights.asm_, "-Wl,-T," + weights.script});
  if (failed(linkSharedLibrary(module.getLoc(), inputs, output, options,
                               runtimeLibraries)))
    return failure();
  if (!weights.bytes)
    return success();
  if (weights.external)
    return writeWeightsFile(module.getLoc(), output + ".weights", weights,
                            hashWeights(weights));
  return fillWeightSection(module.getLoc(), output, weights);
}
