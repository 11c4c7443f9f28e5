//===- TensorConvert.cpp - Element access and lossless dtype casts --------===//

#include "TensorConvert.h"

#include "kernels/F8Bits.h"

#include <cmath>
#include <cstring>

namespace kiln {

float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000 | (mant << 13);
  } else if (exp != 0) {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else { // subnormal: renormalize
    int shift = 0;
    while (!(mant & 0x400)) {
      mant <<= 1;
      ++shift;
    }
    bits = sign | uint32_t(113 - shift) << 23 | ((mant & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  uint16_t sign = (bits >> 16) & 0x8000;
  uint32_t absBits = bits & 0x7fffffff;
  if (absBits >= 0x7f800000) // inf or NaN
    return sign | 0x7c00 | (absBits > 0x7f800000 ? 0x200 : 0);
  if (absBits >= 0x477ff000) // rounds to beyond the largest half
    return sign | 0x7c00;
  if (absBits < 0x38800000) { // half subnormal or zero
    float f;
    std::memcpy(&f, &absBits, 4);
    // Adding 0.5 shifts the subnormal bits to the bottom, rounding to even.
    f += 0.5f;
    uint32_t r;
    std::memcpy(&r, &f, 4);
    return sign | uint16_t(r - 0x3f000000);
  }
  uint32_t mantOdd = (absBits >> 13) & 1;
  absBits += 0xc8000fff + mantOdd; // rebias exponent and round to even
  return sign | uint16_t(absBits >> 13);
}

float bf16ToFloat(uint16_t h) {
  uint32_t bits = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

uint16_t floatToBf16(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  if ((bits & 0x7fffffff) > 0x7f800000)
    return uint16_t((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return uint16_t(bits >> 16);
}

bool isFloatDtype(int32_t dtype) {
  return dtype == KILN_DTYPE_F16 || dtype == KILN_DTYPE_BF16 ||
         dtype == KILN_DTYPE_F8E4M3FN || dtype == KILN_DTYPE_F32 ||
         dtype == KILN_DTYPE_F64;
}

namespace {

// One element, exactly: integers as a 128-bit value, floats as a double.
struct Scalar {
  bool isFloat;
  double f;
  __int128 i;
};

template <typename T> T load(const HostTensor &t, int64_t index) {
  T v;
  std::memcpy(&v, t.data.data() + index * sizeof(T), sizeof(T));
  return v;
}

template <typename T> void store(HostTensor &t, int64_t index, T v) {
  std::memcpy(t.data.data() + index * sizeof(T), &v, sizeof(T));
}

Scalar loadScalar(const HostTensor &t, int64_t i) {
  switch (t.dtype) {
  case KILN_DTYPE_F32:
    return {true, load<float>(t, i), 0};
  case KILN_DTYPE_F64:
    return {true, load<double>(t, i), 0};
  case KILN_DTYPE_F16:
    return {true, halfToFloat(load<uint16_t>(t, i)), 0};
  case KILN_DTYPE_BF16:
    return {true, bf16ToFloat(load<uint16_t>(t, i)), 0};
  case KILN_DTYPE_F8E4M3FN:
    return {true, f8e4m3ToF32(load<uint8_t>(t, i)), 0};
  case KILN_DTYPE_I8:
    return {false, 0, load<int8_t>(t, i)};
  case KILN_DTYPE_I16:
    return {false, 0, load<int16_t>(t, i)};
  case KILN_DTYPE_I32:
    return {false, 0, load<int32_t>(t, i)};
  case KILN_DTYPE_I64:
    return {false, 0, load<int64_t>(t, i)};
  case KILN_DTYPE_U8:
  case KILN_DTYPE_BOOL:
    return {false, 0, load<uint8_t>(t, i)};
  case KILN_DTYPE_U16:
    return {false, 0, load<uint16_t>(t, i)};
  case KILN_DTYPE_U32:
    return {false, 0, load<uint32_t>(t, i)};
  case KILN_DTYPE_U64:
    return {false, 0, load<uint64_t>(t, i)};
  }
  throw ToolError(std::string("unsupported dtype ") + kiln_dtype_name(t.dtype));
}

bool sameFloat(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

// Integer range of `dtype` as [lo, hi].
void integerRange(int32_t dtype, __int128 &lo, __int128 &hi) {
  switch (dtype) {
  case KILN_DTYPE_I8:
    lo = INT8_MIN, hi = INT8_MAX;
    return;
  case KILN_DTYPE_I16:
    lo = INT16_MIN, hi = INT16_MAX;
    return;
  case KILN_DTYPE_I32:
    lo = INT32_MIN, hi = INT32_MAX;
    return;
  case KILN_DTYPE_I64:
    lo = INT64_MIN, hi = INT64_MAX;
    return;
  case KILN_DTYPE_BOOL:
    lo = 0, hi = 1;
    return;
  case KILN_DTYPE_U8:
    lo = 0, hi = UINT8_MAX;
    return;
  case KILN_DTYPE_U16:
    lo = 0, hi = UINT16_MAX;
    return;
  case KILN_DTYPE_U32:
    lo = 0, hi = UINT32_MAX;
    return;
  default:
    lo = 0, hi = UINT64_MAX;
    return;
  }
}

// Stores `v` as t.dtype; false if the value would change.
bool storeExact(HostTensor &t, int64_t i, const Scalar &v) {
  if (isFloatDtype(t.dtype)) {
    double x = v.isFloat ? v.f : (double)v.i;
    if (!v.isFloat && (__int128)x != v.i)
      return false;
    switch (t.dtype) {
    case KILN_DTYPE_F64:
      store<double>(t, i, x);
      return true;
    case KILN_DTYPE_F32:
      store<float>(t, i, (float)x);
      return sameFloat((float)x, x);
    case KILN_DTYPE_F16: {
      uint16_t h = floatToHalf((float)x);
      store<uint16_t>(t, i, h);
      return sameFloat(halfToFloat(h), x);
    }
    case KILN_DTYPE_F8E4M3FN: {
      uint8_t h = f32ToF8e4m3((float)x);
      store<uint8_t>(t, i, h);
      return sameFloat(f8e4m3ToF32(h), x);
    }
    default: {
      uint16_t h = floatToBf16((float)x);
      store<uint16_t>(t, i, h);
      return sameFloat(bf16ToFloat(h), x);
    }
    }
  }
  __int128 x;
  if (v.isFloat) {
    if (!(std::trunc(v.f) == v.f) || std::fabs(v.f) > 1.9e19)
      return false;
    x = (__int128)v.f;
  } else {
    x = v.i;
  }
  __int128 lo, hi;
  integerRange(t.dtype, lo, hi);
  if (x < lo || x > hi)
    return false;
  switch (t.elementSize()) {
  case 1:
    store<uint8_t>(t, i, (uint8_t)x);
    break;
  case 2:
    store<uint16_t>(t, i, (uint16_t)x);
    break;
  case 4:
    store<uint32_t>(t, i, (uint32_t)x);
    break;
  default:
    store<uint64_t>(t, i, (uint64_t)x);
    break;
  }
  return true;
}

std::string scalarText(const Scalar &v) {
  if (v.isFloat) {
    char buf[64];
    snprintf(buf, sizeof(buf), "%.17g", v.f);
    return buf;
  }
  bool negative = v.i < 0;
  unsigned __int128 u = negative ? -(unsigned __int128)v.i : v.i;
  std::string digits;
  do {
    digits.insert(digits.begin(), char('0' + int(u % 10)));
    u /= 10;
  } while (u);
  return (negative ? "-" : "") + digits;
}

} // namespace

double elementAsDouble(const HostTensor &t, int64_t index) {
  Scalar v = loadScalar(t, index);
  return v.isFloat ? v.f : (double)v.i;
}

HostTensor convertTensor(const HostTensor &src, int32_t dtype,
                         const std::string &what) {
  if (src.dtype == dtype)
    return src;
  if (kiln_dtype_size(dtype) == 0)
    throw ToolError(what + ": cannot convert to dtype " +
                    kiln_dtype_name(dtype));
  HostTensor out;
  out.name = src.name;
  out.dtype = dtype;
  out.dims = src.dims;
  int64_t count = src.numElements();
  out.data.resize((size_t)count * kiln_dtype_size(dtype));
  for (int64_t i = 0; i < count; ++i) {
    Scalar v = loadScalar(src, i);
    if (!storeExact(out, i, v))
      throw ToolError(what + ": " + kiln_dtype_name(src.dtype) + " element " +
                      std::to_string(i) + " (" + scalarText(v) +
                      ") does not convert exactly to " +
                      kiln_dtype_name(dtype) + "; save the file as " +
                      kiln_dtype_name(dtype));
  }
  return out;
}

void fillRandom(HostTensor &t, std::mt19937_64 &rng) {
  int64_t count = t.numElements();
  t.data.assign((size_t)count * t.elementSize(), 0);
  std::uniform_real_distribution<double> real(-1.0, 1.0);
  std::uniform_int_distribution<int> integer(0, 99), boolean(0, 1);
  for (int64_t i = 0; i < count; ++i) {
    Scalar v{false, 0, 0};
    if (isFloatDtype(t.dtype)) {
      v.isFloat = true;
      // Round through the target type first so the store is exact.
      float f = (float)real(rng);
      if (t.dtype == KILN_DTYPE_F16)
        f = halfToFloat(floatToHalf(f));
      else if (t.dtype == KILN_DTYPE_BF16)
        f = bf16ToFloat(floatToBf16(f));
      else if (t.dtype == KILN_DTYPE_F8E4M3FN)
        f = f8e4m3ToF32(f32ToF8e4m3(f));
      v.f = f;
    } else {
      v.i = t.dtype == KILN_DTYPE_BOOL ? boolean(rng) : integer(rng);
    }
    storeExact(t, i, v);
  }
}

} // namespace kiln
