//===- FuseQLinearSiblings.cpp - One int8 GEMM for GEMMs of one input -----===//
//
// Attention's q, k and v projections, and SwiGLU's gate and up, read the
// same activation. As separate kiln.qlinear ops each quantizes that input
// again and runs a narrower GEMM; fused, the input is quantized once and
// the GEMM is as wide as all of them. The rows' quantization does not
// depend on the weights and every output column is its own dot product, so
// the fused op computes bit for bit what the separate ones did.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/ConstantData.h"
#include "dialects/kiln/KilnOps.h"
#include "passes/Passes.h"
#include "passes/SymbolicShapes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/MapVector.h"

#include <cstring>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNFUSEQLINEARSIBLINGS
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// A copy of the `count` elements of `width` bytes each of constant `v`, or
/// nothing when `v` is not a constant whose data is at hand.
std::optional<SmallVector<char>> constantBytes(Value v, int64_t count,
                                               size_t width) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  SmallVector<char, 0> storage;
  std::optional<ArrayRef<char>> bytes =
      elementBytes(c.getValue(), count, width, storage);
  if (!bytes)
    return std::nullopt;
  return SmallVector<char>(bytes->begin(), bytes->end());
}

struct KilnFuseQLinearSiblingsPass
    : kiln::impl::KilnFuseQLinearSiblingsBase<KilnFuseQLinearSiblingsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto symbolNames = func->getAttrOfType<ArrayAttr>("kiln.symbols");
    if (!symbolNames)
      return;
    numSymbols = symbolNames.size();
    // Siblings: same input, quantization (static parameters included) and
    // activation, in one block.
    llvm::MapVector<
        std::tuple<Value, StringRef, Attribute, Attribute, StringRef, Block *>,
        SmallVector<QLinearOp>>
        groups;
    func.walk([&](QLinearOp op) {
      if (op.getQuant() == "none")
        return; // nothing is shared without activation quantization
      groups[{op.getInput(), op.getQuant(), op.getInputScaleAttr(),
              op.getInputZeroPointAttr(), op.getActivation(), op->getBlock()}]
          .push_back(op);
    });
    SymbolicShapes shapes;
    for (auto &[key, ops] : groups)
      if (ops.size() > 1)
        fuse(ops, shapes);
  }

  void fuse(ArrayRef<QLinearOp> ops, SymbolicShapes &shapes) {
    QLinearOp first = ops.front();
    for (QLinearOp op : ops)
      if (op->isBeforeInBlock(first))
        first = op;
    auto xShape = shapes.get(first.getInput());
    if (!xShape)
      return;
    int64_t k =
        cast<RankedTensorType>(first.getWeight().getType()).getDimSize(0);
    bool anyBias =
        llvm::any_of(ops, [](QLinearOp op) { return op.getBias() != nullptr; });
    // Every part's data, or no fusion.
    SmallVector<int64_t> widths;
    SmallVector<SmallVector<char>> weights, scales, biases;
    for (QLinearOp op : ops) {
      int64_t n =
          cast<RankedTensorType>(op.getWeight().getType()).getDimSize(1);
      auto w = constantBytes(op.getWeight(), k * n, 1);
      auto s = constantBytes(op.getScales(), n, 4);
      std::optional<SmallVector<char>> bias =
          op.getBias() ? constantBytes(op.getBias(), n, 4)
                       : SmallVector<char>(size_t(4 * n), 0);
      if (!w || !s || !bias)
        return;
      widths.push_back(n);
      weights.push_back(std::move(*w));
      scales.push_back(std::move(*s));
      biases.push_back(std::move(*bias));
    }
    int64_t total = 0;
    for (int64_t n : widths)
      total += n;
    AsmResourceBlob wBlob =
        HeapAsmResourceBlob::allocate(size_t(k * total), 64);
    char *dst = wBlob.getMutableData().data();
    for (int64_t row = 0, off = 0; row < k; ++row)
      for (auto [i, n] : llvm::enumerate(widths)) {
        memcpy(dst + off, weights[i].data() + row * n, size_t(n));
        off += n;
      }
    SmallVector<float> allScales, allBias;
    for (auto [i, n] : llvm::enumerate(widths)) {
      const float *s = reinterpret_cast<const float *>(scales[i].data());
      const float *bb = reinterpret_cast<const float *>(biases[i].data());
      allScales.append(s, s + n);
      allBias.append(bb, bb + n);
    }

    OpBuilder b(first);
    Location loc = first.getLoc();
    MLIRContext *ctx = b.getContext();
    auto wType = RankedTensorType::get({k, total}, IntegerType::get(ctx, 8));
    auto vType = RankedTensorType::get({total}, b.getF32Type());
    Value w = ConstantOp::create(b, loc, wType,
                                 DenseResourceElementsAttr::get(
                                     wType, "qweight_fused", std::move(wBlob)));
    auto dense = [&](ArrayRef<float> v) {
      return cast<ElementsAttr>(DenseElementsAttr::get(vType, v));
    };
    Value s = ConstantOp::create(b, loc, vType, dense(allScales));
    Value bias = anyBias
                     ? (Value)ConstantOp::create(b, loc, vType, dense(allBias))
                     : Value();
    auto rt = first.getType();
    SmallVector<int64_t> shape(rt.getShape());
    shape.back() = total;
    auto fused = QLinearOp::create(
        b, loc, RankedTensorType::get(shape, rt.getElementType()),
        first.getInput(), w, s, bias, first.getActivationAttr(),
        first.getQuantAttr(), first.getInputScaleAttr(),
        first.getInputZeroPointAttr());
    // All slices first: the builder's insertion point is `first`, which
    // goes with the siblings.
    int64_t rank = rt.getRank(), offset = 0;
    SmallVector<Value> parts;
    for (auto [i, constOp] : llvm::enumerate(ops)) {
      QLinearOp op = constOp;
      SmallVector<AffineExpr> offsets(rank, b.getAffineConstantExpr(0)),
          sizes(xShape->begin(), xShape->end());
      offsets.back() = b.getAffineConstantExpr(offset);
      sizes.back() = b.getAffineConstantExpr(widths[i]);
      parts.push_back(SliceOp::create(
          b, loc, op.getType(), fused,
          AffineMapAttr::get(AffineMap::get(0, numSymbols, offsets, ctx)),
          AffineMapAttr::get(AffineMap::get(0, numSymbols, sizes, ctx)),
          b.getDenseI64ArrayAttr(SmallVector<int64_t>(rank, 1))));
      offset += widths[i];
    }
    for (auto [constOp, part] : llvm::zip(ops, parts)) {
      QLinearOp op = constOp;
      op.getResult().replaceAllUsesWith(part);
      SmallVector<Value> inputs{op.getWeight(), op.getScales()};
      if (op.getBias())
        inputs.push_back(op.getBias());
      op.erase();
      for (Value v : inputs)
        if (Operation *def = v.getDefiningOp(); def && def->use_empty())
          def->erase();
    }
    ++numFused;
  }

  unsigned numSymbols = 0;
};

} // namespace
