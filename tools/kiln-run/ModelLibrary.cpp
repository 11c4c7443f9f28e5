//===- ModelLibrary.cpp - dlopen'ed artifact and its session --------------===//

#include "ModelLibrary.h"

#include <dlfcn.h>

namespace kiln {

ModelLibrary::ModelLibrary(const std::string &path) : path(path) {
  // dlopen searches the library path for a name without a slash.
  std::string where = path.find('/') == std::string::npos ? "./" + path : path;
  handle = dlopen(where.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle)
    throw ToolError("cannot load '" + path + "': " + dlerror());
  descriptor = static_cast<const kiln_abi_model *>(
      dlsym(handle, "kiln_model_descriptor"));
  if (!descriptor) {
    dlclose(handle);
    throw ToolError("'" + path +
                    "' does not export kiln_model_descriptor; is it a kilnc "
                    "artifact?");
  }
  if (const char *v =
          static_cast<const char *>(dlsym(handle, "kiln_runtime_version")))
    version = v;
  contextVersion = static_cast<const uint32_t *>(
      dlsym(handle, "kiln_runtime_context_version"));
}

std::string ModelLibrary::runtimeWarning() const {
  std::string warning;
  if (version.empty())
    warning = "'" + path + "' records no runtime version: its runtime is " +
              "older than this program's (Kiln " + kiln_runtime_version + ")";
  else if (kiln_version_compare(version.c_str(), kiln_runtime_version) < 0)
    warning = "'" + path + "' carries the runtime of Kiln " + version +
              ", older than this program's (Kiln " + kiln_runtime_version + ")";
  // The session this program creates sets its context slot, which the
  // artifact's kernels share (the slot is exported) but read only when their
  // context version is this runtime's (kiln_rt_current_context).
  if (!contextVersion || *contextVersion != kiln_runtime_context_version) {
    if (warning.empty())
      warning = "'" + path + "' carries the runtime of Kiln " + version;
    std::string ours = std::to_string(kiln_runtime_context_version);
    if (contextVersion)
      warning += "; its kernels cannot use this program's thread pool "
                 "(execution context version " +
                 std::to_string(*contextVersion) + ", this program's " + ours +
                 ") and run single-threaded";
    else
      warning += "; its kernels may not use this program's thread pool (it "
                 "records no execution context version, this program's is " +
                 ours + ") and then run single-threaded";
  }
  if (!warning.empty())
    warning += "; recompile the model with this Kiln's kilnc";
  return warning;
}

ModelLibrary::~ModelLibrary() {
  if (handle)
    dlclose(handle);
}

Session::Session(const kiln_abi_model *model, int32_t threads,
                 uint64_t arenaBytes) {
  char reason[512];
  if (kiln_status st = kiln_model_validate(model, reason, sizeof(reason)))
    throw ToolError(std::string("invalid model descriptor: ") +
                    kiln_status_string(st) + ": " + reason);
  kiln_session_options options;
  kiln_session_options_init(&options);
  options.num_threads = threads;
  if (arenaBytes) {
    if (posix_memalign(&arena, 64, arenaBytes) != 0)
      throw ToolError("cannot allocate an arena of " +
                      std::to_string(arenaBytes) + " bytes");
    options.arena = arena;
    options.arena_bytes = arenaBytes;
  }
  char why[512] = "";
  options.error_message = why;
  options.error_message_size = sizeof(why);
  if (kiln_status st = kiln_session_create(model, &options, &session)) {
    free(arena);
    throw ToolError(std::string("cannot create a session for model '") +
                    (model->name ? model->name : "?") + "' (target '" +
                    (model->target ? model->target : "?") + "'): " +
                    kiln_status_string(st) + (why[0] ? ": " : "") + why);
  }
}

kiln_tensor_info Session::inputInfo(int32_t i) {
  kiln_tensor_info info;
  check(kiln_session_input_info(session, i, &info), "input_info");
  return info;
}

kiln_tensor_info Session::outputInfo(int32_t i) {
  kiln_tensor_info info;
  check(kiln_session_output_info(session, i, &info), "output_info");
  return info;
}

const char *Session::inputDimSymbol(int32_t i, int32_t d) {
  kiln_tensor_info info = inputInfo(i);
  if (!info.dim_symbols || info.dim_symbols[d] < 0)
    return nullptr;
  return symbolName(info.dim_symbols[d]);
}

void Session::check(kiln_status status, const char *what) {
  if (status != KILN_OK)
    throw ToolError(std::string(what) +
                    " failed: " + kiln_status_string(status) + ": " +
                    kiln_session_last_error(session));
}

} // namespace kiln
