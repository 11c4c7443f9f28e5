//===- WeightsFile.cpp - Weights in a file beside the library -------------===//
#include "codegen/WeightsFile.h"
#include "runtime/include/kiln/model_abi.h"

#include "llvm/ADT/ScopeExit.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::kiln;

uint64_t mlir::kiln::externalWeightsAlignment() {
  return KILN_WEIGHTS_FILE_DATA_OFFSET;
}

LogicalResult
mlir::kiln::writeWeightsFile(Location loc, const std::string &path,
                             const WeightFiles &files,
                             const std::array<uint8_t, 32> &hash) {
  auto fail = [&](const llvm::Twine &why) {
    return emitError(loc) << "writing " << files.bytes
                          << " bytes of weights to " << path << ": " << why;
  };
  // A new file, not the old one rewritten: a process may have it mapped.
  llvm::sys::fs::remove(path);
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail(std::string("cannot create: ") + strerror(errno));
  auto closeOnExit = llvm::make_scope_exit([&] { close(fd); });

  kiln_weights_file_header header;
  memset(&header, 0, sizeof(header));
  memcpy(header.magic, KILN_WEIGHTS_FILE_MAGIC, sizeof(header.magic));
  llvm::support::endian::write64le(&header.data_offset,
                                   KILN_WEIGHTS_FILE_DATA_OFFSET);
  llvm::support::endian::write64le(&header.data_bytes, files.bytes);
  memcpy(header.hash, hash.data(), sizeof(header.hash));
  auto writeAll = [&](const char *data, size_t size, uint64_t offset) {
    for (size_t put = 0; put < size;) {
      // At most 1 GiB per call: Linux writes no more than about 2 GiB at once.
      size_t want = std::min<size_t>(size - put, size_t(1) << 30);
      ssize_t n = pwrite(fd, data + put, want, offset + put);
      if (n <= 0)
        return false;
      put += n;
    }
    return true;
  };
  if (!writeAll(reinterpret_cast<const char *>(&header), sizeof(header), 0))
    return fail(std::string("cannot write: ") + strerror(errno));
  for (const WeightChunk &chunk : files.chunks)
    if (!writeAll(chunk.data.data(), chunk.data.size(),
                  KILN_WEIGHTS_FILE_DATA_OFFSET + chunk.offset))
      return fail(std::string("cannot write: ") + strerror(errno));
  if (ftruncate(fd, KILN_WEIGHTS_FILE_DATA_OFFSET + files.bytes) != 0)
    return fail(std::string("cannot extend: ") + strerror(errno));
  if (close(fd) != 0) {
    closeOnExit.release();
    return fail(std::string("cannot close: ") + strerror(errno));
  }
  closeOnExit.release();
  return success();
}
