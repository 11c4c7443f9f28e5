//===- MemrefCopy.cpp - Strided copy for lowered memref.copy --------------===//
//
// MLIR lowers a memref.copy between non-contiguous layouts to a call to
// `memrefCopy(elemSize, UnrankedMemRef *src, UnrankedMemRef *dst)`, normally
// provided by libmlir_c_runner_utils. Artifacts must not depend on that
// library, so the runtime provides it.
//
//===----------------------------------------------------------------------===//
#include "ExecutionContext.h"

#include <stdint.h>
#include <string.h>

namespace {
struct UnrankedMemRef {
  int64_t rank;
  void *descriptor;
};
/// The ranked descriptor: {allocated, aligned, offset, sizes[rank],
/// strides[rank]}.
struct RankedView {
  char *aligned;
  int64_t offset;
  const int64_t *sizes;
  const int64_t *strides;
};

RankedView view(const UnrankedMemRef *m) {
  auto *words = static_cast<int64_t *>(m->descriptor);
  RankedView v;
  v.aligned = reinterpret_cast<char *>(words[1]);
  v.offset = words[2];
  v.sizes = words + 3;
  v.strides = words + 3 + m->rank;
  return v;
}

/// Runs [first, last) of a copy split into `run`-element runs over `outer`
/// dims.
struct RunCopy {
  RankedView s, d;
  int64_t elemSize, outer, run;

  void copy(int64_t first, int64_t last) const {
    // Kiln's importer caps ranks at 64; anything else is a compiler bug that
    // must not pass as a partial copy.
    constexpr int64_t kMaxRank = 64;
    if (outer > kMaxRank)
      __builtin_trap();
    int64_t index[kMaxRank] = {0};
    int64_t sOff = s.offset, dOff = d.offset;
    for (int64_t i = outer - 1, rest = first; i >= 0 && rest; --i) {
      index[i] = rest % s.sizes[i];
      rest /= s.sizes[i];
      sOff += index[i] * s.strides[i];
      dOff += index[i] * d.strides[i];
    }
    size_t runBytes = (size_t)(run * elemSize);
    for (int64_t n = first; n < last; ++n) {
      memcpy(d.aligned + dOff * elemSize, s.aligned + sOff * elemSize,
             runBytes);
      // Odometer increment over the outer dims, innermost first.
      for (int64_t i = outer - 1; i >= 0; --i) {
        ++index[i];
        sOff += s.strides[i];
        dOff += d.strides[i];
        if (index[i] < s.sizes[i])
          break;
        sOff -= s.strides[i] * s.sizes[i];
        dOff -= d.strides[i] * d.sizes[i];
        index[i] = 0;
      }
    }
  }
};

// Below this a copy stays on the calling thread: the pool's wake-up costs
// more than one core's share of the copy.
constexpr size_t kParallelCopyBytes = size_t(256) << 10;
constexpr size_t kCopyChunkBytes = size_t(128) << 10;
} // namespace

extern "C" __attribute__((visibility("hidden"))) void
memrefCopy(int64_t elemSize, UnrankedMemRef *src, UnrankedMemRef *dst) {
  int64_t rank = src->rank;
  RankedView s = view(src), d = view(dst);
  int64_t total = 1;
  for (int64_t i = 0; i < rank; ++i)
    total *= s.sizes[i];
  if (total == 0)
    return;
  // A view copied onto itself: what an in-place KV cache's Concat(past, new)
  // does with the past part.
  if (s.aligned + s.offset * elemSize == d.aligned + d.offset * elemSize) {
    bool same = true;
    for (int64_t i = 0; i < rank; ++i)
      same &= s.sizes[i] == 1 || s.strides[i] == d.strides[i];
    if (same)
      return;
  }
  // The innermost dims that are contiguous in both views (or of extent 1)
  // form one run for memcpy: a KV-cache concat copies whole rows of D, or
  // whole [S, D] blocks, instead of one element per call.
  int64_t outer = rank, run = 1;
  while (outer > 0) {
    int64_t i = outer - 1;
    if (s.sizes[i] != 1 && (s.strides[i] != run || d.strides[i] != run))
      break;
    run *= s.sizes[i];
    --outer;
  }
  RunCopy c{s, d, elemSize, outer, run};
  int64_t runs = total / run;
  size_t bytes = (size_t)(total * elemSize);
  if (runs < 2 || bytes < kParallelCopyBytes) {
    c.copy(0, runs);
    return;
  }
  // A decode graph's Concat(past, new) into its present output copies the
  // whole cache each step; one core's stores alone leave half the memory
  // bandwidth unused.
  size_t runBytes = (size_t)(run * elemSize);
  int64_t grain = (int64_t)(kCopyChunkBytes / runBytes);
  kiln_rt_parallel_for(
      0, runs, grain > 0 ? grain : 1,
      [](void *arg, int64_t begin, int64_t end, int32_t) {
        static_cast<const RunCopy *>(arg)->copy(begin, end);
      },
      &c);
}
