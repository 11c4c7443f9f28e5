//===- RuntimeDir.cpp - Where the compiler finds the runtime --------------===//
#include "codegen/RuntimeDir.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::kiln;

std::string kiln::runtimeLibraryPath(llvm::StringRef dir) {
  return (dir + "/libkiln_runtime.a").str();
}

std::string kiln::runtimeIncludePath(llvm::StringRef dir) {
  return (dir + "/include").str();
}

static bool holdsRuntime(llvm::StringRef dir) {
  return llvm::sys::fs::exists(runtimeLibraryPath(dir)) &&
         llvm::sys::fs::exists(runtimeIncludePath(dir) + "/kiln/runtime.h");
}

/// `path` made absolute, with symbolic links and `..` resolved where it
/// exists.
static std::string realPath(llvm::StringRef path) {
  llvm::SmallString<256> real;
  if (!llvm::sys::fs::real_path(path, real))
    return real.str().str();
  llvm::SmallString<256> absolute(path);
  llvm::sys::fs::make_absolute(absolute);
  llvm::sys::path::remove_dots(absolute, /*remove_dot_dot=*/true);
  return absolute.str().str();
}

/// Whether `path` is `dir` or lies below it (both real paths).
static bool isWithin(llvm::StringRef path, llvm::StringRef dir) {
  return path == dir || (path.starts_with(dir) &&
                         llvm::sys::path::is_separator(path[dir.size()]));
}

RuntimeDirSearch kiln::findRuntimeDir(llvm::StringRef explicitDir,
                                      llvm::StringRef subdir) {
  RuntimeDirSearch search;
  search.subdir = subdir.str();
  auto consider = [&](llvm::StringRef dir) {
    std::string real = realPath(search.explicitDir || subdir.empty()
                                    ? dir.str()
                                    : (dir + "/" + subdir).str());
    search.tried.push_back(real);
    if (!holdsRuntime(real))
      return false;
    search.dir = real;
    return true;
  };
  if (!explicitDir.empty()) {
    search.explicitDir = true;
    consider(explicitDir);
    return search;
  }
  // /proc/self/exe on Linux: the executable itself, links resolved, as
  // clang resolves its resource directory.
  static int anchor;
  std::string exe = llvm::sys::fs::getMainExecutable("", &anchor);
  if (!exe.empty()) {
    std::string exeDir = llvm::sys::path::parent_path(realPath(exe)).str();
    if (consider(exeDir + "/" KILN_RUNTIME_DIR_FROM_BINDIR))
      return search;
    if (isWithin(exeDir, realPath(KILN_BUILD_DIR)) &&
        consider(KILN_BUILD_RUNTIME_DIR))
      return search;
  }
  return search;
}

std::string kiln::runtimeDirNotFoundMessage(const RuntimeDirSearch &search,
                                            llvm::StringRef optionName) {
  if (search.explicitDir)
    return optionName.str() + "=" + search.tried.front() +
           " is not a Kiln runtime directory: it needs libkiln_runtime.a "
           "and include/kiln/runtime.h";
  std::string message =
      "cannot find the Kiln runtime" +
      (search.subdir.empty() ? std::string()
                             : " for " + search.subdir +
                                   " (scripts/build-aarch64.sh builds it)") +
      " (a directory with libkiln_runtime.a and include/kiln/runtime.h) to "
      "link the library with; looked in ";
  for (size_t i = 0; i < search.tried.size(); ++i)
    message += (i ? ", " : "") + search.tried[i];
  if (search.tried.empty())
    message += "nothing (the compiler's own path is unknown)";
  message += "; name the directory with " + optionName.str();
  return message;
}
