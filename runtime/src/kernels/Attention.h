//===- Attention.h - Fused fp32 attention with ISA dispatch -----*- C++ -*-===//
#ifndef KILN_RUNTIME_KERNELS_ATTENTION_H
#define KILN_RUNTIME_KERNELS_ATTENTION_H

#include "kernels/CpuFeatures.h"
#include "kernels/Kernels.h"

namespace kiln {

// A decode graph's present = Concat(past, new) along the sequence, filled by
// the attention that reads it: k and v are the present buffers, and each
// work item copies its head's past and new rows into them right before it
// reads them, so the cache crosses memory once instead of being copied,
// then read back. Rows whose past and present addresses coincide (an
// in-place cache) are not copied.
struct KvAppend {
  kiln_memref4_f32 pastK, newK, pastV, newV;
};

// The same with a bf16 cache: past and present hold bf16, the new rows are
// f32 and rounded to nearest even as they are written.
struct KvAppendBf16 {
  kiln_memref4_bf16 pastK;
  kiln_memref4_f32 newK;
  kiln_memref4_bf16 pastV;
  kiln_memref4_f32 newV;
};

// The same with an f8E4M3FN cache.
struct KvAppendF8 {
  kiln_memref4_f8 pastK;
  kiln_memref4_f32 newK;
  kiln_memref4_f8 pastV;
  kiln_memref4_f32 newV;
};

// The kernel behind _mlir_ciface_kiln_rt_attention{,_masked,_append}_f32
// with the ISA forced, so tests can cover every variant on one machine.
// `mask` and `append` may be null.
void attentionF32(const kiln_memref4_f32 &q, const kiln_memref4_f32 &k,
                  const kiln_memref4_f32 &v, const kiln_memref4_f32 *mask,
                  const kiln_memref4_f32 &out, float scale, bool causal,
                  MatmulIsa isa, const KvAppend *append = nullptr);

// The kernel behind _mlir_ciface_kiln_rt_attention_append_bf16: k and v are
// the bf16 present buffers. Each work item widens the keys and values of
// its head into f32 rows after its scratch and runs attentionF32's item on
// them.
void attentionAppendBf16(const kiln_memref4_f32 &q, const kiln_memref4_bf16 &k,
                         const kiln_memref4_bf16 &v,
                         const kiln_memref4_f32 *mask,
                         const kiln_memref4_f32 &out, float scale, bool causal,
                         MatmulIsa isa, const KvAppendBf16 &append);

// The kernel behind _mlir_ciface_kiln_rt_attention_append_f8, as
// attentionAppendBf16 with f8E4M3FN keys and values.
void attentionAppendF8(const kiln_memref4_f32 &q, const kiln_memref4_f8 &k,
                       const kiln_memref4_f8 &v, const kiln_memref4_f32 *mask,
                       const kiln_memref4_f32 &out, float scale, bool causal,
                       MatmulIsa isa, const KvAppendF8 &append);

} // namespace kiln

#endif // KILN_RUNTIME_KERNELS_ATTENTION_H
