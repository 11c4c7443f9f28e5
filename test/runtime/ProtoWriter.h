//===- ProtoWriter.h - Protobuf encoding for test inputs --------*- C++ -*-===//
#ifndef KILN_TEST_RUNTIME_PROTOWRITER_H
#define KILN_TEST_RUNTIME_PROTOWRITER_H

#include "HostTensor.h"

#include <string>

namespace kiln::test {

inline void putVarint(std::string &out, uint64_t v) {
  do {
    uint8_t byte = v & 0x7f;
    v >>= 7;
    out += char(byte | (v ? 0x80 : 0));
  } while (v);
}

inline void putTag(std::string &out, int field, int wire) {
  putVarint(out, uint64_t(field) << 3 | wire);
}

inline void putBytes(std::string &out, int field, const std::string &bytes) {
  putTag(out, field, 2);
  putVarint(out, bytes.size());
  out += bytes;
}

// A TensorProto with dims, data_type, name and raw_data, as ONNX's
// numpy_helper.from_array writes it.
inline std::string encodeTensorProto(const HostTensor &t) {
  std::string out;
  for (int64_t d : t.dims) {
    putTag(out, 1, 0);
    putVarint(out, (uint64_t)d);
  }
  putTag(out, 2, 0);
  putVarint(out, (uint64_t)t.dtype);
  if (!t.name.empty())
    putBytes(out, 8, t.name);
  putBytes(out, 9, std::string(t.data.begin(), t.data.end()));
  return out;
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_PROTOWRITER_H
