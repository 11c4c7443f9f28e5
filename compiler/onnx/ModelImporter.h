//===- ModelImporter.h - ONNX model -> Kiln dialect -------------*- C++ -*-===//
#ifndef KILN_COMPILER_ONNX_MODELIMPORTER_H
#define KILN_COMPILER_ONNX_MODELIMPORTER_H

#include "compiler/onnx/OptionNames.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include <map>
#include <string>
#include <vector>

namespace mlir::kiln::onnx_import {

struct ImportOptions {
  /// Symbols specialized to a constant (kilnc --shape NAME=VALUE).
  std::map<std::string, int64_t> shapeOverrides;
  /// Refuse models whose weights exceed this many bytes.
  uint64_t maxWeightBytes = uint64_t(64) << 30;
  /// Refuse model files larger than this (protobuf cannot parse > 2 GiB
  /// anyway; larger models must use external data).
  uint64_t maxModelFileBytes = uint64_t(2) << 30;
  /// Initializers with more elements than this become resource blobs.
  int64_t inlineConstantLimit = 16;
  /// Outputs cut to their last position along dim 1 (LastPosition.h).
  std::vector<std::string> lastPositionOutputs;
  /// How messages name the options above.
  OptionNames optionNames;
};

/// Reads a binary `.onnx` file, or protobuf text format when the file name
/// ends in `.onnxtxt`/`.textproto`/`.pbtxt`, and builds a module holding one
/// `func.func @main` in the Kiln dialect. Errors are reported through the
/// context's diagnostic engine and return failure.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxFile(mlir::MLIRContext &ctx, llvm::StringRef path,
               const ImportOptions &options);

/// The same for a model already in memory. `path` names it in diagnostics,
/// selects the text format by its extension, and locates external data
/// (beside it); nothing is read from it.
mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
importOnnxBuffer(mlir::MLIRContext &ctx, llvm::StringRef bytes,
                 llvm::StringRef path, const ImportOptions &options);

} // namespace mlir::kiln::onnx_import

#endif
