//===- Quantization.cpp - Quantization ONNX ops ---------------------------===//
//
// The two ops ONNX Runtime's dynamic quantizer writes around every weight
// MatMul (quantize the activation per tensor, multiply in integers, then a
// Cast and a Mul by both scales). kiln-raise-quantized-linear makes the
// whole group one kiln.qlinear on the int8 GEMM kernel; what it does not
// match runs as Kiln's generic ops (an integer loop nest). Also
// QuantizeLinear and DequantizeLinear, and ONNX Runtime's 4-bit
// com.microsoft MatMulNBits (its MatMulNBitsQuantizer's output), which
// becomes one kiln.qlinear_int4.
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"
#include "dialects/kiln/ConstantData.h"

#include "onnx.pb.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"

#include <cstring>

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

/// The data of constant input `i` (its raw bytes, a splat expanded), which
/// must hold `count` elements of `elementBytes` each.
static FailureOr<ArrayRef<char>> constantData(NodeContext &nc, size_t i,
                                              StringRef what, int64_t count,
                                              size_t elementBytes,
                                              SmallVectorImpl<char> &storage) {
  ElementsAttr attr = nc.info(i).constant;
  if (!attr)
    return nc.error() << what << " must be a constant (an initializer)";
  if (attr.getNumElements() != count)
    return nc.error() << what << " has " << attr.getNumElements()
                      << " elements, expected " << count;
  std::optional<ArrayRef<char>> raw =
      k::elementBytes(attr, count, elementBytes, storage);
  if (!raw)
    return nc.error() << what << "'s data is not at hand";
  return *raw;
}

/// A kiln.constant of `type` whose data `fill` writes into a fresh blob.
static Value blobConstant(NodeContext &nc, RankedTensorType type, StringRef key,
                          function_ref<void(MutableArrayRef<char>)> fill) {
  size_t bytes = size_t(type.getNumElements()) *
                 (type.getElementType().getIntOrFloatBitWidth() / 8);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(bytes, 64);
  fill(blob.getMutableData());
  return k::ConstantOp::create(
      nc.builder(), nc.loc(), type,
      cast<ElementsAttr>(
          DenseResourceElementsAttr::get(type, key, std::move(blob))));
}

/// ONNX Runtime's com.microsoft MatMulNBits at 4 bits: Y = A x dequant(B)
/// (+ bias), with B [N, K / block_size, block_size / 2] uint8, two values a
/// byte, low nibble first, and w[k, n] = (q - zp) * scale per block of K
/// and column; zp is 8 without zero_points, else from zero_points (uint8,
/// packed as B, or float). One kiln.qlinear_int4 with B's values one per
/// i8 (signed q - 8 without zero points), scales and zero points [blocks, N],
/// with int8 activations (quant "row") where accuracy_level is 4.
static LogicalResult convertMatMulNBits(NodeContext &nc) {
  OpBuilder &b = nc.builder();
  Type f32 = b.getF32Type();
  int64_t bits = nc.getInt("bits", 4), k = nc.getInt("K", 0),
          n = nc.getInt("N", 0), block = nc.getInt("block_size", 0);
  if (bits != 4)
    return nc.error() << "bits " << bits << " is not supported (4 only)";
  if (k <= 0 || n <= 0)
    return nc.error() << "needs positive K and N attributes, got " << k
                      << " and " << n;
  if (block < 8 || block % 8 != 0)
    return nc.error() << "block_size " << block
                      << " is not supported (a multiple of 8)";
  // 4 asks for int8 activations (ORT quantizes them per block of K; Kiln
  // per row, kiln.qlinear_int4's "row"); 0 to 3 for f32 math or less,
  // which runs as f32.
  int64_t accuracyLevel = nc.getInt("accuracy_level", 0);
  if (accuracyLevel < 0 || accuracyLevel > 4)
    return nc.error() << "accuracy_level " << accuracyLevel
                      << " is not one of 0 to 4";
  if (nc.numInputs() < 3 || nc.numInputs() > 6)
    return nc.error() << "expects 3 to 6 inputs, got " << nc.numInputs();
  if (nc.hasInput(4))
    return nc.error() << "g_idx (a permuted order of K) is not supported";
  if (nc.elementType(0) != f32 || nc.elementType(2) != f32)
    return nc.error() << "A and scales must be f32, got " << nc.elementType(0)
                      << " and " << nc.elementType(2);
  if (!nc.elementType(1).isInteger(8))
    return nc.error() << "B must be uint8, got " << nc.elementType(1);
  ArrayRef<AffineExpr> dims = nc.dims(0);
  if (dims.empty() || !k::symEqual(dims.back(), nc.cst(k)))
    return nc.error() << "A " << nc.formatDims(dims)
                      << " does not end in K = " << k;

  const int64_t blocks = (k + block - 1) / block, blob = block / 2;
  SmallVector<char, 0> bStore, sStore, zStore;
  auto bData = constantData(nc, 1, "B", n * blocks * blob, 1, bStore);
  if (failed(bData))
    return failure();
  auto sData = constantData(nc, 2, "scales", n * blocks, 4, sStore);
  if (failed(sData))
    return failure();
  // Zero points: none (8), uint8 packed per column, or f32 [N * blocks].
  FailureOr<ArrayRef<char>> zData = ArrayRef<char>();
  bool floatZeroPoints = false;
  const int64_t zpBytesPerColumn = (blocks + 1) / 2;
  if (nc.hasInput(3)) {
    Type zt = nc.elementType(3);
    floatZeroPoints = zt == f32;
    if (!floatZeroPoints && !zt.isInteger(8))
      return nc.error() << "zero_points must be uint8 or f32, got " << zt;
    zData = floatZeroPoints
                ? constantData(nc, 3, "zero_points", n * blocks, 4, zStore)
                : constantData(nc, 3, "zero_points", n * zpBytesPerColumn, 1,
                               zStore);
    if (failed(zData))
      return failure();
  }
  const bool zp = nc.hasInput(3);

  std::string key = nc.node().input(1);
  for (char &c : key)
    c = llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_';
  auto bytes = reinterpret_cast<const uint8_t *>(bData->data());
  Value w = blobConstant(
      nc, RankedTensorType::get({k, n}, b.getI8Type()), "q4_" + key,
      [&](MutableArrayRef<char> out) {
        for (int64_t j = 0; j < n; ++j)
          for (int64_t kk = 0; kk < k; ++kk) {
            uint8_t byte =
                bytes[(j * blocks + kk / block) * blob + (kk % block) / 2];
            int u = kk % 2 ? byte >> 4 : byte & 0x0f;
            out[kk * n + j] = char(zp ? u : u - 8);
          }
      });
  // [N, blocks] as [blocks, N].
  auto groupedType = RankedTensorType::get({blocks, n}, f32);
  auto transposed = [&](StringRef name,
                        function_ref<float(int64_t, int64_t)> at) {
    return blobConstant(nc, groupedType, name.str() + "_" + key,
                        [&](MutableArrayRef<char> out) {
                          auto *f = reinterpret_cast<float *>(out.data());
                          for (int64_t g = 0; g < blocks; ++g)
                            for (int64_t j = 0; j < n; ++j)
                              f[g * n + j] = at(g, j);
                        });
  };
  auto floatAt = [](ArrayRef<char> data, int64_t i) {
    float v;
    memcpy(&v, data.data() + 4 * i, 4);
    return v;
  };
  Value scales = transposed("scales", [&](int64_t g, int64_t j) {
    return floatAt(*sData, j * blocks + g);
  });
  Value zeroPoints;
  if (zp)
    zeroPoints = transposed("zero_points", [&](int64_t g, int64_t j) {
      if (floatZeroPoints)
        return floatAt(*zData, j * blocks + g);
      uint8_t byte = uint8_t((*zData)[j * zpBytesPerColumn + g / 2]);
      return float(g % 2 ? byte >> 4 : byte & 0x0f);
    });
  Value bias;
  if (nc.hasInput(5)) {
    if (nc.elementType(5) != f32 || nc.rank(5) != 1 ||
        !k::symEqual(nc.dims(5)[0], nc.cst(n)))
      return nc.error() << "bias must be f32 [" << n << "], got "
                        << nc.formatDims(nc.dims(5));
    bias = nc.input(5);
  }

  // kiln.qlinear_int4 takes a matrix or more: a vector A is one row.
  SmallVector<AffineExpr> inDims(dims), outDims(dims);
  outDims.back() = nc.cst(n);
  Value a = nc.input(0);
  if (dims.size() == 1) {
    inDims.insert(inDims.begin(), nc.cst(1));
    a = reshapeTo(nc, a, inDims);
  }
  SmallVector<AffineExpr> resultDims(inDims);
  resultDims.back() = nc.cst(n);
  Value y = k::QLinearInt4Op::create(
      b, nc.loc(), nc.tensorType(resultDims, f32), a, w, scales, zeroPoints,
      bias, b.getI64IntegerAttr(block), b.getStringAttr("none"),
      b.getStringAttr(accuracyLevel == 4 ? "row" : "none"));
  if (dims.size() == 1)
    y = reshapeTo(nc, y, outDims);
  nc.setOutput(0, y, outDims);
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
      {"com.microsoft", "MatMulNBits", 1, 1, convertMatMulNBits,
       "Quantization"},
  };
  return rows;
}
