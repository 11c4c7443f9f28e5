#===- cmake/aarch64-linux-gnu.cmake - Cross-build for 64-bit Arm Linux -----===#
#
# The runtime, kiln-run and the runtime tests for aarch64 on an x86-64 build
# machine (scripts/build-aarch64.sh): clang-22 with lld-22 against Debian's
# cross sysroot, /usr/aarch64-linux-gnu (libc6-dev-arm64-cross,
# libstdc++-12-dev-arm64-cross; the crt objects and libgcc come from
# gcc-aarch64-linux-gnu's /usr/lib/gcc-cross, which clang finds by the
# triple). Tests run under qemu-user: ctest and gtest_discover_tests start
# every aarch64 executable through CMAKE_CROSSCOMPILING_EMULATOR.
#
#===------------------------------------------------------------------------===#
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(KILN_AARCH64_TRIPLE aarch64-linux-gnu)
set(KILN_AARCH64_SYSROOT
    /usr/aarch64-linux-gnu
    CACHE PATH "The aarch64 libc, headers and loader (libc6-dev-arm64-cross)")

set(CMAKE_C_COMPILER clang-22)
set(CMAKE_CXX_COMPILER clang++-22)
set(CMAKE_ASM_COMPILER clang-22)
set(CMAKE_C_COMPILER_TARGET ${KILN_AARCH64_TRIPLE})
set(CMAKE_CXX_COMPILER_TARGET ${KILN_AARCH64_TRIPLE})
set(CMAKE_ASM_COMPILER_TARGET ${KILN_AARCH64_TRIPLE})
# The host's GNU ar may not know aarch64 objects for the archive index.
set(CMAKE_AR
    /usr/bin/llvm-ar-22
    CACHE FILEPATH "")
set(CMAKE_RANLIB
    /usr/bin/llvm-ranlib-22
    CACHE FILEPATH "")
foreach(kind EXE SHARED MODULE)
  set(CMAKE_${kind}_LINKER_FLAGS_INIT -fuse-ld=lld)
endforeach()

# Libraries and headers from the cross sysroot (GTest from its own prefix,
# given through CMAKE_PREFIX_PATH); programs from the build machine.
set(CMAKE_FIND_ROOT_PATH ${KILN_AARCH64_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${KILN_AARCH64_SYSROOT})
