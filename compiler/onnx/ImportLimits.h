//===- ImportLimits.h - Size limits of the importer -------------*- C++ -*-===//
//
// Hostile or corrupt models must not make the compiler overflow, crash or
// allocate without bound: the importer checks every shape it reads against
// these limits before anything is built from it.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_IMPORTLIMITS_H
#define KILN_COMPILER_ONNX_IMPORTLIMITS_H

#include "mlir/IR/AffineExpr.h"
#include "llvm/ADT/ArrayRef.h"
#include <cstddef>
#include <cstdint>
#include <string>

namespace mlir::kiln::onnx_import {

/// No tensor, static or symbolic, may have more elements than this: 2^40
/// elements is terabytes, far past any model Kiln targets, and keeps every
/// byte size and stride computation downstream far from int64 overflow.
inline constexpr int64_t kMaxElements = int64_t(1) << 40;

/// The most dims a tensor may have: the runtime refuses artifacts with more
/// (runtime/src/ModelValidation.cpp), and no ONNX model comes close.
inline constexpr size_t kMaxRank = 64;

/// The most distinct symbolic dims a model may have. Every shape map carries
/// all of them, so their number multiplies the size of the IR; transformer
/// exports have a handful.
inline constexpr size_t kMaxSymbols = 4096;

/// Why extents `dims` do not describe a tensor Kiln can handle, or "" when
/// they do. Symbolic extents are checked for hostile constants only; their
/// values are the runtime's to check.
std::string checkExtents(llvm::ArrayRef<mlir::AffineExpr> dims);

} // namespace mlir::kiln::onnx_import

#endif
