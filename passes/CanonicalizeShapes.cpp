//===- CanonicalizeShapes.cpp - Fold shape-only kiln ops ------------------===//
#include "dialects/kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include <cmath>
#include <cstring>
#include <vector>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNCANONICALIZESHAPES
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {
/// reshape(reshape(x)) => reshape(x): only the final shape matters.
struct FoldReshapeChain : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, op.getType(), inner.getInput(),
                                           op.getShapeAttr());
    return success();
  }
};

/// reshape(x) to x's own symbolic shape => x. The shape of x is known when x
/// is itself a reshape result or a function argument with `kiln.dims`.
struct FoldIdentityReshape : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    if (op.getInput().getType() != op.getType())
      return failure();
    if (op.getType().hasStaticShape()) {
      rewriter.replaceOp(op, op.getInput());
      return success();
    }
    return failure();
  }
};

/// transpose(transpose(x, p), q) => transpose(x, p o q).
struct FoldTransposeChain : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> perm;
    for (int64_t q : op.getPerm())
      perm.push_back(inner.getPerm()[q]);
    rewriter.replaceOpWithNewOp<TransposeOp>(
        op, op.getType(), inner.getInput(),
        rewriter.getDenseI64ArrayAttr(perm));
    return success();
  }
};

/// transpose(constant) => the constant transposed, at compile time. The
/// dynamo exporter keeps a tied embedding once and feeds the LM head
/// transpose(table): left to run time, that transposes the whole vocabulary
/// table on every call, and the GEMM kernels see no constant weight to pack.
struct FoldConstantTranspose : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto c = op.getInput().getDefiningOp<ConstantOp>();
    auto type = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(op.getInput().getType());
    if (!c || !type.hasStaticShape() || !inType.hasStaticShape() ||
        !type.getElementType().isIntOrFloat() ||
        type.getElementType().getIntOrFloatBitWidth() % 8 != 0)
      return failure();
    ArrayRef<char> data;
    StringRef key;
    if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      if (!blob)
        return failure();
      data = blob->getData();
      key = res.getRawHandle().getKey();
    } else if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
      if (dense.isSplat()) {
        rewriter.replaceOpWithNewOp<ConstantOp>(
            op, type, cast<ElementsAttr>(dense.reshape(type)));
        return success();
      }
      data = dense.getRawData();
    } else {
      return failure();
    }
    size_t elem = type.getElementType().getIntOrFloatBitWidth() / 8;
    int64_t n = type.getNumElements(), rank = type.getRank();
    if ((int64_t)data.size() != n * (int64_t)elem)
      return failure();
    // Row-major strides of the input, read in the result's order.
    SmallVector<int64_t> inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * inType.getDimSize(d + 1);
    ArrayRef<int64_t> perm = op.getPerm();
    std::vector<char> bytes;
    AsmResourceBlob out;
    char *dst;
    if (key.empty()) {
      bytes.resize(n * elem);
      dst = bytes.data();
    } else {
      out = HeapAsmResourceBlob::allocate(n * elem, 64);
      dst = out.getMutableData().data();
    }
    SmallVector<int64_t> index(rank, 0);
    for (int64_t i = 0; i < n; ++i) {
      int64_t src = 0;
      for (int64_t d = 0; d < rank; ++d)
        src += index[d] * inStrides[perm[d]];
      memcpy(dst + i * elem, data.data() + src * elem, elem);
      for (int64_t d = rank - 1; d >= 0; --d) {
        if (++index[d] < type.getDimSize(d))
          break;
        index[d] = 0;
      }
    }
    ElementsAttr attr =
        key.empty() ? cast<ElementsAttr>(
                          DenseElementsAttr::getFromRawBuffer(type, bytes))
                    : cast<ElementsAttr>(DenseResourceElementsAttr::get(
                          type, (key + "_t").str(), std::move(out)));
    rewriter.replaceOpWithNewOp<ConstantOp>(op, type, attr);
    return success();
  }
};

/// The value of a one-element float constant or fill.
std::optional<double> scalarValue(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type || !isa<FloatType>(type.getElementType()) ||
      !type.hasStaticShape() || type.getNumElements() != 1)
    return std::nullopt;
  if (auto fill = v.getDefiningOp<FillOp>())
    if (auto f = dyn_cast<FloatAttr>(fill.getValue()))
      return f.getValueAsDouble();
  auto c = v.getDefiningOp<ConstantOp>();
  auto dense = c ? dyn_cast<DenseFPElementsAttr>(c.getValue()) : nullptr;
  if (!dense)
    return std::nullopt;
  return dense.getSplatValue<APFloat>().convertToDouble();
}

/// add/sub/mul/div/pow of one-element float constants => a constant, as
/// exporters write attention scales (full([], 0) + head_dim ** 0.5), so that
/// the raising passes see a constant factor. Computed in double and rounded
/// once to the element type (f32: the value PyTorch traced).
template <typename OpT> struct FoldScalarArithmetic : OpRewritePattern<OpT> {
  using OpRewritePattern<OpT>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpT op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    std::optional<double> a = scalarValue(op.getLhs());
    std::optional<double> b = scalarValue(op.getRhs());
    if (!a || !b || !type.hasStaticShape() || type.getNumElements() != 1)
      return failure();
    double r;
    if constexpr (std::is_same_v<OpT, AddOp>)
      r = *a + *b;
    else if constexpr (std::is_same_v<OpT, SubOp>)
      r = *a - *b;
    else if constexpr (std::is_same_v<OpT, MulOp>)
      r = *a * *b;
    else if constexpr (std::is_same_v<OpT, DivOp>)
      r = *a / *b;
    else
      r = std::pow(*a, *b);
    auto value = DenseElementsAttr::get(
        type, rewriter.getFloatAttr(type.getElementType(), r));
    rewriter.replaceOpWithNewOp<ConstantOp>(op, type,
                                            cast<ElementsAttr>(value));
    return success();
  }
};

struct KilnCanonicalizeShapesPass
    : kiln::impl::KilnCanonicalizeShapesBase<KilnCanonicalizeShapesPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<FoldReshapeChain, FoldIdentityReshape, FoldTransposeChain,
                 FoldConstantTranspose, FoldScalarArithmetic<AddOp>,
                 FoldScalarArithmetic<SubOp>, FoldScalarArithmetic<MulOp>,
                 FoldScalarArithmetic<DivOp>, FoldScalarArithmetic<PowOp>>(
        &getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
