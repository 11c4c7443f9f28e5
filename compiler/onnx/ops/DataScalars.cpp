//===- DataScalars.cpp - Shape values read from tensor data ---------------===//
#include "compiler/onnx/ops/DataScalars.h"
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

RankedTensorType DataScalars::scalarType(Type elem) {
  return RankedTensorType::get({}, elem);
}

FailureOr<SmallVector<Value>> DataScalars::elements(size_t i, StringRef what) {
  if (!nc.hasInput(i))
    return nc.error() << "missing " << what;
  Type elem = nc.elementType(i);
  auto count = staticNumElements(nc.dims(i));
  if (nc.rank(i) > 1 || !count)
    return nc.error() << what << " (input " << i << ", '" << nc.node().input(i)
                      << "') must be a scalar or a 1-D tensor of a length "
                         "known at compile time, got "
                      << nc.formatDims(nc.dims(i));
  if (!isa<IntegerType>(elem) || elem.isInteger(1))
    return nc.error() << what << " (input " << i << ", '" << nc.node().input(i)
                      << "') must hold integers, got " << elem;
  OpBuilder &b = nc.builder();
  Value v = nc.input(i);
  Type i64 = b.getI64Type();
  if (elem != i64)
    v = k::CastOp::create(
        b, nc.loc(),
        RankedTensorType::get(cast<RankedTensorType>(v.getType()).getShape(),
                              i64),
        v);
  SmallVector<Value> out;
  if (nc.rank(i) == 0) {
    out.push_back(v);
    return out;
  }
  for (int64_t j = 0; j < *count; ++j) {
    Value one =
        k::SliceOp::create(b, nc.loc(), RankedTensorType::get({1}, i64), v,
                           AffineMapAttr::get(nc.shapeMap({nc.cst(j)})),
                           AffineMapAttr::get(nc.shapeMap({nc.cst(1)})),
                           b.getDenseI64ArrayAttr({1}));
    out.push_back(reshapeTo(nc, one, {}));
  }
  return out;
}

LogicalResult
DataScalars::valuesOrElements(size_t i, StringRef what,
                              std::optional<SmallVector<AffineExpr>> &exprs,
                              SmallVector<Value> &scalars) {
  if (nc.hasInput(i) && nc.values(i)) {
    exprs = *nc.values(i);
    return success();
  }
  auto e = elements(i, what);
  if (failed(e))
    return failure();
  scalars = std::move(*e);
  return success();
}

FailureOr<SmallVector<Value>> DataScalars::scalars(size_t i, StringRef what) {
  std::optional<SmallVector<AffineExpr>> exprs;
  SmallVector<Value> out;
  if (failed(valuesOrElements(i, what, exprs, out)))
    return failure();
  if (exprs)
    for (AffineExpr e : *exprs)
      out.push_back(extent(e));
  return out;
}

Value DataScalars::constant(int64_t v) {
  OpBuilder &b = nc.builder();
  auto type = scalarType(b.getI64Type());
  return k::ConstantOp::create(
      b, nc.loc(), type,
      cast<ElementsAttr>(DenseElementsAttr::get(type, b.getI64IntegerAttr(v))));
}

Value DataScalars::truth(bool v) {
  OpBuilder &b = nc.builder();
  auto type = scalarType(b.getI1Type());
  return k::ConstantOp::create(
      b, nc.loc(), type,
      cast<ElementsAttr>(DenseElementsAttr::get(type, b.getBoolAttr(v))));
}

Value DataScalars::extent(AffineExpr e) {
  if (auto c = k::symConstant(e))
    return constant(*c);
  OpBuilder &b = nc.builder();
  Value one = k::SymbolicValuesOp::create(
      b, nc.loc(), RankedTensorType::get({1}, b.getI64Type()),
      AffineMapAttr::get(nc.shapeMap({e})));
  return reshapeTo(nc, one, {});
}

template <typename OpT>
static Value arith(NodeContext &nc, Value a, Value b, Type elem) {
  return OpT::create(nc.builder(), nc.loc(), RankedTensorType::get({}, elem), a,
                     b);
}

Value DataScalars::add(Value a, Value b) {
  return arith<k::AddOp>(nc, a, b, nc.builder().getI64Type());
}
Value DataScalars::sub(Value a, Value b) {
  return arith<k::SubOp>(nc, a, b, nc.builder().getI64Type());
}
Value DataScalars::mul(Value a, Value b) {
  return arith<k::MulOp>(nc, a, b, nc.builder().getI64Type());
}
Value DataScalars::div(Value a, Value b) {
  return arith<k::DivOp>(nc, a, b, nc.builder().getI64Type());
}
Value DataScalars::min(Value a, Value b) {
  return arith<k::MinOp>(nc, a, b, nc.builder().getI64Type());
}
Value DataScalars::max(Value a, Value b) {
  return arith<k::MaxOp>(nc, a, b, nc.builder().getI64Type());
}
Value DataScalars::eq(Value a, Value b) {
  return arith<k::EqualOp>(nc, a, b, nc.builder().getI1Type());
}
Value DataScalars::lt(Value a, Value b) {
  return arith<k::LessOp>(nc, a, b, nc.builder().getI1Type());
}
Value DataScalars::le(Value a, Value b) {
  return arith<k::LessEqualOp>(nc, a, b, nc.builder().getI1Type());
}
Value DataScalars::logicalAnd(Value a, Value b) {
  return arith<k::AndOp>(nc, a, b, nc.builder().getI1Type());
}
Value DataScalars::logicalOr(Value a, Value b) {
  return arith<k::OrOp>(nc, a, b, nc.builder().getI1Type());
}
Value DataScalars::logicalNot(Value a) {
  return k::NotOp::create(nc.builder(), nc.loc(), a.getType(), a);
}
Value DataScalars::select(Value cond, Value a, Value b) {
  return k::WhereOp::create(nc.builder(), nc.loc(), a.getType(), cond, a, b);
}
Value DataScalars::all(ArrayRef<Value> conds) {
  if (conds.empty())
    return truth(true);
  Value r = conds.front();
  for (Value c : conds.drop_front())
    r = logicalAnd(r, c);
  return r;
}

Value DataScalars::vector(ArrayRef<Value> scalars) {
  SmallVector<Value> parts;
  for (Value s : scalars)
    parts.push_back(reshapeTo(nc, s, {nc.cst(1)}));
  OpBuilder &b = nc.builder();
  if (parts.empty()) {
    auto type = RankedTensorType::get({0}, b.getI64Type());
    return k::ConstantOp::create(
        b, nc.loc(), type,
        cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef<int64_t>{})));
  }
  if (parts.size() == 1)
    return parts[0];
  return k::ConcatOp::create(
      b, nc.loc(),
      RankedTensorType::get({(int64_t)parts.size()}, b.getI64Type()), parts,
      b.getI64IntegerAttr(0));
}

SmallVector<AffineExpr> DataScalars::bind(ArrayRef<Value> values, Value valid,
                                          ArrayRef<std::string> names,
                                          StringRef check) {
  assert(values.size() == names.size() && "one name per value");
  return nc.bindDataSymbols(vector(values), valid ? valid : truth(true), names,
                            check);
}
