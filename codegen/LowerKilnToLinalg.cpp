//===- LowerKilnToLinalg.cpp - kiln ops to linalg on tensors --------------===//
//
// Rewrites each function into the artifact's calling convention (inputs and
// outputs as memrefs, outputs written in place) and every kiln op into
// linalg/tensor/arith/math on tensors. Ops are visited in program order, so
// each op's operands are already lowered when it is rewritten. The op
// families' lowerings are in files of their own (FunctionLowering.h).
//
//===----------------------------------------------------------------------===//
#include "codegen/CallResultsInPlace.h"
#include "codegen/FunctionLowering.h"
#include "codegen/KvCache.h"
#include "codegen/LoweringUtils.h"
#include "codegen/Passes.h"
#include "dialects/kiln/SymbolicShape.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLOWERTOLINALG
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::linalg_lowering;

//===----------------------------------------------------------------------===//
// Signedness
//===----------------------------------------------------------------------===//

/// Records which ops work on unsigned integers, then rewrites every unsigned
/// integer type in the function (signature, values, constants) to the
/// signless type of the same width. The bits do not change, so the memrefs
/// at the boundary keep the caller's layout.
void FunctionLowering::makeSignless(ArrayRef<Operation *> ops) {
  for (Operation *op : ops) {
    if (op->getNumOperands() && isUnsignedElement(op->getOperand(0).getType()))
      unsignedOperand.insert(op);
    if (op->getNumResults() && isUnsignedElement(op->getResult(0).getType()))
      unsignedResult.insert(op);
  }
  auto convert = [](TypeRange types) {
    return llvm::map_to_vector(types, [](Type t) { return signless(t); });
  };
  FunctionType ft = func.getFunctionType();
  func.setType(FunctionType::get(func.getContext(), convert(ft.getInputs()),
                                 convert(ft.getResults())));
  func.walk([&](Block *block) {
    for (BlockArgument arg : block->getArguments())
      arg.setType(signless(arg.getType()));
  });
  func.walk([&](Operation *op) {
    for (OpResult r : op->getResults())
      r.setType(signless(r.getType()));
  });
  for (Operation *op : ops) {
    if (auto c = dyn_cast<ConstantOp>(op)) {
      auto type = cast<ShapedType>(signless(c.getValue().getType()));
      if (type == c.getValue().getType())
        continue;
      if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue()))
        c.setValueAttr(dense.bitcast(type.getElementType()));
      else if (auto blob = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
        c.setValueAttr(
            DenseResourceElementsAttr::get(type, blob.getRawHandle()));
    } else if (auto f = dyn_cast<FillOp>(op)) {
      if (auto i = dyn_cast<IntegerAttr>(f.getValue());
          i && !i.getType().isSignlessInteger())
        f.setValueAttr(IntegerAttr::get(signless(i.getType()), i.getValue()));
    }
  }
}

//===----------------------------------------------------------------------===//
// Signature
//===----------------------------------------------------------------------===//

/// func @main(%x: tensor<...>) -> tensor<...>
///   => func @main(%x: memref<...>, %out: memref<...>)
/// with to_tensor / materialize_in_destination at the boundary.
LogicalResult FunctionLowering::convertSignature() {
  Block &entry = func.getBody().front();
  Location loc = func.getLoc();
  FunctionType ft = func.getFunctionType();
  // The data symbols' function may read a KV-cache input in place, as a
  // view of a longer cache: its inputs take any strides.
  bool inference = func->hasAttr(kSymbolInferenceAttr);
  SmallVector<Type> newInputs;
  for (Type t : ft.getInputs()) {
    auto tt = cast<RankedTensorType>(t);
    MemRefLayoutAttrInterface layout;
    if (inference)
      layout = StridedLayoutAttr::get(
          func.getContext(), 0,
          SmallVector<int64_t>(tt.getRank(), ShapedType::kDynamic));
    newInputs.push_back(
        MemRefType::get(tt.getShape(), tt.getElementType(), layout));
  }
  unsigned numIn = newInputs.size();
  for (Type t : ft.getResults()) {
    auto tt = cast<RankedTensorType>(t);
    newInputs.push_back(MemRefType::get(tt.getShape(), tt.getElementType()));
  }
  // Both sides of a KV-cache pair may be views of one longer cache buffer
  // (kiln_session_run_cached); the C entry passes dense strides otherwise.
  SmallVector<KvCachePair> kvPairs;
  if (kvCacheViews && !inference)
    kvPairs = findKvCachePairs(func);
  for (const KvCachePair &p : kvPairs) {
    newInputs[p.input] =
        kvCacheViewType(cast<RankedTensorType>(ft.getInput(p.input)), p.axis);
    newInputs[numIn + p.output] =
        kvCacheViewType(cast<RankedTensorType>(ft.getResult(p.output)), p.axis);
  }

  b.setInsertionPointToStart(&entry);
  for (unsigned i = 0; i < numIn; ++i) {
    BlockArgument arg = entry.getArgument(i);
    auto tt = cast<RankedTensorType>(arg.getType());
    arg.setType(newInputs[i]);
    auto toTensor = bufferization::ToTensorOp::create(
        b, loc, tt, arg, /*restrict=*/true, /*writable=*/false);
    arg.replaceAllUsesExcept(toTensor, toTensor);
  }
  SmallVector<BlockArgument> outs;
  for (unsigned i = numIn; i < newInputs.size(); ++i)
    outs.push_back(entry.addArgument(newInputs[i], loc));

  // Symbols: read once from the argument dim that binds each of them.
  auto names = func->getAttrOfType<ArrayAttr>(kSymbolsAttr);
  unsigned nsym = names ? names.size() : 0;
  symbols.assign(nsym, Value());
  for (unsigned i = 0; i < numIn; ++i) {
    auto dims = func.getArgAttrOfType<AffineMapAttr>(i, kDimsAttr);
    if (!dims)
      continue;
    for (auto [d, e] : llvm::enumerate(dims.getValue().getResults()))
      if (auto s = dyn_cast<AffineSymbolExpr>(e);
          s && !symbols[s.getPosition()])
        symbols[s.getPosition()] =
            memref::DimOp::create(b, loc, entry.getArgument(i), d);
  }
  // Data symbols: arguments after the outputs, or (in the function that
  // computes them) bound by kiln.bind_symbols as it goes.
  if (auto data = func->getAttrOfType<DenseI64ArrayAttr>(kDataSymbolsAttr))
    for (int64_t s : data.asArrayRef()) {
      if (s < 0 || s >= (int64_t)nsym)
        return func.emitError() << "data symbol " << s << " out of range";
      symbols[s] = entry.addArgument(b.getIndexType(), loc);
      newInputs.push_back(b.getIndexType());
    }
  DenseSet<int64_t> boundLater;
  func.walk([&](BindSymbolsOp op) {
    boundLater.insert(op.getSymbols().begin(), op.getSymbols().end());
  });
  for (unsigned s = 0; s < nsym; ++s)
    if (!symbols[s] && !boundLater.contains(s))
      return func.emitError()
             << "symbol " << names[s] << " is not bound by any input dim";

  auto ret = cast<func::ReturnOp>(entry.getTerminator());
  b.setInsertionPoint(ret);
  for (auto [v, out] : llvm::zip(ret.getOperands(), outs))
    bufferization::MaterializeInDestinationOp::create(b, loc, TypeRange{}, v,
                                                      out, /*restrict=*/true,
                                                      /*writable=*/true);
  func::ReturnOp::create(b, loc);
  ret.erase();

  // Keep the names and dims of the results as argument attributes.
  SmallVector<DictionaryAttr> resAttrs;
  func.getAllResultAttrs(resAttrs);
  func.setType(FunctionType::get(func.getContext(), newInputs, {}));
  for (unsigned i = 0; i < outs.size(); ++i) {
    if (i < resAttrs.size() && resAttrs[i])
      func.setArgAttrs(numIn + i, resAttrs[i]);
    func.setArgAttr(numIn + i, "kiln.output", b.getUnitAttr());
  }
  for (const KvCachePair &p : kvPairs)
    func.setArgAttr(p.input, "kiln.kv_cache",
                    b.getDenseI64ArrayAttr({p.output, p.axis}));
  func.setAllResultAttrs(ArrayRef<DictionaryAttr>{});
  return success();
}

//===----------------------------------------------------------------------===//
// Shape helpers
//===----------------------------------------------------------------------===//

/// The extents `v` was made with where its producer states them (the same
/// SSA values as the reshape's own sizes, when both come from the
/// function's symbols), else tensor.dim of it.
static SmallVector<OpFoldResult> statedSizes(OpBuilder &b, Value v) {
  if (auto slice = v.getDefiningOp<tensor::ExtractSliceOp>())
    return slice.getMixedSizes();
  if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>())
    return expand.getMixedOutputShape();
  if (auto empty = v.getDefiningOp<tensor::EmptyOp>())
    return empty.getMixedSizes();
  return tensor::getMixedSizes(b, v.getLoc(), v);
}

/// A reshape that keeps the leading extents and regroups static trailing
/// ones ([B, S, 768] to [B, S, 12, 64] and back), as one expand_shape or
/// collapse_shape of the tail, or null. Unlike a collapse to 1-D, this
/// stays a view of a strided input, such as one of the slices of a fused
/// q, k, v GEMM's result, whose rows are not contiguous with each other.
Value FunctionLowering::reshapeTail(Location loc, Value v,
                                    RankedTensorType type,
                                    ArrayRef<OpFoldResult> sizes) {
  auto srcType = tensorTy(v);
  int64_t rs = srcType.getRank(), rd = type.getRank();
  SmallVector<OpFoldResult> srcSizes = statedSizes(b, v);
  int64_t lead = 0;
  while (lead < rs && lead < rd &&
         isEqualConstantIntOrValue(srcSizes[lead], sizes[lead]))
    ++lead;
  if (lead == 0 || lead == rs || lead == rd ||
      (rs - lead != 1 && rd - lead != 1))
    return nullptr;
  auto tailElements = [&](RankedTensorType t) -> std::optional<int64_t> {
    int64_t n = 1;
    for (int64_t d = lead; d < t.getRank(); ++d) {
      if (t.isDynamicDim(d))
        return std::nullopt;
      n *= t.getDimSize(d);
    }
    return n;
  };
  std::optional<int64_t> srcTail = tailElements(srcType);
  if (!srcTail || srcTail != tailElements(type))
    return nullptr;
  SmallVector<ReassociationIndices> groups;
  for (int64_t d = 0; d < lead; ++d)
    groups.push_back({d});
  ReassociationIndices tail;
  for (int64_t d = lead; d < std::max(rs, rd); ++d)
    tail.push_back(d);
  groups.push_back(tail);
  // The result's leading extents are the source's: its type may state one
  // the source's type left dynamic, or the other way round.
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < lead; ++d)
    shape.push_back(srcType.getDimSize(d));
  for (int64_t d = lead; d < rd; ++d)
    shape.push_back(type.getDimSize(d));
  auto viewType = RankedTensorType::get(shape, type.getElementType());
  Value view;
  if (rs - lead == 1 && rd - lead == 1)
    view = v;
  else if (rs - lead == 1) {
    SmallVector<OpFoldResult> outputShape(srcSizes.begin(),
                                          srcSizes.begin() + lead);
    outputShape.append(sizes.begin() + lead, sizes.end());
    view =
        tensor::ExpandShapeOp::create(b, loc, viewType, v, groups, outputShape);
  } else
    view = tensor::CollapseShapeOp::create(b, loc, viewType, v, groups);
  return view.getType() == type
             ? view
             : (Value)tensor::CastOp::create(b, loc, type, view);
}

/// Row-major reshape as a gather: each result element reads the source
/// element with the same linear index. MLIR 22's expand-strided-metadata
/// crashes on some dynamic expand_shape chains, so reshapes copy for now.
Value FunctionLowering::reshape(Location loc, Value v, RankedTensorType type,
                                ArrayRef<OpFoldResult> sizes) {
  if (v.getType() == type && type.hasStaticShape())
    return v;
  if (!gatherReshapes && tensorTy(v).getRank() > 0 && type.getRank() > 0) {
    if (Value tail = reshapeTail(loc, v, type, sizes))
      return tail;
    // Row-major data does not move: collapse to 1-D and expand to the new
    // shape. Both are views after bufferization.
    auto srcType = tensorTy(v);
    Value flat = v;
    if (srcType.getRank() != 1) {
      SmallVector<ReassociationIndices> all(1);
      for (int64_t d = 0; d < srcType.getRank(); ++d)
        all[0].push_back(d);
      flat = tensor::CollapseShapeOp::create(b, loc, v, all);
    }
    if (type.getRank() == 1)
      return flat.getType() == type
                 ? flat
                 : (Value)tensor::CastOp::create(b, loc, type, flat);
    // expand_shape makes a dynamic dim only out of a dynamic one (a static
    // input reshaped to extents read at run time).
    if (!type.hasStaticShape() && tensorTy(flat).hasStaticShape())
      flat = tensor::CastOp::create(
          b, loc,
          RankedTensorType::get({ShapedType::kDynamic}, type.getElementType()),
          flat);
    SmallVector<ReassociationIndices> all(1);
    for (int64_t d = 0; d < type.getRank(); ++d)
      all[0].push_back(d);
    return tensor::ExpandShapeOp::create(b, loc, type, flat, all, sizes);
  }
  int64_t dstRank = type.getRank();
  SmallVector<Value> srcDims;
  for (OpFoldResult f : sizesOf(v))
    srcDims.push_back(getValueOrCreateConstantIndexOp(b, loc, f));
  SmallVector<Value> dstDims;
  for (OpFoldResult f : sizes)
    dstDims.push_back(getValueOrCreateConstantIndexOp(b, loc, f));
  Value init = empty(loc, sizes, type.getElementType());
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{}, ValueRange{init},
             SmallVector<AffineMap>{b.getMultiDimIdentityMap(dstRank)},
             SmallVector<IteratorType>(dstRank, IteratorType::parallel),
             [&](OpBuilder &nb, Location nl, ValueRange) {
               Value linear = arith::ConstantIndexOp::create(nb, nl, 0);
               for (int64_t d = 0; d < dstRank; ++d)
                 linear = arith::AddIOp::create(
                     nb, nl, arith::MulIOp::create(nb, nl, linear, dstDims[d]),
                     linalg::IndexOp::create(nb, nl, d));
               SmallVector<Value> coords(srcDims.size());
               for (int64_t d = (int64_t)srcDims.size() - 1; d >= 0; --d) {
                 coords[d] = arith::RemUIOp::create(nb, nl, linear, srcDims[d]);
                 linear = arith::DivUIOp::create(nb, nl, linear, srcDims[d]);
               }
               linalg::YieldOp::create(
                   nb, nl, (Value)tensor::ExtractOp::create(nb, nl, v, coords));
             })
      .getResult(0);
}

SmallVector<OpFoldResult>
FunctionLowering::broadcastSizes(RankedTensorType result, ValueRange inputs) {
  int64_t rank = result.getRank();
  SmallVector<OpFoldResult> sizes;
  for (int64_t d = 0; d < rank; ++d) {
    if (!result.isDynamicDim(d)) {
      sizes.push_back(b.getIndexAttr(result.getDimSize(d)));
      continue;
    }
    OpFoldResult found;
    for (Value in : inputs) {
      auto t = tensorTy(in);
      int64_t id = d - (rank - t.getRank());
      if (id >= 0 && t.isDynamicDim(id)) {
        found = tensor::DimOp::create(b, in.getLoc(), in, id).getResult();
        break;
      }
    }
    assert(found && "dynamic result extent without a dynamic operand extent");
    sizes.push_back(found);
  }
  return sizes;
}

AffineMap FunctionLowering::broadcastMap(RankedTensorType input,
                                         RankedTensorType result) {
  int64_t rank = result.getRank(), lead = rank - input.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < input.getRank(); ++i) {
    bool broadcast =
        input.getDimSize(i) == 1 && result.getDimSize(lead + i) != 1;
    exprs.push_back(broadcast ? b.getAffineConstantExpr(0)
                              : b.getAffineDimExpr(lead + i));
  }
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value FunctionLowering::elementwise(
    Location loc, RankedTensorType resultType, ValueRange inputs,
    function_ref<Value(OpBuilder &, Location, ValueRange)> fn) {
  int64_t rank = resultType.getRank();
  Value init = empty(loc, broadcastSizes(resultType, inputs),
                     resultType.getElementType());
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(tensorTy(in), resultType));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  SmallVector<IteratorType> iters(rank, IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs, ValueRange{init}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = fn(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return generic.getResult(0);
}

AffineMap FunctionLowering::dropAxesMap(int64_t rank, ArrayRef<int64_t> axes) {
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      exprs.push_back(b.getAffineDimExpr(d));
  return AffineMap::get(rank, 0, exprs, b.getContext());
}

Value FunctionLowering::reduce(
    Location loc, Value x, ArrayRef<int64_t> axes, Type accType, double init,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
  auto xt = tensorTy(x);
  int64_t rank = xt.getRank();
  SmallVector<OpFoldResult> sizes;
  SmallVector<OpFoldResult> all = sizesOf(x);
  for (int64_t d = 0; d < rank; ++d)
    if (!llvm::is_contained(axes, d))
      sizes.push_back(all[d]);
  Value acc = empty(loc, sizes, accType);
  Value initV = buildArithConstant(b, loc, accType, init);
  acc = linalg::FillOp::create(b, loc, ValueRange{initV}, ValueRange{acc})
            .getResult(0);
  SmallVector<IteratorType> iters;
  for (int64_t d = 0; d < rank; ++d)
    iters.push_back(llvm::is_contained(axes, d) ? IteratorType::reduction
                                                : IteratorType::parallel);
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              dropAxesMap(rank, axes)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{acc.getType()}, ValueRange{x}, ValueRange{acc}, maps,
      iters, [&](OpBuilder &nb, Location nl, ValueRange args) {
        linalg::YieldOp::create(nb, nl, combine(nb, nl, args[0], args[1]));
      });
  return generic.getResult(0);
}

/// Number of elements reduced over `axes`, as a scalar of type `t`.
Value FunctionLowering::countOf(Location loc, Value x, ArrayRef<int64_t> axes,
                                Type t) {
  Value n = arith::ConstantIndexOp::create(b, loc, 1);
  for (int64_t a : axes)
    n = arith::MulIOp::create(b, loc, n, tensor::DimOp::create(b, loc, x, a));
  Value i64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), n);
  if (isa<FloatType>(t))
    return arith::SIToFPOp::create(b, loc, t, i64);
  if (t == i64.getType())
    return i64;
  return arith::TruncIOp::create(b, loc, t, i64);
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

LogicalResult FunctionLowering::lowerOp(Operation *op) {
  b.setInsertionPoint(op);
  // A pass that moved an op above the binding of a data symbol it uses
  // would leave it nothing to read.
  for (NamedAttribute a : op->getAttrs())
    if (auto map = dyn_cast<AffineMapAttr>(a.getValue()))
      for (AffineExpr e : map.getValue().getResults()) {
        std::optional<unsigned> unbound;
        e.walk([&](AffineExpr sub) {
          if (auto sym = dyn_cast<AffineSymbolExpr>(sub);
              sym && (sym.getPosition() >= symbols.size() ||
                      !symbols[sym.getPosition()]))
            unbound = sym.getPosition();
        });
        if (unbound)
          return op->emitOpError()
                 << "uses symbol " << *unbound
                 << " before a kiln.bind_symbols gives it a value";
      }
  if (op->getNumResults() == 1 &&
      (isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, ModOp, AndOp, OrOp,
           EqualOp, LessOp, LessEqualOp, GreaterOp, GreaterEqualOp>(op)))
    return lowerBinary(op);
  if (isa<NegOp, AbsOp, SqrtOp, RsqrtOp, ExpOp, LogOp, ErfOp, TanhOp, SinOp,
          CosOp, FloorOp, CeilOp, RoundOp, SigmoidOp, SiluOp, ReluOp,
          ReciprocalOp, NotOp, GeluOp>(op))
    return lowerUnary(op);
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ConstantOp>([&](ConstantOp c) { return lowerConstant(c); })
      .Case<CastOp>([&](CastOp c) { return lowerCast(c); })
      .Case<ClipOp>([&](ClipOp c) { return lowerClip(c); })
      .Case<WhereOp>([&](WhereOp w) { return lowerWhere(w); })
      .Case<TriluOp>([&](TriluOp t) { return lowerTrilu(t); })
      .Case<IsNanOp>([&](IsNanOp o) { return lowerIsNan(o); })
      .Case<IsInfOp>([&](IsInfOp o) { return lowerIsInf(o); })
      .Case<CumSumOp>([&](CumSumOp o) { return lowerCumSum(o); })
      .Case<MatMulOp>([&](MatMulOp m) { return lowerMatMul(m); })
      .Case<LinearOp>([&](LinearOp l) { return lowerLinear(l); })
      .Case<QLinearOp>([&](QLinearOp l) { return lowerQLinear(l); })
      .Case<QLinearInt4Op>([&](QLinearInt4Op l) { return lowerQLinearInt4(l); })
      .Case<SoftmaxOp>([&](SoftmaxOp s) { return lowerSoftmax(s); })
      .Case<AttentionOp>([&](AttentionOp a) { return lowerAttention(a); })
      .Case<LayerNormOp>([&](LayerNormOp l) { return lowerLayerNorm(l); })
      .Case<RMSNormOp>([&](RMSNormOp r) { return lowerRMSNorm(r); })
      .Case<RotaryOp>([&](RotaryOp r) { return lowerRotary(r); })
      .Case<EinsumOp>([&](EinsumOp e) { return lowerEinsum(e); })
      .Case<ReduceSumOp, ReduceMeanOp, ReduceMaxOp, ReduceMinOp, ReduceProdOp>(
          [&](auto r) { return lowerReduce(r); })
      .Case<ArgMaxOp, ArgMinOp>([&](auto o) { return lowerArgReduce(o); })
      .Case<TopKOp>([&](TopKOp o) { return lowerTopK(o); })
      .Case<ScatterNDOp>([&](ScatterNDOp o) { return lowerScatterND(o); })
      .Case<ScatterElementsOp>(
          [&](ScatterElementsOp o) { return lowerScatterElements(o); })
      .Case<GatherOp>([&](GatherOp g) { return lowerGather(g); })
      .Case<GatherElementsOp>(
          [&](GatherElementsOp g) { return lowerGatherElements(g); })
      .Case<GatherNDOp>([&](GatherNDOp g) { return lowerGatherND(g); })
      .Case<ConcatOp>([&](ConcatOp c) { return lowerConcat(c); })
      .Case<SliceOp>([&](SliceOp s) { return lowerSlice(s); })
      .Case<TransposeOp>([&](TransposeOp t) { return lowerTranspose(t); })
      .Case<ReshapeOp>([&](ReshapeOp r) { return lowerReshape(r); })
      .Case<ExpandOp>([&](ExpandOp e) { return lowerExpand(e); })
      .Case<FillOp>([&](FillOp f) { return lowerFill(f); })
      .Case<SymbolicValuesOp>(
          [&](SymbolicValuesOp s) { return lowerSymbolicValues(s); })
      .Case<RangeOp>([&](RangeOp r) { return lowerRange(r); })
      .Case<BindSymbolsOp>([&](BindSymbolsOp o) { return lowerBindSymbols(o); })
      .Case<PadOp>([&](PadOp p) { return lowerPad(p); })
      .Default([&](Operation *o) {
        return o->emitOpError() << "has no lowering to linalg yet";
      });
}

LogicalResult FunctionLowering::run() {
  SmallVector<Operation *> ops;
  func.walk([&](Operation *op) {
    if (isa<KilnDialect>(op->getDialect()))
      ops.push_back(op);
  });
  makeSignless(ops);
  if (failed(convertSignature()))
    return failure();
  for (Operation *op : ops)
    if (failed(lowerOp(op)))
      return failure();
  // The CUDA target's calls write device memory, its outputs host memory.
  if (attentionKernel != AttentionKernel::Cuda)
    writeCallResultsInPlace(func);
  return success();
}

namespace {
struct KilnLowerToLinalgPass
    : kiln::impl::KilnLowerToLinalgBase<KilnLowerToLinalgPass> {
  using KilnLowerToLinalgBase::KilnLowerToLinalgBase;
  void runOnOperation() override {
    std::optional<AttentionKernel> kernel;
    if (attentionKernel == "cpu")
      kernel = AttentionKernel::Cpu;
    else if (attentionKernel == "cuda")
      kernel = AttentionKernel::Cuda;
    else if (attentionKernel != "none") {
      getOperation().emitError()
          << "kiln-lower-to-linalg: unknown attention-kernel '"
          << attentionKernel << "' (expected none, cpu or cuda)";
      return signalPassFailure();
    }
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal() || !func->hasAttr(kSymbolsAttr))
        continue;
      FunctionLowering lowering(func, kernel, *epilogueActivations,
                                kvCacheViews, gatherReshapes, qlinearKernel,
                                normKernel, indexChecks);
      if (failed(lowering.run()))
        return signalPassFailure();
    }
  }
};

} // namespace
