//===- GraphImport.cpp - ONNX graph -> func.func @main in the Kiln dialect ===//
//
// Declares the graph inputs with their symbolic dims, visits the nodes in
// topological order through the op table (OpTable.h), and returns the graph
// outputs.
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/ImportLimits.h"
#include "compiler/onnx/Importer.h"
#include "compiler/onnx/LastPosition.h"
#include "compiler/onnx/OnnxDomain.h"
#include "compiler/onnx/OnnxSchema.h"
#include "compiler/onnx/OpTable.h"
#include "dialects/kiln/KilnDialect.h"
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"

#include "onnx.pb.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/AttrTypeSubElements.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"

#include <queue>

using namespace mlir;
using namespace mlir::kiln::onnx_import;

Importer::Importer(MLIRContext &ctx, std::string path,
                   const ImportOptions &options)
    : ctx(ctx), builder(&ctx), modelPath(std::move(path)), options(options) {
  modelDir = llvm::sys::path::parent_path(modelPath).str();
  if (modelDir.empty())
    modelDir = ".";
}

Importer::~Importer() = default;

Location Importer::nodeLoc(const onnx::NodeProto &node) {
  Location file = FileLineColLoc::get(&ctx, modelPath, 0, 0);
  std::string name = node.name().empty() ? node.op_type() : node.name();
  return NameLoc::get(StringAttr::get(&ctx, name), file);
}

unsigned Importer::symbolFor(const std::string &name) {
  auto [it, inserted] = symbolIndex.try_emplace(name, symbolNames.size());
  if (inserted)
    symbolNames.push_back(name);
  return it->second;
}

unsigned Importer::newSymbol(const std::string &name) {
  std::string unique = name;
  for (int n = 2; symbolIndex.count(unique); ++n)
    unique = name + "#" + std::to_string(n);
  return symbolFor(unique);
}

/// Gives every shape map of `func` all `numSymbols` symbols: maps built
/// before the data symbols existed have fewer.
static void widenShapeMaps(func::FuncOp func, unsigned numSymbols) {
  AttrTypeReplacer replacer;
  replacer.addReplacement([&](AffineMapAttr a) -> std::optional<Attribute> {
    AffineMap m = a.getValue();
    if (m.getNumSymbols() >= numSymbols)
      return std::nullopt;
    return AffineMapAttr::get(AffineMap::get(m.getNumDims(), numSymbols,
                                             m.getResults(), a.getContext()));
  });
  replacer.recursivelyReplaceElementsIn(func, /*replaceAttrs=*/true);
  SmallVector<DictionaryAttr> argAttrs;
  func.getAllArgAttrs(argAttrs);
  for (auto [i, attrs] : llvm::enumerate(argAttrs))
    if (attrs)
      func.setArgAttrs(i, cast<DictionaryAttr>(replacer.replace(attrs)));
}

LogicalResult Importer::declareInputs(const onnx::GraphProto &graph,
                                      func::FuncOp &func) {
  llvm::StringSet<> initializers;
  for (const auto &init : graph.initializer())
    initializers.insert(init.name());

  SmallVector<Type> argTypes;
  SmallVector<std::pair<std::string, SmallVector<AffineExpr>>> args;
  Location fileLoc = FileLineColLoc::get(&ctx, modelPath, 0, 0);
  for (const auto &in : graph.input()) {
    if (initializers.contains(in.name()))
      continue; // IR < 4 lists initializers as inputs too.
    if (values.count(in.name()))
      return emitError(fileLoc)
             << "graph input '" << in.name() << "' is declared twice";
    if (!in.type().has_tensor_type())
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' is not a tensor (sequences, maps and "
                                   "optionals are not supported)";
    const auto &tt = in.type().tensor_type();
    Type elem = elementTypeFromOnnx(&ctx, tt.elem_type());
    if (!elem)
      return emitError(fileLoc)
             << "graph input '" << in.name() << "' has unsupported data type "
             << onnxDtypeName(tt.elem_type());
    if (!tt.has_shape())
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' has no shape; Kiln needs the rank of "
                                   "every input";
    if ((size_t)tt.shape().dim_size() > kMaxRank)
      return emitError(fileLoc)
             << "graph input '" << in.name() << "' has rank "
             << tt.shape().dim_size() << ", over the limit of " << kMaxRank;
    SmallVector<AffineExpr> dims;
    for (auto [i, d] : llvm::enumerate(tt.shape().dim())) {
      std::string symName;
      if (d.has_dim_value()) {
        if (d.dim_value() < 0)
          return emitError(fileLoc) << "graph input '" << in.name()
                                    << "' has negative dim " << d.dim_value();
        dims.push_back(getAffineConstantExpr(d.dim_value(), &ctx));
        continue;
      }
      symName = d.has_dim_param() && !d.dim_param().empty()
                    ? d.dim_param()
                    : in.name() + "_dim" + std::to_string(i);
      auto ov = options.shapeOverrides.find(symName);
      if (ov != options.shapeOverrides.end()) {
        dims.push_back(getAffineConstantExpr(ov->second, &ctx));
        continue;
      }
      dims.push_back(getAffineSymbolExpr(symbolFor(symName), &ctx));
      if (symbolNames.size() > kMaxSymbols)
        return emitError(fileLoc)
               << "the graph inputs have more than " << kMaxSymbols
               << " distinct symbolic dims (name the dims that are equal "
                  "with one dim_param, or fix some with "
               << options.optionNames.shape << ")";
    }
    if (std::string why = checkExtents(dims); !why.empty())
      return emitError(fileLoc) << "graph input '" << in.name() << "' " << why;
    args.push_back({in.name(), dims});
    values[in.name()] = ValueInfo{elem, dims, Value(), std::nullopt, {}};
  }
  for (auto &[name, ov] : options.shapeOverrides)
    if (!llvm::is_contained(symbolNames, name)) {
      bool usedAsStatic = false;
      for (const auto &in : graph.input())
        if (in.type().has_tensor_type())
          for (const auto &d : in.type().tensor_type().shape().dim())
            usedAsStatic |= d.dim_param() == name;
      if (!usedAsStatic)
        return emitError(fileLoc)
               << options.optionNames.shape << " names '" << name
               << "', which is not a symbolic dimension "
                  "of any input";
    }

  // All symbols are known now, so the types and maps can be built.
  unsigned nsym = symbolNames.size();
  for (auto &[name, dims] : args) {
    ValueInfo &info = values[name];
    SmallVector<int64_t> shape;
    for (AffineExpr e : dims)
      shape.push_back(kiln::toStaticExtent(e));
    argTypes.push_back(RankedTensorType::get(shape, info.elementType));
  }
  func = func::FuncOp::create(builder, fileLoc, "main",
                              builder.getFunctionType(argTypes, {}));
  Block *entry = func.addEntryBlock();
  for (auto [i, arg] : llvm::enumerate(args)) {
    values[arg.first].tensor = entry->getArgument(i);
    func.setArgAttr(i, kiln::kNameAttr, builder.getStringAttr(arg.first));
    func.setArgAttr(i, kiln::kDimsAttr,
                    AffineMapAttr::get(kiln::shapeMap(&ctx, nsym, arg.second)));
  }
  SmallVector<Attribute> names;
  for (auto &s : symbolNames)
    names.push_back(builder.getStringAttr(s));
  func->setAttr(kiln::kSymbolsAttr, builder.getArrayAttr(names));
  builder.setInsertionPointToEnd(entry);
  return success();
}

FailureOr<std::vector<int>>
Importer::topologicalOrder(const onnx::GraphProto &g) {
  Location fileLoc = FileLineColLoc::get(&ctx, modelPath, 0, 0);
  llvm::StringMap<int> producer;
  for (auto [i, node] : llvm::enumerate(g.node()))
    for (const auto &out : node.output()) {
      if (out.empty())
        continue;
      auto [it, inserted] = producer.try_emplace(out, (int)i);
      if (!inserted || values.count(out))
        return emitError(fileLoc)
               << "value '" << out << "' is produced more than once ("
               << describeNode(node) << " (" << node.op_type()
               << ") redefines it)";
    }
  std::vector<std::vector<int>> users(g.node_size());
  std::vector<int> pending(g.node_size(), 0);
  for (auto [i, node] : llvm::enumerate(g.node()))
    for (const auto &in : node.input()) {
      if (in.empty() || values.count(in))
        continue;
      auto it = producer.find(in);
      if (it == producer.end())
        return emitError(fileLoc)
               << describeNode(node) << " (" << node.op_type() << ") reads '"
               << in << "', which no node, initializer or graph input produces";
      users[it->second].push_back(i);
      ++pending[i];
    }
  // Kahn's algorithm, preferring file order so the IR follows the model.
  std::priority_queue<int, std::vector<int>, std::greater<int>> ready;
  for (int i = 0; i < g.node_size(); ++i)
    if (!pending[i])
      ready.push(i);
  std::vector<int> order;
  while (!ready.empty()) {
    int n = ready.top();
    ready.pop();
    order.push_back(n);
    for (int u : users[n])
      if (--pending[u] == 0)
        ready.push(u);
  }
  if ((int)order.size() != g.node_size())
    for (int i = 0; i < g.node_size(); ++i)
      if (pending[i])
        return emitError(fileLoc)
               << "the graph has a cycle through " << describeNode(g.node(i))
               << " (" << g.node(i).op_type() << ")";
  return order;
}

LogicalResult Importer::importNodes(onnx::GraphProto &graph) {
  auto order = topologicalOrder(graph);
  if (failed(order))
    return failure();
  for (int idx : *order) {
    const onnx::NodeProto &node = graph.node(idx);
    std::string domain = canonicalDomain(node.domain()).str();
    Location loc = nodeLoc(node);
    auto opsetIt = opsets.find(domain);
    if (opsetIt == opsets.end())
      return emitError(loc) << describeNode(node) << " (" << domain
                            << "::" << node.op_type() << ") uses domain '"
                            << domain << "', which the model does not import";
    int64_t opset = opsetIt->second;
    const OpConverter *conv =
        lookupConverter(node.domain(), node.op_type(), opset);
    if (!conv) {
      if (isKnownOp(node.domain(), node.op_type())) {
        auto diag = emitError(loc)
                    << describeNode(node) << ": op '" << node.op_type()
                    << "' (domain " << domain << ") is not supported at opset "
                    << opset << "; supported opsets:";
        for (const OpConverter &row : opTable())
          if (row.opType == node.op_type())
            diag << " " << row.minOpset << "-" << row.maxOpset;
        return diag;
      }
      return emitError(loc)
             << describeNode(node) << ": unsupported op '" << node.op_type()
             << "' (domain " << domain << ", opset " << opset << "); `"
             << options.optionNames.listOps << "` lists the supported ops";
    }
    NodeContext nc(*this, node, opset);
    if (failed(checkNodeSchema(nc)) || failed(conv->convert(nc)))
      return failure();
    for (auto [i, out] : llvm::enumerate(node.output())) {
      if (out.empty())
        continue;
      auto it = values.find(out);
      if (it == values.end())
        return emitError(loc)
               << describeNode(node) << " (" << node.op_type() << "): output "
               << i << " ('" << out << "') is not supported by Kiln";
      // Shapes computed from hostile constants (Expand, ConstantOfShape,
      // Reshape, Tile...) stop here, before any pass sizes a buffer by them.
      if (std::string why = checkExtents(it->second.dims); !why.empty())
        return nc.error() << "output " << i << " ('" << out << "') " << why;
    }
  }
  return success();
}

FailureOr<OwningOpRef<ModuleOp>> Importer::run(onnx::ModelProto &model) {
  Location fileLoc = FileLineColLoc::get(&ctx, modelPath, 0, 0);
  if (!model.has_graph())
    return emitError(fileLoc) << "the model has no graph";
  for (const auto &op : model.opset_import()) {
    std::string domain = canonicalDomain(op.domain()).str();
    opsets[domain] = op.version();
  }
  if (model.opset_import_size() == 0)
    opsets["ai.onnx"] = 1; // IR version 1 models carry no opset import.
  for (const auto &[domain, version] : opsets)
    if (version < 1)
      return emitError(fileLoc)
             << "the model imports domain '" << domain << "' at opset version "
             << version << "; versions start at 1";
  if (opsets.count("ai.onnx") && opsets["ai.onnx"] > kMaxSupportedOpset)
    return emitError(fileLoc)
           << "the model uses ai.onnx opset " << opsets["ai.onnx"]
           << ", newer than the newest supported (" << kMaxSupportedOpset
           << ")";

  onnx::GraphProto &graph = *model.mutable_graph();
  auto defaultOpset = opsets.find("ai.onnx");
  if (failed(keepLastPosition(
          graph, options.lastPositionOutputs,
          defaultOpset == opsets.end() ? 0 : defaultOpset->second,
          options.optionNames.lastPosition, fileLoc)))
    return failure();

  auto module = ModuleOp::create(fileLoc);
  OwningOpRef<ModuleOp> owned(module);
  builder.setInsertionPointToEnd(module.getBody());

  func::FuncOp func;
  if (failed(declareInputs(graph, func)))
    return failure();

  for (auto &init : *graph.mutable_initializer()) {
    if (values.count(init.name()))
      continue;
    auto attr = decodeTensor(init, fileLoc, "initializer");
    if (failed(attr))
      return failure();
    // Keep one copy of the weights: the blob now owns them. clear() keeps
    // a string's capacity, so swap the bytes out to free them.
    std::string().swap(*init.mutable_raw_data());
    google::protobuf::RepeatedField<float>().Swap(init.mutable_float_data());
    ValueInfo info;
    info.elementType = attr->getShapedType().getElementType();
    for (int64_t d : attr->getShapedType().getShape())
      info.dims.push_back(getAffineConstantExpr(d, &ctx));
    info.constant = *attr;
    values[init.name()] = std::move(info);
  }
  // Small integer constants double as known values for shape arithmetic.
  for (auto &entry : values) {
    ValueInfo &info = entry.second;
    if (!info.constant || !isa<IntegerType>(info.elementType) ||
        info.elementType.isInteger(1))
      continue;
    auto dense = dyn_cast<DenseIntElementsAttr>(info.constant);
    if (!dense || dense.getNumElements() > 64)
      continue;
    SmallVector<AffineExpr> vals;
    for (const APInt &v : dense.getValues<APInt>())
      vals.push_back(getAffineConstantExpr(v.getSExtValue(), &ctx));
    info.values = vals;
  }

  numInputSymbols = symbolNames.size();
  if (failed(importNodes(graph)))
    return failure();
  if (symbolNames.size() > numInputSymbols) {
    widenShapeMaps(func, symbolNames.size());
    SmallVector<Attribute> names;
    for (auto &s : symbolNames)
      names.push_back(builder.getStringAttr(s));
    func->setAttr(kiln::kSymbolsAttr, builder.getArrayAttr(names));
  }
  if (!assumedNonZero.empty()) {
    SmallVector<Attribute> nonZero;
    for (auto [i, name] : llvm::enumerate(symbolNames))
      if (assumedNonZero.contains(i))
        nonZero.push_back(builder.getStringAttr(name));
    func->setAttr(kiln::kNonZeroSymbolsAttr, builder.getArrayAttr(nonZero));
  }

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  SmallVector<std::pair<std::string, SmallVector<AffineExpr>>> outs;
  llvm::StringSet<> outputNames;
  for (const auto &out : graph.output()) {
    // The artifact's outputs are looked up by name.
    if (!outputNames.insert(out.name()).second)
      return emitError(fileLoc)
             << "graph output '" << out.name() << "' is listed more than once";
    auto it = values.find(out.name());
    if (it == values.end())
      return emitError(fileLoc) << "graph output '" << out.name()
                                << "' is not produced by any node";
    if (out.type().has_tensor_type() && out.type().tensor_type().elem_type()) {
      Type declared =
          elementTypeFromOnnx(&ctx, out.type().tensor_type().elem_type());
      if (declared && declared != it->second.elementType)
        return emitError(fileLoc)
               << "graph output '" << out.name() << "' is declared " << declared
               << " but computed as " << it->second.elementType;
    }
    Value v = materialize(it->second, fileLoc);
    results.push_back(v);
    resultTypes.push_back(v.getType());
    outs.push_back({out.name(), it->second.dims});
  }
  func::ReturnOp::create(builder, fileLoc, results);
  func.setFunctionType(
      builder.getFunctionType(func.getArgumentTypes(), resultTypes));
  for (auto [i, o] : llvm::enumerate(outs)) {
    func.setResultAttr(i, kiln::kNameAttr, builder.getStringAttr(o.first));
    func.setResultAttr(
        i, kiln::kDimsAttr,
        AffineMapAttr::get(kiln::shapeMap(&ctx, symbolNames.size(), o.second)));
  }
  std::string name = model.graph().name();
  module->setAttr("kiln.producer",
                  builder.getStringAttr(model.producer_name() + " " +
                                        model.producer_version()));
  if (failed(verify(module)))
    return failure();
  return owned;
}

Value Importer::materialize(ValueInfo &info, Location loc) {
  if (info.tensor)
    return info.tensor;
  SmallVector<int64_t> shape;
  for (AffineExpr e : info.dims)
    shape.push_back(kiln::toStaticExtent(e));
  auto type = RankedTensorType::get(shape, info.elementType);
  if (info.constant) {
    info.tensor = kiln::ConstantOp::create(builder, loc, type, info.constant);
    return info.tensor;
  }
  assert(info.values && "value has neither a tensor nor known contents");
  SmallVector<int64_t> ints;
  for (AffineExpr e : *info.values)
    if (auto c = kiln::symConstant(e))
      ints.push_back(*c);
  if (ints.size() == info.values->size()) {
    SmallVector<APInt> bits;
    unsigned width = info.elementType.getIntOrFloatBitWidth();
    for (int64_t v : ints)
      bits.push_back(
          APInt(width, v, /*isSigned=*/true, /*implicitTrunc=*/true));
    auto attr = DenseElementsAttr::get(type, bits);
    info.tensor =
        kiln::ConstantOp::create(builder, loc, type, cast<ElementsAttr>(attr));
    return info.tensor;
  }
  auto flatType =
      RankedTensorType::get({(int64_t)info.values->size()}, info.elementType);
  Value flat = kiln::SymbolicValuesOp::create(
      builder, loc, flatType,
      AffineMapAttr::get(
          kiln::shapeMap(&ctx, symbolNames.size(), *info.values)));
  if (type != flatType)
    flat = kiln::ReshapeOp::create(builder, loc, type, flat,
                                   AffineMapAttr::get(kiln::shapeMap(
                                       &ctx, symbolNames.size(), info.dims)));
  info.tensor = flat;
  return flat;
}
