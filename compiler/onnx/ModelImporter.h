//===- ModelImporter.h - ONNX model -> Kiln dialect -------------*- C++ -*-===//
#ifndef KILN_COMPILER_ONNX_MODELIMPORTER_H
#define KILN_COMPILER_ONNX_MODELIMPORTER_H

#include "compiler/onnx/ImportContext.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/StringMap.h"
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace onnx {
class ModelProto;
class GraphProto;
class ValueInfoProto;
} // namespace onnx

namespace mlir::kiln::onnx_import {

struct ImportOptions {
  /// `--shape NAME=VALUE`: symbols specialized to a constant.
  std::map<std::string, int64_t> shapeOverrides;
  /// Refuse models whose weights exceed this many bytes.
  uint64_t maxWeightBytes = uint64_t(64) << 30;
  /// Refuse model files larger than this (protobuf cannot parse > 2 GiB
  /// anyway; larger models must use external data).
  uint64_t maxModelFileBytes = uint64_t(2) << 30;
  /// Initializers with more elements than this become resource blobs.
  int64_t inlineConstantLimit = 16;
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

/// Internal state of one import; converters reach it through NodeContext.
class Importer {
public:
  Importer(mlir::MLIRContext &ctx, std::string modelPath,
           const ImportOptions &options);
  ~Importer();

  mlir::FailureOr<mlir::OwningOpRef<mlir::ModuleOp>>
  run(onnx::ModelProto &model);

  mlir::MLIRContext &ctx;
  mlir::OpBuilder builder;
  std::string modelPath;
  std::string modelDir;
  const ImportOptions &options;
  std::vector<std::string> symbolNames;
  /// Index of each name in symbolNames.
  llvm::StringMap<unsigned> symbolIndex;
  llvm::StringMap<ValueInfo> values;
  std::map<std::string, int64_t> opsets;
  uint64_t weightBytes = 0;
  unsigned resourceCounter = 0;

  mlir::Location nodeLoc(const onnx::NodeProto &node);
  mlir::Value materialize(ValueInfo &info, mlir::Location loc);
  /// Decodes a TensorProto (inline or external data) into an attribute.
  mlir::FailureOr<mlir::ElementsAttr>
  decodeTensor(const onnx::TensorProto &t, mlir::Location loc,
               llvm::StringRef what);

private:
  mlir::LogicalResult declareInputs(const onnx::GraphProto &graph,
                                    mlir::func::FuncOp &func);
  mlir::LogicalResult importNodes(onnx::GraphProto &graph);
  mlir::FailureOr<std::vector<int>> topologicalOrder(const onnx::GraphProto &g);
  unsigned symbolFor(const std::string &name);
  mlir::FailureOr<std::vector<char>> readExternalData(const onnx::TensorProto &t,
                                                      mlir::Location loc);
};

} // namespace mlir::kiln::onnx_import

#endif
