//===- LowerQuantized.cpp - Quantized linears as calls of the GEMMs -------===//
//
// kiln.qlinear calls the runtime's int8 GEMM, kiln.qlinear_int4 its int4
// GEMM. The weight is packed here, at compile time, into the layout of
// runtime/src/kernels/Int8Packing.h or Int4Packing.h (4-bit values two a
// byte, with the group scales inside); the call reads the activations as a
// 2-D [M, K] view and writes a fresh [M, N] buffer.
//
//===----------------------------------------------------------------------===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"
#include "codegen/RuntimeCalls.h"
#include "dialects/kiln/ConstantData.h"
#include "runtime/src/kernels/Int4Packing.h"
#include "runtime/src/kernels/Int8Packing.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

/// The KILN_RT_QUANT_* code of a kiln.qlinear quant.
static int32_t quantCode(StringRef quant) {
  return llvm::StringSwitch<int32_t>(quant)
      .Case("row", 0)
      .Case("tensor_u8", 1)
      .Case("none", 2)
      .Default(3);
}

/// `bytes` read as elements of type `T`.
template <typename T> static const T *elementsAs(ArrayRef<char> bytes) {
  return reinterpret_cast<const T *>(bytes.data());
}

LogicalResult FunctionLowering::callQuantizedGemm(
    Operation *op, Value input, Value bias, int64_t n, StringRef name,
    function_ref<SmallVector<Value>(Value a, Value bias, Value c)> arguments) {
  Location loc = op->getLoc();
  Type f32 = b.getF32Type();
  MemRefType arg2 = fullyDynamicMemRef(2, f32);

  SmallVector<OpFoldResult> xs = sizesOf(input);
  OpFoldResult m = productOf(b, loc, ArrayRef(xs).drop_back());
  SmallVector<OpFoldResult> a2{m, xs.back()};
  Value a = reshape(loc, input, tensorTypeOf(a2, f32), a2);
  SmallVector<OpFoldResult> c2{m, b.getIndexAttr(n)};
  RankedTensorType outType = tensorTypeOf(c2, f32);
  SmallVector<Value> dynamicSizes;
  if (outType.isDynamicDim(0))
    dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, m));
  Value out =
      memref::AllocOp::create(b, loc, MemRefType::get(outType.getShape(), f32),
                              dynamicSizes, b.getI64IntegerAttr(64));
  Value biasBuffer =
      bias ? runtimeOperand(loc, bias) : emptyRuntimeOperand(b, loc, f32);
  SmallVector<Value> args =
      arguments(runtimeOperand(loc, a), biasBuffer,
                memref::CastOp::create(b, loc, arg2, out));

  func::FuncOp callee = declareRuntimeFunction(
      op->getParentOfType<ModuleOp>(), name, ValueRange(args).getTypes());
  func::CallOp::create(b, loc, callee, args);
  Value y = bufferization::ToTensorOp::create(b, loc, outType, out,
                                              /*restrict=*/true,
                                              /*writable=*/true);
  SmallVector<OpFoldResult> resultSizes = xs;
  resultSizes.back() = b.getIndexAttr(n);
  b.replaceOp(op, reshape(loc, y,
                          cast<RankedTensorType>(op->getResult(0).getType()),
                          resultSizes));
  return success();
}

Value FunctionLowering::runtimeOperand(Location loc, Value t) {
  MLIRContext *ctx = b.getContext();
  auto tt = tensorTy(t);
  SmallVector<int64_t> dynamic(tt.getRank(), ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dynamic);
  Value buffer = bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(tt.getShape(), tt.getElementType(), layout), t,
      /*read_only=*/true);
  return memref::CastOp::create(
      b, loc, MemRefType::get(dynamic, tt.getElementType(), layout), buffer);
}

/// A packed weight as a 1-D i8 constant named after its source.
static Value packedConstant(OpBuilder &b, Location loc, StringRef key,
                            AsmResourceBlob blob) {
  auto type =
      RankedTensorType::get({int64_t(blob.getData().size())}, b.getI8Type());
  return arith::ConstantOp::create(
      b, loc, type, DenseResourceElementsAttr::get(type, key, std::move(blob)));
}

LogicalResult FunctionLowering::lowerQLinear(QLinearOp op) {
  if (!qlinearKernel)
    return op.emitOpError()
           << "needs an int8 GEMM kernel, which only the cpu target has";
  Location loc = op.getLoc();
  auto wt = tensorTy(op.getWeight());
  ElementsAttr w;
  if (!wt.hasStaticShape() || !matchPattern(op.getWeight(), m_Constant(&w)))
    return op.emitOpError() << "needs a constant weight of static shape";
  int64_t k = wt.getDimSize(0), n = wt.getDimSize(1);
  SmallVector<char, 0> storage;
  std::optional<ArrayRef<char>> raw = elementBytes(w, k * n, 1, storage);
  if (!raw)
    return op.emitOpError() << "weight data is not at hand";

  // The weight in the kernel's panel layout.
  const int8_t *src = elementsAs<int8_t>(*raw);
  int64_t bytes = ::kiln::int8::packedBytes(k, n);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(size_t(bytes), 64);
  ::kiln::int8::pack(src, k, n,
                     reinterpret_cast<int8_t *>(blob.getMutableData().data()));
  StringRef key = resourceKey(w);
  Value packed = packedConstant(
      b, loc, ((key.empty() ? StringRef("qweight") : key) + "_packed").str(),
      std::move(blob));
  bool isStatic = op.getQuant() == "static_u8";
  return callQuantizedGemm(
      op, op.getInput(), op.getBias(), n,
      isStatic ? "kiln_rt_qlinear_static_s8_f32" : "kiln_rt_qlinear_s8_f32",
      [&](Value a, Value bias, Value c) -> SmallVector<Value> {
        SmallVector<Value> args{
            a,
            runtimeOperand(loc, packed),
            runtimeOperand(loc, op.getScales()),
            bias,
            c,
            arith::ConstantIntOp::create(
                b, loc, *runtimeActivationCode(op.getActivation()), 32)};
        if (!isStatic) {
          args.push_back(arith::ConstantIntOp::create(
              b, loc, quantCode(op.getQuant()), 32));
          return args;
        }
        args.push_back(
            arith::ConstantOp::create(b, loc, op.getInputScaleAttr()));
        args.push_back(
            arith::ConstantIntOp::create(b, loc, *op.getInputZeroPoint(), 32));
        return args;
      });
}

LogicalResult FunctionLowering::lowerQLinearInt4(QLinearInt4Op op) {
  if (!qlinearKernel)
    return op.emitOpError()
           << "needs an int4 GEMM kernel, which only the cpu target has";
  Location loc = op.getLoc();
  auto wt = tensorTy(op.getWeight());
  int64_t k = wt.getDimSize(0), n = wt.getDimSize(1), g = op.getGroupSize();
  int64_t groupCount = ::kiln::int4::groups(k, g);
  // One group shorter than g: packed as a group of K rounded up to 8, the
  // same scales, instead of padding every panel to g rows.
  if (groupCount == 1)
    g = std::min(g, (k + 7) / 8 * 8);
  ElementsAttr w, scales, zeroPoints;
  if (!matchPattern(op.getWeight(), m_Constant(&w)) ||
      !matchPattern(op.getScales(), m_Constant(&scales)) ||
      (op.getZeroPoints() &&
       !matchPattern(op.getZeroPoints(), m_Constant(&zeroPoints))))
    return op.emitOpError()
           << "needs a constant weight, scales and zero points";
  SmallVector<char, 0> wStore, sStore, zStore;
  std::optional<ArrayRef<char>> wRaw = elementBytes(w, k * n, 1, wStore);
  std::optional<ArrayRef<char>> sRaw =
      elementBytes(scales, groupCount * n, 4, sStore);
  std::optional<ArrayRef<char>> zRaw;
  if (zeroPoints)
    zRaw = elementBytes(zeroPoints, groupCount * n, 4, zStore);
  if (!wRaw || !sRaw || (zeroPoints && !zRaw))
    return op.emitOpError() << "weight data is not at hand";

  const int8_t *q = elementsAs<int8_t>(*wRaw);
  const float *s = elementsAs<float>(*sRaw);
  const float *zp = zRaw ? elementsAs<float>(*zRaw) : nullptr;
  int64_t bytes = ::kiln::int4::packedBytes(k, n, g, zp != nullptr);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(size_t(bytes), 64);
  if (!::kiln::int4::pack(
          q, s, zp, k, n, g,
          reinterpret_cast<uint8_t *>(blob.getMutableData().data())))
    return op.emitOpError()
           << "weight values must be in "
           << (zp ? "[0, 15] with zero points" : "[-8, 7] without zero points");
  StringRef key = resourceKey(w);
  Value packed = packedConstant(
      b, loc, ((key.empty() ? StringRef("q4weight") : key) + "_packed").str(),
      std::move(blob));
  return callQuantizedGemm(
      op, op.getInput(), op.getBias(), n,
      op.getQuant() == "row" ? "kiln_rt_qlinear_s4_q8_f32"
                             : "kiln_rt_qlinear_s4_f32",
      [&](Value a, Value bias, Value c) -> SmallVector<Value> {
        return {a,
                runtimeOperand(loc, packed),
                bias,
                c,
                arith::ConstantIntOp::create(
                    b, loc, *runtimeActivationCode(op.getActivation()), 32),
                arith::ConstantIntOp::create(b, loc, g, 32),
                arith::ConstantIntOp::create(b, loc, zp ? 1 : 0, 32)};
      });
}
