//===- CudaGraphsTest.cpp - Runs captured as CUDA graphs and replayed -----===//
//
// The CudaGraphs tests check when runs of the fake model (FakeCudaModel.h)
// are captured as CUDA graphs and replayed (the stand-ins record captured
// work and replay it), with the model's host reference.
//
//===----------------------------------------------------------------------===//
#include "FakeCudaModel.h"
#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <dlfcn.h>
#include <initializer_list>
#include <string>

namespace {

using namespace kiln::test;

enum Counter {
  Launches,
  Matmuls,
  HtodCopies,
  Captures,
  CapturedNodes,
  Instantiates,
  GraphLaunches,
  ReplayedNodes,
  ExecDestroys,
  LiveGraphs,
  CapturedMatmuls,
  ReplayedMatmuls,
  NumCounters
};
const char *const kCounterNames[NumCounters] = {
    "fake_cuda_launches",
    "fake_cublaslt_matmuls",
    "fake_cuda_htod_copies",
    "fake_cuda_captures",
    "fake_cuda_captured_nodes",
    "fake_cuda_graph_instantiates",
    "fake_cuda_graph_launches",
    "fake_cuda_replayed_nodes",
    "fake_cuda_graph_exec_destroys",
    "fake_cuda_live_graphs",
    "fake_cublaslt_captured_matmuls",
    "fake_cublaslt_replayed_matmuls"};

// Both stand-ins' counters at one moment; tests look at differences.
struct Counters {
  int value[NumCounters];
  int operator[](Counter c) const { return value[c]; }
};
Counters readCounters() {
  Counters c;
  for (int i = 0; i < NumCounters; ++i)
    c.value[i] = strncmp(kCounterNames[i], "fake_cublaslt", 13) == 0
                     ? blasCounter(kCounterNames[i])
                     : driverCounter(kCounterNames[i]);
  return c;
}
Counters operator-(const Counters &a, const Counters &b) {
  Counters d;
  for (int i = 0; i < NumCounters; ++i)
    d.value[i] = a.value[i] - b.value[i];
  return d;
}

// The fake model's device work per run: a memset, the empty-K product's
// 2-d memset, two GEMMs, the add_one kernel, a memset and the batched GEMM.
constexpr int kNodesPerRun = 7, kGemmsPerRun = 3;

enum class RunKind { Plain, Captured, Replayed };

// What the counters of one run must show for each kind of run.
void expectRunKind(const Counters &d, RunKind kind) {
  bool plain = kind == RunKind::Plain;
  EXPECT_EQ(d[Launches], plain ? 1 : 0) << "kernels launched directly";
  EXPECT_EQ(d[Matmuls], plain ? kGemmsPerRun : 0) << "GEMMs run directly";
  EXPECT_EQ(d[Captures], kind == RunKind::Captured ? 1 : 0);
  EXPECT_EQ(d[Instantiates], kind == RunKind::Captured ? 1 : 0);
  EXPECT_EQ(d[CapturedNodes], kind == RunKind::Captured ? kNodesPerRun : 0);
  EXPECT_EQ(d[CapturedMatmuls], kind == RunKind::Captured ? kGemmsPerRun : 0);
  EXPECT_EQ(d[GraphLaunches], plain ? 0 : 1);
  EXPECT_EQ(d[ReplayedNodes], plain ? 0 : kNodesPerRun);
  EXPECT_EQ(d[ReplayedMatmuls], plain ? 0 : kGemmsPerRun);
}

// Runs `io` through `s` (host buffers) and checks the outputs against the
// reference; returns what the stand-ins counted meanwhile.
Counters runChecked(kiln_session *s, Io &io) {
  Counters before = readCounters();
  kiln_status st = kiln_session_run(s, io.in, 2, io.out, 2);
  EXPECT_EQ(st, KILN_OK) << kiln_session_last_error(s);
  EXPECT_STREQ(kiln_session_last_error(s), "");
  expectReference(io);
  return readCounters() - before;
}

// A session per test; at its end, the session is destroyed and every graph
// it made must have been destroyed with it.
class CudaGraphs : public ::testing::Test {
protected:
  void open(const kiln_abi_model &model) {
    atCreate = readCounters();
    ASSERT_EQ(kiln_session_create(&model, nullptr, &session), KILN_OK);
  }
  void SetUp() override { open(kModel); }
  void TearDown() override {
    kiln_session_destroy(session);
    Counters d = readCounters() - atCreate;
    EXPECT_EQ(d[LiveGraphs], 0) << "graphs or graph execs left alive";
    EXPECT_EQ(d[ExecDestroys], d[Instantiates]);
    EXPECT_EQ(driverCounter("fake_cuda_live_allocs"), 0);
  }

  // Runs `io` once per entry of `kinds`, with new input values each time
  // (seeds from `seed` on), and checks each run's outputs and kind.
  void expectRuns(Io &io, int seed, std::initializer_list<RunKind> kinds) {
    for (RunKind kind : kinds) {
      SCOPED_TRACE("n = " + std::to_string(io.n) + ", run with seed " +
                   std::to_string(seed));
      io.refill(seed++);
      expectRunKind(runChecked(session, io), kind);
    }
  }

  kiln_session *session = nullptr;
  Counters atCreate;
};

TEST_F(CudaGraphs, SecondRunCapturesLaterRunsReplay) {
  Io io(5, 1);
  {
    SCOPED_TRACE("first run");
    Counters d = runChecked(session, io);
    expectRunKind(d, RunKind::Plain);
    EXPECT_EQ(d[HtodCopies], 2 + 2); // the constants and the inputs
  }
  {
    SCOPED_TRACE("second run, same shapes: captured and launched");
    io.refill(2);
    Counters d = runChecked(session, io);
    expectRunKind(d, RunKind::Captured);
    EXPECT_EQ(d[HtodCopies], 2); // the inputs, outside the graph
    EXPECT_EQ(d[LiveGraphs], 1); // the exec; the graph was destroyed
    EXPECT_EQ(driverCounter("fake_cuda_capture_mode"),
              1); // CU_STREAM_CAPTURE_MODE_THREAD_LOCAL
  }
  for (int seed = 3; seed < 6; ++seed) {
    SCOPED_TRACE("later run " + std::to_string(seed) + ": replayed");
    io.refill(seed);
    std::fill(io.y.begin(), io.y.end(), -1.0f);
    std::fill(io.z.begin(), io.z.end(), -1.0f);
    Counters d = runChecked(session, io);
    expectRunKind(d, RunKind::Replayed);
    EXPECT_EQ(d[HtodCopies], 2);
  }
}

TEST_F(CudaGraphs, EachShapeHasItsOwnGraph) {
  Io five(5, 1), three(3, 2);
  expectRuns(five, 1, {RunKind::Plain, RunKind::Captured});
  // A new shape is not replayed from n = 5's graph.
  expectRuns(three, 3, {RunKind::Plain, RunKind::Captured});
  for (int seed = 5; seed < 9; seed += 2) {
    // Alternating shapes replay their own graphs.
    expectRuns(five, seed, {RunKind::Replayed});
    expectRuns(three, seed + 1, {RunKind::Replayed});
  }
}

TEST_F(CudaGraphs, ArenaGrowthDropsTheGraphs) {
  Io small(5, 1);
  expectRuns(small, 1, {RunKind::Plain, RunKind::Captured});
  {
    SCOPED_TRACE("n = 200000 needs about 22 MB, more than the 16 MiB chunk");
    Io large(200000, 3);
    Counters d = runChecked(session, large);
    expectRunKind(d, RunKind::Plain);
    EXPECT_EQ(d[ExecDestroys], 1) << "n = 5's graph holds the old chunk";
  }
  // n = 5 again, in the merged chunk: plain, captured, replayed.
  expectRuns(small, 4, {RunKind::Plain, RunKind::Captured, RunKind::Replayed});
}

TEST_F(CudaGraphs, AtMostEightGraphsLeastRecentlyUsedGoesFirst) {
  for (int64_t n = 1; n <= 10; ++n) {
    Io io(n, 0);
    expectRuns(io, int(n), {RunKind::Plain, RunKind::Captured});
  }
  Counters d = readCounters() - atCreate;
  EXPECT_EQ(d[Instantiates], 10);
  EXPECT_EQ(d[LiveGraphs], 8);
  EXPECT_EQ(d[ExecDestroys], 2) << "n = 1 and n = 2 were evicted";
  Io ten(10, 0), one(1, 0);
  expectRuns(ten, 20, {RunKind::Replayed});
  // n = 1 was evicted: plain, then captured again.
  expectRuns(one, 21, {RunKind::Plain, RunKind::Captured});
}

TEST_F(CudaGraphs, ShapesSeenOnceDoNotEvictGraphs) {
  Io five(5, 1);
  expectRuns(five, 1, {RunKind::Plain, RunKind::Captured});
  // Like decode steps with a growing cache: every run a new shape.
  for (int64_t n = 10; n < 30; ++n) {
    Io io(n, 0);
    expectRuns(io, int(n), {RunKind::Plain});
  }
  expectRuns(five, 3, {RunKind::Replayed});
}

// A capture that fails must leave a correct plain run, and the key is not
// captured again.
void expectCaptureFallsBack(kiln_session *s) {
  Io io(4, 1);
  expectRunKind(runChecked(s, io), RunKind::Plain);
  {
    SCOPED_TRACE("second run: the capture fails, the run is made plainly");
    io.refill(2);
    Counters d = runChecked(s, io);
    EXPECT_EQ(d[Captures], 1);
    EXPECT_EQ(d[Instantiates], 0);
    EXPECT_EQ(d[GraphLaunches], 0);
    EXPECT_EQ(d[Launches], 1);
    EXPECT_EQ(d[Matmuls], kGemmsPerRun);
    EXPECT_EQ(d[LiveGraphs], 0);
  }
  {
    SCOPED_TRACE("third run: plain, no second attempt");
    io.refill(3);
    expectRunKind(runChecked(s, io), RunKind::Plain);
  }
}

int *knob(const char *library, const char *name) {
  return static_cast<int *>(dlsym(fakeLibrary(library), name));
}

TEST_F(CudaGraphs, DriverRefusingALaunchInCaptureFallsBack) {
  int *refuse = knob("driver", "fake_cuda_refuse_capture_launches");
  ASSERT_TRUE(refuse);
  *refuse = 1;
  expectCaptureFallsBack(session);
  *refuse = 0;
}

TEST_F(CudaGraphs, CublasLtRefusingACaptureFallsBack) {
  int *refuse = knob("blas", "fake_cublaslt_refuse_capture");
  ASSERT_TRUE(refuse);
  *refuse = 1;
  expectCaptureFallsBack(session);
  *refuse = 0;
}

// The model's second call (the capture) first asks for 64 MiB more: the
// arena may not grow inside a capture.
int gGrowingRunCalls = 0;
int32_t growingRun(void *const *in, void *const *out, const int64_t *s) {
  if (++gGrowingRunCalls == 2 && !kiln_cuda_alloc(64ll << 20))
    return 0; // as generated code would go on; the run is failed anyway
  return fakeRun(in, out, s);
}

TEST_F(CudaGraphs, ArenaGrowthInCaptureFallsBack) {
  static kiln_abi_model model = kModel;
  model.run = growingRun;
  kiln_session_destroy(session);
  gGrowingRunCalls = 0;
  open(model);
  int allocsBefore = driverCounter("fake_cuda_allocs");
  expectCaptureFallsBack(session);
  EXPECT_EQ(gGrowingRunCalls, 4) << "plain, capture, its plain rerun, plain";
  // The first run's chunk and the two weights; no 64 MiB chunk.
  EXPECT_EQ(driverCounter("fake_cuda_allocs") - allocsBefore, 1 + 2);
}

TEST_F(CudaGraphs, RunDeviceReplaysForTheSameBuffers) {
  // The stand-in's device memory is host memory: host buffers serve as
  // device pointers, and the graph reads the inputs where they are.
  Io io(6, 1);
  RunKind kinds[] = {RunKind::Plain, RunKind::Captured, RunKind::Replayed,
                     RunKind::Replayed};
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE("run_device " + std::to_string(i));
    io.refill(i);
    Counters before = readCounters();
    ASSERT_EQ(kiln_session_run_device(session, io.in, 2, io.out, 2), KILN_OK)
        << kiln_session_last_error(session);
    expectReference(io);
    Counters d = readCounters() - before;
    expectRunKind(d, kinds[i]);
    EXPECT_EQ(d[HtodCopies], i == 0 ? 2 : 0) << "only the constants";
  }
  {
    SCOPED_TRACE("other output buffers: not the graph of the first ones");
    Io other(6, 7);
    Counters before = readCounters();
    ASSERT_EQ(kiln_session_run_device(session, io.in, 2, other.out, 2), KILN_OK)
        << kiln_session_last_error(session);
    std::copy(io.x.begin(), io.x.end(), other.x.begin());
    std::copy(io.x2.begin(), io.x2.end(), other.x2.begin());
    expectReference(other);
    expectRunKind(readCounters() - before, RunKind::Plain);
  }
}

} // namespace
