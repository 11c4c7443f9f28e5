//===- BufferCache.cpp - Buffers for generated code, reused across calls --===//
//
// Generated code allocates its intermediate buffers through MLIR's generic
// allocation functions (finalize-memref-to-llvm{use-generic-functions}).
// A model requests the same sizes in the same order on every call, so each
// thread keeps the buffers it frees in exact-size free lists and hands them
// back on the next request: after the first call no buffer reaches malloc or
// the kernel, and no page is faulted in again. The cache of a thread is
// bounded (KILN_BUFFER_CACHE_MB, default 4096) and freed when the thread
// exits.
//
//===----------------------------------------------------------------------===//

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>

namespace {

constexpr size_t kAlign = 64;
constexpr uint64_t kMagic = 0x6b696c6e62756631ull; // "kilnbuf1"

// Sits right before the user pointer; the block starts `offset` bytes
// earlier (64, or the alignment asked for when that is larger).
struct Header {
  uint64_t magic;
  size_t size;
  size_t offset;
};

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

Header *headerOf(void *ptr) {
  return reinterpret_cast<Header *>(static_cast<char *>(ptr) - sizeof(Header));
}

void *allocate(size_t alignment, size_t size) {
  size_t offset = alignment > kAlign ? alignment : kAlign;
  if (offset == kAlign)
    if (Cache *c = cache())
      for (size_t i = c->count; i-- > 0;)
        if (c->entries[i].size == size) {
          void *block = c->entries[i].block;
          c->entries[i] = c->entries[--c->count];
          c->cachedBytes -= size;
          return static_cast<char *>(block) + offset;
        }
  void *block = nullptr;
  if (size > SIZE_MAX - offset || posix_memalign(&block, offset, size + offset))
    return nullptr;
  void *ptr = static_cast<char *>(block) + offset;
  *headerOf(ptr) = {kMagic, size, offset};
  return ptr;
}

} // namespace

extern "C" {

void *_mlir_memref_to_llvm_alloc(size_t size) { return allocate(kAlign, size); }

void *_mlir_memref_to_llvm_aligned_alloc(size_t alignment, size_t size) {
  return allocate(alignment, size);
}

void _mlir_memref_to_llvm_free(void *ptr) {
  if (!ptr)
    return;
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

} // extern "C"
