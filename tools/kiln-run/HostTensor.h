//===- HostTensor.h - A dense tensor owned by kiln-run ----------*- C++ -*-===//
#ifndef KILN_TOOLS_KILNRUN_HOSTTENSOR_H
#define KILN_TOOLS_KILNRUN_HOSTTENSOR_H

#include "kiln/runtime.h"

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace kiln {

// The tool's errors; main() turns them into exit code 2.
struct ToolError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct HostTensor {
  std::string name; // as read from a TensorProto; may be empty
  int32_t dtype = KILN_DTYPE_UNDEFINED;
  std::vector<int64_t> dims;
  std::vector<uint8_t> data; // dense row-major, little-endian

  int64_t numElements() const;
  size_t elementSize() const { return kiln_dtype_size(dtype); }
  // A kiln_tensor borrowing this tensor's storage.
  kiln_tensor view();
};

// Element count of `dims`; throws ToolError on a negative dim or overflow.
int64_t checkedElementCount(const std::vector<int64_t> &dims);

// "[2, 3, 4]".
std::string formatDims(const std::vector<int64_t> &dims);

// "f32 [2, 3, 4]".
std::string describe(const HostTensor &t);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_HOSTTENSOR_H
