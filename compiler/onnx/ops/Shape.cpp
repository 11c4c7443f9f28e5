//===- Shape.cpp - Shape, data-movement and constant ONNX ops -------------===//
//
// Most of these ops appear in exporter output as shape arithmetic on small
// int64 tensors. When their inputs are known symbolically the result is
// recorded symbolically and no IR is built; otherwise they become kiln data
// movement ops.
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"
#include "compiler/onnx/ops/DataScalars.h"
#include "compiler/onnx/ops/ShapeFromData.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

static constexpr int64_t kMaxKnownValues = 64;

static LogicalResult convertConstant(NodeContext &nc) {
  Builder b(nc.ctx());
  if (nc.attr("value")) {
    auto t = nc.getTensor("value");
    if (failed(t))
      return failure();
    nc.setOutputConstant(0, *t);
    return success();
  }
  auto scalarOrList = [&](Type elem, auto values, bool scalar) {
    SmallVector<int64_t> shape;
    if (!scalar)
      shape.push_back(values.size());
    auto type = RankedTensorType::get(shape, elem);
    return cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef(values)));
  };
  if (auto *a = nc.attr("value_float")) {
    nc.setOutputConstant(
        0, scalarOrList(b.getF32Type(), SmallVector<float>{a->f()}, true));
    return success();
  }
  if (auto *a = nc.attr("value_floats")) {
    SmallVector<float> v(a->floats().begin(), a->floats().end());
    nc.setOutputConstant(0, scalarOrList(b.getF32Type(), v, false));
    return success();
  }
  if (auto *a = nc.attr("value_int")) {
    nc.setOutputConstant(
        0, scalarOrList(b.getI64Type(), SmallVector<int64_t>{a->i()}, true));
    return success();
  }
  if (auto *a = nc.attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    nc.setOutputConstant(0, scalarOrList(b.getI64Type(), v, false));
    return success();
  }
  return nc.error() << "only the value, value_float(s) and value_int(s) "
                       "forms are supported";
}

static LogicalResult convertShape(NodeContext &nc) {
  ArrayRef<AffineExpr> dims = nc.dims(0);
  int64_t rank = dims.size();
  int64_t start = nc.getInt("start", 0), end = nc.getInt("end", rank);
  auto clampIndex = [&](int64_t i) {
    if (i < 0)
      i += rank;
    return std::clamp<int64_t>(i, 0, rank);
  };
  start = clampIndex(start);
  end = clampIndex(end);
  SmallVector<AffineExpr> vals;
  for (int64_t i = start; i < end; ++i)
    vals.push_back(dims[i]);
  nc.setOutputValues(0, nc.builder().getI64Type(), {nc.cst(vals.size())}, vals);
  return success();
}

static LogicalResult convertSize(NodeContext &nc) {
  nc.setOutputValues(0, nc.builder().getI64Type(), {},
                     {product(nc, nc.dims(0))});
  return success();
}

static LogicalResult convertIdentity(NodeContext &nc) {
  nc.forward(0, 0);
  return success();
}

/// Dropout in inference mode is the identity and its mask is all true.
/// Training mode draws random numbers, so it is supported only where it is
/// the identity too: a constant ratio of 0.
static LogicalResult convertDropout(NodeContext &nc) {
  if (nc.opset() >= 12 && nc.hasInput(2)) {
    auto training = nc.constScalar(2);
    if (!training) {
      // Known at run time only: the run stops unless it is the identity.
      DataScalars d(nc);
      OpBuilder &b = nc.builder();
      auto i1 = RankedTensorType::get({}, b.getI1Type());
      Value t = reshapeTo(nc, nc.input(2), {});
      Value identity = d.logicalNot(t);
      if (nc.hasInput(1)) {
        Value r = reshapeTo(nc, nc.input(1), {});
        Type re = nc.elementType(1);
        identity = d.logicalOr(
            identity, k::EqualOp::create(b, nc.loc(), i1, r,
                                         buildRank0Constant(nc, re, 0.0)));
      }
      d.bind({}, identity, {},
             "training_mode is true at run time with a non-zero ratio: "
             "training-mode Dropout is random and not supported");
    } else if (*training != 0) {
      std::optional<double> ratio = 0.5;
      if (nc.hasInput(1))
        ratio = nc.constScalar(1);
      if (!ratio || *ratio != 0)
        return nc.error() << "training-mode Dropout with a ratio other than "
                             "a constant 0 is random and not supported";
    }
  }
  nc.forward(0, 0);
  if (!nc.hasOutput(1))
    return success();
  // The mask is bool from opset 10 on, the input's type before.
  Type elem = nc.opset() >= 10 ? nc.builder().getI1Type() : nc.elementType(0);
  TypedAttr one = isa<FloatType>(elem)
                      ? TypedAttr(nc.builder().getFloatAttr(elem, 1.0))
                      : TypedAttr(nc.builder().getIntegerAttr(elem, 1));
  ArrayRef<AffineExpr> dims = nc.dims(0);
  Value mask =
      k::FillOp::create(nc.builder(), nc.loc(), nc.tensorType(dims, elem), one,
                        AffineMapAttr::get(nc.shapeMap(dims)));
  nc.setOutput(1, mask, dims);
  return success();
}

/// Gather on a known vector (shape arithmetic) or on real data.
static LogicalResult convertGather(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  ArrayRef<AffineExpr> dataDims = nc.dims(0), idxDims = nc.dims(1);
  SmallVector<AffineExpr> outDims(dataDims.begin(), dataDims.begin() + *axis);
  outDims.append(idxDims.begin(), idxDims.end());
  outDims.append(dataDims.begin() + *axis + 1, dataDims.end());

  if (nc.values(0) && rank == 1) {
    if (auto idx = nc.constInts(1)) {
      const auto &vals = *nc.values(0);
      SmallVector<AffineExpr> picked;
      for (int64_t i : *idx) {
        int64_t n = vals.size();
        if (i < -n || i >= n)
          return nc.error() << "index " << i << " is out of range for a "
                            << "shape vector of " << n << " entries";
        picked.push_back(vals[i < 0 ? i + n : i]);
      }
      nc.setOutputValues(0, nc.elementType(0), outDims, picked);
      return success();
    }
  }
  Value data = nc.input(0), idx = nc.input(1);
  auto type = nc.tensorType(outDims, nc.elementType(0));
  Value r = k::GatherOp::create(nc.builder(), nc.loc(), type, data, idx,
                                nc.builder().getI64IntegerAttr(*axis));
  nc.setOutput(0, r, outDims);
  return success();
}

/// Reshape-like ops keep known contents, since row-major order is unchanged.
static LogicalResult finishReshape(NodeContext &nc,
                                   ArrayRef<AffineExpr> outDims) {
  AffineExpr inCount = product(nc, nc.dims(0));
  AffineExpr outCount = product(nc, outDims);
  auto a = k::symConstant(inCount), b = k::symConstant(outCount);
  if ((a && b && *a != *b) || (!k::symEqual(inCount, outCount) && (a || b)))
    return nc.error() << "cannot reshape " << nc.rank(0) << "-D input of "
                      << "element count that differs from the target shape's";
  if (nc.values(0)) {
    nc.setOutputValues(0, nc.elementType(0), outDims, *nc.values(0));
    return success();
  }
  nc.setOutput(0, reshapeTo(nc, nc.input(0), outDims), outDims);
  return success();
}

/// A reshape to dims read at run time; the element counts were checked
/// where they were read.
static LogicalResult reshapeToData(NodeContext &nc,
                                   FailureOr<SmallVector<AffineExpr>> out) {
  if (failed(out))
    return failure();
  nc.setOutput(0, reshapeTo(nc, nc.input(0), *out), *out);
  return success();
}

static LogicalResult convertReshape(NodeContext &nc) {
  if (nc.hasInput(1) && !nc.values(1))
    return reshapeToData(nc, reshapeTargetFromData(nc));
  auto shape = nc.requireValues(1, "shape");
  if (failed(shape))
    return failure();
  bool allowZero = nc.getInt("allowzero", 0) != 0;
  ArrayRef<AffineExpr> in = nc.dims(0);
  SmallVector<AffineExpr> out;
  int inferIndex = -1;
  for (auto [i, e] : llvm::enumerate(*shape)) {
    auto c = k::symConstant(e);
    if (c == 0 && !allowZero) {
      if (i >= in.size())
        return nc.error() << "shape entry " << i << " is 0 (copy) but the "
                          << "input has rank " << in.size();
      out.push_back(in[i]);
    } else if (c == -1) {
      if (inferIndex >= 0)
        return nc.error() << "shape has more than one -1 entry";
      inferIndex = i;
      out.push_back(nc.cst(1));
    } else if (c && *c < 0) {
      return nc.error() << "shape entry " << i << " is " << *c;
    } else {
      out.push_back(e);
    }
  }
  if (inferIndex >= 0)
    out[inferIndex] = k::symFloorDiv(product(nc, in), product(nc, out));
  return finishReshape(nc, out);
}

static LogicalResult convertFlatten(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  int64_t axis = nc.getInt("axis", 1);
  if (axis < -rank || axis > rank)
    return nc.error() << "axis " << axis << " is out of range for rank "
                      << rank;
  if (axis < 0)
    axis += rank;
  ArrayRef<AffineExpr> in = nc.dims(0);
  SmallVector<AffineExpr> out{product(nc, in.take_front(axis)),
                              product(nc, in.drop_front(axis))};
  return finishReshape(nc, out);
}

static LogicalResult convertUnsqueeze(NodeContext &nc) {
  if (nc.opset() >= 13 && nc.hasInput(1) && !nc.constInts(1))
    return reshapeToData(nc, unsqueezeFromData(nc));
  auto axes = axesFromAttrOrInput(nc, 1, nc.opset() >= 13);
  if (failed(axes))
    return failure();
  if (!*axes)
    return nc.error() << "axes are required";
  int64_t outRank = nc.rank(0) + (*axes)->size();
  auto norm = normalizeAxes(nc, **axes, outRank);
  if (failed(norm))
    return failure();
  SmallVector<AffineExpr> out;
  ArrayRef<AffineExpr> in = nc.dims(0);
  size_t next = 0;
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(llvm::is_contained(*norm, i) ? nc.cst(1) : in[next++]);
  return finishReshape(nc, out);
}

static LogicalResult convertSqueeze(NodeContext &nc) {
  if (nc.opset() >= 13 && nc.hasInput(1) && !nc.constInts(1))
    return reshapeToData(nc, squeezeFromData(nc));
  auto axes = axesFromAttrOrInput(nc, 1, nc.opset() >= 13);
  if (failed(axes))
    return failure();
  ArrayRef<AffineExpr> in = nc.dims(0);
  SmallVector<int64_t> norm;
  if (*axes) {
    auto n = normalizeAxes(nc, **axes, in.size());
    if (failed(n))
      return failure();
    norm = *n;
    for (int64_t a : norm)
      if (k::symConstant(in[a]) != 1)
        return nc.error() << "cannot squeeze dim " << a << " of "
                          << nc.formatDims(in) << ": its extent '"
                          << nc.formatExtent(in[a]) << "' is not 1";
  } else {
    // Without axes ONNX drops every extent that is 1 at run time, so the
    // result's rank would depend on a symbol that may be 1. A multiple of a
    // constant >= 2 never is.
    for (auto [i, e] : llvm::enumerate(in)) {
      auto c = k::symConstant(e);
      if (c == 1)
        norm.push_back(i);
      else if (!c && e.getLargestKnownDivisor() < 2)
        return nc.error() << "without axes, dim " << i << " of "
                          << nc.formatDims(in)
                          << " would be squeezed only if its extent '"
                          << nc.formatExtent(e)
                          << "' is 1 at run time, and the result's rank "
                             "cannot depend on that; give the axes, or fix "
                             "the symbol with "
                          << nc.optionNames().shape;
    }
  }
  SmallVector<AffineExpr> out;
  for (auto [i, e] : llvm::enumerate(in))
    if (!llvm::is_contained(norm, (int64_t)i))
      out.push_back(e);
  return finishReshape(nc, out);
}

static LogicalResult convertConcat(NodeContext &nc) {
  size_t n = nc.numInputs();
  if (n == 0)
    return nc.error() << "needs at least one input";
  int64_t rank = nc.rank(0);
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  SmallVector<AffineExpr> out(nc.dims(0));
  bool allKnown = nc.values(0).has_value();
  for (size_t i = 1; i < n; ++i) {
    if (nc.rank(i) != rank)
      return nc.error() << "input " << i << " has rank " << nc.rank(i)
                        << ", expected " << rank;
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis && !k::symEqual(out[d], nc.dims(i)[d]))
        return nc.error() << "input " << i << " differs in dim " << d;
    out[*axis] = k::symAdd(out[*axis], nc.dims(i)[*axis]);
    allKnown &= nc.values(i).has_value();
  }
  if (allKnown && rank == 1) {
    SmallVector<AffineExpr> vals;
    for (size_t i = 0; i < n; ++i)
      vals.append(nc.values(i)->begin(), nc.values(i)->end());
    nc.setOutputValues(0, nc.elementType(0), out, vals);
    return success();
  }
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n; ++i)
    if (k::symConstant(nc.dims(i)[*axis]) != 0)
      inputs.push_back(nc.input(i));
  if (inputs.empty())
    inputs.push_back(nc.input(0));
  if (inputs.size() == 1) {
    nc.setOutput(0, inputs[0], out);
    return success();
  }
  auto type = nc.tensorType(out, nc.elementType(0));
  Value r = k::ConcatOp::create(nc.builder(), nc.loc(), type, inputs,
                                nc.builder().getI64IntegerAttr(*axis));
  nc.setOutput(0, r, out);
  return success();
}

namespace {
/// One normalized slice of a dim: first index, extent and step.
struct DimSlice {
  AffineExpr offset, size;
  int64_t step;
};
} // namespace

/// ONNX Slice index rules (negative indices count from the end, out of range
/// indices clamp), applied to a possibly symbolic extent `dim`. Symbolic
/// indices are taken as in range: exporters produce them from the same
/// shapes they slice.
static FailureOr<DimSlice> normalizeSlice(NodeContext &nc, AffineExpr dim,
                                          AffineExpr start, AffineExpr end,
                                          int64_t step) {
  if (step == 0)
    return nc.error() << "slice step is 0";
  auto dimC = k::symConstant(dim);
  constexpr int64_t kHuge = int64_t(1) << 40;
  auto norm = [&](AffineExpr idx, bool isEnd) -> AffineExpr {
    auto c = k::symConstant(idx);
    if (!c)
      return idx;
    int64_t v = *c;
    int64_t lo = step > 0 ? 0 : -1;
    if (v >= kHuge) // INT64_MAX and friends mean "to the end"
      return step > 0 ? dim : k::symAdd(dim, nc.cst(-1));
    if (v <= -kHuge)
      return nc.cst(step > 0 ? 0 : -1);
    if (v < 0) {
      AffineExpr r = k::symAdd(dim, nc.cst(v));
      if (dimC)
        return nc.cst(std::max(*dimC + v, isEnd ? lo : 0));
      return r;
    }
    if (dimC) {
      int64_t hi = step > 0 ? *dimC : *dimC - 1;
      return nc.cst(std::min(v, hi));
    }
    return idx;
  };
  AffineExpr s = norm(start, false), e = norm(end, true);
  AffineExpr size;
  if (step > 0)
    size = k::symFloorDiv(k::symAdd(k::symSub(e, s), nc.cst(step - 1)),
                          nc.cst(step));
  else
    size = k::symFloorDiv(k::symAdd(k::symSub(s, e), nc.cst(-step - 1)),
                          nc.cst(-step));
  if (auto c = k::symConstant(size); c && *c < 0)
    size = nc.cst(0);
  return DimSlice{s, size, step};
}

static LogicalResult convertSlice(NodeContext &nc) {
  if (nc.opset() >= 10 && ((nc.hasInput(3) && !nc.constInts(3)) ||
                           (nc.hasInput(4) && !nc.constInts(4))))
    return convertSliceFromData(nc);
  int64_t rank = nc.rank(0);
  SmallVector<AffineExpr> starts, ends;
  // Starts or ends read at run time: one scalar each, null exprs above.
  SmallVector<Value> startData, endData;
  SmallVector<int64_t> axes, steps;
  if (nc.opset() < 10) {
    auto s = nc.getInts("starts"), e = nc.getInts("ends");
    if (!s || !e)
      return nc.error() << "starts and ends are required";
    for (int64_t v : *s)
      starts.push_back(nc.cst(v));
    for (int64_t v : *e)
      ends.push_back(nc.cst(v));
    if (auto a = nc.getInts("axes"))
      axes = *a;
  } else {
    DataScalars d(nc);
    std::optional<SmallVector<AffineExpr>> s, e;
    if (failed(d.valuesOrElements(1, "starts", s, startData)) ||
        failed(d.valuesOrElements(2, "ends", e, endData)))
      return failure();
    starts = s ? *s : SmallVector<AffineExpr>(startData.size());
    ends = e ? *e : SmallVector<AffineExpr>(endData.size());
    if (nc.hasInput(3)) {
      auto a = nc.requireConstInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (nc.hasInput(4)) {
      auto st = nc.requireConstInts(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  }
  if (starts.size() != ends.size())
    return nc.error() << "starts and ends differ in length";
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return nc.error() << "starts, ends, axes and steps differ in length";

  ArrayRef<AffineExpr> in = nc.dims(0);
  SmallVector<AffineExpr> offsets(rank, nc.cst(0)), sizes(in);
  SmallVector<int64_t> strides(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < axes.size(); ++i) {
    auto axis = nc.normalizeAxis(axes[i], rank);
    if (failed(axis))
      return failure();
    if (seen[*axis])
      return nc.error() << "axis " << axes[i] << " is sliced twice";
    seen[*axis] = true;
    if (!starts[i] || !ends[i]) {
      auto db = sliceBoundsFromData(
          nc, in[*axis], starts[i], starts[i] ? Value() : startData[i], ends[i],
          ends[i] ? Value() : endData[i], steps[i], *axis);
      if (failed(db))
        return failure();
      offsets[*axis] = db->offset;
      sizes[*axis] = db->size;
      strides[*axis] = steps[i];
      continue;
    }
    auto ds = normalizeSlice(nc, in[*axis], starts[i], ends[i], steps[i]);
    if (failed(ds))
      return failure();
    offsets[*axis] = ds->offset;
    sizes[*axis] = ds->size;
    strides[*axis] = ds->step;
  }

  // Shape arithmetic on a known vector stays symbolic.
  if (nc.values(0) && rank == 1) {
    auto off = k::symConstant(offsets[0]), size = k::symConstant(sizes[0]);
    if (off && size) {
      SmallVector<AffineExpr> vals;
      for (int64_t j = 0; j < *size; ++j)
        vals.push_back((*nc.values(0))[*off + j * strides[0]]);
      nc.setOutputValues(0, nc.elementType(0), sizes, vals);
      return success();
    }
  }
  auto type = nc.tensorType(sizes, nc.elementType(0));
  Value r = k::SliceOp::create(nc.builder(), nc.loc(), type, nc.input(0),
                               AffineMapAttr::get(nc.shapeMap(offsets)),
                               AffineMapAttr::get(nc.shapeMap(sizes)),
                               nc.builder().getDenseI64ArrayAttr(strides));
  nc.setOutput(0, r, sizes);
  return success();
}

static LogicalResult convertSplit(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  auto axis = nc.normalizeAxis(nc.getInt("axis", 0), rank);
  if (failed(axis))
    return failure();
  AffineExpr dim = nc.dims(0)[*axis];
  size_t n = nc.numOutputs();
  SmallVector<AffineExpr> parts;
  if (nc.opset() >= 13 && nc.hasInput(1)) {
    auto s = nc.values(1) ? FailureOr<SmallVector<AffineExpr>>(*nc.values(1))
                          : splitPartsFromData(nc, dim);
    if (failed(s))
      return failure();
    parts = *s;
  } else if (auto s = nc.getInts("split"); s && nc.opset() < 13) {
    for (int64_t v : *s)
      parts.push_back(nc.cst(v));
  } else {
    auto c = k::symConstant(dim);
    if (c && *c % (int64_t)n != 0) {
      int64_t chunk = (*c + n - 1) / n; // opset 18: the last part is smaller
      for (size_t i = 0; i < n; ++i)
        parts.push_back(nc.cst(std::min<int64_t>(chunk, *c - chunk * i)));
    } else {
      // Equal parts of a symbolic extent are exact only when n divides it,
      // and nothing checks that at run time.
      if (k::symConstant(k::symMod(dim, nc.cst(n))) != 0)
        return nc.error() << "cannot split dim " << *axis << " of "
                          << nc.formatDims(nc.dims(0)) << " into " << n
                          << " equal parts: its extent '"
                          << nc.formatExtent(dim)
                          << "' may not be divisible by " << n
                          << "; give the sizes ('split'), or fix the symbol "
                             "with "
                          << nc.optionNames().shape;
      for (size_t i = 0; i < n; ++i)
        parts.push_back(k::symFloorDiv(dim, nc.cst(n)));
    }
  }
  if (parts.size() != n)
    return nc.error() << "split has " << parts.size() << " parts for " << n
                      << " outputs";
  AffineExpr total = nc.cst(0);
  for (AffineExpr p : parts)
    total = k::symAdd(total, p);
  auto tc = k::symConstant(total), dc = k::symConstant(dim);
  if (tc && dc && *tc != *dc)
    return nc.error() << "split parts sum to " << *tc << " but the axis has "
                      << *dc;
  Value input = nc.input(0);
  AffineExpr offset = nc.cst(0);
  for (size_t i = 0; i < n; ++i) {
    SmallVector<AffineExpr> offsets(rank, nc.cst(0)), sizes(nc.dims(0));
    offsets[*axis] = offset;
    sizes[*axis] = parts[i];
    auto type = nc.tensorType(sizes, nc.elementType(0));
    Value r = k::SliceOp::create(
        nc.builder(), nc.loc(), type, input,
        AffineMapAttr::get(nc.shapeMap(offsets)),
        AffineMapAttr::get(nc.shapeMap(sizes)),
        nc.builder().getDenseI64ArrayAttr(SmallVector<int64_t>(rank, 1)));
    nc.setOutput(i, r, sizes);
    offset = k::symAdd(offset, parts[i]);
  }
  return success();
}

static LogicalResult convertTranspose(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  SmallVector<int64_t> perm;
  if (auto p = nc.getInts("perm"))
    perm = *p;
  else
    for (int64_t i = rank - 1; i >= 0; --i)
      perm.push_back(i);
  if ((int64_t)perm.size() != rank)
    return nc.error() << "perm has " << perm.size() << " entries for rank "
                      << rank;
  SmallVector<AffineExpr> out;
  SmallVector<bool> seen(rank, false);
  for (int64_t p : perm) {
    if (p < 0 || p >= rank || seen[p])
      return nc.error() << "perm is not a permutation of 0.." << rank - 1;
    seen[p] = true;
    out.push_back(nc.dims(0)[p]);
  }
  if (rank <= 1) {
    nc.forward(0, 0);
    return success();
  }
  auto type = nc.tensorType(out, nc.elementType(0));
  Value r = k::TransposeOp::create(nc.builder(), nc.loc(), type, nc.input(0),
                                   nc.builder().getDenseI64ArrayAttr(perm));
  nc.setOutput(0, r, out);
  return success();
}

static LogicalResult convertExpand(NodeContext &nc) {
  if (nc.hasInput(1) && !nc.values(1)) {
    auto out = expandTargetFromData(nc);
    if (failed(out))
      return failure();
    auto type = nc.tensorType(*out, nc.elementType(0));
    nc.setOutput(0,
                 k::ExpandOp::create(nc.builder(), nc.loc(), type, nc.input(0),
                                     AffineMapAttr::get(nc.shapeMap(*out))),
                 *out);
    return success();
  }
  auto shape = nc.requireValues(1, "shape");
  if (failed(shape))
    return failure();
  auto out = nc.broadcast(nc.dims(0), *shape);
  if (failed(out))
    return failure();
  if (nc.values(0) && nc.rank(0) <= 1 && out->size() == 1 &&
      k::symConstant((*out)[0])) {
    int64_t n = *k::symConstant((*out)[0]);
    const auto &vals = *nc.values(0);
    if (n <= kMaxKnownValues &&
        (vals.size() == 1 || (int64_t)vals.size() == n)) {
      SmallVector<AffineExpr> expanded;
      for (int64_t i = 0; i < n; ++i)
        expanded.push_back(vals.size() == 1 ? vals[0] : vals[i]);
      nc.setOutputValues(0, nc.elementType(0), *out, expanded);
      return success();
    }
  }
  auto type = nc.tensorType(*out, nc.elementType(0));
  Value r = k::ExpandOp::create(nc.builder(), nc.loc(), type, nc.input(0),
                                AffineMapAttr::get(nc.shapeMap(*out)));
  nc.setOutput(0, r, *out);
  return success();
}

static LogicalResult convertConstantOfShape(NodeContext &nc) {
  auto shape = nc.hasInput(0) && !nc.values(0) ? extentsFromData(nc, 0, "shape")
                                               : nc.requireValues(0, "shape");
  if (failed(shape))
    return failure();
  Builder b(nc.ctx());
  TypedAttr value = b.getF32FloatAttr(0);
  if (nc.attr("value")) {
    auto t = nc.getTensor("value");
    if (failed(t))
      return failure();
    auto dense = dyn_cast<DenseElementsAttr>(*t);
    if (!dense || dense.getNumElements() != 1)
      return nc.error() << "value must hold exactly one element";
    value = cast<TypedAttr>(*dense.getValues<Attribute>().begin());
  }
  Type elem = value.getType();
  auto count = staticNumElements(*shape);
  if (auto iv = dyn_cast<IntegerAttr>(value);
      iv && !elem.isInteger(1) && count && *count <= kMaxKnownValues) {
    SmallVector<AffineExpr> vals(*count, nc.cst(iv.getInt()));
    nc.setOutputValues(0, elem, *shape, vals);
    return success();
  }
  auto type = nc.tensorType(*shape, elem);
  Value r = k::FillOp::create(nc.builder(), nc.loc(), type, value,
                              AffineMapAttr::get(nc.shapeMap(*shape)));
  nc.setOutput(0, r, *shape);
  return success();
}

static LogicalResult convertRange(NodeContext &nc) {
  Type elem = nc.elementType(0);
  if (isa<FloatType>(elem)) {
    auto s = nc.constScalar(0), l = nc.constScalar(1), d = nc.constScalar(2);
    if (!s || !l || !d)
      return convertRangeFromData(nc);
    if (*d == 0)
      return nc.error() << "delta is 0";
    int64_t n = std::max<int64_t>(0, (int64_t)std::ceil((*l - *s) / *d));
    SmallVector<float> vals;
    for (int64_t i = 0; i < n; ++i)
      vals.push_back(float(*s + i * *d));
    auto type = RankedTensorType::get({n}, elem);
    if (!elem.isF32())
      return nc.error() << "floating-point Range is supported for f32 only";
    nc.setOutputConstant(
        0, cast<ElementsAttr>(DenseElementsAttr::get(type, ArrayRef(vals))));
    return success();
  }
  if (!nc.values(0) || !nc.values(1) || !nc.constInts(2))
    return convertRangeFromData(nc);
  auto start = nc.requireValues(0, "start");
  if (failed(start))
    return failure();
  auto limit = nc.requireValues(1, "limit");
  if (failed(limit))
    return failure();
  auto delta = nc.requireConstInts(2, "delta");
  if (failed(delta))
    return failure();
  if (start->size() != 1 || limit->size() != 1 || delta->size() != 1)
    return nc.error() << "start, limit and delta must be scalars";
  int64_t step = (*delta)[0];
  if (step == 0)
    return nc.error() << "delta is 0";
  AffineExpr s = (*start)[0], l = (*limit)[0];
  AffineExpr size =
      step > 0 ? k::symFloorDiv(k::symAdd(k::symSub(l, s), nc.cst(step - 1)),
                                nc.cst(step))
               : k::symFloorDiv(k::symAdd(k::symSub(s, l), nc.cst(-step - 1)),
                                nc.cst(-step));
  if (auto c = k::symConstant(size); c && *c < 0)
    size = nc.cst(0);
  if (auto c = k::symConstant(size); c && *c <= kMaxKnownValues) {
    SmallVector<AffineExpr> vals;
    for (int64_t i = 0; i < *c; ++i)
      vals.push_back(k::symAdd(s, nc.cst(i * step)));
    nc.setOutputValues(0, elem, {size}, vals);
    return success();
  }
  auto type = nc.tensorType({size}, elem);
  Value r = k::RangeOp::create(nc.builder(), nc.loc(), type,
                               AffineMapAttr::get(nc.shapeMap({s})),
                               AffineMapAttr::get(nc.shapeMap({size})),
                               nc.builder().getI64IntegerAttr(step));
  nc.setOutput(0, r, {size});
  return success();
}

/// Tile as reshape + expand + reshape: [d0, d1] by [r0, r1] is
/// [1, d0, 1, d1] -> [r0, d0, r1, d1] -> [r0*d0, r1*d1].
static LogicalResult convertTile(NodeContext &nc) {
  SmallVector<AffineExpr> reps;
  if (auto c = nc.constInts(1)) {
    for (int64_t r : *c) {
      if (r < 0)
        return nc.error() << "repeat " << r << " is negative";
      reps.push_back(nc.cst(r));
    }
  } else {
    auto r = tileRepeatsFromData(nc);
    if (failed(r))
      return failure();
    reps = *r;
  }
  ArrayRef<AffineExpr> in = nc.dims(0);
  if (reps.size() != in.size())
    return nc.error() << "repeats has " << reps.size() << " entries for rank "
                      << in.size();
  SmallVector<AffineExpr> inter, expanded, out;
  for (auto [d, r] : llvm::zip(in, reps)) {
    inter.append({nc.cst(1), d});
    expanded.append({r, d});
    out.push_back(k::symMul(d, r));
  }
  Value x = reshapeTo(nc, nc.input(0), inter);
  x = k::ExpandOp::create(nc.builder(), nc.loc(),
                          nc.tensorType(expanded, nc.elementType(0)), x,
                          AffineMapAttr::get(nc.shapeMap(expanded)));
  nc.setOutput(0, reshapeTo(nc, x, out), out);
  return success();
}

/// 0, 1, ..., n-1 as an i64 tensor of shape [n].
static Value iota(NodeContext &nc, AffineExpr n) {
  return k::RangeOp::create(
      nc.builder(), nc.loc(), nc.tensorType({n}, nc.builder().getI64Type()),
      AffineMapAttr::get(nc.shapeMap({nc.cst(0)})),
      AffineMapAttr::get(nc.shapeMap({n})), nc.builder().getI64IntegerAttr(1));
}

/// Trilu with `k` known only at run time: keep x[..., i, j] where j - i >= k
/// (upper) or j - i <= k (lower), selecting against zero.
static LogicalResult convertTriluWithTensorK(NodeContext &nc, bool upper) {
  if (staticNumElements(nc.dims(1)) != 1)
    return nc.error() << "k must be a scalar, got rank " << nc.rank(1);
  if (!nc.elementType(1).isInteger(64))
    return nc.error() << "k must be int64, got " << nc.elementType(1);
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  ArrayRef<AffineExpr> dims = nc.dims(0);
  AffineExpr n = dims[dims.size() - 2], m = dims.back();
  Type i64 = b.getI64Type();
  Value rows = reshapeTo(nc, iota(nc, n), {n, nc.cst(1)});
  Value cols = reshapeTo(nc, iota(nc, m), {nc.cst(1), m});
  Value diff = k::SubOp::create(b, loc, nc.tensorType({n, m}, i64), cols, rows);
  Value kv = reshapeTo(nc, nc.input(1), {});
  auto maskType = nc.tensorType({n, m}, b.getI1Type());
  Value keep =
      upper ? (Value)k::GreaterEqualOp::create(b, loc, maskType, diff, kv)
            : (Value)k::LessEqualOp::create(b, loc, maskType, diff, kv);
  Type elem = nc.elementType(0);
  auto scalarType = RankedTensorType::get({}, elem);
  Value zero = k::ConstantOp::create(b, loc, scalarType,
                                     cast<ElementsAttr>(DenseElementsAttr::get(
                                         scalarType, b.getZeroAttr(elem))));
  Value x = nc.input(0);
  nc.setOutput(0, k::WhereOp::create(b, loc, x.getType(), keep, x, zero), dims);
  return success();
}

static LogicalResult convertTrilu(NodeContext &nc) {
  if (nc.rank(0) < 2)
    return nc.error() << "input must have rank >= 2";
  int64_t kOff = 0;
  if (nc.hasInput(1)) {
    auto kv = nc.constInts(1);
    if (!kv)
      return convertTriluWithTensorK(nc, nc.getInt("upper", 1) != 0);
    if (kv->size() != 1)
      return nc.error() << "k must be a scalar, got " << kv->size()
                        << " values";
    kOff = (*kv)[0];
  }
  Value r = k::TriluOp::create(nc.builder(), nc.loc(), nc.input(0).getType(),
                               nc.input(0),
                               nc.builder().getBoolAttr(nc.getInt("upper", 1)),
                               nc.builder().getI64IntegerAttr(kOff));
  nc.setOutput(0, r, nc.dims(0));
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::shapeConverters() {
  static const OpConverter rows[] = {
      {"", "Concat", 4, kMaxSupportedOpset, convertConcat, "Shape"},
      {"", "Constant", 1, kMaxSupportedOpset, convertConstant, "Shape"},
      {"", "ConstantOfShape", 9, kMaxSupportedOpset, convertConstantOfShape,
       "Shape"},
      {"", "Dropout", 7, kMaxSupportedOpset, convertDropout, "Shape"},
      {"", "Expand", 8, kMaxSupportedOpset, convertExpand, "Shape"},
      {"", "Flatten", 1, kMaxSupportedOpset, convertFlatten, "Shape"},
      {"", "Gather", 1, kMaxSupportedOpset, convertGather, "Shape"},
      {"", "Identity", 1, kMaxSupportedOpset, convertIdentity, "Shape"},
      {"", "Range", 11, kMaxSupportedOpset, convertRange, "Shape"},
      {"", "Reshape", 5, kMaxSupportedOpset, convertReshape, "Shape"},
      {"", "Shape", 1, kMaxSupportedOpset, convertShape, "Shape"},
      {"", "Size", 1, kMaxSupportedOpset, convertSize, "Shape"},
      {"", "Slice", 1, kMaxSupportedOpset, convertSlice, "Shape"},
      {"", "Split", 2, kMaxSupportedOpset, convertSplit, "Shape"},
      {"", "Squeeze", 1, kMaxSupportedOpset, convertSqueeze, "Shape"},
      {"", "Tile", 6, kMaxSupportedOpset, convertTile, "Shape"},
      {"", "Transpose", 1, kMaxSupportedOpset, convertTranspose, "Shape"},
      {"", "Trilu", 14, kMaxSupportedOpset, convertTrilu, "Shape"},
      {"", "Unsqueeze", 1, kMaxSupportedOpset, convertUnsqueeze, "Shape"},
  };
  return rows;
}
