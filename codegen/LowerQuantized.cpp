//===- LowerQuantized.cpp - kiln.qlinear as a call of the int8 GEMM -------===//
//
// The weight is packed here, at compile time, into the layout of
// runtime/src/kernels/Int8Packing.h; the call reads the activations as a
// 2-D [M, K] view and writes a fresh [M, N] buffer.
//
//===----------------------------------------------------------------------===//
#include "codegen/FunctionLowering.h"
#include "codegen/LoweringUtils.h"
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

/// The KILN_RT_ACT_* code of an activation (runtime/src/kernels/Kernels.h).
static int32_t activationCode(StringRef act) {
  return llvm::StringSwitch<int32_t>(act)
      .Case("relu", 1)
      .Case("gelu", 2)
      .Case("gelu_tanh", 3)
      .Case("silu", 4)
      .Default(0);
}

/// The KILN_RT_QUANT_* code of a kiln.qlinear quant.
static int32_t quantCode(StringRef quant) {
  return llvm::StringSwitch<int32_t>(quant)
      .Case("row", 0)
      .Case("tensor_u8", 1)
      .Default(2);
}

LogicalResult FunctionLowering::lowerQLinear(QLinearOp op) {
  if (!qlinearKernel)
    return op.emitOpError()
           << "needs an int8 GEMM kernel, which only the cpu target has";
  Location loc = op.getLoc();
  MLIRContext *ctx = b.getContext();
  auto wt = tensorTy(op.getWeight());
  ElementsAttr w;
  if (!wt.hasStaticShape() || !matchPattern(op.getWeight(), m_Constant(&w)))
    return op.emitOpError() << "needs a constant weight of static shape";
  int64_t k = wt.getDimSize(0), n = wt.getDimSize(1);
  ArrayRef<char> raw;
  bool splat = false;
  std::string key = "qweight";
  if (auto dense = dyn_cast<DenseElementsAttr>(w)) {
    raw = dense.getRawData();
    splat = dense.isSplat();
  } else if (auto res = dyn_cast<DenseResourceElementsAttr>(w)) {
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob())
      raw = blob->getData();
    key = res.getRawHandle().getKey().str();
  }
  if (raw.size() != size_t(splat ? 1 : k * n))
    return op.emitOpError() << "weight data is not at hand";

  // The weight in the kernel's panel layout.
  SmallVector<int8_t> dense;
  const int8_t *src = reinterpret_cast<const int8_t *>(raw.data());
  if (splat) {
    dense.assign(size_t(k * n), src[0]);
    src = dense.data();
  }
  int64_t bytes = ::kiln::int8::packedBytes(k, n);
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(size_t(bytes), 64);
  ::kiln::int8::pack(src, k, n,
                     reinterpret_cast<int8_t *>(blob.getMutableData().data()));
  auto packedType = RankedTensorType::get({bytes}, b.getI8Type());
  Value packed = arith::ConstantOp::create(
      b, loc, packedType,
      DenseResourceElementsAttr::get(packedType, key + "_packed",
                                     std::move(blob)));

  Type f32 = b.getF32Type();
  auto anyLayout1 =
      StridedLayoutAttr::get(ctx, ShapedType::kDynamic, {ShapedType::kDynamic});
  auto anyLayout2 = StridedLayoutAttr::get(
      ctx, ShapedType::kDynamic, {ShapedType::kDynamic, ShapedType::kDynamic});
  auto arg1 = [&](Type elem) {
    return MemRefType::get({ShapedType::kDynamic}, elem, anyLayout1);
  };
  MemRefType arg2 = MemRefType::get(
      {ShapedType::kDynamic, ShapedType::kDynamic}, f32, anyLayout2);
  auto bufferOf = [&](Value t, MemRefType argType) -> Value {
    auto tt = tensorTy(t);
    auto layout = tt.getRank() == 1 ? anyLayout1 : anyLayout2;
    Value buffer = bufferization::ToBufferOp::create(
        b, loc, MemRefType::get(tt.getShape(), tt.getElementType(), layout), t,
        /*read_only=*/true);
    return memref::CastOp::create(b, loc, argType, buffer);
  };

  SmallVector<OpFoldResult> xs = sizesOf(op.getInput());
  OpFoldResult m = productOf(b, loc, ArrayRef(xs).drop_back());
  SmallVector<OpFoldResult> a2{m, xs.back()};
  Value a = reshape(loc, op.getInput(), tensorTypeOf(a2, f32), a2);
  SmallVector<OpFoldResult> c2{m, b.getIndexAttr(n)};
  RankedTensorType outType = tensorTypeOf(c2, f32);
  SmallVector<Value> dynamicSizes;
  if (outType.isDynamicDim(0))
    dynamicSizes.push_back(getValueOrCreateConstantIndexOp(b, loc, m));
  Value out =
      memref::AllocOp::create(b, loc, MemRefType::get(outType.getShape(), f32),
                              dynamicSizes, b.getI64IntegerAttr(64));
  Value bias =
      op.getBias()
          ? bufferOf(op.getBias(), arg1(f32))
          : (Value)memref::CastOp::create(
                b, loc, arg1(f32),
                memref::AllocaOp::create(b, loc, MemRefType::get({0}, f32)));
  SmallVector<Value> args{
      bufferOf(a, arg2),
      bufferOf(packed, arg1(b.getI8Type())),
      bufferOf(op.getScales(), arg1(f32)),
      bias,
      memref::CastOp::create(b, loc, arg2, out),
      arith::ConstantIntOp::create(b, loc, activationCode(op.getActivation()),
                                   32),
      arith::ConstantIntOp::create(b, loc, quantCode(op.getQuant()), 32)};

  StringRef name = "kiln_rt_qlinear_s8_f32";
  auto module = op->getParentOfType<ModuleOp>();
  auto callee = module.lookupSymbol<func::FuncOp>(name);
  if (!callee) {
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(module.getBody());
    callee = func::FuncOp::create(
        b, module.getLoc(), name,
        b.getFunctionType(ValueRange(args).getTypes(), {}));
    callee.setPrivate();
    callee->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  }
  func::CallOp::create(b, loc, callee, args);
  Value y = bufferization::ToTensorOp::create(b, loc, outType, out,
                                              /*restrict=*/true,
                                              /*writable=*/true);
  SmallVector<OpFoldResult> resultSizes = xs;
  resultSizes.back() = b.getIndexAttr(n);
  b.replaceOp(op, reshape(loc, y, op.getType(), resultSizes));
  return success();
}
