//===- LowerKilnToLinalg.cpp - kiln ops to linalg on tensors --------------===//
//
// Rewrites each function into the artifact's calling convention (inputs and
// outputs as memrefs, outputs written in place) and every kiln op into
// linalg/tensor/arith/math on tensors. Ops are visited in program order, so
// each op's operands are already lowered when it is rewritten.
//
//===----------------------------------------------------------------------===//
#include "codegen/KvCache.h"
#include "codegen/LoweringUtils.h"
#include "codegen/AttentionKernelCall.h"
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"
#include "codegen/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/PatternMatch.h"
#include "llvm/ADT/TypeSwitch.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLOWERTOLINALG
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

using utils::IteratorType;

RankedTensorType tensorTy(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Float element types narrower than f32 compute in f32.
Type computeType(Type elem) {
  if (auto ft = dyn_cast<FloatType>(elem); ft && ft.getWidth() < 32)
    return Float32Type::get(elem.getContext());
  return elem;
}

Value extendTo(OpBuilder &b, Location loc, Value v, Type t) {
  if (v.getType() == t)
    return v;
  return arith::ExtFOp::create(b, loc, t, v);
}
Value truncTo(OpBuilder &b, Location loc, Value v, Type t) {
  if (v.getType() == t)
    return v;
  return arith::TruncFOp::create(b, loc, t, v);
}

/// Unsigned integers compute as signless ones: arith and linalg take only
/// signless integers. Each op's signedness is recorded before the types are
/// rewritten, and picks the unsigned arith variants where they differ.
Type signless(Type t) {
  if (auto it = dyn_cast<IntegerType>(t); it && !it.isSignless())
    return IntegerType::get(t.getContext(), it.getWidth());
  if (auto st = dyn_cast<RankedTensorType>(t))
    return st.clone(signless(st.getElementType()));
  return t;
}

bool isUnsignedElement(Type t) {
  return getElementTypeOrSelf(t).isUnsignedInteger();
}

/// Lowers the kiln ops of one function.
class FunctionLowering {
public:
  FunctionLowering(func::FuncOp func,
                   std::optional<AttentionKernel> attentionKernel,
                   ArrayRef<std::string> epilogueActivations, bool kvCacheViews)
      : func(func), b(func.getContext()), attentionKernel(attentionKernel),
        epilogueActivations(epilogueActivations), kvCacheViews(kvCacheViews) {
  }

  LogicalResult run();

private:
  func::FuncOp func;
  IRRewriter b;
  std::optional<AttentionKernel> attentionKernel;
  /// What kiln.linear's epilogue generic may apply; empty: everything.
  ArrayRef<std::string> epilogueActivations;
  /// Give KV-cache inputs and outputs strided memref types.
  bool kvCacheViews;
  SmallVector<Value> symbols;
  /// Ops whose first operand, or first result, had an unsigned element type
  /// before makeSignless.
  DenseSet<Operation *> unsignedOperand, unsignedResult;

  void makeSignless(ArrayRef<Operation *> ops);
  bool isUnsignedIn(Operation *op) { return unsignedOperand.contains(op); }
  LogicalResult convertSignature();
  LogicalResult lowerOp(Operation *op);

  // Shape helpers.
  SmallVector<OpFoldResult> sizesOf(Value v) {
    return tensor::getMixedSizes(b, v.getLoc(), v);
  }
  Value empty(Location loc, ArrayRef<OpFoldResult> sizes, Type elem) {
    return tensor::EmptyOp::create(b, loc, sizes, elem);
  }
  /// Reshapes as an element gather instead of collapse/expand views
  /// (KILN_GATHER_RESHAPES=1, to bisect a view-related problem).
  bool gatherReshapes = getenv("KILN_GATHER_RESHAPES") != nullptr;
  Value reshape(Location loc, Value v, RankedTensorType type,
                ArrayRef<OpFoldResult> sizes);
  SmallVector<OpFoldResult> broadcastSizes(RankedTensorType result,
                                           ValueRange inputs);
  AffineMap broadcastMap(RankedTensorType input, RankedTensorType result);

  /// Elementwise generic over `inputs` broadcast to `resultType`.
  Value elementwise(Location loc, RankedTensorType resultType,
                    ValueRange inputs,
                    function_ref<Value(OpBuilder &, Location, ValueRange)> fn);
  /// Reduces `x` over `axes` (dropped from the result) with `combine`,
  /// starting from `init`; the accumulator has type `accType`.
  Value reduce(Location loc, Value x, ArrayRef<int64_t> axes, Type accType,
               double init,
               function_ref<Value(OpBuilder &, Location, Value, Value)> combine);
  /// Map from the full iteration space of rank `rank` dropping `axes`.
  AffineMap dropAxesMap(int64_t rank, ArrayRef<int64_t> axes);
  Value countOf(Location loc, Value x, ArrayRef<int64_t> axes, Type t);

  LogicalResult lowerMatMul(MatMulOp op);
  /// a [..., K] x w [K, N] as one 2-D linalg.matmul over the folded leading
  /// dims, summed in `acc`; `c2` gets the [M, N] sizes of the returned 2-D
  /// result.
  Value matmulByWeight(Location loc, Value a, Value w, Type acc,
                       SmallVector<OpFoldResult> &c2);
  LogicalResult lowerLinear(LinearOp op);
  LogicalResult lowerSoftmax(SoftmaxOp op);
  /// Softmax of `x` along `axis` with f32 statistics, as type `resultType`.
  Value softmax(Location loc, Value x, int64_t axis,
                RankedTensorType resultType);
  LogicalResult lowerAttention(AttentionOp op);
  LogicalResult lowerLayerNorm(LayerNormOp op);
  LogicalResult lowerRMSNorm(RMSNormOp op);
  LogicalResult lowerRotary(RotaryOp op);
  template <typename OpT> LogicalResult lowerReduce(OpT op);
  LogicalResult lowerGather(GatherOp op);
  LogicalResult lowerConcat(ConcatOp op);
  LogicalResult lowerSlice(SliceOp op);
};

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
        c.setValueAttr(DenseResourceElementsAttr::get(type, blob.getRawHandle()));
    } else if (auto f = dyn_cast<FillOp>(op)) {
      if (auto i = dyn_cast<IntegerAttr>(f.getValue()); i && !i.getType().isSignlessInteger())
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
  SmallVector<Type> newInputs;
  for (Type t : ft.getInputs()) {
    auto tt = cast<RankedTensorType>(t);
    newInputs.push_back(MemRefType::get(tt.getShape(), tt.getElementType()));
  }
  unsigned numIn = newInputs.size();
  for (Type t : ft.getResults()) {
    auto tt = cast<RankedTensorType>(t);
    newInputs.push_back(MemRefType::get(tt.getShape(), tt.getElementType()));
  }
  // Both sides of a KV-cache pair may be views of one longer cache buffer
  // (kiln_session_run_cached); the C entry passes dense strides otherwise.
  SmallVector<KvCachePair> kvPairs;
  if (kvCacheViews)
    kvPairs = findKvCachePairs(func);
  for (const KvCachePair &p : kvPairs) {
    newInputs[p.input] = kvCacheViewType(
        cast<RankedTensorType>(ft.getInput(p.input)), p.axis);
    newInputs[numIn + p.output] = kvCacheViewType(
        cast<RankedTensorType>(ft.getResult(p.output)), p.axis);
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
      if (auto s = dyn_cast<AffineSymbolExpr>(e); s && !symbols[s.getPosition()])
        symbols[s.getPosition()] =
            memref::DimOp::create(b, loc, entry.getArgument(i), d);
  }
  for (unsigned s = 0; s < nsym; ++s)
    if (!symbols[s])
      return func.emitError() << "symbol " << names[s]
                              << " is not bound by any input dim";

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

/// Row-major reshape as a gather: each result element reads the source
/// element with the same linear index. MLIR 22's expand-strided-metadata
/// crashes on some dynamic expand_shape chains, so reshapes copy for now.
Value FunctionLowering::reshape(Location loc, Value v, RankedTensorType type,
                                ArrayRef<OpFoldResult> sizes) {
  if (v.getType() == type && type.hasStaticShape())
    return v;
  if (!gatherReshapes && tensorTy(v).getRank() > 0 && type.getRank() > 0) {
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
    bool broadcast = input.getDimSize(i) == 1 && result.getDimSize(lead + i) != 1;
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
  Value initV = scalarConstant(b, loc, accType, init);
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
// Scalar bodies
//===----------------------------------------------------------------------===//

/// x^y for integers by repeated squaring, wrapping as the multiplications
/// do. A negative exponent gives what C's pow and a cast to the integer type
/// give (ONNX leaves it open): 1 for x = 1, -1 or 1 for x = -1, else 0.
/// MLIR's math.ipowi has no LLVM lowering, hence the loop here.
Value integerPow(OpBuilder &b, Location loc, Value x, Value y,
                 bool isUnsigned) {
  Type t = x.getType();
  using I = arith::CmpIPredicate;
  Value zero = scalarConstant(b, loc, t, 0), one = scalarConstant(b, loc, t, 1);
  Value exponent = y, negative;
  if (!isUnsigned) {
    negative = arith::CmpIOp::create(b, loc, I::slt, y, zero);
    exponent = arith::SelectOp::create(b, loc, negative, zero, y);
  }
  // (acc, base, e) -> (e & 1 ? acc * base : acc, base * base, e >> 1)
  auto loop = scf::WhileOp::create(
      b, loc, TypeRange{t, t, t}, ValueRange{one, x, exponent},
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value more = arith::CmpIOp::create(nb, nl, I::ne, a[2], zero);
        scf::ConditionOp::create(nb, nl, more, a);
      },
      [&](OpBuilder &nb, Location nl, ValueRange a) {
        Value odd = arith::CmpIOp::create(
            nb, nl, I::ne, arith::AndIOp::create(nb, nl, a[2], one), zero);
        Value acc = arith::SelectOp::create(
            nb, nl, odd, arith::MulIOp::create(nb, nl, a[0], a[1]), a[0]);
        Value base = arith::MulIOp::create(nb, nl, a[1], a[1]);
        Value rest = arith::ShRUIOp::create(nb, nl, a[2], one);
        scf::YieldOp::create(nb, nl, ValueRange{acc, base, rest});
      });
  Value r = loop.getResult(0);
  if (isUnsigned)
    return r;
  Value minusOne = scalarConstant(b, loc, t, -1);
  Value oddExponent = arith::CmpIOp::create(
      b, loc, I::ne, arith::AndIOp::create(b, loc, y, one), zero);
  Value ofMinusOne = arith::SelectOp::create(b, loc, oddExponent, minusOne, one);
  Value ofOther = arith::SelectOp::create(
      b, loc, arith::CmpIOp::create(b, loc, I::eq, x, minusOne), ofMinusOne,
      zero);
  Value reciprocal = arith::SelectOp::create(
      b, loc, arith::CmpIOp::create(b, loc, I::eq, x, one), one, ofOther);
  return arith::SelectOp::create(b, loc, negative, reciprocal, r);
}

/// Scalar body of a binary kiln op; `isUnsigned` when the operands are
/// unsigned integers.
Value binaryBody(OpBuilder &b, Location loc, Operation *op, Value x, Value y,
                 bool isUnsigned) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t);
  using P = arith::CmpFPredicate;
  using I = arith::CmpIPredicate;
  auto cmp = [&](P fp, I sp, I up) -> Value {
    if (isFloat)
      return arith::CmpFOp::create(b, loc, fp, x, y);
    return arith::CmpIOp::create(b, loc, isUnsigned ? up : sp, x, y);
  };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<AddOp>([&](auto) -> Value {
        return isFloat ? (Value)arith::AddFOp::create(b, loc, x, y)
                       : (Value)arith::AddIOp::create(b, loc, x, y);
      })
      .Case<SubOp>([&](auto) -> Value {
        return isFloat ? (Value)arith::SubFOp::create(b, loc, x, y)
                       : (Value)arith::SubIOp::create(b, loc, x, y);
      })
      .Case<MulOp>([&](auto) -> Value {
        return isFloat ? (Value)arith::MulFOp::create(b, loc, x, y)
                       : (Value)arith::MulIOp::create(b, loc, x, y);
      })
      .Case<DivOp>([&](auto) -> Value {
        if (isFloat)
          return arith::DivFOp::create(b, loc, x, y);
        return isUnsigned ? (Value)arith::DivUIOp::create(b, loc, x, y)
                          : (Value)arith::DivSIOp::create(b, loc, x, y);
      })
      .Case<PowOp>([&](auto) -> Value {
        if (isFloat)
          return math::PowFOp::create(b, loc, x, y);
        return integerPow(b, loc, x, y, isUnsigned);
      })
      .Case<MaxOp>([&](auto) -> Value {
        if (isFloat)
          return arith::MaximumFOp::create(b, loc, x, y);
        return isUnsigned ? (Value)arith::MaxUIOp::create(b, loc, x, y)
                          : (Value)arith::MaxSIOp::create(b, loc, x, y);
      })
      .Case<MinOp>([&](auto) -> Value {
        if (isFloat)
          return arith::MinimumFOp::create(b, loc, x, y);
        return isUnsigned ? (Value)arith::MinUIOp::create(b, loc, x, y)
                          : (Value)arith::MinSIOp::create(b, loc, x, y);
      })
      .Case<ModOp>([&](auto) -> Value {
        if (isFloat)
          return arith::RemFOp::create(b, loc, x, y);
        if (isUnsigned)
          return arith::RemUIOp::create(b, loc, x, y);
        // Integer Mod takes the sign of the divisor.
        Value r = arith::RemSIOp::create(b, loc, x, y);
        Value zero = arith::ConstantOp::create(b, loc, b.getZeroAttr(t));
        Value rNeg = arith::CmpIOp::create(b, loc, I::slt, r, zero);
        Value yNeg = arith::CmpIOp::create(b, loc, I::slt, y, zero);
        Value rNonZero = arith::CmpIOp::create(b, loc, I::ne, r, zero);
        Value differ = arith::XOrIOp::create(b, loc, rNeg, yNeg);
        Value fix = arith::AndIOp::create(b, loc, differ, rNonZero);
        Value adj = arith::AddIOp::create(b, loc, r, y);
        return arith::SelectOp::create(b, loc, fix, adj, r);
      })
      .Case<AndOp>([&](auto) -> Value {
        return arith::AndIOp::create(b, loc, x, y);
      })
      .Case<OrOp>([&](auto) -> Value {
        return arith::OrIOp::create(b, loc, x, y);
      })
      .Case<EqualOp>([&](auto) { return cmp(P::OEQ, I::eq, I::eq); })
      .Case<LessOp>([&](auto) { return cmp(P::OLT, I::slt, I::ult); })
      .Case<LessEqualOp>([&](auto) { return cmp(P::OLE, I::sle, I::ule); })
      .Case<GreaterOp>([&](auto) { return cmp(P::OGT, I::sgt, I::ugt); })
      .Case<GreaterEqualOp>([&](auto) { return cmp(P::OGE, I::sge, I::uge); })
      .Default([](Operation *) { return Value(); });
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = scalarConstant(b, loc, x.getType(), 1.0);
  Value neg = arith::NegFOp::create(b, loc, x);
  Value e = math::ExpOp::create(b, loc, neg);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

Value geluBody(OpBuilder &b, Location loc, Value x, bool tanhForm) {
  auto c = [&](double v) { return scalarConstant(b, loc, x.getType(), v); };
  Value inner;
  if (tanhForm) {
    Value x3 =
        arith::MulFOp::create(b, loc, x, arith::MulFOp::create(b, loc, x, x));
    Value poly = arith::AddFOp::create(
        b, loc, x, arith::MulFOp::create(b, loc, c(0.044715), x3));
    inner = math::TanhOp::create(
        b, loc, arith::MulFOp::create(b, loc, c(0.7978845608028654), poly));
  } else {
    inner = math::ErfOp::create(
        b, loc, arith::MulFOp::create(b, loc, x, c(0.7071067811865476)));
  }
  Value s = arith::AddFOp::create(b, loc, c(1.0), inner);
  return arith::MulFOp::create(b, loc,
                               arith::MulFOp::create(b, loc, c(0.5), x), s);
}

/// kiln.linear's activations on a float scalar.
Value activationBody(OpBuilder &b, Location loc, StringRef act, Value x) {
  if (act == "relu")
    return arith::MaximumFOp::create(
        b, loc, x, scalarConstant(b, loc, x.getType(), 0.0));
  if (act == "gelu" || act == "gelu_tanh")
    return geluBody(b, loc, x, act == "gelu_tanh");
  if (act == "silu")
    return arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x));
  return x;
}

/// Scalar body of a unary kiln op; `isUnsigned` when the operand is an
/// unsigned integer.
Value unaryBody(OpBuilder &b, Location loc, Operation *op, Value x,
                bool isUnsigned) {
  Type t = x.getType();
  bool isFloat = isa<FloatType>(t);
  auto c = [&](double v) { return scalarConstant(b, loc, t, v); };
  return llvm::TypeSwitch<Operation *, Value>(op)
      .Case<NegOp>([&](auto) -> Value {
        if (isFloat)
          return arith::NegFOp::create(b, loc, x);
        return arith::SubIOp::create(b, loc, c(0), x);
      })
      .Case<AbsOp>([&](auto) -> Value {
        if (isFloat)
          return math::AbsFOp::create(b, loc, x);
        return isUnsigned ? x : (Value)math::AbsIOp::create(b, loc, x);
      })
      .Case<SqrtOp>([&](auto) { return math::SqrtOp::create(b, loc, x); })
      .Case<RsqrtOp>([&](auto) { return math::RsqrtOp::create(b, loc, x); })
      .Case<ExpOp>([&](auto) { return math::ExpOp::create(b, loc, x); })
      .Case<LogOp>([&](auto) { return math::LogOp::create(b, loc, x); })
      .Case<ErfOp>([&](auto) { return math::ErfOp::create(b, loc, x); })
      .Case<TanhOp>([&](auto) { return math::TanhOp::create(b, loc, x); })
      .Case<SinOp>([&](auto) { return math::SinOp::create(b, loc, x); })
      .Case<CosOp>([&](auto) { return math::CosOp::create(b, loc, x); })
      .Case<FloorOp>([&](auto) { return math::FloorOp::create(b, loc, x); })
      .Case<CeilOp>([&](auto) { return math::CeilOp::create(b, loc, x); })
      .Case<RoundOp>(
          [&](auto) { return math::RoundEvenOp::create(b, loc, x); })
      .Case<SigmoidOp>([&](auto) { return sigmoid(b, loc, x); })
      .Case<SiluOp>([&](auto) -> Value {
        return arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x));
      })
      .Case<ReluOp>([&](auto) -> Value {
        if (isFloat)
          return arith::MaximumFOp::create(b, loc, x, c(0));
        return isUnsigned ? x : (Value)arith::MaxSIOp::create(b, loc, x, c(0));
      })
      .Case<ReciprocalOp>([&](auto) -> Value {
        return arith::DivFOp::create(b, loc, c(1), x);
      })
      .Case<NotOp>([&](auto) -> Value {
        Value one = arith::ConstantOp::create(b, loc, b.getBoolAttr(true));
        return arith::XOrIOp::create(b, loc, x, one);
      })
      .Case<GeluOp>([&](GeluOp g) -> Value {
        return geluBody(b, loc, x, g.getApproximate() == "tanh");
      })
      .Default([](Operation *) { return Value(); });
}

/// ONNX Cast semantics between scalar types; the flags say whether the
/// (signless) integer types stand for unsigned ones.
Value castScalar(OpBuilder &b, Location loc, Value x, Type to,
                 bool fromUnsigned = false, bool toUnsigned = false) {
  Type from = x.getType();
  if (from == to)
    return x;
  if (to.isInteger(1)) {
    if (isa<FloatType>(from))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, x,
                                   scalarConstant(b, loc, from, 0));
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, x,
                                 scalarConstant(b, loc, from, 0));
  }
  auto fromF = dyn_cast<FloatType>(from), toF = dyn_cast<FloatType>(to);
  if (fromF && toF)
    return fromF.getWidth() < toF.getWidth()
               ? (Value)arith::ExtFOp::create(b, loc, to, x)
               : (Value)arith::TruncFOp::create(b, loc, to, x);
  if (fromF)
    return toUnsigned ? (Value)arith::FPToUIOp::create(b, loc, to, x)
                      : (Value)arith::FPToSIOp::create(b, loc, to, x);
  bool zeroExtend = fromUnsigned || from.isInteger(1);
  if (toF)
    return zeroExtend ? (Value)arith::UIToFPOp::create(b, loc, to, x)
                      : (Value)arith::SIToFPOp::create(b, loc, to, x);
  unsigned fw = from.getIntOrFloatBitWidth(), tw = to.getIntOrFloatBitWidth();
  if (fw < tw)
    return zeroExtend ? (Value)arith::ExtUIOp::create(b, loc, to, x)
                      : (Value)arith::ExtSIOp::create(b, loc, to, x);
  return arith::TruncIOp::create(b, loc, to, x);
}

//===----------------------------------------------------------------------===//
// Contractions and normalizations
//===----------------------------------------------------------------------===//

/// The product of `sizes`, folded where constant.
static OpFoldResult productOf(OpBuilder &b, Location loc,
                              ArrayRef<OpFoldResult> sizes) {
  int64_t stat = 1;
  Value dyn;
  for (OpFoldResult f : sizes) {
    if (auto c = getConstantIntValue(f)) {
      stat *= *c;
      continue;
    }
    Value v = cast<Value>(f);
    dyn = dyn ? (Value)arith::MulIOp::create(b, loc, dyn, v) : v;
  }
  if (!dyn)
    return b.getIndexAttr(stat);
  if (stat != 1)
    dyn = arith::MulIOp::create(b, loc, dyn,
                                arith::ConstantIndexOp::create(b, loc, stat));
  return dyn;
}

static RankedTensorType tensorTypeOf(ArrayRef<OpFoldResult> sizes, Type elem) {
  SmallVector<int64_t> shape;
  for (OpFoldResult f : sizes)
    shape.push_back(getConstantIntValue(f).value_or(ShapedType::kDynamic));
  return RankedTensorType::get(shape, elem);
}

Value FunctionLowering::matmulByWeight(Location loc, Value a, Value w,
                                       Type acc,
                                       SmallVector<OpFoldResult> &c2) {
  SmallVector<OpFoldResult> as = sizesOf(a), ws = sizesOf(w);
  OpFoldResult m = productOf(b, loc, ArrayRef(as).drop_back());
  SmallVector<OpFoldResult> a2{m, as.back()};
  Value a2v =
      reshape(loc, a, tensorTypeOf(a2, tensorTy(a).getElementType()), a2);
  c2 = {m, ws[1]};
  Value init = empty(loc, c2, acc);
  Value zero = scalarConstant(b, loc, acc, 0);
  init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
             .getResult(0);
  return linalg::MatmulOp::create(b, loc, TypeRange{tensorTypeOf(c2, acc)},
                                  ValueRange{a2v, w}, ValueRange{init})
      .getResult(0);
}

/// matmulByWeight, then bias and activation in one generic on the 2-D result
/// marked with kEpilogueAttr, then the reshape to the result's dims. An
/// activation the target's GEMM cannot apply (epilogueActivations) goes into
/// a separate, unmarked generic after the epilogue.
LogicalResult FunctionLowering::lowerLinear(LinearOp op) {
  Location loc = op.getLoc();
  RankedTensorType rt = op.getType();
  Type elem = rt.getElementType(), ct = computeType(elem);
  SmallVector<OpFoldResult> c2;
  // Products of f16/bf16 tensors sum in f32 (ct); the epilogue or a
  // conversion below narrows the sums once.
  Value y = matmulByWeight(loc, op.getInput(), op.getWeight(), ct, c2);
  StringRef act = op.getActivation(), after = "none";
  if (!epilogueActivations.empty() &&
      !llvm::is_contained(epilogueActivations, act))
    std::swap(act, after);
  Value bias = op.getBias();
  if (bias || act != "none") {
    AffineMap id = b.getMultiDimIdentityMap(2);
    SmallVector<Value> ins{y};
    SmallVector<AffineMap> maps{id};
    if (bias) {
      ins.push_back(bias);
      maps.push_back(AffineMap::get(2, 0, {b.getAffineDimExpr(1)},
                                    b.getContext()));
    }
    maps.push_back(id);
    auto epilogue = linalg::GenericOp::create(
        b, loc, TypeRange{tensorTypeOf(c2, elem)}, ins,
        ValueRange{empty(loc, c2, elem)}, maps,
        SmallVector<IteratorType>(2, IteratorType::parallel),
        [&](OpBuilder &nb, Location nl, ValueRange args) {
          Value v = extendTo(nb, nl, args[0], ct);
          if (bias)
            v = arith::AddFOp::create(nb, nl, v, extendTo(nb, nl, args[1], ct));
          linalg::YieldOp::create(
              nb, nl, truncTo(nb, nl, activationBody(nb, nl, act, v), elem));
        });
    epilogue->setAttr(kEpilogueAttr,
                      b.getDictionaryAttr(
                          {b.getNamedAttr("activation", b.getStringAttr(act)),
                           b.getNamedAttr("bias", b.getBoolAttr(bias != nullptr))}));
    y = epilogue.getResult(0);
  }
  if (after != "none" || tensorTy(y).getElementType() != elem)
    y = elementwise(loc, tensorTypeOf(c2, elem), ValueRange{y},
                    [&](OpBuilder &nb, Location nl, ValueRange args) {
                      Value v = extendTo(nb, nl, args[0], ct);
                      return truncTo(nb, nl, activationBody(nb, nl, after, v),
                                     elem);
                    });
  SmallVector<OpFoldResult> resultSizes = sizesOf(op.getInput());
  resultSizes.back() = c2[1];
  b.replaceOp(op, reshape(loc, y, rt, resultSizes));
  return success();
}

/// [..., M, K] x [..., K, N]: weights (rank-2 rhs) fold the batch into M and
/// use linalg.matmul; otherwise batch dims are broadcast, collapsed, and fed
/// to linalg.batch_matmul.
LogicalResult FunctionLowering::lowerMatMul(MatMulOp op) {
  Location loc = op.getLoc();
  Value a = op.getLhs(), w = op.getRhs();
  auto at = tensorTy(a), wt = tensorTy(w), rt = op.getType();
  // linalg's matmuls extend each product's inputs to the accumulator type,
  // so operands may be narrower than the result (f16/bf16 by f32, int8 by
  // int32). An f16/bf16 result is summed in f32 (acc) and narrowed once at
  // the end: summed in f16, a K of 4096 loses 8% of the result.
  Type elem = rt.getElementType(), inElem = at.getElementType();
  Type acc = computeType(elem);
  int64_t rank = rt.getRank();
  SmallVector<OpFoldResult> as = sizesOf(a), ws = sizesOf(w);
  Value zero = scalarConstant(b, loc, acc, 0);
  auto narrow = [&](Value v, ArrayRef<OpFoldResult> sizes) {
    if (acc == elem)
      return v;
    return elementwise(loc, tensorTypeOf(sizes, elem), ValueRange{v},
                       [&](OpBuilder &nb, Location nl, ValueRange args) {
                         return truncTo(nb, nl, args[0], elem);
                       });
  };
  SmallVector<OpFoldResult> resultSizes;
  Value result;
  if (wt.getRank() == 2) {
    SmallVector<OpFoldResult> c2;
    Value mm = narrow(matmulByWeight(loc, a, w, acc, c2), c2);
    resultSizes.assign(as.begin(), as.end() - 1);
    resultSizes.push_back(ws[1]);
    result = reshape(loc, mm, rt, resultSizes);
  } else {
    // Broadcast both operands to the full batch shape first.
    SmallVector<OpFoldResult> outSizes =
        broadcastSizes(rt, ValueRange{a, w});
    auto expandTo = [&](Value v, RankedTensorType vt,
                        ArrayRef<OpFoldResult> vs) -> Value {
      SmallVector<OpFoldResult> full(outSizes.begin(), outSizes.end() - 2);
      full.append(vs.end() - 2, vs.end());
      auto fullType = tensorTypeOf(full, vt.getElementType());
      bool same = vt.getRank() == rank;
      for (int64_t d = 0; same && d < rank - 2; ++d)
        same = vt.getDimSize(d) == fullType.getDimSize(d);
      if (same)
        return v;
      Value init = empty(loc, full, vt.getElementType());
      SmallVector<AffineMap> maps{broadcastMap(vt, fullType),
                                  b.getMultiDimIdentityMap(rank)};
      return linalg::GenericOp::create(
                 b, loc, TypeRange{fullType}, ValueRange{v}, ValueRange{init},
                 maps, SmallVector<IteratorType>(rank, IteratorType::parallel),
                 [](OpBuilder &nb, Location nl, ValueRange args) {
                   linalg::YieldOp::create(nb, nl, args[0]);
                 })
          .getResult(0);
    };
    a = expandTo(a, at, as);
    w = expandTo(w, wt, ws);
    OpFoldResult batch = productOf(b, loc, ArrayRef(outSizes).drop_back(2));
    SmallVector<OpFoldResult> a3{batch, as[as.size() - 2], as.back()};
    SmallVector<OpFoldResult> w3{batch, ws[ws.size() - 2], ws.back()};
    SmallVector<OpFoldResult> c3{batch, as[as.size() - 2], ws.back()};
    Value a3v = reshape(loc, a, tensorTypeOf(a3, inElem), a3);
    Value w3v = reshape(loc, w, tensorTypeOf(w3, wt.getElementType()), w3);
    Value init = empty(loc, c3, acc);
    init = linalg::FillOp::create(b, loc, ValueRange{zero}, ValueRange{init})
               .getResult(0);
    Value mm = narrow(
        linalg::BatchMatmulOp::create(b, loc, TypeRange{tensorTypeOf(c3, acc)},
                                      ValueRange{a3v, w3v}, ValueRange{init})
            .getResult(0),
        c3);
    result = reshape(loc, mm, rt, outSizes);
  }
  b.replaceOp(op, result);
  return success();
}

LogicalResult FunctionLowering::lowerSoftmax(SoftmaxOp op) {
  b.replaceOp(op, softmax(op.getLoc(), op.getInput(), op.getAxis(),
                          op.getType()));
  return success();
}

Value FunctionLowering::softmax(Location loc, Value x, int64_t axis,
                                RankedTensorType resultType) {
  auto xt = tensorTy(x);
  Type elem = resultType.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank();
  Value mx = reduce(loc, x, {axis}, ct, -INFINITY,
                    [&](OpBuilder &nb, Location nl, Value v, Value acc) {
                      return (Value)arith::MaximumFOp::create(
                          nb, nl, extendTo(nb, nl, v, ct), acc);
                    });
  // e = exp(x - max), sum = sum(e), y = e / sum: two more generics.
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              dropAxesMap(rank, {axis}),
                              b.getMultiDimIdentityMap(rank)};
  SmallVector<IteratorType> par(rank, IteratorType::parallel);
  auto ctType = RankedTensorType::get(xt.getShape(), ct);
  Value e = linalg::GenericOp::create(
                b, loc, TypeRange{ctType}, ValueRange{x, mx},
                ValueRange{empty(loc, sizesOf(x), ct)}, maps, par,
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  Value d = arith::SubFOp::create(
                      nb, nl, extendTo(nb, nl, a[0], ct), a[1]);
                  linalg::YieldOp::create(nb, nl,
                                          (Value)math::ExpOp::create(nb, nl, d));
                })
                .getResult(0);
  Value sum = reduce(loc, e, {axis}, ct, 0.0,
                     [](OpBuilder &nb, Location nl, Value v, Value acc) {
                       return (Value)arith::AddFOp::create(nb, nl, v, acc);
                     });
  return linalg::GenericOp::create(
             b, loc, TypeRange{resultType}, ValueRange{e, sum},
             ValueRange{empty(loc, sizesOf(x), elem)}, maps, par,
             [&](OpBuilder &nb, Location nl, ValueRange a) {
               Value q = arith::DivFOp::create(nb, nl, a[0], a[1]);
               linalg::YieldOp::create(nb, nl, truncTo(nb, nl, q, elem));
             })
      .getResult(0);
}

/// Reference lowering: scores = scale * q k^T (+ mask, causal), softmax in
/// f32, then p v. Query head h reads key/value head h floordiv (H / Hkv).
LogicalResult FunctionLowering::lowerAttention(AttentionOp op) {
  if (attentionKernel)
    if (Value call = buildAttentionKernelCall(b, op, *attentionKernel)) {
      b.replaceOp(op, call);
      return success();
    }
  Location loc = op.getLoc();
  Value q = op.getQuery(), k = op.getKey(), v = op.getValue();
  auto qt = tensorTy(q), kt = tensorTy(k);
  RankedTensorType rt = op.getType();
  Type elem = rt.getElementType(), ct = computeType(elem);
  int64_t group = qt.getDimSize(1) / kt.getDimSize(1);
  MLIRContext *ctx = b.getContext();
  AffineExpr d0, d1, d2, d3, d4;
  bindDims(ctx, d0, d1, d2, d3, d4);
  auto map5 = [&](ArrayRef<AffineExpr> r) {
    return AffineMap::get(5, 0, r, ctx);
  };
  auto par = IteratorType::parallel, red = IteratorType::reduction;
  SmallVector<OpFoldResult> qs = sizesOf(q), ks = sizesOf(k), vs = sizesOf(v);

  // out[b, h, i, n] = sum_r lhs[b, h, i, r] * rhs[b, h / g, rhsMap], in ct;
  // iteration dims (b, h, i, n, r).
  Value zero = scalarConstant(b, loc, ct, 0);
  auto contract = [&](Value lhs, Value rhs, AffineMap rhsMap,
                      ArrayRef<OpFoldResult> sizes, RankedTensorType type) {
    Value init = linalg::FillOp::create(b, loc, ValueRange{zero},
                                        ValueRange{empty(loc, sizes, ct)})
                     .getResult(0);
    return linalg::GenericOp::create(
               b, loc, TypeRange{type}, ValueRange{lhs, rhs}, ValueRange{init},
               SmallVector<AffineMap>{map5({d0, d1, d2, d4}), rhsMap,
                                      map5({d0, d1, d2, d3})},
               SmallVector<IteratorType>{par, par, par, par, red},
               [&](OpBuilder &nb, Location nl, ValueRange a) {
                 Value p = arith::MulFOp::create(nb, nl,
                                                 extendTo(nb, nl, a[0], ct),
                                                 extendTo(nb, nl, a[1], ct));
                 linalg::YieldOp::create(
                     nb, nl, (Value)arith::AddFOp::create(nb, nl, p, a[2]));
               })
        .getResult(0);
  };

  // scores[b, h, i, j] = sum_d q[b, h, i, d] * k[b, h / g, j, d]
  SmallVector<OpFoldResult> scoreSizes{qs[0], qs[1], qs[2], ks[2]};
  auto scoreType = RankedTensorType::get(
      {qt.getDimSize(0), qt.getDimSize(1), qt.getDimSize(2), kt.getDimSize(2)},
      ct);
  Value scores = contract(q, k, map5({d0, d1.floorDiv(group), d3, d4}),
                          scoreSizes, scoreType);

  // scale, mask and causal hiding in one pass.
  Value scale = scalarConstant(b, loc, ct, op.getScale().convertToFloat());
  Value offset; // Sk - Sq
  if (op.getCausal())
    offset = arith::SubIOp::create(
        b, loc, getValueOrCreateConstantIndexOp(b, loc, ks[2]),
        getValueOrCreateConstantIndexOp(b, loc, qs[2]));
  SmallVector<Value> ins{scores};
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(4)};
  if (Value mask = op.getMask()) {
    ins.push_back(mask);
    maps.push_back(broadcastMap(tensorTy(mask), scoreType));
  }
  maps.push_back(b.getMultiDimIdentityMap(4));
  Value masked =
      linalg::GenericOp::create(
          b, loc, TypeRange{scoreType}, ins,
          ValueRange{empty(loc, scoreSizes, ct)}, maps,
          SmallVector<IteratorType>(4, par),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value x = arith::MulFOp::create(nb, nl, a[0], scale);
            if (op.getMask())
              x = arith::AddFOp::create(nb, nl, x, extendTo(nb, nl, a[1], ct));
            if (offset) {
              Value i = linalg::IndexOp::create(nb, nl, 2);
              Value j = linalg::IndexOp::create(nb, nl, 3);
              Value last = arith::AddIOp::create(nb, nl, i, offset);
              Value hidden = arith::CmpIOp::create(
                  nb, nl, arith::CmpIPredicate::sgt, j, last);
              x = arith::SelectOp::create(
                  nb, nl, hidden, scalarConstant(nb, nl, ct, -INFINITY), x);
            }
            linalg::YieldOp::create(nb, nl, x);
          })
          .getResult(0);
  Value probs = softmax(loc, masked, 3, scoreType);

  // out[b, h, i, e] = sum_j p[b, h, i, j] * v[b, h / g, j, e]
  SmallVector<OpFoldResult> outSizes{qs[0], qs[1], qs[2], vs[3]};
  Value out = contract(probs, v, map5({d0, d1.floorDiv(group), d4, d3}),
                       outSizes, RankedTensorType::get(rt.getShape(), ct));
  if (ct != elem)
    out = elementwise(loc, rt, ValueRange{out},
                      [&](OpBuilder &nb, Location nl, ValueRange a) {
                        return truncTo(nb, nl, a[0], elem);
                      });
  b.replaceOp(op, out);
  return success();
}

/// One generic: y = x * cos + sign * x[partner] * sin, where the partner of
/// d is d + D/2 (sign -1) in the first half and d - D/2 (sign +1) in the
/// second, read with tensor.extract.
LogicalResult FunctionLowering::lowerRotary(RotaryOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  RankedTensorType xt = tensorTy(x);
  Type elem = xt.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank(), half = xt.getDimSize(rank - 1) / 2;
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              broadcastMap(tensorTy(op.getCos()), xt),
                              broadcastMap(tensorTy(op.getSin()), xt),
                              b.getMultiDimIdentityMap(rank)};
  Value y = linalg::GenericOp::create(
                b, loc, TypeRange{xt}, ValueRange{x, op.getCos(), op.getSin()},
                ValueRange{empty(loc, sizesOf(x), elem)}, maps,
                SmallVector<IteratorType>(rank, IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  SmallVector<Value> idx;
                  for (int64_t d = 0; d < rank; ++d)
                    idx.push_back(linalg::IndexOp::create(nb, nl, d));
                  Value h = arith::ConstantIndexOp::create(nb, nl, half);
                  Value first = arith::CmpIOp::create(
                      nb, nl, arith::CmpIPredicate::ult, idx.back(), h);
                  idx.back() = arith::SelectOp::create(
                      nb, nl, first,
                      arith::AddIOp::create(nb, nl, idx.back(), h),
                      arith::SubIOp::create(nb, nl, idx.back(), h));
                  Value partner = extendTo(
                      nb, nl, tensor::ExtractOp::create(nb, nl, x, idx), ct);
                  partner = arith::SelectOp::create(
                      nb, nl, first, arith::NegFOp::create(nb, nl, partner),
                      partner);
                  Value r = arith::AddFOp::create(
                      nb, nl,
                      arith::MulFOp::create(nb, nl, extendTo(nb, nl, a[0], ct),
                                            extendTo(nb, nl, a[1], ct)),
                      arith::MulFOp::create(nb, nl, partner,
                                            extendTo(nb, nl, a[2], ct)));
                  linalg::YieldOp::create(nb, nl, truncTo(nb, nl, r, elem));
                })
                .getResult(0);
  b.replaceOp(op, y);
  return success();
}

/// Statistics in f32 over axes [axis, rank): mean, then variance of the
/// centered values (two passes, as ONNX Runtime does, for accuracy).
LogicalResult FunctionLowering::lowerLayerNorm(LayerNormOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xt = tensorTy(x);
  Type elem = xt.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank();
  SmallVector<int64_t> axes;
  for (int64_t d = op.getAxis(); d < rank; ++d)
    axes.push_back(d);
  auto add = [&](OpBuilder &nb, Location nl, Value v, Value acc) {
    return (Value)arith::AddFOp::create(nb, nl, extendTo(nb, nl, v, ct), acc);
  };
  Value n = countOf(loc, x, axes, ct);
  Value sum = reduce(loc, x, axes, ct, 0.0, add);
  AffineMap statMap = dropAxesMap(rank, axes);
  SmallVector<IteratorType> redIters;
  for (int64_t d = 0; d < rank; ++d)
    redIters.push_back(d >= op.getAxis() ? IteratorType::reduction
                                         : IteratorType::parallel);
  // var = sum((x - sum/n)^2) / n
  Value varInit = linalg::FillOp::create(
                      b, loc, ValueRange{scalarConstant(b, loc, ct, 0)},
                      ValueRange{empty(loc, sizesOf(sum), ct)})
                      .getResult(0);
  Value sq = linalg::GenericOp::create(
                 b, loc, TypeRange{varInit.getType()}, ValueRange{x, sum},
                 ValueRange{varInit},
                 SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank), statMap,
                                        statMap},
                 redIters,
                 [&](OpBuilder &nb, Location nl, ValueRange a) {
                   Value mean = arith::DivFOp::create(nb, nl, a[1], n);
                   Value d = arith::SubFOp::create(
                       nb, nl, extendTo(nb, nl, a[0], ct), mean);
                   Value s = arith::MulFOp::create(nb, nl, d, d);
                   linalg::YieldOp::create(
                       nb, nl, (Value)arith::AddFOp::create(nb, nl, s, a[2]));
                 })
                 .getResult(0);
  SmallVector<Value> ins{x, sum, sq, op.getScale()};
  if (op.getBias())
    ins.push_back(op.getBias());
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank), statMap, statMap,
                              broadcastMap(tensorTy(op.getScale()), xt)};
  if (op.getBias())
    maps.push_back(broadcastMap(tensorTy(op.getBias()), xt));
  maps.push_back(b.getMultiDimIdentityMap(rank));
  float eps = op.getEpsilon().convertToFloat();
  bool hasBias = (bool)op.getBias();
  Value y = linalg::GenericOp::create(
                b, loc, TypeRange{xt}, ins,
                ValueRange{empty(loc, sizesOf(x), elem)}, maps,
                SmallVector<IteratorType>(rank, IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  Value mean = arith::DivFOp::create(nb, nl, a[1], n);
                  Value var = arith::DivFOp::create(nb, nl, a[2], n);
                  Value inv = math::RsqrtOp::create(
                      nb, nl,
                      arith::AddFOp::create(nb, nl, var,
                                            scalarConstant(nb, nl, ct, eps)));
                  Value d = arith::SubFOp::create(
                      nb, nl, extendTo(nb, nl, a[0], ct), mean);
                  Value r = arith::MulFOp::create(
                      nb, nl, arith::MulFOp::create(nb, nl, d, inv),
                      extendTo(nb, nl, a[3], ct));
                  if (hasBias)
                    r = arith::AddFOp::create(nb, nl, r,
                                              extendTo(nb, nl, a[4], ct));
                  linalg::YieldOp::create(nb, nl, truncTo(nb, nl, r, elem));
                })
                .getResult(0);
  b.replaceOp(op, y);
  return success();
}

LogicalResult FunctionLowering::lowerRMSNorm(RMSNormOp op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  auto xt = tensorTy(x);
  Type elem = xt.getElementType(), ct = computeType(elem);
  int64_t rank = xt.getRank();
  SmallVector<int64_t> axes{rank - 1};
  Value n = countOf(loc, x, axes, ct);
  Value ss = reduce(loc, x, axes, ct, 0.0,
                    [&](OpBuilder &nb, Location nl, Value v, Value acc) {
                      Value e = extendTo(nb, nl, v, ct);
                      return (Value)arith::AddFOp::create(
                          nb, nl, arith::MulFOp::create(nb, nl, e, e), acc);
                    });
  float eps = op.getEpsilon().convertToFloat();
  SmallVector<AffineMap> maps{b.getMultiDimIdentityMap(rank),
                              dropAxesMap(rank, axes),
                              broadcastMap(tensorTy(op.getScale()), xt),
                              b.getMultiDimIdentityMap(rank)};
  Value y = linalg::GenericOp::create(
                b, loc, TypeRange{xt}, ValueRange{x, ss, op.getScale()},
                ValueRange{empty(loc, sizesOf(x), elem)}, maps,
                SmallVector<IteratorType>(rank, IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange a) {
                  Value ms = arith::DivFOp::create(nb, nl, a[1], n);
                  Value inv = math::RsqrtOp::create(
                      nb, nl,
                      arith::AddFOp::create(nb, nl, ms,
                                            scalarConstant(nb, nl, ct, eps)));
                  Value r = arith::MulFOp::create(
                      nb, nl,
                      arith::MulFOp::create(nb, nl, extendTo(nb, nl, a[0], ct),
                                            inv),
                      extendTo(nb, nl, a[2], ct));
                  linalg::YieldOp::create(nb, nl, truncTo(nb, nl, r, elem));
                })
                .getResult(0);
  b.replaceOp(op, y);
  return success();
}

template <typename OpT> LogicalResult FunctionLowering::lowerReduce(OpT op) {
  Location loc = op.getLoc();
  Value x = op.getInput();
  Type elem = tensorTy(x).getElementType();
  bool isFloat = isa<FloatType>(elem), isUnsigned = isUnsignedIn(op);
  Type ct = computeType(elem);
  ArrayRef<int64_t> axes = op.getAxes();
  double init = 0;
  std::function<Value(OpBuilder &, Location, Value, Value)> combine;
  auto ext = [&](OpBuilder &nb, Location nl, Value v) {
    return isFloat ? extendTo(nb, nl, v, ct) : v;
  };
  if constexpr (std::is_same_v<OpT, ReduceMaxOp> ||
                std::is_same_v<OpT, ReduceMinOp>) {
    constexpr bool isMax = std::is_same_v<OpT, ReduceMaxOp>;
    if (isFloat)
      init = isMax ? -INFINITY : INFINITY;
    else
      init = isMax ? (double)std::numeric_limits<int64_t>::min()
                   : (double)std::numeric_limits<int64_t>::max();
    if (!isFloat && elem.getIntOrFloatBitWidth() < 64)
      init = isMax ? -std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1)
                   : std::ldexp(1.0, elem.getIntOrFloatBitWidth() - 1) - 1;
    if (isUnsigned) // 0 and all ones (-1 truncates to the width)
      init = isMax ? 0 : -1;
    combine = [&, isFloat, isUnsigned](OpBuilder &nb, Location nl, Value v,
                                       Value acc) -> Value {
      v = ext(nb, nl, v);
      if (isFloat)
        return isMax ? (Value)arith::MaximumFOp::create(nb, nl, v, acc)
                     : (Value)arith::MinimumFOp::create(nb, nl, v, acc);
      if (isUnsigned)
        return isMax ? (Value)arith::MaxUIOp::create(nb, nl, v, acc)
                     : (Value)arith::MinUIOp::create(nb, nl, v, acc);
      return isMax ? (Value)arith::MaxSIOp::create(nb, nl, v, acc)
                   : (Value)arith::MinSIOp::create(nb, nl, v, acc);
    };
  } else if constexpr (std::is_same_v<OpT, ReduceProdOp>) {
    init = 1;
    combine = [&, isFloat](OpBuilder &nb, Location nl, Value v,
                           Value acc) -> Value {
      v = ext(nb, nl, v);
      return isFloat ? (Value)arith::MulFOp::create(nb, nl, v, acc)
                     : (Value)arith::MulIOp::create(nb, nl, v, acc);
    };
  } else {
    combine = [&, isFloat](OpBuilder &nb, Location nl, Value v,
                           Value acc) -> Value {
      v = ext(nb, nl, v);
      return isFloat ? (Value)arith::AddFOp::create(nb, nl, v, acc)
                     : (Value)arith::AddIOp::create(nb, nl, v, acc);
    };
  }
  Value r = reduce(loc, x, axes, ct, init, combine);
  auto rt = tensorTy(r);
  if (std::is_same_v<OpT, ReduceMeanOp> || ct != elem) {
    bool mean = std::is_same_v<OpT, ReduceMeanOp>;
    Value n = mean ? countOf(loc, x, axes, ct) : Value();
    auto outT = RankedTensorType::get(rt.getShape(), elem);
    r = elementwise(loc, outT, ValueRange{r},
                    [&](OpBuilder &nb, Location nl, ValueRange a) {
                      Value v = a[0];
                      if (mean && isFloat)
                        v = arith::DivFOp::create(nb, nl, v, n);
                      else if (mean)
                        v = isUnsigned
                                ? (Value)arith::DivUIOp::create(nb, nl, v, n)
                                : (Value)arith::DivSIOp::create(nb, nl, v, n);
                      return isFloat ? truncTo(nb, nl, v, elem) : v;
                    });
  }
  if (op.getKeepdims()) {
    SmallVector<OpFoldResult> xs = sizesOf(x), sizes;
    for (int64_t d = 0; d < (int64_t)xs.size(); ++d)
      sizes.push_back(llvm::is_contained(axes, d) ? b.getIndexAttr(1) : xs[d]);
    r = reshape(loc, r, op.getType(), sizes);
  }
  b.replaceOp(op, r);
  return success();
}

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// result[pre..., idx..., post...] = data[pre..., clamp(indices[idx...]), post...]
LogicalResult FunctionLowering::lowerGather(GatherOp op) {
  Location loc = op.getLoc();
  Value data = op.getData(), indices = op.getIndices();
  auto rt = op.getType();
  int64_t axis = op.getAxis(), rank = rt.getRank();
  int64_t idxRank = tensorTy(indices).getRank();
  int64_t dataRank = tensorTy(data).getRank();
  SmallVector<OpFoldResult> ds = sizesOf(data), is = sizesOf(indices);
  SmallVector<OpFoldResult> sizes(ds.begin(), ds.begin() + axis);
  sizes.append(is.begin(), is.end());
  sizes.append(ds.begin() + axis + 1, ds.end());
  Value init = empty(loc, sizes, rt.getElementType());
  SmallVector<AffineExpr> idxExprs;
  for (int64_t i = 0; i < idxRank; ++i)
    idxExprs.push_back(b.getAffineDimExpr(axis + i));
  SmallVector<AffineMap> maps{
      AffineMap::get(rank, 0, idxExprs, b.getContext()),
      b.getMultiDimIdentityMap(rank)};
  Value axisExtent = getValueOrCreateConstantIndexOp(b, loc, ds[axis]);
  Value r =
      linalg::GenericOp::create(
          b, loc, TypeRange{rt}, ValueRange{indices}, ValueRange{init}, maps,
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange a) {
            Value i = arith::IndexCastOp::create(nb, nl, nb.getIndexType(),
                                                 a[0]);
            Value zero = arith::ConstantIndexOp::create(nb, nl, 0);
            Value neg = arith::CmpIOp::create(nb, nl, arith::CmpIPredicate::slt,
                                              i, zero);
            i = arith::SelectOp::create(
                nb, nl, neg, arith::AddIOp::create(nb, nl, i, axisExtent), i);
            // Out-of-range indices clamp instead of reading out of bounds.
            Value last = arith::SubIOp::create(
                nb, nl, axisExtent, arith::ConstantIndexOp::create(nb, nl, 1));
            i = arith::MaxSIOp::create(nb, nl, i, zero);
            i = arith::MinSIOp::create(nb, nl, i, last);
            SmallVector<Value> coords;
            for (int64_t d = 0; d < axis; ++d)
              coords.push_back(linalg::IndexOp::create(nb, nl, d));
            coords.push_back(i);
            for (int64_t d = axis + 1; d < dataRank; ++d)
              coords.push_back(
                  linalg::IndexOp::create(nb, nl, d - 1 + idxRank));
            linalg::YieldOp::create(
                nb, nl, (Value)tensor::ExtractOp::create(nb, nl, data, coords));
          })
          .getResult(0);
  b.replaceOp(op, r);
  return success();
}

LogicalResult FunctionLowering::lowerConcat(ConcatOp op) {
  Location loc = op.getLoc();
  int64_t axis = op.getAxis();
  auto inputs = op.getInputs();
  SmallVector<OpFoldResult> sizes = sizesOf(inputs[0]);
  Value total = getValueOrCreateConstantIndexOp(b, loc, sizes[axis]);
  for (Value in : inputs.drop_front())
    total = arith::AddIOp::create(b, loc, total,
                                  tensor::DimOp::create(b, loc, in, axis));
  sizes[axis] = getAsOpFoldResult(total);
  Value acc = empty(loc, sizes, op.getType().getElementType());
  Value offset = arith::ConstantIndexOp::create(b, loc, 0);
  int64_t rank = op.getType().getRank();
  for (Value in : inputs) {
    SmallVector<OpFoldResult> offs(rank, b.getIndexAttr(0));
    offs[axis] = offset;
    SmallVector<OpFoldResult> strides(rank, b.getIndexAttr(1));
    acc = tensor::InsertSliceOp::create(b, loc, in, acc, offs, sizesOf(in),
                                        strides);
    offset = arith::AddIOp::create(b, loc, offset,
                                   tensor::DimOp::create(b, loc, in, axis));
  }
  b.replaceOp(op, tensor::CastOp::create(b, loc, op.getType(), acc));
  return success();
}

LogicalResult FunctionLowering::lowerSlice(SliceOp op) {
  Location loc = op.getLoc();
  SmallVector<OpFoldResult> offs =
      materializeShape(b, loc, op.getOffsets(), symbols);
  SmallVector<OpFoldResult> sizes =
      materializeShape(b, loc, op.getSizes(), symbols);
  ArrayRef<int64_t> steps = op.getStrides();
  // An empty result reads nothing. extract_slice would verify its offsets
  // against the source even then (start 10 of 10 is out of bounds), so the
  // result is a fresh empty tensor instead.
  if (llvm::is_contained(op.getType().getShape(), 0)) {
    Value e = empty(loc, sizes, op.getType().getElementType());
    if (e.getType() != op.getType())
      e = tensor::CastOp::create(b, loc, op.getType(), e);
    b.replaceOp(op, e);
    return success();
  }
  if (llvm::all_of(steps, [](int64_t s) { return s > 0; })) {
    SmallVector<OpFoldResult> strides;
    for (int64_t s : steps)
      strides.push_back(b.getIndexAttr(s));
    Value r = tensor::ExtractSliceOp::create(b, loc, op.getType(), op.getInput(),
                                             offs, sizes, strides);
    b.replaceOp(op, r);
    return success();
  }
  // Negative steps: gather element by element.
  int64_t rank = op.getType().getRank();
  Value init = empty(loc, sizes, op.getType().getElementType());
  Value input = op.getInput();
  Value r = linalg::GenericOp::create(
                b, loc, TypeRange{op.getType()}, ValueRange{},
                ValueRange{init},
                SmallVector<AffineMap>{b.getMultiDimIdentityMap(rank)},
                SmallVector<IteratorType>(rank, IteratorType::parallel),
                [&](OpBuilder &nb, Location nl, ValueRange) {
                  SmallVector<Value> coords;
                  for (int64_t d = 0; d < rank; ++d) {
                    Value i = linalg::IndexOp::create(nb, nl, d);
                    Value s = arith::ConstantIndexOp::create(nb, nl, steps[d]);
                    Value o = getValueOrCreateConstantIndexOp(nb, nl, offs[d]);
                    coords.push_back(arith::AddIOp::create(
                        nb, nl, o, arith::MulIOp::create(nb, nl, i, s)));
                  }
                  linalg::YieldOp::create(
                      nb, nl,
                      (Value)tensor::ExtractOp::create(nb, nl, input, coords));
                })
                .getResult(0);
  b.replaceOp(op, r);
  return success();
}

//===----------------------------------------------------------------------===//
// Dispatch
//===----------------------------------------------------------------------===//

LogicalResult FunctionLowering::lowerOp(Operation *op) {
  Location loc = op->getLoc();
  b.setInsertionPoint(op);
  if (op->getNumResults() == 1 &&
      (isa<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, ModOp, AndOp, OrOp,
           EqualOp, LessOp, LessEqualOp, GreaterOp, GreaterEqualOp>(op))) {
    auto rt = cast<RankedTensorType>(op->getResult(0).getType());
    bool isUnsigned = isUnsignedIn(op);
    Value r = elementwise(loc, rt, op->getOperands(),
                          [&](OpBuilder &nb, Location nl, ValueRange a) {
                            return binaryBody(nb, nl, op, a[0], a[1],
                                              isUnsigned);
                          });
    b.replaceOp(op, r);
    return success();
  }
  if (isa<NegOp, AbsOp, SqrtOp, RsqrtOp, ExpOp, LogOp, ErfOp, TanhOp, SinOp,
          CosOp, FloorOp, CeilOp, RoundOp, SigmoidOp, SiluOp, ReluOp,
          ReciprocalOp, NotOp, GeluOp>(op)) {
    auto rt = cast<RankedTensorType>(op->getResult(0).getType());
    Type elem = rt.getElementType();
    bool widen = isa<FloatType>(elem) && computeType(elem) != elem;
    bool isUnsigned = isUnsignedIn(op);
    Value r = elementwise(loc, rt, op->getOperand(0),
                          [&](OpBuilder &nb, Location nl, ValueRange a) {
                            Value x = a[0];
                            if (widen)
                              x = extendTo(nb, nl, x, computeType(elem));
                            Value y = unaryBody(nb, nl, op, x, isUnsigned);
                            return widen ? truncTo(nb, nl, y, elem) : y;
                          });
    b.replaceOp(op, r);
    return success();
  }
  return llvm::TypeSwitch<Operation *, LogicalResult>(op)
      .Case<ConstantOp>([&](ConstantOp c) {
        b.replaceOp(c, arith::ConstantOp::create(b, loc, c.getType(),
                                                 cast<TypedAttr>(c.getValue())));
        return success();
      })
      .Case<CastOp>([&](CastOp c) {
        Type to = c.getType().getElementType();
        bool fromUnsigned = isUnsignedIn(c),
             toUnsigned = unsignedResult.contains(c);
        b.replaceOp(c, elementwise(loc, c.getType(), c.getInput(),
                                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                                     return castScalar(nb, nl, a[0], to,
                                                       fromUnsigned, toUnsigned);
                                   }));
        return success();
      })
      .Case<ClipOp>([&](ClipOp c) {
        Type t = c.getType().getElementType();
        double lo = c.getMin().convertToDouble(), hi = c.getMax().convertToDouble();
        bool isUnsigned = isUnsignedIn(c);
        b.replaceOp(c, elementwise(loc, c.getType(), c.getInput(),
                                   [&](OpBuilder &nb, Location nl, ValueRange a) {
                                     Value x = a[0];
                                     bool f = isa<FloatType>(t);
                                     if (std::isfinite(lo) || f) {
                                       Value l = scalarConstant(nb, nl, t, lo);
                                       x = f ? (Value)arith::MaximumFOp::create(nb, nl, x, l)
                                           : isUnsigned ? (Value)arith::MaxUIOp::create(nb, nl, x, l)
                                                        : (Value)arith::MaxSIOp::create(nb, nl, x, l);
                                     }
                                     if (std::isfinite(hi) || f) {
                                       Value h = scalarConstant(nb, nl, t, hi);
                                       x = f ? (Value)arith::MinimumFOp::create(nb, nl, x, h)
                                           : isUnsigned ? (Value)arith::MinUIOp::create(nb, nl, x, h)
                                                        : (Value)arith::MinSIOp::create(nb, nl, x, h);
                                     }
                                     return x;
                                   }));
        return success();
      })
      .Case<WhereOp>([&](WhereOp w) {
        b.replaceOp(w, elementwise(loc, w.getType(), w->getOperands(),
                                   [](OpBuilder &nb, Location nl, ValueRange a) {
                                     return (Value)arith::SelectOp::create(
                                         nb, nl, a[0], a[1], a[2]);
                                   }));
        return success();
      })
      .Case<MatMulOp>([&](MatMulOp m) { return lowerMatMul(m); })
      .Case<LinearOp>([&](LinearOp l) { return lowerLinear(l); })
      .Case<SoftmaxOp>([&](SoftmaxOp s) { return lowerSoftmax(s); })
      .Case<AttentionOp>([&](AttentionOp a) { return lowerAttention(a); })
      .Case<LayerNormOp>([&](LayerNormOp l) { return lowerLayerNorm(l); })
      .Case<RMSNormOp>([&](RMSNormOp r) { return lowerRMSNorm(r); })
      .Case<RotaryOp>([&](RotaryOp r) { return lowerRotary(r); })
      .Case<ReduceSumOp>([&](auto r) { return lowerReduce(r); })
      .Case<ReduceMeanOp>([&](auto r) { return lowerReduce(r); })
      .Case<ReduceMaxOp>([&](auto r) { return lowerReduce(r); })
      .Case<ReduceMinOp>([&](auto r) { return lowerReduce(r); })
      .Case<ReduceProdOp>([&](auto r) { return lowerReduce(r); })
      .Case<GatherOp>([&](GatherOp g) { return lowerGather(g); })
      .Case<ConcatOp>([&](ConcatOp c) { return lowerConcat(c); })
      .Case<SliceOp>([&](SliceOp s) { return lowerSlice(s); })
      .Case<TransposeOp>([&](TransposeOp t) {
        SmallVector<OpFoldResult> in = sizesOf(t.getInput()), out;
        for (int64_t p : t.getPerm())
          out.push_back(in[p]);
        Value init = empty(loc, out, t.getType().getElementType());
        b.replaceOp(t, linalg::TransposeOp::create(b, loc, t.getInput(), init,
                                                   t.getPerm())
                           .getResult()[0]);
        return success();
      })
      .Case<ReshapeOp>([&](ReshapeOp r) {
        b.replaceOp(r, reshape(loc, r.getInput(), r.getType(),
                               materializeShape(b, loc, r.getShape(), symbols)));
        return success();
      })
      .Case<ExpandOp>([&](ExpandOp e) {
        auto rt = e.getType();
        Value init = empty(loc, materializeShape(b, loc, e.getShape(), symbols),
                           rt.getElementType());
        int64_t rank = rt.getRank();
        SmallVector<AffineMap> maps{broadcastMap(tensorTy(e.getInput()), rt),
                                    b.getMultiDimIdentityMap(rank)};
        b.replaceOp(e, linalg::GenericOp::create(
                           b, loc, TypeRange{rt}, ValueRange{e.getInput()},
                           ValueRange{init}, maps,
                           SmallVector<IteratorType>(rank, IteratorType::parallel),
                           [](OpBuilder &nb, Location nl, ValueRange a) {
                             linalg::YieldOp::create(nb, nl, a[0]);
                           })
                           .getResult(0));
        return success();
      })
      .Case<FillOp>([&](FillOp f) {
        Value init = empty(loc, materializeShape(b, loc, f.getShape(), symbols),
                           f.getType().getElementType());
        Value v = arith::ConstantOp::create(b, loc, f.getValue());
        b.replaceOp(f, linalg::FillOp::create(b, loc, ValueRange{v},
                                              ValueRange{init})
                           .getResult(0));
        return success();
      })
      .Case<SymbolicValuesOp>([&](SymbolicValuesOp s) {
        Type elem = s.getType().getElementType();
        SmallVector<Value> elems;
        for (AffineExpr e : s.getValues().getResults())
          elems.push_back(arith::IndexCastOp::create(
              b, loc, elem, materializeSymExpr(b, loc, e, symbols)));
        b.replaceOp(s, tensor::FromElementsOp::create(b, loc, s.getType(), elems));
        return success();
      })
      .Case<RangeOp>([&](RangeOp r) {
        Type elem = r.getType().getElementType();
        Value start = materializeSymExpr(b, loc, r.getStart().getResult(0), symbols);
        Value init = empty(loc, materializeShape(b, loc, r.getSize(), symbols), elem);
        int64_t step = r.getStep();
        b.replaceOp(r, linalg::GenericOp::create(
                           b, loc, TypeRange{r.getType()}, ValueRange{},
                           ValueRange{init},
                           SmallVector<AffineMap>{b.getMultiDimIdentityMap(1)},
                           SmallVector<IteratorType>{IteratorType::parallel},
                           [&](OpBuilder &nb, Location nl, ValueRange) {
                             Value i = linalg::IndexOp::create(nb, nl, 0);
                             Value v = arith::AddIOp::create(
                                 nb, nl, start,
                                 arith::MulIOp::create(
                                     nb, nl, i,
                                     arith::ConstantIndexOp::create(nb, nl, step)));
                             Value i64 = arith::IndexCastOp::create(
                                 nb, nl, nb.getI64Type(), v);
                             linalg::YieldOp::create(nb, nl,
                                                     castScalar(nb, nl, i64, elem));
                           })
                           .getResult(0));
        return success();
      })
      .Case<TriluOp>([&](TriluOp t) {
        auto rt = t.getType();
        int64_t rank = rt.getRank();
        bool upper = t.getUpper();
        int64_t kOff = t.getK();
        Type elem = rt.getElementType();
        b.replaceOp(t, elementwise(
                           loc, rt, t.getInput(),
                           [&](OpBuilder &nb, Location nl, ValueRange a) {
                             Value i = linalg::IndexOp::create(nb, nl, rank - 2);
                             Value j = linalg::IndexOp::create(nb, nl, rank - 1);
                             Value diff = arith::SubIOp::create(nb, nl, j, i);
                             Value k = arith::ConstantIndexOp::create(nb, nl, kOff);
                             Value keep = arith::CmpIOp::create(
                                 nb, nl,
                                 upper ? arith::CmpIPredicate::sge
                                       : arith::CmpIPredicate::sle,
                                 diff, k);
                             Value zero = arith::ConstantOp::create(
                                 nb, nl, nb.getZeroAttr(elem));
                             return (Value)arith::SelectOp::create(nb, nl, keep,
                                                                   a[0], zero);
                           }));
        return success();
      })
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
  return success();
}

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
                                kvCacheViews);
      if (failed(lowering.run()))
        return signalPassFailure();
    }
  }
};

} // namespace
