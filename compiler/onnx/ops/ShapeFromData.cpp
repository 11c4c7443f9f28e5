//===- ShapeFromData.cpp - Shape operands known only at run time ----------===//
#include "compiler/onnx/ops/ShapeFromData.h"
#include "compiler/onnx/ops/ConverterUtils.h"
#include "compiler/onnx/ops/DataScalars.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

/// "'name'" of input `i`, for run-time messages.
static std::string inputName(NodeContext &nc, size_t i) {
  return "'" + nc.node().input(i) + "'";
}

static SmallVector<std::string> indexedNames(StringRef base, size_t n) {
  SmallVector<std::string> names;
  for (size_t i = 0; i < n; ++i)
    names.push_back((base + "[" + Twine(i) + "]").str());
  return names;
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::extentsFromData(NodeContext &nc, size_t i, StringRef what) {
  DataScalars d(nc);
  auto v = d.elements(i, what);
  if (failed(v))
    return failure();
  SmallVector<Value> ok;
  for (Value x : *v)
    ok.push_back(d.ge(x, d.constant(0)));
  return d.bind(*v, d.all(ok), indexedNames(what, v->size()),
                ("the " + what + " read at run time from " + inputName(nc, i) +
                 " has a negative entry")
                    .str());
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::reshapeTargetFromData(NodeContext &nc) {
  DataScalars d(nc);
  auto v = d.elements(1, "shape");
  if (failed(v))
    return failure();
  bool allowZero = nc.getInt("allowzero", 0) != 0;
  ArrayRef<AffineExpr> in = nc.dims(0);
  Value zero = d.constant(0), one = d.constant(1), minusOne = d.constant(-1);
  SmallVector<Value> entries, ok;
  for (auto [i, x] : llvm::enumerate(*v)) {
    Value r = x;
    if (!allowZero) {
      if (i < in.size())
        r = d.select(d.eq(x, zero), d.extent(in[i]), x);
      else
        ok.push_back(d.ne(x, zero)); // nothing to copy
    }
    ok.push_back(d.ge(r, minusOne));
    entries.push_back(r);
  }
  // At most one -1, whose extent makes the element counts equal.
  Value numInfer = zero, known = one;
  for (Value r : entries) {
    Value infer = d.eq(r, minusOne);
    numInfer = d.add(numInfer, d.select(infer, one, zero));
    known = d.mul(known, d.select(infer, one, r));
  }
  Value total = d.extent(product(nc, in));
  Value inferred = d.div(total, d.max(known, one));
  Value inferOk =
      d.logicalAnd(d.gt(known, zero), d.eq(d.mul(known, inferred), total));
  ok.push_back(d.le(numInfer, one));
  ok.push_back(d.select(d.eq(numInfer, one), inferOk, d.eq(known, total)));
  SmallVector<Value> out;
  for (Value r : entries)
    out.push_back(d.select(d.eq(r, minusOne), inferred, r));
  return d.bind(out, d.all(ok), indexedNames("shape", out.size()),
                "the shape read at run time from " + inputName(nc, 1) +
                    " does not fit the input's " + nc.formatDims(in) +
                    ": its entries must be >= -1 with one -1 at most, " +
                    (allowZero ? "" : "a 0 needs an input dim to copy, ") +
                    "and the element counts must match");
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::expandTargetFromData(NodeContext &nc) {
  DataScalars d(nc);
  auto v = d.elements(1, "shape");
  if (failed(v))
    return failure();
  ArrayRef<AffineExpr> in = nc.dims(0);
  size_t rank = std::max(in.size(), v->size());
  Value zero = d.constant(0), one = d.constant(1);
  SmallVector<AffineExpr> out(rank);
  SmallVector<Value> bound, ok;
  SmallVector<size_t> boundAt;
  for (size_t j = 0; j < rank; ++j) {
    bool hasIn = j + in.size() >= rank, hasShape = j + v->size() >= rank;
    AffineExpr a = hasIn ? in[j + in.size() - rank] : nc.cst(1);
    if (!hasShape) {
      out[j] = a;
      continue;
    }
    Value b = (*v)[j + v->size() - rank];
    // A dim that is 1 at compile time takes the shape's extent; any other
    // must meet a 1 or itself (a symbolic dim that is 1 at run time is not
    // broadcast: the compiled code indexes it).
    if (k::symConstant(a) == 1) {
      ok.push_back(d.ge(b, zero));
      bound.push_back(b);
      boundAt.push_back(j);
      continue;
    }
    out[j] = a;
    ok.push_back(d.logicalOr(d.eq(b, one), d.eq(b, d.extent(a))));
  }
  SmallVector<std::string> names;
  for (size_t j : boundAt)
    names.push_back(("shape[" + Twine(j) + "]").str());
  SmallVector<AffineExpr> syms =
      d.bind(bound, d.all(ok), names,
             "the shape read at run time from " + inputName(nc, 1) +
                 " does not broadcast with the input's " + nc.formatDims(in) +
                 " (only dims that are 1 at compile time are broadcast)");
  for (auto [j, s] : llvm::zip(boundAt, syms))
    out[j] = s;
  return out;
}

/// Axes read at run time, made non-negative for `rank`, with the checks
/// that they are in range and distinct.
static FailureOr<SmallVector<Value>> readAxes(NodeContext &nc, DataScalars &d,
                                              size_t input, int64_t rank,
                                              SmallVectorImpl<Value> &ok) {
  auto axes = d.elements(input, "axes");
  if (failed(axes))
    return failure();
  Value zero = d.constant(0), r = d.constant(rank);
  SmallVector<Value> norm;
  for (Value a : *axes) {
    Value n = d.select(d.lt(a, zero), d.add(a, r), a);
    ok.push_back(d.logicalAnd(d.ge(n, zero), d.lt(n, r)));
    for (Value prev : norm)
      ok.push_back(d.ne(prev, n));
    norm.push_back(n);
  }
  return norm;
}

/// Whether position `p` is one of `axes`.
static Value isAxis(DataScalars &d, ArrayRef<Value> axes, int64_t p) {
  Value hit = d.truth(false), pv = d.constant(p);
  for (Value a : axes)
    hit = d.logicalOr(hit, d.eq(a, pv));
  return hit;
}

/// out[k] = the extent of the k-th entry of `dims` whose `dropped` is false.
static SmallVector<Value> compact(DataScalars &d, ArrayRef<Value> dims,
                                  ArrayRef<Value> dropped, size_t n) {
  Value zero = d.constant(0), one = d.constant(1);
  SmallVector<Value> prefix; // kept entries before each position
  Value count = zero;
  for (Value drop : dropped) {
    prefix.push_back(count);
    count = d.add(count, d.select(drop, zero, one));
  }
  SmallVector<Value> out;
  for (size_t k = 0; k < n; ++k) {
    Value e = zero, kv = d.constant(k);
    for (auto [i, dim] : llvm::enumerate(dims)) {
      Value here = d.logicalAnd(d.logicalNot(dropped[i]), d.eq(prefix[i], kv));
      e = d.add(e, d.select(here, dim, zero));
    }
    out.push_back(e);
  }
  return out;
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::squeezeFromData(NodeContext &nc) {
  DataScalars d(nc);
  ArrayRef<AffineExpr> in = nc.dims(0);
  int64_t rank = in.size();
  SmallVector<Value> ok;
  auto axes = readAxes(nc, d, 1, rank, ok);
  if (failed(axes))
    return failure();
  if (axes->empty() || (int64_t)axes->size() > rank)
    return nc.error() << "squeezes " << axes->size()
                      << " axes read at run time from a tensor of rank " << rank
                      << "; give 1 to " << rank << " axes";
  SmallVector<Value> dims, dropped;
  Value one = d.constant(1);
  for (int64_t i = 0; i < rank; ++i) {
    dims.push_back(d.extent(in[i]));
    dropped.push_back(isAxis(d, *axes, i));
    if (k::symConstant(in[i]) != 1)
      ok.push_back(
          d.logicalOr(d.logicalNot(dropped.back()), d.eq(dims.back(), one)));
  }
  SmallVector<Value> out = compact(d, dims, dropped, rank - axes->size());
  return d.bind(out, d.all(ok), indexedNames("dims", out.size()),
                "the axes read at run time from " + inputName(nc, 1) +
                    " are out of range for " + nc.formatDims(in) +
                    ", repeated, or name a dim that is not 1");
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::unsqueezeFromData(NodeContext &nc) {
  DataScalars d(nc);
  ArrayRef<AffineExpr> in = nc.dims(0);
  auto count = staticNumElements(nc.dims(1));
  if (!count)
    return nc.error() << "axes must have a length known at compile time";
  int64_t outRank = in.size() + *count;
  SmallVector<Value> ok;
  auto axes = readAxes(nc, d, 1, outRank, ok);
  if (failed(axes))
    return failure();
  // Each new position is 1; the others take the input's dims in order.
  SmallVector<Value> isNew, dims;
  Value zero = d.constant(0), one = d.constant(1);
  for (int64_t p = 0; p < outRank; ++p)
    isNew.push_back(isAxis(d, *axes, p));
  for (AffineExpr e : in)
    dims.push_back(d.extent(e));
  SmallVector<Value> out;
  Value old = zero;
  for (int64_t p = 0; p < outRank; ++p) {
    Value e = zero;
    for (auto [i, dim] : llvm::enumerate(dims))
      e = d.add(e, d.select(d.eq(old, d.constant(i)), dim, zero));
    out.push_back(d.select(isNew[p], one, e));
    old = d.add(old, d.select(isNew[p], zero, one));
  }
  return d.bind(out, d.all(ok), indexedNames("dims", out.size()),
                "the axes read at run time from " + inputName(nc, 1) +
                    " are out of range for the result's rank " +
                    std::to_string(outRank) + " or repeated");
}

FailureOr<SliceBounds> kiln::onnx_import::sliceBoundsFromData(
    NodeContext &nc, AffineExpr dim, AffineExpr start, Value startData,
    AffineExpr end, Value endData, int64_t step, int64_t axis) {
  if (step == 0)
    return nc.error() << "slice step is 0";
  DataScalars d(nc);
  Value s = start ? d.extent(start) : startData;
  Value e = end ? d.extent(end) : endData;
  Value zero = d.constant(0), dv = d.extent(dim);
  auto fromEnd = [&](Value x) {
    return d.select(d.lt(x, zero), d.add(x, dv), x);
  };
  Value offset, size;
  if (step > 0) {
    offset = d.clamp(fromEnd(s), zero, dv);
    Value last = d.clamp(fromEnd(e), zero, dv);
    size = d.max(d.sub(last, offset), zero);
    size = d.div(d.add(size, d.constant(step - 1)), d.constant(step));
  } else {
    Value top = d.sub(dv, d.constant(1));
    offset = d.clamp(fromEnd(s), zero, top);
    Value last = d.clamp(fromEnd(e), d.constant(-1), top);
    size = d.max(d.sub(offset, last), zero);
    size = d.div(d.add(size, d.constant(-step - 1)), d.constant(-step));
    // An empty dim leaves offset -1; nothing is read at it.
    offset = d.max(offset, zero);
  }
  std::string a = std::to_string(axis);
  SmallVector<AffineExpr> syms =
      d.bind({offset, size}, Value(), {"offset[" + a + "]", "size[" + a + "]"},
             "slice bounds out of range"); // clamped above: never fails
  return SliceBounds{syms[0], syms[1]};
}

LogicalResult kiln::onnx_import::convertSliceFromData(NodeContext &nc) {
  DataScalars d(nc);
  int64_t rank = nc.rank(0);
  auto starts = d.scalars(1, "starts");
  if (failed(starts))
    return failure();
  auto ends = d.scalars(2, "ends");
  if (failed(ends))
    return failure();
  size_t n = starts->size();
  if (ends->size() != n)
    return nc.error() << "starts and ends differ in length";
  Value zero = d.constant(0), one = d.constant(1);
  SmallVector<Value> ok;
  // Axes: known ones pick their dims at compile time.
  std::optional<SmallVector<int64_t>> constAxes;
  SmallVector<Value> axes;
  if (!nc.hasInput(3)) {
    constAxes.emplace();
    for (size_t j = 0; j < n; ++j)
      constAxes->push_back(j);
  } else if (auto c = nc.constInts(3)) {
    auto norm = normalizeAxes(nc, *c, rank);
    if (failed(norm))
      return failure();
    constAxes = SmallVector<int64_t>();
    for (int64_t a : *c)
      constAxes->push_back(a < 0 ? a + rank : a);
  } else {
    auto read = readAxes(nc, d, 3, rank, ok);
    if (failed(read))
      return failure();
    axes = *read;
  }
  if ((constAxes ? constAxes->size() : axes.size()) != n)
    return nc.error() << "starts, ends and axes differ in length";
  SmallVector<Value> steps(n, one);
  if (nc.hasInput(4)) {
    auto s = d.scalars(4, "steps");
    if (failed(s))
      return failure();
    if (s->size() != n)
      return nc.error() << "starts, ends and steps differ in length";
    steps = *s;
  }

  Value x = nc.input(0);
  SmallVector<AffineExpr> dims(nc.dims(0));
  Type i64 = nc.builder().getI64Type();
  for (int64_t dim = 0; dim < rank; ++dim) {
    Value s, e, step;
    if (constAxes) {
      auto it = llvm::find(*constAxes, dim);
      if (it == constAxes->end())
        continue;
      size_t j = it - constAxes->begin();
      s = (*starts)[j];
      e = (*ends)[j];
      step = steps[j];
    } else {
      // The entry whose axis is `dim`, if any; the whole dim otherwise.
      Value has = d.truth(false);
      s = e = step = zero;
      for (size_t j = 0; j < n; ++j) {
        Value hit = d.eq(axes[j], d.constant(dim));
        has = d.logicalOr(has, hit);
        s = d.add(s, d.select(hit, (*starts)[j], zero));
        e = d.add(e, d.select(hit, (*ends)[j], zero));
        step = d.add(step, d.select(hit, steps[j], zero));
      }
      e = d.select(has, e, d.extent(dims[dim]));
      step = d.select(has, step, one);
    }
    ok.push_back(d.ne(step, zero));
    // ONNX's clamping for either sign of the step.
    Value dv = d.extent(dims[dim]), last = d.sub(dv, one);
    auto fromEnd = [&](Value v) {
      return d.select(d.lt(v, zero), d.add(v, dv), v);
    };
    Value up = d.gt(step, zero);
    Value mag = d.max(d.select(up, step, d.sub(zero, step)), one);
    Value offUp = d.clamp(fromEnd(s), zero, dv);
    Value endUp = d.clamp(fromEnd(e), zero, dv);
    Value offDown = d.clamp(fromEnd(s), zero, last);
    Value endDown = d.clamp(fromEnd(e), d.constant(-1), last);
    Value span =
        d.max(d.select(up, d.sub(endUp, offUp), d.sub(offDown, endDown)), zero);
    Value size = d.div(d.add(span, d.sub(mag, one)), mag);
    Value offset = d.max(d.select(up, offUp, offDown), zero);
    AffineExpr sym =
        d.bind({size}, Value(), {"size[" + std::to_string(dim) + "]"}, "")[0];
    // x = gather(x, offset + i * step for i < size) along dim.
    OpBuilder &b = nc.builder();
    auto idxType = nc.tensorType({sym}, i64);
    Value idx = k::RangeOp::create(
        b, nc.loc(), idxType, AffineMapAttr::get(nc.shapeMap({nc.cst(0)})),
        AffineMapAttr::get(nc.shapeMap({sym})), b.getI64IntegerAttr(1));
    idx = k::MulOp::create(b, nc.loc(), idxType, idx, step);
    idx = k::AddOp::create(b, nc.loc(), idxType, idx, offset);
    dims[dim] = sym;
    x = k::GatherOp::create(b, nc.loc(), nc.tensorType(dims, nc.elementType(0)),
                            x, idx, b.getI64IntegerAttr(dim));
  }
  // One check for the axes and steps, after the dims' own bindings.
  d.bind({}, d.all(ok), {},
         "the axes or steps read at run time are out of range, repeated or "
         "0");
  nc.setOutput(0, x, dims);
  return success();
}

LogicalResult kiln::onnx_import::convertReduceFromData(
    NodeContext &nc,
    function_ref<Value(Value, ArrayRef<AffineExpr>, int64_t)> reduceDim) {
  DataScalars d(nc);
  int64_t rank = nc.rank(0);
  SmallVector<Value> ok;
  auto axes = readAxes(nc, d, 1, rank, ok);
  if (failed(axes))
    return failure();
  if ((int64_t)axes->size() > rank)
    return nc.error() << "reduces " << axes->size()
                      << " axes read at run time over a tensor of rank "
                      << rank;
  bool keepDims = nc.getInt("keepdims", 1) != 0;
  OpBuilder &b = nc.builder();
  Value x = nc.input(0), one = d.constant(1);
  SmallVector<AffineExpr> dims(nc.dims(0));
  SmallVector<Value> extents, reduced;
  for (int64_t dim = 0; dim < rank; ++dim) {
    Value sel = isAxis(d, *axes, dim), extent = d.extent(dims[dim]);
    reduced.push_back(sel);
    // [reduction (extent 1), x] along dim, sliced to the one that applies
    // (the reduction of an empty dim is still one element).
    Value picked = reduceDim(x, dims, dim), zero = d.constant(0);
    Value offset = zero;
    if (k::symConstant(dims[dim]) != 0) { // an empty x adds nothing
      SmallVector<AffineExpr> both(dims);
      both[dim] = k::symAdd(dims[dim], nc.cst(1));
      picked = k::ConcatOp::create(
          b, nc.loc(), nc.tensorType(both, nc.elementType(0)),
          ValueRange{picked, x}, b.getI64IntegerAttr(dim));
      offset = d.select(sel, zero, one);
    }
    SmallVector<AffineExpr> at =
        d.bind({offset, d.select(sel, one, extent)}, Value(),
               {"offset[" + std::to_string(dim) + "]",
                "dims[" + std::to_string(dim) + "]"},
               "");
    SmallVector<AffineExpr> offsets(rank, nc.cst(0)), sizes(dims);
    offsets[dim] = at[0];
    sizes[dim] = at[1];
    x = k::SliceOp::create(
        b, nc.loc(), nc.tensorType(sizes, nc.elementType(0)), picked,
        AffineMapAttr::get(nc.shapeMap(offsets)),
        AffineMapAttr::get(nc.shapeMap(sizes)),
        b.getDenseI64ArrayAttr(SmallVector<int64_t>(rank, 1)));
    dims = sizes;
    extents.push_back(extent);
  }
  d.bind({}, d.all(ok), {},
         "the axes read at run time from " + inputName(nc, 1) +
             " are out of range for " + nc.formatDims(nc.dims(0)) +
             " or repeated");
  if (!keepDims) {
    SmallVector<Value> out = compact(d, extents, reduced, rank - axes->size());
    SmallVector<AffineExpr> outDims =
        d.bind(out, Value(), indexedNames("kept", out.size()), "");
    x = reshapeTo(nc, x, outDims);
    dims = outDims;
  }
  nc.setOutput(0, x, dims);
  return success();
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::splitPartsFromData(NodeContext &nc, AffineExpr dim) {
  DataScalars d(nc);
  auto v = d.elements(1, "split");
  if (failed(v))
    return failure();
  Value zero = d.constant(0), sum = zero;
  SmallVector<Value> ok;
  for (Value x : *v) {
    ok.push_back(d.ge(x, zero));
    sum = d.add(sum, x);
  }
  ok.push_back(d.eq(sum, d.extent(dim)));
  return d.bind(*v, d.all(ok), indexedNames("split", v->size()),
                "the split sizes read at run time from " + inputName(nc, 1) +
                    " are negative or do not sum to the axis extent '" +
                    nc.formatExtent(dim) + "'");
}

FailureOr<SmallVector<AffineExpr>>
kiln::onnx_import::tileRepeatsFromData(NodeContext &nc) {
  DataScalars d(nc);
  auto v = d.elements(1, "repeats");
  if (failed(v))
    return failure();
  if ((int64_t)v->size() != nc.rank(0))
    return nc.error() << "repeats has " << v->size() << " entries for rank "
                      << nc.rank(0);
  SmallVector<Value> ok;
  for (Value x : *v)
    ok.push_back(d.ge(x, d.constant(0)));
  return d.bind(*v, d.all(ok), indexedNames("repeats", v->size()),
                "a repeat read at run time from " + inputName(nc, 1) +
                    " is negative");
}

/// The scalar of 0-D or 1-element input `i`, in its own element type.
static FailureOr<Value> scalarInput(NodeContext &nc, size_t i, StringRef what) {
  if (!nc.hasInput(i) || staticNumElements(nc.dims(i)) != 1)
    return nc.error() << what << " must be a scalar";
  return reshapeTo(nc, nc.input(i), {});
}

LogicalResult kiln::onnx_import::convertRangeFromData(NodeContext &nc) {
  Type elem = nc.elementType(0);
  if (!isa<FloatType, IntegerType>(elem) || elem.isInteger(1))
    return nc.error() << "Range of " << elem << " is not supported";
  auto start = scalarInput(nc, 0, "start");
  auto limit = scalarInput(nc, 1, "limit");
  auto delta = scalarInput(nc, 2, "delta");
  if (failed(start) || failed(limit) || failed(delta))
    return failure();
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  auto scalar = RankedTensorType::get({}, elem);
  Type i64 = b.getI64Type();
  auto scalarI64 = RankedTensorType::get({}, i64);
  DataScalars d(nc);
  Value zero = d.constant(0), length, valid;
  if (isa<FloatType>(elem)) {
    // max(ceil((limit - start) / delta), 0), in the element type.
    Value span = k::SubOp::create(b, loc, scalar, *limit, *start);
    Value q = k::DivOp::create(b, loc, scalar, span, *delta);
    q = k::CeilOp::create(b, loc, scalar, q);
    length = d.max(k::CastOp::create(b, loc, scalarI64, q), zero);
    Value fzero = buildRank0Constant(nc, elem, 0);
    valid = d.logicalNot(k::EqualOp::create(
        b, loc, RankedTensorType::get({}, b.getI1Type()), *delta, fzero));
  } else {
    auto asI64 = [&](Value v) -> Value {
      return elem == i64 ? v : (Value)k::CastOp::create(b, loc, scalarI64, v);
    };
    Value s = asI64(*start), l = asI64(*limit), dl = asI64(*delta);
    // ceil(span / delta) for span and delta of one sign, else 0.
    Value neg = d.lt(dl, zero);
    Value span = d.select(neg, d.sub(s, l), d.sub(l, s));
    Value mag = d.select(neg, d.sub(zero, dl), dl);
    Value one = d.constant(1);
    length = d.div(d.add(d.max(span, zero), d.sub(mag, one)), d.max(mag, one));
    valid = d.ne(dl, zero);
  }
  SmallVector<AffineExpr> n =
      d.bind({length}, valid, {"length"}, "delta read at run time is 0");
  // start + i * delta for i in [0, n).
  Value iota = k::RangeOp::create(b, loc, nc.tensorType({n[0]}, i64),
                                  AffineMapAttr::get(nc.shapeMap({nc.cst(0)})),
                                  AffineMapAttr::get(nc.shapeMap({n[0]})),
                                  b.getI64IntegerAttr(1));
  auto type = nc.tensorType({n[0]}, elem);
  Value r = elem == i64 ? iota : (Value)k::CastOp::create(b, loc, type, iota);
  r = k::MulOp::create(b, loc, type, r, *delta);
  r = k::AddOp::create(b, loc, type, r, *start);
  nc.setOutput(0, r, {n[0]});
  return success();
}
