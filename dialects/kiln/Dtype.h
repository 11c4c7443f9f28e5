//===- Dtype.h - kiln_dtype <-> MLIR element types --------------*- C++ -*-===//
//
// The C API's element types (runtime/include/kiln/model_abi.h's
// KILN_DTYPE_TABLE, numbered as ONNX's TensorProto.DataType) and the MLIR
// element types that carry them: the importer reads ONNX types through this,
// and the artifact writer writes the signature's types through it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_DIALECTS_KILN_DTYPE_H
#define KILN_DIALECTS_KILN_DTYPE_H

#include "mlir/IR/Types.h"
#include <cstddef>
#include <cstdint>

namespace mlir::kiln {

/// The element type of `dtype`, or null for a dtype outside the table.
Type elementTypeForDtype(MLIRContext *ctx, int32_t dtype);
/// The dtype of element type `type`, or KILN_DTYPE_UNDEFINED (0).
int32_t dtypeForElementType(Type type);
/// Bytes per element of `dtype`, or 0 outside the table.
size_t dtypeByteSize(int32_t dtype);
/// The C type of one element of `dtype` ("float", "uint16_t" for the
/// bits of a 16-bit float), or "void" outside the table.
const char *dtypeCType(int32_t dtype);

} // namespace mlir::kiln

#endif
