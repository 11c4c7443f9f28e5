//===- TensorProto.cpp - ONNX TensorProto decoder -------------------------===//

#include "TensorProto.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace kiln {

namespace {

// TensorProto field numbers (onnx/onnx.proto).
enum Field {
  kDims = 1,
  kDataType = 2,
  kSegment = 3,
  kFloatData = 4,
  kInt32Data = 5,
  kStringData = 6,
  kInt64Data = 7,
  kName = 8,
  kRawData = 9,
  kDoubleData = 10,
  kUint64Data = 11,
  kExternalData = 13,
  kDataLocation = 14,
};

enum WireType { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2, kFixed32 = 5 };

class Reader {
public:
  Reader(const uint8_t *begin, const uint8_t *end, const std::string &what)
      : p(begin), end(end), what(what) {}

  bool done() const { return p >= end; }

  uint64_t varint() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p >= end)
        fail("truncated varint");
      uint8_t byte = *p++;
      value |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80))
        return value;
    }
    fail("varint longer than 10 bytes");
  }

  template <typename T> T fixed() {
    if (end - p < (ptrdiff_t)sizeof(T))
      fail("truncated fixed-width field");
    T v;
    std::memcpy(&v, p, sizeof(T));
    p += sizeof(T);
    return v;
  }

  Reader sub() {
    uint64_t len = varint();
    if (len > (uint64_t)(end - p))
      fail("length-delimited field runs past the end");
    Reader r(p, p + len, what);
    p += len;
    return r;
  }

  void skip(int wireType) {
    switch (wireType) {
    case kVarint:
      varint();
      return;
    case kFixed64:
      fixed<uint64_t>();
      return;
    case kLengthDelimited:
      sub();
      return;
    case kFixed32:
      fixed<uint32_t>();
      return;
    default:
      fail("unsupported wire type " + std::to_string(wireType));
    }
  }

  std::string bytes() {
    Reader r = sub();
    return std::string(reinterpret_cast<const char *>(r.p), r.end - r.p);
  }

  [[noreturn]] void fail(const std::string &message) const {
    throw ToolError(what + ": malformed TensorProto: " + message);
  }

private:
  const uint8_t *p;
  const uint8_t *end;
  const std::string &what;
};

// Repeated scalar fields come packed (one length-delimited run) or one per
// tag; accept both, as protobuf parsers must.
template <typename T, typename ReadOne>
void readRepeated(Reader &r, int wireType, int unpackedWireType,
                  std::vector<T> &out, ReadOne readOne) {
  if (wireType == kLengthDelimited) {
    Reader packed = r.sub();
    while (!packed.done())
      out.push_back(readOne(packed));
  } else if (wireType == unpackedWireType) {
    out.push_back(readOne(r));
  } else {
    r.fail("unexpected wire type " + std::to_string(wireType));
  }
}

template <typename T> void appendAs(std::vector<uint8_t> &data, T value) {
  const uint8_t *b = reinterpret_cast<const uint8_t *>(&value);
  data.insert(data.end(), b, b + sizeof(T));
}

} // namespace

HostTensor parseTensorProto(const std::string &bytes, const std::string &what) {
  Reader r(reinterpret_cast<const uint8_t *>(bytes.data()),
           reinterpret_cast<const uint8_t *>(bytes.data()) + bytes.size(),
           what);
  HostTensor t;
  std::vector<float> floats;
  std::vector<int32_t> int32s;
  std::vector<int64_t> int64s;
  std::vector<double> doubles;
  std::vector<uint64_t> uint64s;
  std::string raw;
  bool hasRaw = false;
  auto varint32 = [](Reader &x) { return (int32_t)(uint32_t)x.varint(); };
  auto varint64 = [](Reader &x) { return (int64_t)x.varint(); };

  while (!r.done()) {
    uint64_t key = r.varint();
    int field = int(key >> 3), wire = int(key & 7);
    switch (field) {
    case kDims:
      readRepeated(r, wire, kVarint, t.dims, varint64);
      break;
    case kDataType:
      t.dtype = (int32_t)r.varint();
      break;
    case kFloatData:
      readRepeated(r, wire, kFixed32, floats,
                   [](Reader &x) { return x.fixed<float>(); });
      break;
    case kInt32Data:
      readRepeated(r, wire, kVarint, int32s, varint32);
      break;
    case kInt64Data:
      readRepeated(r, wire, kVarint, int64s, varint64);
      break;
    case kDoubleData:
      readRepeated(r, wire, kFixed64, doubles,
                   [](Reader &x) { return x.fixed<double>(); });
      break;
    case kUint64Data:
      readRepeated(r, wire, kVarint, uint64s,
                   [](Reader &x) { return x.varint(); });
      break;
    case kName:
      t.name = r.bytes();
      break;
    case kRawData:
      raw = r.bytes();
      hasRaw = true;
      break;
    case kStringData:
      throw ToolError(what + ": string tensors are not supported");
    case kSegment:
      throw ToolError(what + ": segmented tensors are not supported");
    case kExternalData:
      throw ToolError(what + ": tensors with external data are not supported");
    case kDataLocation:
      if (r.varint() != 0)
        throw ToolError(what +
                        ": tensors with external data are not supported");
      break;
    default:
      r.skip(wire);
      break;
    }
  }

  if (kiln_dtype_size(t.dtype) == 0)
    throw ToolError(what + ": unsupported TensorProto data_type " +
                    std::to_string(t.dtype));
  int64_t count = checkedElementCount(t.dims);
  size_t elementSize = t.elementSize();
  if (hasRaw) {
    t.data.assign(raw.begin(), raw.end());
  } else {
    switch (t.dtype) {
    case KILN_DTYPE_F32:
      for (float v : floats)
        appendAs(t.data, v);
      break;
    case KILN_DTYPE_F64:
      for (double v : doubles)
        appendAs(t.data, v);
      break;
    case KILN_DTYPE_I64:
      for (int64_t v : int64s)
        appendAs(t.data, v);
      break;
    case KILN_DTYPE_U32:
      for (uint64_t v : uint64s)
        appendAs(t.data, (uint32_t)v);
      break;
    case KILN_DTYPE_U64:
      for (uint64_t v : uint64s)
        appendAs(t.data, v);
      break;
    default:
      // int32_data carries every type of 32 bits or less, f16/bf16 as bits.
      for (int32_t v : int32s) {
        if (elementSize == 1)
          appendAs(t.data, (uint8_t)v);
        else if (elementSize == 2)
          appendAs(t.data, (uint16_t)v);
        else
          appendAs(t.data, v);
      }
      break;
    }
  }
  if (t.data.size() != (size_t)count * elementSize)
    throw ToolError(what + ": TensorProto " + describe(t) + " needs " +
                    std::to_string((size_t)count * elementSize) +
                    " data bytes, has " + std::to_string(t.data.size()));
  return t;
}

void adoptBf16BitPattern(HostTensor &t, int32_t wanted) {
  if (t.dtype == KILN_DTYPE_U16 && wanted == KILN_DTYPE_BF16)
    t.dtype = KILN_DTYPE_BF16;
}

HostTensor readTensorProto(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ToolError("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseTensorProto(ss.str(), path);
}

} // namespace kiln
