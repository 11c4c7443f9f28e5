//===- Npy.cpp - NumPy .npy reader and writer -----------------------------===//

#include "Npy.h"

#include "TensorConvert.h"

#include <cstring>
#include <fstream>
#include <sstream>

namespace kiln {

namespace {

struct Descr {
  const char *text;
  int32_t dtype;
};

// '|' and '<' spellings of one-byte types are both seen in the wild.
const Descr kDescrs[] = {
    {"<f2", KILN_DTYPE_F16},
    {"<f4", KILN_DTYPE_F32},
    {"<f8", KILN_DTYPE_F64},
    {"|i1", KILN_DTYPE_I8},
    {"<i1", KILN_DTYPE_I8},
    {"<i2", KILN_DTYPE_I16},
    {"<i4", KILN_DTYPE_I32},
    {"<i8", KILN_DTYPE_I64},
    {"|u1", KILN_DTYPE_U8},
    {"<u1", KILN_DTYPE_U8},
    {"<u2", KILN_DTYPE_U16},
    {"<u4", KILN_DTYPE_U32},
    {"<u8", KILN_DTYPE_U64},
    {"|b1", KILN_DTYPE_BOOL},
    {"<b1", KILN_DTYPE_BOOL},
    // ml_dtypes' bfloat16 saves as a 2-byte void: the bit patterns.
    {"<V2", KILN_DTYPE_BF16},
    {"|V2", KILN_DTYPE_BF16},
};

std::string quotedValue(const std::string &header, const std::string &key,
                        const std::string &what) {
  size_t k = header.find("'" + key + "'");
  if (k == std::string::npos)
    throw ToolError(what + ": npy header has no '" + key + "'");
  size_t open = header.find_first_of("'\"", header.find(':', k) + 1);
  if (open == std::string::npos)
    throw ToolError(what + ": malformed '" + key + "' in npy header");
  size_t close = header.find(header[open], open + 1);
  if (close == std::string::npos)
    throw ToolError(what + ": malformed '" + key + "' in npy header");
  return header.substr(open + 1, close - open - 1);
}

} // namespace

HostTensor parseNpy(const std::string &bytes, const std::string &what) {
  if (bytes.size() < 10 || bytes.compare(0, 6, "\x93NUMPY") != 0)
    throw ToolError(what + ": not a .npy file (bad magic)");
  unsigned major = (unsigned char)bytes[6];
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = (unsigned char)bytes[8] | ((unsigned char)bytes[9] << 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      throw ToolError(what + ": truncated npy header");
    headerLen = 0;
    for (int i = 3; i >= 0; --i)
      headerLen = (headerLen << 8) | (unsigned char)bytes[8 + i];
    headerStart = 12;
  } else {
    throw ToolError(what + ": unsupported npy format version " +
                    std::to_string(major));
  }
  if (bytes.size() < headerStart + headerLen)
    throw ToolError(what + ": truncated npy header");
  std::string header = bytes.substr(headerStart, headerLen);

  HostTensor t;
  std::string descr = quotedValue(header, "descr", what);
  for (const Descr &d : kDescrs)
    if (descr == d.text)
      t.dtype = d.dtype;
  if (t.dtype == KILN_DTYPE_UNDEFINED) {
    if (!descr.empty() && descr[0] == '>')
      throw ToolError(what + ": big-endian dtype '" + descr +
                      "' is not supported; save with .astype('<" +
                      descr.substr(1) + "')");
    throw ToolError(what + ": unsupported npy dtype '" + descr + "'");
  }

  size_t fo = header.find("'fortran_order'");
  if (fo == std::string::npos)
    throw ToolError(what + ": npy header has no 'fortran_order'");
  size_t foValue = header.find_first_not_of(" :", fo + 15);
  if (header.compare(foValue, 4, "True") == 0)
    throw ToolError(what + ": Fortran-order arrays are not supported; save "
                           "with np.ascontiguousarray");
  if (header.compare(foValue, 5, "False") != 0)
    throw ToolError(what + ": malformed 'fortran_order' in npy header");

  size_t sh = header.find("'shape'");
  if (sh == std::string::npos)
    throw ToolError(what + ": npy header has no 'shape'");
  size_t open = header.find('(', sh), close = header.find(')', open);
  if (open == std::string::npos || close == std::string::npos)
    throw ToolError(what + ": malformed 'shape' in npy header");
  std::stringstream shape(header.substr(open + 1, close - open - 1));
  std::string item;
  while (std::getline(shape, item, ',')) {
    size_t b = item.find_first_not_of(" \t"), e = item.find_last_not_of(" \t");
    if (b == std::string::npos)
      continue; // the empty item after a trailing comma
    std::string digits = item.substr(b, e - b + 1);
    if (digits.find_first_not_of("0123456789") != std::string::npos)
      throw ToolError(what + ": malformed dim '" + digits + "' in npy shape");
    try {
      t.dims.push_back(std::stoll(digits));
    } catch (const std::exception &) {
      throw ToolError(what + ": dim '" + digits + "' in npy shape too large");
    }
  }

  int64_t count = checkedElementCount(t.dims);
  size_t need;
  if (__builtin_mul_overflow((uint64_t)count, (uint64_t)t.elementSize(), &need))
    throw ToolError(what + ": npy data size overflows");
  size_t have = bytes.size() - headerStart - headerLen;
  if (have < need)
    throw ToolError(what + ": truncated: shape " + formatDims(t.dims) +
                    " needs " + std::to_string(need) +
                    " data bytes, file has " + std::to_string(have));
  t.data.assign(bytes.begin() + headerStart + headerLen,
                bytes.begin() + headerStart + headerLen + need);
  return t;
}

HostTensor readNpy(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw ToolError("cannot open '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parseNpy(ss.str(), path);
}

std::string serializeNpy(const HostTensor &input, bool bf16AsFloat32) {
  const HostTensor *t = &input;
  HostTensor widened;
  if (input.dtype == KILN_DTYPE_BF16 && bf16AsFloat32) {
    widened = convertTensor(input, KILN_DTYPE_F32, "bf16 output");
    t = &widened;
  }
  // numpy has no 8-bit float: f8e4m3fn tensors are written as float32,
  // exactly.
  if (input.dtype == KILN_DTYPE_F8E4M3FN) {
    widened = convertTensor(input, KILN_DTYPE_F32, "f8e4m3fn output");
    t = &widened;
  }
  const char *descr = nullptr;
  for (const Descr &d : kDescrs)
    if (d.dtype == t->dtype && !descr)
      descr = d.text;
  if (!descr)
    throw ToolError(std::string("no npy dtype for ") +
                    kiln_dtype_name(t->dtype));

  // Python tuple syntax: "()", "(3,)", "(2, 3)".
  std::string shape = "(";
  for (size_t i = 0; i < t->dims.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(t->dims[i]);
  shape += t->dims.size() == 1 ? ",)" : ")";
  std::string header = std::string("{'descr': '") + descr +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // NumPy pads the header with spaces so the data starts 64-byte aligned.
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header += '\n';
  if (header.size() > 0xffff)
    throw ToolError("npy header too long");

  std::string out("\x93NUMPY\x01\x00", 8);
  out += char(header.size() & 0xff);
  out += char(header.size() >> 8);
  out += header;
  out.append(reinterpret_cast<const char *>(t->data.data()), t->data.size());
  return out;
}

void writeNpy(const std::string &path, const HostTensor &tensor,
              bool bf16AsFloat32) {
  std::string bytes = serializeNpy(tensor, bf16AsFloat32);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out || !out.write(bytes.data(), (std::streamsize)bytes.size()))
    throw ToolError("cannot write '" + path + "'");
}

} // namespace kiln
