//===- SymbolicShapeTest.cpp - Exact division of symbolic extents ---------===//

#include "dialects/kiln/SymbolicShape.h"

#include "mlir/IR/MLIRContext.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace mlir;
using namespace mlir::kiln;

class SymbolicShape : public ::testing::Test {
protected:
  MLIRContext ctx;
  AffineExpr s(unsigned i) { return getAffineSymbolExpr(i, &ctx); }
  AffineExpr c(int64_t v) { return getAffineConstantExpr(v, &ctx); }
};

// A reshape's inferred extent: the input's elements over the other target
// extents, a sum when a sequence is past + new.
TEST_F(SymbolicShape, DividesBySumsExactly) {
  AffineExpr total = s(0) * 64 * (s(1) + s(3));
  AffineExpr known = (s(1) + s(3)) * 16;
  EXPECT_TRUE(symEqual(symFloorDiv(total, known), s(0) * 4));
  EXPECT_TRUE(symEqual(symMod(total, known), c(0)));
  AffineExpr wide = (s(0) + 1) * (s(1) + s(2) + 2);
  EXPECT_TRUE(symEqual(symFloorDiv(wide, s(1) + s(2) + 2), s(0) + 1));
  EXPECT_TRUE(symEqual(symFloorDiv(s(0) * 6, c(3)), s(0) * 2));
}

TEST_F(SymbolicShape, KeepsAFloorDivThatIsNotExact) {
  AffineExpr q = symFloorDiv(s(0) * s(1) + 1, s(1) + 1);
  EXPECT_EQ(q.getKind(), AffineExprKind::FloorDiv);
  q = symFloorDiv(s(0) * 3 + s(1) * 2, s(0) + s(1));
  EXPECT_EQ(q.getKind(), AffineExprKind::FloorDiv);
  EXPECT_NE(symMod(s(0) * 3 + s(1) * 2, s(0) + s(1)).getKind(),
            AffineExprKind::Constant);
}

// A sum with a part that is no polynomial goes to MLIR's simplifier, which
// must be told every symbol the sum names: a model may have thousands.
TEST_F(SymbolicShape, SimplifiesSumsOfSymbolsPastTheFirst64) {
  for (unsigned i : {0u, 63u, 64u, 200u, 4095u}) {
    AffineExpr half = s(i).floorDiv(2);
    AffineExpr sum = simplifySym(half + s(i) + s(i));
    std::string text;
    llvm::raw_string_ostream(text) << sum;
    EXPECT_EQ(evaluateSym(sum, std::vector<int64_t>(i + 1, 7)), 3 + 14)
        << "s" << i << ": " << text;
  }
}

} // namespace
