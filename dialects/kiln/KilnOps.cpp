//===- KilnOps.cpp - Kiln dialect operations: verifiers and folders -------===//
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"
#include "dialects/kiln/VerifierUtils.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/IR/TypeUtilities.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/Sequence.h"
#include "llvm/ADT/SmallSet.h"
#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;

#define GET_OP_CLASSES
#include "dialects/kiln/KilnOps.cpp.inc"

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

/// Checks a shape map against the extents of `type`: same rank, no dims, and
/// every constant result equal to the static extent.
static LogicalResult verifyShapeMap(Operation *op, AffineMap map,
                                    RankedTensorType type, StringRef what) {
  if (map.getNumDims() != 0)
    return op->emitOpError() << what
                             << " map must have no dimensions, only "
                                "symbols";
  if (map.getNumResults() != type.getRank())
    return op->emitOpError()
           << what << " has " << map.getNumResults()
           << " extents but the result has rank " << type.getRank();
  for (auto [i, e] : llvm::enumerate(map.getResults())) {
    int64_t ext = toStaticExtent(e);
    int64_t actual = type.getDimSize(i);
    if (ext != actual)
      return op->emitOpError()
             << what << " extent " << i << " is "
             << (ShapedType::isDynamic(ext) ? std::string("symbolic")
                                            : std::to_string(ext))
             << " but the result type has "
             << (ShapedType::isDynamic(actual) ? std::string("?")
                                               : std::to_string(actual));
    if (ext != ShapedType::kDynamic && ext < 0)
      return op->emitOpError() << what << " extent " << i << " is negative";
  }
  return success();
}

LogicalResult kiln::verifyAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError()
           << "axis " << axis << " is out of range for rank " << rank;
  return success();
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

LogicalResult FillOp::verify() {
  auto type = getResult().getType();
  if (getValue().getType() != type.getElementType())
    return emitOpError() << "fill value type " << getValue().getType()
                         << " differs from the element type "
                         << type.getElementType();
  return verifyShapeMap(*this, getShape(), type, "shape");
}

LogicalResult SymbolicValuesOp::verify() {
  auto type = getResult().getType();
  if (getValues().getNumDims() != 0)
    return emitOpError() << "values map must have no dimensions";
  if (type.getDimSize(0) != getValues().getNumResults())
    return emitOpError() << "has " << getValues().getNumResults()
                         << " values but the result holds "
                         << type.getDimSize(0);
  return success();
}

LogicalResult BindSymbolsOp::verify() {
  int64_t n = getValues().getType().getDimSize(0);
  if ((int64_t)getSymbols().size() != n ||
      getResult().getType().getDimSize(0) != n)
    return emitOpError() << "binds " << getSymbols().size() << " symbols from "
                         << n << " values";
  llvm::SmallDenseSet<int64_t> seen;
  for (int64_t s : getSymbols())
    if (s < 0 || !seen.insert(s).second)
      return emitOpError() << "symbol " << s << " is negative or repeated";
  return success();
}

LogicalResult RangeOp::verify() {
  if (getStart().getNumResults() != 1 || getSize().getNumResults() != 1)
    return emitOpError() << "start and size must be single-result maps";
  if (getStep() == 0)
    return emitOpError() << "step must be non-zero";
  int64_t ext = toStaticExtent(getSize().getResult(0));
  if (ext != getResult().getType().getDimSize(0))
    return emitOpError() << "size does not match the result extent";
  return success();
}

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Operand element types must agree; comparisons return i1, the rest the
/// operand type.
template <typename OpT>
static LogicalResult verifyBinary(OpT op, bool isComparison) {
  Type lhs = tensorType(op.getLhs()).getElementType();
  Type rhs = tensorType(op.getRhs()).getElementType();
  Type res = op.getResult().getType().getElementType();
  if (lhs != rhs)
    return op.emitOpError()
           << "operand element types differ: " << lhs << " vs " << rhs;
  if (isComparison ? !res.isInteger(1) : res != lhs)
    return op.emitOpError()
           << "result element type " << res << " does not match "
           << (isComparison ? "i1" : "the operands");
  return success();
}

#define KILN_ARITH_VERIFIER(OP)                                                \
  LogicalResult OP::verify() { return verifyBinary(*this, false); }
#define KILN_CMP_VERIFIER(OP)                                                  \
  LogicalResult OP::verify() { return verifyBinary(*this, true); }
KILN_ARITH_VERIFIER(AddOp)
KILN_ARITH_VERIFIER(SubOp)
KILN_ARITH_VERIFIER(MulOp)
KILN_ARITH_VERIFIER(DivOp)
KILN_ARITH_VERIFIER(PowOp)
KILN_ARITH_VERIFIER(ModOp)
KILN_ARITH_VERIFIER(MaxOp)
KILN_ARITH_VERIFIER(MinOp)
KILN_ARITH_VERIFIER(AndOp)
KILN_ARITH_VERIFIER(OrOp)
KILN_CMP_VERIFIER(EqualOp)
KILN_CMP_VERIFIER(LessOp)
KILN_CMP_VERIFIER(LessEqualOp)
KILN_CMP_VERIFIER(GreaterOp)
KILN_CMP_VERIFIER(GreaterEqualOp)
#undef KILN_ARITH_VERIFIER
#undef KILN_CMP_VERIFIER

LogicalResult GeluOp::verify() {
  if (getApproximate() != "none" && getApproximate() != "tanh")
    return emitOpError() << "approximate must be \"none\" or \"tanh\", got \""
                         << getApproximate() << "\"";
  return success();
}

LogicalResult WhereOp::verify() {
  Type t = tensorType(getOnTrue()).getElementType();
  if (t != tensorType(getOnFalse()).getElementType() ||
      t != getResult().getType().getElementType())
    return emitOpError() << "branch and result element types must agree";
  return success();
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

/// A GEMM on `operand` elements may produce `result` elements: the same
/// type, or f32 from f16/bf16 operands (f32 accumulation, what
/// kiln-mixed-precision makes).
static bool isAccumulatorType(Type operand, Type result) {
  return operand == result ||
         (result.isF32() && (operand.isF16() || operand.isBF16()));
}

LogicalResult MatMulOp::verify() {
  auto lhs = tensorType(getLhs()), rhs = tensorType(getRhs());
  auto res = getResult().getType();
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOpError() << "operands must have rank >= 2, got " << lhs
                         << " and " << rhs;
  int64_t k1 = lhs.getDimSize(lhs.getRank() - 1);
  int64_t k2 = rhs.getDimSize(rhs.getRank() - 2);
  if (!ShapedType::isDynamic(k1) && !ShapedType::isDynamic(k2) && k1 != k2)
    return emitOpError() << "contraction extents differ: " << k1 << " vs "
                         << k2;
  if (res.getRank() != std::max(lhs.getRank(), rhs.getRank()))
    return emitOpError() << "result rank " << res.getRank()
                         << " is not the broadcast rank";
  auto checkDim = [&](int64_t expected, int64_t actual,
                      StringRef what) -> LogicalResult {
    if (!ShapedType::isDynamic(expected) && !ShapedType::isDynamic(actual) &&
        expected != actual)
      return emitOpError() << what << " extent is " << actual << ", expected "
                           << expected;
    return success();
  };
  if (failed(checkDim(lhs.getDimSize(lhs.getRank() - 2),
                      res.getDimSize(res.getRank() - 2), "row")) ||
      failed(checkDim(rhs.getDimSize(rhs.getRank() - 1),
                      res.getDimSize(res.getRank() - 1), "column")))
    return failure();
  if (lhs.getElementType() != rhs.getElementType()) {
    // Integer products may mix widths (int32 activations by int8 weights):
    // each operand is sign-extended to the result's type.
    auto l = dyn_cast<IntegerType>(lhs.getElementType());
    auto r = dyn_cast<IntegerType>(rhs.getElementType());
    auto out = dyn_cast<IntegerType>(res.getElementType());
    if (!l || !r || !out || l.isUnsigned() || r.isUnsigned() ||
        l.getWidth() > out.getWidth() || r.getWidth() > out.getWidth())
      return emitOpError() << "operand element types differ";
    return success();
  }
  if (!isAccumulatorType(lhs.getElementType(), res.getElementType()))
    return emitOpError() << "result element type " << res.getElementType()
                         << " is neither the operands' " << lhs.getElementType()
                         << " nor f32";
  return success();
}

LogicalResult EinsumOp::verify() {
  ArrayRef<Attribute> maps = getIndexingMaps().getValue();
  auto res = getResult().getType();
  if (maps.size() != getInputs().size() + 1)
    return emitOpError() << "has " << maps.size() << " indexing maps for "
                         << getInputs().size() << " inputs and a result";
  unsigned numDims = cast<AffineMapAttr>(maps[0]).getValue().getNumDims();
  // The static extent each dim of the iteration space has been given.
  SmallVector<int64_t> extents(numDims, ShapedType::kDynamic);
  SmallVector<bool> read(numDims, false);
  auto check = [&](AffineMap map, RankedTensorType t, bool isResult,
                   int64_t which) -> LogicalResult {
    if (map.getNumDims() != numDims || map.getNumSymbols() != 0 ||
        map.getNumResults() != t.getRank())
      return emitOpError() << "indexing map " << which << " must have "
                           << numDims << " dims, no symbols and " << t.getRank()
                           << " results";
    for (auto [pos, e] : llvm::enumerate(map.getResults())) {
      int64_t ext = t.getDimSize(pos);
      if (auto c = dyn_cast<AffineConstantExpr>(e)) {
        if (isResult || c.getValue() != 0 || ext != 1)
          return emitOpError() << "indexing map " << which
                               << ": only an input extent of 1 may be "
                                  "indexed by a constant 0";
        continue;
      }
      auto d = dyn_cast<AffineDimExpr>(e);
      if (!d)
        return emitOpError()
               << "indexing map " << which << " must have dims or 0 as results";
      unsigned i = d.getPosition();
      if (isResult && llvm::count(map.getResults(), e) > 1)
        return emitOpError() << "the result map repeats d" << i;
      if (!compatibleExtents(extents[i], ext))
        return emitOpError()
               << "d" << i << " has extents " << extents[i] << " and " << ext;
      if (!ShapedType::isDynamic(ext))
        extents[i] = ext;
      if (!isResult)
        read[i] = true;
    }
    return success();
  };
  for (auto [i, in] : llvm::enumerate(getInputs())) {
    auto t = tensorType(in);
    if (t.getElementType() != res.getElementType())
      return emitOpError() << "input " << i << " has element type "
                           << t.getElementType() << ", the result "
                           << res.getElementType();
    if (failed(check(cast<AffineMapAttr>(maps[i]).getValue(), t, false, i)))
      return failure();
  }
  if (failed(check(cast<AffineMapAttr>(maps.back()).getValue(), res, true,
                   maps.size() - 1)))
    return failure();
  for (unsigned d = 0; d < numDims; ++d)
    if (!read[d])
      return emitOpError() << "d" << d << " indexes no input";
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getResult().getType().getRank());
}

LogicalResult AttentionOp::verify() {
  auto q = tensorType(getQuery()), k = tensorType(getKey()),
       v = tensorType(getValue()), r = getResult().getType();
  for (auto [t, what] :
       {std::pair{q, "query"}, {k, "key"}, {v, "value"}, {r, "result"}})
    if (t.getRank() != 4)
      return emitOpError() << what
                           << " must have rank 4 [batch, heads, seq, "
                              "dim], got "
                           << t;
  auto same = [](int64_t a, int64_t b) {
    return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
  };
  auto mismatch = [&](StringRef what, int64_t a, int64_t b) {
    return emitOpError() << what << " differ: " << a << " vs " << b;
  };
  if (!same(q.getDimSize(0), k.getDimSize(0)) ||
      !same(q.getDimSize(0), v.getDimSize(0)))
    return mismatch("batch sizes of query, key and value", q.getDimSize(0),
                    k.getDimSize(0));
  int64_t h = q.getDimSize(1), hkv = k.getDimSize(1);
  if (ShapedType::isDynamic(h) || ShapedType::isDynamic(hkv))
    return emitOpError() << "head counts must be static, got query " << q
                         << " and key " << k;
  if (hkv == 0 || h % hkv != 0)
    return emitOpError() << "key/value heads (" << hkv
                         << ") must divide query heads (" << h << ")";
  if (v.getDimSize(1) != hkv)
    return mismatch("key and value heads", hkv, v.getDimSize(1));
  if (!same(q.getDimSize(3), k.getDimSize(3)))
    return mismatch("query and key head dims", q.getDimSize(3),
                    k.getDimSize(3));
  if (!same(k.getDimSize(2), v.getDimSize(2)))
    return mismatch("key and value lengths", k.getDimSize(2), v.getDimSize(2));
  SmallVector<int64_t> want = {q.getDimSize(0), h, q.getDimSize(2),
                               v.getDimSize(3)};
  for (int64_t d = 0; d < 4; ++d)
    if (!same(r.getDimSize(d), want[d]))
      return emitOpError() << "result " << r << " does not match [batch, " << h
                           << ", query length, value dim]";
  if (Value mask = getMask()) {
    auto m = tensorType(mask);
    SmallVector<int64_t> scores = {q.getDimSize(0), h, q.getDimSize(2),
                                   k.getDimSize(2)};
    if (m.getRank() > 4)
      return emitOpError() << "mask rank " << m.getRank() << " exceeds 4";
    for (int64_t i = 0; i < m.getRank(); ++i) {
      int64_t md = m.getDimSize(m.getRank() - 1 - i), sd = scores[3 - i];
      if (md != 1 && !same(md, sd))
        return emitOpError()
               << "mask " << m << " does not broadcast to the scores [batch, "
               << h << ", query length, key length]";
    }
  }
  for (auto t : {q, k, v, r})
    if (!isa<FloatType>(t.getElementType()))
      return emitOpError() << "expects floating-point tensors, got " << t;
  return success();
}

/// The shapes and activation shared by kiln.linear and kiln.qlinear.
static LogicalResult verifyLinearShapes(Operation *op, RankedTensorType in,
                                        RankedTensorType w,
                                        RankedTensorType res, Value bias,
                                        StringRef act) {
  if (act != "none" && act != "relu" && act != "gelu" && act != "gelu_tanh" &&
      act != "silu")
    return op->emitOpError() << "unknown activation \"" << act << "\"";
  if (in.getRank() < 2 || w.getRank() != 2)
    return op->emitOpError()
           << "input must have rank >= 2 and weight rank 2, got " << in
           << " and " << w;
  auto mismatch = [](int64_t a, int64_t b) {
    return !ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b;
  };
  if (mismatch(in.getShape().back(), w.getDimSize(0)))
    return op->emitOpError()
           << "contraction extents differ: " << in.getShape().back() << " vs "
           << w.getDimSize(0);
  if (res.getRank() != in.getRank() ||
      mismatch(res.getShape().back(), w.getDimSize(1)) ||
      llvm::any_of(llvm::seq<int64_t>(0, in.getRank() - 1), [&](int64_t d) {
        return mismatch(res.getDimSize(d), in.getDimSize(d));
      }))
    return op->emitOpError() << "result " << res << " does not match input "
                             << in << " and weight " << w;
  if (bias) {
    auto b = tensorType(bias);
    if (b.getRank() != 1 || mismatch(b.getDimSize(0), w.getDimSize(1)))
      return op->emitOpError() << "bias must be 1-D with the weight's "
                               << w.getDimSize(1) << " columns, got " << b;
  }
  return success();
}

LogicalResult LinearOp::verify() {
  auto in = tensorType(getInput()), w = tensorType(getWeight());
  auto res = getResult().getType();
  if (failed(verifyLinearShapes(*this, in, w, res, getBias(), getActivation())))
    return failure();
  Type elem = res.getElementType();
  if (!isa<FloatType>(elem))
    return emitOpError() << "element type must be a float, got " << elem;
  if (in.getElementType() != w.getElementType() ||
      !isAccumulatorType(in.getElementType(), elem) ||
      (getBias() && tensorType(getBias()).getElementType() != elem))
    return emitOpError() << "element types must agree (input and weight; "
                            "bias and result; an f16 or bf16 input and "
                            "weight may have an f32 result)";
  return success();
}

LogicalResult DynamicQuantizeOp::verify() {
  auto in = tensorType(getInput()), out = tensorType(getOutput());
  auto scale = tensorType(getScale()), zp = tensorType(getZeroPoint());
  if (!in.getElementType().isF32() || !scale.getElementType().isF32() ||
      !out.getElementType().isUnsignedInteger(8) ||
      !zp.getElementType().isUnsignedInteger(8))
    return emitOpError() << "expects an f32 input and scale, and ui8 output "
                            "and zero point";
  if (scale.getRank() != 0 || zp.getRank() != 0)
    return emitOpError() << "scale and zero point must be rank 0";
  if (failed(verifyCompatibleShape(in.getShape(), out.getShape())))
    return emitOpError() << "output " << out << " must have the input's shape "
                         << in;
  return success();
}

LogicalResult QLinearOp::verify() {
  auto in = tensorType(getInput()), w = tensorType(getWeight());
  auto scales = tensorType(getScales());
  auto res = getResult().getType();
  if (failed(verifyLinearShapes(*this, in, w, res, getBias(), getActivation())))
    return failure();
  StringRef quant = getQuant();
  if (quant != "row" && quant != "tensor_u8" && quant != "none" &&
      quant != "static_u8")
    return emitOpError() << "unknown quant \"" << quant
                         << "\" (expected row, tensor_u8, none or static_u8)";
  bool isStatic = quant == "static_u8";
  if (isStatic != bool(getInputScaleAttr()) ||
      isStatic != bool(getInputZeroPointAttr()))
    return emitOpError() << "input_scale and input_zero_point go with quant "
                            "static_u8 and only with it";
  if (isStatic) {
    float s = getInputScaleAttr().getValueAsDouble();
    int32_t z = *getInputZeroPoint();
    if (!std::isfinite(s) || !(s >= std::numeric_limits<float>::min()))
      return emitOpError() << "input_scale must be a positive normal number, "
                              "got "
                           << s;
    if (z < 0 || z > 255)
      return emitOpError() << "input_zero_point must be in [0, 255], got " << z;
  }
  Type f32 = Float32Type::get(getContext());
  if (!w.getElementType().isInteger(8) || in.getElementType() != f32 ||
      res.getElementType() != f32 || scales.getElementType() != f32 ||
      (getBias() && tensorType(getBias()).getElementType() != f32))
    return emitOpError() << "expects an int8 weight and f32 input, scales, "
                            "bias and result";
  if (scales.getRank() != 1 || (!ShapedType::isDynamic(w.getDimSize(1)) &&
                                !ShapedType::isDynamic(scales.getDimSize(0)) &&
                                scales.getDimSize(0) != w.getDimSize(1)))
    return emitOpError() << "scales must be 1-D with the weight's "
                         << w.getDimSize(1) << " columns, got " << scales;
  return success();
}

LogicalResult QLinearInt4Op::verify() {
  auto in = tensorType(getInput()), w = tensorType(getWeight());
  auto res = getResult().getType();
  if (failed(verifyLinearShapes(*this, in, w, res, getBias(), getActivation())))
    return failure();
  if (!w.hasStaticShape())
    return emitOpError() << "weight must have a static shape, got " << w;
  int64_t g = getGroupSize();
  if (g <= 0 || g % 8 != 0)
    return emitOpError() << "group_size must be a positive multiple of 8, got "
                         << g;
  if (getQuant() != "none" && getQuant() != "row")
    return emitOpError() << "quant must be none or row, got '" << getQuant()
                         << "'";
  Type f32 = Float32Type::get(getContext());
  if (!w.getElementType().isSignlessInteger(8) || in.getElementType() != f32 ||
      res.getElementType() != f32 ||
      (getBias() && tensorType(getBias()).getElementType() != f32))
    return emitOpError() << "expects an i8 weight and f32 input, bias and "
                            "result";
  int64_t n = w.getDimSize(1), groups = (w.getDimSize(0) + g - 1) / g;
  auto checkGrouped = [&](Value v, StringRef what) -> LogicalResult {
    auto t = tensorType(v);
    if (t.getElementType() != f32 ||
        t.getShape() != ArrayRef<int64_t>({groups, n}))
      return emitOpError() << what << " must be f32 [ceil(K / " << g
                           << "), N] = [" << groups << ", " << n << "], got "
                           << t;
    return success();
  };
  if (failed(checkGrouped(getScales(), "scales")))
    return failure();
  if (getZeroPoints() && failed(checkGrouped(getZeroPoints(), "zero_points")))
    return failure();
  return success();
}

LogicalResult LayerNormOp::verify() {
  auto in = tensorType(getInput());
  if (failed(verifyAxis(*this, getAxis(), in.getRank())))
    return failure();
  int64_t normRank = in.getRank() - getAxis();
  auto checkParam = [&](Value v, StringRef what) -> LogicalResult {
    auto t = tensorType(v);
    if (t.getRank() > normRank)
      return emitOpError() << what << " rank " << t.getRank()
                           << " exceeds the normalized rank " << normRank;
    for (int64_t i = 0; i < t.getRank(); ++i) {
      int64_t a = t.getDimSize(t.getRank() - 1 - i);
      int64_t b = in.getDimSize(in.getRank() - 1 - i);
      if (!ShapedType::isDynamic(a) && !ShapedType::isDynamic(b) && a != b &&
          a != 1)
        return emitOpError() << what << " extent " << a
                             << " does not match the input extent " << b;
    }
    return success();
  };
  if (failed(checkParam(getScale(), "scale")))
    return failure();
  if (getBias() && failed(checkParam(getBias(), "bias")))
    return failure();
  if (in != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  return success();
}

LogicalResult RotaryOp::verify() {
  auto in = tensorType(getInput());
  if (in != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  int64_t d = in.getRank() ? in.getDimSize(in.getRank() - 1) : 0;
  if (ShapedType::isDynamic(d) || d % 2 != 0 || d == 0)
    return emitOpError() << "last extent must be static and even, got " << in;
  for (Value table : {getCos(), getSin()}) {
    auto t = tensorType(table);
    if (t.getElementType() != in.getElementType() || t.getRank() > in.getRank())
      return emitOpError() << "cos and sin must be " << in.getElementType()
                           << " tensors of rank at most " << in.getRank()
                           << ", got " << t;
    for (int64_t i = 1; i <= t.getRank(); ++i) {
      int64_t td = t.getDimSize(t.getRank() - i);
      int64_t xd = in.getDimSize(in.getRank() - i);
      // A table extent broadcasts only when it is 1; it may not grow x.
      if (td != 1 && td != xd &&
          !(ShapedType::isDynamic(td) && ShapedType::isDynamic(xd)))
        return emitOpError() << t << " does not broadcast to " << in;
    }
    if (t.getDimSize(t.getRank() - 1) != d)
      return emitOpError() << "cos and sin must have last extent " << d;
  }
  if (!isa<FloatType>(in.getElementType()))
    return emitOpError() << "expects a floating-point input, got " << in;
  return success();
}

LogicalResult RMSNormOp::verify() {
  auto in = tensorType(getInput());
  auto scale = tensorType(getScale());
  if (scale.getRank() != 1)
    return emitOpError() << "scale must be 1-D";
  int64_t h = in.getDimSize(in.getRank() - 1);
  if (!ShapedType::isDynamic(h) &&
      !ShapedType::isDynamic(scale.getDimSize(0)) && scale.getDimSize(0) != h)
    return emitOpError() << "scale extent " << scale.getDimSize(0)
                         << " does not match the hidden size " << h;
  if (in != getResult().getType())
    return emitOpError() << "result type must equal the input type";
  return success();
}

template <typename OpT> static LogicalResult verifyReduce(OpT op) {
  auto in = tensorType(op.getInput());
  auto res = op.getResult().getType();
  int64_t prev = -1;
  for (int64_t a : op.getAxes()) {
    if (failed(verifyAxis(op, a, in.getRank())))
      return failure();
    if (a <= prev)
      return op.emitOpError() << "axes must be sorted and unique";
    prev = a;
  }
  int64_t expectedRank = op.getKeepdims()
                             ? in.getRank()
                             : in.getRank() - (int64_t)op.getAxes().size();
  if (res.getRank() != expectedRank)
    return op.emitOpError()
           << "result rank " << res.getRank() << ", expected " << expectedRank;
  return success();
}
LogicalResult ReduceSumOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMeanOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMaxOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceMinOp::verify() { return verifyReduce(*this); }
LogicalResult ReduceProdOp::verify() { return verifyReduce(*this); }

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

LogicalResult GatherOp::verify() {
  auto data = tensorType(getData()), idx = tensorType(getIndices());
  auto res = getResult().getType();
  if (failed(verifyAxis(*this, getAxis(), data.getRank())))
    return failure();
  if (res.getRank() != data.getRank() - 1 + idx.getRank())
    return emitOpError() << "result rank " << res.getRank() << ", expected "
                         << data.getRank() - 1 + idx.getRank();
  if (res.getElementType() != data.getElementType())
    return emitOpError() << "result element type must match the data";
  return success();
}

LogicalResult GatherElementsOp::verify() {
  auto data = tensorType(getData()), idx = tensorType(getIndices());
  auto res = getResult().getType();
  if (failed(verifyAxis(*this, getAxis(), data.getRank())))
    return failure();
  if (idx.getRank() != data.getRank())
    return emitOpError() << "indices have rank " << idx.getRank()
                         << ", the data " << data.getRank();
  if (res.getShape() != idx.getShape())
    return emitOpError() << "result shape must be the indices' shape";
  if (res.getElementType() != data.getElementType())
    return emitOpError() << "result element type must match the data";
  return success();
}

LogicalResult GatherNDOp::verify() {
  auto data = tensorType(getData()), idx = tensorType(getIndices());
  auto res = getResult().getType();
  int64_t b = getBatchDims(), q = idx.getRank(), r = data.getRank();
  if (q < 1)
    return emitOpError() << "indices must have rank 1 or more";
  int64_t k = idx.getDimSize(q - 1);
  if (ShapedType::isDynamic(k))
    return emitOpError() << "the last dim of the indices must be static";
  if (b < 0 || b >= q || b + k > r)
    return emitOpError() << "batch_dims " << b << " and index tuples of " << k
                         << " do not fit data of rank " << r
                         << " and indices of rank " << q;
  if (res.getRank() != q - 1 + r - k - b)
    return emitOpError() << "result rank " << res.getRank() << ", expected "
                         << q - 1 + r - k - b;
  if (res.getElementType() != data.getElementType())
    return emitOpError() << "result element type must match the data";
  return success();
}

LogicalResult CumSumOp::verify() {
  return verifyAxis(*this, getAxis(), getResult().getType().getRank());
}

LogicalResult TransposeOp::verify() {
  auto in = tensorType(getInput());
  auto res = getResult().getType();
  ArrayRef<int64_t> perm = getPerm();
  if ((int64_t)perm.size() != in.getRank())
    return emitOpError() << "perm has " << perm.size() << " entries for rank "
                         << in.getRank();
  llvm::SmallSet<int64_t, 8> seen;
  for (auto [i, p] : llvm::enumerate(perm)) {
    if (p < 0 || p >= in.getRank() || !seen.insert(p).second)
      return emitOpError() << "perm is not a permutation";
    if (res.getDimSize(i) != in.getDimSize(p))
      return emitOpError() << "result extent " << i
                           << " does not match input extent " << p;
  }
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  if (llvm::equal(getPerm(), llvm::seq<int64_t>(0, getPerm().size())))
    return getInput();
  return {};
}

LogicalResult ReshapeOp::verify() {
  auto in = tensorType(getInput());
  auto res = getResult().getType();
  if (failed(verifyShapeMap(*this, getShape(), res, "shape")))
    return failure();
  if (in.hasStaticShape() && res.hasStaticShape() &&
      in.getNumElements() != res.getNumElements())
    return emitOpError() << "changes the element count from "
                         << in.getNumElements() << " to "
                         << res.getNumElements();
  if (in.getElementType() != res.getElementType())
    return emitOpError() << "changes the element type";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor) {
  if (getInput().getType() == getResult().getType() &&
      getInput().getType().hasStaticShape())
    return getInput();
  return {};
}

LogicalResult ExpandOp::verify() {
  auto in = tensorType(getInput());
  auto res = getResult().getType();
  if (failed(verifyShapeMap(*this, getShape(), res, "shape")))
    return failure();
  if (in.getRank() > res.getRank())
    return emitOpError() << "cannot broadcast rank " << in.getRank()
                         << " to rank " << res.getRank();
  int64_t lead = res.getRank() - in.getRank();
  for (int64_t i = 0; i < in.getRank(); ++i) {
    int64_t a = in.getDimSize(i), b = res.getDimSize(lead + i);
    if (a != 1 && a != b && !ShapedType::isDynamic(a))
      return emitOpError() << "input extent " << a << " at dim " << i
                           << " cannot broadcast to " << b;
  }
  return success();
}

LogicalResult ConcatOp::verify() {
  if (getInputs().empty())
    return emitOpError() << "needs at least one input";
  auto res = getResult().getType();
  if (failed(verifyAxis(*this, getAxis(), res.getRank())))
    return failure();
  int64_t total = 0;
  for (Value v : getInputs()) {
    auto t = tensorType(v);
    if (t.getRank() != res.getRank() ||
        t.getElementType() != res.getElementType())
      return emitOpError() << "input " << t << " does not match result " << res;
    for (int64_t d = 0; d < res.getRank(); ++d) {
      if (d == getAxis())
        continue;
      if (!ShapedType::isDynamic(t.getDimSize(d)) &&
          !ShapedType::isDynamic(res.getDimSize(d)) &&
          t.getDimSize(d) != res.getDimSize(d))
        return emitOpError() << "input extent " << t.getDimSize(d) << " at dim "
                             << d << " differs from the result";
    }
    if (total != ShapedType::kDynamic)
      total = ShapedType::isDynamic(t.getDimSize(getAxis()))
                  ? ShapedType::kDynamic
                  : total + t.getDimSize(getAxis());
  }
  if (!ShapedType::isDynamic(total) &&
      !ShapedType::isDynamic(res.getDimSize(getAxis())) &&
      total != res.getDimSize(getAxis()))
    return emitOpError() << "concatenated extent " << total
                         << " differs from the result extent "
                         << res.getDimSize(getAxis());
  return success();
}

LogicalResult SliceOp::verify() {
  auto in = tensorType(getInput());
  auto res = getResult().getType();
  if (in.getRank() != res.getRank() ||
      (int64_t)getStrides().size() != in.getRank() ||
      getOffsets().getNumResults() != in.getRank())
    return emitOpError() << "offsets, sizes, strides and result must all "
                            "have the input rank "
                         << in.getRank();
  if (llvm::is_contained(getStrides(), 0))
    return emitOpError() << "strides must be non-zero";
  if (failed(verifyShapeMap(*this, getSizes(), res, "sizes")))
    return failure();
  // Statically known out-of-bounds slices are rejected here; symbolic ones are
  // clamped by the importer.
  for (int64_t d = 0; d < in.getRank(); ++d) {
    auto off = symConstant(getOffsets().getResult(d));
    int64_t size = res.getDimSize(d), extent = in.getDimSize(d);
    int64_t stride = getStrides()[d];
    if (!off || ShapedType::isDynamic(size) || ShapedType::isDynamic(extent) ||
        size == 0)
      continue;
    int64_t last = *off + (size - 1) * stride;
    if (*off < 0 || *off >= extent || last < 0 || last >= extent)
      return emitOpError() << "slice of dim " << d << " reads [" << *off << ", "
                           << last << "] outside extent " << extent;
  }
  return success();
}

LogicalResult TriluOp::verify() {
  if (getResult().getType().getRank() < 2)
    return emitOpError() << "input must have rank >= 2";
  return success();
}
