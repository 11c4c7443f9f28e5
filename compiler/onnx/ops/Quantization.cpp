//===- Quantization.cpp - Dynamic int8 quantization ONNX ops --------------===//
//
// The two ops ONNX Runtime's dynamic quantizer writes around every weight
// MatMul (quantize the activation per tensor, multiply in integers, then a
// Cast and a Mul by both scales). kiln-raise-quantized-linear makes the
// whole group one kiln.qlinear on the int8 GEMM kernel; what it does not
// match runs as Kiln's generic ops (an integer loop nest).
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

/// One kiln.dynamic_quantize: kiln-raise-quantized-linear fuses it into the
/// int8 GEMMs it feeds, and expands it where it feeds anything else.
static LogicalResult convertDynamicQuantizeLinear(NodeContext &nc) {
  Type f32 = nc.builder().getF32Type();
  if (nc.elementType(0) != f32)
    return nc.error() << "input must be f32, got " << nc.elementType(0);
  OpBuilder &b = nc.builder();
  ArrayRef<AffineExpr> dims = nc.dims(0);
  Type u8 = b.getIntegerType(8, /*isSigned=*/false);
  Value x = nc.input(0);
  auto q = k::DynamicQuantizeOp::create(b, nc.loc(), nc.tensorType(dims, u8),
                                        RankedTensorType::get({}, f32),
                                        RankedTensorType::get({}, u8), x);
  nc.setOutput(0, q.getOutput(), dims);
  if (nc.hasOutput(1))
    nc.setOutput(1, q.getScale(), {});
  if (nc.hasOutput(2))
    nc.setOutput(2, q.getZeroPoint(), {});
  return success();
}

/// (A - a_zero_point) x (B - b_zero_point) in int32, A and B int8 or uint8.
/// The zero points are scalars, or per row of A ([M]) and per column of B
/// ([N]).
static LogicalResult convertMatMulInteger(NodeContext &nc) {
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  Type i32 = b.getI32Type();
  auto isByte = [](Type t) { return t.isInteger(8); };
  for (size_t i = 0; i < 2; ++i)
    if (!isByte(nc.elementType(i)))
      return nc.error() << (i ? "B" : "A") << " must be int8 or uint8, got "
                        << nc.elementType(i);
  // Operand `i` widened to int32, less its zero point (input i + 2). A
  // signed int8 B with no zero point, or a zero one (ONNX Runtime's
  // symmetric weights), stays int8: kiln.matmul sign-extends it, and the
  // weights keep one byte each.
  auto widen = [&](size_t i) -> FailureOr<Value> {
    ArrayRef<AffineExpr> dims = nc.dims(i);
    auto type = nc.tensorType(dims, i32);
    if (i == 1 && nc.elementType(1).isSignlessInteger(8) &&
        (!nc.hasInput(3) || nc.constScalar(3) == std::optional<double>(0.0)))
      return nc.input(1);
    Value v = k::CastOp::create(b, loc, type, nc.input(i));
    if (!nc.hasInput(i + 2))
      return v;
    if (nc.elementType(i + 2) != nc.elementType(i))
      return nc.error() << (i ? "b" : "a") << "_zero_point type "
                        << nc.elementType(i + 2) << " differs from "
                        << (i ? "B's " : "A's ") << nc.elementType(i);
    SmallVector<AffineExpr> zpDims(nc.dims(i + 2));
    bool scalarZp = staticNumElements(zpDims) == std::optional<int64_t>(1);
    if (!scalarZp && zpDims.size() != 1)
      return nc.error() << (i ? "b" : "a")
                        << "_zero_point must be a scalar or 1-D, got "
                        << nc.formatDims(zpDims);
    Value zp =
        k::CastOp::create(b, loc, nc.tensorType(zpDims, i32), nc.input(i + 2));
    if (scalarZp) {
      zp = reshapeTo(nc, zp, {});
    } else if (i == 0) {
      // Per row of A: [M] against A's [..., M, K].
      if (dims.size() < 2 || !k::symEqual(zpDims[0], dims[dims.size() - 2]))
        return nc.error() << "a_zero_point " << nc.formatDims(zpDims)
                          << " is not one per row of A " << nc.formatDims(dims);
      zp = reshapeTo(nc, zp, {zpDims[0], nc.cst(1)});
    } else if (!k::symEqual(zpDims[0], dims.back())) {
      return nc.error() << "b_zero_point " << nc.formatDims(zpDims)
                        << " is not one per column of B "
                        << nc.formatDims(dims);
    }
    return (Value)k::SubOp::create(b, loc, type, v, zp);
  };
  auto a = widen(0);
  if (failed(a))
    return failure();
  auto bv = widen(1);
  if (failed(bv))
    return failure();
  auto r = buildMatMul(nc, *a, SmallVector<AffineExpr>(nc.dims(0)), *bv,
                       SmallVector<AffineExpr>(nc.dims(1)));
  if (failed(r))
    return failure();
  nc.setOutput(0, r->first, r->second);
  return success();
}

/// The scale or zero point `i` of a QuantizeLinear/DequantizeLinear, shaped
/// to broadcast against input 0: a scalar stays rank 0, a 1-D one ([C]
/// along `axis`) becomes [1, .., C, .., 1].
static FailureOr<Value> perAxis(NodeContext &nc, size_t i, Value v,
                                StringRef what) {
  ArrayRef<AffineExpr> dims = nc.dims(i);
  if (staticNumElements(dims) == std::optional<int64_t>(1))
    return reshapeTo(nc, v, {});
  int64_t rank = nc.rank(0);
  if (dims.size() != 1)
    return nc.error() << what << " must be a scalar or 1-D, got "
                      << nc.formatDims(dims)
                      << (nc.opset() >= 21 ? " (blocked quantization, "
                                             "block_size, is not supported)"
                                           : "");
  auto axis = nc.normalizeAxis(nc.getInt("axis", 1), rank);
  if (failed(axis))
    return failure();
  if (!k::symEqual(dims[0], nc.dims(0)[*axis]))
    return nc.error() << what << " " << nc.formatDims(dims)
                      << " is not one per slice of axis " << *axis << " of "
                      << nc.formatDims(nc.dims(0));
  SmallVector<AffineExpr> shape(rank, nc.cst(1));
  shape[*axis] = dims[0];
  return reshapeTo(nc, v, shape);
}

static bool isQuantizedType(Type t) {
  return t.isInteger(8) || t.isSignlessInteger(32);
}

/// y = (x - x_zero_point) * x_scale, per tensor or per slice of `axis`.
static LogicalResult convertDequantizeLinear(NodeContext &nc) {
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  Type in = nc.elementType(0), out = nc.elementType(1);
  if (!isQuantizedType(in) || !isa<FloatType>(out))
    return nc.error() << "dequantizes int8, uint8 or int32 to a float type, "
                         "got "
                      << in << " to " << out;
  ArrayRef<AffineExpr> dims = nc.dims(0);
  auto type = nc.tensorType(dims, out);
  Value x = k::CastOp::create(b, loc, type, nc.input(0));
  if (nc.hasInput(2)) {
    if (nc.elementType(2) != in)
      return nc.error() << "x_zero_point type " << nc.elementType(2)
                        << " differs from x's " << in;
    auto zp = perAxis(nc, 2, nc.input(2), "x_zero_point");
    if (failed(zp))
      return failure();
    auto zpType = cast<RankedTensorType>(zp->getType());
    Value zpf = k::CastOp::create(b, loc, zpType.clone(out), *zp);
    x = k::SubOp::create(b, loc, type, x, zpf);
  }
  auto scale = perAxis(nc, 1, nc.input(1), "x_scale");
  if (failed(scale))
    return failure();
  nc.setOutput(0, k::MulOp::create(b, loc, type, x, *scale), dims);
  return success();
}

/// y = saturate(round(x / y_scale) + y_zero_point), rounding to nearest
/// even, into y_zero_point's type (uint8 without one, or output_dtype).
static LogicalResult convertQuantizeLinear(NodeContext &nc) {
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  Type in = nc.elementType(0);
  if (!isa<FloatType>(in))
    return nc.error() << "quantizes a float type, got " << in;
  Type out = nc.hasInput(2) ? nc.elementType(2)
                            : (Type)b.getIntegerType(8, /*isSigned=*/false);
  if (int64_t dtype = nc.getInt("output_dtype", 0);
      dtype != 0 && dtype != 2 && dtype != 3)
    return nc.error() << "output_dtype " << dtype
                      << " is not supported (uint8 or int8 only)";
  else if (dtype == 3)
    out = b.getIntegerType(8);
  if (!out.isInteger(8))
    return nc.error() << "quantizes to int8 or uint8 only, got " << out;
  bool isUnsigned = out.isUnsignedInteger(8);
  ArrayRef<AffineExpr> dims = nc.dims(0);
  auto type = nc.tensorType(dims, in);
  auto scale = perAxis(nc, 1, nc.input(1), "y_scale");
  if (failed(scale))
    return failure();
  Value y = k::RoundOp::create(
      b, loc, type, k::DivOp::create(b, loc, type, nc.input(0), *scale));
  if (nc.hasInput(2)) {
    auto zp = perAxis(nc, 2, nc.input(2), "y_zero_point");
    if (failed(zp))
      return failure();
    auto zpType = cast<RankedTensorType>(zp->getType());
    y = k::AddOp::create(b, loc, type, y,
                         k::CastOp::create(b, loc, zpType.clone(in), *zp));
  }
  y = k::ClipOp::create(b, loc, type, y,
                        b.getF64FloatAttr(isUnsigned ? 0.0 : -128.0),
                        b.getF64FloatAttr(isUnsigned ? 255.0 : 127.0));
  nc.setOutput(0, k::CastOp::create(b, loc, nc.tensorType(dims, out), y), dims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::quantizationConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "DequantizeLinear", 10, M, convertDequantizeLinear, "Quantization"},
      {"", "DynamicQuantizeLinear", 11, M, convertDynamicQuantizeLinear,
       "Quantization"},
      {"", "MatMulInteger", 10, M, convertMatMulInteger, "Quantization"},
      {"", "QuantizeLinear", 10, M, convertQuantizeLinear, "Quantization"},
  };
  return rows;
}
