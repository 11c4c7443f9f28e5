//===- HugePages.h - Anonymous memory for 2 MiB pages ----------*- C++ -*-===//
//
// The in-place KV cache (KvCache.cpp) and the weights' copy (WeightPages.cpp)
// are read in full by every decode step; on 4 KiB pages they miss the TLB
// every 4 KiB. Both ask for memory that starts where a 2 MiB page can, and
// that the kernel may back with such pages (MADV_HUGEPAGE, for transparent
// huge pages in `madvise` mode).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_HUGEPAGES_H
#define KILN_RUNTIME_HUGEPAGES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

namespace kiln {

constexpr uintptr_t kHugePage = uintptr_t(2) << 20;

/// `bytes` (a multiple of the page size) of zeroed, read-write anonymous
/// memory at an address congruent to `congruentTo` modulo 2 MiB (a
/// page-aligned address), marked MADV_HUGEPAGE; null when mmap fails.
/// munmap(p, bytes) frees it.
inline void *mapHugePages(size_t bytes, uintptr_t congruentTo = 0) {
  void *raw = mmap(nullptr, bytes + kHugePage, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED)
    return nullptr;
  const uintptr_t rawAt = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t head =
      (congruentTo % kHugePage + kHugePage - rawAt % kHugePage) % kHugePage;
  if (head)
    munmap(raw, head);
  void *at = reinterpret_cast<void *>(rawAt + head);
  munmap(static_cast<char *>(at) + bytes, kHugePage - head);
  // Fails where the kernel has no transparent huge pages; the memory serves
  // all the same.
  madvise(at, bytes, MADV_HUGEPAGE);
  return at;
}

} // namespace kiln

#endif // KILN_RUNTIME_HUGEPAGES_H
