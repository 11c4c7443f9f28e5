//===- Attention.cpp - Fused flash-style fp32 attention -------------------===//
//
// One pass over the keys per block of query rows with an online softmax
// (Milakov & Gimelshein 2018; FlashAttention, Dao et al. 2022): a work item
// holds the running max, sum and output of its rows and visits the keys in
// blocks of kKeyBlock, so no [Sq x Sk] score matrix ever exists. An item is
// (batch, key/value head, block of queries) and its rows are every query
// head of the group times the block's queries, so grouped-query heads share
// each key and value load. Work items run on the session's pool.
//
// Scores of four or more rows multiply a packed, transposed key block
// ([D][kKeyBlock]) like a GEMM tile; fewer rows (a decode step without
// grouped heads) take dot products of the key rows where they lie, which
// skips the packing that would cost as much as the product, sixteen keys at
// a time with one transposing reduction. The values are fetched 16 rows
// ahead (the keys stream well without). kiln_attention_bench (GPT-2 small
// decode step, batch 8): 3.1 -> 2.3 ms at 161 keys, 20.5 -> 13.4 ms at 1001.
//
//===----------------------------------------------------------------------===//

#include "kernels/Attention.h"

#include "ExecutionContext.h"
#include "kernels/AttentionItem.h"
#include "kernels/KernelError.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

namespace kiln {

using namespace attention;

namespace {

// Rows (query heads of a group x queries) per work item: enough to reuse
// each packed key block, few enough that the items balance the threads.
constexpr int64_t kRowsPerItem = 32;
// Below this many multiply-adds, waking the pool costs more than it saves.
constexpr int64_t kParallelMacs = int64_t(1) << 16;

int64_t roundUp16(int64_t x) { return (x + 15) / 16 * 16; }

void layoutScratch(Problem &p) {
  // Rows in lanes (x86/AttentionAvx512.cpp) pad an item's rows to whole
  // vectors and take keys in blocks of kLaneKeyBlock.
  const int64_t rows = roundUp16(p.maxRows);
  int64_t at = roundUp16(rows * p.d);
  p.offKt = at;
  at += roundUp16(p.d * kKeyBlock);
  p.offS = at;
  at += rows * (kLaneKeyBlock > kKeyBlock ? kLaneKeyBlock : kKeyBlock);
  p.offAcc = at;
  at += roundUp16(rows * p.dv);
  p.offV = at;
  at += roundUp16(kKeyBlock * p.dv);
  p.offM = at;
  at += rows;
  p.offL = at;
  at += rows;
  p.scratchFloats = at;
}

void itemsGeneric(const Problem &p, int64_t begin, int64_t end,
                  float *scratch) {
  for (int64_t i = begin; i < end; ++i)
    runItem<PortableBlocks>(p, i, scratch);
}

// Rows [0, n) of head (b, h) of `from` into rows [at, at + n) of `to`.
void copyRows(const kiln_memref4_f32 &from, const kiln_memref4_f32 &to,
              int64_t b, int64_t h, int64_t at) {
  const int64_t n = from.sizes[2], d = from.sizes[3];
  const float *src =
      from.aligned + from.offset + b * from.strides[0] + h * from.strides[1];
  float *dst = to.aligned + to.offset + b * to.strides[0] + h * to.strides[1] +
               at * to.strides[2];
  if (n > 0 && src != dst && from.strides[3] == 1 && to.strides[3] == 1 &&
      from.strides[2] == d && to.strides[2] == d) {
    memmove(dst, src, size_t(n * d) * sizeof(float)); // rows back to back
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    const float *s = src + j * from.strides[2];
    float *t = dst + j * to.strides[2];
    if (s == t && from.strides[3] == to.strides[3])
      continue; // an in-place cache: past is present's prefix
    if (from.strides[3] == 1 && to.strides[3] == 1) {
      memcpy(t, s, size_t(d) * sizeof(float));
      continue;
    }
    for (int64_t e = 0; e < d; ++e)
      t[e * to.strides[3]] = s[e * from.strides[3]];
  }
}

struct Appending {
  const KvAppend *append;
  const kiln_memref4_f32 *presentK, *presentV;

  void copyHead(int64_t b, int64_t h) const {
    const int64_t past = append->pastK.sizes[2];
    copyRows(append->pastK, *presentK, b, h, 0);
    copyRows(append->newK, *presentK, b, h, past);
    copyRows(append->pastV, *presentV, b, h, 0);
    copyRows(append->newV, *presentV, b, h, past);
  }

  // Every head's rows, spread over the pool.
  void copyAll() const {
    const int64_t heads = presentK->sizes[1];
    kiln_rt_parallel_for(
        0, presentK->sizes[0] * heads, 1,
        [](void *arg, int64_t begin, int64_t end, int32_t) {
          const auto &a = *static_cast<const Appending *>(arg);
          const int64_t heads = a.presentK->sizes[1];
          for (int64_t i = begin; i < end; ++i)
            a.copyHead(i / heads, i % heads);
        },
        const_cast<Appending *>(this));
  }
};

// Items [begin, end); with `appending` (one query block per head), each
// item first fills its head's rows of the present cache.
void runRange(const Problem &p, ItemFn fn, const Appending *appending,
              int64_t begin, int64_t end, float *scratch) {
  if (!appending)
    return fn(p, begin, end, scratch);
  for (int64_t i = begin; i < end; ++i) {
    const Item it = itemOf(p, i);
    appending->copyHead(it.b, it.hkv);
    fn(p, i, i + 1, scratch);
  }
}

struct ParallelArgs {
  const Problem *problem;
  ItemFn fn;
  const Appending *appending;
  kiln_rt_context *ctx;
  bool outOfMemory;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t worker) {
  auto *args = static_cast<ParallelArgs *>(raw);
  const Problem &p = *args->problem;
  auto *scratch = static_cast<float *>(args->ctx->scratch(
      args->ctx, worker, size_t(p.scratchFloats) * sizeof(float)));
  if (!scratch) {
    __atomic_store_n(&args->outOfMemory, true, __ATOMIC_RELAXED);
    return;
  }
  runRange(p, args->fn, args->appending, begin, end, scratch);
}

// Whether every query row of the mask equals the first, bit for bit: the
// padding mask that transformers' exports expand to [B, 1, Sq, Sk]. Read as
// a broadcast, it is one value per key for all of an item's rows (a load of
// 16 rows and a transpose per 16 keys otherwise). Stops at the first row
// that differs.
bool sameRowForEveryQuery(const Problem &p, const kiln_memref4_f32 &mask) {
  if (p.ms[2] == 0 || p.ms[3] != 1)
    return false;
  const int64_t rows = mask.sizes[2], keys = mask.sizes[3];
  const size_t bytes = size_t(keys) * sizeof(float);
  for (int64_t b = 0; b < mask.sizes[0]; ++b)
    for (int64_t h = 0; h < mask.sizes[1]; ++h) {
      const float *first =
          mask.aligned + mask.offset + b * p.ms[0] + h * p.ms[1];
      for (int64_t i = 1; i < rows; ++i)
        if (memcmp(first + i * p.ms[2], first, bytes) != 0)
          return false;
    }
  return true;
}

bool fits(const kiln_memref4_f32 &part, const kiln_memref4_f32 &present,
          int64_t rows) {
  return part.sizes[0] == present.sizes[0] &&
         part.sizes[1] == present.sizes[1] && part.sizes[2] == rows &&
         part.sizes[3] == present.sizes[3];
}

} // namespace

void attentionF32(const kiln_memref4_f32 &q, const kiln_memref4_f32 &k,
                  const kiln_memref4_f32 &v, const kiln_memref4_f32 *mask,
                  const kiln_memref4_f32 &out, float scale, bool causal,
                  MatmulIsa isa, const KvAppend *append) {
  Problem p;
  p.batch = q.sizes[0];
  p.heads = q.sizes[1];
  p.sq = q.sizes[2];
  p.d = q.sizes[3];
  p.kvHeads = k.sizes[1];
  p.sk = k.sizes[2];
  p.dv = v.sizes[3];
  bool ok =
      p.batch >= 0 && p.sq >= 0 && p.sk >= 0 && p.d >= 0 && p.dv >= 0 &&
      p.kvHeads > 0 && p.heads % p.kvHeads == 0 && k.sizes[0] == p.batch &&
      k.sizes[3] == p.d && v.sizes[0] == p.batch && v.sizes[1] == p.kvHeads &&
      v.sizes[2] == p.sk && out.sizes[0] == p.batch &&
      out.sizes[1] == p.heads && out.sizes[2] == p.sq && out.sizes[3] == p.dv;
  const int64_t scores[4] = {p.batch, p.heads, p.sq, p.sk};
  if (ok && mask)
    for (int i = 0; i < 4; ++i)
      ok = ok && (mask->sizes[i] == 1 || mask->sizes[i] == scores[i]);
  if (!ok) {
    char message[320];
    snprintf(
        message, sizeof(message),
        "attention_f32: q [%lld, %lld, %lld, %lld], k [%lld, %lld, %lld, "
        "%lld], v [%lld, %lld, %lld, %lld] and out [%lld, %lld, %lld, "
        "%lld] do not fit together%s",
        (long long)q.sizes[0], (long long)q.sizes[1], (long long)q.sizes[2],
        (long long)q.sizes[3], (long long)k.sizes[0], (long long)k.sizes[1],
        (long long)k.sizes[2], (long long)k.sizes[3], (long long)v.sizes[0],
        (long long)v.sizes[1], (long long)v.sizes[2], (long long)v.sizes[3],
        (long long)out.sizes[0], (long long)out.sizes[1],
        (long long)out.sizes[2], (long long)out.sizes[3],
        mask ? " (or the mask does not broadcast to the scores)" : "");
    reportError(message);
    return;
  }
  if (ok && append) {
    const int64_t past = append->pastK.sizes[2];
    const int64_t fresh = append->newK.sizes[2];
    ok = past >= 0 && fresh >= 0 && past + fresh == k.sizes[2] &&
         fits(append->pastK, k, past) && fits(append->newK, k, fresh) &&
         fits(append->pastV, v, past) && fits(append->newV, v, fresh);
    if (!ok) {
      char message[320];
      snprintf(
          message, sizeof(message),
          "attention_append_f32: past k [%lld, %lld, %lld, %lld] and "
          "new k [%lld, %lld, %lld, %lld] do not make present k [%lld, "
          "%lld, %lld, %lld] (or the values do not)",
          (long long)append->pastK.sizes[0], (long long)append->pastK.sizes[1],
          (long long)append->pastK.sizes[2], (long long)append->pastK.sizes[3],
          (long long)append->newK.sizes[0], (long long)append->newK.sizes[1],
          (long long)append->newK.sizes[2], (long long)append->newK.sizes[3],
          (long long)k.sizes[0], (long long)k.sizes[1], (long long)k.sizes[2],
          (long long)k.sizes[3]);
      reportError(message);
      return;
    }
  }
  if (append && (p.batch == 0 || p.heads == 0 || p.sq == 0 || p.dv == 0)) {
    // No attention to compute, and the present cache is an output still.
    Appending{append, &k, &v}.copyAll();
    return;
  }
  if (p.batch == 0 || p.heads == 0 || p.sq == 0 || p.dv == 0)
    return;
  p.group = p.heads / p.kvHeads;
  p.q = q.aligned + q.offset;
  p.k = k.aligned + k.offset;
  p.v = v.aligned + v.offset;
  p.out = out.aligned + out.offset;
  p.mask = mask ? mask->aligned + mask->offset : nullptr;
  for (int i = 0; i < 4; ++i) {
    p.qs[i] = q.strides[i];
    p.ks[i] = k.strides[i];
    p.vs[i] = v.strides[i];
    p.os[i] = out.strides[i];
    // A broadcast mask extent reads its one element at every index.
    p.ms[i] = mask && mask->sizes[i] != 1 ? mask->strides[i] : 0;
  }
  if (mask && sameRowForEveryQuery(p, *mask))
    p.ms[2] = 0;
  p.scale = scale;
  p.causal = causal;
  p.queriesPerItem = kRowsPerItem / p.group;
  if (p.queriesPerItem < 1)
    p.queriesPerItem = 1;
  if (p.queriesPerItem > p.sq)
    p.queriesPerItem = p.sq;
  p.queryBlocks = (p.sq + p.queriesPerItem - 1) / p.queriesPerItem;
  p.maxRows = p.group * p.queriesPerItem;
  layoutScratch(p);

  ItemFn fn = itemsGeneric;
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    fn = itemsAvx512;
  else if (isa == MatmulIsa::Avx2)
    fn = itemsAvx2;
#elif defined(__aarch64__)
  if (isa == MatmulIsa::Neon)
    fn = itemsNeon;
#endif
  (void)isa;

  int64_t items = p.batch * p.kvHeads * p.queryBlocks;
  Appending appendingStorage{append, &k, &v};
  const Appending *appending = append ? &appendingStorage : nullptr;
  if (appending && p.queryBlocks > 1) {
    // Several items read each head: fill the whole cache first.
    appending->copyAll();
    appending = nullptr;
  }
  int64_t macs = 0;
  kiln_rt_context *ctx = kiln_rt_current_context();
  bool parallel = ctx && ctx->num_threads > 1 && items > 1 &&
                  !__builtin_mul_overflow(p.batch * p.heads * p.sq,
                                          p.sk * (p.d + p.dv), &macs) &&
                  macs >= kParallelMacs;
  if (parallel) {
    ParallelArgs args{&p, fn, appending, ctx, false};
    ctx->parallel_for(ctx, 0, items, 1, runItems, &args);
    if (!__atomic_load_n(&args.outOfMemory, __ATOMIC_RELAXED))
      return;
    // Some items may not have run: redo all of them on this thread.
  }
  size_t bytes = size_t(p.scratchFloats) * sizeof(float);
  void *owned = nullptr;
  float *scratch = nullptr;
  if (ctx)
    scratch = static_cast<float *>(ctx->scratch(ctx, 0, bytes));
  if (!scratch && posix_memalign(&owned, 64, bytes) == 0)
    scratch = static_cast<float *>(owned);
  if (!scratch) {
    reportError("attention_f32: out of memory for scratch");
    return;
  }
  runRange(p, fn, appending, 0, items, scratch);
  free(owned);
}

} // namespace kiln

extern "C" void
_mlir_ciface_kiln_rt_attention_f32(kiln_memref4_f32 *q, kiln_memref4_f32 *k,
                                   kiln_memref4_f32 *v, kiln_memref4_f32 *out,
                                   float scale, int32_t causal) {
  if (!q || !k || !v || !out) {
    kiln::reportError("attention_f32: NULL memref descriptor");
    return;
  }
  kiln::attentionF32(*q, *k, *v, nullptr, *out, scale, causal != 0,
                     kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_attention_masked_f32(
    kiln_memref4_f32 *q, kiln_memref4_f32 *k, kiln_memref4_f32 *v,
    kiln_memref4_f32 *mask, kiln_memref4_f32 *out, float scale,
    int32_t causal) {
  if (!q || !k || !v || !mask || !out) {
    kiln::reportError("attention_f32: NULL memref descriptor");
    return;
  }
  kiln::attentionF32(*q, *k, *v, mask, *out, scale, causal != 0,
                     kiln::bestMatmulIsa());
}

extern "C" void _mlir_ciface_kiln_rt_attention_append_f32(
    kiln_memref4_f32 *q, kiln_memref4_f32 *pastK, kiln_memref4_f32 *newK,
    kiln_memref4_f32 *pastV, kiln_memref4_f32 *newV, kiln_memref4_f32 *presentK,
    kiln_memref4_f32 *presentV, kiln_memref4_f32 *mask, kiln_memref4_f32 *out,
    float scale, int32_t causal, int32_t masked) {
  if (!q || !pastK || !newK || !pastV || !newV || !presentK || !presentV ||
      !mask || !out) {
    kiln::reportError("attention_append_f32: NULL memref descriptor");
    return;
  }
  kiln::KvAppend append{*pastK, *newK, *pastV, *newV};
  kiln::attentionF32(*q, *presentK, *presentV, masked ? mask : nullptr, *out,
                     scale, causal != 0, kiln::bestMatmulIsa(), &append);
}
