//===- OutlineParallelLoops.cpp - Loop nests onto the runtime's pool ------===//
#include "codegen/cpu/ParallelCalls.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNOUTLINEPARALLELLOOPS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

// Elements of work one chunk should get at least, so that waking a worker
// (a few microseconds) stays small next to the chunk.
constexpr int64_t kMinWorkPerChunk = 16384;
// A nest with fewer iterations, known at compile time, stays inline.
constexpr int64_t kMinStaticIterations = 4096;

bool isConstantIndex(Value v, int64_t expected) {
  auto c = getConstantIntValue(v);
  return c && *c == expected;
}

/// Trip count of `loop` when its bounds are constants, else 1.
int64_t staticTripCount(scf::ForOp loop) {
  auto lb = getConstantIntValue(loop.getLowerBound());
  auto ub = getConstantIntValue(loop.getUpperBound());
  auto step = getConstantIntValue(loop.getStep());
  if (!lb || !ub || !step || *step <= 0 || *ub <= *lb)
    return 1;
  return (*ub - *lb + *step - 1) / *step;
}

/// Iterations of the longest loop chain inside `body` with constant bounds:
/// what one iteration of the flattened range costs beyond its inner dim.
int64_t nestedStaticWork(Block &body) {
  int64_t most = 1;
  for (Operation &op : body)
    if (auto loop = dyn_cast<scf::ForOp>(op))
      most = std::max(most, staticTripCount(loop) *
                                nestedStaticWork(*loop.getBody()));
  return most;
}

/// Which loops are flattened into the range split across threads: all but
/// the innermost, which stays one loop per chunk item for vectorization (a
/// one-dimensional nest splits its only loop).
unsigned numSplitDims(scf::ParallelOp par) {
  return par.getNumLoops() == 1 ? 1 : par.getNumLoops() - 1;
}

bool canOutline(scf::ParallelOp par) {
  if (par.getNumResults() != 0)
    return false;
  for (unsigned d = 0, e = numSplitDims(par); d < e; ++d)
    if (!isConstantIndex(par.getLowerBound()[d], 0) ||
        !isConstantIndex(par.getStep()[d], 1))
      return false;
  int64_t iterations = 1;
  for (Value ub : par.getUpperBound()) {
    auto c = getConstantIntValue(ub);
    if (!c)
      return true; // symbolic: the runtime grain decides
    iterations *= std::max<int64_t>(*c, 0);
  }
  return iterations * nestedStaticWork(*par.getBody()) >= kMinStaticIterations;
}

struct OutlineParallelLoops
    : kiln::impl::KilnOutlineParallelLoopsBase<OutlineParallelLoops> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<scf::ParallelOp> loops;
    for (auto func : module.getOps<func::FuncOp>())
      for (Block &block : func.getBody())
        for (auto par : block.getOps<scf::ParallelOp>())
          if (canOutline(par))
            loops.push_back(par);
    unsigned counter = 0;
    for (scf::ParallelOp par : loops)
      outline(module, par, counter++);
  }

  void outline(ModuleOp module, scf::ParallelOp par, unsigned index) {
    Location loc = par.getLoc();
    unsigned split = numSplitDims(par);
    unsigned n = par.getNumLoops();

    // Values the nest reads from the function; constants are recreated
    // inside instead of passed.
    llvm::SetVector<Value> above;
    getUsedValuesDefinedAbove(par.getRegion(), above);
    for (Value v : par->getOperands())
      above.insert(v);
    SmallVector<Value> captures;
    for (Value v : above)
      if (!v.getDefiningOp<arith::ConstantOp>())
        captures.push_back(v);

    // func @__kiln_par_N(%begin, %end, %grain, captures...)
    OpBuilder b(module.getBodyRegion());
    b.setInsertionPointToEnd(module.getBody());
    Type indexType = b.getIndexType();
    SmallVector<Type> argTypes(3, indexType);
    for (Value v : captures)
      argTypes.push_back(v.getType());
    std::string name = (kiln::kParallelBodyPrefix + Twine(index)).str();
    auto body =
        func::FuncOp::create(b, loc, name, b.getFunctionType(argTypes, {}));
    body.setPrivate();
    Block *entry = body.addEntryBlock();
    b.setInsertionPointToStart(entry);
    IRMapping map;
    for (auto [v, arg] :
         llvm::zip(captures, entry->getArguments().drop_front(3)))
      map.map(v, arg);
    for (Value v : above)
      if (Operation *def = v.getDefiningOp<arith::ConstantOp>())
        map.map(v, b.clone(*def)->getResult(0));

    // for %flat in [begin, end): delinearize the split dims (row-major),
    // then run the rest of the nest.
    Value begin = entry->getArgument(0), end = entry->getArgument(1);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    auto flatLoop = scf::ForOp::create(b, loc, begin, end, one);
    b.setInsertionPointToStart(flatLoop.getBody());
    Value rest = flatLoop.getInductionVar();
    SmallVector<Value> ivs(n);
    for (unsigned d = split; d-- > 0;) {
      Value extent = map.lookupOrDefault(par.getUpperBound()[d]);
      if (d == 0) {
        ivs[d] = rest;
        break;
      }
      ivs[d] = arith::RemUIOp::create(b, loc, rest, extent);
      rest = arith::DivUIOp::create(b, loc, rest, extent);
    }
    Block *innerBody = flatLoop.getBody();
    if (split < n) {
      auto inner = scf::ForOp::create(
          b, loc, map.lookupOrDefault(par.getLowerBound()[n - 1]),
          map.lookupOrDefault(par.getUpperBound()[n - 1]),
          map.lookupOrDefault(par.getStep()[n - 1]));
      ivs[n - 1] = inner.getInductionVar();
      innerBody = inner.getBody();
    }
    for (unsigned d = 0; d < n; ++d)
      map.map(par.getInductionVars()[d], ivs[d]);
    b.setInsertionPoint(innerBody->getTerminator());
    for (Operation &op : par.getBody()->without_terminator())
      b.clone(op, map);
    b.setInsertionPointToEnd(entry);
    func::ReturnOp::create(b, loc);

    // At the loop's place: the flattened extent, a grain worth a chunk, and
    // the call that kiln-lower-parallel-calls turns into kiln_rt_parallel_for.
    b.setInsertionPoint(par);
    Value total = par.getUpperBound()[0];
    for (unsigned d = 1; d < split; ++d)
      total = arith::MulIOp::create(b, loc, total, par.getUpperBound()[d]);
    Value work = arith::ConstantIndexOp::create(
        b, loc, nestedStaticWork(*par.getBody()));
    if (split < n) {
      Value extent = arith::SubIOp::create(b, loc, par.getUpperBound()[n - 1],
                                           par.getLowerBound()[n - 1]);
      work = arith::MulIOp::create(b, loc, work, extent);
    }
    Value oneOutside = arith::ConstantIndexOp::create(b, loc, 1);
    work = arith::MaxSIOp::create(b, loc, work, oneOutside);
    Value minWork = arith::ConstantIndexOp::create(b, loc, kMinWorkPerChunk);
    Value grain = arith::CeilDivSIOp::create(b, loc, minWork, work);
    SmallVector<Value> operands = {arith::ConstantIndexOp::create(b, loc, 0),
                                   total, grain};
    llvm::append_range(operands, captures);
    func::CallOp::create(b, loc, body, operands);
    par.erase();
  }
};

} // namespace
