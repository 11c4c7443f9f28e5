//===- ImportContext.cpp - State shared by the ONNX op converters ---------===//
#include "compiler/onnx/ImportContext.h"
#include "compiler/onnx/Importer.h"
#include "compiler/onnx/OnnxDomain.h"
#include "dialects/kiln/Dtype.h"
#include "dialects/kiln/KilnOps.h"
#include "dialects/kiln/SymbolicShape.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;

NodeContext::NodeContext(Importer &importer, const onnx::NodeProto &node,
                         int64_t opset)
    : importer_(importer), node_(node), opset_(opset),
      loc_(importer.nodeLoc(node)) {}

OpBuilder &NodeContext::builder() { return importer_.builder; }
MLIRContext *NodeContext::ctx() { return &importer_.ctx; }
StringRef NodeContext::opType() const { return node_.op_type(); }
StringRef NodeContext::name() const { return node_.name(); }

size_t NodeContext::numInputs() const { return node_.input_size(); }
bool NodeContext::hasInput(size_t i) const {
  return (int)i < node_.input_size() && !node_.input(i).empty();
}
const ValueInfo &NodeContext::info(size_t i) const {
  assert(hasInput(i) && "reading an absent input");
  return importer_.values.find(node_.input(i))->second;
}
Value NodeContext::input(size_t i) {
  return importer_.materialize(importer_.values[node_.input(i)], loc_);
}

std::optional<SmallVector<int64_t>> NodeContext::constInts(size_t i) const {
  if (!hasInput(i))
    return std::nullopt;
  const ValueInfo &vi = info(i);
  if (!vi.values)
    return std::nullopt;
  SmallVector<int64_t> out;
  for (AffineExpr e : *vi.values) {
    auto c = kiln::symConstant(e);
    if (!c)
      return std::nullopt;
    out.push_back(*c);
  }
  return out;
}

std::optional<double> NodeContext::constScalar(size_t i) const {
  if (!hasInput(i))
    return std::nullopt;
  const ValueInfo &vi = info(i);
  if (auto ints = constInts(i); ints && ints->size() == 1)
    return (double)(*ints)[0];
  auto dense = dyn_cast_or_null<DenseElementsAttr>(vi.constant);
  if (!dense || dense.getNumElements() != 1)
    return std::nullopt;
  if (isa<FloatType>(dense.getElementType()))
    return (*dense.getValues<APFloat>().begin()).convertToDouble();
  if (dense.getElementType().isInteger(1))
    return (double)*dense.getValues<bool>().begin();
  return (double)(*dense.getValues<APInt>().begin()).getSExtValue();
}

FailureOr<SmallVector<AffineExpr>> NodeContext::requireValues(size_t i,
                                                              StringRef what) {
  if (!hasInput(i))
    return error() << "missing " << what;
  if (!info(i).values)
    return error() << what << " (input " << i << ", '" << node_.input(i)
                   << "') must be computable at compile time from shapes "
                      "and constants, but it depends on tensor data";
  return *info(i).values;
}

FailureOr<SmallVector<int64_t>> NodeContext::requireConstInts(size_t i,
                                                              StringRef what) {
  if (!hasInput(i))
    return error() << "missing " << what;
  if (auto c = constInts(i))
    return *c;
  return error() << what << " (input " << i << ", '" << node_.input(i)
                 << "') must be a compile-time constant";
}

//===----------------------------------------------------------------------===//
// Attributes
//===----------------------------------------------------------------------===//

const onnx::AttributeProto *NodeContext::attr(StringRef name) const {
  for (const auto &a : node_.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
int64_t NodeContext::getInt(StringRef name, int64_t def) const {
  auto *a = attr(name);
  return a ? a->i() : def;
}
float NodeContext::getFloat(StringRef name, float def) const {
  auto *a = attr(name);
  return a ? a->f() : def;
}
std::string NodeContext::getString(StringRef name, StringRef def) const {
  auto *a = attr(name);
  return a ? a->s() : def.str();
}
std::optional<SmallVector<int64_t>> NodeContext::getInts(StringRef name) const {
  auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}
FailureOr<ElementsAttr> NodeContext::getTensor(StringRef name) {
  auto *a = attr(name);
  if (!a || !a->has_t())
    return error() << "missing tensor attribute '" << name << "'";
  return importer_.decodeTensor(a->t(), loc_,
                                ("attribute '" + name + "'").str());
}

//===----------------------------------------------------------------------===//
// Outputs
//===----------------------------------------------------------------------===//

size_t NodeContext::numOutputs() const { return node_.output_size(); }
bool NodeContext::hasOutput(size_t i) const {
  return (int)i < node_.output_size() && !node_.output(i).empty();
}
void NodeContext::setOutput(size_t i, Value v, ArrayRef<AffineExpr> dims) {
  if (!hasOutput(i))
    return;
  ValueInfo info;
  info.elementType = cast<RankedTensorType>(v.getType()).getElementType();
  for (AffineExpr e : dims)
    info.dims.push_back(kiln::simplifySym(e));
  info.tensor = v;
  importer_.values[node_.output(i)] = std::move(info);
}
void NodeContext::setOutputValues(size_t i, Type elementType,
                                  ArrayRef<AffineExpr> dims,
                                  ArrayRef<AffineExpr> values) {
  if (!hasOutput(i))
    return;
  ValueInfo info;
  info.elementType = elementType;
  info.dims.assign(dims.begin(), dims.end());
  SmallVector<AffineExpr> simplified;
  for (AffineExpr e : values)
    simplified.push_back(kiln::simplifySym(e));
  info.values = simplified;
  importer_.values[node_.output(i)] = std::move(info);
}
void NodeContext::setOutputConstant(size_t i, ElementsAttr value) {
  if (!hasOutput(i))
    return;
  ValueInfo info;
  auto type = value.getShapedType();
  info.elementType = type.getElementType();
  for (int64_t d : type.getShape())
    info.dims.push_back(cst(d));
  info.constant = value;
  if (auto dense = dyn_cast<DenseIntElementsAttr>(value);
      dense && !info.elementType.isInteger(1) && dense.getNumElements() <= 64) {
    SmallVector<AffineExpr> vals;
    for (const APInt &v : dense.getValues<APInt>())
      vals.push_back(cst(v.getSExtValue()));
    info.values = vals;
  }
  importer_.values[node_.output(i)] = std::move(info);
}
void NodeContext::forward(size_t out, size_t in) {
  if (!hasOutput(out))
    return;
  importer_.values[node_.output(out)] = info(in);
}

InFlightDiagnostic NodeContext::error() {
  std::string domain = canonicalDomain(node_.domain()).str();
  return emitError(loc_) << describeNode(node_) << " (" << opType() << ", "
                         << domain << " opset " << opset_ << "): ";
}

bool NodeContext::provablyAbove(AffineExpr e, int64_t bound) {
  if (auto b = kiln::symLowerBound(e, 0); b && *b > bound)
    return true;
  auto b = kiln::symLowerBound(e, 1);
  if (!b || *b <= bound)
    return false;
  e.walk([&](AffineExpr sub) {
    if (auto s = dyn_cast<AffineSymbolExpr>(sub))
      importer_.assumedNonZero.insert(s.getPosition());
  });
  return true;
}

SmallVector<AffineExpr>
NodeContext::bindDataSymbols(Value values, Value valid,
                             ArrayRef<std::string> names, StringRef check) {
  std::string base = node_.name();
  if (base.empty())
    for (const std::string &out : node_.output())
      if (!out.empty()) {
        base = out;
        break;
      }
  SmallVector<AffineExpr> syms;
  SmallVector<int64_t> positions;
  for (const std::string &name : names) {
    unsigned pos = importer_.newSymbol(base + "." + name);
    positions.push_back(pos);
    syms.push_back(getAffineSymbolExpr(pos, ctx()));
  }
  std::string domain = canonicalDomain(node_.domain()).str();
  std::string message = describeNode(node_) + " (" + opType().str() + ", " +
                        domain + " opset " + std::to_string(opset_) +
                        "): " + check.str();
  kiln::BindSymbolsOp::create(builder(), loc_, values.getType(), values, valid,
                              builder().getDenseI64ArrayAttr(positions),
                              builder().getStringAttr(message));
  return syms;
}

const kiln::OptionNames &NodeContext::optionNames() const {
  return importer_.options.optionNames;
}

std::string kiln::onnx_import::describeNode(const onnx::NodeProto &node) {
  if (!node.name().empty())
    return "node '" + node.name() + "'";
  for (const std::string &out : node.output())
    if (!out.empty())
      return "unnamed node producing '" + out + "'";
  return "unnamed node";
}

//===----------------------------------------------------------------------===//
// Shapes
//===----------------------------------------------------------------------===//

unsigned NodeContext::numSymbols() const {
  return importer_.symbolNames.size();
}
AffineExpr NodeContext::cst(int64_t v) {
  return getAffineConstantExpr(v, ctx());
}
RankedTensorType NodeContext::tensorType(ArrayRef<AffineExpr> dims,
                                         Type elementType) {
  SmallVector<int64_t> shape;
  for (AffineExpr e : dims)
    shape.push_back(kiln::toStaticExtent(e));
  return RankedTensorType::get(shape, elementType);
}
AffineMap NodeContext::shapeMap(ArrayRef<AffineExpr> dims) {
  return kiln::shapeMap(ctx(), numSymbols(), dims);
}
FailureOr<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank,
                                              StringRef what) {
  if (axis < -rank || axis >= rank)
    return error() << what << " " << axis << " is out of range for rank "
                   << rank;
  return axis < 0 ? axis + rank : axis;
}

std::string NodeContext::formatExtent(AffineExpr e) const {
  return kiln::symToString(e, importer_.symbolNames);
}
std::string NodeContext::formatDims(ArrayRef<AffineExpr> dims) const {
  std::string out = "[";
  for (auto [i, e] : llvm::enumerate(dims))
    out += (i ? ", " : "") + formatExtent(e);
  return out + "]";
}

FailureOr<SmallVector<AffineExpr>>
NodeContext::broadcast(ArrayRef<AffineExpr> a, ArrayRef<AffineExpr> b) {
  size_t rank = std::max(a.size(), b.size());
  SmallVector<AffineExpr> out(rank);
  for (size_t i = 0; i < rank; ++i) {
    AffineExpr x = i + a.size() >= rank ? a[i + a.size() - rank] : cst(1);
    AffineExpr y = i + b.size() >= rank ? b[i + b.size() - rank] : cst(1);
    auto cx = kiln::symConstant(x), cy = kiln::symConstant(y);
    if (cx == 1)
      out[i] = y;
    else if (cy == 1 || kiln::symEqual(x, y))
      out[i] = x;
    else {
      return error() << "cannot broadcast shapes " << formatDims(a) << " and "
                     << formatDims(b) << ": extent '" << formatExtent(x)
                     << "' vs '" << formatExtent(y) << "' at result dim " << i;
    }
  }
  return out;
}

std::optional<int64_t>
kiln::onnx_import::staticNumElements(ArrayRef<AffineExpr> dims) {
  int64_t n = 1;
  for (AffineExpr e : dims) {
    auto c = kiln::symConstant(e);
    // A count that overflows is no use to anyone: treat it as unknown (the
    // importer refuses the node's huge output after the converter ran).
    if (!c || __builtin_mul_overflow(n, *c, &n))
      return std::nullopt;
  }
  return n;
}

//===----------------------------------------------------------------------===//
// Data types
//===----------------------------------------------------------------------===//

Type kiln::onnx_import::elementTypeFromOnnx(MLIRContext *ctx, int32_t dtype) {
  // ONNX's TensorProto.DataType numbering is the C API's. f8E4M3FN (17,
  // past this onnx.proto's types) is there for a KV cache kilnc narrows
  // (--kv-cache-type), not taken from models.
  if (dtype == 17)
    return {};
  return elementTypeForDtype(ctx, dtype);
}

std::string kiln::onnx_import::onnxDtypeName(int32_t dtype) {
  if (onnx::TensorProto::DataType_IsValid(dtype))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(dtype));
  return "<unknown dtype " + std::to_string(dtype) + ">";
}
