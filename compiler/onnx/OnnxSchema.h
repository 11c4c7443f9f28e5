//===- OnnxSchema.h - Checks against ai.onnx schemas ------------*- C++ -*-===//
//
// Converters index their required inputs and read attributes by name without
// checking: that is only safe because every ai.onnx node is first checked
// against the operator schema of its opset (OnnxSchemaTable.inc, generated
// from the onnx package by scripts/gen_onnx_schema_table.py).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_ONNXSCHEMA_H
#define KILN_COMPILER_ONNX_ONNXSCHEMA_H

#include "compiler/onnx/ImportContext.h"

namespace mlir::kiln::onnx_import {

/// Checks the node of `nc` against the ai.onnx schema of its opset: input
/// count, no empty name for a required input, required attributes present
/// and every known attribute of the declared type. Ops of other domains, and
/// ops the schema table does not know, pass unchecked.
mlir::LogicalResult checkNodeSchema(NodeContext &nc);

} // namespace mlir::kiln::onnx_import

#endif
