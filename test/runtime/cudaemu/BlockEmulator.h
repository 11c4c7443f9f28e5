//===- BlockEmulator.h - CUDA blocks run on the host ------------*- C++ -*-===//
//
// Runs a kernel body written against the `Gpu` interface of
// runtime/cuda/kernels/FlashAttention.h on the host: every thread of a block
// is a fiber with its own stack, a fiber runs until it reaches a barrier
// (syncThreads, syncWarp, or the two halves of a shuffle), and the barrier
// releases its block or warp once every thread of it has arrived. A barrier
// that cannot complete (threads of one block or warp at different barriers,
// or some of them exited) is reported instead of hanging, which a GPU
// would do or not depending on the chip. Released threads run in forward
// order after one barrier and in reverse order after the next, so a read of
// shared memory that a missing barrier leaves racing sees the unwritten
// value in one of the two. Shared memory starts filled with NaN.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_CUDAEMU_BLOCKEMULATOR_H
#define KILN_TEST_RUNTIME_CUDAEMU_BLOCKEMULATOR_H

#include <stddef.h>
#include <stdint.h>

namespace kiln::cudaemu {

class BlockRun;

/// What a kernel body sees as its GPU: indices, barriers, shuffles.
class Thread {
public:
  int threadIdxX() const { return tid; }
  uint32_t blockIdxX() const { return block[0]; }
  uint32_t blockIdxY() const { return block[1]; }
  uint32_t blockIdxZ() const { return block[2]; }
  uint32_t blockDimX() const { return threads; }
  void syncThreads();
  void syncWarp();
  /// out[r] = in[r] of lane (this lane ^ mask), as __shfl_xor_sync with a
  /// full mask.
  template <int N>
  void shflXor(float (&out)[N], const float (&in)[N], int mask) {
    static_assert(N <= kMaxShuffle, "raise kMaxShuffle");
    float *mine = exchangeSlot(tid);
    for (int r = 0; r < N; ++r)
      mine[r] = in[r];
    syncWarp();
    const float *theirs = exchangeSlot((tid & ~31) | ((tid & 31) ^ mask));
    for (int r = 0; r < N; ++r)
      out[r] = theirs[r];
    syncWarp();
  }

  static constexpr int kMaxShuffle = 8;

private:
  friend class BlockRun;
  float *exchangeSlot(int thread);
  BlockRun *run;
  int tid;
  uint32_t threads;
  uint32_t block[3];
};

/// The body of one thread: `arg` is the launch's, `shared` the block's
/// shared memory.
using ThreadBody = void (*)(void *arg, Thread &gpu, void *shared);

/// Runs `body` for every thread of a grid[0] x grid[1] x grid[2] grid of
/// `blockThreads`-thread blocks (a multiple of 32, at most 1024), one block
/// after another. Returns null, or what went wrong.
const char *launch(const uint32_t grid[3], uint32_t blockThreads,
                   size_t sharedBytes, ThreadBody body, void *arg);

} // namespace kiln::cudaemu

#endif
