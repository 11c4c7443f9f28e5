//===- PlanMemory.cpp - One arena per call for a function's buffers ----===//
#include "codegen/Passes.h"

#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNPLANMEMORY
#include "codegen/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

constexpr int64_t kAlign = 64;
// Larger static parts are left to separate allocations: their byte counts
// would come close to overflowing the size arithmetic.
constexpr int64_t kMaxStaticBytes = int64_t(1) << 40;
// Stand-in for a dynamic extent when two slots' sizes are compared.
constexpr int64_t kGuessedExtent = 128;

struct Buffer {
  memref::AllocOp alloc;
  memref::DeallocOp dealloc;
  // Where its lifetime lies in the function body: from the alloc to the
  // dealloc, or for a buffer inside a loop or a conditional, from the op of
  // the body that holds both to the op after it (it takes its slot for the
  // whole op).
  Operation *start, *freedBy;
  int64_t staticBytes;
  SmallVector<Value> sizes; // the alloc's dynamic sizes, computed at entry
  unsigned slot = 0;
};

/// Computes index values at the function's entry: an argument's dims, and
/// pure arithmetic over them. A dim of a buffer or of a view is traced to the
/// value it was made from, since the buffers themselves do not exist yet.
class EntryValues {
public:
  explicit EntryValues(Block &body) : body(body), b(&body, body.begin()) {}

  /// `v`'s value computed at entry, or null where it depends on data.
  Value get(Value v) {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg.getOwner() == &body ? v : Value();
    auto it = memo.find(v);
    if (it != memo.end())
      return it->second;
    memo[v] = Value();
    Value result = compute(v);
    memo[v] = result;
    return result;
  }

  Value constant(int64_t value) {
    Value &c = constants[value];
    if (!c)
      c = arith::ConstantIndexOp::create(b, body.getParent()->getLoc(), value);
    return c;
  }

  OpBuilder &builder() { return b; }

private:
  Value compute(Value v) {
    Operation *def = v.getDefiningOp();
    if (auto dim = dyn_cast<memref::DimOp>(def)) {
      std::optional<int64_t> index = dim.getConstantIndex();
      if (!index)
        return Value();
      return dimOf(dim.getSource(), *index);
    }
    if (def->getBlock() != &body || !isPure(def) || def->getNumRegions())
      return Value();
    IRMapping mapping;
    for (Value operand : def->getOperands()) {
      Value entry = get(operand);
      if (!entry)
        return Value();
      mapping.map(operand, entry);
    }
    Operation *clone = b.clone(*def, mapping);
    return clone->getResult(cast<OpResult>(v).getResultNumber());
  }

  /// Extent `index` of `buffer`.
  Value dimOf(Value buffer, int64_t index) {
    auto type = dyn_cast<MemRefType>(buffer.getType());
    if (!type || index < 0 || index >= type.getRank())
      return Value();
    if (!type.isDynamicDim(index))
      return constant(type.getDimSize(index));
    if (auto arg = dyn_cast<BlockArgument>(buffer)) {
      if (arg.getOwner() != &body)
        return Value();
      return memref::DimOp::create(b, arg.getLoc(), arg, constant(index));
    }
    Operation *def = buffer.getDefiningOp();
    auto mixed = [&](OpFoldResult size) -> Value {
      if (auto attr = dyn_cast<Attribute>(size))
        return constant(cast<IntegerAttr>(attr).getInt());
      return get(cast<Value>(size));
    };
    if (auto alloc = dyn_cast<memref::AllocOp>(def))
      return get(alloc.getDynamicSizes()[type.getDynamicDimIndex(index)]);
    if (auto view = dyn_cast<memref::ViewOp>(def))
      return get(view.getSizes()[type.getDynamicDimIndex(index)]);
    if (auto cast = dyn_cast<memref::CastOp>(def))
      return dimOf(cast.getSource(), index);
    if (auto expand = dyn_cast<memref::ExpandShapeOp>(def))
      return mixed(expand.getMixedOutputShape()[index]);
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(def)) {
      Value product = constant(1);
      // getReassociationIndices returns a temporary: keep it alive.
      SmallVector<ReassociationIndices> groups =
          collapse.getReassociationIndices();
      for (int64_t d : groups[index]) {
        Value extent = dimOf(collapse.getSrc(), d);
        if (!extent)
          return Value();
        product = b.createOrFold<arith::MulIOp>(def->getLoc(), product, extent);
      }
      return product;
    }
    if (auto subview = dyn_cast<memref::SubViewOp>(def))
      if (subview.getSourceType().getRank() == type.getRank())
        return mixed(subview.getMixedSizes()[index]);
    return Value();
  }

  Block &body;
  OpBuilder b;
  DenseMap<Value, Value> memo;
  DenseMap<int64_t, Value> constants;
};

struct Slot {
  SmallVector<unsigned> buffers;
  Operation *freedAt = nullptr; // dealloc of the last buffer, null while live
  int64_t guessedBytes = 0;
};

/// The buffer `v` is a view of, following view-like ops and metadata
/// extraction (how the deallocation pipeline names a base buffer).
Value rootBuffer(Value v) {
  while (Operation *def = v.getDefiningOp()) {
    if (auto meta = dyn_cast<memref::ExtractStridedMetadataOp>(def))
      v = meta.getSource();
    else if (auto view = dyn_cast<ViewLikeOpInterface>(def))
      v = view.getViewSource();
    else
      break;
  }
  return v;
}

struct KilnPlanMemoryPass : kiln::impl::KilnPlanMemoryBase<KilnPlanMemoryPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal() || !func.getBody().hasOneBlock())
      return;
    Block &body = func.getBody().front();

    // Deallocs per alloc; an alloc freed twice, or in another block than
    // its own, has no lifetime the plan can place.
    DenseMap<Operation *, memref::DeallocOp> deallocOf;
    DenseSet<Operation *> excluded;
    func.walk([&](memref::DeallocOp dealloc) {
      Operation *root = rootBuffer(dealloc.getMemref()).getDefiningOp();
      if (!isa_and_nonnull<memref::AllocOp>(root))
        return;
      if (dealloc->getBlock() != root->getBlock() || deallocOf.count(root))
        excluded.insert(root);
      deallocOf[root] = dealloc;
    });

    // The ownership-based deallocation frees every buffer at the end of
    // its block; a buffer's slot is free once the last op of the body that
    // reads or writes it, or a view of it, is done.
    DenseMap<Operation *, unsigned> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;

    // Values computed at entry that end up unused are pure and go with the
    // next canonicalization.
    EntryValues entry(body);
    std::vector<Buffer> buffers;
    func.walk([&](memref::AllocOp alloc) {
      auto dealloc = deallocOf.lookup(alloc);
      std::optional<int64_t> bytes = staticBytes(alloc.getType());
      Operation *holder = bodyOpHolding(body, alloc);
      if (!holder || !dealloc || excluded.count(alloc) || !bytes ||
          alloc.getAlignment().value_or(kAlign) > uint64_t(kAlign) ||
          !alloc.getSymbolOperands().empty())
        return;
      SmallVector<Value> sizes;
      for (Value size : alloc.getDynamicSizes())
        if (Value atEntry = entry.get(size))
          sizes.push_back(atEntry);
      if (sizes.size() != alloc.getDynamicSizes().size())
        return;
      Operation *freedBy = holder == alloc.getOperation()
                               ? lastUseEnd(body, alloc, dealloc, position)
                               : holder->getNextNode();
      buffers.push_back(
          {alloc, dealloc, holder, freedBy, *bytes, std::move(sizes)});
    });
    if (buffers.empty())
      return;

    std::vector<Slot> slots = assignSlots(body, buffers);
    emit(body, buffers, slots, entry);
  }

  /// The op of `body` after the last one that uses `alloc` or a memref an
  /// op made from it (a view, or anything else returned), other than
  /// `dealloc`:
  /// where the buffer's slot becomes free. `dealloc` itself where a use is
  /// the terminator (the buffer escapes) or lies outside `body`'s ops.
  static Operation *
  lastUseEnd(Block &body, memref::AllocOp alloc, memref::DeallocOp dealloc,
             const DenseMap<Operation *, unsigned> &position) {
    Operation *last = alloc;
    SmallVector<Value> aliases{alloc.getResult()};
    while (!aliases.empty()) {
      Value v = aliases.pop_back_val();
      for (OpOperand &use : v.getUses()) {
        Operation *user = use.getOwner();
        if (user == dealloc.getOperation())
          continue;
        // Any memref an op returns may alias its operand (a view, a loop's
        // or conditional's yielded buffer, a select): followed too.
        for (Value result : user->getResults())
          if (isa<BaseMemRefType>(result.getType()))
            aliases.push_back(result);
        Operation *top = body.findAncestorOpInBlock(*user);
        if (!top || top->hasTrait<OpTrait::IsTerminator>())
          return dealloc;
        if (position.lookup(top) > position.lookup(last))
          last = top;
      }
    }
    return last->getNextNode();
  }

  /// The op of `body` that is or holds `alloc`, where every region between
  /// them runs its iterations one after the other (scf.for, scf.while,
  /// scf.if): a slot then serves each iteration in turn. Null inside a
  /// parallel loop or any other region, where iterations may overlap.
  static Operation *bodyOpHolding(Block &body, memref::AllocOp alloc) {
    Operation *op = alloc;
    while (op->getBlock() != &body) {
      Operation *parent = op->getParentOp();
      if (!parent || !isa<scf::ForOp, scf::WhileOp, scf::IfOp>(parent))
        return nullptr;
      op = parent;
    }
    return op;
  }

  static std::optional<int64_t> staticBytes(MemRefType type) {
    Type element = type.getElementType();
    if (!type.getLayout().isIdentity() || type.getMemorySpace() ||
        !element.isIntOrFloat())
      return std::nullopt;
    // An i1 (a mask) takes a byte in memory, as the LLVM lowering stores it.
    unsigned bits = element.getIntOrFloatBitWidth();
    if (bits != 1 && bits % 8 != 0)
      return std::nullopt;
    int64_t bytes = bits == 1 ? 1 : bits / 8;
    for (int64_t d : type.getShape()) {
      if (ShapedType::isDynamic(d))
        continue;
      if (d > kMaxStaticBytes / bytes)
        return std::nullopt;
      bytes *= d;
    }
    return bytes;
  }

  static int64_t guessBytes(const Buffer &b) {
    int64_t bytes = b.staticBytes;
    for (int64_t d : memref::AllocOp(b.alloc).getType().getShape())
      if (ShapedType::isDynamic(d))
        bytes = std::min(bytes * kGuessedExtent, kMaxStaticBytes);
    return bytes;
  }

  /// Whether two buffers certainly have the same size.
  static bool sameSize(const Buffer &a, const Buffer &b) {
    return a.staticBytes == b.staticBytes && a.sizes == b.sizes;
  }

  /// Walks the body in order; a buffer takes a slot whose last buffer was
  /// freed before it is allocated (one of the same size if there is, else
  /// the one closest in size), or a new slot. A buffer inside a loop or a
  /// conditional holds its slot from that op to the next one.
  static std::vector<Slot> assignSlots(Block &body,
                                       std::vector<Buffer> &buffers) {
    DenseMap<Operation *, SmallVector<unsigned>> startingAt;
    for (auto [i, b] : llvm::enumerate(buffers))
      startingAt[b.start].push_back(i);
    std::vector<Slot> slots;
    // Filled as buffers get slots: a buffer is freed after it starts.
    DenseMap<Operation *, SmallVector<unsigned>> slotsFreedBy;
    for (Operation &op : body) {
      auto freed = slotsFreedBy.find(&op);
      if (freed != slotsFreedBy.end())
        for (unsigned s : freed->second)
          slots[s].freedAt = &op;
      auto it = startingAt.find(&op);
      if (it == startingAt.end())
        continue;
      for (unsigned index : it->second)
        assignSlot(buffers, index, slots, slotsFreedBy);
    }
    return slots;
  }

  static void
  assignSlot(std::vector<Buffer> &buffers, unsigned index,
             std::vector<Slot> &slots,
             DenseMap<Operation *, SmallVector<unsigned>> &slotsFreedBy) {
    Buffer &b = buffers[index];
    int64_t guess = guessBytes(b);
    int best = -1;
    bool bestSame = false;
    int64_t bestDistance = 0;
    for (auto [i, slot] : llvm::enumerate(slots)) {
      if (!slot.freedAt)
        continue;
      bool same = sameSize(buffers[slot.buffers.back()], b);
      int64_t distance = std::abs(slot.guessedBytes - guess);
      if (best < 0 || (same && !bestSame) ||
          (same == bestSame && distance < bestDistance)) {
        best = i;
        bestSame = same;
        bestDistance = distance;
      }
    }
    if (best < 0) {
      best = slots.size();
      slots.emplace_back();
    }
    Slot &slot = slots[best];
    slot.buffers.push_back(index);
    slot.freedAt = nullptr;
    slot.guessedBytes = std::max(slot.guessedBytes, guess);
    b.slot = best;
    slotsFreedBy[b.freedBy].push_back(best);
  }

  static void emit(Block &body, std::vector<Buffer> &buffers,
                   std::vector<Slot> &slots, EntryValues &entry) {
    OpBuilder &b = entry.builder();
    Location loc = body.getParent()->getLoc();
    auto index = [&](int64_t v) { return entry.constant(v); };
    Value alignMask = index(~(kAlign - 1));
    Value alignAdd = index(kAlign - 1);
    SmallVector<Value> slotBytes(slots.size());
    for (Buffer &buf : buffers) {
      Value bytes;
      if (buf.alloc.getDynamicSizes().empty()) {
        bytes = index((buf.staticBytes + kAlign - 1) / kAlign * kAlign);
      } else {
        bytes = index(buf.staticBytes);
        for (Value d : buf.sizes)
          bytes = b.createOrFold<arith::MulIOp>(loc, bytes, d);
        bytes = b.createOrFold<arith::AndIOp>(
            loc, b.createOrFold<arith::AddIOp>(loc, bytes, alignAdd),
            alignMask);
      }
      Value &slot = slotBytes[buf.slot];
      slot = slot ? b.createOrFold<arith::MaxUIOp>(loc, slot, bytes) : bytes;
    }
    SmallVector<Value> offsets(slots.size());
    Value total = index(0);
    for (auto [i, bytes] : llvm::enumerate(slotBytes)) {
      offsets[i] = total;
      total = b.createOrFold<arith::AddIOp>(loc, total, bytes);
    }
    auto arenaType =
        MemRefType::get({ShapedType::kDynamic}, b.getIntegerType(8));
    auto arenaAlloc = memref::AllocOp::create(
        b, loc, arenaType, ValueRange{total}, b.getI64IntegerAttr(kAlign));
    // For the compile's footprint report (codegen/ArenaSize.h).
    arenaAlloc->setAttr("kiln.arena", b.getUnitAttr());
    Value arena = arenaAlloc;

    for (Buffer &buf : buffers) {
      b.setInsertionPoint(buf.alloc);
      // The alloc's own sizes: they are equal to buf.sizes, and keep the IR
      // after the entry as it was.
      Value view = memref::ViewOp::create(
          b, buf.alloc.getLoc(), buf.alloc.getType(), arena, offsets[buf.slot],
          buf.alloc.getDynamicSizes());
      buf.alloc.replaceAllUsesWith(view);
      buf.dealloc.erase();
      buf.alloc.erase();
    }
    b.setInsertionPoint(body.getTerminator());
    memref::DeallocOp::create(b, loc, arena);
  }
};

} // namespace
