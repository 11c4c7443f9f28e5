//===- AttentionKernelCall.cpp - kiln.attention as a runtime call ---------===//
#include "codegen/AttentionKernelCall.h"
#include "codegen/RuntimeCalls.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinOps.h"

using namespace mlir;

namespace {
/// The store of kiln.cast(present) to bf16 into an output argument, when
/// that cast is the only reader of `present` besides `op` and dims, and the
/// store the cast's only one.
bufferization::MaterializeInDestinationOp narrowedStore(kiln::AttentionOp op,
                                                        Value present) {
  kiln::CastOp narrow;
  for (Operation *user : present.getUsers()) {
    if (user == op || isa<tensor::DimOp>(user))
      continue;
    auto c = dyn_cast<kiln::CastOp>(user);
    Type element = c ? cast<ShapedType>(c.getType()).getElementType() : Type();
    if (!c || narrow || !(element.isBF16() || isa<Float8E4M3FNType>(element)))
      return {};
    narrow = c;
  }
  if (!narrow || !narrow->hasOneUse())
    return {};
  auto store = dyn_cast<bufferization::MaterializeInDestinationOp>(
      *narrow->user_begin());
  if (!store || !isa<BlockArgument>(store.getDest()))
    return {};
  return store;
}
} // namespace

Value kiln::buildAttentionKernelCall(OpBuilder &b, AttentionOp op,
                                     AttentionKernel kernel,
                                     const AttentionAppend *append) {
  if (kernel != AttentionKernel::Cpu)
    append = nullptr;
  MLIRContext *ctx = b.getContext();
  Type f32 = b.getF32Type();
  for (Value v : op->getOperands())
    if (cast<ShapedType>(v.getType()).getElementType() != f32)
      return nullptr;
  if (Value mask = op.getMask();
      mask && cast<ShapedType>(mask.getType()).getRank() == 0)
    return nullptr;
  if (kernel == AttentionKernel::Cuda) {
    int64_t d = cast<ShapedType>(op.getQuery().getType()).getDimSize(3);
    int64_t dv = cast<ShapedType>(op.getValue().getType()).getDimSize(3);
    if (dv != d || !llvm::is_contained({16, 32, 64, 80, 96, 128}, d))
      return nullptr;
  }
  Location loc = op.getLoc();
  // A bf16 cache is read and written where both presents are stored into
  // outputs as bf16 and nothing else reads them.
  bufferization::MaterializeInDestinationOp keyStore, valueStore;
  if (append && append->narrowPastKey && append->narrowPastValue) {
    keyStore = narrowedStore(op, op.getKey());
    valueStore = narrowedStore(op, op.getValue());
  }
  // bf16 or f8E4M3FN, one type for both (kiln-kv-cache-type gives them one).
  Type narrowType =
      keyStore
          ? cast<ShapedType>(keyStore.getSource().getType()).getElementType()
          : Type();
  const bool narrowCache =
      keyStore && valueStore &&
      cast<ShapedType>(valueStore.getSource().getType()).getElementType() ==
          narrowType &&
      cast<ShapedType>(append->narrowPastKey.getType()).getElementType() ==
          narrowType &&
      cast<ShapedType>(append->narrowPastValue.getType()).getElementType() ==
          narrowType;
  SmallVector<int64_t> dynamic(4, ShapedType::kDynamic);
  auto anyLayout = StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dynamic);
  // One declaration serves every shape and layout.
  auto argTypeOf = [&](Type element) {
    return MemRefType::get(dynamic, element, anyLayout);
  };
  auto argType = argTypeOf(f32);
  // [B, S, H, D] and [B, H, S, D], each the other's view: the CPU kernel
  // takes any strides, so heads split or merged by a transpose are read or
  // written in place instead of copied.
  const SmallVector<int64_t> swap{0, 2, 1, 3};
  auto swapped = [&](Value buffer) -> Value {
    return memref::TransposeOp::create(
        b, loc, buffer,
        AffineMapAttr::get(AffineMap::getPermutationMap(swap, ctx)));
  };

  auto bufferOf = [&](Value t) -> Value {
    auto tt = cast<RankedTensorType>(t.getType());
    if (int64_t lead = 4 - tt.getRank(); lead > 0) {
      // A mask of lower rank broadcasts over leading unit dims.
      SmallVector<int64_t> shape(lead, 1);
      shape.append(tt.getShape().begin(), tt.getShape().end());
      SmallVector<ReassociationIndices> groups;
      ReassociationIndices first;
      for (int64_t d = 0; d <= lead; ++d)
        first.push_back(d);
      groups.push_back(first);
      for (int64_t d = lead + 1; d < 4; ++d)
        groups.push_back({d});
      tt = RankedTensorType::get(shape, tt.getElementType());
      t = tensor::ExpandShapeOp::create(b, loc, tt, t, groups);
    }
    // Heads split off by a transpose are read through a transposed view.
    auto transpose = t.getDefiningOp<linalg::TransposeOp>();
    bool split = transpose && kernel == AttentionKernel::Cpu &&
                 transpose.getPermutation() == ArrayRef<int64_t>(swap);
    if (split) {
      t = transpose.getInput();
      tt = cast<RankedTensorType>(t.getType());
    }
    Type element = tt.getElementType();
    auto bufferType = MemRefType::get(tt.getShape(), element, anyLayout);
    Value buffer = bufferization::ToBufferOp::create(b, loc, bufferType, t,
                                                     /*read_only=*/true);
    return memref::CastOp::create(b, loc, argTypeOf(element),
                                  split ? swapped(buffer) : buffer);
  };
  // The present cache's buffer: the output argument it is stored into when
  // that is its only other use (the store goes), else a fresh one that
  // replaces it for its other users after the call.
  SmallVector<Operation *> stores;
  SmallVector<std::pair<Value, Value>> replaced;
  auto presentBuffer = [&](Value present) -> Value {
    SmallVector<Operation *> others;
    for (Operation *user : present.getUsers())
      if (user != op && !isa<tensor::DimOp>(user))
        others.push_back(user);
    if (others.size() == 1)
      if (auto store =
              dyn_cast<bufferization::MaterializeInDestinationOp>(others[0]))
        if (isa<BlockArgument>(store.getDest())) {
          stores.push_back(store);
          return memref::CastOp::create(b, loc, argType, store.getDest());
        }
    auto pt = cast<RankedTensorType>(present.getType());
    SmallVector<Value> dynamicSizes;
    for (int64_t d = 0; d < 4; ++d)
      if (pt.isDynamicDim(d))
        dynamicSizes.push_back(tensor::DimOp::create(b, loc, present, d));
    Value buffer =
        memref::AllocOp::create(b, loc, MemRefType::get(pt.getShape(), f32),
                                dynamicSizes, b.getI64IntegerAttr(64));
    replaced.push_back({present, buffer});
    return memref::CastOp::create(b, loc, argType, buffer);
  };
  auto narrowPresent = [&](bufferization::MaterializeInDestinationOp store) {
    stores.push_back(store);
    return memref::CastOp::create(b, loc, argTypeOf(narrowType),
                                  store.getDest());
  };
  SmallVector<Value> args{bufferOf(op.getQuery())};
  if (narrowCache) {
    args.append({bufferOf(append->narrowPastKey), bufferOf(append->newKey),
                 bufferOf(append->narrowPastValue),
                 bufferOf(append->newValue)});
    args.push_back(narrowPresent(keyStore));
    args.push_back(narrowPresent(valueStore));
    args.push_back(op.getMask() ? bufferOf(op.getMask()) : args.front());
  } else if (append) {
    args.append({bufferOf(append->pastKey), bufferOf(append->newKey),
                 bufferOf(append->pastValue), bufferOf(append->newValue)});
    args.push_back(presentBuffer(op.getKey()));
    args.push_back(presentBuffer(op.getValue()));
    // The mask operand is always there; without a mask, q stands in.
    args.push_back(op.getMask() ? bufferOf(op.getMask()) : args.front());
  } else {
    args.append({bufferOf(op.getKey()), bufferOf(op.getValue())});
    if (op.getMask())
      args.push_back(bufferOf(op.getMask()));
  }

  RankedTensorType rt = op.getType();
  SmallVector<Value> sizes;
  for (int64_t d = 0; d < 4; ++d)
    sizes.push_back(tensor::DimOp::create(
        b, loc, d == 3 ? op.getValue() : op.getQuery(), d));
  // A result whose only user merges the heads back is written in that
  // layout through a transposed view; the transpose's lowering then takes
  // the buffer as it is.
  auto user = op->hasOneUse() ? dyn_cast<TransposeOp>(*op->user_begin())
                              : TransposeOp();
  bool headsMerged = kernel == AttentionKernel::Cpu && user &&
                     user.getPerm() == ArrayRef<int64_t>(swap);
  SmallVector<int64_t> shape(rt.getShape());
  if (headsMerged) {
    std::swap(shape[1], shape[2]);
    std::swap(sizes[1], sizes[2]);
  }
  SmallVector<Value> dynamicSizes;
  for (int64_t d = 0; d < 4; ++d)
    if (ShapedType::isDynamic(shape[d]))
      dynamicSizes.push_back(sizes[d]);
  Value out = memref::AllocOp::create(b, loc, MemRefType::get(shape, f32),
                                      dynamicSizes, b.getI64IntegerAttr(64));
  args.push_back(memref::CastOp::create(b, loc, argType,
                                        headsMerged ? swapped(out) : out));
  args.push_back(arith::ConstantOp::create(
      b, loc, b.getF32FloatAttr(op.getScale().convertToFloat())));
  args.push_back(arith::ConstantOp::create(
      b, loc, b.getI32IntegerAttr(op.getCausal() ? 1 : 0)));
  if (append)
    args.push_back(arith::ConstantOp::create(
        b, loc, b.getI32IntegerAttr(op.getMask() ? 1 : 0)));

  StringRef name;
  if (narrowCache)
    name = narrowType.isBF16() ? "kiln_rt_attention_append_bf16"
                               : "kiln_rt_attention_append_f8";
  else if (append)
    name = "kiln_rt_attention_append_f32";
  else if (kernel == AttentionKernel::Cpu)
    name =
        op.getMask() ? "kiln_rt_attention_masked_f32" : "kiln_rt_attention_f32";
  else
    name = op.getMask() ? "kiln_cuda_attention_masked_f32"
                        : "kiln_cuda_attention_f32";
  func::FuncOp callee = declareRuntimeFunction(
      op->getParentOfType<ModuleOp>(), name, ValueRange(args).getTypes());
  func::CallOp::create(b, loc, callee, args);
  for (Operation *store : stores)
    store->erase();
  for (auto [present, buffer] : replaced) {
    Value filled = bufferization::ToTensorOp::create(b, loc, present.getType(),
                                                     buffer, /*restrict=*/true,
                                                     /*writable=*/true);
    present.replaceUsesWithIf(filled, [&](OpOperand &use) {
      return use.getOwner() != op && !isa<tensor::DimOp>(use.getOwner());
    });
  }
  Value result = bufferization::ToTensorOp::create(
      b, loc, RankedTensorType::get(shape, f32), out, /*restrict=*/true,
      /*writable=*/true);
  if (!headsMerged)
    return result;
  SmallVector<OpFoldResult> resultSizes;
  for (int64_t d = 0; d < 4; ++d)
    resultSizes.push_back(rt.isDynamicDim(d)
                              ? OpFoldResult(sizes[swap[d]])
                              : OpFoldResult(b.getIndexAttr(rt.getDimSize(d))));
  Value init = tensor::EmptyOp::create(b, loc, resultSizes, f32);
  Value heads =
      linalg::TransposeOp::create(b, loc, result, init, swap).getResult()[0];
  return heads.getType() == rt
             ? heads
             : (Value)tensor::CastOp::create(b, loc, rt, heads);
}
