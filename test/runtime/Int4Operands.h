//===- Int4Operands.h - Random operands of the int4 GEMM tests --*- C++ -*-===//
//
// Shared by Int4GemmTest.cpp (f32 activations) and Int4GemmQ8Test.cpp (int8
// ones): a problem's shape, where its operands sit, random values for them
// (the weight packed as the compiler packs it), and the case lists both run.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TEST_RUNTIME_INT4OPERANDS_H
#define KILN_TEST_RUNTIME_INT4OPERANDS_H

#include "kernels/Int4Packing.h"
#include "kernels/Kernels.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace kiln::test::int4 {

struct Shape {
  int64_t m, k, n, group;
};

inline std::string shapeText(const Shape &s, bool zp) {
  return "[" + std::to_string(s.m) + ", " + std::to_string(s.k) + "] x [" +
         std::to_string(s.k) + ", " + std::to_string(s.n) + "] group " +
         std::to_string(s.group) + (zp ? " with zero points" : "");
}

// Where the operands sit: a and c are views with padded, misaligned rows
// (and optionally a column stride of 2); the packed weight starts
// `packedShift` bytes past a 64-byte boundary.
struct Layout {
  int64_t aOffset = 3, aPad = 5, aColStride = 1;
  int64_t cOffset = 1, cPad = 3, cColStride = 1;
  int64_t packedShift = 1;
};

struct Operands {
  std::vector<float> a;
  std::vector<int8_t> q;           // [k, n]
  std::vector<float> scales, zero; // [groups, n]; zero empty without
  std::vector<float> bias;
};

inline Operands randomOperands(const Shape &s, const Layout &l, bool zp,
                               bool floatZeroPoints, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> value(-2, 2), scale(0.001f, 0.05f);
  std::uniform_int_distribution<int> weight(zp ? 0 : -8, zp ? 15 : 7);
  std::uniform_int_distribution<int> zero(0, 15);
  Operands o;
  o.a.resize((size_t)(l.aOffset + s.m * (s.k * l.aColStride + l.aPad)));
  for (auto &x : o.a)
    x = value(rng);
  o.q.resize((size_t)(s.k * s.n));
  for (auto &x : o.q)
    x = (int8_t)weight(rng);
  if (!o.q.empty()) // the extremes of the range
    o.q[0] = zp ? 0 : -8, o.q.back() = zp ? 15 : 7;
  int64_t groups = kiln::int4::groups(s.k, s.group);
  o.scales.resize((size_t)(groups * s.n));
  for (auto &x : o.scales)
    x = scale(rng);
  if (zp) {
    o.zero.resize(o.scales.size());
    for (auto &x : o.zero)
      x = floatZeroPoints ? value(rng) * 4 + 8 : (float)zero(rng);
  }
  o.bias.resize((size_t)s.n);
  for (auto &x : o.bias)
    x = value(rng);
  return o;
}

// Packs into a buffer at `shift` bytes past 64-byte alignment; returns the
// packed weight's first byte.
inline const uint8_t *packShifted(const Operands &o, const Shape &s,
                                  int64_t shift,
                                  std::vector<uint8_t> &storage) {
  bool zp = !o.zero.empty();
  int64_t bytes = kiln::int4::packedBytes(s.k, s.n, s.group, zp);
  storage.assign((size_t)(bytes + 128), 0);
  uintptr_t base = reinterpret_cast<uintptr_t>(storage.data());
  uint8_t *out = storage.data() + ((64 - base % 64) % 64) + shift;
  EXPECT_TRUE(kiln::int4::pack(o.q.data(), o.scales.data(),
                               zp ? o.zero.data() : nullptr, s.k, s.n, s.group,
                               out));
  return out;
}

//===----------------------------------------------------------------------===//
// The cases both tests run, each given to `check(shape, zp, act, withBias,
// layout, floatZeroPoints)`.
//===----------------------------------------------------------------------===//

// Decode steps of 1 to 9 rows (every register tile, and one past), and
// more rows than a tile; K a multiple of the group, with a short last
// group, and with a short last octet; groups of 8 (half a vector of the
// int8 quantizer) to 128; N a multiple of the panel and not. With and
// without zero points.
template <typename Check> void forEachReferenceCase(Check check) {
  const int64_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 40};
  const Shape sizes[] = {{0, 64, 48, 32}, {0, 100, 17, 32},  {0, 77, 70, 16},
                         {0, 8, 5, 8},    {0, 300, 33, 128}, {0, 72, 80, 24}};
  for (int64_t m : ms)
    for (Shape s : sizes)
      for (bool zp : {false, true}) {
        s.m = m;
        check(s, zp, KILN_RT_ACT_NONE, true, Layout{}, false);
      }
}

// Zero points that are not integers (MatMulNBits' float zero points).
template <typename Check> void forEachFloatZeroPointCase(Check check) {
  for (int64_t m : {1, 3, 8, 12})
    check(Shape{m, 96, 40, 32}, true, KILN_RT_ACT_NONE, true, Layout{}, true);
}

template <typename Check> void forEachActivationCase(Check check) {
  for (int32_t act : {KILN_RT_ACT_NONE, KILN_RT_ACT_RELU, KILN_RT_ACT_GELU,
                      KILN_RT_ACT_GELU_TANH, KILN_RT_ACT_SILU})
    for (bool bias : {false, true})
      for (int64_t m : {1, 5, 11})
        check(Shape{m, 72, 37, 32}, m == 5, act, bias, Layout{}, false);
}

// Operands at 64-byte boundaries with no padding, and with column strides.
template <typename Check> void forEachLayoutCase(Check check) {
  Layout aligned;
  aligned.aOffset = aligned.aPad = aligned.cOffset = aligned.cPad = 0;
  aligned.packedShift = 0;
  Layout strided;
  strided.aColStride = 2;
  strided.cColStride = 3;
  for (const Layout &l : {aligned, strided})
    for (int64_t m : {1, 4, 8, 13})
      for (bool zp : {false, true})
        check(Shape{m, 80, 50, 16}, zp, KILN_RT_ACT_GELU, true, l, false);
}

// K = 0 (c = act(bias)), M = 0 and N = 0 (nothing to do).
inline const Shape kEmptyShapes[] = {
    {3, 0, 20, 32}, {0, 64, 20, 32}, {3, 64, 0, 32}};

} // namespace kiln::test::int4

#endif // KILN_TEST_RUNTIME_INT4OPERANDS_H
