//===- DataSymbolsTest.cpp - Shapes read from the inputs' data ------------===//
//
// A hand-written descriptor with one data symbol: y = [0, 1, ..., n-1] for a
// scalar input n, as kilnc writes Range(0, n, 1). The runtime reads n through
// infer_symbols before it sizes or checks the output, reports a failed check
// with the model's message, and refuses values below the symbol's minimum or
// above its maximum.
//
//===----------------------------------------------------------------------===//
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

namespace {

const char *const kSymbolNames[] = {"iota.length"};
const int64_t kSymbolMax[] = {1000};
const int64_t kSymbolMin[] = {0};

const int64_t kNDims[] = {0};
const kiln_abi_tensor kInputs[] = {
    {"n", KILN_DTYPE_I64, 0, kNDims, nullptr, nullptr, nullptr}};
const int64_t kYDims[] = {-1};
const int32_t kYSymbols[] = {-1};
const char *const kYNames[] = {"iota.length"};
const uint8_t kYFromData[] = {1};
const kiln_abi_tensor kOutputs[] = {
    {"y", KILN_DTYPE_I64, 1, kYDims, kYSymbols, kYNames, kYFromData}};
const char *const kChecks[] = {
    "node 'iota' (Range, ai.onnx opset 18): delta read at run time is 0"};

int32_t outputDims(const int64_t *s, int64_t *d) {
  d[0] = s[0];
  return d[0] < 0 ? -1 : 0;
}

// Check 1 fails for n == -7, as a Range's delta of 0 would.
int32_t inferSymbols(void *const *in, int64_t *s, const int64_t *const *) {
  int64_t n = *static_cast<const int64_t *>(in[0]);
  if (n == -7) {
    s[0] = 0;
    return 1;
  }
  s[0] = n;
  return 0;
}

int32_t run(void *const *, void *const *out, const int64_t *s) {
  auto *y = static_cast<int64_t *>(out[0]);
  for (int64_t i = 0; i < s[0]; ++i)
    y[i] = i;
  return 0;
}

kiln_abi_model model() {
  kiln_abi_model m = {};
  m.abi_version = KILN_MODEL_ABI_VERSION;
  m.name = "iota";
  m.target = "cpu";
  m.num_symbols = 1;
  m.symbol_names = kSymbolNames;
  m.symbol_max = kSymbolMax;
  m.symbol_min = kSymbolMin;
  m.num_inputs = 1;
  m.inputs = kInputs;
  m.num_outputs = 1;
  m.outputs = kOutputs;
  m.output_dims = outputDims;
  m.run = run;
  m.num_data_symbols = 1;
  m.infer_symbols = inferSymbols;
  m.num_symbol_checks = 1;
  m.symbol_checks = kChecks;
  return m;
}

class DataSymbols : public ::testing::Test {
protected:
  void SetUp() override {
    m = model();
    ASSERT_EQ(kiln_session_create(&m, nullptr, &s), KILN_OK);
  }
  void TearDown() override { kiln_session_destroy(s); }
  kiln_tensor input(int64_t &n) {
    return {KILN_DTYPE_I64, 0, nullptr, &n, sizeof(n)};
  }
  kiln_abi_model m;
  kiln_session *s = nullptr;
};

TEST_F(DataSymbols, OutputDimsComeFromTheData) {
  EXPECT_EQ(kiln_session_output_dim_from_data(s, 0, 0), 1);
  EXPECT_EQ(kiln_session_output_dim_from_data(s, 0, 1), -1);
  EXPECT_EQ(kiln_session_output_dim_from_data(s, 1, 0), -1);
  int64_t n = 5, dims[1] = {-1};
  kiln_tensor in = input(n);
  ASSERT_EQ(kiln_session_output_dims(s, &in, 1, dims, 1), KILN_OK);
  EXPECT_EQ(dims[0], 5);
  EXPECT_EQ(kiln_session_output_dims(s, &in, 1, dims, 0),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(kiln_session_last_error(s),
               "dims has room for 0 entries, the outputs have 1");
}

TEST_F(DataSymbols, RunChecksCallerBuffersAgainstTheDataDims) {
  int64_t n = 4, y[8] = {}, dims[1] = {4};
  kiln_tensor in = input(n);
  kiln_tensor out = {KILN_DTYPE_I64, 1, dims, y, sizeof(y)};
  ASSERT_EQ(kiln_session_run(s, &in, 1, &out, 1), KILN_OK);
  EXPECT_EQ(y[3], 3);
  n = 6; // the caller's dims no longer match what the data gives
  EXPECT_EQ(kiln_session_run(s, &in, 1, &out, 1), KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_session_last_error(s),
               "output 'y' dim 0 (iota.length): got 4, expected 6");
}

TEST_F(DataSymbols, RunAllocSizesTheOutputFromTheData) {
  int64_t n = 3;
  kiln_tensor in = input(n);
  kiln_tensor *outs = nullptr;
  size_t count = 0;
  ASSERT_EQ(kiln_session_run_alloc(s, &in, 1, &outs, &count), KILN_OK);
  ASSERT_EQ(count, 1u);
  EXPECT_EQ(outs[0].dims[0], 3);
  EXPECT_EQ(static_cast<int64_t *>(outs[0].data)[2], 2);
  n = 0; // an empty result is legal: the symbol's minimum is 0
  ASSERT_EQ(kiln_session_run_alloc(s, &in, 1, &outs, &count), KILN_OK);
  EXPECT_EQ(outs[0].dims[0], 0);
}

TEST_F(DataSymbols, RefusesValuesTheModelRejects) {
  int64_t n = -7, dims[1];
  kiln_tensor in = input(n);
  EXPECT_EQ(kiln_session_output_dims(s, &in, 1, dims, 1),
            KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(
      kiln_session_last_error(s),
      "node 'iota' (Range, ai.onnx opset 18): delta read at run time is 0");
  n = -2;
  EXPECT_EQ(kiln_session_output_dims(s, &in, 1, dims, 1),
            KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_session_last_error(s),
               "iota.length: read -2 from the inputs' data, expected >= 0 "
               "(the compiled code assumed it)");
  n = 1001;
  kiln_tensor *outs = nullptr;
  size_t count = 0;
  EXPECT_EQ(kiln_session_run_alloc(s, &in, 1, &outs, &count),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_STREQ(kiln_session_last_error(s),
               "iota.length: read 1001 from the inputs' data, expected <= "
               "1000");
}

TEST(DataSymbolsDescriptor, NeedsItsInferenceAndChecks) {
  kiln_abi_model m = model();
  char message[256];
  EXPECT_EQ(kiln_model_validate(&m, message, sizeof(message)), KILN_OK);
  m.infer_symbols = nullptr;
  EXPECT_EQ(kiln_model_validate(&m, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_STREQ(message, "model 'iota' has a malformed table of symbols read "
                        "from data");
  m = model();
  m.symbol_checks = nullptr;
  EXPECT_EQ(kiln_model_validate(&m, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
  // An input dim may not name a data symbol.
  m = model();
  m.num_data_symbols = 2;
  EXPECT_EQ(kiln_model_validate(&m, message, sizeof(message)),
            KILN_ERROR_INVALID_ARGUMENT);
}

} // namespace
