//===- WeightPages.cpp - A library's weights copied onto huge pages -------===//
//
// kilnc --weights=embedded (the default for cpu libraries) puts the weights
// in a segment of their own, aligned to 2 MiB, and the first session copies
// them onto anonymous memory marked MADV_HUGEPAGE at the same address. The
// loader maps a library's file with 4 KiB pages; a decode step that
// streams 124 MB of int8 weights then misses the TLB every 4 KiB, where
// 2 MiB pages take 64 entries. GPT-2 small int8 decode, one row: 2.17 ->
// 1.93-2.02 ms a step (docs/performance.md).
//
// Best effort: where a step fails (no memory, no mremap), the weights stay
// where they are, identical, and the session runs on them.
//
//===----------------------------------------------------------------------===//

#include "HugePages.h"
#include "kiln/model_abi.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

namespace {

pthread_mutex_t copyLock = PTHREAD_MUTEX_INITIALIZER;

void copyLocked(kiln_abi_weights *w) {
  const long page = sysconf(_SC_PAGESIZE);
  const uintptr_t base = reinterpret_cast<uintptr_t>(w->base);
  if (page <= 0 || base % page != 0)
    return;
  const size_t length = (w->bytes + page - 1) / page * page;
  // Congruent to the weights modulo 2 MiB, so that moving it over them
  // keeps its huge pages whole.
  void *fresh = kiln::mapHugePages(length, base);
  if (!fresh)
    return;
  memcpy(fresh, w->base, length);
  if (mprotect(fresh, length, PROT_READ) != 0 ||
      mremap(fresh, length, length, MREMAP_MAYMOVE | MREMAP_FIXED, w->base) ==
          MAP_FAILED)
    munmap(fresh, length);
}

} // namespace

/// The `map` of a library's kiln_abi_weights under --weights=embedded; each
/// library has its own copy of the runtime, so the lock is per library.
/// Always 0: the weights are usable whether or not the copy was made.
extern "C" __attribute__((visibility("hidden"))) int32_t
kiln_abi_copy_weights(kiln_abi_weights *w, char *message, size_t message_size) {
  if (message && message_size)
    message[0] = '\0';
  pthread_mutex_lock(&copyLock);
  if (!w->mapped) {
    copyLocked(w);
    w->mapped = 1;
  }
  pthread_mutex_unlock(&copyLock);
  return 0;
}
