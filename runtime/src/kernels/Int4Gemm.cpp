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
// rate).
//
// With quant = "row" (kiln_rt_qlinear_s4_q8_f32) the activations are
// quantized per row to int8 first, as the int8 GEMM's row mode does, and
// the kernels multiply them by the unpacked nibbles in integers (vpdpbusd),
// scaling once per group: four times the f32 kernels' products per
// instruction, so that a decode step at batch 8 stays bound by the weights'
// bandwidth. Each worker quantizes a row range into its own scratch the
// first time one of its items needs it, as the int8 driver does.
//
// This file holds the entry points, the driver and the portable kernels;
// the x86 variants are x86/Int4GemmAvx2.cpp and x86/Int4GemmAvx512.cpp, and
// for int8 activations x86/Int4GemmQ8Avx2.cpp and
// x86/Int4GemmQ8Avx512Vnni.cpp.
//
//===----------------------------------------------------------------------===//

#include "kernels/Int4Gemm.h"

#include "ExecutionContext.h"
#include "kernels/GemmItems.h"
#include "kernels/Int4GemmKernels.h"
#include "kernels/Int4Packing.h"
#include "kernels/KernelError.h"

#include <stdio.h>
#include <stdlib.h>
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

void quantizeQ8Generic(const Int4Problem &p, int64_t m0, int64_t rows,
                       const Q8Rows &q) {
  for (int64_t i = 0; i < rows; ++i)
    quantizeRowQ8Scalar(p, m0 + i, q, i);
}

// The vector kernels' arithmetic, in their order: exact integer sums per
// group, then one fused multiply-add by the scale (and one by the offset).
void gemmQ8Generic(const Int4Problem &p, const Q8Rows &q, int64_t m0,
                   int64_t rows, int64_t first, int64_t last) {
  for (int64_t panel = first; panel < last; ++panel) {
    const uint8_t *b = p.packed + panel * p.panelStride;
    const int64_t n0 = panel * kInt4Panel;
    const int64_t cols = p.n - n0 < kInt4Panel ? p.n - n0 : kInt4Panel;
    for (int64_t i = 0; i < rows; ++i) {
      const int8_t *a = q.data + i * q.lda;
      float acc[kInt4Panel] = {};
      for (int64_t G = 0; G < p.groupCount; ++G) {
        const uint8_t *block = b + G * p.groupBytes;
        const uint8_t *nibbles = block + p.headerBytes;
        int32_t dot[kInt4Panel] = {};
        for (int64_t r = 0; r < p.group; ++r) {
          int32_t av = a[G * p.group + q8Position(r)];
          const uint8_t *bytes = nibbles + (r / 8) * 64 + (r % 8) / 2;
          for (int j = 0; j < kInt4Panel; ++j)
            dot[j] += av * (r % 2 ? bytes[4 * j] >> 4 : bytes[4 * j] & 0x0f);
        }
        for (int j = 0; j < kInt4Panel; ++j) {
          acc[j] = fmaf((float)(dot[j] - q.corr(i)[G]),
                        loadFloat(block + 4 * j), acc[j]);
          if (p.zeroPoints)
            acc[j] = fmaf(q.sums(i)[G], loadFloat(block + 64 + 4 * j), acc[j]);
        }
      }
      float *c = p.c + (m0 + i) * p.scm + n0 * p.scn;
      for (int64_t j = 0; j < cols; ++j) {
        float v = acc[j] * q.scale[i];
        c[j * p.scn] = p.bias ? v + p.bias[n0 + j] : v;
      }
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

} // namespace

const Int4Kernels kInt4Generic = {gemmGeneric, 1};
const Int4Q8Kernels kInt4Q8Generic = {quantizeQ8Generic, gemmQ8Generic, 1};

namespace {

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

// Row ranges are whole register tiles of the widest variant.
constexpr int64_t kRowTile = 8;
// Rows per block with int8 activations: a worker's scratch holds one
// block's quantized rows (about 800 KiB at K = 3072).
constexpr int64_t kBlockRows = 256;

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

const Int4Q8Kernels &q8KernelsFor(Int8Isa isa) {
#if defined(__x86_64__)
  if (isa == Int8Isa::Avx512Vnni || isa == Int8Isa::Amx)
    return kInt4Q8Avx512Vnni;
  if (isa == Int8Isa::Avx2)
    return kInt4Q8Avx2;
#endif
  (void)isa;
  return kInt4Q8Generic;
}

// A worker's scratch with int8 activations: QuantizedScratch's header, the
// block's row scales, then its quantized rows.
struct Split {
  const Int4Problem *p;
  Int4GemmFn gemm;         // f32 activations
  const Int4Q8Kernels *q8; // or int8 ones
  kiln_rt_context *ctx;
  uint8_t *ownScratch; // without a context
  uint64_t block;      // QuantizedScratch::nextBlock
  int64_t m0;          // the block's first row
  GemmItems items;
  Q8Rows layout; // data and scale as offsets into a scratch
  int64_t scratchBytes;
  std::atomic<bool> *outOfMemory;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t worker) {
  const Split &s = *static_cast<const Split *>(raw);
  uint8_t *scratch = nullptr;
  if (s.q8 &&
      !(scratch = gemmWorkerScratch(s.ctx, worker, size_t(s.scratchBytes),
                                    s.ownScratch, s.outOfMemory)))
    return;
  for (int64_t i = begin; i < end; ++i) {
    const GemmItem it = s.items.item(i);
    if (!s.q8) {
      s.gemm(*s.p, s.m0 + it.row0, it.rows, it.first, it.last);
      continue;
    }
    Q8Rows q = s.layout;
    q.data = reinterpret_cast<int8_t *>(scratch) +
             reinterpret_cast<intptr_t>(q.data) + it.row0 * q.lda;
    q.scale =
        reinterpret_cast<float *>(scratch + QuantizedScratch::kBytes) + it.row0;
    if (QuantizedScratch::claim(scratch, s.block, it.range))
      s.q8->quantize(*s.p, s.m0 + it.row0, it.rows, q);
    s.q8->gemm(*s.p, q, s.m0 + it.row0, it.rows, it.first, it.last);
  }
}

// Runs p on the context's pool: with f32 activations through `gemm`, or
// with int8 ones through `q8`.
void run(const Int4Problem &p, Int4GemmFn gemm, const Int4Q8Kernels *q8,
         int64_t panelUnit) {
  const int64_t m = p.m, n = p.n;
  kiln_rt_context *ctx = kiln_rt_current_context();
  const bool parallel = gemmRunsParallel(ctx, m, n, p.k);
  const int64_t threads = parallel ? ctx->num_threads : 1;
  const int64_t panelCount = panels(n);

  // With int8 activations, blocks of rows, each quantized into scratch.
  const int64_t blockRows = q8 ? (m < kBlockRows ? m : kBlockRows) : m;
  Q8Rows layout{};
  int64_t scratchBytes = 0;
  void *owned = nullptr;
  if (q8) {
    const int64_t kp = p.groupCount * p.group;
    layout.corrOffset = roundUp(kp, 64);
    layout.sumOffset = layout.corrOffset + roundUp(4 * p.groupCount, 64);
    layout.lda = layout.sumOffset + roundUp(4 * p.groupCount, 64);
    const int64_t scalesBytes = roundUp(4 * blockRows, 64);
    // Stored as the offset of the rows in the scratch.
    layout.data =
        reinterpret_cast<int8_t *>(QuantizedScratch::kBytes + scalesBytes);
    scratchBytes =
        QuantizedScratch::kBytes + scalesBytes + blockRows * layout.lda;
    if (!ctx && posix_memalign(&owned, 64, size_t(scratchBytes)) != 0)
      owned = nullptr;
  }
  std::atomic<bool> outOfMemory{false};
  for (int64_t m0 = 0; m0 < m; m0 += blockRows) {
    Split s{};
    s.p = &p;
    s.gemm = gemm;
    s.q8 = q8;
    s.ctx = ctx;
    s.ownScratch = static_cast<uint8_t *>(owned);
    s.block = QuantizedScratch::nextBlock();
    s.m0 = m0;
    s.items = gemmItems(m - m0 < blockRows ? m - m0 : blockRows, kRowTile,
                        threads, panelCount, panelUnit);
    s.layout = layout;
    s.scratchBytes = scratchBytes;
    s.outOfMemory = &outOfMemory;
    if (q8)
      runGemmRanges(ctx, parallel, s.items, threads, runItems, &s);
    else
      runGemmItems(ctx, parallel, s.items.items, runItems, &s);
  }
  free(owned);
  if (outOfMemory.load(std::memory_order_relaxed)) {
    char message[128];
    snprintf(message, sizeof(message),
             "qlinear_s4_q8_f32: no memory for %lld bytes of scratch",
             (long long)scratchBytes);
    reportError(message);
  }
}

Int4Problem problemFor(const kiln_memref2_f32 &a, const uint8_t *packed,
                       int64_t group, bool zeroPoints,
                       const kiln_memref2_f32 &c, const Epilogue &epilogue,
                       MatmulIsa epilogueIsa) {
  const int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
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
  p.activationFn = epilogueFor(p.activation, epilogueIsa);
  return p;
}

} // namespace

} // namespace kiln::int4

namespace kiln {

using namespace int4;

void qlinearS4F32(const kiln_memref2_f32 &a, const uint8_t *packed,
                  int64_t group, bool zeroPoints, const kiln_memref2_f32 &c,
                  const Epilogue &epilogue, MatmulIsa isa) {
  if (c.sizes[0] == 0 || c.sizes[1] == 0)
    return;
  const Int4Kernels &kernels = kernelsFor(isa);
  run(problemFor(a, packed, group, zeroPoints, c, epilogue, isa), kernels.gemm,
      nullptr, kernels.panelUnit);
}

void qlinearS4Q8F32(const kiln_memref2_f32 &a, const uint8_t *packed,
                    int64_t group, bool zeroPoints, const kiln_memref2_f32 &c,
                    const Epilogue &epilogue, Int8Isa isa) {
  if (c.sizes[0] == 0 || c.sizes[1] == 0)
    return;
  const Int4Q8Kernels &kernels = q8KernelsFor(isa);
  run(problemFor(a, packed, group, zeroPoints, c, epilogue,
                 epilogueIsaFor(isa)),
      nullptr, &kernels, kernels.panelUnit);
}

} // namespace kiln

namespace {

// The checks both entry points make, reported as `name`'s; whether the
// call may go on.
bool checkQLinearS4(const char *name, const kiln_memref2_f32 *a,
                    const kiln_memref1_i8 *packed, const kiln_memref1_f32 *bias,
                    const kiln_memref2_f32 *c, int32_t activation,
                    int32_t groupSize, int32_t zeroPoints) {
  char message[256];
  if (!a || !packed || !bias || !c) {
    snprintf(message, sizeof(message), "%s: NULL memref descriptor", name);
    kiln::reportError(message);
    return false;
  }
  const int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  if (activation < KILN_RT_ACT_NONE || activation > KILN_RT_ACT_SILU ||
      groupSize <= 0 || groupSize % kiln::int4::kInt4Octet != 0 ||
      (zeroPoints != 0 && zeroPoints != 1)) {
    snprintf(message, sizeof(message),
             "%s: unknown activation %d, or group size %d (a positive "
             "multiple of 8) or zero_points %d (0 or 1)",
             name, (int)activation, (int)groupSize, (int)zeroPoints);
    kiln::reportError(message);
    return false;
  }
  const int64_t bytes =
      n < 0 || k < 0 ? -1
                     : kiln::int4::packedBytes(k, n, groupSize, zeroPoints);
  if (a->sizes[0] != m || m < 0 || n < 0 || k < 0 ||
      packed->sizes[0] != bytes || packed->strides[0] != 1 ||
      (bias->sizes[0] != 0 && (bias->sizes[0] != n || bias->strides[0] != 1))) {
    snprintf(message, sizeof(message),
             "%s: a [%lld, %lld] and c [%lld, %lld] need %lld packed weight "
             "bytes (group %d%s), got %lld (bias %lld)",
             name, (long long)a->sizes[0], (long long)k, (long long)m,
             (long long)n, (long long)bytes, (int)groupSize,
             zeroPoints ? ", zero points" : "", (long long)packed->sizes[0],
             (long long)bias->sizes[0]);
    kiln::reportError(message);
    return false;
  }
  return true;
}

kiln::Epilogue epilogueOf(const kiln_memref1_f32 *bias, int32_t activation) {
  return {bias->sizes[0] ? bias->aligned + bias->offset : nullptr, activation};
}

const uint8_t *packedBytesOf(const kiln_memref1_i8 *packed) {
  return reinterpret_cast<const uint8_t *>(packed->aligned + packed->offset);
}

} // namespace

extern "C" void _mlir_ciface_kiln_rt_qlinear_s4_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation, int32_t groupSize,
    int32_t zeroPoints) {
  if (!checkQLinearS4("qlinear_s4_f32", a, packed, bias, c, activation,
                      groupSize, zeroPoints))
    return;
  kiln::qlinearS4F32(*a, packedBytesOf(packed), groupSize, zeroPoints != 0, *c,
                     epilogueOf(bias, activation), kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_qlinear_s4_q8_f32(
    kiln_memref2_f32 *a, kiln_memref1_i8 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation, int32_t groupSize,
    int32_t zeroPoints) {
  if (!checkQLinearS4("qlinear_s4_q8_f32", a, packed, bias, c, activation,
                      groupSize, zeroPoints))
    return;
  kiln::qlinearS4Q8F32(*a, packedBytesOf(packed), groupSize, zeroPoints != 0,
                       *c, epilogueOf(bias, activation), kiln::bestInt8Isa());
}
