//===- ModelImporter.cpp - Reading an ONNX model and importing it ---------===//
#include "compiler/onnx/ModelImporter.h"
#include "compiler/onnx/Importer.h"
#include "dialects/kiln/KilnDialect.h"

#include "onnx.pb.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "llvm/Support/FileSystem.h"

#include <cstring>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/text_format.h>

using namespace mlir;
using namespace mlir::kiln::onnx_import;

/// Parses binary or (by `path`'s extension) text-format protobuf.
static LogicalResult
parseModel(google::protobuf::io::ZeroCopyInputStream &stream, uint64_t size,
           StringRef path, Location fileLoc, onnx::ModelProto &model) {
  // Protobuf's parsers take an int size, whatever the configured limit.
  if (size > uint64_t(INT32_MAX))
    return emitError(fileLoc) << "model is " << size
                              << " bytes, more than protobuf can parse (2 GiB "
                                 "- 1); store large weights as ONNX external "
                                 "data";
  bool text = path.ends_with(".onnxtxt") || path.ends_with(".textproto") ||
              path.ends_with(".pbtxt");
  if (text) {
    google::protobuf::TextFormat::Parser parser;
    struct Collector : google::protobuf::io::ErrorCollector {
      std::string first;
      void AddError(int line, int col, const std::string &msg) override {
        if (first.empty())
          first = "line " + std::to_string(line + 1) + ":" +
                  std::to_string(col + 1) + ": " + msg;
      }
    } errors;
    parser.RecordErrorsTo(&errors);
    // The text parser recurses per nesting level and, unlike the binary one,
    // has no limit by default: a deeply nested file would overflow the stack.
    parser.SetRecursionLimit(100);
    if (!parser.Parse(&stream, &model))
      return emitError(fileLoc)
             << "cannot parse '" << path
             << "' as an ONNX text-format model: " << errors.first;
    return success();
  }
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT32_MAX);
  if (!model.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage())
    return emitError(fileLoc)
           << "cannot parse '" << path
           << "' as an ONNX model: the file is not a valid ModelProto "
              "(truncated, corrupt, or not ONNX)";
  if (!model.has_graph() && model.ir_version() == 0)
    return emitError(fileLoc) << "'" << path
                              << "' does not look like an ONNX model (no "
                                 "IR version and no graph)";
  return success();
}

FailureOr<OwningOpRef<ModuleOp>>
kiln::onnx_import::importOnnxFile(MLIRContext &ctx, StringRef path,
                                  const ImportOptions &options) {
  ctx.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  Location fileLoc = FileLineColLoc::get(&ctx, path, 0, 0);
  uint64_t size = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(path, size))
    return emitError(fileLoc)
           << "cannot open model '" << path << "': " << ec.message();
  if (size > options.maxModelFileBytes)
    return emitError(fileLoc)
           << "model file is " << size << " bytes, over the limit of "
           << options.maxModelFileBytes
           << " (store large weights as ONNX external data)";
  // Read through a small buffer rather than mapping the file: the parsed
  // model holds its own copy of the weights, and a mapping would count them
  // twice in the compiler's peak memory.
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd))
    return emitError(fileLoc)
           << "cannot read model '" << path << "': " << ec.message();
  onnx::ModelProto model;
  google::protobuf::io::FileInputStream stream(fd, 1 << 20);
  stream.SetCloseOnDelete(true);
  if (failed(parseModel(stream, size, path, fileLoc, model)))
    return failure();
  if (stream.GetErrno() != 0)
    return emitError(fileLoc) << "cannot read model '" << path
                              << "': " << std::strerror(stream.GetErrno());
  Importer importer(ctx, path.str(), options);
  return importer.run(model);
}

FailureOr<OwningOpRef<ModuleOp>>
kiln::onnx_import::importOnnxBuffer(MLIRContext &ctx, StringRef bytes,
                                    StringRef path,
                                    const ImportOptions &options) {
  ctx.loadDialect<kiln::KilnDialect, func::FuncDialect>();
  onnx::ModelProto model;
  google::protobuf::io::ArrayInputStream stream(
      bytes.data(), (int)std::min<size_t>(bytes.size(), INT32_MAX));
  if (failed(parseModel(stream, bytes.size(), path,
                        FileLineColLoc::get(&ctx, path, 0, 0), model)))
    return failure();
  Importer importer(ctx, path.str(), options);
  return importer.run(model);
}
