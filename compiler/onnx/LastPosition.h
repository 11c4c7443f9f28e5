//===- LastPosition.h - Outputs cut to their last position ------*- C++ -*-===//
//
// kilnc --last-position=logits: a decoder's prefill returns the logits of
// the last position only ([batch, 1, vocab]), which is all that a server or
// a generation loop reads, and the LM head multiplies one row per sequence
// instead of all of them. The cut is made in the ONNX graph before import.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_LASTPOSITION_H
#define KILN_COMPILER_ONNX_LASTPOSITION_H

#include "mlir/IR/Location.h"
#include "mlir/Support/LogicalResult.h"

#include <string>
#include <vector>

namespace onnx {
class GraphProto;
} // namespace onnx

namespace mlir::kiln::onnx_import {

/// Cuts each of `outputs` (graph outputs [batch, sequence, ...], rank 3 or
/// more where the model declares it) to the last
/// position along dim 1. Where an output is a MatMul by a matrix (an LM head,
/// its weight transposed or not), the MatMul's activations are cut instead, so
/// that it computes one row per sequence; otherwise a Slice follows the
/// output's producer. `opset` is the model's ai.onnx opset (Slice takes its
/// bounds as inputs from 10). Errors name the option as `flag` and are
/// reported at `loc`.
LogicalResult keepLastPosition(onnx::GraphProto &graph,
                               const std::vector<std::string> &outputs,
                               int64_t opset, const std::string &flag,
                               Location loc);

} // namespace mlir::kiln::onnx_import

#endif // KILN_COMPILER_ONNX_LASTPOSITION_H
