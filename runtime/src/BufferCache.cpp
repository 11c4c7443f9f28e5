//===- BufferCache.cpp - Buffers for generated code, reused across calls --===//
//
// Generated code allocates its intermediate buffers through MLIR's generic
// allocation functions (finalize-memref-to-llvm{use-generic-functions}).
// A model requests the same sizes in the same order on every call, so each
// thread keeps the buffers it frees in exact-size free lists and hands them
// back on the next request: after the first call no buffer reaches malloc or
// the kernel, and no page is faulted in again. The cache of a thread is
// bounded (KILN_BUFFER_CACHE_MB, default 4096) and freed when the thread
// exits. Sizes of 1 MiB and more are rounded up to a quarter of a power of
// two: a decode loop asks for a slightly larger arena every step, and each
// step would otherwise map (and fault in) a fresh block.
//
// A session given an arena of the caller's (kiln_session_options.arena)
// carves its runs' buffers from it instead, and allocates nothing.
//
// While a session runs a model, the buffers allocated on the invoking thread
// are linked into the run's list and counted against its max_arena_bytes. An
// allocation over the limit, or one malloc refuses, unwinds the run through
// the context (a longjmp back to the session) instead of handing NULL to
// generated code that does not check it; the session then frees what the
// list still holds.
//
//===----------------------------------------------------------------------===//

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <stdio.h>

#include "ExecutionContext.h"

namespace {

constexpr size_t kAlign = 64;
constexpr uint64_t kMagic = 0x6b696c6e62756631ull; // "kilnbuf1"

// Sits right before the user pointer; the block starts `offset` bytes
// earlier (64, or the alignment asked for when that is larger).
struct Header {
  uint64_t magic;
  size_t size;
  size_t offset;
  kiln_rt_context *run; // the run that counts this buffer, or NULL
  Header *prev, *next;  // the run's live buffers
};
static_assert(sizeof(Header) <= kAlign, "header must fit the offset");

// Free blocks of one thread: (size, block) pairs, newest last. Plain C
// memory and a pthread key, since the runtime links no C++ library.
struct Entry {
  size_t size;
  void *block;
};
struct Cache {
  Entry *entries;
  size_t count, capacity;
  size_t cachedBytes, limitBytes;
};

pthread_key_t cacheKey;
pthread_once_t cacheOnce = PTHREAD_ONCE_INIT;

void destroyCache(void *raw) {
  Cache *c = static_cast<Cache *>(raw);
  for (size_t i = 0; i < c->count; ++i)
    ::free(c->entries[i].block);
  ::free(c->entries);
  ::free(c);
}

void makeKey() { pthread_key_create(&cacheKey, destroyCache); }

Cache *cache() {
  pthread_once(&cacheOnce, makeKey);
  Cache *c = static_cast<Cache *>(pthread_getspecific(cacheKey));
  if (!c) {
    c = static_cast<Cache *>(calloc(1, sizeof(Cache)));
    if (!c)
      return nullptr;
    const char *env = getenv("KILN_BUFFER_CACHE_MB");
    long long mb = env ? atoll(env) : 4096;
    c->limitBytes = mb > 0 ? (size_t)mb << 20 : 0;
    pthread_setspecific(cacheKey, c);
  }
  return c;
}

size_t sizeClass(size_t size) {
  if (size < (size_t(1) << 20) || size > SIZE_MAX / 2)
    return size;
  size_t step = (size_t(1) << (63 - __builtin_clzll(size))) / 4;
  return (size + step - 1) / step * step;
}

Header *headerOf(void *ptr) {
  return reinterpret_cast<Header *>(static_cast<char *>(ptr) - sizeof(Header));
}

// The cached entry to reuse for `size`: one of that size, else, from 1 MiB,
// the smallest of at most twice it. A model whose shapes change from call to
// call (a server's batches) then reuses the pages of a larger earlier call
// instead of faulting in new ones. -1 when none fits.
ptrdiff_t findCached(const Cache *c, size_t size) {
  ptrdiff_t best = -1;
  for (size_t i = c->count; i-- > 0;) {
    size_t have = c->entries[i].size;
    if (have == size)
      return (ptrdiff_t)i;
    if (size >= (size_t(1) << 20) && have > size && have / 2 <= size &&
        (best < 0 || have < c->entries[best].size))
      best = (ptrdiff_t)i;
  }
  return best;
}

// `size` is a sizeClass already. A reused block keeps its header, whose size
// is the block's own, which may exceed `size`.
void *allocateUncounted(size_t alignment, size_t size) {
  size_t offset = alignment > kAlign ? alignment : kAlign;
  if (offset == kAlign)
    if (Cache *c = cache()) {
      ptrdiff_t i = findCached(c, size);
      if (i >= 0) {
        Entry entry = c->entries[i];
        c->entries[i] = c->entries[--c->count];
        c->cachedBytes -= entry.size;
        return static_cast<char *>(entry.block) + offset;
      }
    }
  void *block = nullptr;
  if (size > SIZE_MAX - offset || posix_memalign(&block, offset, size + offset))
    return nullptr;
  void *ptr = static_cast<char *>(block) + offset;
  *headerOf(ptr) = {kMagic, size, offset, nullptr, nullptr, nullptr};
  return ptr;
}

void unlink(Header *h) {
  kiln_rt_context *run = h->run;
  if (h->prev)
    h->prev->next = h->next;
  else
    run->arena_live = h->next;
  if (h->next)
    h->next->prev = h->prev;
  run->arena_used -= h->size;
  h->run = nullptr;
}

// A buffer carved from the caller's arena (kiln_session_options.arena): no
// header and no cache, and nothing to free; the run starts it over.
void *carve(kiln_rt_context *run, size_t alignment, size_t size) {
  uint64_t align = alignment > kAlign ? alignment : kAlign;
  uint64_t top = __atomic_load_n(&run->user_arena_top, __ATOMIC_RELAXED);
  for (;;) {
    uint64_t start = (top + align - 1) / align * align;
    if (start < top || size > run->user_arena_bytes ||
        start > run->user_arena_bytes - size) {
      run->refuse_allocation(run, size, /*malloc_failed=*/0);
      fprintf(stderr,
              "kiln: an intermediate buffer of %zu bytes does not fit the "
              "session's arena inside a parallel loop\n",
              size);
      abort();
    }
    if (__atomic_compare_exchange_n(&run->user_arena_top, &top, start + size,
                                    /*weak=*/true, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED))
      return run->user_arena + start;
  }
}

bool inUserArena(const kiln_rt_context *run, const void *ptr) {
  const char *p = static_cast<const char *>(ptr);
  return run && run->user_arena && p >= run->user_arena &&
         p < run->user_arena + run->user_arena_bytes;
}

void *allocate(size_t alignment, size_t size) {
  kiln_rt_context *run = kiln_rt_current_context();
  if (run && run->user_arena && run->refuse_allocation)
    return carve(run, alignment, size);
  size = sizeClass(size);
  if (!run || !run->refuse_allocation)
    return allocateUncounted(alignment, size);
  if (size > run->arena_limit - run->arena_used ||
      run->arena_used > run->arena_limit)
    run->refuse_allocation(run, size, /*malloc_failed=*/0);
  void *ptr = allocateUncounted(alignment, size);
  if (!ptr) {
    run->refuse_allocation(run, size, /*malloc_failed=*/1);
    // Inside a parallel loop nothing can unwind, and generated code does
    // not check for NULL: stop here rather than write through it.
    fprintf(stderr, "kiln: cannot allocate %zu bytes inside a parallel loop\n",
            size);
    abort();
  }
  Header *h = headerOf(ptr);
  h->run = run;
  h->prev = nullptr;
  h->next = static_cast<Header *>(run->arena_live);
  if (h->next)
    h->next->prev = h;
  run->arena_live = h;
  run->arena_used += h->size; // a reused block may be larger
  return ptr;
}

} // namespace

extern "C" {

void *_mlir_memref_to_llvm_alloc(size_t size) { return allocate(kAlign, size); }

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  return allocate(alignment, size);
}

void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr || inUserArena(kiln_rt_current_context(), ptr))
    return;
  if (headerOf(ptr)->magic == kMagic && headerOf(ptr)->run)
    unlink(headerOf(ptr));
  Header h = *headerOf(ptr);
  void *block = static_cast<char *>(ptr) - h.offset;
  Cache *c = h.magic == kMagic && h.offset == kAlign ? cache() : nullptr;
  if (!c || c->cachedBytes + h.size > c->limitBytes) {
    ::free(block);
    return;
  }
  if (c->count == c->capacity) {
    size_t capacity = c->capacity ? 2 * c->capacity : 64;
    void *grown = realloc(c->entries, capacity * sizeof(Entry));
    if (!grown) {
      ::free(block);
      return;
    }
    c->entries = static_cast<Entry *>(grown);
    c->capacity = capacity;
  }
  c->entries[c->count++] = {h.size, block};
  c->cachedBytes += h.size;
}

void kiln_rt_end_run_buffers(kiln_rt_context *ctx, int release) {
  while (Header *h = static_cast<Header *>(ctx->arena_live)) {
    unlink(h);
    if (release)
      _mlir_memref_to_llvm_free(reinterpret_cast<char *>(h) + sizeof(Header));
  }
}

} // extern "C"
