//===- GemmItems.h - Cutting a quantized GEMM into pool items ---*- C++ -*-===//
//
// The int8 and int4 GEMM drivers (Int8Gemm.cpp, Int4Gemm.cpp) cut a block
// of C's rows into items of a row range x a chunk of panels. Ranges are as
// many as the threads where each gets two register tiles of rows or more
// (at most 64, the bits of a worker's record of what it has quantized), so
// that a decode step's few rows stay one range and each weight panel is
// read once for all of them; chunks give about four items per thread.
//
// Both drivers quantize their activations into each worker's scratch, the
// same memory for both: QuantizedScratch's header says which block of which
// call, and which of its row ranges, the rest holds.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_GEMMITEMS_H
#define KILN_RUNTIME_KERNELS_GEMMITEMS_H

#include "ExecutionContext.h"

#include <atomic>
#include <stdint.h>

namespace kiln {

// Below this many multiply-adds, waking the pool costs more than it saves:
// a quarter of the fp32 kernels' bound, a multiply-add costing about a
// quarter as much here. Measured on an int8 decode step of 768 x 768
// streaming its weights from memory: 39.5 us on the caller alone, 22.8 on 2
// threads.
constexpr int64_t kGemmParallelMacs = int64_t(1) << 18;

/// Whether an m x n x k GEMM runs on ctx's pool.
inline bool gemmRunsParallel(const kiln_rt_context *ctx, int64_t m, int64_t n,
                             int64_t k) {
  int64_t macs = 0;
  return ctx && ctx->num_threads > 1 &&
         !__builtin_mul_overflow(m * n, k, &macs) && macs >= kGemmParallelMacs;
}

inline int64_t roundUp(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/// One item: rows [row0, row0 + rows) of the block, row range `range`, and
/// panels [first, last).
struct GemmItem {
  int64_t range, row0, rows, first, last;
};

struct GemmItems {
  int64_t rows, panels;      // the block's
  int64_t ranges, rangeRows; // row ranges, whole tiles of rows each
  int64_t chunkPanels;       // panels per chunk, a multiple of the unit
  int64_t items;             // ranges x chunks; item i is range i % ranges

  GemmItem item(int64_t i) const {
    GemmItem it;
    it.range = i % ranges;
    it.row0 = it.range * rangeRows;
    it.rows = rows - it.row0 < rangeRows ? rows - it.row0 : rangeRows;
    it.first = i / ranges * chunkPanels;
    it.last = it.first + chunkPanels < panels ? it.first + chunkPanels : panels;
    return it;
  }
};

inline GemmItems gemmItems(int64_t rows, int64_t rowTile, int64_t threads,
                           int64_t panels, int64_t panelUnit) {
  GemmItems s{};
  s.rows = rows;
  s.panels = panels;
  int64_t tiles = (rows + rowTile - 1) / rowTile;
  int64_t ranges = tiles / 2 < threads ? tiles / 2 : threads;
  ranges = ranges < 1 ? 1 : (ranges > 64 ? 64 : ranges);
  s.rangeRows = (tiles + ranges - 1) / ranges * rowTile;
  s.ranges = (rows + s.rangeRows - 1) / s.rangeRows;
  const int64_t units = (panels + panelUnit - 1) / panelUnit;
  int64_t chunks = threads > 1 ? (4 * threads + s.ranges - 1) / s.ranges : 1;
  chunks = chunks > units ? units : chunks;
  s.chunkPanels = (units + chunks - 1) / chunks * panelUnit;
  s.items = s.ranges * ((panels + s.chunkPanels - 1) / s.chunkPanels);
  return s;
}

/// Runs fn over [0, items): on the pool when `parallel`, else inline, with
/// the caller's worker index where there is a context (for its scratch).
inline void runGemmItems(kiln_rt_context *ctx, bool parallel, int64_t items,
                         kiln_rt_task_fn fn, void *arg) {
  if (parallel)
    ctx->parallel_for(ctx, 0, items, 1, fn, arg);
  else if (ctx)
    ctx->parallel_for(ctx, 0, items, items, fn, arg);
  else
    fn(arg, 0, items, 0);
}

/// runGemmItems over `s`'s items, except where each thread has a row range
/// of its own: then one task per range, which runs that range's items in
/// order, so that the worker that takes a task quantizes its range once.
/// Items interleaved over the pool's one counter sent a worker to both
/// ranges as often as not (a 512 x 768 x 2304 int8 GEMM on 2 threads
/// quantized 768-1024 rows of A for its 512).
inline void runGemmRanges(kiln_rt_context *ctx, bool parallel,
                          const GemmItems &s, int64_t threads,
                          kiln_rt_task_fn fn, void *arg) {
  if (!parallel || s.ranges < 2 || s.ranges < threads)
    return runGemmItems(ctx, parallel, s.items, fn, arg);
  struct Tasks {
    const GemmItems *s;
    kiln_rt_task_fn fn;
    void *arg;
  } tasks{&s, fn, arg};
  ctx->parallel_for(
      ctx, 0, s.ranges, 1,
      [](void *raw, int64_t begin, int64_t end, int32_t worker) {
        const Tasks &t = *static_cast<const Tasks *>(raw);
        for (int64_t range = begin; range < end; ++range)
          for (int64_t i = range; i < t.s->items; i += t.s->ranges)
            t.fn(t.arg, i, i + 1, worker);
      },
      &tasks);
}

/// The start of a worker's scratch in a GEMM that quantizes its
/// activations; the driver's layout follows at kBytes.
struct QuantizedScratch {
  static constexpr int64_t kBytes = 64;
  uint64_t block;     // the block the rest belongs to (nextBlock)
  uint64_t quantized; // bit r: row range r is there

  /// A new block's number: unique across the int8 and int4 drivers, whose
  /// calls share each worker's scratch.
  static uint64_t nextBlock() {
    static std::atomic<uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  /// Whether row range `range` of `block` must still be quantized into
  /// `scratch`: true once, for the caller to do it then.
  static bool claim(uint8_t *scratch, uint64_t block, int64_t range) {
    auto *header = reinterpret_cast<QuantizedScratch *>(scratch);
    if (header->block != block) {
      header->block = block;
      header->quantized = 0;
    }
    if ((header->quantized >> range) & 1)
      return false;
    header->quantized |= uint64_t(1) << range;
    return true;
  }
};

/// `worker`'s scratch of `bytes`: the context's, or `own` without one. Null
/// when out of memory, which `outOfMemory` then records.
inline uint8_t *gemmWorkerScratch(kiln_rt_context *ctx, int32_t worker,
                                  size_t bytes, uint8_t *own,
                                  std::atomic<bool> *outOfMemory) {
  uint8_t *scratch =
      ctx ? static_cast<uint8_t *>(ctx->scratch(ctx, worker, bytes)) : own;
  if (!scratch)
    outOfMemory->store(true, std::memory_order_relaxed);
  return scratch;
}

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_GEMMITEMS_H
