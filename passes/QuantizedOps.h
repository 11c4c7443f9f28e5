//===- QuantizedOps.h - Expansions of the quantized Kiln ops ----*- C++ -*-===//
#ifndef KILN_PASSES_QUANTIZEDOPS_H
#define KILN_PASSES_QUANTIZEDOPS_H

#include "dialects/kiln/KilnOps.h"

namespace mlir::kiln {

/// Replaces `op` by ONNX DynamicQuantizeLinear in Kiln's elementwise ops and
/// reductions, and erases it.
void expandDynamicQuantize(DynamicQuantizeOp op);

/// Replaces `op` by Kiln's generic ops computing the same integers and
/// rescale (an integer kiln.matmul for `row` and `tensor_u8`, an f32 one
/// on the dequantized weight for `none`), and erases it.
void expandQLinear(QLinearOp op);

/// Replaces `op` by the dequantized f32 weight (per group of K, gathered
/// to each row) and an f32 kiln.matmul, then bias and activation, and
/// erases it.
void expandQLinearInt4(QLinearInt4Op op);

} // namespace mlir::kiln

#endif
