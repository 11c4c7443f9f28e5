//===- CudaRuntimeTest.cpp - The CUDA runtime with and without a driver ---===//
//
// On machines without an NVIDIA driver (CI, the development machines) the
// session must fail to be created, with KILN_ERROR_DEVICE and a message that
// names the missing library; nothing may fail at load time. The tests that
// need a GPU skip there and say so.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"
#include "kiln/cuda.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <dlfcn.h>
#include <string>

namespace {

bool driverPresent() {
  void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
  if (h)
    dlclose(h);
  return h != nullptr;
}

TEST(CudaRuntime, NoDriverFailsSessionCreationWithAReason) {
  if (driverPresent())
    GTEST_SKIP() << "libcuda.so.1 is present: the no-driver path is not "
                    "reachable on this machine";
  char message[512] = "";
  EXPECT_EQ(kiln_cuda_device.create(0, message, sizeof(message)), nullptr);
  EXPECT_EQ(
      std::string(message).rfind("no CUDA driver: libcuda.so.1 not found", 0),
      0u)
      << message;

  kiln_abi_model model = kiln_fake_model;
  model.target = "cuda";
  model.device = &kiln_cuda_device;
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  char why[512] = "";
  opts.error_message = why;
  opts.error_message_size = sizeof(why);
  kiln_session *s = reinterpret_cast<kiln_session *>(&opts);
  EXPECT_EQ(kiln_session_create(&model, &opts, &s), KILN_ERROR_DEVICE);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(std::string(why).rfind("no CUDA driver: libcuda.so.1 not found", 0),
            0u)
      << why;
}

TEST(CudaRuntime, GeneratedCodeEntryPointsAreInertOutsideARun) {
  // Called with no session running on the thread (a misuse), the entry
  // points do nothing instead of touching a driver that may not exist.
  EXPECT_EQ(kiln_cuda_alloc(64), nullptr);
  EXPECT_EQ(kiln_cuda_device_constant("abc", 4), nullptr);
  kiln_cuda_free(nullptr);
}

TEST(CudaRuntime, SessionOnAGpu) {
  if (!driverPresent())
    GTEST_SKIP() << "no CUDA driver (libcuda.so.1) on this machine: GPU "
                    "execution is tested only where one is present";
  char message[512] = "";
  void *state = kiln_cuda_device.create(0, message, sizeof(message));
  if (!state)
    GTEST_SKIP() << "the driver is present but no GPU is usable: " << message;
  kiln_cuda_device.destroy(state);
}

} // namespace
