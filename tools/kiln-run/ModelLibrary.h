//===- ModelLibrary.h - dlopen'ed artifact and its session ------*- C++ -*-===//
#ifndef KILN_TOOLS_KILNRUN_MODELLIBRARY_H
#define KILN_TOOLS_KILNRUN_MODELLIBRARY_H

#include "HostTensor.h"

#include <cstdlib>
#include <string>

namespace kiln {

// An artifact opened with RTLD_NOW | RTLD_LOCAL, exporting
// `kiln_model_descriptor`. Closed on destruction.
class ModelLibrary {
public:
  explicit ModelLibrary(const std::string &path); // throws ToolError
  ~ModelLibrary();
  ModelLibrary(const ModelLibrary &) = delete;
  ModelLibrary &operator=(const ModelLibrary &) = delete;

  const kiln_abi_model *model() const { return descriptor; }
  // The Kiln version of the runtime copy inside the artifact, empty when it
  // records none (linked before Kiln recorded it).
  const std::string &runtimeVersion() const { return version; }
  // Why sessions of this artifact, created by the runtime linked into this
  // program, may behave unlike the program's own: its runtime is older, or
  // its kernels cannot reach this program's thread pool and run
  // single-threaded. Empty when neither.
  std::string runtimeWarning() const;

private:
  std::string path;
  void *handle = nullptr;
  const kiln_abi_model *descriptor = nullptr;
  std::string version;
  // The artifact's kiln_runtime_context_version; NULL when it exports none.
  const uint32_t *contextVersion = nullptr;
};

// Owns a kiln_session; failures become ToolErrors carrying the last error.
class Session {
public:
  /// `arenaBytes` > 0: the session's runs place their intermediate buffers
  /// in an arena of that many bytes, allocated here once
  /// (kiln_session_options.arena).
  Session(const kiln_abi_model *model, int32_t threads,
          uint64_t arenaBytes = 0);
  ~Session() {
    kiln_session_destroy(session);
    free(arena);
  }
  Session(const Session &) = delete;
  Session &operator=(const Session &) = delete;

  kiln_session *get() { return session; }
  int32_t numInputs() const { return kiln_session_num_inputs(session); }
  int32_t numOutputs() const { return kiln_session_num_outputs(session); }
  int32_t numSymbols() const { return kiln_session_num_symbols(session); }
  int32_t numThreads() const { return kiln_session_num_threads(session); }
  const char *symbolName(int32_t k) const {
    return kiln_session_symbol_name(session, k);
  }
  kiln_tensor_info inputInfo(int32_t i);
  kiln_tensor_info outputInfo(int32_t i);
  // Name of the symbol input `i` dim `d` binds, NULL for a static dim.
  const char *inputDimSymbol(int32_t i, int32_t d);

  // Throws ToolError("<what> failed: <status>: <last error>") unless OK.
  void check(kiln_status status, const char *what);

private:
  kiln_session *session = nullptr;
  void *arena = nullptr;
};

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_MODELLIBRARY_H
