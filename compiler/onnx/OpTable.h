//===- OpTable.h - ONNX op -> converter table -------------------*- C++ -*-===//
#ifndef KILN_COMPILER_ONNX_OPTABLE_H
#define KILN_COMPILER_ONNX_OPTABLE_H

#include "compiler/onnx/ImportContext.h"
#include "mlir/Support/LogicalResult.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"

namespace llvm {
class raw_ostream;
} // namespace llvm

namespace mlir::kiln::onnx_import {

using ConverterFn = mlir::LogicalResult (*)(NodeContext &);

/// One row of the import table: `opType` of `domain` ("" is ai.onnx) is
/// supported for opsets [minOpset, maxOpset].
struct OpConverter {
  llvm::StringLiteral domain;
  llvm::StringLiteral opType;
  int minOpset;
  int maxOpset;
  ConverterFn convert;
  llvm::StringLiteral family;
};

/// The newest ai.onnx opset the importer accepts.
inline constexpr int kMaxSupportedOpset = 23;

llvm::ArrayRef<OpConverter> attentionConverters();
llvm::ArrayRef<OpConverter> elementwiseConverters();
llvm::ArrayRef<OpConverter> indexingConverters();
llvm::ArrayRef<OpConverter> matmulConverters();
llvm::ArrayRef<OpConverter> normalizationConverters();
llvm::ArrayRef<OpConverter> quantizationConverters();
llvm::ArrayRef<OpConverter> reductionConverters();
llvm::ArrayRef<OpConverter> shapeConverters();

/// All rows, sorted by domain then op.
const std::vector<OpConverter> &opTable();
/// The row for (domain, op) covering `opset`, or null.
const OpConverter *lookupConverter(llvm::StringRef domain,
                                   llvm::StringRef opType, int64_t opset);
/// Prints every row, "domain op min-max" a line (kilnc --list-ops).
void printOpTable(llvm::raw_ostream &os);
/// Whether any row names (domain, op), whatever the opset.
bool isKnownOp(llvm::StringRef domain, llvm::StringRef opType);

} // namespace mlir::kiln::onnx_import

#endif
