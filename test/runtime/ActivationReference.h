//===- ActivationReference.h - The GEMM epilogue's activations in f64 -*- C++
//-*-===//
#ifndef KILN_TEST_RUNTIME_ACTIVATIONREFERENCE_H
#define KILN_TEST_RUNTIME_ACTIVATIONREFERENCE_H

#include "kernels/Kernels.h"

#include <cmath>
#include <cstdint>

namespace kiln::test {

// KILN_RT_ACT_* `act` applied to `v` in double precision, the reference the
// GEMM kernels' epilogues are checked against.
inline double activationReference(int32_t act, double v) {
  switch (act) {
  case KILN_RT_ACT_RELU:
    return v > 0 ? v : 0;
  case KILN_RT_ACT_GELU:
    return 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)));
  case KILN_RT_ACT_GELU_TANH:
    return 0.5 * v *
           (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
  case KILN_RT_ACT_SILU:
    return v / (1 + std::exp(-v));
  default:
    return v;
  }
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_ACTIVATIONREFERENCE_H
