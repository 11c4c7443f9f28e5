//===- TensorProto.h - ONNX TensorProto decoder -----------------*- C++ -*-===//
//
// Reads the ONNX backend tests' input_N.pb / output_N.pb without libprotobuf:
// a wire-format walk over the fields a tensor with inline data uses (dims,
// data_type, the typed *_data fields, name, raw_data). External data and
// string tensors are rejected with a clear error.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNRUN_TENSORPROTO_H
#define KILN_TOOLS_KILNRUN_TENSORPROTO_H

#include "HostTensor.h"

#include <string>

namespace kiln {

// Throws ToolError naming `what` on malformed or unsupported input.
HostTensor parseTensorProto(const std::string &bytes, const std::string &what);
HostTensor readTensorProto(const std::string &path);

// The ONNX backend tests store bfloat16 tensors as UINT16 bit patterns
// (numpy has no bfloat16). When `t` is u16 and `wanted` is bf16, retypes it
// as bf16 with the same bits; otherwise leaves it alone.
void adoptBf16BitPattern(HostTensor &t, int32_t wanted);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_TENSORPROTO_H
