//===- Int8Gemm.cpp - int8 GEMM on compile-time-packed weights ------------===//
//
// kiln.qlinear on the CPU: activations quantized to uint8 (per row, or per
// tensor as ONNX's DynamicQuantizeLinear), multiplied by int8 weights packed
// at compile time (Int8Packing.h) with int32 accumulation, then rescaled,
// biased and activated; or, with KILN_RT_QUANT_NONE, f32 activations times
// the dequantized weights.
//
// The driver cuts C into items of a row range x a chunk of panels, run on
// the context's pool. Each worker quantizes a row range into its own
// scratch the first time one of its items needs it, and reuses it for its
// later items of the same call. Ranges are as many as the threads, and items
// alternate between them, so with the pool's workers in step each one keeps
// to its range and A is quantized once. Up to 8 rows (a decode step) form
// one range: each weight panel is then read once for all rows. An item's
// kernel takes the panels a few at a time and sweeps its rows under them,
// so the panels come from memory once and from L1 or L2 after that, and
// rescales, biases and activates each finished tile while it is in cache.
//
// This file holds the entry point, the driver and the portable kernels; the
// x86 variants are x86/Int8GemmAvx2.cpp and x86/Int8GemmAvx512Vnni.cpp, the
// aarch64 one arm/Int8GemmNeonDot.cpp.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int8Gemm.h"

#include "ExecutionContext.h"
#include "ThreadPool.h"
#include "kernels/GemmItems.h"
#include "kernels/Int8GemmKernels.h"
#include "kernels/Int8Packing.h"
#include "kernels/KernelError.h"

#include <atomic>
#include <float.h>
#include <stdio.h>
#include <stdlib.h>

namespace kiln::int8 {

namespace {

//===----------------------------------------------------------------------===//
// Portable kernels
//===----------------------------------------------------------------------===//

int32_t columnSum(const QLinearProblem &p, int64_t j) {
  int32_t sum;
  memcpy(&sum, p.colSums + 4 * j, 4);
  return sum;
}

void quantizeGeneric(const QLinearProblem &p, int64_t m0, int64_t rows,
                     uint8_t *dst, int64_t lda, float *scale, int32_t *zero) {
  for (int64_t i = 0; i < rows; ++i)
    quantizeRowScalar(p, m0 + i, dst + i * lda, scale[i], zero[i]);
}

void gemmGeneric(const QLinearProblem &p, const QuantizedRows &q, int64_t m0,
                 int64_t rows, int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel) {
    const int8_t *b = p.panels + panel * p.panelStride;
    int64_t n0 = panel * kInt8Panel;
    int64_t cols = p.n - n0 < kInt8Panel ? p.n - n0 : kInt8Panel;
    for (int64_t i = 0; i < rows; ++i) {
      const uint8_t *qa = q.data + i * q.lda;
      int32_t acc[kInt8Panel] = {};
      for (int64_t g = 0; g < p.kp / 4; ++g)
        for (int j = 0; j < kInt8Panel; ++j)
          for (int r = 0; r < 4; ++r)
            acc[j] += (int32_t)qa[4 * g + r] * (int32_t)b[g * 64 + j * 4 + r];
      float *c = p.c + (m0 + i) * p.scm + n0 * p.scn;
      for (int64_t j = 0; j < cols; ++j) {
        float v = (float)(acc[j] - q.zero[i] * columnSum(p, n0 + j)) *
                  (q.scale[i] * p.scales[n0 + j]);
        c[j * p.scn] = p.bias ? v + p.bias[n0 + j] : v;
      }
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

void weightOnlyGeneric(const QLinearProblem &p, int64_t m0, int64_t rows,
                       int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel) {
    const int8_t *b = p.panels + panel * p.panelStride;
    int64_t n0 = panel * kInt8Panel;
    int64_t cols = p.n - n0 < kInt8Panel ? p.n - n0 : kInt8Panel;
    for (int64_t i = 0; i < rows; ++i) {
      const float *a = p.a + (m0 + i) * p.sam;
      float acc[kInt8Panel] = {};
      for (int64_t kk = 0; kk < p.k; ++kk) {
        float av = a[kk * p.sak];
        const int8_t *w = b + (kk / 4) * 64 + kk % 4;
        for (int j = 0; j < kInt8Panel; ++j)
          acc[j] += av * (float)w[j * 4];
      }
      float *c = p.c + (m0 + i) * p.scm + n0 * p.scn;
      for (int64_t j = 0; j < cols; ++j) {
        float v = acc[j] * p.scales[n0 + j];
        c[j * p.scn] = p.bias ? v + p.bias[n0 + j] : v;
      }
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

void minMaxGeneric(const float *a, int64_t sam, int64_t m, int64_t k, float &lo,
                   float &hi) {
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < k; ++j) {
      float v = a[i * sam + j];
      lo = v < lo ? v : lo;
      hi = v > hi ? v : hi;
    }
}

} // namespace

const Int8Kernels kInt8Generic = {1, quantizeGeneric, gemmGeneric,
                                  weightOnlyGeneric, minMaxGeneric};
#if defined(__aarch64__)
const Int8Kernels kInt8NeonDot = {1, quantizeNeonDot, gemmNeonDot,
                                  weightOnlyGeneric, minMaxGeneric};
#endif

namespace {

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

// Rows per block: the driver runs blocks one after the other, and a worker's
// scratch holds one block's quantized rows (768 KiB at K = 3072).
constexpr int64_t kBlockRows = 256;
// Row ranges are whole register tiles of the widest variant.
constexpr int64_t kRowTile = 8;
// Column chunks are whole multiples of every kernel's panel group (3 for
// the VNNI kernel, 2 for the weight-only one).
constexpr int64_t kPanelUnit = 6;
// Accumulated in int32: |sum_k (u8 - zp) * w| <= K * 255 * 128 < 2^31.
constexpr int64_t kMaxK = 65536;

const Int8Kernels &kernelsFor(Int8Isa isa) {
#if defined(__x86_64__)
  if (isa == Int8Isa::Amx)
    return kInt8Amx;
  if (isa == Int8Isa::Avx512Vnni)
    return kInt8Avx512Vnni;
  if (isa == Int8Isa::Avx2)
    return kInt8Avx2;
#endif
#if defined(__aarch64__)
  if (isa == Int8Isa::NeonDot)
    return kInt8NeonDot;
#endif
  (void)isa;
  return kInt8Generic;
}

// A block of one row range on several threads (a decode step's rows):
// the workers quantize its rows together, a group of kSharedRows at a time,
// into one scratch, where each worker quantized all of them into its own.
// A worker takes groups until none is left, then waits for the groups
// others took, which running workers are quantizing: one that never comes
// leaves its share to the others. GPT-2 small int8 at batch 16 spent 7% of
// a step quantizing each row twice.
constexpr int64_t kSharedRows = 2;
constexpr int64_t kSharedMinRows = 4;
struct SharedRows {
  uint8_t *scratch; // laid out as a worker's
  int64_t groups;
  std::atomic<int64_t> next{0}, done{0};
};

// A worker's scratch: QuantizedScratch's header, then the block's row
// scales, zero points and quantized rows.
struct Block {
  const QLinearProblem *p;
  const Int8Kernels *kernels;
  kiln_rt_context *ctx;
  uint8_t *ownScratch; // without a context
  size_t scratchBytes;
  uint64_t block; // QuantizedScratch::nextBlock
  int64_t m0;     // the block's first row
  GemmItems items;
  int64_t lda;       // bytes between quantized rows
  int64_t vecsBytes; // of the scales, and of the zero points
  std::atomic<bool> *outOfMemory;
  SharedRows *shared; // or null: each worker quantizes into its own
};

// The rows of blk.shared, quantized by the workers together; returns once
// all are.
void quantizeShared(const Block &blk) {
  SharedRows &s = *blk.shared;
  const int64_t rows = blk.items.rows;
  uint8_t *vecs = s.scratch + QuantizedScratch::kBytes;
  for (;;) {
    const int64_t g = s.next.fetch_add(1, std::memory_order_relaxed);
    if (g >= s.groups)
      break;
    const int64_t r0 = g * kSharedRows;
    const int64_t n = rows - r0 < kSharedRows ? rows - r0 : kSharedRows;
    blk.kernels->quantize(
        *blk.p, blk.m0 + r0, n, vecs + 2 * blk.vecsBytes + r0 * blk.lda,
        blk.lda, reinterpret_cast<float *>(vecs) + r0,
        reinterpret_cast<int32_t *>(vecs + blk.vecsBytes) + r0);
    s.done.fetch_add(1, std::memory_order_release);
  }
  while (s.done.load(std::memory_order_acquire) < s.groups)
    cpuRelax();
}

void runItems(void *raw, int64_t begin, int64_t end, int32_t worker) {
  const Block &blk = *static_cast<const Block *>(raw);
  const QLinearProblem &p = *blk.p;
  uint8_t *scratch = nullptr;
  if (blk.shared) {
    quantizeShared(blk);
    scratch = blk.shared->scratch;
  } else if (p.quant != KILN_RT_QUANT_NONE &&
             !(scratch = gemmWorkerScratch(blk.ctx, worker, blk.scratchBytes,
                                           blk.ownScratch, blk.outOfMemory))) {
    return;
  }
  for (int64_t i = begin; i < end; ++i) {
    const GemmItem it = blk.items.item(i);
    const int64_t row0 = it.row0, rows = it.rows;
    if (p.quant == KILN_RT_QUANT_NONE) {
      blk.kernels->weightOnly(p, blk.m0 + row0, rows, it.first, it.last);
      continue;
    }
    uint8_t *vecs = scratch + QuantizedScratch::kBytes;
    auto *scale = reinterpret_cast<float *>(vecs) + row0;
    auto *zero = reinterpret_cast<int32_t *>(vecs + blk.vecsBytes) + row0;
    uint8_t *data = vecs + 2 * blk.vecsBytes + row0 * blk.lda;
    if (!blk.shared && QuantizedScratch::claim(scratch, blk.block, it.range))
      blk.kernels->quantize(p, blk.m0 + row0, rows, data, blk.lda, scale, zero);
    blk.kernels->gemm(p, QuantizedRows{data, blk.lda, scale, zero},
                      blk.m0 + row0, rows, it.first, it.last);
  }
}

} // namespace

} // namespace kiln::int8

namespace kiln {

using namespace int8;

void qlinearS8F32(const kiln_memref2_f32 &a, const int8_t *packed,
                  const float *scales, const kiln_memref2_f32 &c,
                  const Epilogue &epilogue, int32_t quant, Int8Isa isa,
                  float inputScale, int32_t inputZero) {
  const int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
  if (m == 0 || n == 0)
    return;
  const Int8Kernels &kernels = kernelsFor(isa);
  QLinearProblem p{};
  p.a = a.aligned + a.offset;
  p.sam = a.strides[0];
  p.sak = a.strides[1];
  p.panels = packed;
  p.kp = paddedK(k);
  p.panelStride = p.kp * kInt8Panel;
  p.colSums = reinterpret_cast<const char *>(packed + panelBytes(k, n));
  p.scales = scales;
  p.bias = epilogue.bias;
  p.c = c.aligned + c.offset;
  p.scm = c.strides[0];
  p.scn = c.strides[1];
  p.m = m;
  p.n = n;
  p.k = k;
  // The kernels quantize with given parameters in the same way for both.
  p.quant = quant == KILN_RT_QUANT_STATIC_U8 ? KILN_RT_QUANT_TENSOR_U8 : quant;
  p.activation = Epilogue{nullptr, epilogue.activation};
  p.activationFn = epilogueFor(p.activation, epilogueIsaFor(isa));

  if (quant == KILN_RT_QUANT_TENSOR_U8) {
    // ONNX DynamicQuantizeLinear: the range always includes 0.
    float lo = 0.0f, hi = 0.0f;
    if (p.sak == 1)
      kernels.minMax(p.a, p.sam, m, k, lo, hi);
    else
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < k; ++j) {
          float v = p.a[i * p.sam + j * p.sak];
          lo = v < lo ? v : lo;
          hi = v > hi ? v : hi;
        }
    p.tensorScale = (hi - lo) / 255.0f;
    p.tensorDivisor = p.tensorScale == 0.0f ? 1.0f : p.tensorScale;
    p.tensorZero = clampU8(nearbyintf(-lo / p.tensorDivisor));
  } else if (quant == KILN_RT_QUANT_STATIC_U8) {
    p.tensorScale = inputScale;
    p.tensorDivisor = inputScale;
    p.tensorZero = inputZero;
  }
  if (p.quant == KILN_RT_QUANT_TENSOR_U8) {
    p.tensorReciprocal = 1.0f / p.tensorDivisor;
    // Markstein's correction gives the IEEE quotient while neither the
    // divisor nor its reciprocal leaves the normal range.
    const float lowest = 0x1p-125f, highest = 0x1p125f;
    p.tensorReciprocalExact =
        p.tensorDivisor >= lowest && p.tensorDivisor <= highest;
  }

  kiln_rt_context *ctx = kiln_rt_current_context();
  const bool parallel = gemmRunsParallel(ctx, m, n, k);
  const int64_t threads = parallel ? ctx->num_threads : 1;
  const int64_t panelCount = panels(n);
  const int64_t lda = roundUp(p.kp * kernels.elementBytes, 64);
  const int64_t blockRows = m < kBlockRows ? m : kBlockRows;
  const int64_t vecsBytes = roundUp(blockRows * 4, 64);
  const size_t scratchBytes =
      size_t(QuantizedScratch::kBytes + 2 * vecsBytes + blockRows * lda);

  void *owned = nullptr;
  if (!ctx && quant != KILN_RT_QUANT_NONE &&
      posix_memalign(&owned, 64, scratchBytes) != 0)
    owned = nullptr;
  std::atomic<bool> outOfMemory{false};
  for (int64_t m0 = 0; m0 < m; m0 += kBlockRows) {
    Block blk{};
    blk.p = &p;
    blk.kernels = &kernels;
    blk.ctx = ctx;
    blk.ownScratch = static_cast<uint8_t *>(owned);
    blk.scratchBytes = scratchBytes;
    blk.block = QuantizedScratch::nextBlock();
    blk.m0 = m0;
    blk.items = gemmItems(m - m0 < kBlockRows ? m - m0 : kBlockRows, kRowTile,
                          threads, panelCount, kPanelUnit);
    blk.lda = lda;
    blk.vecsBytes = vecsBytes;
    blk.outOfMemory = &outOfMemory;
    // Worker 0's scratch holds the shared rows: outside any parallel loop
    // (parallel_depth 0) no worker is using it, and in this mode none takes
    // its own.
    SharedRows shared;
    if (parallel && blk.items.ranges == 1 && quant != KILN_RT_QUANT_NONE &&
        blk.items.rows >= kSharedMinRows && ctx->parallel_depth == 0 &&
        (shared.scratch =
             static_cast<uint8_t *>(ctx->scratch(ctx, 0, scratchBytes)))) {
      shared.groups = (blk.items.rows + kSharedRows - 1) / kSharedRows;
      blk.shared = &shared;
    }
    if (quant != KILN_RT_QUANT_NONE)
      runGemmRanges(ctx, parallel, blk.items, threads, runItems, &blk);
    else
      runGemmItems(ctx, parallel, blk.items.items, runItems, &blk);
  }
  free(owned);
  if (outOfMemory.load(std::memory_order_relaxed)) {
    char message[128];
    snprintf(message, sizeof(message),
             "qlinear_s8_f32: no memory for %llu bytes of scratch",
             (unsigned long long)scratchBytes);
    reportError(message);
  }
}

} // namespace kiln

/// The checks both int8 entry points make, reported as `name`'s; whether
/// the call may go on.
static bool checkQLinear(const char *name, const kiln_memref2_f32 *a,
                         const kiln_memref1_i8 *packed,
                         const kiln_memref1_f32 *scales,
                         const kiln_memref1_f32 *bias,
                         const kiln_memref2_f32 *c, int32_t activation) {
  char message[256];
  if (!a || !packed || !scales || !bias || !c) {
    snprintf(message, sizeof(message), "%s: NULL memref descriptor", name);
    kiln::reportError(message);
    return false;
  }
  const int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  if (activation < KILN_RT_ACT_NONE || activation > KILN_RT_ACT_SILU) {
    snprintf(message, sizeof(message), "%s: unknown activation %d", name,
             (int)activation);
    kiln::reportError(message);
    return false;
  }
  if (k > kiln::int8::kMaxK) {
    snprintf(message, sizeof(message),
             "%s: K of %lld is over %lld, where the int32 accumulators could "
             "overflow",
             name, (long long)k, (long long)kiln::int8::kMaxK);
    kiln::reportError(message);
    return false;
  }
  if (a->sizes[0] != m || m < 0 || n < 0 || k < 0 ||
      packed->sizes[0] != kiln::int8::packedBytes(k, n) ||
      packed->strides[0] != 1 || scales->sizes[0] != n ||
      scales->strides[0] != 1 ||
      (bias->sizes[0] != 0 && (bias->sizes[0] != n || bias->strides[0] != 1))) {
    snprintf(message, sizeof(message),
             "%s: a [%lld, %lld] and c [%lld, %lld] need %lld packed weight "
             "bytes and %lld scales, got %lld and %lld (bias %lld)",
             name, (long long)a->sizes[0], (long long)k, (long long)m,
             (long long)n, (long long)kiln::int8::packedBytes(k, n),
             (long long)n, (long long)packed->sizes[0],
             (long long)scales->sizes[0], (long long)bias->sizes[0]);
    kiln::reportError(message);
    return false;
  }
  return true;
}

static kiln::Epilogue epilogueOf(const kiln_memref1_f32 *bias,
                                 int32_t activation) {
  return kiln::Epilogue{bias->sizes[0] ? bias->aligned + bias->offset : nullptr,
                        activation};
}

extern "C" void _mlir_ciface_kiln_rt_qlinear_s8_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *scales,
    kiln_memref1_f32 *bias, kiln_memref2_f32 *c, int32_t activation,
    int32_t quant) {
  const char *name = "qlinear_s8_f32";
  if (quant < KILN_RT_QUANT_ROW || quant > KILN_RT_QUANT_NONE) {
    char message[128];
    snprintf(message, sizeof(message), "%s: unknown quantization %d", name,
             (int)quant);
    kiln::reportError(message);
    return;
  }
  if (!checkQLinear(name, a, packed, scales, bias, c, activation))
    return;
  kiln::qlinearS8F32(*a, packed->aligned + packed->offset,
                     scales->aligned + scales->offset, *c,
                     epilogueOf(bias, activation), quant, kiln::bestInt8Isa());
}

extern "C" void _mlir_ciface_kiln_rt_qlinear_static_s8_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *scales,
    kiln_memref1_f32 *bias, kiln_memref2_f32 *c, int32_t activation,
    float inputScale, int32_t inputZero) {
  const char *name = "qlinear_static_s8_f32";
  // What kiln.qlinear's verifier accepts. Near the ends of that range the
  // vector kernels' reciprocal is not exact and they quantize with the
  // scalar division instead (tensorReciprocalExact).
  if (!(inputScale >= FLT_MIN && inputScale <= FLT_MAX) || inputZero < 0 ||
      inputZero > 255) {
    char message[160];
    snprintf(message, sizeof(message),
             "%s: input scale %g must be a positive normal number and zero "
             "point %d in [0, 255]",
             name, (double)inputScale, (int)inputZero);
    kiln::reportError(message);
    return;
  }
  if (!checkQLinear(name, a, packed, scales, bias, c, activation))
    return;
  kiln::qlinearS8F32(*a, packed->aligned + packed->offset,
                     scales->aligned + scales->offset, *c,
                     epilogueOf(bias, activation), KILN_RT_QUANT_STATIC_U8,
                     kiln::bestInt8Isa(), inputScale, inputZero);
}
