//===- CpuFeaturesTest.cpp - The kernel variants this CPU gets
//-------------===//
//
// The kernel tests skip the variants a CPU lacks, so a run on the wrong CPU
// would pass having tested less. Where a test run states the variants it
// expects (KILN_TEST_EXPECT_ISAS, as the aarch64 runs under qemu -cpu do in
// test/runtime/CMakeLists.txt), this checks that the runtime picks them.
//
//===----------------------------------------------------------------------===//

#include "kernels/CpuFeatures.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

namespace {

std::string names(kiln::MatmulIsa isa) {
  switch (isa) {
  case kiln::MatmulIsa::Generic:
    return "fp32=Generic";
  case kiln::MatmulIsa::Avx2:
    return "fp32=Avx2";
  case kiln::MatmulIsa::Avx512:
    return "fp32=Avx512";
  case kiln::MatmulIsa::Neon:
    return "fp32=Neon";
  }
  return "fp32=?";
}

std::string names(kiln::Int8Isa isa) {
  switch (isa) {
  case kiln::Int8Isa::Generic:
    return "int8=Generic";
  case kiln::Int8Isa::Avx2:
    return "int8=Avx2";
  case kiln::Int8Isa::Avx512Vnni:
    return "int8=Avx512Vnni";
  case kiln::Int8Isa::NeonDot:
    return "int8=NeonDot";
  case kiln::Int8Isa::Amx:
    return "int8=Amx";
  }
  return "int8=?";
}

std::string names(kiln::Bf16Isa isa) {
  switch (isa) {
  case kiln::Bf16Isa::Generic:
    return "bf16=Generic";
  case kiln::Bf16Isa::Avx2:
    return "bf16=Avx2";
  case kiln::Bf16Isa::Avx512:
    return "bf16=Avx512";
  case kiln::Bf16Isa::Avx512Bf16:
    return "bf16=Avx512Bf16";
  case kiln::Bf16Isa::Amx:
    return "bf16=Amx";
  case kiln::Bf16Isa::NeonBf16:
    return "bf16=NeonBf16";
  }
  return "bf16=?";
}

TEST(CpuFeatures, PicksTheExpectedVariants) {
  const char *expected = std::getenv("KILN_TEST_EXPECT_ISAS");
  if (!expected)
    GTEST_SKIP() << "KILN_TEST_EXPECT_ISAS is not set";
  std::string picked = names(kiln::bestMatmulIsa()) + " " +
                       names(kiln::bestInt8Isa()) + " " +
                       names(kiln::bestBf16Isa());
  EXPECT_EQ(picked, expected);
}

TEST(CpuFeatures, TheBestVariantIsSupported) {
  EXPECT_TRUE(kiln::cpuSupports(kiln::bestMatmulIsa()));
  EXPECT_TRUE(kiln::cpuSupports(kiln::bestInt8Isa()));
  EXPECT_TRUE(kiln::cpuSupports(kiln::bestBf16Isa()));
  EXPECT_TRUE(kiln::cpuSupports(kiln::MatmulIsa::Generic));
}

} // namespace
