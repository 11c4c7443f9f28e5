//===- ModelImporter.cpp - ONNX model -> Kiln dialect ---------------------===//
#include "compiler/onnx/ModelImporter.h"
#include "compiler/onnx/OnnxSchema.h"
#include "compiler/onnx/OpTable.h"
#include "dialects/kiln/KilnDialect.h"
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"

#include "onnx.pb.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/text_format.h>
#include <cstring>
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

//===----------------------------------------------------------------------===//
// Tensor decoding
//===----------------------------------------------------------------------===//

/// No tensor, static or symbolic, may have more elements than this: 2^40
/// elements is terabytes, far past any model Kiln targets, and keeps every
/// byte size and stride computation downstream far from int64 overflow.
static constexpr int64_t kMaxElements = int64_t(1) << 40;

/// The most dims a tensor may have: the runtime refuses artifacts with more
/// (runtime/src/ModelValidation.cpp), and no ONNX model comes close.
static constexpr size_t kMaxRank = 64;

/// The most distinct symbolic dims a model may have. Every shape map carries
/// all of them, so their number multiplies the size of the IR; transformer
/// exports have a handful.
static constexpr size_t kMaxSymbols = 4096;

/// Why extents `dims` do not describe a tensor Kiln can handle, or "" when
/// they do. Symbolic extents are checked for hostile constants only; their
/// values are the runtime's to check.
static std::string checkExtents(ArrayRef<AffineExpr> dims) {
  if (dims.size() > kMaxRank)
    return "has rank " + std::to_string(dims.size()) + ", over the limit of " +
           std::to_string(kMaxRank);
  int64_t numElements = 1;
  for (AffineExpr e : dims) {
    auto c = kiln::symConstant(e);
    if (!c) {
      // Constants in a symbolic extent end up in the artifact's int64 shape
      // arithmetic: keep them far from overflow. An extent without symbols
      // that does not fold to a constant overflowed while folding.
      bool hasSymbol = false;
      std::optional<int64_t> huge;
      e.walk([&](AffineExpr sub) {
        hasSymbol |= isa<AffineSymbolExpr>(sub);
        if (auto k = dyn_cast<AffineConstantExpr>(sub))
          if (k.getValue() > kMaxElements || k.getValue() < -kMaxElements)
            huge = k.getValue();
      });
      if (huge)
        return "has a dim with the constant " + std::to_string(*huge) +
               ", over the limit of 2^40";
      if (!hasSymbol)
        return "has a dim whose value overflows int64";
      continue;
    }
    if (*c < 0)
      return "has negative dim " + std::to_string(*c);
    if (*c > kMaxElements)
      return "has dim " + std::to_string(*c) + ", over the limit of 2^40";
    if (__builtin_mul_overflow(numElements, *c, &numElements) ||
        numElements > kMaxElements)
      return "has more than 2^40 elements";
  }
  return "";
}

static int64_t elementByteSize(int32_t dtype) {
  switch (dtype) {
  case onnx::TensorProto::FLOAT:
  case onnx::TensorProto::INT32:
  case onnx::TensorProto::UINT32:
    return 4;
  case onnx::TensorProto::INT64:
  case onnx::TensorProto::UINT64:
  case onnx::TensorProto::DOUBLE:
    return 8;
  case onnx::TensorProto::FLOAT16:
  case onnx::TensorProto::BFLOAT16:
  case onnx::TensorProto::INT16:
  case onnx::TensorProto::UINT16:
    return 2;
  case onnx::TensorProto::INT8:
  case onnx::TensorProto::UINT8:
  case onnx::TensorProto::BOOL:
    return 1;
  default:
    return 0;
  }
}

/// Copies typed repeated fields into a little-endian byte buffer.
template <typename Dst, typename Src>
static void appendAs(std::vector<char> &out, const Src &field) {
  for (auto v : field) {
    Dst d = static_cast<Dst>(v);
    const char *p = reinterpret_cast<const char *>(&d);
    out.insert(out.end(), p, p + sizeof(Dst));
  }
}

FailureOr<std::vector<char>>
Importer::readExternalData(const onnx::TensorProto &t, Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v;
      if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
        return emitError(loc) << "tensor '" << t.name() << "' has a bad "
                              << kv.key() << " '" << kv.value()
                              << "' in its external data";
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty())
    return emitError(loc) << "tensor '" << t.name()
                          << "' uses external data but gives no location";
  // The location must stay inside the model's directory: no absolute paths,
  // no '..', and no symlink that resolves outside it.
  if (llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                    llvm::sys::path::end(location)),
                   [](StringRef c) { return c == ".."; }))
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "location '" << location
                          << "' escapes the model directory";
  SmallString<256> full(modelDir);
  llvm::sys::path::append(full, location);
  SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(modelDir, realDir) ||
      llvm::sys::fs::real_path(full, realFile))
    return emitError(loc) << "tensor '" << t.name()
                          << "': cannot open external data file '" << full
                          << "'";
  if (!StringRef(realFile).starts_with(std::string(realDir) + "/"))
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "location '" << location
                          << "' resolves outside the model directory";
  // A FIFO or device would block or never end; a directory cannot be read.
  if (!llvm::sys::fs::is_regular_file(realFile))
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "location '" << location
                          << "' is not a regular file";
  auto buf = llvm::MemoryBuffer::getFile(realFile, /*IsText=*/false,
                                         /*RequiresNullTerminator=*/false);
  if (!buf)
    return emitError(loc) << "tensor '" << t.name()
                          << "': cannot read external data file '" << full
                          << "': " << buf.getError().message();
  int64_t size = (*buf)->getBufferSize();
  if (offset > size)
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "offset " << offset << " is past the end of '"
                          << location << "' (" << size << " bytes)";
  if (length >= 0 && length > size - offset)
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "range [" << offset << ", " << offset << " + "
                          << length << ") exceeds the size of '" << location
                          << "' (" << size << " bytes)";
  if (length < 0)
    length = size - offset;
  const char *start = (*buf)->getBufferStart() + offset;
  return std::vector<char>(start, start + length);
}

FailureOr<ElementsAttr> Importer::decodeTensor(const onnx::TensorProto &t,
                                               Location loc, StringRef what) {
  Type elemType = elementTypeFromOnnx(&ctx, t.data_type());
  int64_t elemSize = elementByteSize(t.data_type());
  if (!elemType || !elemSize)
    return emitError(loc) << what << " '" << t.name()
                          << "' has unsupported data type "
                          << onnxDtypeName(t.data_type());
  if ((size_t)t.dims_size() > kMaxRank)
    return emitError(loc) << what << " '" << t.name() << "' has rank "
                          << t.dims_size() << ", over the limit of "
                          << kMaxRank;
  SmallVector<int64_t> shape;
  int64_t numElements = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements)
      return emitError(loc) << what << " '" << t.name() << "' has dim " << d
                            << ", outside [0, 2^40]";
    if (__builtin_mul_overflow(numElements, d, &numElements) ||
        numElements > kMaxElements)
      return emitError(loc) << what << " '" << t.name()
                            << "' has too many elements";
    shape.push_back(d);
  }
  int64_t expectedBytes = numElements * elemSize;

  std::vector<char> owned; // converted or external data
  ArrayRef<char> bytes;
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    auto ext = readExternalData(t, loc);
    if (failed(ext))
      return failure();
    owned = std::move(*ext);
    bytes = owned;
  } else if (t.has_raw_data()) {
    // A view: the blob below is the one copy the compiler keeps.
    bytes = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
  } else {
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      appendAs<float>(owned, t.float_data());
      break;
    case onnx::TensorProto::DOUBLE:
      appendAs<double>(owned, t.double_data());
      break;
    case onnx::TensorProto::INT64:
      appendAs<int64_t>(owned, t.int64_data());
      break;
    case onnx::TensorProto::UINT64:
      appendAs<uint64_t>(owned, t.uint64_data());
      break;
    case onnx::TensorProto::UINT32:
      appendAs<uint32_t>(owned, t.uint64_data());
      break;
    case onnx::TensorProto::INT32:
      appendAs<int32_t>(owned, t.int32_data());
      break;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      appendAs<uint16_t>(owned, t.int32_data());
      break;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      appendAs<uint8_t>(owned, t.int32_data());
      break;
    default:
      break;
    }
    bytes = owned;
  }
  if ((int64_t)bytes.size() != expectedBytes)
    return emitError(loc) << what << " '" << t.name() << "' holds "
                          << bytes.size() << " bytes of data but its dims ["
                          << llvm::make_range(shape.begin(), shape.end())
                          << "] and type " << onnxDtypeName(t.data_type())
                          << " need " << expectedBytes;

  auto type = RankedTensorType::get(shape, elemType);
  if (elemType.isInteger(1)) {
    SmallVector<bool> flags;
    for (char c : bytes)
      flags.push_back(c != 0);
    if (numElements <= options.inlineConstantLimit)
      return cast<ElementsAttr>(DenseElementsAttr::get(type, flags));
  } else if (numElements <= options.inlineConstantLimit) {
    return cast<ElementsAttr>(
        DenseElementsAttr::getFromRawBuffer(type, bytes));
  }

  weightBytes += bytes.size();
  if (weightBytes > options.maxWeightBytes)
    return emitError(loc) << "the model's weights exceed the limit of "
                          << options.maxWeightBytes
                          << " bytes (--max-weight-bytes)";
  std::string key;
  for (char c : t.name().empty() ? std::string("weight") : t.name())
    key.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (key.empty() || llvm::isDigit(key[0]))
    key.insert(0, "w");
  auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(
      bytes);
  return cast<ElementsAttr>(
      DenseResourceElementsAttr::get(type, key, std::move(blob)));
}

//===----------------------------------------------------------------------===//
// Graph walk
//===----------------------------------------------------------------------===//

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
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' is declared twice";
    if (!in.type().has_tensor_type())
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' is not a tensor (sequences, maps and "
                                   "optionals are not supported)";
    const auto &tt = in.type().tensor_type();
    Type elem = elementTypeFromOnnx(&ctx, tt.elem_type());
    if (!elem)
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' has unsupported data type "
                                << onnxDtypeName(tt.elem_type());
    if (!tt.has_shape())
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' has no shape; Kiln needs the rank of "
                                   "every input";
    if ((size_t)tt.shape().dim_size() > kMaxRank)
      return emitError(fileLoc) << "graph input '" << in.name()
                                << "' has rank " << tt.shape().dim_size()
                                << ", over the limit of " << kMaxRank;
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
                  "with one dim_param, or fix some with --shape)";
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
        return emitError(fileLoc) << "--shape names '" << name
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
               << in
               << "', which no node, initializer or graph input produces";
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
    std::string domain = node.domain().empty() ? "ai.onnx" : node.domain();
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
             << describeNode(node) << ": unsupported op '"
             << node.op_type() << "' (domain " << domain << ", opset "
             << opset << "); `kilnc --list-ops` lists the supported ops";
    }
    NodeContext nc(*this, node, opset);
    if (failed(checkNodeSchema(nc)) || failed(conv->convert(nc)))
      return failure();
    for (auto [i, out] : llvm::enumerate(node.output())) {
      if (out.empty())
        continue;
      auto it = values.find(out);
      if (it == values.end())
        return emitError(loc) << describeNode(node) << " ("
                              << node.op_type() << "): output " << i << " ('"
                              << out << "') is not supported by Kiln";
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
    std::string domain = op.domain().empty() ? "ai.onnx" : op.domain();
    opsets[domain] = op.version();
  }
  if (model.opset_import_size() == 0)
    opsets["ai.onnx"] = 1; // IR version 1 models carry no opset import.
  for (const auto &[domain, version] : opsets)
    if (version < 1)
      return emitError(fileLoc) << "the model imports domain '" << domain
                                << "' at opset version " << version
                                << "; versions start at 1";
  if (opsets.count("ai.onnx") && opsets["ai.onnx"] > kMaxSupportedOpset)
    return emitError(fileLoc) << "the model uses ai.onnx opset "
                              << opsets["ai.onnx"]
                              << ", newer than the newest supported ("
                              << kMaxSupportedOpset << ")";

  auto module = ModuleOp::create(fileLoc);
  OwningOpRef<ModuleOp> owned(module);
  builder.setInsertionPointToEnd(module.getBody());
  onnx::GraphProto &graph = *model.mutable_graph();

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

  if (failed(importNodes(graph)))
    return failure();

  SmallVector<Value> results;
  SmallVector<Type> resultTypes;
  SmallVector<std::pair<std::string, SmallVector<AffineExpr>>> outs;
  llvm::StringSet<> outputNames;
  for (const auto &out : graph.output()) {
    // The artifact's outputs are looked up by name.
    if (!outputNames.insert(out.name()).second)
      return emitError(fileLoc) << "graph output '" << out.name()
                                << "' is listed more than once";
    auto it = values.find(out.name());
    if (it == values.end())
      return emitError(fileLoc) << "graph output '" << out.name()
                                << "' is not produced by any node";
    if (out.type().has_tensor_type() && out.type().tensor_type().elem_type()) {
      Type declared =
          elementTypeFromOnnx(&ctx, out.type().tensor_type().elem_type());
      if (declared && declared != it->second.elementType)
        return emitError(fileLoc)
               << "graph output '" << out.name() << "' is declared "
               << declared << " but computed as " << it->second.elementType;
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
    func.setResultAttr(i, kiln::kDimsAttr,
                       AffineMapAttr::get(kiln::shapeMap(
                           &ctx, symbolNames.size(), o.second)));
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
      bits.push_back(APInt(width, v, /*isSigned=*/true, /*implicitTrunc=*/true));
    auto attr = DenseElementsAttr::get(type, bits);
    info.tensor = kiln::ConstantOp::create(builder, loc, type,
                                           cast<ElementsAttr>(attr));
    return info.tensor;
  }
  auto flatType = RankedTensorType::get({(int64_t)info.values->size()},
                                        info.elementType);
  Value flat = kiln::SymbolicValuesOp::create(
      builder, loc, flatType,
      AffineMapAttr::get(kiln::shapeMap(&ctx, symbolNames.size(),
                                        *info.values)));
  if (type != flatType)
    flat = kiln::ReshapeOp::create(
        builder, loc, type, flat,
        AffineMapAttr::get(
            kiln::shapeMap(&ctx, symbolNames.size(), info.dims)));
  info.tensor = flat;
  return flat;
}

//===----------------------------------------------------------------------===//
// Entry point
//===----------------------------------------------------------------------===//

/// Parses binary or (by `path`'s extension) text-format protobuf.
static LogicalResult parseModel(google::protobuf::io::ZeroCopyInputStream &stream,
                                uint64_t size, StringRef path,
                                Location fileLoc, onnx::ModelProto &model) {
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
      return emitError(fileLoc) << "cannot parse '" << path
                                << "' as an ONNX text-format model: "
                                << errors.first;
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
    return emitError(fileLoc) << "cannot open model '" << path
                              << "': " << ec.message();
  if (size > options.maxModelFileBytes)
    return emitError(fileLoc) << "model file is " << size
                              << " bytes, over the limit of "
                              << options.maxModelFileBytes
                              << " (store large weights as ONNX external data)";
  // Read through a small buffer rather than mapping the file: the parsed
  // model holds its own copy of the weights, and a mapping would count them
  // twice in the compiler's peak memory.
  int fd = -1;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd))
    return emitError(fileLoc) << "cannot read model '" << path
                              << "': " << ec.message();
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
