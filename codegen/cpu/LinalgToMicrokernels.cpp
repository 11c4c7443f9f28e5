//===- LinalgToMicrokernels.cpp - matmuls -> runtime GEMM calls -----------===//
//
// f32 matmuls call the runtime's fp32 GEMMs, with a constant weight packed
// here into 32-column panels (runtime/src/kernels/Kernels.h). bf16 x bf16
// -> f32 matmuls by a constant weight (kilnc --precision=bf16) call its
// bf16 GEMM, with the weight packed here as runtime/src/kernels/
// Bf16Packing.h defines; other bf16 and all f16 matmuls stay loops.
//
//===----------------------------------------------------------------------===//
#include "codegen/GemmEpilogueMatch.h"
#include "codegen/GemmZeroing.h"
#include "codegen/RuntimeCalls.h"
#include "codegen/cpu/Passes.h"
#include "dialects/kiln/KilnDialect.h"
#include "runtime/src/kernels/Bf16Packing.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_KILNLINALGTOMICROKERNELS
#include "codegen/cpu/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;

namespace {

/// The raw f32 or bf16 bytes of a constant global's initializer, read in
/// place: all elements, or one when `splat`.
struct ConstantBytes {
  ArrayRef<char> data;
  bool splat;
};
std::optional<ConstantBytes> constantBytes(memref::GlobalOp global) {
  if (!global.getConstant())
    return std::nullopt;
  Type elem = global.getType().getElementType();
  if (!elem.isF32() && !elem.isBF16())
    return std::nullopt;
  size_t elemBytes = elem.getIntOrFloatBitWidth() / 8;
  Attribute init = global.getInitialValue().value_or(Attribute());
  if (auto res = dyn_cast_or_null<DenseResourceElementsAttr>(init)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob ||
        blob->getData().size() != size_t(res.getNumElements()) * elemBytes)
      return std::nullopt;
    return ConstantBytes{blob->getData(), false};
  }
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(init))
    if (dense.getElementType() == elem)
      return ConstantBytes{dense.getRawData(), dense.isSplat()};
  return std::nullopt;
}

struct KilnLinalgToMicrokernelsPass
    : mlir::kiln::impl::KilnLinalgToMicrokernelsBase<
          KilnLinalgToMicrokernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (panelColumns < 1) {
      module.emitError() << "kiln-linalg-to-microkernels: panel-columns must "
                            "be positive, got "
                         << static_cast<int64_t>(panelColumns);
      return signalPassFailure();
    }
    packed_.clear(); // a pass instance may run on several modules
    SmallVector<Operation *> matmuls;
    module.walk([&](Operation *op) {
      if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
        matmuls.push_back(op);
    });
    for (Operation *op : matmuls) {
      auto lin = cast<linalg::LinalgOp>(op);
      if (!lin.hasPureBufferSemantics() || lin.getNumDpsInputs() != 2)
        continue;
      // Plain contractions only: no transposed or broadcast indexing maps.
      if (auto mm = dyn_cast<linalg::MatmulOp>(op);
          mm && mm.hasUserDefinedMaps())
        continue;
      if (auto bm = dyn_cast<linalg::BatchMatmulOp>(op);
          bm && bm.hasUserDefinedMaps())
        continue;
      Value a = lin.getDpsInputs()[0], w = lin.getDpsInputs()[1];
      Value c = lin.getDpsInits()[0];
      auto elementType = [](Value v) {
        return cast<MemRefType>(v.getType()).getElementType();
      };
      bool allF32 = llvm::all_of(
          ValueRange{a, w, c}, [&](Value v) { return elementType(v).isF32(); });
      // bf16 operands with an f32 result (kilnc --precision=bf16): the bf16
      // kernel takes only a packed weight, so only a constant one.
      bool bf16 = elementType(a).isBF16() && elementType(w).isBF16() &&
                  elementType(c).isF32();
      if (!allF32 && !bf16)
        continue;
      Operation *zeroing = mlir::kiln::zeroingFor(op, c);
      if (!zeroing)
        continue;
      unsigned rank = cast<MemRefType>(c.getType()).getRank();
      if (bf16 && rank != 2)
        continue;
      Type f32 = Float32Type::get(&getContext());
      Type aElem = elementType(a);
      MemRefType argType = mlir::kiln::fullyDynamicMemRef(rank, f32);
      memref::GlobalOp packed =
          rank == 2 ? packedWeight(module, w) : memref::GlobalOp();
      if (bf16 && !packed)
        continue;
      std::optional<mlir::kiln::GemmEpilogue> epilogue;
      if (packed)
        epilogue = mlir::kiln::findGemmEpilogue(op, c, zeroing);
      // With an epilogue the call takes its place: its output may be
      // allocated after the matmul.
      OpBuilder b(epilogue ? epilogue->generic.getOperation() : op);
      StringRef callee =
          rank == 2 ? "kiln_rt_matmul_f32" : "kiln_rt_batch_matmul_f32";
      SmallVector<Value> operands = {a, w, c};
      SmallVector<Type> types = {argType, argType, argType};
      if (packed) {
        callee =
            bf16 ? "kiln_rt_matmul_packed_bf16" : "kiln_rt_matmul_packed_f32";
        operands[1] = memref::GetGlobalOp::create(
            b, op->getLoc(), packed.getType(), packed.getSymName());
        types[0] = mlir::kiln::fullyDynamicMemRef(2, aElem);
        types[1] = mlir::kiln::fullyDynamicMemRef(1, aElem);
      }
      if (epilogue) {
        callee = bf16 ? "kiln_rt_matmul_packed_epilogue_bf16"
                      : "kiln_rt_matmul_packed_epilogue_f32";
        Value bias = epilogue->bias
                         ? epilogue->bias
                         : (Value)memref::AllocaOp::create(
                               b, op->getLoc(), MemRefType::get({0}, f32));
        int32_t act = *mlir::kiln::runtimeActivationCode(epilogue->activation);
        operands = {a, operands[1], bias, epilogue->output,
                    arith::ConstantIntOp::create(b, op->getLoc(), act, 32)};
        types = {mlir::kiln::fullyDynamicMemRef(2, aElem),
                 mlir::kiln::fullyDynamicMemRef(1, aElem),
                 mlir::kiln::fullyDynamicMemRef(1, f32), argType,
                 b.getI32Type()};
      }
      func::FuncOp decl =
          mlir::kiln::declareRuntimeFunction(module, callee, types);
      SmallVector<Value> args;
      for (auto [v, t] : llvm::zip(operands, types))
        args.push_back(v.getType() == t ? v
                                        : (Value)memref::CastOp::create(
                                              b, op->getLoc(), t, v));
      func::CallOp::create(b, op->getLoc(), decl, args);
      // The kernel overwrites c, so zeroing it right before is dead.
      if (zeroing != op)
        zeroing->erase();
      if (epilogue) {
        mlir::kiln::eraseGemmAndEpilogue(op, *epilogue, c);
        eraseReplacedWeight(module, w);
        continue;
      }
      op->erase();
      eraseReplacedWeight(module, w);
    }
    eraseUnpackedWeights(module);
  }

  /// For a [K, N] f32 or bf16 weight read from a constant global: a global
  /// holding it in the runtime's panel layout for its type, made once per
  /// weight. The original global goes when nothing else reads it, so the
  /// artifact holds each weight once.
  memref::GlobalOp packedWeight(ModuleOp module, Value w) {
    auto get = w.getDefiningOp<memref::GetGlobalOp>();
    if (!get)
      return nullptr;
    auto it = packed_.find(get.getName());
    if (it != packed_.end())
      return it->second;
    auto global = module.lookupSymbol<memref::GlobalOp>(get.getName());
    if (!global)
      return nullptr;
    MemRefType type = global.getType();
    if (type.getRank() != 2 || !type.hasStaticShape() ||
        !(type.getElementType().isF32() || type.getElementType().isBF16()))
      return nullptr;
    std::optional<ConstantBytes> src = constantBytes(global);
    if (!src)
      return nullptr;
    int64_t k = type.getDimSize(0), n = type.getDimSize(1);
    if (type.getElementType().isBF16())
      return makePackedGlobal(module, global, get.getName(),
                              packBf16(*src, k, n));
    // The layout of runtime/src/kernels/Kernels.h (KILN_RT_PACKED_PANEL),
    // whose panel width is the target's.
    const int64_t width = panelColumns;
    int64_t panels = (n + width - 1) / width;
    int64_t size = panels * width * k;
    // Packed straight from the initializer into the new blob: row k of panel
    // p is columns [width * p, width * (p + 1)) of w's row k, zero-padded.
    AsmResourceBlob blob =
        HeapAsmResourceBlob::allocate(size_t(size) * sizeof(float), 64);
    char *dst = blob.getMutableData().data();
    memset(dst, 0, size_t(size) * sizeof(float));
    for (int64_t p = 0; p < panels; ++p) {
      int64_t j0 = p * width;
      int64_t cols = std::min(width, n - j0);
      for (int64_t kk = 0; kk < k; ++kk) {
        char *out = dst + ((p * k + kk) * width) * sizeof(float);
        if (src->splat) {
          for (int64_t j = 0; j < cols; ++j)
            memcpy(out + j * sizeof(float), src->data.data(), sizeof(float));
          continue;
        }
        memcpy(out, src->data.data() + (kk * n + j0) * sizeof(float),
               size_t(cols) * sizeof(float));
      }
    }

    return makePackedGlobal(module, global, get.getName(), std::move(blob));
  }

  /// A [K, N] bf16 weight in the layout of the runtime's bf16 GEMM
  /// (runtime/src/kernels/Bf16Packing.h).
  static AsmResourceBlob packBf16(const ConstantBytes &src, int64_t k,
                                  int64_t n) {
    SmallVector<uint16_t> dense;
    const uint16_t *w = reinterpret_cast<const uint16_t *>(src.data.data());
    if (src.splat) {
      uint16_t value;
      memcpy(&value, src.data.data(), sizeof(value));
      dense.assign(size_t(k * n), value);
      w = dense.data();
    } else if (reinterpret_cast<uintptr_t>(w) % alignof(uint16_t)) {
      dense.resize(size_t(k * n));
      memcpy(dense.data(), src.data.data(), size_t(k * n) * sizeof(uint16_t));
      w = dense.data();
    }
    int64_t size = ::kiln::bf16::packedElements(k, n);
    AsmResourceBlob blob =
        HeapAsmResourceBlob::allocate(size_t(size) * sizeof(uint16_t), 64);
    ::kiln::bf16::pack(
        w, k, n, reinterpret_cast<uint16_t *>(blob.getMutableData().data()));
    return blob;
  }

  /// A constant 1-D global of `blob` (of `global`'s element type) beside
  /// `global`, 64-byte aligned, recorded as the packed copy of `weight`.
  memref::GlobalOp makePackedGlobal(ModuleOp module, memref::GlobalOp global,
                                    StringRef weight, AsmResourceBlob blob) {
    Type elem = global.getType().getElementType();
    int64_t size =
        int64_t(blob.getData().size()) / (elem.getIntOrFloatBitWidth() / 8);
    std::string name = (global.getSymName() + "_packed").str();
    auto attr = DenseResourceElementsAttr::get(
        RankedTensorType::get({size}, elem), name, std::move(blob));
    OpBuilder b(global);
    auto packedGlobal = memref::GlobalOp::create(
        b, global.getLoc(), name, b.getStringAttr("private"),
        MemRefType::get({size}, elem), attr, /*constant=*/true,
        b.getI64IntegerAttr(64));
    SymbolTable(module).insert(packedGlobal); // uniques the name
    packed_[weight] = packedGlobal;
    return packedGlobal;
  }

  /// A weight read only by the matmul just rewritten is gone when its packed
  /// copy replaced it: its bytes are freed now rather than after every
  /// weight is packed, which would hold both copies of all weights at once.
  void eraseReplacedWeight(ModuleOp module, Value w) {
    Operation *wDef = w.getDefiningOp();
    if (!wDef || !wDef->use_empty() || !isPure(wDef))
      return;
    auto get = dyn_cast<memref::GetGlobalOp>(wDef);
    std::string name = get ? get.getName().str() : std::string();
    wDef->erase();
    if (get && packed_.count(name))
      eraseIfUnused(module, name);
  }

  /// Drops the globals whose every use now reads their packed copy.
  void eraseUnpackedWeights(ModuleOp module) {
    for (auto &entry : packed_)
      eraseIfUnused(module, entry.first());
  }

  /// Erases global `name` if nothing reads it, and frees its weight blob.
  static void eraseIfUnused(ModuleOp module, StringRef name) {
    auto global = module.lookupSymbol<memref::GlobalOp>(name);
    if (!global || !SymbolTable::symbolKnownUseEmpty(global, module))
      return;
    if (auto res = dyn_cast_or_null<DenseResourceElementsAttr>(
            global.getInitialValueAttr()))
      if (auto *entry = res.getRawHandle().getResource())
        entry->setBlob(AsmResourceBlob());
    global.erase();
  }

  llvm::StringMap<memref::GlobalOp> packed_;
};

} // namespace
