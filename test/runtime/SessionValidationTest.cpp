//===- SessionValidationTest.cpp - What a session checks before a run -----===//
//
// The checks kiln_session_run and kiln_session_run_alloc make before the
// model runs, each refusal with its status and message: NULL pointers,
// counts, dtypes and ranks, dims and symbols, buffer sizes and overlaps, and
// the byte-size and arena limits.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"
#include "SessionFixture.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <vector>

namespace {

using namespace kiln::test;

TEST_F(SessionTest, RejectsNullPointers) {
  kiln_session *s = reinterpret_cast<kiln_session *>(1);
  EXPECT_EQ(kiln_session_create(nullptr, nullptr, &s),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(s, nullptr);
  EXPECT_EQ(kiln_session_create(&kiln_fake_model, nullptr, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);

  Inputs in(1, 1);
  Outputs out(1, 1);
  EXPECT_EQ(kiln_session_run(nullptr, in.t, 2, out.t, 2),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_run(session, nullptr, 2, out.t, 2),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "inputs is NULL but 2 inputs are expected");
  EXPECT_EQ(kiln_session_run(session, in.t, 2, nullptr, 2),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "outputs is NULL but 2 outputs are expected");

  in.t[1].data = nullptr;
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "input 'x': data is NULL");
  in.t[1].data = in.x.data();
  in.t[0].dims = nullptr;
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "input 'input_ids': dims is NULL for rank 2");
  in.t[0].dims = in.idsDims.data();
  out.t[0].data = nullptr;
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "output 'y': data is NULL");

  EXPECT_STREQ(kiln_session_last_error(nullptr), "");
  kiln_session_destroy(nullptr);
}

// What RejectsNullPointers leaves out: the remaining NULL arguments, each
// with its message where the session can hold one.
TEST_F(SessionTest, RejectsOtherNullPointers) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  out.t[1].dims = nullptr;
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "output 'z': dims is NULL for rank 2");
  out.t[1].dims = out.zDims.data();

  EXPECT_EQ(kiln_session_input_info(session, 0, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "input info: out is NULL");
  kiln_tensor_info info;
  EXPECT_EQ(kiln_session_input_info(nullptr, 0, &info),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(kiln_session_output_info(session, -1, &info),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "output index -1 out of range [0, 2)");

  // run_alloc clears its out-parameters before anything else, so a caller
  // that ignores the status never sees a stale pointer.
  kiln_tensor *outs = out.t;
  size_t n = 7;
  EXPECT_EQ(kiln_session_run_alloc(nullptr, in.t, 2, &outs, &n),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(outs, nullptr);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(kiln_session_run_alloc(session, in.t, 2, &outs, nullptr),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "outputs and num_outputs must not be NULL");
  EXPECT_EQ(kiln_session_run_alloc(session, nullptr, 2, &outs, &n),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "inputs is NULL but 2 inputs are expected");
  EXPECT_EQ(outs, nullptr);

  char message[128];
  EXPECT_EQ(kiln_model_validate(nullptr, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STRNE(message, "");
  EXPECT_EQ(kiln_model_validate(nullptr, nullptr, 0),
            KILN_ERROR_INVALID_ARGUMENT);
  (kiln_session_options_init)(nullptr); // a no-op, not a crash
  kiln_session_options_init_sized(nullptr, sizeof(kiln_session_options));

  // The signature queries answer for a NULL session without failing.
  EXPECT_EQ(kiln_session_num_inputs(nullptr), 0);
  EXPECT_EQ(kiln_session_num_outputs(nullptr), 0);
  EXPECT_EQ(kiln_session_num_symbols(nullptr), 0);
  EXPECT_EQ(kiln_session_num_threads(nullptr), 0);
  EXPECT_EQ(kiln_session_symbol_name(nullptr, 0), nullptr);
  EXPECT_EQ(kiln_session_symbol_max(nullptr, 0), -1);
}

TEST_F(SessionTest, RejectsWrongCounts) {
  Inputs in(1, 1);
  Outputs out(1, 1);
  EXPECT_EQ(kiln_session_run(session, in.t, 1, out.t, 2),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "expected 2 inputs, got 1");
  EXPECT_EQ(kiln_session_run(session, in.t, 2, out.t, 3),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "expected 2 outputs, got 3");
}

TEST_F(SessionTest, RejectsWrongDtypeAndRank) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  in.t[0].dtype = KILN_DTYPE_I32;
  EXPECT_EQ(run(in, out), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'input_ids': got dtype i32, expected i64");
  in.t[0].dtype = KILN_DTYPE_I64;

  in.t[1].rank = 2;
  EXPECT_EQ(run(in, out), KILN_ERROR_RANK_MISMATCH);
  EXPECT_EQ(lastError(), "input 'x': got rank 2, expected 3");
  in.t[1].rank = 3;

  out.t[0].dtype = KILN_DTYPE_F16;
  EXPECT_EQ(run(in, out), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "output 'y': got dtype f16, expected f32");
  out.t[0].dtype = KILN_DTYPE_F32;

  out.t[1].rank = 3;
  EXPECT_EQ(run(in, out), KILN_ERROR_RANK_MISMATCH);
  EXPECT_EQ(lastError(), "output 'z': got rank 3, expected 2");
}

TEST_F(SessionTest, RejectsOutOfRangeDtypeAndRank) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  // Any int32 is a possible dtype or rank from a careless or hostile caller;
  // none may index a table or read dims past the buffer.
  in.t[0].dtype = static_cast<kiln_dtype>(12345);
  EXPECT_EQ(run(in, out), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'input_ids': got dtype ?, expected i64");
  in.t[0].dtype = KILN_DTYPE_I64;
  in.t[0].rank = -1;
  EXPECT_EQ(run(in, out), KILN_ERROR_RANK_MISMATCH);
  EXPECT_EQ(lastError(), "input 'input_ids': got rank -1, expected 2");
  in.t[0].rank = INT32_MAX;
  EXPECT_EQ(run(in, out), KILN_ERROR_RANK_MISMATCH);
  EXPECT_EQ(lastError(), "input 'input_ids': got rank 2147483647, expected 2");
  in.t[0].rank = 2;
  out.t[1].dtype = static_cast<kiln_dtype>(-1);
  EXPECT_EQ(run(in, out), KILN_ERROR_DTYPE_MISMATCH);
  EXPECT_EQ(lastError(), "output 'z': got dtype ?, expected i64");
}

TEST_F(SessionTest, RejectsWrongStaticDim) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  in.xDims[2] = 5;
  EXPECT_EQ(run(in, out), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'x' dim 2: got 5, expected 4");
}

TEST_F(SessionTest, RejectsInconsistentSymbol) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  in.xDims[1] = 2; // x's seq disagrees with input_ids'
  EXPECT_EQ(run(in, out), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'x' dim 1 (seq): got 2, expected 3 as bound "
                         "by input 'input_ids' dim 1");
}

TEST_F(SessionTest, RejectsSymbolBelowOne) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  in.idsDims[1] = 0;
  EXPECT_EQ(run(in, out), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "input 'input_ids' dim 1 (seq): got 0, expected >= 1");
  in.idsDims[1] = -5;
  EXPECT_EQ(run(in, out), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(),
            "input 'input_ids' dim 1 (seq): got -5, expected >= 1");
}

TEST_F(SessionTest, RejectsSymbolAboveMax) {
  Inputs in(9, 3);
  Outputs out(9, 3);
  EXPECT_EQ(run(in, out), KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_EQ(lastError(),
            "input 'input_ids' dim 0 (batch): got 9, expected <= 8");
}

TEST_F(SessionTest, RejectsSmallBuffers) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  in.t[1].size_bytes -= 1;
  EXPECT_EQ(run(in, out), KILN_ERROR_BUFFER_TOO_SMALL);
  EXPECT_EQ(lastError(),
            "input 'x': buffer has 95 bytes, needs 96 for f32 [2, 3, 4]");
  in.t[1].size_bytes += 1;

  out.t[1].size_bytes = 63;
  EXPECT_EQ(run(in, out), KILN_ERROR_BUFFER_TOO_SMALL);
  EXPECT_EQ(lastError(),
            "output 'z': buffer has 63 bytes, needs 64 for i64 [2, 4]");
  // Nothing was written: checks come before the model runs.
  EXPECT_EQ(out.y[0], -7.0f);
  EXPECT_EQ(out.z[0], -7);
}

TEST_F(SessionTest, RejectsOverlappingBuffers) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  kiln_tensor y = out.t[0];
  // y is f32 [2, 3, 4] like x: the same buffer for both is refused.
  out.t[0].data = in.x.data();
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "output 'y' overlaps input 'x': outputs must not "
                         "share memory with inputs");
  // A partial overlap, one byte into the last element of x.
  out.t[0].data = reinterpret_cast<char *>(in.x.data()) + in.t[1].size_bytes -
                  sizeof(float);
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  out.t[0] = y;
  // Two outputs in one buffer.
  std::vector<int64_t> shared(out.z.size() + out.y.size());
  out.t[0].data = shared.data();
  out.t[1].data = shared.data() + 1;
  EXPECT_EQ(run(in, out), KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(lastError(), "output 'z' overlaps output 'y'");
  // Adjacent buffers are fine.
  out.t[0] = y;
  out.t[1].data = out.z.data();
  std::vector<char> both(in.t[1].size_bytes + out.t[0].size_bytes);
  in.t[1].data = both.data();
  out.t[0].data = both.data() + in.t[1].size_bytes;
  memcpy(in.t[1].data, in.x.data(), in.t[1].size_bytes);
  ASSERT_EQ(run(in, out), KILN_OK) << lastError();
  expectFakeResults(in, static_cast<float *>(out.t[0].data), out.z.data());
}

TEST_F(SessionTest, RejectsWrongOutputDims) {
  Inputs in(2, 3);
  Outputs out(2, 3);
  out.zDims[1] = 3;
  EXPECT_EQ(run(in, out), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_EQ(lastError(), "output 'z' dim 1 (seq + 1): got 3, expected 4");
}

TEST(SessionLimits, RejectsDimsWhoseByteSizeOverflows) {
  // The same model with unbounded symbols.
  static const int64_t unbounded[] = {INT64_MAX, INT64_MAX};
  kiln_abi_model model = kiln_fake_model;
  model.symbol_max = unbounded;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&model, nullptr, &s), KILN_OK);
  Inputs in(1, 1);
  Outputs out(1, 1);
  in.idsDims = {int64_t(1) << 40, int64_t(1) << 40};
  in.t[0].dims = in.idsDims.data();
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "input 'input_ids': byte size of i64 [1099511627776, "
               "1099511627776] overflows");
  // Fits size_t but not the 16 GiB default arena: caught on the outputs.
  in.idsDims = {int64_t(1) << 20, int64_t(1) << 20};
  in.xDims = {int64_t(1) << 20, int64_t(1) << 20, 4};
  in.t[0].size_bytes = in.t[1].size_bytes = SIZE_MAX;
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "outputs need 26388287455232 bytes, over the session's "
               "max_arena_bytes of 17179869184");
  kiln_session_destroy(s);
}

TEST(SessionLimits, RunAllocRefusesHugeOutputsWithoutAllocating) {
  // Unbounded symbols, as kilnc's artifacts have them today: only the byte
  // size checks stand between a caller's dims and the allocator.
  static const int64_t unbounded[] = {INT64_MAX, INT64_MAX};
  kiln_abi_model model = kiln_fake_model;
  model.symbol_max = unbounded;
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  opts.max_arena_bytes = 1 << 20;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&model, &opts, &s), KILN_OK);
  kiln_tensor *outs = nullptr;
  size_t n = 0;

  // 1.5 MiB of inputs imply 1.5 MiB of outputs: refused before allocating.
  Inputs in(1, 65536);
  EXPECT_EQ(kiln_session_run_alloc(s, in.t, 2, &outs, &n),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "outputs need 1572872 bytes, over the session's "
               "max_arena_bytes of 1048576");
  EXPECT_EQ(outs, nullptr);
  EXPECT_EQ(n, 0u);

  // A symbol whose byte size overflows size_t (the caller claims a buffer
  // of SIZE_MAX bytes): refused on the input, before any output is sized.
  in.t[0].size_bytes = in.t[1].size_bytes = SIZE_MAX;
  in.idsDims = {1, (int64_t(1) << 62) - 1};
  in.xDims = {1, (int64_t(1) << 62) - 1, 4};
  in.t[0].dims = in.idsDims.data();
  in.t[1].dims = in.xDims.data();
  EXPECT_EQ(kiln_session_run_alloc(s, in.t, 2, &outs, &n),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "input 'input_ids': byte size of i64 [1, 4611686018427387903] "
               "overflows");
  EXPECT_EQ(outs, nullptr);
  kiln_session_destroy(s);
}

TEST(SessionLimits, EnforcesMaxArenaBytes) {
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  opts.max_arena_bytes = 100;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&kiln_fake_model, &opts, &s), KILN_OK);
  Inputs in(2, 3);
  Outputs out(2, 3);
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "outputs need 160 bytes, over the session's max_arena_bytes "
               "of 100");
  Inputs small(1, 1);
  Outputs smallOut(1, 1);
  EXPECT_EQ(kiln_session_run(s, small.t, 2, smallOut.t, 2), KILN_OK);
  kiln_session_destroy(s);
}

} // namespace

TEST(SessionLimits, SymbolMinimumFromTheDescriptor) {
  // seq may be 0 (kilnc gives a KV cache's past length minimum 0): an empty
  // extent binds, a negative one is still refused with that minimum.
  static const int64_t minimums[] = {1, 0};
  kiln_abi_model model = kiln_fake_model;
  model.symbol_min = minimums;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&model, nullptr, &s), KILN_OK);
  Inputs in(2, 0);
  Outputs out(2, 0);
  EXPECT_EQ(kiln_session_run(s, in.t, 2, out.t, 2), KILN_OK)
      << kiln_session_last_error(s);
  Inputs negative(2, 3);
  negative.idsDims[1] = -1;
  EXPECT_EQ(kiln_session_run(s, negative.t, 2, out.t, 2),
            KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_session_last_error(s),
               "input 'input_ids' dim 1 (seq): got -1, expected >= 0");
  kiln_session_destroy(s);

  static const int64_t bad[] = {2, 1};
  model.symbol_min = bad;
  EXPECT_EQ(kiln_session_create(&model, nullptr, &s),
            KILN_ERROR_INVALID_ARGUMENT);
}
