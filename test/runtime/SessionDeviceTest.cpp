//===- SessionDeviceTest.cpp - Sessions through a device backend ----------===//
//
// Sessions of a model that carries a device backend, as runtime/cuda
// provides one, go through it: creation, runs on host and on device
// pointers, and their failures, with a fake backend that runs the fake model
// on host memory.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"
#include "SessionFixture.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>

namespace {

using namespace kiln::test;

// A device backend as runtime/cuda provides one: sessions go through it.
struct FakeDevice {
  static int created, destroyed;
  static int64_t lastOutputDims[5];
  static uint32_t lastFlags;
  static void *create(int32_t ordinal, char *message, size_t size) {
    if (ordinal != 0) {
      snprintf(message, size, "no such fake device %d", ordinal);
      return nullptr;
    }
    ++created;
    return &created;
  }
  static void destroy(void *state) {
    EXPECT_EQ(state, &created);
    ++destroyed;
  }
  static int32_t run(void *state, const kiln_abi_model *model, void *const *in,
                     void *const *out, const int64_t *symbols,
                     const int64_t *outputDims, uint32_t flags, char *message,
                     size_t size) {
    EXPECT_EQ(state, &created);
    lastFlags = flags;
    memcpy(lastOutputDims, outputDims, sizeof(lastOutputDims));
    if (symbols[0] == 3) {
      snprintf(message, size, "fake device fault");
      return 1;
    }
    // "Device" memory is host memory here: run the model's code on it.
    return model->run(in, out, symbols);
  }
};
int FakeDevice::created = 0, FakeDevice::destroyed = 0;
int64_t FakeDevice::lastOutputDims[5];
uint32_t FakeDevice::lastFlags;
const kiln_abi_device kFakeDevice = {"fake", FakeDevice::create,
                                     FakeDevice::destroy, FakeDevice::run};

TEST(SessionDevice, RunsThroughTheDeviceBackend) {
  kiln_abi_model model = kiln_fake_model;
  model.target = "fake";
  model.device = &kFakeDevice;
  kiln_session *s = nullptr;
  ASSERT_EQ(kiln_session_create(&model, nullptr, &s), KILN_OK);
  EXPECT_EQ(FakeDevice::created, 1);
  // The host side of a device model only launches work.
  EXPECT_EQ(kiln_session_num_threads(s), 1);
  Inputs in(2, 3);
  Outputs out(2, 3);
  ASSERT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_OK)
      << kiln_session_last_error(s);
  expectFakeResults(in, out.y.data(), out.z.data());
  const int64_t dims[5] = {2, 3, 4, 2, 4};
  EXPECT_EQ(memcmp(FakeDevice::lastOutputDims, dims, sizeof(dims)), 0);
  EXPECT_EQ(FakeDevice::lastFlags, 0u);

  // The device-pointer variant: same checks, and the backend is told.
  Outputs devOut(2, 3);
  ASSERT_EQ(kiln_session_run_device(s, in.t, 2, devOut.t, 2), KILN_OK)
      << kiln_session_last_error(s);
  EXPECT_EQ(FakeDevice::lastFlags, KILN_ABI_RUN_DEVICE_POINTERS);
  expectFakeResults(in, devOut.y.data(), devOut.z.data());
  Outputs small(2, 2);
  EXPECT_EQ(kiln_session_run_device(s, in.t, 2, small.t, 2),
            KILN_ERROR_SHAPE_MISMATCH);

  Inputs bad(3, 1);
  Outputs badOut(3, 1);
  EXPECT_EQ(kiln_session_run(s, bad.t, 2, badOut.t, 2), KILN_ERROR_DEVICE);
  EXPECT_STREQ(kiln_session_last_error(s),
               "model 'fake' on fake: fake device fault");
  kiln_session_destroy(s);
  EXPECT_EQ(FakeDevice::destroyed, 1);
}

TEST(SessionDevice, DevicePointersNeedADeviceModel) {
  kiln_session *s = nullptr;
  ASSERT_EQ(kiln_session_create(&kiln_fake_model, nullptr, &s), KILN_OK);
  Inputs in(1, 1);
  Outputs out(1, 1);
  EXPECT_EQ(kiln_session_run_device(s, in.t, 2, out.t, 2),
            KILN_ERROR_UNSUPPORTED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "model 'fake' runs on the cpu: use kiln_session_run");
  kiln_session_destroy(s);
}

TEST(SessionDevice, CreateFailureSaysWhy) {
  kiln_abi_model model = kiln_fake_model;
  model.target = "fake";
  model.device = &kFakeDevice;
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  char why[128] = "unchanged";
  opts.device = 2;
  opts.error_message = why;
  opts.error_message_size = sizeof(why);
  kiln_session *s = nullptr;
  EXPECT_EQ(kiln_session_create(&model, &opts, &s), KILN_ERROR_DEVICE);
  EXPECT_EQ(s, nullptr);
  EXPECT_STREQ(why, "no such fake device 2");

  // A cpu model carrying a device backend, or a device model without one,
  // is malformed.
  char message[256];
  model.target = "cpu";
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message,
               "model 'fake' targets cpu but carries a device backend");
  model.target = "cuda";
  model.device = nullptr;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_UNSUPPORTED);
  EXPECT_STREQ(message, "model 'fake' targets 'cuda', for which it carries no "
                        "device backend");
}

} // namespace
