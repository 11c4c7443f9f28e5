//===- ExternalWeights.cpp - Mapping a weights file beside the library ----===//
//
// kilnc --weights=external leaves the weights out of the library: its code
// reads them at addresses in a segment that has no file bytes, and the file
// "<library>.weights" is mapped over that segment here. The map is lazy, as
// the library's own pages are: a board reads from flash only the weights a
// run touches, and the page cache shares them between processes.
//
//===----------------------------------------------------------------------===//

#include "kiln/model_abi.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace {

pthread_mutex_t mapLock = PTHREAD_MUTEX_INITIALIZER;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0)
      close(fd);
  }
};

int32_t mapLocked(kiln_abi_weights *w, char *message, size_t size) {
  Dl_info info;
  if (!dladdr(w, &info) || !info.dli_fname) {
    snprintf(message, size,
             "cannot find the path of the library whose weights to map");
    return 1;
  }
  char path[4096];
  if (snprintf(path, sizeof(path), "%s.weights", info.dli_fname) >=
      (int)sizeof(path)) {
    snprintf(message, size, "the library's path is too long: %s",
             info.dli_fname);
    return 1;
  }
  Fd file{open(path, O_RDONLY | O_CLOEXEC)};
  struct stat st;
  if (file.fd < 0 || fstat(file.fd, &st) != 0) {
    snprintf(message, size, "cannot open the weights file '%s': %s", path,
             strerror(errno));
    return 1;
  }
  uint64_t need = KILN_WEIGHTS_FILE_DATA_OFFSET + w->bytes;
  kiln_weights_file_header header;
  if ((uint64_t)st.st_size >= sizeof(header) &&
      pread(file.fd, &header, sizeof(header), 0) != (ssize_t)sizeof(header)) {
    snprintf(message, size, "cannot read the weights file '%s': %s", path,
             strerror(errno));
    return 1;
  }
  if ((uint64_t)st.st_size < sizeof(header) ||
      memcmp(header.magic, KILN_WEIGHTS_FILE_MAGIC, sizeof(header.magic)) !=
          0 ||
      header.data_offset != KILN_WEIGHTS_FILE_DATA_OFFSET) {
    snprintf(message, size, "'%s' is not a Kiln weights file", path);
    return 1;
  }
  if (header.data_bytes != w->bytes ||
      memcmp(header.hash, w->hash, sizeof(w->hash)) != 0) {
    snprintf(message, size,
             "the weights file '%s' is from another compile: its %llu bytes "
             "of weights are not the %llu bytes the library was compiled "
             "with (recompile, or copy the file written with the library)",
             path, (unsigned long long)header.data_bytes,
             (unsigned long long)w->bytes);
    return 1;
  }
  if ((uint64_t)st.st_size < need) {
    snprintf(message, size,
             "the weights file '%s' is truncated: %llu bytes, the library "
             "needs %llu",
             path, (unsigned long long)st.st_size, (unsigned long long)need);
    return 1;
  }
  long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || KILN_WEIGHTS_FILE_DATA_OFFSET % page != 0) {
    snprintf(message, size,
             "cannot map the weights file '%s': page size %ld does not "
             "divide %u",
             path, page, KILN_WEIGHTS_FILE_DATA_OFFSET);
    return 1;
  }
  // The library's loader reserved these pages (read-only, no file bytes);
  // MAP_FIXED replaces them with the file's.
  uint64_t length = (w->bytes + page - 1) / page * page;
  void *at = mmap(w->base, length, PROT_READ, MAP_PRIVATE | MAP_FIXED, file.fd,
                  KILN_WEIGHTS_FILE_DATA_OFFSET);
  if (at == MAP_FAILED) {
    snprintf(message, size, "cannot map the weights file '%s': %s", path,
             strerror(errno));
    return 1;
  }
  return 0;
}

} // namespace

/// The `map` of every kiln_abi_weights that kilnc writes; each library has
/// its own copy of the runtime, so the lock is per library.
extern "C" __attribute__((visibility("hidden"))) int32_t
kiln_abi_map_external_weights(kiln_abi_weights *w, char *message,
                              size_t message_size) {
  if (message && message_size)
    message[0] = '\0';
  char ignored[1];
  if (!message || !message_size) {
    message = ignored;
    message_size = sizeof(ignored);
  }
  pthread_mutex_lock(&mapLock);
  int32_t rc = w->mapped ? 0 : mapLocked(w, message, message_size);
  if (rc == 0)
    w->mapped = 1;
  pthread_mutex_unlock(&mapLock);
  return rc;
}
