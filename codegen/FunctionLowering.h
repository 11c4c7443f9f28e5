//===- FunctionLowering.h - kiln ops to linalg, one function ----*- C++ -*-===//
//
// kiln-lower-to-linalg (LowerKilnToLinalg.cpp) rewrites each function with a
// FunctionLowering. Its methods live in files by op family:
//   LowerKilnToLinalg.cpp    the pass, signedness, the signature, shape
//                            helpers and the dispatch by op
//   LowerElementwise.cpp     elementwise ops and their scalar bodies
//   LowerContractions.cpp    matmul, linear, softmax, attention, rotary,
//                            einsum
//   LowerNormalizations.cpp  LayerNorm, RMSNorm, reductions
//   LowerDataMovement.cpp    gather, concat, slice, transpose, reshape,
//                            expand, fill, range, pad
//   LowerSelection.cpp       arg_max, arg_min, top_k
//   LowerScatter.cpp         scatter_nd, scatter_elements
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_FUNCTIONLOWERING_H
#define KILN_CODEGEN_FUNCTIONLOWERING_H

#include "codegen/AttentionKernelCall.h"
#include "dialects/kiln/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/IR/TypeUtilities.h"
#include <optional>
#include <string>

namespace mlir::kiln::linalg_lowering {

using utils::IteratorType;

inline RankedTensorType tensorTy(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Float element types narrower than f32 compute in f32.
inline Type computeType(Type elem) {
  if (auto ft = dyn_cast<FloatType>(elem); ft && ft.getWidth() < 32)
    return Float32Type::get(elem.getContext());
  return elem;
}

inline Value extendTo(OpBuilder &b, Location loc, Value v, Type t) {
  if (v.getType() == t)
    return v;
  return arith::ExtFOp::create(b, loc, t, v);
}
inline Value truncTo(OpBuilder &b, Location loc, Value v, Type t) {
  if (v.getType() == t)
    return v;
  return arith::TruncFOp::create(b, loc, t, v);
}

/// Unsigned integers compute as signless ones: arith and linalg take only
/// signless integers. Each op's signedness is recorded before the types are
/// rewritten, and picks the unsigned arith variants where they differ.
inline Type signless(Type t) {
  if (auto it = dyn_cast<IntegerType>(t); it && !it.isSignless())
    return IntegerType::get(t.getContext(), it.getWidth());
  if (auto st = dyn_cast<RankedTensorType>(t))
    return st.clone(signless(st.getElementType()));
  return t;
}

inline bool isUnsignedElement(Type t) {
  return getElementTypeOrSelf(t).isUnsignedInteger();
}

//===----------------------------------------------------------------------===//
// Scalar bodies (LowerElementwise.cpp)
//===----------------------------------------------------------------------===//

/// Scalar body of a binary kiln op; `isUnsigned` when the operands are
/// unsigned integers.
Value binaryBody(OpBuilder &b, Location loc, Operation *op, Value x, Value y,
                 bool isUnsigned);
/// Scalar body of a unary kiln op; `isUnsigned` when the operand is an
/// unsigned integer.
Value unaryBody(OpBuilder &b, Location loc, Operation *op, Value x,
                bool isUnsigned);
/// kiln.linear's activations on a float scalar.
Value activationBody(OpBuilder &b, Location loc, StringRef act, Value x);
/// ONNX Cast semantics between scalar types; the flags say whether the
/// (signless) integer types stand for unsigned ones.
Value castScalar(OpBuilder &b, Location loc, Value x, Type to,
                 bool fromUnsigned = false, bool toUnsigned = false);

/// Lowers the kiln ops of one function.
class FunctionLowering {
public:
  FunctionLowering(func::FuncOp func,
                   std::optional<AttentionKernel> attentionKernel,
                   ArrayRef<std::string> epilogueActivations, bool kvCacheViews,
                   bool gatherReshapes, bool qlinearKernel, bool normKernel,
                   bool indexChecks)
      : func(func), b(func.getContext()), attentionKernel(attentionKernel),
        epilogueActivations(epilogueActivations), kvCacheViews(kvCacheViews),
        gatherReshapes(gatherReshapes), qlinearKernel(qlinearKernel),
        normKernel(normKernel), indexChecks(indexChecks) {}

  LogicalResult run();

private:
  func::FuncOp func;
  IRRewriter b;
  std::optional<AttentionKernel> attentionKernel;
  /// Rank-4 Concat(past, new) results along dim 2, by result: the parts a
  /// CPU attention over them fills the cache from (AttentionAppend).
  DenseMap<Value, std::pair<Value, Value>> sequenceConcats;
  /// f32 tensors cast from a bf16 input (a bf16 KV cache's past), by
  /// result: the input, which the attention over a sequence concat reads
  /// instead (kiln_rt_attention_append_bf16).
  DenseMap<Value, Value> widenedInputs;
  /// What kiln.linear's epilogue generic may apply; empty: everything.
  ArrayRef<std::string> epilogueActivations;
  /// Give KV-cache inputs and outputs strided memref types.
  bool kvCacheViews;
  SmallVector<Value> symbols;
  /// Ops whose first operand, or first result, had an unsigned element type
  /// before makeSignless.
  DenseSet<Operation *> unsignedOperand, unsignedResult;

  void makeSignless(ArrayRef<Operation *> ops);
  bool isUnsignedIn(Operation *op) { return unsignedOperand.contains(op); }
  LogicalResult convertSignature();
  LogicalResult lowerOp(Operation *op);

  // Shape helpers.
  SmallVector<OpFoldResult> sizesOf(Value v) {
    return tensor::getMixedSizes(b, v.getLoc(), v);
  }
  Value empty(Location loc, ArrayRef<OpFoldResult> sizes, Type elem) {
    return tensor::EmptyOp::create(b, loc, sizes, elem);
  }
  /// Reshapes as an element gather instead of collapse/expand views
  /// (kiln-lower-to-linalg's gather-reshapes option).
  bool gatherReshapes;
  Value reshape(Location loc, Value v, RankedTensorType type,
                ArrayRef<OpFoldResult> sizes);
  Value reshapeTail(Location loc, Value v, RankedTensorType type,
                    ArrayRef<OpFoldResult> sizes);
  SmallVector<OpFoldResult> broadcastSizes(RankedTensorType result,
                                           ValueRange inputs);
  AffineMap broadcastMap(RankedTensorType input, RankedTensorType result);

  /// Elementwise generic over `inputs` broadcast to `resultType`.
  Value elementwise(Location loc, RankedTensorType resultType,
                    ValueRange inputs,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> fn);
  /// Reduces `x` over `axes` (dropped from the result) with `combine`,
  /// starting from `init`; the accumulator has type `accType`.
  Value
  reduce(Location loc, Value x, ArrayRef<int64_t> axes, Type accType,
         double init,
         function_ref<Value(OpBuilder &, Location, Value, Value)> combine);
  /// Map from the full iteration space of rank `rank` dropping `axes`.
  AffineMap dropAxesMap(int64_t rank, ArrayRef<int64_t> axes);
  Value countOf(Location loc, Value x, ArrayRef<int64_t> axes, Type t);

  LogicalResult lowerMatMul(MatMulOp op);
  /// a [..., K] x w [K, N] as one 2-D linalg.matmul over the folded leading
  /// dims, summed in `acc`; `c2` gets the [M, N] sizes of the returned 2-D
  /// result.
  Value matmulByWeight(Location loc, Value a, Value w, Type acc,
                       SmallVector<OpFoldResult> &c2);
  LogicalResult lowerLinear(LinearOp op);
  /// kiln.qlinear and kiln.qlinear_int4 as calls of the runtime's int8 and
  /// int4 GEMMs (qlinearKernel).
  bool qlinearKernel;
  LogicalResult lowerQLinear(QLinearOp op);
  LogicalResult lowerQLinearInt4(QLinearInt4Op op);
  /// Replaces `op` by a call of `name` on `input` [..., K] viewed as
  /// [M, K] and a fresh [M, n] result, with the arguments `arguments`
  /// makes of those and the bias (an empty 1-D buffer when null).
  LogicalResult callQuantizedGemm(
      Operation *op, Value input, Value bias, int64_t n, StringRef name,
      function_ref<SmallVector<Value>(Value a, Value bias, Value c)> arguments);
  /// Tensor `t` as a read-only memref of any strides, as the runtime's
  /// kernels (the quantized GEMMs, the norm, the index check) take their
  /// operands.
  Value runtimeOperand(Location loc, Value t);
  LogicalResult lowerSoftmax(SoftmaxOp op);
  /// kiln.layer_norm and kiln.rms_norm as calls of kiln_rt_norm_f32
  /// (normKernel).
  bool normKernel;
  /// Check gather indices that are not constants at run time
  /// (checkIndices).
  bool indexChecks;
  /// `op`'s result as the runtime's normalization of x's rows [axis, rank)
  /// with `scale` and `bias` (may be null) covering them; null, and nothing
  /// built, where the kernel does not apply.
  Value callNormKernel(Operation *op, Value x, Value scale, Value bias,
                       int64_t axis, float eps, int32_t kind);
  /// Softmax of `x` along `axis` with f32 statistics, as type `resultType`.
  Value softmax(Location loc, Value x, int64_t axis,
                RankedTensorType resultType);
  LogicalResult lowerAttention(AttentionOp op);
  LogicalResult lowerLayerNorm(LayerNormOp op);
  LogicalResult lowerRMSNorm(RMSNormOp op);
  LogicalResult lowerRotary(RotaryOp op);
  LogicalResult lowerEinsum(EinsumOp op);
  template <typename OpT> LogicalResult lowerReduce(OpT op);
  LogicalResult lowerGather(GatherOp op);
  LogicalResult lowerGatherElements(GatherElementsOp op);
  LogicalResult lowerGatherND(GatherNDOp op);
  /// The index value `raw` (i32 or i64) read for a dim of extent `extent`:
  /// negative counts from the end, out of range clamps.
  Value clampedIndex(OpBuilder &nb, Location nl, Value raw, Value extent);
  /// With indexChecks, a call of kiln_rt_check_indices_* on `indices` (i32
  /// or i64, not a constant) for an axis of `extent`, before `op` clamps
  /// them: an index out of range fails the run, naming op's ONNX node and
  /// its op type `onnxOp` (and `part`, which says which indices these are).
  void checkIndices(Operation *op, StringRef onnxOp, Value indices,
                    Value extent, StringRef part = "");
  /// The same for GatherND's and ScatterND's index tuples (indices [..., K]),
  /// entry t of each against extents[t].
  void checkIndexTuples(Operation *op, StringRef onnxOp, Value indices,
                        ArrayRef<Value> extents);
  LogicalResult lowerConcat(ConcatOp op);
  LogicalResult lowerSlice(SliceOp op);
  LogicalResult lowerTranspose(TransposeOp op);
  LogicalResult lowerReshape(ReshapeOp op);
  LogicalResult lowerExpand(ExpandOp op);
  LogicalResult lowerFill(FillOp op);
  LogicalResult lowerSymbolicValues(SymbolicValuesOp op);
  LogicalResult lowerRange(RangeOp op);
  /// Gives the op's symbols their values for the ops after it.
  LogicalResult lowerBindSymbols(BindSymbolsOp op);
  LogicalResult lowerPad(PadOp op);

  // Elementwise ops, one generic each.
  LogicalResult lowerBinary(Operation *op);
  LogicalResult lowerUnary(Operation *op);
  LogicalResult lowerConstant(ConstantOp op);
  LogicalResult lowerCast(CastOp op);
  LogicalResult lowerClip(ClipOp op);
  LogicalResult lowerWhere(WhereOp op);
  LogicalResult lowerTrilu(TriluOp op);
  LogicalResult lowerIsNan(IsNanOp op);
  LogicalResult lowerIsInf(IsInfOp op);
  LogicalResult lowerCumSum(CumSumOp op);

  // Selection by an order on (value, position) pairs.
  template <typename OpT> LogicalResult lowerArgReduce(OpT op);
  LogicalResult lowerTopK(TopKOp op);

  // Scatters: sequential loops over the updates.
  /// A copy of `v` into a new tensor.
  Value copyOf(Location loc, Value v);
  LogicalResult lowerScatterND(ScatterNDOp op);
  LogicalResult lowerScatterElements(ScatterElementsOp op);
};

} // namespace mlir::kiln::linalg_lowering

#endif
