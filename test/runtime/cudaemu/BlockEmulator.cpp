//===- BlockEmulator.cpp - CUDA blocks run on the host as fibers ----------===//
#include "BlockEmulator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

// Fibers switch stacks behind the sanitizers' backs unless told.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define KILN_EMU_ASAN 1
#endif
#if __has_feature(thread_sanitizer)
#define KILN_EMU_TSAN 1
#endif
#endif
#ifdef KILN_EMU_ASAN
#include <sanitizer/asan_interface.h>
#endif
#ifdef KILN_EMU_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace kiln::cudaemu {

namespace {

enum class State { Runnable, AtWarpBarrier, AtBlockBarrier, Done };

constexpr size_t kStackBytes = size_t(256) << 10;

struct Fiber {
  ucontext_t context;
  char *stack;
  State state;
  Thread thread;
#ifdef KILN_EMU_TSAN
  void *tsanFiber;
#endif
};

} // namespace

class BlockRun {
public:
  BlockRun(uint32_t threads, size_t sharedBytes, ThreadBody body, void *arg)
      : threads(threads), sharedBytes(sharedBytes), body(body), arg(arg) {}
  ~BlockRun();
  bool allocate();
  const char *runBlock(const uint32_t block[3]);

  float *exchange = nullptr;
  void wait(int tid, State state);

private:
  static void entry();
  void switchTo(int tid);
  void switchToScheduler(int tid, bool exiting);
  bool release();

  uint32_t threads;
  size_t sharedBytes;
  ThreadBody body;
  void *arg;
  Fiber *fibers = nullptr;
  void *shared = nullptr;
  ucontext_t scheduler;
  int current = -1;
#ifdef KILN_EMU_ASAN
  void *schedulerFakeStack = nullptr;
  const void *schedulerStackBottom = nullptr;
  size_t schedulerStackSize = 0;
#endif
#ifdef KILN_EMU_TSAN
  void *schedulerTsanFiber = nullptr;
#endif
};

namespace {
thread_local BlockRun *running;
char errorText[256];
} // namespace

BlockRun::~BlockRun() {
  if (fibers)
    for (uint32_t t = 0; t < threads; ++t) {
      free(fibers[t].stack);
#ifdef KILN_EMU_TSAN
      if (fibers[t].tsanFiber)
        __tsan_destroy_fiber(fibers[t].tsanFiber);
#endif
    }
  free(fibers);
  free(shared);
  free(exchange);
}

bool BlockRun::allocate() {
  fibers = static_cast<Fiber *>(calloc(threads, sizeof(Fiber)));
  shared = malloc(sharedBytes ? sharedBytes : 1);
  exchange = static_cast<float *>(
      malloc(sizeof(float) * Thread::kMaxShuffle * threads));
  if (!fibers || !shared || !exchange)
    return false;
  for (uint32_t t = 0; t < threads; ++t) {
    fibers[t].stack = static_cast<char *>(malloc(kStackBytes));
    if (!fibers[t].stack)
      return false;
#ifdef KILN_EMU_TSAN
    fibers[t].tsanFiber = __tsan_create_fiber(0);
#endif
  }
  return true;
}

void BlockRun::switchTo(int tid) {
  current = tid;
  Fiber &f = fibers[tid];
#ifdef KILN_EMU_ASAN
  __sanitizer_start_switch_fiber(&schedulerFakeStack, f.stack, kStackBytes);
#endif
#ifdef KILN_EMU_TSAN
  __tsan_switch_to_fiber(f.tsanFiber, 0);
#endif
  swapcontext(&scheduler, &f.context);
#ifdef KILN_EMU_ASAN
  __sanitizer_finish_switch_fiber(schedulerFakeStack, nullptr, nullptr);
#endif
}

void BlockRun::switchToScheduler(int tid, bool exiting) {
  Fiber &f = fibers[tid];
#ifdef KILN_EMU_ASAN
  void *fakeStack = nullptr;
  __sanitizer_start_switch_fiber(exiting ? nullptr : &fakeStack,
                                 schedulerStackBottom, schedulerStackSize);
#endif
#ifdef KILN_EMU_TSAN
  __tsan_switch_to_fiber(schedulerTsanFiber, 0);
#endif
  swapcontext(&f.context, &scheduler);
#ifdef KILN_EMU_ASAN
  __sanitizer_finish_switch_fiber(fakeStack, &schedulerStackBottom,
                                  &schedulerStackSize);
#endif
  (void)exiting;
}

void BlockRun::entry() {
  BlockRun *self = running;
  int tid = self->current;
#ifdef KILN_EMU_ASAN
  __sanitizer_finish_switch_fiber(nullptr, &self->schedulerStackBottom,
                                  &self->schedulerStackSize);
#endif
  self->body(self->arg, self->fibers[tid].thread, self->shared);
  self->fibers[tid].state = State::Done;
  self->switchToScheduler(tid, /*exiting=*/true);
  abort(); // a finished fiber is never resumed
}

void BlockRun::wait(int tid, State state) {
  fibers[tid].state = state;
  switchToScheduler(tid, /*exiting=*/false);
}

bool BlockRun::release() {
  bool released = false;
  uint32_t atBlock = 0;
  for (uint32_t t = 0; t < threads; ++t)
    atBlock += fibers[t].state == State::AtBlockBarrier;
  if (atBlock == threads) {
    for (uint32_t t = 0; t < threads; ++t)
      fibers[t].state = State::Runnable;
    return true;
  }
  for (uint32_t w = 0; w < threads; w += 32) {
    bool all = true;
    for (uint32_t t = w; t < w + 32; ++t)
      all = all && fibers[t].state == State::AtWarpBarrier;
    if (!all)
      continue;
    for (uint32_t t = w; t < w + 32; ++t)
      fibers[t].state = State::Runnable;
    released = true;
  }
  return released;
}

const char *BlockRun::runBlock(const uint32_t block[3]) {
  // Fresh shared memory per block, NaN so that a read before any write
  // shows in the results.
  float *words = static_cast<float *>(shared);
  for (size_t i = 0; i < sharedBytes / sizeof(float); ++i)
    words[i] = NAN;
#ifdef KILN_EMU_TSAN
  schedulerTsanFiber = __tsan_get_current_fiber();
#endif
  for (uint32_t t = 0; t < threads; ++t) {
    Fiber &f = fibers[t];
    f.state = State::Runnable;
    f.thread.run = this;
    f.thread.tid = int(t);
    f.thread.threads = threads;
    memcpy(f.thread.block, block, sizeof(f.thread.block));
    getcontext(&f.context);
    f.context.uc_stack.ss_sp = f.stack;
    f.context.uc_stack.ss_size = kStackBytes;
    f.context.uc_link = nullptr;
    makecontext(&f.context, entry, 0);
  }
  BlockRun *outer = running;
  running = this;
  bool reverse = false;
  const char *error = nullptr;
  for (;;) {
    for (uint32_t n = 0; n < threads; ++n) {
      uint32_t t = reverse ? threads - 1 - n : n;
      if (fibers[t].state == State::Runnable)
        switchTo(int(t));
    }
    reverse = !reverse;
    bool done = true;
    for (uint32_t t = 0; t < threads; ++t)
      done = done && fibers[t].state == State::Done;
    if (done)
      break;
    if (!release()) {
      snprintf(errorText, sizeof(errorText),
               "block (%u, %u, %u): a barrier that cannot complete (threads "
               "of one block or warp wait at different barriers or have "
               "exited)",
               block[0], block[1], block[2]);
      error = errorText;
      break;
    }
  }
  running = outer;
  return error;
}

void Thread::syncThreads() { run->wait(tid, State::AtBlockBarrier); }
void Thread::syncWarp() { run->wait(tid, State::AtWarpBarrier); }
float *Thread::exchangeSlot(int thread) {
  return run->exchange + thread * kMaxShuffle;
}

const char *launch(const uint32_t grid[3], uint32_t blockThreads,
                   size_t sharedBytes, ThreadBody body, void *arg) {
  if (blockThreads == 0 || blockThreads % 32 || blockThreads > 1024)
    return "block size must be a multiple of 32 up to 1024";
  BlockRun run(blockThreads, sharedBytes, body, arg);
  if (!run.allocate())
    return "out of host memory for the emulated block";
  uint32_t block[3];
  for (block[2] = 0; block[2] < grid[2]; ++block[2])
    for (block[1] = 0; block[1] < grid[1]; ++block[1])
      for (block[0] = 0; block[0] < grid[0]; ++block[0])
        if (const char *error = run.runBlock(block))
          return error;
  return nullptr;
}

} // namespace kiln::cudaemu
