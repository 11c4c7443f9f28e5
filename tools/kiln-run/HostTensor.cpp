//===- HostTensor.cpp - A dense tensor owned by kiln-run ------------------===//

#include "HostTensor.h"

namespace kiln {

int64_t checkedElementCount(const std::vector<int64_t> &dims) {
  int64_t count = 1;
  for (int64_t d : dims) {
    if (d < 0)
      throw ToolError("negative dimension in " + formatDims(dims));
    if (__builtin_mul_overflow(count, d, &count))
      throw ToolError("element count of " + formatDims(dims) + " overflows");
  }
  return count;
}

int64_t HostTensor::numElements() const { return checkedElementCount(dims); }

kiln_tensor HostTensor::view() {
  kiln_tensor t;
  t.dtype = static_cast<kiln_dtype>(dtype);
  t.rank = static_cast<int32_t>(dims.size());
  t.dims = dims.data();
  t.data = data.data();
  t.size_bytes = data.size();
  return t;
}

std::string formatDims(const std::vector<int64_t> &dims) {
  std::string s = "[";
  for (size_t i = 0; i < dims.size(); ++i)
    s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

std::string describe(const HostTensor &t) {
  return std::string(kiln_dtype_name(t.dtype)) + " " + formatDims(t.dims);
}

} // namespace kiln
