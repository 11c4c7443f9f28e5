//===- RaiseAttention.cpp - Exported attention subgraphs -> kiln.attention ===//
//
// Matches from the value product backwards:
//
//   matmul(softmax(masks(scale(matmul(q', kT'))), axis = -1), v')
//
// where scale is any chain of multiplications or divisions by scalar
// constants, q' and kT' may carry such factors themselves (the sqrt-split
// scale of SDPA exports), kT' is any permutation of the keys, and masks are
// at most one additive mask plus causal hiding, the latter either as
// where(causal, scores, -big) or as an additive where(causal, 0, -big); a
// where that hides by a condition that is not causal (a padding mask, in
// either branch order) becomes the additive mask. A
// causal condition is a slice of a constant lower-triangular table or a
// comparison of two position ranges; either way it must hide key j from
// query i exactly when j > i + Sk - Sq. Keys and values repeated for
// grouped-query heads (reshape, expand, reshape) are read unrepeated.
//
// Matching runs before any rewrite so that the cached symbolic shapes stay
// valid; the replaced subgraphs are erased afterwards where nothing else
// uses them.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"
#include "passes/Passes.h"
#include "passes/SymbolicShapes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "llvm/ADT/SmallPtrSet.h"
#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNRAISEATTENTION
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// A masked score this negative gives exp(score - max) == 0 in f32 for any
/// score a real model produces, so hiding by it equals hiding by -inf.
constexpr double kHiddenScore = -1e9;

/// The one value of a splat constant or fill.
std::optional<double> splatValue(Value v) {
  if (auto fill = v.getDefiningOp<FillOp>()) {
    if (auto f = dyn_cast<FloatAttr>(fill.getValue()))
      return f.getValueAsDouble();
    if (auto i = dyn_cast<IntegerAttr>(fill.getValue()))
      return (double)i.getInt();
    return std::nullopt;
  }
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto dense = dyn_cast<DenseElementsAttr>(c.getValue());
  if (!dense || !dense.isSplat())
    return std::nullopt;
  if (isa<FloatType>(dense.getElementType()))
    return dense.getSplatValue<APFloat>().convertToDouble();
  if (dense.getElementType().isSignlessInteger() &&
      dense.getElementType().getIntOrFloatBitWidth() > 1)
    return (double)dense.getSplatValue<APInt>().getSExtValue();
  return std::nullopt;
}

/// The value of a one-element f32 tensor computed from constants alone: a
/// splat, or sqrt, reciprocal, +, -, *, / of such values, through reshapes,
/// as SDPA exports compute the scale each of q and k is multiplied by
/// (sqrt(1 / sqrt(head_dim))). In f32, as the model computes it.
std::optional<double> scalarConstant(Value v, int depth = 0) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  if (!t || !t.hasStaticShape() || t.getNumElements() != 1 || depth > 8)
    return std::nullopt;
  Operation *op = v.getDefiningOp();
  if (!op)
    return std::nullopt;
  if (isa<ReshapeOp>(op))
    return scalarConstant(op->getOperand(0), depth + 1);
  if (!t.getElementType().isF32())
    return splatValue(v);
  if (auto sqrt = dyn_cast<SqrtOp>(op)) {
    auto x = scalarConstant(sqrt.getOperand(), depth + 1);
    if (!x || *x < 0)
      return std::nullopt;
    return (double)std::sqrt((float)*x);
  }
  if (auto r = dyn_cast<ReciprocalOp>(op)) {
    auto x = scalarConstant(r.getOperand(), depth + 1);
    if (!x || *x == 0)
      return std::nullopt;
    return (double)(1.0f / (float)*x);
  }
  if (isa<AddOp, SubOp, MulOp, DivOp>(op)) {
    auto a = scalarConstant(op->getOperand(0), depth + 1);
    auto b = scalarConstant(op->getOperand(1), depth + 1);
    if (!a || !b)
      return std::nullopt;
    float x = (float)*a, y = (float)*b;
    if (isa<AddOp>(op))
      return (double)(x + y);
    if (isa<SubOp>(op))
      return (double)(x - y);
    if (isa<MulOp>(op))
      return (double)(x * y);
    if (y == 0)
      return std::nullopt;
    return (double)(x / y);
  }
  return splatValue(v);
}

/// `v` times a scalar constant (x * c, c * x or x / c) whose result has the
/// shape of x: returns x and multiplies `scale` by the factor.
Value peelScalarFactor(Value v, double &scale) {
  Operation *op = v.getDefiningOp();
  if (!op || !isa<MulOp, DivOp>(op))
    return nullptr;
  Value lhs = op->getOperand(0), rhs = op->getOperand(1);
  auto scalar = [&](Value c) { return scalarConstant(c); };
  auto keepsShape = [&](Value x) { return x.getType() == v.getType(); };
  if (auto c = scalar(rhs); c && keepsShape(lhs)) {
    if (isa<DivOp>(op)) {
      if (*c == 0)
        return nullptr;
      scale /= *c;
    } else {
      scale *= *c;
    }
    return lhs;
  }
  if (auto c = scalar(lhs); c && isa<MulOp>(op) && keepsShape(rhs)) {
    scale *= *c;
    return rhs;
  }
  return nullptr;
}

/// Strips every scalar factor from `v`; with `singleUse`, only factors whose
/// result has no other user.
Value peelScalarFactors(Value v, double &scale, bool singleUse) {
  while (!singleUse || v.hasOneUse()) {
    Value inner = peelScalarFactor(v, scale);
    if (!inner)
      break;
    v = inner;
  }
  return v;
}

struct Match {
  MatMulOp product;
  Value query, keySource, value, mask;
  /// The key is transpose(keySource, keyPerm), or keySource itself when the
  /// permutation is the identity.
  SmallVector<int64_t> keyPerm;
  double scale = 1.0;
  bool causal = false;
  /// A where-mask that is not causal (a padding mask, as DistilBERT writes
  /// where(attention_mask == 0, -big, scores)): the scores are hidden by
  /// `whereHide` where `whereCond` is `hideWhenTrue`.
  Value whereCond;
  double whereHide = 0;
  bool hideWhenTrue = false;
  /// The subgraph zeroed the probabilities of rows that see no key (the
  /// SDPA guard) and a mask may hide whole rows: the raised attention's
  /// NaN rows become zeros.
  bool zeroNanRows = false;
  /// Ops of the matched subgraph, consumers first, to erase when dead.
  SmallVector<Operation *> replaced;
};

class AttentionMatcher {
public:
  std::optional<Match> match(MatMulOp product);

private:
  SymbolicShapes shapes;

  bool isCausalCondition(Value cond, AffineExpr sq, AffineExpr sk);
  bool isCausalTable(Value cond, AffineExpr sq, AffineExpr sk);
  bool isCausalComparison(Value cond, AffineExpr sq, AffineExpr sk);
  bool isCausalAdditiveMask(Value mask, AffineExpr sq, AffineExpr sk);
  Value unrepeatHeads(Value v, int64_t &group);
  Value mergedHeadsKeys(Value keysT, int64_t &group);
  Value repeatedSource(Value v, int64_t &group);
};

/// Lower-triangular over the last two dims: t[..., r, c] == (c <= r).
bool isLowerTriangular(ConstantOp table) {
  auto type = cast<RankedTensorType>(table.getType());
  if (!type.getElementType().isInteger(1) || type.getRank() < 2 ||
      !type.hasStaticShape())
    return false;
  int64_t rows = type.getDimSize(type.getRank() - 2);
  int64_t cols = type.getDimSize(type.getRank() - 1);
  auto at = [&](auto &&value) {
    for (int64_t i = 0; i < type.getNumElements(); ++i) {
      int64_t c = i % cols, r = (i / cols) % rows;
      if (value(i) != (c <= r))
        return false;
    }
    return true;
  };
  if (auto dense = dyn_cast<DenseElementsAttr>(table.getValue())) {
    auto values = dense.getValues<bool>();
    return at([&](int64_t i) { return values[i]; });
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(table.getValue())) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || (int64_t)blob->getData().size() != type.getNumElements())
      return false;
    ArrayRef<char> data = blob->getData();
    return at([&](int64_t i) { return data[i] != 0; });
  }
  return false;
}

/// slice(...slice(tril)...) whose rows start Sk - Sq further than its
/// columns: query i (row rowOffset + i) sees key j (column colOffset + j)
/// exactly when j <= i + Sk - Sq.
bool AttentionMatcher::isCausalTable(Value cond, AffineExpr sq, AffineExpr sk) {
  MLIRContext *ctx = cond.getContext();
  AffineExpr rowOffset = getAffineConstantExpr(0, ctx), colOffset = rowOffset;
  Value v = cond;
  while (auto slice = v.getDefiningOp<SliceOp>()) {
    if (llvm::any_of(slice.getStrides(), [](int64_t s) { return s != 1; }))
      return false;
    ArrayRef<AffineExpr> offsets = slice.getOffsets().getResults();
    rowOffset = symAdd(rowOffset, offsets[offsets.size() - 2]);
    colOffset = symAdd(colOffset, offsets.back());
    v = slice.getInput();
  }
  auto table = v.getDefiningOp<ConstantOp>();
  return table && isLowerTriangular(table) &&
         symEqual(symSub(rowOffset, colOffset), symSub(sk, sq));
}

/// A one-element integer tensor's value as a symbolic expression: a splat
/// constant, or symbolic values (the exporter's shape arithmetic), reshaped.
std::optional<AffineExpr> scalarExpr(Value v) {
  if (cast<RankedTensorType>(v.getType()).getNumElements() != 1)
    return std::nullopt;
  while (auto r = v.getDefiningOp<ReshapeOp>())
    v = r.getInput();
  if (auto sym = v.getDefiningOp<SymbolicValuesOp>())
    return sym.getValues().getNumResults() == 1
               ? std::optional(sym.getValues().getResult(0))
               : std::nullopt;
  std::optional<double> c = splatValue(v);
  if (!c || *c != (double)(int64_t)*c)
    return std::nullopt;
  return getAffineConstantExpr((int64_t)*c, v.getContext());
}

/// A position index laid along one axis: reshape/expand of
/// range(start, size, step 1) plus scalars.
struct AxisIndex {
  AffineExpr start, size;
};
std::optional<AxisIndex> axisIndex(Value v) {
  AffineExpr addend = getAffineConstantExpr(0, v.getContext());
  while (true) {
    if (auto r = v.getDefiningOp<ReshapeOp>()) {
      v = r.getInput();
    } else if (auto e = v.getDefiningOp<ExpandOp>()) {
      v = e.getInput();
    } else if (auto add = v.getDefiningOp<AddOp>()) {
      if (auto c = scalarExpr(add.getRhs());
          c && add.getLhs().getType() == add.getType()) {
        addend = symAdd(addend, *c);
        v = add.getLhs();
      } else if (auto c = scalarExpr(add.getLhs());
                 c && add.getRhs().getType() == add.getType()) {
        addend = symAdd(addend, *c);
        v = add.getRhs();
      } else {
        return std::nullopt;
      }
    } else {
      break;
    }
  }
  auto range = v.getDefiningOp<RangeOp>();
  if (!range || range.getStep() != 1 ||
      !cast<RankedTensorType>(range.getType()).getElementType().isInteger())
    return std::nullopt;
  return AxisIndex{symAdd(range.getStart().getResult(0), addend),
                   range.getSize().getResult(0)};
}

/// cmp(key positions along the last axis, query positions along the one
/// before), as Llama exports write the causal mask.
bool AttentionMatcher::isCausalComparison(Value cond, AffineExpr sq,
                                          AffineExpr sk) {
  Operation *op = cond.getDefiningOp();
  if (!op || !isa<LessOp, LessEqualOp, GreaterOp, GreaterEqualOp>(op))
    return false;
  Value keys = op->getOperand(0), queries = op->getOperand(1);
  // k < q + 1 and k <= q, or q > k - 1 and q >= k, put on one form:
  // visible when key <= query + bias.
  int64_t bias = isa<LessOp, GreaterOp>(op) ? -1 : 0;
  if (isa<GreaterOp, GreaterEqualOp>(op))
    std::swap(keys, queries);
  // Which axis each operand varies along, from its shape.
  auto alongAxis = [&](Value v, int64_t fromEnd) {
    auto s = shapes.get(v);
    if (!s || (int64_t)s->size() < fromEnd)
      return false;
    for (int64_t d = 0; d < (int64_t)s->size(); ++d)
      if (d != (int64_t)s->size() - fromEnd && symConstant((*s)[d]) != 1)
        return false;
    return true;
  };
  if (!alongAxis(keys, 1) || !alongAxis(queries, 2))
    return false;
  auto key = axisIndex(keys), query = axisIndex(queries);
  if (!key || !query || !symEqual(key->size, sk) || !symEqual(query->size, sq))
    return false;
  // key j sits at kStart + j, query i at qStart + i:
  // visible when j <= i + qStart - kStart + bias.
  AffineExpr offset = symAdd(symSub(query->start, key->start),
                             getAffineConstantExpr(bias, cond.getContext()));
  return symEqual(offset, symSub(sk, sq));
}

/// `cond` is true exactly where query i may see key j <= i + Sk - Sq, over
/// trailing dims [Sq, Sk] (leading dims 1 or broadcast).
bool AttentionMatcher::isCausalCondition(Value cond, AffineExpr sq,
                                         AffineExpr sk) {
  while (true) {
    auto s = shapes.get(cond);
    if (!s || s->size() < 2 || !symEqual((*s)[s->size() - 2], sq) ||
        !symEqual(s->back(), sk))
      return false;
    if (auto r = cond.getDefiningOp<ReshapeOp>())
      cond = r.getInput();
    else if (auto e = cond.getDefiningOp<ExpandOp>())
      cond = e.getInput();
    else
      break;
  }
  return isCausalTable(cond, sq, sk) || isCausalComparison(cond, sq, sk);
}

/// where(causal, 0, -big), possibly reshaped or expanded over leading dims.
bool AttentionMatcher::isCausalAdditiveMask(Value mask, AffineExpr sq,
                                            AffineExpr sk) {
  Value v = mask;
  while (true) {
    auto s = shapes.get(v);
    if (!s || s->size() < 2 || !symEqual((*s)[s->size() - 2], sq) ||
        !symEqual(s->back(), sk))
      return false;
    if (auto r = v.getDefiningOp<ReshapeOp>())
      v = r.getInput();
    else if (auto e = v.getDefiningOp<ExpandOp>())
      v = e.getInput();
    else
      break;
  }
  auto where = v.getDefiningOp<WhereOp>();
  if (!where)
    return false;
  std::optional<double> keep = splatValue(where.getOnTrue());
  std::optional<double> hide = splatValue(where.getOnFalse());
  return keep == 0.0 && hide && *hide <= kHiddenScore &&
         isCausalCondition(where.getCondition(), sq, sk);
}

/// An additive mask whose every value is finite: where(cond, c1, c2) of
/// finite splats, possibly reshaped or expanded.
bool isFiniteMask(Value mask) {
  while (true) {
    if (auto r = mask.getDefiningOp<ReshapeOp>())
      mask = r.getInput();
    else if (auto e = mask.getDefiningOp<ExpandOp>())
      mask = e.getInput();
    else
      break;
  }
  auto where = mask.getDefiningOp<WhereOp>();
  if (!where)
    return false;
  std::optional<double> a = splatValue(where.getOnTrue());
  std::optional<double> b = splatValue(where.getOnFalse());
  return a && b && std::isfinite(*a) && std::isfinite(*b);
}

/// reshape(expand(reshape(x [B, Hkv, S, D] -> [B, Hkv, 1, S, D])
///   -> [B, Hkv, g, S, D]) -> [B, Hkv * g, S, D]) => x, with group = g.
Value AttentionMatcher::unrepeatHeads(Value v, int64_t &group) {
  auto outer = v.getDefiningOp<ReshapeOp>();
  auto expand = outer ? outer.getInput().getDefiningOp<ExpandOp>() : nullptr;
  auto inner = expand ? expand.getInput().getDefiningOp<ReshapeOp>() : nullptr;
  if (!inner)
    return nullptr;
  Value x = inner.getInput();
  auto xs = shapes.get(x), is = shapes.get(inner), es = shapes.get(expand),
       os = shapes.get(outer);
  if (!xs || !is || !es || !os || xs->size() != 4 || es->size() != 5)
    return nullptr;
  std::optional<int64_t> g = symConstant((*es)[2]);
  MLIRContext *ctx = v.getContext();
  if (!g || *g < 1)
    return nullptr;
  auto one = getAffineConstantExpr(1, ctx), gx = getAffineConstantExpr(*g, ctx);
  const SymbolicShape &s = *xs;
  if (!sameShape(*is, {s[0], s[1], one, s[2], s[3]}) ||
      !sameShape(*es, {s[0], s[1], gx, s[2], s[3]}) ||
      !sameShape(*os, {s[0], symMul(s[1], gx), s[2], s[3]}))
    return nullptr;
  group = *g;
  return x;
}

/// expand(reshape(x [B, Hkv, S, D] -> [B, Hkv, 1, S, D]) -> [B, Hkv, g, S, D])
/// => x, with group = g: keys or values repeated for grouped-query heads,
/// before the reshape that merges Hkv and g.
Value AttentionMatcher::repeatedSource(Value v, int64_t &group) {
  auto expand = v.getDefiningOp<ExpandOp>();
  auto inner = expand ? expand.getInput().getDefiningOp<ReshapeOp>() : nullptr;
  if (!inner)
    return nullptr;
  Value x = inner.getInput();
  auto xs = shapes.get(x), is = shapes.get(inner), es = shapes.get(expand);
  if (!xs || !is || !es || xs->size() != 4 || es->size() != 5)
    return nullptr;
  std::optional<int64_t> g = symConstant((*es)[2]);
  if (!g || *g < 1)
    return nullptr;
  MLIRContext *ctx = v.getContext();
  auto one = getAffineConstantExpr(1, ctx), gx = getAffineConstantExpr(*g, ctx);
  const SymbolicShape &s = *xs;
  if (!sameShape(*is, {s[0], s[1], one, s[2], s[3]}) ||
      !sameShape(*es, {s[0], s[1], gx, s[2], s[3]}))
    return nullptr;
  group = *g;
  return x;
}

/// keysT = reshape(transpose(reshape(src -> [B * H, S, D]), [0, 2, 1])
///   -> [B, H, D, S]), as SDPA decompositions transpose the keys with batch
/// and heads merged: the keys [B, H, S, D] are src itself, or, with src
/// [B, Hkv, g, S, D] repeated for grouped-query heads, src's source
/// [B, Hkv, S, D] with group = g.
Value AttentionMatcher::mergedHeadsKeys(Value keysT, int64_t &group) {
  auto outer = keysT.getDefiningOp<ReshapeOp>();
  auto t = outer ? outer.getInput().getDefiningOp<TransposeOp>() : nullptr;
  auto inner = t ? t.getInput().getDefiningOp<ReshapeOp>() : nullptr;
  if (!inner || t.getPerm() != ArrayRef<int64_t>{0, 2, 1})
    return nullptr;
  Value src = inner.getInput();
  auto kts = shapes.get(keysT), ss = shapes.get(src), ms = shapes.get(inner);
  if (!kts || !ss || !ms || kts->size() != 4 || ms->size() != 3)
    return nullptr;
  AffineExpr b = (*kts)[0], h = (*kts)[1], d = (*kts)[2], sk = (*kts)[3];
  if (!sameShape(*ms, {symMul(b, h), sk, d}))
    return nullptr;
  if (ss->size() == 4 && sameShape(*ss, {b, h, sk, d})) {
    group = 1;
    return src;
  }
  int64_t g = 0;
  Value x = repeatedSource(src, g);
  auto xs = x ? shapes.get(x) : std::nullopt;
  if (!xs ||
      !sameShape(
          *xs, {b, symFloorDiv(h, getAffineConstantExpr(g, keysT.getContext())),
                sk, d}))
    return nullptr;
  group = g;
  return x;
}

std::optional<Match> AttentionMatcher::match(MatMulOp product) {
  Match m;
  m.product = product;
  // SDPA decompositions guard the probabilities of rows with no visible
  // key: where(is_nan(p), 0, p). With the finite masks checked below no row
  // is NaN, and the guard is the identity.
  Value lhs = product.getLhs();
  bool guarded = false;
  if (auto guard = lhs.getDefiningOp<WhereOp>()) {
    auto isNan = guard.getCondition().getDefiningOp<IsNanOp>();
    if (!isNan || isNan.getInput() != guard.getOnFalse() ||
        splatValue(guard.getOnTrue()) != 0.0 || !guard->hasOneUse() ||
        !isNan->hasOneUse() || guard.getType() != guard.getOnFalse().getType())
      return std::nullopt;
    guarded = true;
    m.replaced.push_back(guard);
    m.replaced.push_back(isNan);
    lhs = guard.getOnFalse();
  }
  auto probs = lhs.getDefiningOp<SoftmaxOp>();
  if (!probs ||
      !(guarded ? llvm::hasNItems(probs->getUses(), 2) : probs->hasOneUse()))
    return std::nullopt;
  auto pt = cast<RankedTensorType>(probs.getType());
  if (pt.getRank() != 4 || probs.getAxis() != 3 ||
      cast<RankedTensorType>(product.getRhs().getType()).getRank() != 4 ||
      !isa<FloatType>(pt.getElementType()))
    return std::nullopt;
  m.replaced.insert(m.replaced.begin(), product);
  m.replaced.push_back(probs);

  // Masks, outermost first, down to the scaled scores.
  Value x = probs.getInput();
  Value additive, causalCondition;
  for (int step = 0; step < 2; ++step) {
    if (!x.hasOneUse())
      return std::nullopt;
    if (auto where = x.getDefiningOp<WhereOp>()) {
      // where(keep, scores, -big) or where(hide, -big, scores).
      std::optional<double> hideOnFalse = splatValue(where.getOnFalse());
      std::optional<double> hideOnTrue = splatValue(where.getOnTrue());
      bool keepOnTrue = hideOnFalse && *hideOnFalse <= kHiddenScore &&
                        where.getOnTrue().getType() == x.getType();
      bool keepOnFalse = !keepOnTrue && hideOnTrue &&
                         *hideOnTrue <= kHiddenScore &&
                         where.getOnFalse().getType() == x.getType();
      if (causalCondition || m.whereCond || (!keepOnTrue && !keepOnFalse))
        return std::nullopt;
      if (keepOnTrue) {
        // Causal if proven against Sq, Sk below; a padding mask otherwise.
        causalCondition = where.getCondition();
        m.whereHide = *hideOnFalse;
      } else {
        m.whereCond = where.getCondition();
        m.whereHide = *hideOnTrue;
        m.hideWhenTrue = true;
      }
      m.replaced.push_back(where);
      x = keepOnTrue ? where.getOnTrue() : where.getOnFalse();
      continue;
    }
    if (auto add = x.getDefiningOp<AddOp>()) {
      if (additive)
        return std::nullopt;
      // The side that leads to the q k^T product is the scores.
      // (A where-mask on the scores may sit below the add, as in GPT-2's
      // causal table under its padding mask.)
      auto leadsToScores = [&](Value side) {
        if (side.getType() != x.getType())
          return false;
        Value core = side;
        if (auto where = core.getDefiningOp<WhereOp>()) {
          if (where.getOnTrue().getType() == side.getType())
            core = where.getOnTrue();
          else if (where.getOnFalse().getType() == side.getType())
            core = where.getOnFalse();
        }
        double ignored = 1.0;
        core = peelScalarFactors(core, ignored, /*singleUse=*/true);
        return (bool)core.getDefiningOp<MatMulOp>();
      };
      if (leadsToScores(add.getLhs())) {
        additive = add.getRhs();
        x = add.getLhs();
      } else if (leadsToScores(add.getRhs())) {
        additive = add.getLhs();
        x = add.getRhs();
      } else {
        return std::nullopt;
      }
      m.replaced.push_back(add);
      continue;
    }
    break;
  }
  // A scale above a mask would scale the mask too: not this form.
  while (Operation *op = x.getDefiningOp()) {
    if (!isa<MulOp, DivOp>(op) || !x.hasOneUse())
      break;
    Value inner = peelScalarFactor(x, m.scale);
    if (!inner)
      return std::nullopt; // a factor that is not a constant scalar
    m.replaced.push_back(op);
    x = inner;
  }
  auto scores = x.getDefiningOp<MatMulOp>();
  if (!scores || !x.hasOneUse())
    return std::nullopt;
  m.replaced.push_back(scores);

  m.query = peelScalarFactors(scores.getLhs(), m.scale, false);
  Value keysT = peelScalarFactors(scores.getRhs(), m.scale, false);
  // keysT = transpose(src, p) is keys^T for keys = transpose(src, p with its
  // last two entries swapped).
  m.keySource = keysT;
  m.keyPerm = {0, 1, 3, 2};
  int64_t keyGroup = 0;
  if (Value keys = mergedHeadsKeys(keysT, keyGroup)) {
    m.keySource = keys;
    m.keyPerm = {0, 1, 2, 3};
  } else if (auto t = keysT.getDefiningOp<TransposeOp>()) {
    m.keySource = t.getInput();
    m.keyPerm = {t.getPerm()[0], t.getPerm()[1], t.getPerm()[3],
                 t.getPerm()[2]};
  }
  bool identity = m.keyPerm == SmallVector<int64_t>{0, 1, 2, 3};
  auto sourceType = dyn_cast<RankedTensorType>(m.keySource.getType());
  if (!sourceType || sourceType.getRank() != 4 ||
      sourceType.isDynamicDim(m.keyPerm[1]))
    return std::nullopt;
  if (identity && keyGroup <= 1)
    m.keySource = peelScalarFactors(m.keySource, m.scale, false);
  m.value = product.getRhs();

  // Shapes: q [B, H, Sq, D], keys [B, H, Sk, D], v [B, H, Sk, Dv], no batch
  // or head broadcasting.
  auto qs = shapes.get(m.query), ss = shapes.get(scores.getResult()),
       vs = shapes.get(m.value), ks = shapes.get(keysT);
  if (!qs || !ss || !vs || !ks || qs->size() != 4 || vs->size() != 4 ||
      ks->size() != 4 || cast<ShapedType>(m.keySource.getType()).getRank() != 4)
    return std::nullopt;
  if (!symEqual((*qs)[0], (*ks)[0]) || !symEqual((*qs)[0], (*vs)[0]) ||
      !symEqual((*qs)[1], (*ks)[1]) || !symEqual((*qs)[1], (*vs)[1]) ||
      !symEqual((*ks)[3], (*vs)[2]) ||
      cast<RankedTensorType>(m.query.getType()).isDynamicDim(1))
    return std::nullopt;
  AffineExpr sq = (*ss)[2], sk = (*ss)[3];

  if (causalCondition) {
    if (isCausalCondition(causalCondition, sq, sk))
      m.causal = true;
    else
      m.whereCond = causalCondition; // hides where false
  }
  if (m.whereCond) {
    // A where-mask becomes the additive mask; it must broadcast to the
    // scores without growing them, and be the only one.
    auto cs = shapes.get(m.whereCond);
    if (additive || !cs || cs->size() > 4)
      return std::nullopt;
    size_t lead = 4 - cs->size();
    for (size_t d = 0; d < cs->size(); ++d)
      if (symConstant((*cs)[d]) != 1 && !symEqual((*cs)[d], (*ss)[lead + d]))
        return std::nullopt;
  }
  if (additive) {
    if (isCausalAdditiveMask(additive, sq, sk)) {
      if (m.causal)
        return std::nullopt; // two causal masks: leave it be
      m.causal = true;
    } else {
      // Must broadcast to the scores without growing them.
      auto ms = shapes.get(additive);
      if (!ms || ms->size() > 4 ||
          cast<RankedTensorType>(additive.getType()).getElementType() !=
              pt.getElementType())
        return std::nullopt;
      size_t lead = 4 - ms->size();
      for (size_t d = 0; d < ms->size(); ++d)
        if (symConstant((*ms)[d]) != 1 && !symEqual((*ms)[d], (*ss)[lead + d]))
          return std::nullopt;
      m.mask = additive;
    }
  }

  // Grouped-query heads: read keys and values before their repetition.
  if (keyGroup > 1) {
    int64_t gv = 0;
    Value v = unrepeatHeads(m.value, gv);
    if (!v || gv != keyGroup)
      return std::nullopt;
    m.value = v;
  } else if (identity) {
    int64_t gk = 0, gv = 0;
    Value k = unrepeatHeads(m.keySource, gk), v = unrepeatHeads(m.value, gv);
    if (k && v && gk == gv) {
      m.keySource = k;
      m.value = v;
    }
  }
  // The NaN guard is the identity where no row is NaN: masks hide by finite
  // values, or causally (every query sees at least one key). Otherwise a
  // row hidden everywhere is NaN in kiln.attention as in the softmax, and
  // the guard follows the attention instead (a row of the probabilities is
  // NaN exactly when that row of the result is).
  m.zeroNanRows = guarded && ((m.mask && !isFiniteMask(m.mask)) ||
                              (m.whereCond && !std::isfinite(m.whereHide)));
  return m;
}

struct KilnRaiseAttentionPass
    : kiln::impl::KilnRaiseAttentionBase<KilnRaiseAttentionPass> {
  void runOnOperation() override {
    SmallVector<Match> matches;
    {
      AttentionMatcher matcher;
      getOperation().walk([&](MatMulOp op) {
        if (auto m = matcher.match(op))
          matches.push_back(std::move(*m));
      });
    }
    for (Match &m : matches) {
      OpBuilder b(m.product);
      Location loc = m.product.getLoc();
      Value key = m.keySource;
      if (m.keyPerm != SmallVector<int64_t>{0, 1, 2, 3}) {
        auto st = cast<RankedTensorType>(key.getType());
        SmallVector<int64_t> shape;
        for (int64_t p : m.keyPerm)
          shape.push_back(st.getDimSize(p));
        key = TransposeOp::create(b, loc, st.clone(shape), key,
                                  b.getDenseI64ArrayAttr(m.keyPerm));
      }
      Value mask = m.mask;
      if (m.whereCond) {
        // hide where the condition is hideWhenTrue: an additive mask of the
        // condition's shape.
        auto condType = cast<RankedTensorType>(m.whereCond.getType());
        Type elem =
            cast<RankedTensorType>(m.product.getType()).getElementType();
        auto scalar = RankedTensorType::get({}, elem);
        auto splat = [&](double v) {
          return (Value)ConstantOp::create(
              b, loc, scalar,
              cast<ElementsAttr>(
                  DenseElementsAttr::get(scalar, b.getFloatAttr(elem, v))));
        };
        Value hide = splat(m.whereHide), keep = splat(0.0);
        mask = WhereOp::create(b, loc, condType.clone(elem), m.whereCond,
                               m.hideWhenTrue ? hide : keep,
                               m.hideWhenTrue ? keep : hide);
      }
      auto attention =
          AttentionOp::create(b, loc, m.product.getType(), m.query, key,
                              m.value, mask, b.getF32FloatAttr((float)m.scale),
                              m.causal ? b.getUnitAttr() : nullptr);
      Value result = attention.getResult();
      if (m.zeroNanRows) {
        auto type = cast<RankedTensorType>(result.getType());
        auto i1 = type.clone(b.getI1Type());
        Value isNan = IsNanOp::create(b, loc, i1, result);
        auto scalar = RankedTensorType::get({}, type.getElementType());
        Value zero = ConstantOp::create(
            b, loc, scalar,
            cast<ElementsAttr>(DenseElementsAttr::get(
                scalar, b.getFloatAttr(type.getElementType(), 0.0))));
        result = WhereOp::create(b, loc, type, isNan, zero, result);
      }
      m.product.getResult().replaceAllUsesWith(result);
      eraseDeadKilnOps(m.replaced);
    }
    numRaised += matches.size();
  }

  /// Erases `ops` and, transitively, their producers once nothing uses them.
  static void eraseDeadKilnOps(ArrayRef<Operation *> ops) {
    SmallVector<Operation *> worklist(ops.rbegin(), ops.rend());
    llvm::SmallPtrSet<Operation *, 16> erased;
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      if (erased.contains(op) || !op->use_empty() || !isPure(op) ||
          !isa<KilnDialect>(op->getDialect()))
        continue;
      for (Value operand : op->getOperands())
        if (Operation *def = operand.getDefiningOp())
          worklist.push_back(def);
      erased.insert(op);
      op->erase();
    }
  }
};

} // namespace
