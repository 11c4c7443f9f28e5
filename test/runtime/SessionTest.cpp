//===- SessionTest.cpp - The C API against the fake model -----------------===//
//
// Sessions of the fake model (FakeModel.h): creation and its options, the
// descriptor checks, the signature, runs and their outputs, and failures in
// the model's code. What a session checks before a run, device backends and
// threads have files of their own: SessionValidationTest.cpp,
// SessionDeviceTest.cpp and SessionConcurrencyTest.cpp.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"
#include "SessionFixture.h"
#include "kernels/Kernels.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace {

using namespace kiln::test;

TEST_F(SessionTest, ReportsSignature) {
  EXPECT_EQ(kiln_session_num_inputs(session), 2);
  EXPECT_EQ(kiln_session_num_outputs(session), 2);
  ASSERT_EQ(kiln_session_num_symbols(session), 2);
  EXPECT_STREQ(kiln_session_symbol_name(session, 1), "seq");
  EXPECT_EQ(kiln_session_symbol_max(session, 0), 8);
  EXPECT_EQ(kiln_session_symbol_name(session, 2), nullptr);
  EXPECT_EQ(kiln_session_symbol_max(session, -1), -1);
  EXPECT_GE(kiln_session_num_threads(session), 1);

  kiln_tensor_info info;
  ASSERT_EQ(kiln_session_input_info(session, 1, &info), KILN_OK);
  EXPECT_STREQ(info.name, "x");
  EXPECT_EQ(info.dtype, KILN_DTYPE_F32);
  ASSERT_EQ(info.rank, 3);
  EXPECT_EQ(info.dims[0], -1);
  EXPECT_EQ(info.dims[2], 4);
  EXPECT_STREQ(info.dim_names[1], "seq");
  EXPECT_EQ(info.dim_symbols[1], 1);
  ASSERT_EQ(kiln_session_output_info(session, 1, &info), KILN_OK);
  EXPECT_STREQ(info.name, "z");
  EXPECT_STREQ(info.dim_names[1], "seq + 1");

  EXPECT_EQ(kiln_session_input_info(session, 2, &info),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "input index 2 out of range [0, 2)");
  EXPECT_EQ(kiln_session_output_info(session, 0, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
}

TEST_F(SessionTest, RunsAndComputesOutputs) {
  EXPECT_EQ(lastError(), "");
  Inputs in(2, 3);
  Outputs out(2, 3);
  ASSERT_EQ(run(in, out), KILN_OK) << lastError();
  expectFakeResults(in, out.y.data(), out.z.data());
  // A second run with other symbol values reuses the session.
  Inputs in2(8, 17);
  Outputs out2(8, 17);
  ASSERT_EQ(run(in2, out2), KILN_OK) << lastError();
  expectFakeResults(in2, out2.y.data(), out2.z.data());
}

TEST_F(SessionTest, RunAllocOwnsOutputs) {
  Inputs in(2, 3);
  kiln_tensor *outs = nullptr;
  size_t n = 0;
  ASSERT_EQ(kiln_session_run_alloc(session, in.t, 2, &outs, &n), KILN_OK)
      << lastError();
  ASSERT_EQ(n, 2u);
  EXPECT_EQ(outs[0].dtype, KILN_DTYPE_F32);
  ASSERT_EQ(outs[1].rank, 2);
  EXPECT_EQ(outs[1].dims[1], 4);
  EXPECT_EQ(outs[1].size_bytes, 64u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(outs[0].data) % 64, 0u);
  expectFakeResults(in, static_cast<float *>(outs[0].data),
                    static_cast<int64_t *>(outs[1].data));

  Inputs bigger(4, 100);
  ASSERT_EQ(kiln_session_run_alloc(session, bigger.t, 2, &outs, &n), KILN_OK);
  EXPECT_EQ(outs[1].dims[1], 101);
  expectFakeResults(bigger, static_cast<float *>(outs[0].data),
                    static_cast<int64_t *>(outs[1].data));

  bigger.xDims[2] = 3;
  EXPECT_EQ(kiln_session_run_alloc(session, bigger.t, 2, &outs, &n),
            KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(outs, nullptr);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(kiln_session_run_alloc(session, in.t, 2, nullptr, &n),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "outputs and num_outputs must not be NULL");
}

TEST_F(SessionTest, ReportsModelFailure) {
  Inputs in(1, 2);
  Outputs out(1, 2);
  in.ids[1] = -1;
  EXPECT_EQ(run(in, out), KILN_ERROR_INTERNAL);
  EXPECT_EQ(lastError(), "model 'fake' failed with code 3");
  // The error is cleared by the next successful run.
  in.ids[1] = 1;
  EXPECT_EQ(run(in, out), KILN_OK);
  EXPECT_EQ(lastError(), "");
}

// A model whose run calls the matmul kernel with inconsistent sizes.
int32_t runWithBadKernelCall(void *const *inputs, void *const *outputs,
                             const int64_t *) {
  float *x = static_cast<float *>(inputs[1]);
  float *y = static_cast<float *>(outputs[0]);
  kiln_memref3_f32 a = {x, x, 0, {1, 2, 4}, {8, 4, 1}};
  kiln_memref3_f32 b = {x, x, 0, {1, 3, 4}, {12, 4, 1}};
  kiln_memref3_f32 c = {y, y, 0, {1, 2, 4}, {8, 4, 1}};
  _mlir_ciface_kiln_rt_batch_matmul_f32(&a, &b, &c);
  return 0;
}

TEST(SessionKernels, KernelErrorsFailTheRun) {
  kiln_abi_model model = kiln_fake_model;
  model.run = runWithBadKernelCall;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&model, nullptr, &s), KILN_OK);
  Inputs in(1, 2);
  Outputs out(1, 2);
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_ERROR_INTERNAL);
  EXPECT_STREQ(kiln_session_last_error(s),
               "model 'fake': kernel failed: batch_matmul_f32: sizes a [1, 2, "
               "4] b [1, 3, 4] c [1, 2, 4] do not match");
  kiln_session_destroy(s);
}

// A model with external weights (kilnc --weights=external): sessions map
// them first and fail with IO and the map's reason; a malformed table is
// refused before.
TEST(SessionCreate, MapsExternalWeightsFirst) {
  alignas(KILN_WEIGHTS_FILE_DATA_OFFSET) static char range[1];
  static int calls = 0, missing = 1;
  kiln_abi_weights weights = {range, 1, {}, nullptr, 0};
  weights.map = [](kiln_abi_weights *, char *message, size_t size) {
    ++calls;
    if (missing)
      snprintf(message, size, "the weights file 'x.weights' is missing");
    return missing;
  };
  kiln_abi_model model = kiln_fake_model;
  model.weights = &weights;
  char why[128] = "";
  kiln_session_options options;
  kiln_session_options_init(&options);
  options.error_message = why;
  options.error_message_size = sizeof(why);
  kiln_session *s = nullptr;
  EXPECT_EQ(kiln_session_create(&model, &options, &s), KILN_ERROR_IO);
  EXPECT_EQ(s, nullptr);
  EXPECT_STREQ(why, "the weights file 'x.weights' is missing");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_IO), "KILN_ERROR_IO");

  missing = 0;
  ASSERT_EQ(kiln_session_create(&model, &options, &s), KILN_OK);
  EXPECT_EQ(calls, 2);
  kiln_session_destroy(s);

  char message[128];
  weights.base = range + 1;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message, "model 'fake' has a malformed weights table");
}

TEST(SessionCreate, ValidatesDescriptor) {
  char message[256];
  kiln_abi_model model = kiln_fake_model;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)), KILN_OK);
  EXPECT_STREQ(message, "");

  model.abi_version = 2; // before the KV-cache fields
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_UNSUPPORTED);
  EXPECT_STREQ(message, "model ABI version 2, this runtime supports 6");
  kiln_session *s = nullptr;
  EXPECT_EQ(kiln_session_create(&model, nullptr, &s), KILN_ERROR_UNSUPPORTED);
  EXPECT_EQ(s, nullptr);

  // A KV-cache table must name existing tensors of one rank and dtype.
  static const kiln_abi_kv_pair badPair[] = {{0, 5, 1}};
  model = kiln_fake_model;
  model.num_kv_pairs = 1;
  model.kv_pairs = badPair;
  model.run_strided = [](void *const *, void *const *, const int64_t *,
                         const int64_t *const *) -> int32_t { return 0; };
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message, "model 'fake' KV-cache pair 0 names input 0 and "
                        "output 5");
  static const kiln_abi_kv_pair rankPair[] = {{0, 0, 1}}; // i64 [b,s] vs f32
  model.kv_pairs = rankPair;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  model.run_strided = nullptr;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message, "model 'fake' has a malformed KV-cache table");

  model = kiln_fake_model;
  model.run = nullptr;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message, "model 'fake' lacks its run or output_dims function");

  // A symbol that no input dim binds could never get a value.
  static const char *const names[] = {"batch", "seq", "past"};
  static const int64_t maxes[] = {8, 1024, 1024};
  model = kiln_fake_model;
  model.num_symbols = 3;
  model.symbol_names = names;
  model.symbol_max = maxes;
  EXPECT_EQ(kiln_model_validate(&model, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message, "symbol 'past' is bound by no input dim");

  model = kiln_fake_model;
  model.target = "cuda";
  EXPECT_EQ(kiln_session_create(&model, nullptr, &s), KILN_ERROR_UNSUPPORTED);
}

TEST(SessionCreate, HonorsOptions) {
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  EXPECT_EQ(opts.struct_size, sizeof(opts));
  opts.num_threads = 3;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s), KILN_OK);
  EXPECT_EQ(kiln_session_num_threads(s), 3);
  kiln_session_destroy(s);

  // A caller built against an older, shorter struct gets defaults for the
  // fields it does not know.
  opts.max_arena_bytes = 1;
  opts.struct_size = offsetof(kiln_session_options, max_arena_bytes);
  ASSERT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s), KILN_OK);
  Inputs in(1, 1);
  Outputs out(1, 1);
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_OK);
  kiln_session_destroy(s);

  kiln_session_options_init(&opts);
  opts.num_threads = -1;
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_session_options_init(&opts);
  opts.device = 1;
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s),
            KILN_ERROR_UNSUPPORTED);
  opts.struct_size = 0;
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s),
            KILN_ERROR_INVALID_ARGUMENT);
}

TEST(SessionOptions, InitWritesNoMoreThanTheCallersStruct) {
  // A caller of the first version's struct calls the exported function,
  // which fills that struct only; the header's macro fills this one whole.
  const size_t first = offsetof(kiln_session_options, arena);
  unsigned char buffer[sizeof(kiln_session_options) + 16];
  memset(buffer, 0xAB, sizeof(buffer));
  auto *opts = reinterpret_cast<kiln_session_options *>(buffer);
  (kiln_session_options_init)(opts);
  EXPECT_EQ(opts->struct_size, first);
  for (size_t i = first; i < sizeof(buffer); ++i)
    ASSERT_EQ(buffer[i], 0xAB) << "byte " << i;
  memset(buffer, 0xAB, sizeof(buffer));
  kiln_session_options_init(opts);
  EXPECT_EQ(opts->struct_size, sizeof(kiln_session_options));
  EXPECT_EQ(opts->arena, nullptr);
  EXPECT_EQ(opts->arena_bytes, 0u);
  for (size_t i = sizeof(kiln_session_options); i < sizeof(buffer); ++i)
    ASSERT_EQ(buffer[i], 0xAB) << "byte " << i;
  // A larger caller's struct: only what this runtime knows.
  memset(buffer, 0xAB, sizeof(buffer));
  kiln_session_options_init_sized(opts, sizeof(buffer));
  EXPECT_EQ(opts->struct_size, sizeof(kiln_session_options));
  EXPECT_EQ(buffer[sizeof(kiln_session_options)], 0xAB);
}

TEST(SessionCreate, ChecksTheCallersArena) {
  alignas(64) static char arena[4096];
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  char why[256] = "";
  opts.error_message = why;
  opts.error_message_size = sizeof(why);
  kiln_session *s;
  opts.arena = arena;
  opts.arena_bytes = sizeof(arena);
  ASSERT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s), KILN_OK);
  Inputs in(1, 1);
  Outputs out(1, 1);
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_OK);
  kiln_session_destroy(s);

  const char *expected = "arena and arena_bytes go together, and the arena "
                         "must be 64-byte aligned";
  opts.arena_bytes = 0;
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(why, expected);
  opts.arena = nullptr;
  opts.arena_bytes = sizeof(arena);
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s),
            KILN_ERROR_INVALID_ARGUMENT);
  opts.arena = arena + 8;
  opts.arena_bytes = sizeof(arena) - 8;
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(why, expected);
}

TEST(Status, NamesStatusesAndDtypes) {
  EXPECT_STREQ(kiln_status_string(KILN_OK), "KILN_OK");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_SHAPE_MISMATCH),
               "KILN_ERROR_SHAPE_MISMATCH");
  EXPECT_STREQ(kiln_status_string(KILN_ERROR_INTERNAL), "KILN_ERROR_INTERNAL");
  EXPECT_STREQ(kiln_status_string(static_cast<kiln_status>(99)),
               "KILN_ERROR_UNKNOWN");
  EXPECT_STREQ(kiln_dtype_name(KILN_DTYPE_BF16), "bf16");
  EXPECT_EQ(kiln_dtype_size(KILN_DTYPE_F16), 2u);
  EXPECT_EQ(kiln_dtype_size(8 /* string */), 0u);
}

} // namespace
