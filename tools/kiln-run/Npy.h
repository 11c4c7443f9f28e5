//===- Npy.h - NumPy .npy reader and writer ---------------------*- C++ -*-===//
//
// Format 1.0-3.0, C order, little-endian: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1
// <u2 <u4 <u8 |b1. bf16 has no NumPy type and is written as <f4.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNRUN_NPY_H
#define KILN_TOOLS_KILNRUN_NPY_H

#include "HostTensor.h"

#include <string>

namespace kiln {

// Throws ToolError naming the file and the problem.
HostTensor readNpy(const std::string &path);
HostTensor parseNpy(const std::string &bytes, const std::string &what);

// Throws ToolError if the file cannot be written.
void writeNpy(const std::string &path, const HostTensor &tensor);
std::string serializeNpy(const HostTensor &tensor);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_NPY_H
