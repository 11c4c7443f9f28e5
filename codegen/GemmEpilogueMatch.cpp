//===- GemmEpilogueMatch.cpp - kiln.linear's epilogue after a GEMM --------===//
#include "codegen/GemmEpilogueMatch.h"
#include "dialects/kiln/KilnDialect.h"

#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

/// The buffer `v` is a view of (itself when it is none).
static Value rootBuffer(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return v;
}

std::optional<kiln::GemmEpilogue> kiln::findGemmEpilogue(Operation *mm, Value c,
                                                         Operation *zeroing) {
  linalg::GenericOp g;
  for (Operation *next = mm->getNextNode(); next && !g;
       next = next->getNextNode()) {
    g = dyn_cast<linalg::GenericOp>(next);
    if (!g && !isPure(next) && !isa<memref::AllocOp>(next))
      return std::nullopt;
  }
  auto attr =
      g ? g->getAttrOfType<DictionaryAttr>(kEpilogueAttr) : DictionaryAttr();
  if (!attr)
    return std::nullopt;
  auto act = attr.getAs<StringAttr>("activation");
  auto bias = attr.getAs<BoolAttr>("bias");
  if (!act || !bias ||
      !llvm::is_contained({"none", "relu", "gelu", "gelu_tanh", "silu"},
                          act.getValue()))
    return std::nullopt;
  unsigned inputs = bias.getValue() ? 2 : 1;
  if (!g.hasPureBufferSemantics() || g.getNumDpsInputs() != inputs ||
      g.getNumDpsInits() != 1 || g.getNumLoops() != 2 ||
      g.getNumParallelLoops() != 2 || g.getDpsInputs()[0] != c)
    return std::nullopt;
  MLIRContext *ctx = mm->getContext();
  AffineMap id = AffineMap::getMultiDimIdentityMap(2, ctx);
  SmallVector<AffineMap> want{id};
  if (bias.getValue())
    want.push_back(AffineMap::get(2, 0, {getAffineDimExpr(1, ctx)}, ctx));
  want.push_back(id);
  if (g.getIndexingMapsArray() != want)
    return std::nullopt;
  for (Value v : g->getOperands())
    if (!cast<MemRefType>(v.getType()).getElementType().isF32())
      return std::nullopt;
  // The kernel writes the epilogue's output while it reads the matmul's
  // operands and the bias, so it must not be one of them (CSE merges the
  // empty inits of same-shaped epilogues, and bufferization may then write
  // a linear's output into its own input).
  Value out = rootBuffer(g.getDpsInits()[0]);
  for (Value in : cast<linalg::LinalgOp>(mm).getDpsInputs())
    if (rootBuffer(in) == out)
      return std::nullopt;
  if (bias.getValue() && rootBuffer(g.getDpsInputs()[1]) == out)
    return std::nullopt;
  // Whatever used c before the matmul is unaffected when the kernel writes
  // elsewhere; after it, only the epilogue may read c, unless the epilogue
  // writes c itself.
  bool inPlace = g.getDpsInits()[0] == c;
  Block *block = mm->getBlock();
  for (Operation *user : c.getUsers()) {
    if (user == mm || user == zeroing || user == g.getOperation() ||
        isa<memref::DimOp>(user))
      continue;
    Operation *inBlock = block->findAncestorOpInBlock(*user);
    if (!inBlock || !(inBlock->isBeforeInBlock(mm) ||
                      (inPlace && g->isBeforeInBlock(inBlock))))
      return std::nullopt;
  }
  return GemmEpilogue{g, act.getValue(),
                      bias.getValue() ? g.getDpsInputs()[1] : Value(),
                      g.getDpsInits()[0]};
}

void kiln::eraseGemmAndEpilogue(Operation *mm, const GemmEpilogue &epilogue,
                                Value c) {
  epilogue.generic->erase();
  Operation *cDef = c.getDefiningOp();
  mm->erase();
  if (!isa_and_nonnull<memref::AllocOp>(cDef) ||
      !llvm::all_of(c.getUsers(),
                    [](Operation *u) { return isa<memref::DimOp>(u); }))
    return;
  for (Operation *u : llvm::make_early_inc_range(c.getUsers()))
    if (u->use_empty())
      u->erase();
  if (c.use_empty())
    cDef->erase();
}
