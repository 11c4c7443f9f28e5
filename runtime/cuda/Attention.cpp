//===- Attention.cpp - kiln.attention on the GPU: the fused flash kernel --===//
//
// The CUDA target lowers f32 kiln.attention to calls of these, on device
// memrefs (codegen: buildAttentionKernelCall with the CUDA prefix). They
// check the shapes, plan the grid (kernels/FlashAttention.h), take the key
// split's partial results from the run's arena, and launch the attention
// kernel and, with a split, the combine kernel on the session's stream. The
// kernels come from this library's own fatbinary (FlashAttention.cu, built
// by nvcc at build time), loaded once per session like the model's.
//
//===----------------------------------------------------------------------===//
#include "CudaSession.h"
#include "kernels/FlashAttention.h"
#include "kiln/cuda.h"

namespace flash = kiln::cuda::flash;
using namespace kiln::cuda;

// The fatbinary (sm_90 and sm_100 cubins, compute_90 PTX), embedded below.
extern "C" const unsigned char kiln_flash_attention_fatbin[];

__asm__(".pushsection .rodata.kiln_flash_attention_fatbin,\"a\"\n"
        ".balign 64\n"
        ".globl kiln_flash_attention_fatbin\n"
        ".hidden kiln_flash_attention_fatbin\n"
        ".type kiln_flash_attention_fatbin, @object\n"
        "kiln_flash_attention_fatbin:\n"
        ".incbin \"" KILN_FLASH_ATTENTION_FATBIN "\"\n"
        ".size kiln_flash_attention_fatbin, . - kiln_flash_attention_fatbin\n"
        ".popsection\n");

// MLIR's GPU ABI entry point (MlirGpuAbi.cpp): the session's function for
// `name` in `image`, loading the module on first use.
extern "C" CUfunction mgpuModuleGetFunction(void *image, const char *name);

namespace {

struct Memref4 {
  float *allocated, *aligned;
  int64_t offset, sizes[4], strides[4];
};

flash::Operand operandOf(const Memref4 &m) {
  flash::Operand o;
  o.data = m.aligned + m.offset;
  for (int i = 0; i < 4; ++i) {
    o.sizes[i] = m.sizes[i];
    o.strides[i] = m.strides[i];
  }
  return o;
}

bool launch(State *s, const char *name, const uint32_t grid[3], uint32_t block,
            flash::Params &p) {
  CUfunction function = mgpuModuleGetFunction(
      const_cast<unsigned char *>(kiln_flash_attention_fatbin), name);
  if (!function)
    return false; // the lookup failed the run with the reason
  void *params[] = {&p};
  if (CUresult r =
          s->driver.cuLaunchKernel(function, grid[0], grid[1], grid[2], block,
                                   1, 1, 0, s->stream, params, nullptr)) {
    fail(s, "launching %s (grid %u x %u x %u, block %u) failed: %s", name,
         grid[0], grid[1], grid[2], block, errorString(s->driver, r));
    return false;
  }
  return true;
}

void attention(const Memref4 *q, const Memref4 *k, const Memref4 *v,
               const Memref4 *mask, const Memref4 *out, float scale,
               int32_t causal) {
  State *s = currentState();
  if (!s || s->failed)
    return;
  flash::Params p;
  flash::Operand maskOperand;
  if (mask)
    maskOperand = operandOf(*mask);
  const char *why = flash::setProblem(
      p, operandOf(*q), operandOf(*k), operandOf(*v),
      mask ? &maskOperand : nullptr, operandOf(*out), scale, causal != 0);
  flash::LaunchShape shape;
  bool empty = !why && (p.batch == 0 || p.heads == 0 || p.sq == 0 || p.d == 0);
  if (!why && !empty)
    why = flash::planLaunch(p, shape);
  if (why) {
    fail(s,
         "attention_f32: q [%ld, %ld, %ld, %ld], k [%ld, %ld, %ld, %ld], v "
         "[%ld, %ld, %ld, %ld], out [%ld, %ld, %ld, %ld]%s: %s",
         (long)q->sizes[0], (long)q->sizes[1], (long)q->sizes[2],
         (long)q->sizes[3], (long)k->sizes[0], (long)k->sizes[1],
         (long)k->sizes[2], (long)k->sizes[3], (long)v->sizes[0],
         (long)v->sizes[1], (long)v->sizes[2], (long)v->sizes[3],
         (long)out->sizes[0], (long)out->sizes[1], (long)out->sizes[2],
         (long)out->sizes[3], mask ? " with a mask" : "", why);
    return;
  }
  if (empty)
    return;
  if (shape.partialFloats) {
    CUdeviceptr partial =
        arenaAlloc(s, size_t(shape.partialFloats) * sizeof(float));
    if (!partial)
      return;
    p.partialOut = reinterpret_cast<float *>(partial);
    p.partialStats =
        p.partialOut + int64_t(p.splits) * p.batch * p.heads * p.sq * p.d;
  }
  if (!launch(s, flash::kernelName(p.d), shape.grid, shape.block, p))
    return;
  if (p.splits > 1) {
    const uint32_t grid[3] = {shape.combineGrid, 1, 1};
    launch(s, flash::combineKernelName(), grid, shape.combineBlock, p);
  }
}

} // namespace

extern "C" {

void _mlir_ciface_kiln_cuda_attention_f32(Memref4 *q, Memref4 *k, Memref4 *v,
                                          Memref4 *out, float scale,
                                          int32_t causal) {
  attention(q, k, v, nullptr, out, scale, causal);
}

void _mlir_ciface_kiln_cuda_attention_masked_f32(Memref4 *q, Memref4 *k,
                                                 Memref4 *v, Memref4 *mask,
                                                 Memref4 *out, float scale,
                                                 int32_t causal) {
  attention(q, k, v, mask, out, scale, causal);
}

} // extern "C"
