//===- MixedPrecision.cpp - f16/bf16 GEMM operands, f32 everything else ---===//
//
// Each f32 kiln.matmul and kiln.linear gets f16 (or bf16) operands and keeps
// its f32 result, so that the GEMM reads half the bytes and accumulates in
// f32. Constant operands are converted here, at compile time, one weight at
// a time, and the f32 original is freed as soon as no op reads it, so peak
// compile memory stays near one f32 copy of the weights. Every other op
// (normalization statistics, softmax, attention, reductions, the model's
// inputs and outputs) stays f32.
//
//===----------------------------------------------------------------------===//
#include "dialects/kiln/KilnOps.h"
#include "passes/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/DenseMap.h"

#include <cstring>

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNMIXEDPRECISION
#include "passes/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// f32 -> bf16 bits, round to nearest even. bf16 has f32's exponent range,
/// so subnormals round in place and only values at or above
/// 0x1.fffp127 + half an ulp overflow to inf; NaNs stay (quiet) NaNs.
uint16_t f32BitsToBf16(uint32_t x) {
  if ((x & 0x7fffffffu) > 0x7f800000u)
    return uint16_t((x >> 16) | 0x40u);
  x += 0x7fffu + ((x >> 16) & 1u);
  return uint16_t(x >> 16);
}

/// f32 -> IEEE binary16 bits, round to nearest even, as LLVM's fptrunc
/// does for the activations at run time: magnitudes from 65520 (65504 plus
/// half an ulp) up become inf, values below 2^-14 become subnormals and
/// below 2^-25 zeros; NaNs stay (quiet) NaNs.
uint16_t f32BitsToF16(uint32_t x) {
  uint16_t sign = uint16_t((x >> 16) & 0x8000u);
  uint32_t abs = x & 0x7fffffffu;
  if (abs > 0x7f800000u)
    return sign | 0x7e00u | uint16_t((abs >> 13) & 0x3ffu);
  if (abs >= 0x477ff000u)
    return sign | 0x7c00u;
  if (abs >= 0x38800000u) { // normal in f16: rebias the exponent by 127 - 15
    uint32_t m = abs - (112u << 23);
    m += 0xfffu + ((m >> 13) & 1u);
    return sign | uint16_t(m >> 13);
  }
  uint32_t exp = abs >> 23;
  if (exp < 102) // below 2^-25: rounds to zero
    return sign;
  // Subnormal: the value in units of 2^-24 is mant * 2^(exp - 126).
  uint32_t mant = (abs & 0x7fffffu) | 0x800000u;
  uint32_t shift = 126 - exp; // 14 .. 24
  uint32_t q = mant >> shift, rem = mant & ((1u << shift) - 1);
  uint32_t half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u)))
    ++q; // may carry into the smallest normal, 0x0400, which is right
  return sign | uint16_t(q);
}

/// Largest finite f16 magnitude, as f32 bits (65504).
constexpr uint32_t kF16MaxBits = 0x477fe000u;

/// Converts `n` f32 values at `src` into 16-bit values at `dst`. Returns
/// false, leaving `dst` partly written, when `toF16` and a finite value
/// would round beyond 65504.
bool convertValues(const char *src, char *dst, size_t n, bool toF16) {
  for (size_t i = 0; i < n; ++i) {
    uint32_t bits;
    std::memcpy(&bits, src + 4 * i, 4);
    uint16_t h;
    if (toF16) {
      uint32_t abs = bits & 0x7fffffffu;
      if (abs < 0x7f800000u && abs >= 0x477ff000u)
        return false;
      h = f32BitsToF16(bits);
    } else {
      h = f32BitsToBf16(bits);
    }
    std::memcpy(dst + 2 * i, &h, 2);
  }
  return true;
}

struct KilnMixedPrecisionPass
    : kiln::impl::KilnMixedPrecisionBase<KilnMixedPrecisionPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (elementType != "f16" && elementType != "bf16") {
      module.emitError() << "kiln-mixed-precision: type must be f16 or bf16, "
                            "got '"
                         << elementType << "'";
      return signalPassFailure();
    }
    toF16 = elementType == "f16";
    narrow = toF16 ? Type(Float16Type::get(ctx)) : BFloat16Type::get(ctx);
    converted.clear();
    casts.clear();
    blobReaders.clear();

    // A weight blob is freed once no kiln.constant reads it any more.
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
      narrowOperands(op);
  }

  /// Rewrites the two GEMM operands of `op` (lhs/rhs, or input/weight) to
  /// the narrow type when they and the result are f32.
  void narrowOperands(Operation *op) {
    auto f32Tensor = [](Value v) {
      return cast<RankedTensorType>(v.getType()).getElementType().isF32();
    };
    if (!f32Tensor(op->getOperand(0)) || !f32Tensor(op->getOperand(1)) ||
        !f32Tensor(op->getResult(0)))
      return;
    // Convert the constants first: a weight f16 cannot hold keeps the whole
    // GEMM in f32, before anything is changed. A constant whose data is not
    // at hand (an elided blob) is cast like an activation.
    Value narrowed[2];
    for (unsigned i = 0; i < 2; ++i) {
      auto c = op->getOperand(i).getDefiningOp<ConstantOp>();
      if (!c)
        continue;
      FailureOr<Value> v = narrowConstant(c);
      if (failed(v)) {
        op->emitWarning()
            << "kept in f32: operand " << i << " "
            << op->getOperand(i).getType()
            << " is a constant with values beyond the f16 range (|x| > "
               "65504)";
        return;
      }
      narrowed[i] = *v;
    }
    ++numNarrowed;
    for (unsigned i = 0; i < 2; ++i) {
      Value old = op->getOperand(i);
      op->setOperand(i, narrowed[i] ? narrowed[i] : castOf(old));
      if (auto c = old.getDefiningOp<ConstantOp>(); c && c->use_empty())
        eraseConstant(c);
    }
  }

  /// The narrow copy of constant `c`, made once per constant; null when
  /// `c`'s data is not at hand. Fails, making nothing, when `c` has values
  /// that overflow f16.
  FailureOr<Value> narrowConstant(ConstantOp c) {
    if (auto it = converted.find(c); it != converted.end())
      return it->second;
    auto type = cast<RankedTensorType>(c.getType());
    auto narrowType = type.clone(narrow);
    size_t n = type.getNumElements();
    ElementsAttr attr;
    if (auto dense = dyn_cast<DenseElementsAttr>(c.getValue())) {
      ArrayRef<char> raw = dense.getRawData();
      SmallVector<char> out(dense.isSplat() ? 2 : 2 * n);
      if (!convertValues(raw.data(), out.data(), out.size() / 2, toF16))
        return failure();
      attr = DenseElementsAttr::getFromRawBuffer(narrowType, out);
    } else if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue())) {
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      if (!blob || blob->getData().size() != 4 * n)
        return Value();
      AsmResourceBlob out = HeapAsmResourceBlob::allocate(2 * n, 64);
      if (!convertValues(blob->getData().data(), out.getMutableData().data(), n,
                         toF16))
        return failure();
      std::string key =
          (res.getRawHandle().getKey() + "_" + elementType.getValue()).str();
      attr = DenseResourceElementsAttr::get(narrowType, key, std::move(out));
    } else {
      return Value();
    }
    OpBuilder b(c);
    Value v = ConstantOp::create(b, c.getLoc(), narrowType, attr);
    converted[c] = v;
    ++numWeights;
    return v;
  }

  /// `v` cast to the narrow type, right after its definition, once per
  /// value: the q, k and v projections of one activation share one cast,
  /// which kiln-fuse-elementwise can merge into the producer's loop.
  Value castOf(Value v) {
    if (auto it = casts.find(v); it != casts.end())
      return it->second;
    OpBuilder b(v.getContext());
    b.setInsertionPointAfterValue(v);
    auto type = cast<RankedTensorType>(v.getType()).clone(narrow);
    Value c = CastOp::create(b, v.getLoc(), type, v);
    casts[v] = c;
    return c;
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

  bool toF16 = true;
  Type narrow;
  llvm::DenseMap<Operation *, Value> converted;
  llvm::DenseMap<Value, Value> casts;
  llvm::DenseMap<DialectResourceBlobManager::BlobEntry *, int64_t> blobReaders;
};

} // namespace
