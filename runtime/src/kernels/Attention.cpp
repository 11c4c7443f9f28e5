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

#include <type_traits>

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

// Rows [0, n) of head (b, h) of `from` into rows [at, at + n) of `to`, both
// f32 or both bf16 (kiln_memref4_f32 or kiln_memref4_bf16).
template <class Memref>
void copyRows(const Memref &from, const Memref &to, int64_t b, int64_t h,
              int64_t at) {
  using Elem = std::remove_pointer_t<decltype(from.aligned)>;
  const int64_t n = from.sizes[2], d = from.sizes[3];
  const Elem *src =
      from.aligned + from.offset + b * from.strides[0] + h * from.strides[1];
  Elem *dst = to.aligned + to.offset + b * to.strides[0] + h * to.strides[1] +
              at * to.strides[2];
  if (src == dst && from.strides[2] == to.strides[2] &&
      from.strides[3] == to.strides[3])
    return; // an in-place cache: past is present's prefix
  if (n > 0 && from.strides[3] == 1 && to.strides[3] == 1 &&
      from.strides[2] == d && to.strides[2] == d) {
    memmove(dst, src, size_t(n * d) * sizeof(Elem)); // rows back to back
    return;
  }
  for (int64_t j = 0; j < n; ++j) {
    const Elem *s = src + j * from.strides[2];
    Elem *t = dst + j * to.strides[2];
    if (s == t && from.strides[3] == to.strides[3])
      continue; // an in-place cache: past is present's prefix
    if (from.strides[3] == 1 && to.strides[3] == 1) {
      memcpy(t, s, size_t(d) * sizeof(Elem));
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

  void copyAll() const;
};

// The new f32 rows of head (b, h), rounded, into rows [at, ...) of `to`
// (a bf16 or f8 cache).
template <class Memref, class Elem>
void roundRows(const kiln_memref4_f32 &from, const Memref &to, int64_t b,
               int64_t h, int64_t at, NarrowOf<Elem> narrow) {
  const int64_t n = from.sizes[2], d = from.sizes[3];
  const float *src =
      from.aligned + from.offset + b * from.strides[0] + h * from.strides[1];
  Elem *dst = to.aligned + to.offset + b * to.strides[0] + h * to.strides[1] +
              at * to.strides[2];
  for (int64_t j = 0; j < n; ++j) {
    if (from.strides[3] == 1 && to.strides[3] == 1) {
      narrow(src + j * from.strides[2], d, dst + j * to.strides[2]);
      continue;
    }
    for (int64_t e = 0; e < d; ++e)
      narrowOne(src[j * from.strides[2] + e * from.strides[3]],
                dst[j * to.strides[2] + e * to.strides[3]]);
  }
}

// Rows [j, j + n) of head (b, h) of `from`, widened into `to` [n][d]: in
// one call where the rows lie back to back, with the bytes kWidenAhead
// further on (before `limit`, a row index) fetched into L1 as they go.
constexpr int64_t kWidenAhead = 2048;
template <class Memref, class Elem>
inline void widenRows(const Memref &from, int64_t b, int64_t h, int64_t j,
                      int64_t n, int64_t limit, float *to,
                      WidenOf<Elem> widen) {
  const int64_t d = from.sizes[3];
  const Elem *s = from.aligned + from.offset + b * from.strides[0] +
                  h * from.strides[1] + j * from.strides[2];
  if (from.strides[3] == 1 && from.strides[2] == d) {
    const char *ahead = reinterpret_cast<const char *>(s) + kWidenAhead;
    const char *end =
        reinterpret_cast<const char *>(s + (limit - j) * from.strides[2]);
    for (int64_t at = 0; at < n * d * int64_t(sizeof(Elem)); at += 64)
      if (ahead + at < end)
        __builtin_prefetch(ahead + at, 0, 3);
    return widen(s, n * d, to);
  }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t e = 0; e < d; ++e)
      to[r * d + e] = widenOne(s[r * from.strides[2] + e * from.strides[3]]);
}

// Rows [0, n) of head (b, h) of the keys and the values, widened into dense
// rows at k and v. Each half of each is a stream of its own, read kChunk
// rows at a time in turn and fetched ahead: a head's rows are short streams
// that the hardware prefetchers take up late (kiln_attention_bench, batch
// 16, 801 keys: the keys then the values, 32.3 ms; four streams of 16 rows,
// 31.9; of 1 row, 28.0-28.7; of 4 rows, 25.6-25.9; the f32 cache 33.7).
template <class Memref, class Elem>
void widenHead(const Memref &keys, const Memref &values, int64_t b, int64_t h,
               int64_t n, float *k, float *v, WidenOf<Elem> widen) {
  constexpr int64_t kChunk = 4;
  const int64_t dk = keys.sizes[3], dv = values.sizes[3];
  const int64_t half = (n + 1) / 2;
  const int64_t starts[2] = {0, half};
  for (int64_t j = 0; j < half; j += kChunk)
    for (int64_t start : starts) {
      const int64_t limit = start == 0 ? half : n;
      const int64_t at = start + j;
      const int64_t rows = limit - at < kChunk ? limit - at : kChunk;
      if (rows <= 0)
        continue;
      widenRows<Memref, Elem>(keys, b, h, at, rows, limit, k + at * dk, widen);
      widenRows<Memref, Elem>(values, b, h, at, rows, limit, v + at * dv,
                              widen);
    }
}

// A narrow cache's present and append types by element: bf16 bits in
// uint16_t, f8E4M3FN in uint8_t.
template <class Elem> struct NarrowTypes;
template <> struct NarrowTypes<uint16_t> {
  using Memref = kiln_memref4_bf16;
  using Append = KvAppendBf16;
};
template <> struct NarrowTypes<uint8_t> {
  using Memref = kiln_memref4_f8;
  using Append = KvAppendF8;
};

// A bf16 or f8 cache: an item fills its head's present rows (`append`,
// unless the whole cache was filled first), then widens the keys it sees
// into the f32 rows after its scratch and runs on them.
template <class Elem> struct NarrowCache {
  using Memref = typename NarrowTypes<Elem>::Memref;
  const typename NarrowTypes<Elem>::Append *append;
  const Memref *presentK, *presentV;
  bool fill;
  WidenOf<Elem> widen;
  NarrowOf<Elem> narrow;
  // Runs items over the cache's rows where they lie (bf16DirectFits, which
  // itemsAvx512F8 shares), or null.
  ItemFn direct;

  void copyHead(int64_t b, int64_t h) const {
    const int64_t past = append->pastK.sizes[2];
    copyRows(append->pastK, *presentK, b, h, 0);
    roundRows<Memref, Elem>(append->newK, *presentK, b, h, past, narrow);
    copyRows(append->pastV, *presentV, b, h, 0);
    roundRows<Memref, Elem>(append->newV, *presentV, b, h, past, narrow);
  }

  void copyAll() const;

  static int64_t widenedFloats(const Problem &p) {
    return roundUp16(p.sk * p.d) + roundUp16(p.sk * p.dv);
  }

  // The problem of item `it` and the function that runs it (`fn`, or
  // `direct`): over the cache itself, or over its keys and values widened
  // into `scratch`.
  Problem prepare(const Problem &p, const Item &it, float *scratch,
                  ItemFn &fn) const {
    if (fill)
      copyHead(it.b, it.hkv);
    if (direct && bf16DirectFits(p, it.rows, presentK->strides[3],
                                 presentV->strides[3])) {
      Problem local = p;
      if constexpr (sizeof(Elem) == 2) {
        local.k16 = presentK->aligned + presentK->offset;
        local.v16 = presentV->aligned + presentV->offset;
      } else {
        local.k8 = presentK->aligned + presentK->offset;
        local.v8 = presentV->aligned + presentV->offset;
      }
      for (int i = 0; i < 4; ++i) {
        local.ks[i] = presentK->strides[i];
        local.vs[i] = presentV->strides[i];
      }
      fn = direct;
      return local;
    }
    const int64_t keys = keyEndOf(p, it);
    float *k = scratch + p.scratchFloats;
    float *v = k + roundUp16(p.sk * p.d);
    widenHead<Memref, Elem>(*presentK, *presentV, it.b, it.hkv, keys, k, v,
                            widen);
    Problem local = p;
    local.k = k;
    local.v = v;
    local.ks[0] = local.ks[1] = local.vs[0] = local.vs[1] = 0;
    local.ks[2] = p.d;
    local.vs[2] = p.dv;
    local.ks[3] = local.vs[3] = 1;
    return local;
  }
};

// Every head's present rows of `cache`, spread over the pool.
template <class Cache> void copyEveryHead(const Cache &cache) {
  kiln_rt_parallel_for(
      0, cache.presentK->sizes[0] * cache.presentK->sizes[1], 1,
      [](void *raw, int64_t begin, int64_t end, int32_t) {
        const auto &c = *static_cast<const Cache *>(raw);
        const int64_t heads = c.presentK->sizes[1];
        for (int64_t i = begin; i < end; ++i)
          c.copyHead(i / heads, i % heads);
      },
      const_cast<Cache *>(&cache));
}

void Appending::copyAll() const { copyEveryHead(*this); }
template <class Elem> void NarrowCache<Elem>::copyAll() const {
  copyEveryHead(*this);
}
using Bf16Cache = NarrowCache<uint16_t>;
using F8Cache = NarrowCache<uint8_t>;

// Where an item's keys and values come from besides p.k and p.v: an f32
// present it fills first, or a bf16 or f8 cache it widens.
struct ItemSource {
  const Appending *f32 = nullptr;
  const Bf16Cache *bf16 = nullptr;
  const F8Cache *f8 = nullptr;
};
void setCache(ItemSource &src, const Bf16Cache *c) { src.bf16 = c; }
void setCache(ItemSource &src, const F8Cache *c) { src.f8 = c; }

// Items [begin, end) with `scratch` of scratchFloats(p, src) floats.
void runRange(const Problem &p, ItemFn fn, const ItemSource &src, int64_t begin,
              int64_t end, float *scratch) {
  if (!src.f32 && !src.bf16 && !src.f8)
    return fn(p, begin, end, scratch);
  for (int64_t i = begin; i < end; ++i) {
    const Item it = itemOf(p, i);
    if (src.bf16 || src.f8) {
      ItemFn itemFn = fn;
      const Problem local = src.bf16 ? src.bf16->prepare(p, it, scratch, itemFn)
                                     : src.f8->prepare(p, it, scratch, itemFn);
      itemFn(local, i, i + 1, scratch);
      continue;
    }
    src.f32->copyHead(it.b, it.hkv);
    fn(p, i, i + 1, scratch);
  }
}

int64_t scratchFloats(const Problem &p, const ItemSource &src) {
  return p.scratchFloats +
         (src.bf16 || src.f8 ? Bf16Cache::widenedFloats(p) : 0);
}

struct ParallelArgs {
  const Problem *problem;
  ItemFn fn;
  ItemSource source;
  kiln_rt_context *ctx;
  bool outOfMemory;
};

void runItems(void *raw, int64_t begin, int64_t end, int32_t worker) {
  auto *args = static_cast<ParallelArgs *>(raw);
  const Problem &p = *args->problem;
  auto *scratch = static_cast<float *>(args->ctx->scratch(
      args->ctx, worker,
      size_t(scratchFloats(p, args->source)) * sizeof(float)));
  if (!scratch) {
    __atomic_store_n(&args->outOfMemory, true, __ATOMIC_RELAXED);
    return;
  }
  runRange(p, args->fn, args->source, begin, end, scratch);
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

template <class Part, class Whole>
bool fits(const Part &part, const Whole &present, int64_t rows) {
  return part.sizes[0] == present.sizes[0] &&
         part.sizes[1] == present.sizes[1] && part.sizes[2] == rows &&
         part.sizes[3] == present.sizes[3];
}

// The sizes of an attention over keys k and values v (f32 or bf16), checked
// against each other; false, reported under `name`, when they do not fit.
template <class KV>
bool describe(Problem &p, const kiln_memref4_f32 &q, const KV &k, const KV &v,
              const kiln_memref4_f32 *mask, const kiln_memref4_f32 &out,
              const char *name) {
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
  if (ok)
    return true;
  char message[320];
  snprintf(message, sizeof(message),
           "%s: q [%lld, %lld, %lld, %lld], k [%lld, %lld, %lld, "
           "%lld], v [%lld, %lld, %lld, %lld] and out [%lld, %lld, %lld, "
           "%lld] do not fit together%s",
           name, (long long)q.sizes[0], (long long)q.sizes[1],
           (long long)q.sizes[2], (long long)q.sizes[3], (long long)k.sizes[0],
           (long long)k.sizes[1], (long long)k.sizes[2], (long long)k.sizes[3],
           (long long)v.sizes[0], (long long)v.sizes[1], (long long)v.sizes[2],
           (long long)v.sizes[3], (long long)out.sizes[0],
           (long long)out.sizes[1], (long long)out.sizes[2],
           (long long)out.sizes[3],
           mask ? " (or the mask does not broadcast to the scores)" : "");
  reportError(message);
  return false;
}

// Whether past and new make the present, for keys and for values; reported
// under `name` when they do not.
template <class Append, class KV>
bool appendFits(const Append &append, const KV &k, const KV &v,
                const char *name) {
  const int64_t past = append.pastK.sizes[2];
  const int64_t fresh = append.newK.sizes[2];
  if (past >= 0 && fresh >= 0 && past + fresh == k.sizes[2] &&
      fits(append.pastK, k, past) && fits(append.newK, k, fresh) &&
      fits(append.pastV, v, past) && fits(append.newV, v, fresh))
    return true;
  char message[320];
  snprintf(message, sizeof(message),
           "%s: past k [%lld, %lld, %lld, %lld] and "
           "new k [%lld, %lld, %lld, %lld] do not make present k [%lld, "
           "%lld, %lld, %lld] (or the values do not)",
           name, (long long)append.pastK.sizes[0],
           (long long)append.pastK.sizes[1], (long long)append.pastK.sizes[2],
           (long long)append.pastK.sizes[3], (long long)append.newK.sizes[0],
           (long long)append.newK.sizes[1], (long long)append.newK.sizes[2],
           (long long)append.newK.sizes[3], (long long)k.sizes[0],
           (long long)k.sizes[1], (long long)k.sizes[2], (long long)k.sizes[3]);
  reportError(message);
  return false;
}

bool nothingToCompute(const Problem &p) {
  return p.batch == 0 || p.heads == 0 || p.sq == 0 || p.dv == 0;
}

// The rest of `p` after describe and the key and value pointers: q, out
// and mask, the item layout and the scratch.
void finish(Problem &p, const kiln_memref4_f32 &q, const kiln_memref4_f32 *mask,
            const kiln_memref4_f32 &out, float scale, bool causal) {
  p.group = p.heads / p.kvHeads;
  p.q = q.aligned + q.offset;
  p.out = out.aligned + out.offset;
  p.mask = mask ? mask->aligned + mask->offset : nullptr;
  for (int i = 0; i < 4; ++i) {
    p.qs[i] = q.strides[i];
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
}

NarrowFn narrowFnFor(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return narrowBf16Avx512;
#endif
  (void)isa;
  return narrowPortable<uint16_t>;
}

WidenFn widenFnFor(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return widenBf16Avx512;
  if (isa == MatmulIsa::Avx2)
    return widenBf16Avx2;
#endif
  (void)isa;
  return widenPortable<uint16_t>;
}

ItemFn itemFnFor(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return itemsAvx512;
  if (isa == MatmulIsa::Avx2)
    return itemsAvx2;
#elif defined(__aarch64__)
  if (isa == MatmulIsa::Neon)
    return itemsNeon;
#endif
  (void)isa;
  return itemsGeneric;
}

// Every item of `p`, on the session's pool when there is work enough.
void runAll(const Problem &p, ItemFn fn, const ItemSource &source,
            const char *name) {
  const int64_t items = p.batch * p.kvHeads * p.queryBlocks;
  int64_t macs = 0;
  kiln_rt_context *ctx = kiln_rt_current_context();
  bool parallel = ctx && ctx->num_threads > 1 && items > 1 &&
                  !__builtin_mul_overflow(p.batch * p.heads * p.sq,
                                          p.sk * (p.d + p.dv), &macs) &&
                  macs >= kParallelMacs;
  if (parallel) {
    ParallelArgs args{&p, fn, source, ctx, false};
    ctx->parallel_for(ctx, 0, items, 1, runItems, &args);
    if (!__atomic_load_n(&args.outOfMemory, __ATOMIC_RELAXED))
      return;
    // Some items may not have run: redo all of them on this thread.
  }
  size_t bytes = size_t(scratchFloats(p, source)) * sizeof(float);
  void *owned = nullptr;
  float *scratch = nullptr;
  if (ctx)
    scratch = static_cast<float *>(ctx->scratch(ctx, 0, bytes));
  if (!scratch && posix_memalign(&owned, 64, bytes) == 0)
    scratch = static_cast<float *>(owned);
  if (!scratch) {
    char message[96];
    snprintf(message, sizeof(message), "%s: out of memory for scratch", name);
    reportError(message);
    return;
  }
  runRange(p, fn, source, 0, items, scratch);
  free(owned);
}

NarrowOf<uint8_t> narrowF8For(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return narrowF8Avx512;
#endif
  (void)isa;
  return narrowPortable<uint8_t>;
}

WidenOf<uint8_t> widenF8For(MatmulIsa isa) {
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    return widenF8Avx512;
#endif
  (void)isa;
  return widenPortable<uint8_t>;
}

// attentionAppendBf16 and attentionAppendF8: `direct` runs decode items over
// the cache where it lies (AVX-512), `widen` and `narrow` convert its rows.
template <class Elem>
void attentionAppendNarrow(
    const kiln_memref4_f32 &q, const typename NarrowTypes<Elem>::Memref &k,
    const typename NarrowTypes<Elem>::Memref &v, const kiln_memref4_f32 *mask,
    const kiln_memref4_f32 &out, float scale, bool causal, MatmulIsa isa,
    const typename NarrowTypes<Elem>::Append &append, const char *name,
    ItemFn direct, WidenOf<Elem> widen, NarrowOf<Elem> narrow) {
  Problem p;
  if (!describe(p, q, k, v, mask, out, name) || !appendFits(append, k, v, name))
    return;
  NarrowCache<Elem> cache{&append, &k, &v, true, widen, narrow, direct};
  if (nothingToCompute(p)) {
    cache.copyAll();
    return;
  }
  p.k = p.v = nullptr; // each item's, widened (NarrowCache::prepare)
  finish(p, q, mask, out, scale, causal);
  if (p.queryBlocks > 1) {
    cache.copyAll();
    cache.fill = false;
  }
  ItemSource source;
  setCache(source, &cache);
  runAll(p, itemFnFor(isa), source, name);
}

} // namespace

void attentionF32(const kiln_memref4_f32 &q, const kiln_memref4_f32 &k,
                  const kiln_memref4_f32 &v, const kiln_memref4_f32 *mask,
                  const kiln_memref4_f32 &out, float scale, bool causal,
                  MatmulIsa isa, const KvAppend *append) {
  Problem p;
  if (!describe(p, q, k, v, mask, out, "attention_f32") ||
      (append && !appendFits(*append, k, v, "attention_append_f32")))
    return;
  Appending appending{append, &k, &v};
  if (append && nothingToCompute(p)) {
    // No attention to compute, and the present cache is an output still.
    appending.copyAll();
    return;
  }
  if (nothingToCompute(p))
    return;
  p.k = k.aligned + k.offset;
  p.v = v.aligned + v.offset;
  for (int i = 0; i < 4; ++i) {
    p.ks[i] = k.strides[i];
    p.vs[i] = v.strides[i];
  }
  finish(p, q, mask, out, scale, causal);
  ItemSource source;
  if (append && p.queryBlocks > 1)
    appending.copyAll(); // several items read each head: fill it first
  else if (append)
    source.f32 = &appending;
  runAll(p, itemFnFor(isa), source, "attention_f32");
}

void attentionAppendBf16(const kiln_memref4_f32 &q, const kiln_memref4_bf16 &k,
                         const kiln_memref4_bf16 &v,
                         const kiln_memref4_f32 *mask,
                         const kiln_memref4_f32 &out, float scale, bool causal,
                         MatmulIsa isa, const KvAppendBf16 &append) {
  ItemFn direct = nullptr;
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    direct = itemsAvx512Bf16;
#endif
  attentionAppendNarrow<uint16_t>(q, k, v, mask, out, scale, causal, isa,
                                  append, "attention_append_bf16", direct,
                                  widenFnFor(isa), narrowFnFor(isa));
}

void attentionAppendF8(const kiln_memref4_f32 &q, const kiln_memref4_f8 &k,
                       const kiln_memref4_f8 &v, const kiln_memref4_f32 *mask,
                       const kiln_memref4_f32 &out, float scale, bool causal,
                       MatmulIsa isa, const KvAppendF8 &append) {
  ItemFn direct = nullptr;
#if defined(__x86_64__)
  if (isa == MatmulIsa::Avx512)
    direct = itemsAvx512F8;
#endif
  attentionAppendNarrow<uint8_t>(q, k, v, mask, out, scale, causal, isa, append,
                                 "attention_append_f8", direct, widenF8For(isa),
                                 narrowF8For(isa));
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

namespace {

// The checks and the call of both narrow-cache entry points.
template <class Memref, class Append, class Kernel>
void appendNarrowEntry(const char *name, kiln_memref4_f32 *q, Memref *pastK,
                       kiln_memref4_f32 *newK, Memref *pastV,
                       kiln_memref4_f32 *newV, Memref *presentK,
                       Memref *presentV, kiln_memref4_f32 *mask,
                       kiln_memref4_f32 *out, float scale, int32_t causal,
                       int32_t masked, Kernel kernel) {
  if (!q || !pastK || !newK || !pastV || !newV || !presentK || !presentV ||
      !mask || !out) {
    char message[96];
    snprintf(message, sizeof(message), "%s: NULL memref descriptor", name);
    kiln::reportError(message);
    return;
  }
  Append append{*pastK, *newK, *pastV, *newV};
  kernel(*q, *presentK, *presentV, masked ? mask : nullptr, *out, scale,
         causal != 0, kiln::bestMatmulIsa(), append);
}

} // namespace

extern "C" void _mlir_ciface_kiln_rt_attention_append_bf16(
    kiln_memref4_f32 *q, kiln_memref4_bf16 *pastK, kiln_memref4_f32 *newK,
    kiln_memref4_bf16 *pastV, kiln_memref4_f32 *newV,
    kiln_memref4_bf16 *presentK, kiln_memref4_bf16 *presentV,
    kiln_memref4_f32 *mask, kiln_memref4_f32 *out, float scale, int32_t causal,
    int32_t masked) {
  appendNarrowEntry<kiln_memref4_bf16, kiln::KvAppendBf16>(
      "attention_append_bf16", q, pastK, newK, pastV, newV, presentK, presentV,
      mask, out, scale, causal, masked, kiln::attentionAppendBf16);
}

extern "C" void _mlir_ciface_kiln_rt_attention_append_f8(
    kiln_memref4_f32 *q, kiln_memref4_f8 *pastK, kiln_memref4_f32 *newK,
    kiln_memref4_f8 *pastV, kiln_memref4_f32 *newV, kiln_memref4_f8 *presentK,
    kiln_memref4_f8 *presentV, kiln_memref4_f32 *mask, kiln_memref4_f32 *out,
    float scale, int32_t causal, int32_t masked) {
  appendNarrowEntry<kiln_memref4_f8, kiln::KvAppendF8>(
      "attention_append_f8", q, pastK, newK, pastV, newV, presentK, presentV,
      mask, out, scale, causal, masked, kiln::attentionAppendF8);
}
