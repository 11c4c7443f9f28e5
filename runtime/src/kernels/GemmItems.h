//===- GemmItems.h - Cutting a quantized GEMM into pool items ---*- C++ -*-===//
//
// The int8 and int4 GEMM drivers (Int8Gemm.cpp, Int4Gemm.cpp) cut a block
// of C's rows into items of a row range x a chunk of panels. Ranges are as
// many as the threads where each gets two register tiles of rows or more
// (at most 64, the bits of a worker's record of what it has quantized), so
// that a decode step's few rows stay one range and each weight panel is
// read once for all of them; chunks give about four items per thread.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_KERNELS_GEMMITEMS_H
#define KILN_RUNTIME_KERNELS_GEMMITEMS_H

#include "ExecutionContext.h"

#include <stdint.h>

namespace kiln {

struct GemmItems {
  int64_t ranges, rangeRows; // row ranges, whole tiles of rows each
  int64_t chunkPanels;       // panels per chunk, a multiple of the unit
  int64_t items;             // ranges x chunks; item i is range i % ranges
};

inline GemmItems gemmItems(int64_t rows, int64_t rowTile, int64_t threads,
                           int64_t panels, int64_t panelUnit) {
  GemmItems s{};
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

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_GEMMITEMS_H
