//===- Bf16Gemm.cpp - bf16 GEMM on compile-time-packed weights ------------===//
//
// kilnc --precision=bf16 on the CPU: bf16 activations times bf16 weights
// packed at compile time (Bf16Packing.h), products summed in f32, then the
// bias and activation of kiln.linear on each finished tile.
//
// The driver takes the rows in blocks of kBlockRows, one after the other,
// and cuts each block's columns into chunks of panels, run on the context's
// pool. Every item has all the rows of its block, so each weight panel is
// read from memory once per block: a decode step (a few rows) streams the
// weights once in all, and so does a prefill of up to kBlockRows tokens.
//
// This file holds the entry points, the driver and the portable kernel; the
// x86 variants are x86/Bf16GemmAvx512.cpp, x86/Bf16GemmAvx512Bf16.cpp and
// x86/Bf16GemmAmx.cpp, the aarch64 one arm/Bf16GemmNeonBf16.cpp.
//
//===----------------------------------------------------------------------===//

#include "kernels/Bf16Gemm.h"

#include "ExecutionContext.h"
#include "kernels/Bf16GemmKernels.h"
#include "kernels/Bf16Packing.h"
#include "kernels/KernelError.h"

#include <stdio.h>

namespace kiln::bf16 {

namespace {

//===----------------------------------------------------------------------===//
// Portable kernel
//===----------------------------------------------------------------------===//

// Each weight converted to f32 once per kGenericRows rows.
constexpr int64_t kGenericRows = 4;

void gemmGeneric(const Bf16Problem &p, int64_t m0, int64_t rows, int64_t first,
                 int64_t last) {
  for (int64_t panel = first; panel < last; ++panel) {
    const uint16_t *b = p.panels + panel * p.panelStride;
    const int64_t n0 = panel * kBf16Panel;
    const int64_t cols = p.n - n0 < kBf16Panel ? p.n - n0 : kBf16Panel;
    for (int64_t i = 0; i < rows; i += kGenericRows) {
      const int64_t tileRows =
          rows - i < kGenericRows ? rows - i : kGenericRows;
      float acc[kGenericRows][kBf16Panel] = {};
      for (int64_t kk = 0; kk < p.k; ++kk) {
        const uint16_t *w = b + (kk / 2) * 32 + kk % 2;
        float wv[kBf16Panel];
        for (int64_t j = 0; j < kBf16Panel; ++j)
          wv[j] = bf16ToF32(w[2 * j]);
        for (int64_t r = 0; r < tileRows; ++r) {
          float av = bf16ToF32(p.a[(m0 + i + r) * p.sam + kk * p.sak]);
          for (int64_t j = 0; j < kBf16Panel; ++j)
            acc[r][j] += av * wv[j];
        }
      }
      for (int64_t r = 0; r < tileRows; ++r) {
        float *row = p.c + (m0 + i + r) * p.scm + n0 * p.scn;
        for (int64_t j = 0; j < cols; ++j)
          row[j * p.scn] = p.bias ? acc[r][j] + p.bias[n0 + j] : acc[r][j];
      }
    }
    if (p.activationFn)
      p.activationFn(p.activation, p.c + m0 * p.scm + n0 * p.scn, rows, cols,
                     p.scm, p.scn, n0);
  }
}

} // namespace

const Bf16Kernels kBf16Generic = {gemmGeneric, nullptr, nullptr};
#if defined(__aarch64__)
const Bf16Kernels kBf16NeonBf16 = {gemmNeonBf16, nullptr, nullptr};
#endif

namespace {

//===----------------------------------------------------------------------===//
// Driver
//===----------------------------------------------------------------------===//

// Rows per block: a multiple of every variant's row tile (8 rows for
// AVX-512, 16 for an AMX tile). 256 rows of K = 3072 are 1.5 MiB of bf16,
// which stay in a 2 MiB L2 while the block's panels stream past them.
constexpr int64_t kBlockRows = 256;
// Column chunks are whole multiples of every kernel's panel group (3 for
// AVX-512 BF16, 2 for AVX-512 and AMX).
constexpr int64_t kPanelUnit = 6;
// Below this many multiply-adds, waking the pool costs more than it saves:
// half the fp32 kernels' bound, a bf16 multiply-add costing half as much.
constexpr int64_t kParallelMacs = int64_t(1) << 19;

const Bf16Kernels &kernelsFor(Bf16Isa isa) {
#if defined(__x86_64__)
  if (isa == Bf16Isa::Amx)
    return kBf16Amx;
  if (isa == Bf16Isa::Avx512Bf16)
    return kBf16Avx512Bf16;
  if (isa == Bf16Isa::Avx512)
    return kBf16Avx512;
  if (isa == Bf16Isa::Avx2)
    return kBf16Avx2;
#endif
#if defined(__aarch64__)
  if (isa == Bf16Isa::NeonBf16)
    return kBf16NeonBf16;
#endif
  (void)isa;
  return kBf16Generic;
}

struct Block {
  const Bf16Problem *p;
  const Bf16Kernels *kernels;
  int64_t m0, rows;
  int64_t panels, chunkPanels;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t) {
  const Block &blk = *static_cast<const Block *>(raw);
  if (blk.kernels->enter)
    blk.kernels->enter();
  for (int64_t item = begin; item < end; ++item) {
    int64_t first = item * blk.chunkPanels;
    int64_t last = first + blk.chunkPanels < blk.panels
                       ? first + blk.chunkPanels
                       : blk.panels;
    blk.kernels->gemm(*blk.p, blk.m0, blk.rows, first, last);
  }
  if (blk.kernels->leave)
    blk.kernels->leave();
}

} // namespace

} // namespace kiln::bf16

namespace kiln {

using namespace bf16;

void matmulPackedBf16(const kiln_memref2_bf16 &a, const uint16_t *packed,
                      const kiln_memref2_f32 &c, const Epilogue &epilogue,
                      Bf16Isa isa) {
  const int64_t m = c.sizes[0], n = c.sizes[1], k = a.sizes[1];
  if (m == 0 || n == 0)
    return;
  const Bf16Kernels &kernels = kernelsFor(isa);
  MatmulIsa epilogueIsa = epilogueIsaFor(isa);
  Bf16Problem p{};
  p.a = a.aligned + a.offset;
  p.sam = a.strides[0];
  p.sak = a.strides[1];
  p.panels = packed;
  p.kp = paddedK(k);
  p.panelStride = panelElements(k);
  p.c = c.aligned + c.offset;
  p.scm = c.strides[0];
  p.scn = c.strides[1];
  p.m = m;
  p.n = n;
  p.k = k;
  p.bias = epilogue.bias;
  p.epilogue = epilogue;
  p.epilogueFn = epilogueFor(epilogue, epilogueIsa);
  p.activation = Epilogue{nullptr, epilogue.activation};
  p.activationFn = epilogueFor(p.activation, epilogueIsa);

  kiln_rt_context *ctx = kiln_rt_current_context();
  int64_t macs = 0;
  bool parallel = ctx && ctx->num_threads > 1 &&
                  !__builtin_mul_overflow(m * n, k, &macs) &&
                  macs >= kParallelMacs;
  const int64_t threads = parallel ? ctx->num_threads : 1;
  const int64_t panelCount = panels(n);
  const int64_t units = (panelCount + kPanelUnit - 1) / kPanelUnit;
  // About four items per thread, to balance them.
  int64_t chunks = 4 * threads < units ? 4 * threads : units;
  Block blk{};
  blk.p = &p;
  blk.kernels = &kernels;
  blk.panels = panelCount;
  blk.chunkPanels = (units + chunks - 1) / chunks * kPanelUnit;
  chunks = (panelCount + blk.chunkPanels - 1) / blk.chunkPanels;
  for (int64_t m0 = 0; m0 < m; m0 += kBlockRows) {
    blk.m0 = m0;
    blk.rows = m - m0 < kBlockRows ? m - m0 : kBlockRows;
    if (parallel)
      ctx->parallel_for(ctx, 0, chunks, 1, runItems, &blk);
    else
      runItems(&blk, 0, chunks, 0);
  }
}

} // namespace kiln

namespace {

// The checks both entry points make; false after reporting an error.
bool checkOperands(const char *name, const kiln_memref2_bf16 *a,
                   const kiln_memref1_bf16 *packed, const kiln_memref2_f32 *c) {
  char message[256];
  if (!a || !packed || !c) {
    snprintf(message, sizeof(message), "%s: NULL memref descriptor", name);
    kiln::reportError(message);
    return false;
  }
  const int64_t m = c->sizes[0], n = c->sizes[1], k = a->sizes[1];
  int64_t want = -1;
  if (m >= 0 && n >= 0 && k >= 0 && n <= (int64_t(1) << 40) &&
      k <= (int64_t(1) << 40))
    want = kiln::bf16::packedElements(k, n);
  if (a->sizes[0] != m || want < 0 || packed->sizes[0] != want ||
      (want > 1 && packed->strides[0] != 1)) {
    snprintf(message, sizeof(message),
             "%s: a [%lld, %lld] and c [%lld, %lld] need %lld contiguous "
             "packed weight elements, got %lld (stride %lld)",
             name, (long long)a->sizes[0], (long long)k, (long long)m,
             (long long)n, (long long)want, (long long)packed->sizes[0],
             (long long)packed->strides[0]);
    kiln::reportError(message);
    return false;
  }
  return true;
}

} // namespace

extern "C" void _mlir_ciface_kiln_rt_matmul_packed_bf16(
    kiln_memref2_bf16 *a, kiln_memref1_bf16 *packed, kiln_memref2_f32 *c) {
  if (!checkOperands("matmul_packed_bf16", a, packed, c))
    return;
  kiln::matmulPackedBf16(*a, packed->aligned + packed->offset, *c,
                         kiln::Epilogue{}, kiln::bestBf16Isa());
}

extern "C" void _mlir_ciface_kiln_rt_matmul_packed_epilogue_bf16(
    kiln_memref2_bf16 *a, kiln_memref1_bf16 *packed, kiln_memref1_f32 *bias,
    kiln_memref2_f32 *c, int32_t activation) {
  const char *name = "matmul_packed_epilogue_bf16";
  if (!bias) {
    kiln::reportError("matmul_packed_epilogue_bf16: NULL memref descriptor");
    return;
  }
  if (!checkOperands(name, a, packed, c))
    return;
  char message[160];
  if (activation < KILN_RT_ACT_NONE || activation > KILN_RT_ACT_SILU) {
    snprintf(message, sizeof(message), "%s: unknown activation %d", name,
             (int)activation);
    kiln::reportError(message);
    return;
  }
  int64_t biasSize = bias->sizes[0];
  if (biasSize != 0 && (biasSize != c->sizes[1] || bias->strides[0] != 1)) {
    snprintf(message, sizeof(message),
             "%s: bias of %lld elements (stride %lld) for %lld output columns",
             name, (long long)biasSize, (long long)bias->strides[0],
             (long long)c->sizes[1]);
    kiln::reportError(message);
    return;
  }
  kiln::Epilogue epilogue{biasSize ? bias->aligned + bias->offset : nullptr,
                          activation};
  kiln::matmulPackedBf16(*a, packed->aligned + packed->offset, *c, epilogue,
                         kiln::bestBf16Isa());
}
