//===- SessionConcurrencyTest.cpp - Sessions and threads ------------------===//
//
// Sessions of one model run on threads at once; a second call on a session
// that is running is refused without touching the running call.
//
//===----------------------------------------------------------------------===//
#include "FakeModel.h"
#include "SessionFixture.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace {

using namespace kiln::test;

TEST(SessionConcurrency, SessionsOfOneModelRunTogether) {
  auto worker = [](int64_t seq, bool *ok) {
    kiln_session_options opts;
    kiln_session_options_init(&opts);
    opts.num_threads = 2;
    kiln_session *s;
    *ok = kiln_session_create(&kiln_fake_model, &opts, &s) == KILN_OK;
    for (int i = 0; i < 200 && *ok; ++i) {
      Inputs in(3, seq);
      Outputs out(3, seq);
      *ok = kiln_session_run(s, in.t, 2, out.t, 2) == KILN_OK;
      for (size_t j = 0; j < out.y.size() && *ok; ++j)
        *ok = out.y[j] == 2 * in.x[j] + (float)in.ids[j / 4];
    }
    kiln_session_destroy(s);
  };
  bool ok1 = false, ok2 = false;
  std::thread t1(worker, 5, &ok1), t2(worker, 9, &ok2);
  t1.join();
  t2.join();
  EXPECT_TRUE(ok1);
  EXPECT_TRUE(ok2);
}

// A run that holds the session until the test lets it go.
std::atomic<bool> runEntered{false}, runReleased{false};
int32_t runThatWaits(void *const *inputs, void *const *outputs,
                     const int64_t *symbols) {
  runEntered = true;
  while (!runReleased)
    std::this_thread::yield();
  return kiln_fake_model.run(inputs, outputs, symbols);
}

TEST(SessionConcurrency, SecondCallOnABusySessionIsRefused) {
  kiln_abi_model model = kiln_fake_model;
  model.run = runThatWaits;
  runEntered = runReleased = false;
  kiln_session *s;
  ASSERT_EQ(kiln_session_create(&model, nullptr, &s), KILN_OK);
  Inputs in(2, 3);
  Outputs out(2, 3);
  kiln_status first = KILN_ERROR_INTERNAL;
  std::thread runner([&] { first = kiln_session_run(s, in.t, 2, out.t, 2); });
  while (!runEntered)
    std::this_thread::yield();

  // Misuse: a second thread on the same session while the first runs. It
  // must neither run nor touch the first run's state, including last_error.
  Inputs in2(1, 1);
  Outputs out2(1, 1);
  in2.xDims[2] = 5; // would fail validation and set last_error if checked
  EXPECT_EQ(kiln_session_run(s, in2.t, 2, out2.t, 2),
            KILN_ERROR_INVALID_ARGUMENT);
  kiln_tensor *outs = out2.t;
  size_t n = 5;
  EXPECT_EQ(kiln_session_run_alloc(s, in2.t, 2, &outs, &n),
            KILN_ERROR_INVALID_ARGUMENT);
  EXPECT_EQ(outs, nullptr);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(out2.y[0], -7.0f);

  runReleased = true;
  runner.join();
  EXPECT_EQ(first, KILN_OK);
  EXPECT_STREQ(kiln_session_last_error(s), "");
  expectFakeResults(in, out.y.data(), out.z.data());
  // Once the first call returned, the session takes calls again.
  EXPECT_EQ(kiln_session_run(s, in2.t, 2, out2.t, 2),
            KILN_ERROR_SHAPE_MISMATCH);
  EXPECT_STREQ(kiln_session_last_error(s),
               "input 'x' dim 2: got 5, expected 4");
  kiln_session_destroy(s);
}

} // namespace
