//===- IsaParam.h - Kernel tests parameterized by ISA -----------*- C++ -*-===//
#ifndef KILN_TEST_RUNTIME_ISAPARAM_H
#define KILN_TEST_RUNTIME_ISAPARAM_H

#include "kernels/BatchMatmul.h"

#include <gtest/gtest.h>

#include <string>

namespace kiln::test {

/// Every ISA a kernel has a code path for.
inline auto allIsas() {
  return ::testing::Values(MatmulIsa::Generic, MatmulIsa::Avx2,
                           MatmulIsa::Avx512, MatmulIsa::Neon);
}

/// Test-name suffix of an ISA parameter.
inline std::string isaName(const ::testing::TestParamInfo<MatmulIsa> &info) {
  switch (info.param) {
  case MatmulIsa::Generic:
    return "Generic";
  case MatmulIsa::Avx2:
    return "Avx2";
  case MatmulIsa::Avx512:
    return "Avx512";
  case MatmulIsa::Neon:
    return "Neon";
  }
  return "Unknown";
}

} // namespace kiln::test

#endif // KILN_TEST_RUNTIME_ISAPARAM_H
