//===- RaiseRotary.cpp - Exported rotate-half rotary -> kiln.rotary -------===//
//
//   add(mul(x, cos), mul(concat(neg(x[..., D/2:]), x[..., :D/2]), sin))
//     => kiln.rotary x, cos, sin
//
// with either operand order of the add and the muls. Like the attention
// raising, every match is found before anything is rewritten, so the cached
// symbolic shapes stay valid.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"
#include "passes/Passes.h"
#include "passes/SymbolicShapes.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISEROTARY
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct Match {
  AddOp sum;
  Value input, cos, sin;
  SmallVector<Operation *> replaced; // consumers first
};

class RotaryMatcher {
public:
  std::optional<Match> match(AddOp sum);

private:
  SymbolicShapes shapes;
  bool isHalf(Value slice, Value x, bool second);
  std::optional<Match> matchTerms(AddOp sum, Value direct, Value rotated);
};

/// `v` is x[..., :D/2] (or x[..., D/2:] when `second`).
bool RotaryMatcher::isHalf(Value v, Value x, bool second) {
  auto slice = v.getDefiningOp<SliceOp>();
  if (!slice || slice.getInput() != x ||
      llvm::any_of(slice.getStrides(), [](int64_t s) { return s != 1; }))
    return false;
  auto xs = shapes.get(x);
  auto type = cast<RankedTensorType>(x.getType());
  int64_t d = type.getDimSize(type.getRank() - 1);
  if (!xs || ShapedType::isDynamic(d) || d % 2 != 0)
    return false;
  ArrayRef<AffineExpr> offsets = slice.getOffsets().getResults();
  ArrayRef<AffineExpr> sizes = slice.getSizes().getResults();
  for (size_t i = 0; i + 1 < sizes.size(); ++i)
    if (symConstant(offsets[i]) != 0 || !symEqual(sizes[i], (*xs)[i]))
      return false;
  return symConstant(offsets.back()) == (second ? d / 2 : 0) &&
         symConstant(sizes.back()) == d / 2;
}

/// direct = x * cos, rotated = concat(-x2, x1) * sin, in either order.
std::optional<Match> RotaryMatcher::matchTerms(AddOp sum, Value direct,
                                               Value rotated) {
  auto mulCos = direct.getDefiningOp<MulOp>();
  auto mulSin = rotated.getDefiningOp<MulOp>();
  if (!mulCos || !mulSin || !direct.hasOneUse() || !rotated.hasOneUse())
    return std::nullopt;
  for (int rotSide = 0; rotSide < 2; ++rotSide) {
    Value rot = mulSin->getOperand(rotSide),
          sin = mulSin->getOperand(1 - rotSide);
    auto concat = rot.getDefiningOp<ConcatOp>();
    if (!concat || !rot.hasOneUse() || concat.getInputs().size() != 2)
      continue;
    auto rt = cast<RankedTensorType>(rot.getType());
    auto neg = concat.getInputs()[0].getDefiningOp<NegOp>();
    if (concat.getAxis() != rt.getRank() - 1 || !neg || !neg->hasOneUse())
      continue;
    for (int xSide = 0; xSide < 2; ++xSide) {
      Value x = mulCos->getOperand(xSide), cos = mulCos->getOperand(1 - xSide);
      if (x.getType() != sum.getType() || rot.getType() != x.getType() ||
          mulSin.getType() != x.getType() || mulCos.getType() != x.getType() ||
          !isHalf(neg.getInput(), x, /*second=*/true) ||
          !isHalf(concat.getInputs()[1], x, /*second=*/false))
        continue;
      // The tables broadcast to x without growing it (kiln.rotary verifies
      // the same).
      auto xt = cast<RankedTensorType>(x.getType());
      bool fits = true;
      for (Value table : {cos, sin}) {
        auto t = cast<RankedTensorType>(table.getType());
        fits &=
            t.getElementType() == xt.getElementType() && t.getRank() >= 1 &&
            t.getRank() <= xt.getRank() &&
            t.getDimSize(t.getRank() - 1) == xt.getDimSize(xt.getRank() - 1);
        for (int64_t i = 1; fits && i <= t.getRank(); ++i) {
          int64_t td = t.getDimSize(t.getRank() - i);
          int64_t xd = xt.getDimSize(xt.getRank() - i);
          fits = td == 1 || td == xd;
        }
      }
      if (!fits)
        continue;
      Match m;
      m.sum = sum;
      m.input = x;
      m.cos = cos;
      m.sin = sin;
      m.replaced = {sum,
                    mulSin,
                    mulCos,
                    concat,
                    neg,
                    concat.getInputs()[1].getDefiningOp(),
                    neg.getInput().getDefiningOp()};
      return m;
    }
  }
  return std::nullopt;
}

std::optional<Match> RotaryMatcher::match(AddOp sum) {
  if (auto m = matchTerms(sum, sum.getLhs(), sum.getRhs()))
    return m;
  return matchTerms(sum, sum.getRhs(), sum.getLhs());
}

struct KilnRaiseRotaryPass
    : kiln::impl::KilnRaiseRotaryBase<KilnRaiseRotaryPass> {
  void runOnOperation() override {
    SmallVector<Match> matches;
    {
      RotaryMatcher matcher;
      getOperation().walk([&](AddOp op) {
        if (auto m = matcher.match(op))
          matches.push_back(std::move(*m));
      });
    }
    for (Match &m : matches) {
      OpBuilder b(m.sum);
      auto rotary = RotaryOp::create(b, m.sum.getLoc(), m.sum.getType(),
                                     m.input, m.cos, m.sin);
      m.sum.getResult().replaceAllUsesWith(rotary.getResult());
      for (Operation *op : m.replaced)
        if (op->use_empty())
          op->erase();
    }
    numRaised += matches.size();
  }
};

} // namespace
