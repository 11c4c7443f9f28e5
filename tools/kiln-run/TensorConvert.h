//===- TensorConvert.h - Element access and lossless casts ------*- C++ -*-===//
#ifndef KILN_TOOLS_KILNRUN_TENSORCONVERT_H
#define KILN_TOOLS_KILNRUN_TENSORCONVERT_H

#include "HostTensor.h"

#include <random>

namespace kiln {

float halfToFloat(uint16_t bits);
uint16_t floatToHalf(float value); // round to nearest even
float bf16ToFloat(uint16_t bits);
uint16_t floatToBf16(float value); // round to nearest even

bool isFloatDtype(int32_t dtype);

// Element `index` of `t` as a double (exact for every type but 64-bit
// integers beyond 2^53).
double elementAsDouble(const HostTensor &t, int64_t index);

// Copy of `src` as `dtype`. Every value must survive the conversion exactly
// (int32 -> int64 always does; int64 -> int32 does when the values fit;
// float64 -> float32 rarely does), otherwise throws ToolError naming `what`,
// the first bad element and its value.
HostTensor convertTensor(const HostTensor &src, int32_t dtype,
                         const std::string &what);

// Fills `t` (dtype and dims already set) with random values: integers in
// [0, 100), booleans 0/1, floats in [-1, 1).
void fillRandom(HostTensor &t, std::mt19937_64 &rng);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_TENSORCONVERT_H
