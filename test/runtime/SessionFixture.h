//===- SessionFixture.h - The fake model's tensors and a session of it ----===//
//
// Shared by the Session*Test.cpp files: inputs and output buffers for the
// fake model (FakeModel.h), the check of its results, and a fixture that
// holds a session of it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_SESSIONFIXTURE_H
#define KILN_TEST_RUNTIME_SESSIONFIXTURE_H

#include "FakeModel.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::test {

// Inputs for the fake model with ids[i] = i and x[i] = i / 8.
struct Inputs {
  std::vector<int64_t> idsDims, xDims;
  std::vector<int64_t> ids;
  std::vector<float> x;
  kiln_tensor t[2];

  Inputs(int64_t batch, int64_t seq)
      : idsDims{batch, seq}, xDims{batch, seq, 4}, ids((size_t)(batch * seq)),
        x((size_t)(batch * seq * 4)) {
    for (size_t i = 0; i < ids.size(); ++i)
      ids[i] = (int64_t)i;
    for (size_t i = 0; i < x.size(); ++i)
      x[i] = (float)i / 8;
    t[0] = {KILN_DTYPE_I64, 2, idsDims.data(), ids.data(),
            ids.size() * sizeof(int64_t)};
    t[1] = {KILN_DTYPE_F32, 3, xDims.data(), x.data(),
            x.size() * sizeof(float)};
  }
};

struct Outputs {
  std::vector<int64_t> yDims, zDims;
  std::vector<float> y;
  std::vector<int64_t> z;
  kiln_tensor t[2];

  Outputs(int64_t batch, int64_t seq)
      : yDims{batch, seq, 4}, zDims{batch, seq + 1},
        y((size_t)(batch * seq * 4), -7.0f),
        z((size_t)(batch * (seq + 1)), -7) {
    t[0] = {KILN_DTYPE_F32, 3, yDims.data(), y.data(),
            y.size() * sizeof(float)};
    t[1] = {KILN_DTYPE_I64, 2, zDims.data(), z.data(),
            z.size() * sizeof(int64_t)};
  }
};

inline void expectFakeResults(const Inputs &in, const float *y,
                              const int64_t *z) {
  int64_t batch = in.idsDims[0], seq = in.idsDims[1];
  for (int64_t i = 0; i < batch * seq; ++i)
    for (int k = 0; k < 4; ++k)
      ASSERT_FLOAT_EQ(y[i * 4 + k], 2 * in.x[i * 4 + k] + (float)in.ids[i])
          << "y element " << i * 4 + k;
  for (int64_t b = 0; b < batch; ++b) {
    ASSERT_EQ(z[b * (seq + 1)], 0);
    for (int64_t j = 1; j <= seq; ++j)
      ASSERT_EQ(z[b * (seq + 1) + j], in.ids[b * seq + j - 1] + 1);
  }
}

class SessionTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_EQ(kiln_session_create(&kiln_fake_model, nullptr, &session),
              KILN_OK);
  }
  void TearDown() override { kiln_session_destroy(session); }

  // Runs and returns the status; the message is in lastError().
  kiln_status run(Inputs &in, Outputs &out) {
    return kiln_session_run(session, in.t, 2, out.t, 2);
  }
  std::string lastError() { return kiln_session_last_error(session); }

  kiln_session *session = nullptr;
};

} // namespace kiln::test

#endif
