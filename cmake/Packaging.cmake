#===- cmake/Packaging.cmake - The Debian package (CPack) -------------------===#
#
# `ninja -C build package` (or, built already, `cd build && cpack -G DEB`)
# writes kiln_<version>_amd64.deb: everything `cmake --install` puts in
# place, under /usr. kilnc finds the runtime at /usr/lib/kiln from its own
# path (codegen/RuntimeDir.h). The
# package depends on what kilnc needs when it runs: Debian's LLVM and MLIR 22
# libraries (kilnc and kiln-opt link them, with RUNPATH /usr/lib/llvm-22/lib),
# protobuf, and clang-22 and lld-22 for the link of every artifact. The
# artifacts themselves need only libc, libm, libpthread and libdl.
# test/install/check_deb.sh builds and checks it, and that every library the
# packaged programs need comes from a package in Depends (ctest -L package).

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kiln)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "Kiln")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "Ahead-of-time compiler for transformer models in ONNX, built on MLIR 22")
set(CPACK_PACKAGE_DESCRIPTION
    "kilnc compiles an ONNX model into a self-contained shared library with a \
C header; kiln-run runs and checks one. The runtime archives, headers, CMake \
package (find_package(Kiln)) and pkg-config file are for products that embed \
the libraries.")
set(CPACK_PACKAGE_CONTACT "Kiln maintainers <maintainers@kiln.invalid>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE amd64)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
set(KILN_LLVM_DEB_VERSION "1:${LLVM_VERSION_MAJOR}.${LLVM_VERSION_MINOR}")
set(KILN_DEB_DEPENDS
    libc6
    libstdc++6
    libprotobuf32
    "libllvm${LLVM_VERSION_MAJOR} (>= ${KILN_LLVM_DEB_VERSION})"
    "libmlir-${LLVM_VERSION_MAJOR} (>= ${KILN_LLVM_DEB_VERSION})"
    clang-${LLVM_VERSION_MAJOR}
    lld-${LLVM_VERSION_MAJOR})
# kiln-serve (tools/kiln-serve) links Debian's cpp-httplib.
if(TARGET kiln-serve)
  list(APPEND KILN_DEB_DEPENDS libcpp-httplib0.11)
endif()
list(JOIN KILN_DEB_DEPENDS ", " CPACK_DEBIAN_PACKAGE_DEPENDS)
include(CPack)
