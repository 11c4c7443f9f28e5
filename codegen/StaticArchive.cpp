//===- StaticArchive.cpp - kilnc --emit=static ----------------------------===//
#include "codegen/StaticArchive.h"
#include "codegen/ArtifactWriter.h"
#include "codegen/RuntimeDir.h"
#include "codegen/Target.h"

#include "mlir/IR/Diagnostics.h"
#include "llvm/Object/Archive.h"
#include "llvm/Object/ArchiveWriter.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"

using namespace mlir;
using namespace mlir::kiln;

LogicalResult mlir::kiln::writeStaticArchive(
    Location loc, const std::vector<std::string> &inputs,
    const std::string &modelObject, const std::string &output,
    const std::string &exported, const TargetOptions &options) {
  FailureOr<std::string> clang = findClang(loc, output);
  if (failed(clang))
    return failure();
  // One relocatable object: its hidden symbols (weights, generated
  // functions) then resolve inside it and can be made local.
  std::vector<std::string> args = {*clang,
                                   "-r",
                                   "-nostdlib",
                                   "-fPIC",
                                   "-O2",
                                   "-fuse-ld=lld",
                                   "-I" +
                                       runtimeIncludePath(options.runtimeDir),
                                   "-o",
                                   modelObject};
  if (!options.triple.empty())
    args.push_back("--target=" + options.triple);
  args.insert(args.end(), inputs.begin(), inputs.end());
  if (failed(runCommand(loc, args, "linking " + modelObject, options.verbose)))
    return failure();
  // llvm-objcopy beside the clang: LLVM's tools directory.
  llvm::SmallString<128> objcopy(llvm::sys::path::parent_path(*clang));
  llvm::sys::path::append(objcopy, "llvm-objcopy");
  if (!llvm::sys::fs::can_execute(objcopy)) {
    auto found = llvm::sys::findProgramByName("llvm-objcopy-22");
    if (!found)
      return emitError(loc) << "cannot find llvm-objcopy to write " << output;
    objcopy = *found;
  }
  if (failed(runCommand(loc,
                        {objcopy.str().str(),
                         "--keep-global-symbol=" + exported, modelObject},
                        "localizing the symbols of " + modelObject,
                        options.verbose)))
    return failure();

  std::vector<llvm::NewArchiveMember> members;
  auto fail = [&](llvm::Error error) {
    return emitError(loc) << "writing " << output << ": "
                          << llvm::toString(std::move(error));
  };
  auto model = llvm::NewArchiveMember::getFile(modelObject, true);
  if (!model)
    return fail(model.takeError());
  // The base name only: no temporary path reaches the archive.
  model->MemberName = llvm::sys::path::filename(modelObject);
  members.push_back(std::move(*model));
  std::string runtime = runtimeLibraryPath(options.runtimeDir);
  auto runtimeBuffer = llvm::MemoryBuffer::getFile(runtime);
  if (!runtimeBuffer)
    return emitError(loc) << "cannot read " << runtime << ": "
                          << runtimeBuffer.getError().message();
  auto archive =
      llvm::object::Archive::create((*runtimeBuffer)->getMemBufferRef());
  if (!archive)
    return fail(archive.takeError());
  llvm::Error error = llvm::Error::success();
  for (const llvm::object::Archive::Child &child :
       (*archive)->children(error)) {
    auto member = llvm::NewArchiveMember::getOldMember(child, true);
    if (!member)
      return fail(member.takeError());
    members.push_back(std::move(*member));
  }
  if (error)
    return fail(std::move(error));
  if (llvm::Error written = llvm::writeArchive(
          output, members, llvm::SymtabWritingMode::NormalSymtab,
          llvm::object::Archive::K_GNU, /*Deterministic=*/true,
          /*Thin=*/false))
    return fail(std::move(written));
  return success();
}
