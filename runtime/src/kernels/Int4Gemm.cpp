//===- Int4Gemm.cpp - int4 weight-only GEMM on packed weights -------------===//
//
// kiln.qlinear_int4 on the CPU: f32 activations times 4-bit weights packed
// at compile time (Int4Packing.h), dequantized in the kernel, f32 math.
// Within a group of K the kernels sum a * (u - 8) unscaled, then add the
// group's sum times its scale (and, with zero points, the sum of a over the
// group times the offset), so scaling costs one multiply-add per group
// instead of one per weight.
//
// The driver cuts C into items of a row range x a chunk of panels, run on
// the context's pool. Up to 8 rows (a decode step) form one range and one
// register tile: each weight panel is read from memory once for all rows,
// and the threads split the panels. More rows get a range per thread, and
// an item's kernel sweeps its rows under a few panels at a time, which then
// come from L1 or L2 (a panel of K = 3072 at group 32 is 27 KiB).
//
// Larger M runs the same f32 kernel (compute-bound there, at the f32 FMA
// rate); quantizing the activations to use VNNI is not done.
//
// This file holds the entry point, the driver and the portable kernel; the
// x86 variants are x86/Int4GemmAvx2.cpp and x86/Int4GemmAvx512.cpp.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4Gemm.h"

#include "ExecutionContext.h"
#include "kernels/Int4GemmKernels.h"
#include "kernels/Int4Packing.h"
#include "kernels/KernelError.h"

#include <stdio.h>
#include <string.h>

namespace kiln::int4 {

namespace {

//===----------------------------------------------------------------------===//
// Portable kernel
//===----------------------------------------------------------------------===//

float loadFloat(const uint8_t *at) {
  float v;
  memcpy(&v, at, 4);
  return v;
}

void gemmGeneric(const Int4Problem &p, int64_t m0, int64_t rows, int64_t first,
                 int64_t last) {
  const int64_t groupCount = p.groupCount;
  for (int64_t panel = first; panel < last; ++panel) {
    const uint8_t *b = p.packed + panel * p.panelStride;
    const int64_t n0 = panel * kInt4Panel;
    const int64_t cols = p.n - n0 < kInt4Panel ? p.n - n0 : kInt4Panel;
    for (int64_t i = 0; i < rows; ++i) {
      const float *a = p.a + (m0 + i) * p.sam;
      float acc[kInt4Panel] = {};
      for (int64_t G = 0; G < groupCount; ++G) {
        const uint8_t *block = b + G * p.groupBytes;
        const uint8_t *nibbles = block + p.headerBytes;
        const int64_t k0 = G * p.group;
        const int64_t kn = p.k - k0 < p.group ? p.k - k0 : p.group;
        float sum[kInt4Panel] = {}, asum = 0;
        for (int64_t r = 0; r < kn; ++r) {
          float av = a[(k0 + r) * p.sak];
          asum += av;
          const uint8_t *bytes = nibbles + (r / 8) * 64 + (r % 8) / 2;
          for (int j = 0; j < kInt4Panel; ++j) {
            int32_t u = r % 2 ? bytes[4 * j] >> 4 : bytes[4 * j] & 0x0f;
            sum[j] += av * (float)(u - 8);
          }
        }
        for (int j = 0; j < kInt4Panel; ++j) {
          acc[j] += sum[j] * loadFloat(block + 4 * j);
          if (p.zeroPoints)
            acc[j] += asum * loadFloat(block + 64 + 4 * j);
        }
      }
      float *c = p.c + (m0 + i) * p.scm + n0 * p.scn;
      for (int64_t j = 0; j < cols; ++j)
        c[j * p.scn] = p.bias ? acc[j] + p.bias[n0 + j] : acc[j];
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

} // namespace

const Int4Kernels kInt4Generic = {gemmGeneric, 1};

namespace {

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

// Row ranges are whole register tiles of the widest variant.
constexpr int64_t kRowTile = 8;
// Below this many multiply-adds, waking the pool costs more than it saves
// (the int8 GEMM's bound, Int8Gemm.cpp; a decode step of 768 x 768 is over
// it).
constexpr int64_t kParallelMacs = int64_t(1) << 18;

const Int4Kernels &kernelsFor(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return kInt4Avx512;
  if (isa == MatmulIsa::Avx2)
    return kInt4Avx2;
#endif
  (void)isa;
  return kInt4Generic;
}

struct Split {
  const Int4Problem *p;
  Int4GemmFn gemm;
  int64_t ranges, rangeRows;
  int64_t panels, chunkPanels;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t) {
  const Split &s = *static_cast<const Split *>(raw);
  for (int64_t item = begin; item < end; ++item) {
    int64_t range = item % s.ranges, chunk = item / s.ranges;
    int64_t row0 = range * s.rangeRows;
    int64_t rows = s.p->m - row0 < s.rangeRows ? s.p->m - row0 : s.rangeRows;
    int64_t first = chunk * s.chunkPanels;
    int64_t last =
        first + s.chunkPanels < s.panels ? first + s.chunkPanels : s.panels;
    s.gemm(*s.p, row0, rows, first, last);
  }
}

} // namespace

} // namespace kiln::int4

namespace kiln {

using namespace int4;

void qlinearS4F32(const kiln_memref2_f32 &a, const uint8_t *packed,
                  int64_t group, bool zeroPoints, const kiln_memref2_f32 &c,
                  const Epilogue &epilogue, MatmulIsa isa) {
  const int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
  if (m == 0 || n == 0)
    return;
  const Int4Kernels &kernels = kernelsFor(isa);
  Int4Problem p{};
  p.a = a.aligned + a.offset;
  p.sam = a.strides[0];
  p.sak = a.strides[1];
  p.packed = packed;
  p.panelStride = panelBytes(k, group, zeroPoints);
  p.groupBytes = groupBytes(group, zeroPoints);
  p.headerBytes = groupHeaderBytes(zeroPoints);
  p.group = group;
  p.groupCount = groups(k, group);
  p.zeroPoints = zeroPoints;
  p.bias = epilogue.bias;
  p.c = c.aligned + c.offset;
  p.scm = c.strides[0];
  p.scn = c.strides[1];
  p.m = m;
  p.n = n;
  p.k = k;
  p.activation = Epilogue{nullptr, epilogue.activation};
  p.activationFn = epilogueFor(p.activation, isa);

  kiln_rt_context *ctx = kiln_rt_current_context();
  int64_t macs = 0;
  bool parallel = ctx && ctx->num_threads > 1 &&
                  !__builtin_mul_overflow(m * n, k, &macs) &&
                  macs >= kParallelMacs;
  const int64_t threads = parallel ? ctx->num_threads : 1;
  const int64_t panelCount = panels(n);
  const int64_t unit = kernels.panelUnit;
  const int64_t units = (panelCount + unit - 1) / unit;

  Split s{};
  s.p = &p;
  s.gemm = kernels.gemm;
  // A range per thread where each gets two row tiles or more.
  int64_t tiles = (m + kRowTile - 1) / kRowTile;
  int64_t ranges = tiles / 2 < threads ? tiles / 2 : threads;
  ranges = ranges < 1 ? 1 : ranges;
  s.rangeRows = (tiles + ranges - 1) / ranges * kRowTile;
  s.ranges = (m + s.rangeRows - 1) / s.rangeRows;
  // About four items per thread, to balance them.
  int64_t chunks = threads > 1 ? (4 * threads + s.ranges - 1) / s.ranges : 1;
  chunks = chunks > units ? units : chunks;
  s.chunkPanels = (units + chunks - 1) / chunks * unit;
  s.panels = panelCount;
  chunks = (panelCount + s.chunkPanels - 1) / s.chunkPanels;
  int64_t items = s.ranges * chunks;
  if (parallel)
    ctx->parallel_for(ctx, 0, items, 1, runItems, &s);
  else
    runItems(&s, 0, items, 0);
}

} // namespace kiln

extern "C" void _mlir_ciface_kiln_rt_qlinear_s4_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation, int32_t groupSize,
    int32_t zeroPoints) {
  if (!a || !packed || !bias || !c) {
    kiln::reportError("qlinear_s4_f32: NULL memref descriptor");
    return;
  }
  const int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  char message[256];
  if (activation < KILN_RT_ACT_NONE || activation > KILN_RT_ACT_SILU ||
      groupSize <= 0 || groupSize % kiln::int4::kInt4Octet != 0 ||
      (zeroPoints != 0 && zeroPoints != 1)) {
    snprintf(message, sizeof(message),
             "qlinear_s4_f32: unknown activation %d, or group size %d (a "
             "positive multiple of 8) or zero_points %d (0 or 1)",
             (int)activation, (int)groupSize, (int)zeroPoints);
    kiln::reportError(message);
    return;
  }
  const int64_t bytes =
      n < 0 || k < 0 ? -1
                     : kiln::int4::packedBytes(k, n, groupSize, zeroPoints);
  if (a->sizes[0] != m || m < 0 || n < 0 || k < 0 ||
      packed->sizes[0] != bytes || packed->strides[0] != 1 ||
      (bias->sizes[0] != 0 && (bias->sizes[0] != n || bias->strides[0] != 1))) {
    snprintf(message, sizeof(message),
             "qlinear_s4_f32: a [%lld, %lld] and c [%lld, %lld] need %lld "
             "packed weight bytes (group %d%s), got %lld (bias %lld)",
             (long long)a->sizes[0], (long long)k, (long long)m, (long long)n,
             (long long)bytes, (int)groupSize,
             zeroPoints ? ", zero points" : "", (long long)packed->sizes[0],
             (long long)bias->sizes[0]);
    kiln::reportError(message);
    return;
  }
  kiln::Epilogue epilogue{
      bias->sizes[0] ? bias->aligned + bias->offset : nullptr, activation};
  kiln::qlinearS4F32(
      *a, reinterpret_cast<const uint8_t *>(packed->aligned + packed->offset),
      groupSize, zeroPoints != 0, *c, epilogue, kiln::bestMatmulIsa());
}
