//===- Npy.h - NumPy .npy reader and writer ---------------------*- C++ -*-===//
//
// Format 1.0-3.0, C order, little-endian: <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1
// <u2 <u4 <u8 |b1, and <V2 for bf16: NumPy has no bfloat16, and ml_dtypes'
// one saves as a 2-byte void (read it with .view(ml_dtypes.bfloat16)). A
// bf16 tensor is written as <f4 unless asked for <V2.
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
void writeNpy(const std::string &path, const HostTensor &tensor,
              bool bf16AsFloat32 = true);
std::string serializeNpy(const HostTensor &tensor, bool bf16AsFloat32 = true);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_NPY_H
