//===- OnnxSchema.cpp - Node checks against the ai.onnx op schemas --------===//
#include "compiler/onnx/OnnxSchema.h"
#include "compiler/onnx/OnnxDomain.h"

#include "onnx.pb.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"

#include <vector>

using namespace mlir;
using namespace mlir::kiln::onnx_import;

namespace {

struct SchemaRow {
  int sinceVersion;
  int minInputs;
  int maxInputs;
  /// One letter per formal input: S required, O optional, V variadic.
  llvm::StringRef formalInputs;
  /// "name:type" or "name:type!" (required), comma-separated.
  llvm::StringRef attributes;
};

/// Rows per op, ascending by since_version.
const llvm::StringMap<std::vector<SchemaRow>> &schemaTable() {
  static const llvm::StringMap<std::vector<SchemaRow>> table = [] {
    llvm::StringMap<std::vector<SchemaRow>> t;
#define KILN_ONNX_SCHEMA(op, since, lo, hi, inputs, attrs)                     \
  t[op].push_back({since, lo, hi, inputs, attrs});
#include "compiler/onnx/OnnxSchemaTable.inc"
#undef KILN_ONNX_SCHEMA
    return t;
  }();
  return table;
}

std::string attributeTypeName(int type) {
  if (onnx::AttributeProto::AttributeType_IsValid(type))
    return onnx::AttributeProto::AttributeType_Name(
        static_cast<onnx::AttributeProto::AttributeType>(type));
  return "<unknown attribute type " + std::to_string(type) + ">";
}

} // namespace

LogicalResult mlir::kiln::onnx_import::checkNodeSchema(NodeContext &nc) {
  const onnx::NodeProto &node = nc.node();
  if (canonicalDomain(node.domain()) != "ai.onnx")
    return success();
  auto it = schemaTable().find(node.op_type());
  if (it == schemaTable().end())
    return success();
  const SchemaRow *row = nullptr;
  for (const SchemaRow &r : it->second)
    if (r.sinceVersion <= nc.opset())
      row = &r;
  if (!row)
    return success();

  int numInputs = node.input_size();
  if (numInputs < row->minInputs || numInputs > row->maxInputs) {
    auto diag = nc.error() << "expects ";
    if (row->minInputs == row->maxInputs)
      diag << row->minInputs;
    else if (row->maxInputs == INT32_MAX)
      diag << "at least " << row->minInputs;
    else
      diag << row->minInputs << " to " << row->maxInputs;
    return diag << " input" << (row->maxInputs == 1 ? "" : "s") << ", got "
                << numInputs;
  }
  // A required formal input named "" would reach the converter as absent.
  for (int i = 0, e = std::min<int>(numInputs, row->formalInputs.size()); i < e;
       ++i)
    if (row->formalInputs[i] == 'S' && node.input(i).empty())
      return nc.error() << "input " << i
                        << " is required but its name is "
                           "empty";

  llvm::SmallVector<llvm::StringRef> attrs;
  row->attributes.split(attrs, ',', /*MaxSplit=*/-1, /*KeepEmpty=*/false);
  for (llvm::StringRef spec : attrs) {
    auto [name, typeText] = spec.split(':');
    bool required = typeText.consume_back("!");
    int type = 0;
    typeText.getAsInteger(10, type);
    const onnx::AttributeProto *attr = nc.attr(name);
    if (!attr) {
      if (required)
        return nc.error() << "required attribute '" << name << "' ("
                          << attributeTypeName(type) << ") is missing";
      continue;
    }
    // IR version 1 models leave the type unset; the converter reads the
    // field it expects.
    if (attr->type() != onnx::AttributeProto::UNDEFINED && attr->type() != type)
      return nc.error() << "attribute '" << name << "' has type "
                        << attributeTypeName(attr->type()) << ", expected "
                        << attributeTypeName(type);
  }
  return success();
}
