//===- Indexing.cpp - GatherElements, GatherND, the scatters and Pad ------===//
#include "compiler/onnx/ops/ConverterUtils.h"
#include "compiler/onnx/ops/DataScalars.h"

#include "onnx.pb.h"

#include "llvm/ADT/StringSwitch.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

static LogicalResult convertGatherElements(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank == 0 || nc.rank(1) != rank)
    return nc.error() << "data and indices must have the same rank of 1 or "
                         "more, got "
                      << nc.formatDims(nc.dims(0)) << " and "
                      << nc.formatDims(nc.dims(1));
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  Value data = nc.input(0), idx = nc.input(1);
  auto type = nc.tensorType(nc.dims(1), nc.elementType(0));
  nc.setOutput(
      0,
      k::GatherElementsOp::create(nc.builder(), nc.loc(), type, data, idx,
                                  nc.builder().getI64IntegerAttr(*axis)),
      nc.dims(1));
  return success();
}

static LogicalResult convertGatherND(NodeContext &nc) {
  ArrayRef<AffineExpr> dataDims = nc.dims(0), idxDims = nc.dims(1);
  int64_t r = dataDims.size(), q = idxDims.size();
  int64_t batch = nc.getInt("batch_dims", 0);
  if (r < 1 || q < 1)
    return nc.error() << "data and indices must have rank 1 or more, got "
                      << nc.formatDims(dataDims) << " and "
                      << nc.formatDims(idxDims);
  std::optional<int64_t> k = k::symConstant(idxDims.back());
  if (!k)
    return nc.error() << "the last dim of the indices, '"
                      << nc.formatExtent(idxDims.back())
                      << "', must be known at compile time";
  if (batch < 0 || batch >= std::min(q, r) || *k < 1 || batch + *k > r)
    return nc.error() << "batch_dims " << batch << " and index tuples of " << *k
                      << " do not fit data " << nc.formatDims(dataDims)
                      << " and indices " << nc.formatDims(idxDims);
  for (int64_t d = 0; d < batch; ++d)
    if (!k::symEqual(dataDims[d], idxDims[d]))
      return nc.error() << "batch dim " << d << " differs: data "
                        << nc.formatDims(dataDims) << ", indices "
                        << nc.formatDims(idxDims);
  SmallVector<AffineExpr> outDims(idxDims.begin(), idxDims.end() - 1);
  outDims.append(dataDims.begin() + batch + *k, dataDims.end());
  Value data = nc.input(0), idx = nc.input(1);
  auto type = nc.tensorType(outDims, nc.elementType(0));
  nc.setOutput(0,
               k::GatherNDOp::create(nc.builder(), nc.loc(), type, data, idx,
                                     nc.builder().getI64IntegerAttr(batch)),
               outDims);
  return success();
}

static bool sameDims(ArrayRef<AffineExpr> a, ArrayRef<AffineExpr> b) {
  return a.size() == b.size() && llvm::all_of(llvm::zip(a, b), [](auto p) {
           return k::symEqual(std::get<0>(p), std::get<1>(p));
         });
}

/// The `reduction` attribute of ScatterND and ScatterElements: "none",
/// "add" and "mul" from opset 16, "max" and "min" from 18.
static FailureOr<std::string> scatterReduction(NodeContext &nc) {
  std::string r = nc.getString("reduction", "none");
  int64_t since = llvm::StringSwitch<int64_t>(r)
                      .Case("none", 0)
                      .Cases({"add", "mul"}, 16)
                      .Cases({"max", "min"}, 18)
                      .Default(-1);
  if (since < 0 || nc.opset() < since)
    return nc.error() << "reduction '" << r << "' is not one of "
                      << (nc.opset() >= 18 ? "none, add, mul, max, min"
                                           : "none, add, mul")
                      << " at this opset";
  return r;
}

static LogicalResult convertScatterND(NodeContext &nc) {
  ArrayRef<AffineExpr> dataDims = nc.dims(0), idxDims = nc.dims(1),
                       updDims = nc.dims(2);
  int64_t r = dataDims.size(), q = idxDims.size();
  if (r < 1 || q < 1)
    return nc.error() << "data and indices must have rank 1 or more, got "
                      << nc.formatDims(dataDims) << " and "
                      << nc.formatDims(idxDims);
  std::optional<int64_t> k = k::symConstant(idxDims.back());
  if (!k)
    return nc.error() << "the last dim of the indices, '"
                      << nc.formatExtent(idxDims.back())
                      << "', must be known at compile time";
  if (*k < 1 || *k > r)
    return nc.error() << "index tuples of " << *k << " do not fit data "
                      << nc.formatDims(dataDims);
  SmallVector<AffineExpr> want(idxDims.begin(), idxDims.end() - 1);
  want.append(dataDims.begin() + *k, dataDims.end());
  if (!sameDims(want, updDims))
    return nc.error() << "updates " << nc.formatDims(updDims)
                      << " must have the shape indices.shape[:-1] + "
                         "data.shape[k:], "
                      << nc.formatDims(want);
  if (nc.elementType(2) != nc.elementType(0))
    return nc.error() << "updates must have the data's element type";
  auto reduction = scatterReduction(nc);
  if (failed(reduction))
    return failure();
  Value data = nc.input(0), idx = nc.input(1), upd = nc.input(2);
  OpBuilder &b = nc.builder();
  nc.setOutput(0,
               k::ScatterNDOp::create(b, nc.loc(), data.getType(), data, idx,
                                      upd, b.getStringAttr(*reduction)),
               dataDims);
  return success();
}

/// ScatterElements, and Scatter (opsets 9-10, no reduction).
static LogicalResult convertScatterElements(NodeContext &nc) {
  ArrayRef<AffineExpr> dataDims = nc.dims(0), idxDims = nc.dims(1);
  int64_t rank = dataDims.size();
  if (rank == 0 || (int64_t)idxDims.size() != rank)
    return nc.error() << "data and indices must have the same rank of 1 or "
                         "more, got "
                      << nc.formatDims(dataDims) << " and "
                      << nc.formatDims(idxDims);
  if (!sameDims(idxDims, nc.dims(2)))
    return nc.error() << "indices " << nc.formatDims(idxDims) << " and updates "
                      << nc.formatDims(nc.dims(2)) << " must have one shape";
  if (nc.elementType(2) != nc.elementType(0))
    return nc.error() << "updates must have the data's element type";
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  FailureOr<std::string> reduction = std::string("none");
  if (nc.opType() == "ScatterElements")
    reduction = scatterReduction(nc);
  if (failed(reduction))
    return failure();
  Value data = nc.input(0), idx = nc.input(1), upd = nc.input(2);
  OpBuilder &b = nc.builder();
  nc.setOutput(0,
               k::ScatterElementsOp::create(
                   b, nc.loc(), data.getType(), data, idx, upd,
                   b.getI64IntegerAttr(*axis), b.getStringAttr(*reduction)),
               dataDims);
  return success();
}

/// Pad. The amounts come from the `paddings` (opset 1) or `pads` (2-10)
/// attribute, or from input 1 (opset 11 on): constants, symbolic
/// expressions, or tensor data read at run time and bound to symbols. From
/// opset 18, input 3 names the axes they are for.
static LogicalResult convertPad(NodeContext &nc) {
  ArrayRef<AffineExpr> dims = nc.dims(0);
  int64_t rank = dims.size();
  std::string mode = nc.getString("mode", "constant");
  if (mode != "constant" && mode != "edge" && mode != "reflect" &&
      (mode != "wrap" || nc.opset() < 19))
    return nc.error() << "mode '" << mode << "' is not one of constant, edge, "
                      << (nc.opset() >= 19 ? "reflect, wrap" : "reflect");
  SmallVector<int64_t> axes;
  if (nc.opset() >= 18 && nc.hasInput(3)) {
    auto given = nc.requireConstInts(3, "axes");
    if (failed(given))
      return failure();
    for (int64_t a : *given) {
      auto axis = nc.normalizeAxis(a, rank);
      if (failed(axis))
        return failure();
      if (llvm::is_contained(axes, *axis))
        return nc.error() << "axis " << a << " is repeated";
      axes.push_back(*axis);
    }
  } else {
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  SmallVector<AffineExpr> amounts;
  if (nc.opset() < 11) {
    for (int64_t v : nc.getInts(nc.opset() < 2 ? "paddings" : "pads")
                         .value_or(SmallVector<int64_t>()))
      amounts.push_back(nc.cst(v));
  } else {
    DataScalars d(nc);
    std::optional<SmallVector<AffineExpr>> exprs;
    SmallVector<Value> scalars;
    if (failed(d.valuesOrElements(1, "pads", exprs, scalars)))
      return failure();
    if (exprs) {
      amounts = *exprs;
    } else {
      // Read at run time: every padded extent must stay >= 0, and edge,
      // reflect and wrap need something left of the input to read.
      if (scalars.size() != 2 * axes.size())
        return nc.error() << "pads has " << scalars.size() << " values for "
                          << axes.size() << " axes; expected twice as many";
      SmallVector<Value> ok;
      Value zero = d.constant(0);
      for (auto [i, axis] : llvm::enumerate(axes)) {
        Value before = scalars[i], after = scalars[axes.size() + i];
        Value n = d.extent(dims[axis]);
        Value out = d.add(d.add(n, before), after);
        ok.push_back(d.ge(out, zero));
        if (mode != "constant")
          ok.push_back(d.logicalOr(
              d.eq(out, zero),
              d.gt(d.add(d.add(n, d.min(before, zero)), d.min(after, zero)),
                   zero)));
      }
      // Symbols are extents (>= 0): a pad p is bound as max(p, 0) -
      // max(-p, 0), what it adds and what it crops.
      SmallVector<Value> parts;
      SmallVector<std::string> names;
      for (auto [i, p] : llvm::enumerate(scalars)) {
        parts.push_back(d.max(p, zero));
        parts.push_back(d.max(d.sub(zero, p), zero));
        names.push_back(("pads[" + Twine(i) + "].add").str());
        names.push_back(("pads[" + Twine(i) + "].crop").str());
      }
      SmallVector<AffineExpr> bound =
          d.bind(parts, d.all(ok), names,
                 "the pads read at run time from '" + nc.node().input(1) +
                     "' leave a negative extent, or nothing to pad with in " +
                     mode + " mode, for the input's " + nc.formatDims(dims));
      for (size_t i = 0; i < scalars.size(); ++i)
        amounts.push_back(bound[2 * i] - bound[2 * i + 1]);
    }
  }
  if (amounts.size() != 2 * axes.size())
    return nc.error() << "pads has " << amounts.size() << " values for "
                      << axes.size() << " axes; expected twice as many";
  SmallVector<AffineExpr> pads(2 * rank, nc.cst(0)), outDims;
  for (auto [i, axis] : llvm::enumerate(axes)) {
    pads[axis] = amounts[i];
    pads[rank + axis] = amounts[axes.size() + i];
  }
  for (int64_t d = 0; d < rank; ++d) {
    AffineExpr out = k::symAdd(k::symAdd(dims[d], pads[d]), pads[rank + d]);
    auto n = k::symConstant(dims[d]), before = k::symConstant(pads[d]),
         after = k::symConstant(pads[rank + d]);
    if (auto e = k::symConstant(out); e && *e < 0)
      return nc.error() << "pads " << nc.formatExtent(pads[d]) << " and "
                        << nc.formatExtent(pads[rank + d]) << " of dim " << d
                        << " leave a negative extent of " << *e;
    // The input that edge, reflect and wrap read must not be cropped away.
    if (mode != "constant" && n && before && after &&
        *n + std::min<int64_t>(*before, 0) + std::min<int64_t>(*after, 0) <=
            0 &&
        k::symConstant(out) != 0)
      return nc.error() << "dim " << d << " has nothing to pad with in " << mode
                        << " mode";
    outDims.push_back(out);
  }
  OpBuilder &b = nc.builder();
  Type elem = nc.elementType(0);
  Value value;
  if (mode == "constant" && nc.opset() < 11) {
    auto type = RankedTensorType::get({}, elem);
    double v = nc.getFloat("value", 0.0f);
    Attribute scalar = isa<FloatType>(elem)
                           ? (Attribute)b.getFloatAttr(elem, v)
                           : (Attribute)b.getIntegerAttr(elem, (int64_t)v);
    value = k::ConstantOp::create(
        b, nc.loc(), type,
        cast<ElementsAttr>(DenseElementsAttr::get(type, scalar)));
  } else if (mode == "constant" && nc.hasInput(2)) {
    if (staticNumElements(nc.dims(2)) != 1 || nc.elementType(2) != elem)
      return nc.error() << "constant_value must be one " << elem
                        << " value, got " << nc.formatDims(nc.dims(2)) << " of "
                        << nc.elementType(2);
    value = reshapeTo(nc, nc.input(2), {});
  }
  Value x = nc.input(0);
  nc.setOutput(0,
               k::PadOp::create(b, nc.loc(), nc.tensorType(outDims, elem), x,
                                value, b.getStringAttr(mode),
                                AffineMapAttr::get(nc.shapeMap(pads))),
               outDims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::indexingConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "GatherElements", 11, M, convertGatherElements, "Indexing"},
      {"", "GatherND", 11, M, convertGatherND, "Indexing"},
      {"", "Pad", 1, M, convertPad, "Indexing"},
      {"", "Scatter", 9, 10, convertScatterElements, "Indexing"},
      {"", "ScatterElements", 11, M, convertScatterElements, "Indexing"},
      {"", "ScatterND", 11, M, convertScatterND, "Indexing"},
  };
  return rows;
}
