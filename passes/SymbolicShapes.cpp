//===- SymbolicShapes.cpp - Symbolic extents of kiln values ---------------===//
#include "passes/SymbolicShapes.h"

#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/TypeSwitch.h"

using namespace mlir;
using namespace mlir::kiln;

bool kiln::sameShape(ArrayRef<AffineExpr> a, ArrayRef<AffineExpr> b) {
  if (a.size() != b.size())
    return false;
  for (auto [x, y] : llvm::zip(a, b))
    if (!symEqual(x, y))
      return false;
  return true;
}

std::optional<SymbolicShape> SymbolicShapes::get(Value v) {
  auto it = cache.find(v);
  if (it != cache.end())
    return it->second;
  std::optional<SymbolicShape> shape = compute(v);
  // Static extents are facts of the type; they win over derived ones.
  if (auto type = dyn_cast<RankedTensorType>(v.getType());
      type && shape && (int64_t)shape->size() == type.getRank())
    for (int64_t d = 0; d < type.getRank(); ++d)
      if (!type.isDynamicDim(d))
        (*shape)[d] = getAffineConstantExpr(type.getDimSize(d), v.getContext());
  cache[v] = shape;
  return shape;
}

static SymbolicShape resultsOf(AffineMap map) {
  return SymbolicShape(map.getResults().begin(), map.getResults().end());
}

std::optional<SymbolicShape> SymbolicShapes::compute(Value v) {
  auto type = dyn_cast<RankedTensorType>(v.getType());
  if (!type)
    return std::nullopt;
  MLIRContext *ctx = v.getContext();
  if (type.hasStaticShape()) {
    SymbolicShape s;
    for (int64_t e : type.getShape())
      s.push_back(getAffineConstantExpr(e, ctx));
    return s;
  }
  if (auto arg = dyn_cast<BlockArgument>(v)) {
    auto func = dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp());
    if (!func || arg.getOwner() != &func.getBody().front())
      return std::nullopt;
    if (auto dims =
            func.getArgAttrOfType<AffineMapAttr>(arg.getArgNumber(), kDimsAttr))
      return resultsOf(dims.getValue());
    return std::nullopt;
  }
  Operation *op = v.getDefiningOp();
  auto same = [&](Value operand) { return get(operand); };
  return llvm::TypeSwitch<Operation *, std::optional<SymbolicShape>>(op)
      .Case<ReshapeOp, ExpandOp, FillOp>(
          [](auto o) { return std::optional(resultsOf(o.getShape())); })
      .Case<SliceOp>(
          [](SliceOp o) { return std::optional(resultsOf(o.getSizes())); })
      .Case<RangeOp>(
          [](RangeOp o) { return std::optional(resultsOf(o.getSize())); })
      .Case<TransposeOp>([&](TransposeOp o) -> std::optional<SymbolicShape> {
        auto in = get(o.getInput());
        if (!in)
          return std::nullopt;
        SymbolicShape s;
        for (int64_t p : o.getPerm())
          s.push_back((*in)[p]);
        return s;
      })
      .Case<ConcatOp>([&](ConcatOp o) -> std::optional<SymbolicShape> {
        std::optional<SymbolicShape> s;
        for (Value in : o.getInputs()) {
          auto part = get(in);
          if (!part)
            return std::nullopt;
          if (!s)
            s = part;
          else
            (*s)[o.getAxis()] = symAdd((*s)[o.getAxis()], (*part)[o.getAxis()]);
        }
        return s;
      })
      .Case<MatMulOp>([&](MatMulOp o) -> std::optional<SymbolicShape> {
        auto a = get(o.getLhs()), b = get(o.getRhs());
        if (!a || !b || a->size() < 2 || b->size() < 2)
          return std::nullopt;
        size_t rank = std::max(a->size(), b->size());
        SymbolicShape s;
        for (size_t d = 0; d + 2 < rank; ++d) {
          auto dimOf = [&](const SymbolicShape &x) {
            size_t lead = rank - x.size();
            return d < lead ? getAffineConstantExpr(1, ctx) : x[d - lead];
          };
          AffineExpr x = dimOf(*a), y = dimOf(*b);
          s.push_back(symConstant(x) == 1 ? y : x);
        }
        s.push_back((*a)[a->size() - 2]);
        s.push_back(b->back());
        return s;
      })
      // [..., K] x [K, N]: the input's extents, then N.
      .Case<LinearOp, QLinearOp, QLinearInt4Op>(
          [&](auto o) -> std::optional<SymbolicShape> {
            auto s = get(o.getInput());
            if (!s || s->empty() || type.isDynamicDim(type.getRank() - 1))
              return std::nullopt;
            s->back() = getAffineConstantExpr(type.getShape().back(), ctx);
            return s;
          })
      .Case<GatherOp>([&](GatherOp o) -> std::optional<SymbolicShape> {
        auto data = get(o.getData()), idx = get(o.getIndices());
        if (!data || !idx)
          return std::nullopt;
        int64_t axis = o.getAxis();
        SymbolicShape s(data->begin(), data->begin() + axis);
        s.append(idx->begin(), idx->end());
        s.append(data->begin() + axis + 1, data->end());
        return s;
      })
      .Case<GatherElementsOp>(
          [&](GatherElementsOp o) { return get(o.getIndices()); })
      .Case<GatherNDOp>([&](GatherNDOp o) -> std::optional<SymbolicShape> {
        auto data = get(o.getData()), idx = get(o.getIndices());
        if (!data || !idx)
          return std::nullopt;
        std::optional<int64_t> k = symConstant(idx->back());
        if (!k)
          return std::nullopt;
        SymbolicShape s(idx->begin(), idx->end() - 1);
        s.append(data->begin() + o.getBatchDims() + *k, data->end());
        return s;
      })
      .Case<ArgMaxOp, ArgMinOp>([&](auto o) -> std::optional<SymbolicShape> {
        auto in = get(o.getInput());
        if (!in)
          return std::nullopt;
        SymbolicShape s = *in;
        if (o.getKeepdims())
          s[o.getAxis()] = getAffineConstantExpr(1, ctx);
        else
          s.erase(s.begin() + o.getAxis());
        return s;
      })
      .Case<TopKOp>([&](TopKOp o) -> std::optional<SymbolicShape> {
        auto in = get(o.getInput());
        if (!in)
          return std::nullopt;
        SymbolicShape s = *in;
        s[o.getAxis()] = o.getK().getResult(0);
        return s;
      })
      .Case<EinsumOp>([&](EinsumOp o) -> std::optional<SymbolicShape> {
        // Each result dim takes its extent from an input it indexes.
        auto maps = o.getIndexingMaps().getAsValueRange<AffineMapAttr>();
        SmallVector<AffineMap> all(maps.begin(), maps.end());
        SymbolicShape s;
        for (AffineExpr r : all.back().getResults()) {
          std::optional<AffineExpr> found;
          for (auto [in, map] : llvm::zip(o.getInputs(), all))
            for (auto [pos, e] : llvm::enumerate(map.getResults()))
              if (!found && e == r)
                if (auto part = get(in))
                  found = (*part)[pos];
          if (!found)
            return std::nullopt;
          s.push_back(*found);
        }
        return s;
      })
      .Case<PadOp>([&](PadOp o) -> std::optional<SymbolicShape> {
        auto in = get(o.getInput());
        if (!in)
          return std::nullopt;
        SymbolicShape s = *in;
        ArrayRef<AffineExpr> pads = o.getPads().getResults();
        for (size_t d = 0; d < s.size(); ++d)
          s[d] = symAdd(symAdd(s[d], pads[d]), pads[s.size() + d]);
        return s;
      })
      .Case<AttentionOp>([&](AttentionOp o) -> std::optional<SymbolicShape> {
        auto q = get(o.getQuery()), val = get(o.getValue());
        if (!q || !val)
          return std::nullopt;
        return SymbolicShape{(*q)[0], (*q)[1], (*q)[2], (*val)[3]};
      })
      .Case<NegOp, AbsOp, SqrtOp, RsqrtOp, ExpOp, LogOp, ErfOp, TanhOp,
            SigmoidOp, ReluOp, ReciprocalOp, NotOp, FloorOp, CeilOp, RoundOp,
            SinOp, CosOp, SiluOp, GeluOp, CastOp, ClipOp, SoftmaxOp, TriluOp,
            LayerNormOp, RMSNormOp, IsNanOp, IsInfOp, CumSumOp, RotaryOp,
            ScatterNDOp, ScatterElementsOp>(
          [&](Operation *o) { return same(o->getOperand(0)); })
      .Default([&](Operation *o) -> std::optional<SymbolicShape> {
        if (!o->hasTrait<OpTrait::ResultsBroadcastableShape>())
          return std::nullopt;
        // numpy broadcasting, right-aligned; a 1 yields to the other extent.
        SymbolicShape s(type.getRank(), getAffineConstantExpr(1, ctx));
        for (Value in : o->getOperands()) {
          auto part = get(in);
          if (!part || (int64_t)part->size() > type.getRank())
            return std::nullopt;
          size_t lead = s.size() - part->size();
          for (size_t d = 0; d < part->size(); ++d)
            if (symConstant((*part)[d]) != 1)
              s[lead + d] = (*part)[d];
        }
        return s;
      });
}
