//===- ArtifactConcurrencyTest.cpp - Sessions of a real artifact in threads
//===//
//
// gpt2_tiny_prefill compiled by kilnc (test/runtime/CMakeLists.txt), run from
// many threads at once: each thread's outputs must be bitwise identical to
// the same run made alone on one thread. The artifact is dlopen'ed and its
// descriptor run by the runtime linked into this test (instrumented under
// scripts/sanitize.sh), and, outside of TSan, also through the C API that the
// artifact itself exports, as a product would call it.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime.h"

#include "ExecutionContext.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define KILN_UNDER_TSAN 1
#endif
#endif

namespace {

/// The C API entry points a test drives: this binary's runtime, or the one
/// inside the artifact.
struct Api {
  decltype(&kiln_session_options_init) optionsInit;
  decltype(&kiln_session_create) create;
  decltype(&kiln_session_destroy) destroy;
  decltype(&kiln_session_run_alloc) runAlloc;
  decltype(&kiln_session_last_error) lastError;
};

const Api kLinkedApi = {kiln_session_options_init, kiln_session_create,
                        kiln_session_destroy, kiln_session_run_alloc,
                        kiln_session_last_error};

struct Artifact {
  void *handle = nullptr;
  const kiln_abi_model *model = nullptr;
  Api api{};
  std::string error;

  Artifact() {
    handle = dlopen(KILN_GPT2_ARTIFACT, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
      error = dlerror();
      return;
    }
    model = static_cast<const kiln_abi_model *>(
        dlsym(handle, "kiln_model_descriptor"));
    api.optionsInit = reinterpret_cast<decltype(api.optionsInit)>(
        dlsym(handle, "kiln_session_options_init"));
    api.create = reinterpret_cast<decltype(api.create)>(
        dlsym(handle, "kiln_session_create"));
    api.destroy = reinterpret_cast<decltype(api.destroy)>(
        dlsym(handle, "kiln_session_destroy"));
    api.runAlloc = reinterpret_cast<decltype(api.runAlloc)>(
        dlsym(handle, "kiln_session_run_alloc"));
    api.lastError = reinterpret_cast<decltype(api.lastError)>(
        dlsym(handle, "kiln_session_last_error"));
    if (!model || !api.optionsInit || !api.create || !api.destroy ||
        !api.runAlloc || !api.lastError)
      error = "the artifact lacks its descriptor or a C API function";
  }
};

const Artifact &artifact() {
  static Artifact a;
  return a;
}

struct Shape {
  int64_t batch, seq;
};
// Symbol values the runs cycle through: 1 and several of each, odd sizes.
const Shape kShapes[] = {{1, 7}, {2, 16}, {3, 5}, {1, 33}};
constexpr int kNumShapes = sizeof(kShapes) / sizeof(kShapes[0]);

/// Every output of one run: dims and bytes.
struct RunResult {
  std::vector<std::vector<int64_t>> dims;
  std::vector<std::vector<char>> bytes;
  bool operator==(const RunResult &o) const {
    return dims == o.dims && bytes == o.bytes;
  }
};

/// Runs `s` on token ids derived from `shape`, the first of them `firstId`
/// where that is not negative; returns false (and the status and message)
/// on a failed run.
bool runShape(const Api &api, kiln_session *s, Shape shape, RunResult &result,
              std::string &message, int64_t firstId = -1,
              kiln_status *status = nullptr) {
  const kiln_abi_model &m = *artifact().model;
  std::vector<std::vector<int64_t>> dims(m.num_inputs);
  std::vector<std::vector<int64_t>> data(m.num_inputs);
  std::vector<kiln_tensor> inputs(m.num_inputs);
  for (int32_t i = 0; i < m.num_inputs; ++i) {
    const kiln_abi_tensor &sig = m.inputs[i];
    size_t count = 1;
    for (int32_t d = 0; d < sig.rank; ++d) {
      int64_t extent = sig.dims[d];
      if (extent < 0) // symbol 0 is batch, 1 is seq in this model
        extent = sig.dim_symbols[d] == 0 ? shape.batch : shape.seq;
      dims[i].push_back(extent);
      count *= (size_t)extent;
    }
    data[i].resize(count);
    for (size_t k = 0; k < count; ++k)
      data[i][k] = (int64_t)((k * 37 + shape.seq * 11 + i) % 1000);
    if (i == 0 && firstId >= 0)
      data[i][0] = firstId;
    inputs[i] = {static_cast<kiln_dtype>(sig.dtype), sig.rank, dims[i].data(),
                 data[i].data(), count * sizeof(int64_t)};
  }
  kiln_tensor *outs = nullptr;
  size_t n = 0;
  kiln_status st = api.runAlloc(s, inputs.data(), inputs.size(), &outs, &n);
  if (status)
    *status = st;
  if (st != KILN_OK) {
    message = api.lastError(s);
    return false;
  }
  result.dims.clear();
  result.bytes.clear();
  for (size_t o = 0; o < n; ++o) {
    result.dims.emplace_back(outs[o].dims, outs[o].dims + outs[o].rank);
    const char *p = static_cast<const char *>(outs[o].data);
    result.bytes.emplace_back(p, p + outs[o].size_bytes);
  }
  return true;
}

kiln_session *createSession(const Api &api, int32_t threads) {
  kiln_session_options opts;
  api.optionsInit(&opts);
  opts.num_threads = threads;
  kiln_session *s = nullptr;
  return api.create(artifact().model, &opts, &s) == KILN_OK ? s : nullptr;
}

class ArtifactConcurrency : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!artifact().error.empty())
      return;
    // The references: each shape run alone, by one thread, in a session of
    // one thread.
    kiln_session *s = createSession(kLinkedApi, 1);
    ASSERT_NE(s, nullptr);
    for (int k = 0; k < kNumShapes; ++k) {
      std::string message;
      ASSERT_TRUE(runShape(kLinkedApi, s, kShapes[k], references[k], message))
          << message;
    }
    kiln_session_destroy(s);
  }
  void SetUp() override {
    ASSERT_EQ(artifact().error, "") << "loading " KILN_GPT2_ARTIFACT;
  }

  /// `threads` threads, each with its own session of `sessionThreads`
  /// workers, run every shape `rounds` times; returns how many runs failed
  /// or differed from the references.
  static int runInThreads(const Api &api, int threads, int32_t sessionThreads,
                          int rounds, bool sessionPerRun) {
    std::atomic<int> bad{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        while (!go) // start together, for the most overlap
          std::this_thread::yield();
        kiln_session *s = nullptr;
        for (int r = 0; r < rounds * kNumShapes; ++r) {
          if (!s && !(s = createSession(api, sessionThreads))) {
            ++bad;
            return;
          }
          int k = (r + t) % kNumShapes;
          RunResult got;
          std::string message;
          if (!runShape(api, s, kShapes[k], got, message) ||
              !(got == references[k]))
            ++bad;
          if (sessionPerRun) {
            api.destroy(s);
            s = nullptr;
          }
        }
        api.destroy(s);
      });
    go = true;
    for (auto &th : pool)
      th.join();
    return bad;
  }

  static RunResult references[kNumShapes];
};

RunResult ArtifactConcurrency::references[kNumShapes];

TEST_F(ArtifactConcurrency, ReferencesAreDeterministic) {
  // A second session with two workers reproduces the one-thread references
  // bit for bit, so any difference under concurrency is a real one.
  kiln_session *s = createSession(kLinkedApi, 2);
  ASSERT_NE(s, nullptr);
  for (int k = 0; k < kNumShapes; ++k) {
    RunResult got;
    std::string message;
    ASSERT_TRUE(runShape(kLinkedApi, s, kShapes[k], got, message)) << message;
    // logits [batch, seq, vocab] come first.
    ASSERT_FALSE(got.dims.empty());
    EXPECT_EQ(got.dims[0],
              (std::vector<int64_t>{kShapes[k].batch, kShapes[k].seq, 1000}));
    EXPECT_EQ(got.dims, references[k].dims);
    EXPECT_TRUE(got == references[k]) << "shape " << k;
  }
  kiln_session_destroy(s);
}

// The file offset of the loaded segment that starts at `address`, or -1.
int64_t segmentFileOffset(const void *address) {
  struct Query {
    uintptr_t address;
    int64_t offset = -1;
  } q{reinterpret_cast<uintptr_t>(address)};
  dl_iterate_phdr(
      [](dl_phdr_info *info, size_t, void *raw) {
        auto &q = *static_cast<Query *>(raw);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const ElfW(Phdr) &ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD && info->dlpi_addr + ph.p_vaddr == q.address)
            q.offset = (int64_t)ph.p_offset;
        }
        return 0;
      },
      &q);
  return q.offset;
}

// The mapping of /proc/self/maps that holds `address`: "" where it has no
// file (anonymous memory), else the file's path; "?" where none does.
std::string mappingPathOf(const void *address) {
  FILE *maps = fopen("/proc/self/maps", "r");
  if (!maps)
    return "?";
  std::string path = "?";
  char line[4096];
  const auto at = reinterpret_cast<uintptr_t>(address);
  while (fgets(line, sizeof(line), maps)) {
    unsigned long lo = 0, hi = 0;
    int consumed = 0;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &lo, &hi, &consumed) < 2 ||
        at < lo || at >= hi)
      continue;
    std::string rest = line + consumed;
    size_t first = rest.find_first_not_of(" \t\n");
    path = first == std::string::npos ? "" : rest.substr(first);
    if (!path.empty() && path.back() == '\n')
      path.pop_back();
    break;
  }
  fclose(maps);
  return path;
}

// kilnc's default (--weights=embedded): the first session copied the
// weights onto anonymous memory at the same address (the runs above read
// them there), byte for byte the library file's.
TEST_F(ArtifactConcurrency, WeightsAreCopiedOntoAnonymousMemory) {
  const kiln_abi_weights *w = artifact().model->weights;
  ASSERT_NE(w, nullptr);
  EXPECT_EQ(w->mapped, 1);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(w->base) % 4096, 0u);
  EXPECT_EQ(mappingPathOf(w->base), "");
  int64_t offset = segmentFileOffset(w->base);
  ASSERT_GE(offset, 0);
  int fd = open(KILN_GPT2_ARTIFACT, O_RDONLY);
  ASSERT_GE(fd, 0);
  std::vector<char> file(w->bytes);
  EXPECT_EQ(pread(fd, file.data(), file.size(), offset), (ssize_t)file.size());
  close(fd);
  EXPECT_EQ(memcmp(file.data(), w->base, file.size()), 0);
}

TEST_F(ArtifactConcurrency, EightThreadsEachWithASession) {
  EXPECT_EQ(runInThreads(kLinkedApi, 8, 2, 3, /*sessionPerRun=*/false), 0);
}

TEST_F(ArtifactConcurrency, SessionsCreatedAndDestroyedConcurrently) {
  // Every run in its own session: creation, thread-pool start-up and
  // teardown overlap with other threads' runs.
  EXPECT_EQ(runInThreads(kLinkedApi, 8, 2, 2, /*sessionPerRun=*/true), 0);
}

/// Runs a fresh session with `maxArenaBytes` on input_ids [1, seq].
kiln_status runLongSequence(int64_t seq, uint64_t maxArenaBytes,
                            std::string &message) {
  kiln_session_options opts;
  kiln_session_options_init(&opts);
  opts.num_threads = 1;
  opts.max_arena_bytes = maxArenaBytes;
  kiln_session *s = nullptr;
  if (kiln_session_create(artifact().model, &opts, &s) != KILN_OK)
    return KILN_ERROR_INTERNAL;
  std::vector<int64_t> ids((size_t)seq, 7);
  int64_t dims[] = {1, seq};
  kiln_tensor input = {KILN_DTYPE_I64, 2, dims, ids.data(),
                       ids.size() * sizeof(int64_t)};
  kiln_tensor *outs = nullptr;
  size_t n = 0;
  kiln_status st = kiln_session_run_alloc(s, &input, 1, &outs, &n);
  message = kiln_session_last_error(s);
  kiln_session_destroy(s);
  return st;
}

TEST_F(ArtifactConcurrency, LongSequenceOverMaxArenaBytesIsRefused) {
  // 512 KiB of token ids imply 256 MB of logits alone: refused before the
  // model runs, with the session's limit in the message.
  std::string message;
  EXPECT_EQ(runLongSequence(65536, 64 << 20, message),
            KILN_ERROR_LIMIT_EXCEEDED);
  EXPECT_TRUE(message.starts_with("outputs need ")) << message;
  EXPECT_TRUE(message.ends_with(" bytes, over the session's max_arena_bytes "
                                "of 67108864"))
      << message;
}

// A limit that the outputs fit with 1 KiB to spare: the first intermediate
// buffer larger than that is refused inside generated code, and the run
// unwinds with LIMIT_EXCEEDED instead of allocating it (before the bound
// existed, GPT-2 tiny at seq 65536 allocated 64 GiB of attention scores here
// and wrote through NULL).
TEST_F(ArtifactConcurrency, IntermediatesCountAgainstMaxArenaBytes) {
  const int64_t seq = 256;
  kiln_session *s = createSession(kLinkedApi, 1);
  ASSERT_NE(s, nullptr);
  RunResult unbounded;
  std::string message;
  ASSERT_TRUE(runShape(kLinkedApi, s, {1, seq}, unbounded, message)) << message;
  kiln_session_destroy(s);
  uint64_t outputBytes = 0;
  for (const auto &bytes : unbounded.bytes)
    outputBytes += bytes.size();

  EXPECT_EQ(runLongSequence(seq, outputBytes + 1024, message),
            KILN_ERROR_LIMIT_EXCEEDED)
      << message;
  EXPECT_TRUE(message.find("an intermediate buffer of ") != std::string::npos)
      << message;
  EXPECT_TRUE(message.ends_with("over the session's max_arena_bytes of " +
                                std::to_string(outputBytes + 1024)))
      << message;
}

TEST_F(ArtifactConcurrency, RunsAfterARefusedIntermediateAreExact) {
  // seq 1024: 4 MB of logits fit 8 MB; the intermediates on top do not.
  // The refused run unwinds from inside generated code; the buffers it held
  // go back to the runtime, and later runs of the same session (through this
  // binary's runtime and the artifact's own) match the references bit for
  // bit.
  for (const Api *api : {&kLinkedApi, &artifact().api}) {
    kiln_session_options opts;
    api->optionsInit(&opts);
    opts.num_threads = 2;
    opts.max_arena_bytes = 8 << 20;
    kiln_session *s = nullptr;
    ASSERT_EQ(api->create(artifact().model, &opts, &s), KILN_OK);
    for (int round = 0; round < 3; ++round) {
      RunResult got;
      std::string message;
      EXPECT_FALSE(runShape(*api, s, {1, 1024}, got, message));
      EXPECT_TRUE(message.find("over the session's max_arena_bytes of "
                               "8388608") != std::string::npos)
          << message;
      for (int k = 0; k < kNumShapes; ++k) {
        ASSERT_TRUE(runShape(*api, s, kShapes[k], got, message)) << message;
        EXPECT_TRUE(got == references[k]) << "shape " << k;
      }
    }
    api->destroy(s);
  }
}

TEST_F(ArtifactConcurrency, RunsAfterAnOutOfRangeTokenAreExact) {
  // A token id past the vocabulary stops the run at the embedding's gather
  // (the index check unwinds from generated code) with INVALID_ARGUMENT
  // naming the node; the session's later runs match the references.
  for (const Api *api : {&kLinkedApi, &artifact().api}) {
    kiln_session *s = createSession(*api, 2);
    ASSERT_NE(s, nullptr);
    for (int round = 0; round < 2; ++round) {
      RunResult got;
      std::string message;
      kiln_status status = KILN_OK;
      EXPECT_FALSE(runShape(*api, s, kShapes[1], got, message, int64_t(1) << 40,
                            &status));
      EXPECT_EQ(status, KILN_ERROR_INVALID_ARGUMENT);
      EXPECT_NE(message.find("(Gather): index 1099511627776 (element 0 of the "
                             "indices) is out of range for an axis of extent"),
                std::string::npos)
          << message;
      for (int k = 0; k < kNumShapes; ++k) {
        ASSERT_TRUE(runShape(*api, s, kShapes[k], got, message)) << message;
        EXPECT_TRUE(got == references[k]) << "shape " << k;
      }
    }
    api->destroy(s);
  }
}

#ifndef KILN_UNDER_TSAN
// The runtime inside the artifact is not instrumented, so TSan would see
// only half of its synchronization: these run in the plain build only.
TEST_F(ArtifactConcurrency, ExportedApiFromEightThreads) {
  EXPECT_EQ(runInThreads(artifact().api, 8, 2, 2, /*sessionPerRun=*/false), 0);
  EXPECT_EQ(runInThreads(artifact().api, 8, 1, 1, /*sessionPerRun=*/true), 0);
}
#endif

// Generated parallel loops call the artifact's kiln_rt_parallel_for. It must
// find the host's context through the shared slot: once it read the
// artifact's own slot, so under kiln-run and kiln-serve every generated loop
// ran on the calling thread alone, and no output showed it.
TEST_F(ArtifactConcurrency, GeneratedParallelLoopsReachTheHostsContext) {
  using ParallelFor =
      void (*)(int64_t, int64_t, int64_t, kiln_rt_task_fn, void *);
  auto parallelFor = reinterpret_cast<ParallelFor>(
      dlsym(artifact().handle, "kiln_rt_parallel_for"));
  ASSERT_NE(parallelFor, nullptr);
  struct Calls {
    int viaContext = 0;
    int64_t items = 0;
  } calls;
  kiln_rt_context ctx{};
  ctx.version = KILN_RT_CONTEXT_VERSION;
  ctx.num_threads = 2;
  ctx.impl = &calls;
  ctx.parallel_for = [](kiln_rt_context *c, int64_t b, int64_t e, int64_t,
                        kiln_rt_task_fn fn, void *arg) {
    ++static_cast<Calls *>(c->impl)->viaContext;
    fn(arg, b, e, 1);
  };
  *kiln_rt_context_slot() = &ctx;
  parallelFor(
      0, 10, 1,
      [](void *arg, int64_t b, int64_t e, int32_t) {
        static_cast<Calls *>(arg)->items += e - b;
      },
      &calls);
  *kiln_rt_context_slot() = nullptr;
  EXPECT_EQ(calls.viaContext, 1);
  EXPECT_EQ(calls.items, 10);
}

} // namespace
