//===- Quantize.cpp - int8 or int4 weights for f32 GEMMs by constants -----===//
//
// Each kiln.linear, and each kiln.matmul by a constant [K, N] weight,
// becomes a kiln.qlinear whose weight is quantized per output column, or a
// kiln.qlinear_int4 whose weight is quantized per group of K and column,
// symmetrically, at compile time; int4-dynamic also quantizes the
// activations of the kiln.qlinear_int4 ops an imported model has. Weights are
// converted one at a time and the f32 original freed as soon as nothing reads
// it (as kiln-mixed-precision does), so compile memory stays near one f32 copy.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/ConstantData.h"
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/NodeName.h"
#include "passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"

#include <cmath>
#include <cstring>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNQUANTIZE
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The int8 or int4 weight (one value a byte) and scales of a [k, n] f32
/// weight.
struct QuantizedWeight {
  SmallVector<float> scales;
  AsmResourceBlob data;
};

/// Quantizes the [k, n] f32 weight `w` symmetrically per group of `g` rows
/// and column into scales [ceil(k / g), n] and q = round(w / scale)
/// (nearest even) clamped to [`bottom`, `top`]. int8 (`toBottom` false)
/// takes one group (g = k: scales [n]), scale = max |w| / `top` with top
/// 127 and bottom -127. int4 (`toBottom`) takes groups of 32 to 128 with
/// top 7 and bottom -8, and, as ONNX Runtime's MatMulNBits quantizer does,
/// scale = e / -8 for the group's value e of largest magnitude (a negative
/// scale where e is positive): e becomes -8, so all 16 levels are in use
/// where max |w| / 7 would leave -8 out. Fails when a value is not finite.
FailureOr<QuantizedWeight> quantizeWeight(const float *w, int64_t k, int64_t n,
                                          int64_t g, float top, float bottom,
                                          bool toBottom) {
  int64_t groups = (k + g - 1) / g;
  QuantizedWeight q;
  q.scales.assign(size_t(groups * n), 0.0f);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float v = w[i * n + j];
      if (!std::isfinite(v))
        return failure();
      float &e = q.scales[(i / g) * n + j];
      if (std::fabs(v) > std::fabs(e))
        e = toBottom ? v : std::fabs(v);
    }
  for (float &s : q.scales) // an all-zero group keeps scale +0
    s = s == 0.0f ? 0.0f : s / (toBottom ? bottom : top);
  q.data = HeapAsmResourceBlob::allocate(size_t(k * n), 64);
  int8_t *out = reinterpret_cast<int8_t *>(q.data.getMutableData().data());
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) {
      float s = q.scales[(i / g) * n + j];
      float r = s == 0.0f ? 0.0f : std::nearbyint(w[i * n + j] / s);
      out[i * n + j] = int8_t(std::clamp(r, bottom, top));
    }
  return q;
}

struct KilnQuantizePass : kiln::impl::KilnQuantizeBase<KilnQuantizePass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (mode != "int8-dynamic" && mode != "int8-weight" &&
        mode != "int4-weight" && mode != "int4-dynamic") {
      module.emitError() << "kiln-quantize: mode must be int8-dynamic, "
                            "int8-weight, int4-weight or int4-dynamic, got '"
                         << mode << "'";
      return signalPassFailure();
    }
    if (isInt4() && (groupSize <= 0 || groupSize % 8 != 0)) {
      module.emitError() << "kiln-quantize: group-size must be a positive "
                            "multiple of 8, got "
                         << int64_t(groupSize);
      return signalPassFailure();
    }
    converted.clear();
    blobReaders.clear();
    module.walk([&](ConstantOp c) {
      if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
        if (auto *entry = res.getRawHandle().getResource())
          ++blobReaders[entry];
    });
    SmallVector<Operation *> gemms;
    module.walk([&](Operation *op) {
      if (isa<MatMulOp, LinearOp>(op))
        gemms.push_back(op);
    });
    for (Operation *op : gemms)
      quantize(op);
    if (mode == "int4-dynamic")
      module.walk([&](QLinearInt4Op op) {
        if (op.getQuant() == "row")
          return;
        if (excluded(op)) {
          ++numExcluded;
          return;
        }
        op.setQuant("row");
        ++numQuantized;
      });
  }

  bool isInt4() const {
    return mode == "int4-weight" || mode == "int4-dynamic";
  }

  bool excluded(Operation *op) {
    StringRef kind = isa<LinearOp>(op)        ? "linear"
                     : isa<QLinearInt4Op>(op) ? "qlinear_int4"
                                              : "matmul";
    std::string name = nodeName(op->getLoc());
    return llvm::any_of(exclude, [&](const std::string &e) {
      return e == kind || (!e.empty() && name.find(e) != std::string::npos);
    });
  }

  void quantize(Operation *op) {
    Value x = op->getOperand(0), w = op->getOperand(1);
    auto xt = cast<RankedTensorType>(x.getType());
    auto wt = cast<RankedTensorType>(w.getType());
    auto rt = cast<RankedTensorType>(op->getResult(0).getType());
    auto c = w.getDefiningOp<ConstantOp>();
    if (!c || wt.getRank() != 2 || !wt.hasStaticShape() || xt.getRank() < 2 ||
        !xt.getElementType().isF32() || !wt.getElementType().isF32() ||
        !rt.getElementType().isF32())
      return;
    if (excluded(op)) {
      ++numExcluded;
      return;
    }
    FailureOr<std::pair<Value, Value>> q = quantizedConstant(c);
    if (failed(q)) {
      op->emitWarning() << "kept in f32: the weight " << wt
                        << " has a NaN or an infinity";
      return;
    }
    if (!q->first)
      return; // the weight's data is not at hand (an elided blob)
    OpBuilder b(op);
    Value bias;
    StringRef act = "none";
    if (auto lin = dyn_cast<LinearOp>(op)) {
      bias = lin.getBias();
      act = lin.getActivation();
    }
    Value y =
        isInt4() ? (Value)QLinearInt4Op::create(
                       b, op->getLoc(), rt, x, q->first, q->second,
                       /*zero_points=*/Value(), bias,
                       b.getI64IntegerAttr(groupSize), b.getStringAttr(act),
                       b.getStringAttr(mode == "int4-dynamic" ? "row" : "none"))
                 : (Value)QLinearOp::create(
                       b, op->getLoc(), rt, x, q->first, q->second, bias,
                       b.getStringAttr(act),
                       b.getStringAttr(mode == "int8-dynamic" ? "row" : "none"),
                       /*input_scale=*/FloatAttr(),
                       /*input_zero_point=*/IntegerAttr());
    op->getResult(0).replaceAllUsesWith(y);
    op->erase();
    ++numQuantized;
    if (c->use_empty())
      eraseConstant(c);
  }

  /// The quantized weight and scales of constant `c`, made once per constant;
  /// null values when `c`'s data is not at hand; failure when it holds a
  /// value that is not finite.
  FailureOr<std::pair<Value, Value>> quantizedConstant(ConstantOp c) {
    if (auto it = converted.find(c); it != converted.end())
      return it->second;
    auto type = cast<RankedTensorType>(c.getType());
    int64_t k = type.getDimSize(0), n = type.getDimSize(1);
    SmallVector<char, 0> storage;
    std::optional<ArrayRef<char>> bytes =
        elementBytes(c.getValue(), k * n, 4, storage);
    if (!bytes)
      return std::pair<Value, Value>(); // the data is not at hand
    const float *data = reinterpret_cast<const float *>(bytes->data());
    std::string key = resourceKey(c.getValue()).str();
    if (key.empty())
      key = "weight";
    bool int4 = isInt4();
    FailureOr<QuantizedWeight> q =
        int4 ? quantizeWeight(data, k, n, groupSize, 7.0f, -8.0f,
                              /*toBottom=*/true)
             : quantizeWeight(data, k, n, k, 127.0f, -127.0f,
                              /*toBottom=*/false);
    if (failed(q))
      return failure();
    OpBuilder b(c);
    MLIRContext *ctx = b.getContext();
    auto i8 = RankedTensorType::get({k, n}, IntegerType::get(ctx, 8));
    auto scalesType =
        int4 ? RankedTensorType::get({(k + groupSize - 1) / groupSize, n},
                                     b.getF32Type())
             : RankedTensorType::get({n}, b.getF32Type());
    Value wq = ConstantOp::create(
        b, c.getLoc(), i8,
        DenseResourceElementsAttr::get(i8, key + (int4 ? "_q4" : "_q8"),
                                       std::move(q->data)));
    Value scales =
        ConstantOp::create(b, c.getLoc(), scalesType,
                           cast<ElementsAttr>(DenseElementsAttr::get(
                               scalesType, ArrayRef<float>(q->scales))));
    converted[c] = {wq, scales};
    return converted[c];
  }

  /// Erases a constant no op reads any more and frees its weight blob when
  /// no other constant reads it either.
  void eraseConstant(ConstantOp c) {
    converted.erase(c);
    if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
      if (auto *entry = res.getRawHandle().getResource())
        if (--blobReaders[entry] == 0)
          entry->setBlob(AsmResourceBlob());
    c.erase();
  }

  llvm::DenseMap<Operation *, std::pair<Value, Value>> converted;
  llvm::DenseMap<DialectResourceBlobManager::BlobEntry *, int64_t> blobReaders;
};

} // namespace
