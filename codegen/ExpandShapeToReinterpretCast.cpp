//===- ExpandShapeToReinterpretCast.cpp - MLIR 22 crash workaround --------===//
#include "codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNEXPANDSHAPETOREINTERPRETCAST
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// Whether some reassociation group of `op` has two or more dynamic sizes:
/// the case upstream's expansion crashes on.
bool hasMultiDynamicGroup(memref::ExpandShapeOp op) {
  MemRefType type = op.getResultType();
  for (const ReassociationIndices &group : op.getReassociationIndices())
    if (llvm::count_if(group, [&](int64_t d) { return type.isDynamicDim(d); }) >
        1)
      return true;
  return false;
}

struct ExpandShapeToReinterpretCast : OpRewritePattern<memref::ExpandShapeOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(memref::ExpandShapeOp op,
                                PatternRewriter &rewriter) const override {
    if (!hasMultiDynamicGroup(op))
      return failure();
    MemRefType resultType = op.getResultType();
    SmallVector<int64_t> staticStrides;
    int64_t staticOffset;
    if (failed(resultType.getStridesAndOffset(staticStrides, staticOffset)))
      return failure();
    Location loc = op.getLoc();
    auto meta =
        memref::ExtractStridedMetadataOp::create(rewriter, loc, op.getSrc());
    SmallVector<OpFoldResult> sizes = op.getMixedOutputShape();
    SmallVector<OpFoldResult> strides(resultType.getRank());
    auto mul = [&](OpFoldResult x, OpFoldResult y) -> OpFoldResult {
      std::optional<int64_t> cx = getConstantIntValue(x),
                             cy = getConstantIntValue(y);
      if (cx && cy)
        return rewriter.getIndexAttr(*cx * *cy);
      if (cx == 1)
        return y;
      if (cy == 1)
        return x;
      return arith::MulIOp::create(
                 rewriter, loc,
                 getValueOrCreateConstantIndexOp(rewriter, loc, x),
                 getValueOrCreateConstantIndexOp(rewriter, loc, y))
          .getResult();
    };
    for (auto [srcDim, group] : llvm::enumerate(op.getReassociationIndices())) {
      OpFoldResult stride = meta.getStrides()[srcDim];
      if (auto c = getConstantIntValue(stride))
        stride = rewriter.getIndexAttr(*c);
      for (int64_t d : llvm::reverse(group)) {
        strides[d] = stride;
        stride = mul(stride, sizes[d]);
      }
    }
    // Static facts of the result type win, so the cast verifies.
    for (auto [i, s] : llvm::enumerate(staticStrides))
      if (!ShapedType::isDynamic(s))
        strides[i] = rewriter.getIndexAttr(s);
    OpFoldResult offset = meta.getOffset();
    if (!ShapedType::isDynamic(staticOffset))
      offset = rewriter.getIndexAttr(staticOffset);
    rewriter.replaceOpWithNewOp<memref::ReinterpretCastOp>(
        op, resultType, meta.getBaseBuffer(), offset, sizes, strides);
    return success();
  }
};

struct KilnExpandShapeToReinterpretCastPass
    : kiln::impl::KilnExpandShapeToReinterpretCastBase<
          KilnExpandShapeToReinterpretCastPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandShapeToReinterpretCast>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
