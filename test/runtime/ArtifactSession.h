//===- ArtifactSession.h - A kilnc artifact's descriptor and a session ---===//
//
// Shared by the tests that dlopen an artifact compiled by this build's kilnc
// (KvCacheTest.cpp, KvCacheBf16Test.cpp): its descriptor, a session of it
// on two threads, and kiln_tensor views.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_ARTIFACTSESSION_H
#define KILN_TEST_RUNTIME_ARTIFACTSESSION_H

#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <dlfcn.h>
#include <vector>

namespace kiln::test {

// The descriptor of the artifact at `path`, or null (dlerror() says why).
inline const kiln_abi_model *artifactModel(const char *path) {
  void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  return handle ? static_cast<const kiln_abi_model *>(
                      dlsym(handle, "kiln_model_descriptor"))
                : nullptr;
}

struct Session {
  kiln_session *s = nullptr;
  explicit Session(const kiln_abi_model *m) {
    kiln_session_options opts;
    kiln_session_options_init(&opts);
    opts.num_threads = 2;
    EXPECT_EQ(kiln_session_create(m, &opts, &s), KILN_OK);
  }
  ~Session() { kiln_session_destroy(s); }
};

inline kiln_tensor tensor(kiln_dtype dtype, std::vector<int64_t> &dims,
                          void *data, size_t bytes) {
  return {dtype, (int32_t)dims.size(), dims.data(), data, bytes};
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_ARTIFACTSESSION_H
