//===- Importer.h - The state of one ONNX import ----------------*- C++ -*-===//
//
// Internal to compiler/onnx: the graph walk (GraphImport.cpp), tensor
// decoding (TensorDecoding.cpp) and the converters, through NodeContext
// (ImportContext.h), share it. Callers use ModelImporter.h.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_IMPORTER_H
#define KILN_COMPILER_ONNX_IMPORTER_H

#include "compiler/onnx/ImportContext.h"
#include "compiler/onnx/ModelImporter.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/ADT/DenseSet.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/MemoryBuffer.h"
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
  /// Symbols that a fold of shape arithmetic assumed non-zero.
  llvm::SmallDenseSet<unsigned> assumedNonZero;
  unsigned resourceCounter = 0;
  /// Symbols before the nodes are imported: those the graph inputs bind.
  /// The ones after are data symbols (kiln.bind_symbols).
  unsigned numInputSymbols = 0;

  /// A new symbol named `name`, made unique.
  unsigned newSymbol(const std::string &name);

  mlir::Location nodeLoc(const onnx::NodeProto &node);
  mlir::Value materialize(ValueInfo &info, mlir::Location loc);
  /// Decodes a TensorProto (inline or external data) into an attribute.
  mlir::FailureOr<mlir::ElementsAttr> decodeTensor(const onnx::TensorProto &t,
                                                   mlir::Location loc,
                                                   llvm::StringRef what);

private:
  mlir::LogicalResult declareInputs(const onnx::GraphProto &graph,
                                    mlir::func::FuncOp &func);
  mlir::LogicalResult importNodes(onnx::GraphProto &graph);
  mlir::FailureOr<std::vector<int>> topologicalOrder(const onnx::GraphProto &g);
  unsigned symbolFor(const std::string &name);
  /// A tensor's bytes in an external data file, and the mapping of that
  /// file, which they live in for as long as `file` is held.
  struct ExternalBytes {
    llvm::ArrayRef<char> bytes;
    std::shared_ptr<llvm::MemoryBuffer> file;
  };
  mlir::FailureOr<ExternalBytes> readExternalData(const onnx::TensorProto &t,
                                                  mlir::Location loc);
  /// External data files, each mapped once for the whole import.
  llvm::StringMap<std::shared_ptr<llvm::MemoryBuffer>> mappedFiles;
};

} // namespace mlir::kiln::onnx_import

#endif
