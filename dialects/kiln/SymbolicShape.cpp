//===- SymbolicShape.cpp - Symbolic extents as affine expressions ---------===//
#include "dialects/kiln/SymbolicShape.h"

#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLExtras.h"
#include <algorithm>
#include <map>
#include <vector>

using namespace mlir;
using namespace mlir::kiln;

namespace {
/// Sum of coefficient * product-of-symbols terms. A monomial is a sorted list
/// of symbol positions (with repeats for powers).
using Monomial = std::vector<unsigned>;
using Poly = std::map<Monomial, int64_t>;

/// Adds c * m to p; false when a coefficient overflows int64. Constants
/// come from the model, so a hostile one can overflow any arithmetic on
/// them: callers then give up on the polynomial form and leave the
/// expression to MLIR's own (overflow-checked) folding.
[[nodiscard]] bool addTerm(Poly &p, const Monomial &m, int64_t c) {
  if (c == 0)
    return true;
  int64_t &slot = p[m];
  if (__builtin_add_overflow(slot, c, &slot))
    return false;
  if (slot == 0)
    p.erase(m);
  return true;
}

std::optional<Poly> polyMul(const Poly &a, const Poly &b) {
  Poly r;
  for (auto &[ma, ca] : a)
    for (auto &[mb, cb] : b) {
      Monomial m = ma;
      m.insert(m.end(), mb.begin(), mb.end());
      llvm::sort(m);
      int64_t c;
      if (__builtin_mul_overflow(ca, cb, &c) || !addTerm(r, m, c))
        return std::nullopt;
    }
  return r;
}

/// Whether a / b and a % b are defined: not by zero, not INT64_MIN / -1.
bool canDivide(int64_t a, int64_t b) {
  return b != 0 && !(a == INT64_MIN && b == -1);
}

std::optional<Poly> toPoly(AffineExpr e) {
  switch (e.getKind()) {
  case AffineExprKind::Constant: {
    Poly p;
    (void)addTerm(p, {}, cast<AffineConstantExpr>(e).getValue());
    return p;
  }
  case AffineExprKind::SymbolId: {
    Poly p;
    p[{cast<AffineSymbolExpr>(e).getPosition()}] = 1;
    return p;
  }
  case AffineExprKind::Add:
  case AffineExprKind::Mul: {
    auto bin = cast<AffineBinaryOpExpr>(e);
    auto l = toPoly(bin.getLHS()), r = toPoly(bin.getRHS());
    if (!l || !r)
      return std::nullopt;
    if (e.getKind() == AffineExprKind::Mul)
      return polyMul(*l, *r);
    for (auto &[m, c] : *r)
      if (!addTerm(*l, m, c))
        return std::nullopt;
    return l;
  }
  default:
    return std::nullopt;
  }
}

AffineExpr fromPoly(const Poly &p, MLIRContext *ctx) {
  AffineExpr sum = getAffineConstantExpr(0, ctx);
  // Constant term last reads naturally: "s0 * s1 + 4".
  std::optional<int64_t> constant;
  for (auto &[m, c] : p) {
    if (m.empty()) {
      constant = c;
      continue;
    }
    AffineExpr term = getAffineConstantExpr(c, ctx);
    bool first = true;
    for (unsigned s : m) {
      AffineExpr sym = getAffineSymbolExpr(s, ctx);
      term = (first && c == 1) ? sym : term * sym;
      first = false;
    }
    sum = sum + term;
  }
  if (constant)
    sum = sum + *constant;
  return sum;
}

/// c * (m / d): the monomial m without the symbols of d, and c, when d's
/// symbols are all in m and cd divides cm.
std::optional<std::pair<Monomial, int64_t>>
divideTerm(const Monomial &m, int64_t cm, const Monomial &d, int64_t cd) {
  if (!canDivide(cm, cd) || cm % cd != 0)
    return std::nullopt;
  Monomial rest = m;
  for (unsigned s : d) {
    auto it = llvm::find(rest, s);
    if (it == rest.end())
      return std::nullopt;
    rest.erase(it);
  }
  return std::make_pair(rest, cm / cd);
}

/// The term of highest degree, the last of them in the map's order.
const std::pair<const Monomial, int64_t> &leadingTerm(const Poly &p) {
  auto best = p.begin();
  for (auto it = p.begin(); it != p.end(); ++it)
    if (it->first.size() >= best->first.size())
      best = it;
  return *best;
}

/// a / b when b divides a exactly, by long division on leading terms, which
/// either ends with nothing left, so that a = q * b exactly, or gives up. A
/// single term divides term by term so; a sum too: a reshape's inferred
/// extent, (64 s0 s1 + 64 s0 s3) / (16 s1 + 16 s3) = 4 s0, reads as the
/// extent it is.
std::optional<Poly> exactDiv(const Poly &a, const Poly &b) {
  if (b.empty())
    return std::nullopt;
  Poly q;
  const auto &[mb, cb] = leadingTerm(b);
  Poly r = a;
  // Each step takes away r's leading term; a bound on them keeps a
  // divisor whose leading terms do not line up from looping.
  for (size_t steps = 0; !r.empty(); ++steps) {
    if (steps > 4 * a.size() + 8)
      return std::nullopt;
    const auto &[mr, cr] = leadingTerm(r);
    auto t = divideTerm(mr, cr, mb, cb);
    if (!t || !addTerm(q, t->first, t->second))
      return std::nullopt;
    auto tb = polyMul(Poly{{t->first, t->second}}, b);
    if (!tb)
      return std::nullopt;
    for (auto &[m, c] : *tb)
      if (c == INT64_MIN || !addTerm(r, m, -c))
        return std::nullopt;
  }
  return q;
}
/// One more than the highest symbol position in e: MLIR's simplifier must
/// be told of every symbol, or it writes past its coefficient rows (and the
/// symbol's term is lost).
unsigned numSymbolsIn(AffineExpr e) {
  unsigned n = 0;
  e.walk([&](AffineExpr sub) {
    if (auto sym = dyn_cast<AffineSymbolExpr>(sub))
      n = std::max(n, sym.getPosition() + 1);
  });
  return n;
}
} // namespace

AffineExpr mlir::kiln::simplifySym(AffineExpr e) {
  if (auto p = toPoly(e))
    return fromPoly(*p, e.getContext());
  if (auto bin = dyn_cast<AffineBinaryOpExpr>(e)) {
    AffineExpr l = simplifySym(bin.getLHS()), r = simplifySym(bin.getRHS());
    switch (e.getKind()) {
    case AffineExprKind::Add: {
      AffineExpr sum = l + r;
      return simplifyAffineExpr(sum, 0, numSymbolsIn(sum));
    }
    case AffineExprKind::Mul:
      return l * r;
    case AffineExprKind::FloorDiv:
      return symFloorDiv(l, r);
    case AffineExprKind::CeilDiv:
      return l.ceilDiv(r);
    case AffineExprKind::Mod:
      return symMod(l, r);
    default:
      break;
    }
  }
  return e;
}

AffineExpr mlir::kiln::symAdd(AffineExpr a, AffineExpr b) {
  return simplifySym(a + b);
}
AffineExpr mlir::kiln::symSub(AffineExpr a, AffineExpr b) {
  return simplifySym(a - b);
}
AffineExpr mlir::kiln::symMul(AffineExpr a, AffineExpr b) {
  return simplifySym(a * b);
}

AffineExpr mlir::kiln::symFloorDiv(AffineExpr a, AffineExpr b) {
  auto pa = toPoly(a), pb = toPoly(b);
  if (pa && pb)
    if (auto q = exactDiv(*pa, *pb))
      return fromPoly(*q, a.getContext());
  auto ca = symConstant(a), cb = symConstant(b);
  if (ca && cb && canDivide(*ca, *cb))
    return getAffineConstantExpr(llvm::divideFloorSigned(*ca, *cb),
                                 a.getContext());
  return a.floorDiv(b);
}

AffineExpr mlir::kiln::symMod(AffineExpr a, AffineExpr b) {
  auto pa = toPoly(a), pb = toPoly(b);
  if (pa && pb && exactDiv(*pa, *pb))
    return getAffineConstantExpr(0, a.getContext());
  auto ca = symConstant(a), cb = symConstant(b);
  if (ca && cb && canDivide(*ca, *cb))
    return getAffineConstantExpr(llvm::mod(*ca, *cb), a.getContext());
  return a % b;
}

bool mlir::kiln::symEqual(AffineExpr a, AffineExpr b) {
  return simplifySym(a) == simplifySym(b);
}

std::optional<int64_t> mlir::kiln::symConstant(AffineExpr e) {
  if (auto c = dyn_cast<AffineConstantExpr>(simplifySym(e)))
    return c.getValue();
  return std::nullopt;
}

int64_t mlir::kiln::toStaticExtent(AffineExpr e) {
  if (auto c = symConstant(e))
    return *c;
  return ShapedType::kDynamic;
}

AffineMap mlir::kiln::shapeMap(MLIRContext *ctx, unsigned numSymbols,
                               ArrayRef<AffineExpr> exprs) {
  SmallVector<AffineExpr> simplified;
  for (AffineExpr e : exprs)
    simplified.push_back(simplifySym(e));
  return AffineMap::get(0, numSymbols, simplified, ctx);
}

SmallVector<int64_t> mlir::kiln::staticExtents(AffineMap map) {
  SmallVector<int64_t> out;
  for (AffineExpr e : map.getResults())
    out.push_back(toStaticExtent(e));
  return out;
}

std::optional<int64_t> mlir::kiln::evaluateSym(AffineExpr e,
                                               ArrayRef<int64_t> syms) {
  switch (e.getKind()) {
  case AffineExprKind::Constant:
    return cast<AffineConstantExpr>(e).getValue();
  case AffineExprKind::SymbolId: {
    unsigned pos = cast<AffineSymbolExpr>(e).getPosition();
    if (pos >= syms.size())
      return std::nullopt;
    return syms[pos];
  }
  case AffineExprKind::DimId:
    return std::nullopt;
  default:
    break;
  }
  auto bin = cast<AffineBinaryOpExpr>(e);
  auto l = evaluateSym(bin.getLHS(), syms), r = evaluateSym(bin.getRHS(), syms);
  if (!l || !r)
    return std::nullopt;
  int64_t out;
  switch (e.getKind()) {
  case AffineExprKind::Add:
    if (__builtin_add_overflow(*l, *r, &out))
      return std::nullopt;
    return out;
  case AffineExprKind::Mul:
    if (__builtin_mul_overflow(*l, *r, &out))
      return std::nullopt;
    return out;
  case AffineExprKind::FloorDiv:
    if (!canDivide(*l, *r))
      return std::nullopt;
    return llvm::divideFloorSigned(*l, *r);
  case AffineExprKind::CeilDiv:
    if (!canDivide(*l, *r))
      return std::nullopt;
    return llvm::divideCeilSigned(*l, *r);
  case AffineExprKind::Mod:
    if (!canDivide(*l, *r))
      return std::nullopt;
    return llvm::mod(*l, *r);
  default:
    return std::nullopt;
  }
}

static std::string render(AffineExpr e,
                          llvm::function_ref<std::string(unsigned)> sym,
                          bool cStyle) {
  switch (e.getKind()) {
  case AffineExprKind::Constant: {
    int64_t v = cast<AffineConstantExpr>(e).getValue();
    return cStyle ? "INT64_C(" + std::to_string(v) + ")" : std::to_string(v);
  }
  case AffineExprKind::SymbolId:
    return sym(cast<AffineSymbolExpr>(e).getPosition());
  case AffineExprKind::DimId:
    return "d" + std::to_string(cast<AffineDimExpr>(e).getPosition());
  default:
    break;
  }
  auto bin = cast<AffineBinaryOpExpr>(e);
  std::string l = render(bin.getLHS(), sym, cStyle);
  std::string r = render(bin.getRHS(), sym, cStyle);
  switch (e.getKind()) {
  case AffineExprKind::Add:
    return cStyle ? "(" + l + " + " + r + ")" : l + " + " + r;
  case AffineExprKind::Mul:
    return "(" + l + " * " + r + ")";
  case AffineExprKind::FloorDiv:
    return cStyle ? "kiln_floordiv(" + l + ", " + r + ")"
                  : "(" + l + " floordiv " + r + ")";
  case AffineExprKind::CeilDiv:
    return cStyle ? "kiln_ceildiv(" + l + ", " + r + ")"
                  : "(" + l + " ceildiv " + r + ")";
  case AffineExprKind::Mod:
    return cStyle ? "kiln_mod(" + l + ", " + r + ")"
                  : "(" + l + " mod " + r + ")";
  default:
    return "?";
  }
}

std::string mlir::kiln::symToC(AffineExpr e) {
  return render(
      e, [](unsigned i) { return "s[" + std::to_string(i) + "]"; }, true);
}

std::string mlir::kiln::symToString(AffineExpr e, ArrayRef<std::string> names) {
  return render(
      e,
      [&](unsigned i) {
        return i < names.size() ? names[i] : "s" + std::to_string(i);
      },
      false);
}

std::optional<int64_t> mlir::kiln::symLowerBound(AffineExpr e,
                                                 int64_t symbolMin) {
  if (auto c = dyn_cast<AffineConstantExpr>(e))
    return c.getValue();
  if (isa<AffineSymbolExpr>(e))
    return symbolMin;
  auto bin = dyn_cast<AffineBinaryOpExpr>(e);
  if (!bin || (e.getKind() != AffineExprKind::Add &&
               e.getKind() != AffineExprKind::Mul))
    return std::nullopt;
  std::optional<int64_t> l = symLowerBound(bin.getLHS(), symbolMin);
  std::optional<int64_t> r = symLowerBound(bin.getRHS(), symbolMin);
  // Products are bounded only with both factors non-negative.
  if (!l || !r || (e.getKind() == AffineExprKind::Mul && (*l < 0 || *r < 0)))
    return std::nullopt;
  int64_t out;
  bool overflow = e.getKind() == AffineExprKind::Add
                      ? __builtin_add_overflow(*l, *r, &out)
                      : __builtin_mul_overflow(*l, *r, &out);
  return overflow ? std::nullopt : std::optional(out);
}
