//===- Attention.cpp - Attention and RotaryEmbedding (opset 23) -----------===//
//
// The fused ops that opset 23 gave ONNX, and that the dynamo exporter writes
// at that opset for SDPA and RoPE, map onto the kiln ops the raising passes
// form from the decompositions of older exports.
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

namespace {
/// A tensor and its symbolic dims, as the converters pass them around.
struct Dimmed {
  Value value;
  SmallVector<AffineExpr> dims;
};
} // namespace

static Dimmed transpose(NodeContext &nc, const Dimmed &x,
                        ArrayRef<int64_t> perm) {
  SmallVector<AffineExpr> dims;
  for (int64_t p : perm)
    dims.push_back(x.dims[p]);
  auto elem = cast<RankedTensorType>(x.value.getType()).getElementType();
  Value r =
      k::TransposeOp::create(nc.builder(), nc.loc(), nc.tensorType(dims, elem),
                             x.value, nc.builder().getDenseI64ArrayAttr(perm));
  return {r, dims};
}

static Dimmed reshape(NodeContext &nc, const Dimmed &x,
                      ArrayRef<AffineExpr> dims) {
  return {reshapeTo(nc, x.value, dims), SmallVector<AffineExpr>(dims)};
}

/// x[..., begin:begin+size] along the last axis.
static Dimmed sliceLast(NodeContext &nc, const Dimmed &x, int64_t begin,
                        int64_t size) {
  int64_t rank = x.dims.size();
  SmallVector<AffineExpr> offsets(rank, nc.cst(0)), sizes(x.dims);
  offsets.back() = nc.cst(begin);
  sizes.back() = nc.cst(size);
  auto elem = cast<RankedTensorType>(x.value.getType()).getElementType();
  Value r = k::SliceOp::create(
      nc.builder(), nc.loc(), nc.tensorType(sizes, elem), x.value,
      AffineMapAttr::get(nc.shapeMap(offsets)),
      AffineMapAttr::get(nc.shapeMap(sizes)),
      nc.builder().getDenseI64ArrayAttr(SmallVector<int64_t>(rank, 1)));
  return {r, sizes};
}

static Dimmed concat(NodeContext &nc, ArrayRef<Dimmed> parts, int64_t axis) {
  SmallVector<AffineExpr> dims(parts[0].dims);
  dims[axis] = nc.cst(0);
  SmallVector<Value> values;
  for (const Dimmed &p : parts) {
    dims[axis] = k::symAdd(dims[axis], p.dims[axis]);
    values.push_back(p.value);
  }
  auto elem = cast<RankedTensorType>(parts[0].value.getType()).getElementType();
  Value r =
      k::ConcatOp::create(nc.builder(), nc.loc(), nc.tensorType(dims, elem),
                          values, nc.builder().getI64IntegerAttr(axis));
  return {r, dims};
}

/// Elementwise binary op with numpy broadcasting of symbolic shapes.
template <typename OpT>
static FailureOr<Dimmed> binary(NodeContext &nc, const Dimmed &a,
                                const Dimmed &b) {
  auto dims = nc.broadcast(a.dims, b.dims);
  if (failed(dims))
    return failure();
  auto elem = cast<RankedTensorType>(a.value.getType()).getElementType();
  Value r = OpT::create(nc.builder(), nc.loc(), nc.tensorType(*dims, elem),
                        a.value, b.value);
  return Dimmed{r, *dims};
}

/// [B, S, H * D] -> [B, H, S, D] for `heads`, checking the hidden extent.
static FailureOr<Dimmed> splitHeads(NodeContext &nc, const Dimmed &x,
                                    int64_t heads, llvm::StringRef what) {
  std::optional<int64_t> hidden = k::symConstant(x.dims[2]);
  if (heads < 1 || !hidden || *hidden % heads != 0)
    return nc.error() << what << " " << nc.formatDims(x.dims)
                      << " does not split into " << heads
                      << " heads (the num_heads attribute; the hidden size "
                         "must be static)";
  Dimmed r = reshape(
      nc, x, {x.dims[0], x.dims[1], nc.cst(heads), nc.cst(*hidden / heads)});
  return transpose(nc, r, {0, 2, 1, 3});
}

/// [B, H, S, D] -> [B, S, H * D].
static Dimmed mergeHeads(NodeContext &nc, const Dimmed &x) {
  Dimmed t = transpose(nc, x, {0, 2, 1, 3});
  return reshape(nc, t,
                 {t.dims[0], t.dims[1], k::symMul(t.dims[2], t.dims[3])});
}

//===----------------------------------------------------------------------===//
// Attention
//===----------------------------------------------------------------------===//

/// Rank-0 constant of `elem`.
static Value scalar(NodeContext &nc, Type elem, double v) {
  return buildRank0Constant(nc, elem, v);
}

template <typename OpT> static Dimmed unary(NodeContext &nc, const Dimmed &x) {
  return {OpT::create(nc.builder(), nc.loc(), x.value.getType(), x.value),
          x.dims};
}

/// x * c for a float scalar c.
static Dimmed scaled(NodeContext &nc, const Dimmed &x, double c) {
  auto elem = cast<RankedTensorType>(x.value.getType()).getElementType();
  return {k::MulOp::create(nc.builder(), nc.loc(), x.value.getType(), x.value,
                           scalar(nc, elem, c)),
          x.dims};
}

/// Attention step by step, as ONNX's reference computes it, for what the
/// fused kiln.attention does not give: the softcap and the
/// qk_matmul_output output. q, key and value are 4-D, with the past
/// concatenated, in the compute type `elem`. Masks are additive with -inf;
/// a row whose bias is all -inf gives zeros.
/// Sets output 0 and 3; the caller sets the present outputs.
static LogicalResult attentionByParts(NodeContext &nc, Dimmed q, Dimmed key,
                                      Dimmed value, float scale, Type io,
                                      int64_t rank) {
  OpBuilder &b = nc.builder();
  Location loc = nc.loc();
  Type elem = cast<RankedTensorType>(q.value.getType()).getElementType();
  float softcap = nc.getFloat("softcap", 0.0f);
  int64_t mode = nc.getInt("qk_matmul_output_mode", 0);
  // Grouped-query heads: each key/value head serves hq / hkv query heads.
  auto hq = k::symConstant(q.dims[1]), hkv = k::symConstant(key.dims[1]);
  if (!hq || !hkv || *hkv < 1 || *hq % *hkv != 0)
    return nc.error() << "query heads " << nc.formatDims(q.dims)
                      << " are not a multiple of key heads "
                      << nc.formatDims(key.dims);
  auto repeatHeads = [&](Dimmed x) -> Dimmed {
    if (*hq == *hkv)
      return x;
    int64_t g = *hq / *hkv;
    Dimmed r =
        reshape(nc, x, {x.dims[0], x.dims[1], nc.cst(1), x.dims[2], x.dims[3]});
    SmallVector<AffineExpr> wide = {x.dims[0], x.dims[1], nc.cst(g), x.dims[2],
                                    x.dims[3]};
    r = {k::ExpandOp::create(b, loc, nc.tensorType(wide, elem), r.value,
                             AffineMapAttr::get(nc.shapeMap(wide))),
         wide};
    return reshape(nc, r, {x.dims[0], q.dims[1], x.dims[2], x.dims[3]});
  };
  key = repeatHeads(key);
  value = repeatHeads(value);
  // Q and K are each scaled by sqrt(scale), as the reference does.
  float root = std::sqrt(scale);
  Dimmed kt = transpose(nc, scaled(nc, key, root), {0, 1, 3, 2});
  auto mm =
      buildMatMul(nc, scaled(nc, q, root).value, q.dims, kt.value, kt.dims);
  if (failed(mm))
    return failure();
  Dimmed scores{mm->first, mm->second};
  if (softcap > 0)
    scores = scaled(nc, unary<k::TanhOp>(nc, scaled(nc, scores, 1.0 / softcap)),
                    softcap);

  // The bias: the mask (bool as 0 / -inf) plus the causal frontier
  // j <= i + past length.
  AffineExpr sq = q.dims[2], sk = key.dims[2];
  SmallVector<AffineExpr> biasDims = {nc.cst(1), nc.cst(1), sq, sk};
  Value zero = scalar(nc, elem, 0.0), ninf = scalar(nc, elem, -INFINITY);
  Dimmed bias{k::FillOp::create(b, loc, nc.tensorType(biasDims, elem),
                                b.getFloatAttr(elem, 0.0),
                                AffineMapAttr::get(nc.shapeMap(biasDims))),
              biasDims};
  if (nc.hasInput(3)) {
    Dimmed m{nc.input(3), SmallVector<AffineExpr>(nc.dims(3))};
    if (nc.elementType(3).isInteger(1))
      m = {k::WhereOp::create(b, loc, nc.tensorType(m.dims, elem), m.value,
                              zero, ninf),
           m.dims};
    else if (nc.elementType(3) != elem)
      m = {k::CastOp::create(b, loc, nc.tensorType(m.dims, elem), m.value),
           m.dims};
    auto sum = binary<k::AddOp>(nc, bias, m);
    if (failed(sum))
      return failure();
    bias = *sum;
  }
  if (nc.getInt("is_causal", 0) != 0) {
    Type i64 = b.getI64Type();
    auto iota = [&](AffineExpr n) {
      return (Value)k::RangeOp::create(
          b, loc, nc.tensorType({n}, i64),
          AffineMapAttr::get(nc.shapeMap({nc.cst(0)})),
          AffineMapAttr::get(nc.shapeMap({n})), b.getI64IntegerAttr(1));
    };
    Value rows = reshapeTo(nc, iota(sq), {sq, nc.cst(1)});
    Value cols = reshapeTo(nc, iota(sk), {nc.cst(1), sk});
    Value diff =
        k::SubOp::create(b, loc, nc.tensorType({sq, sk}, i64), cols, rows);
    AffineExpr past = nc.hasInput(4) ? nc.dims(4)[2] : nc.cst(0);
    Value pastV = reshapeTo(
        nc,
        k::SymbolicValuesOp::create(b, loc, nc.tensorType({nc.cst(1)}, i64),
                                    AffineMapAttr::get(nc.shapeMap({past}))),
        {});
    Value allowed = k::LessEqualOp::create(
        b, loc, nc.tensorType({sq, sk}, b.getI1Type()), diff, pastV);
    Dimmed causal{k::WhereOp::create(b, loc, nc.tensorType({sq, sk}, elem),
                                     allowed, zero, ninf),
                  {sq, sk}};
    auto sum = binary<k::AddOp>(nc, bias, causal);
    if (failed(sum))
      return failure();
    bias = *sum;
  }
  auto withBias = binary<k::AddOp>(nc, scores, bias);
  if (failed(withBias))
    return failure();
  Dimmed probs{k::SoftmaxOp::create(b, loc, withBias->value.getType(),
                                    withBias->value, b.getI64IntegerAttr(3)),
               withBias->dims};
  // Rows whose bias is all -inf: zeros (softmax gave NaN there).
  SmallVector<AffineExpr> rowDims(bias.dims);
  rowDims.back() = nc.cst(1);
  Value rowMax = k::ReduceMaxOp::create(
      b, loc, nc.tensorType(rowDims, elem), bias.value,
      b.getDenseI64ArrayAttr({(int64_t)bias.dims.size() - 1}),
      b.getBoolAttr(true));
  Dimmed masked{k::EqualOp::create(b, loc,
                                   nc.tensorType(rowDims, b.getI1Type()),
                                   rowMax, ninf),
                rowDims};
  probs.value = k::WhereOp::create(b, loc, probs.value.getType(), masked.value,
                                   zero, probs.value);
  auto out = buildMatMul(nc, probs.value, probs.dims, value.value, value.dims);
  if (failed(out))
    return failure();
  Dimmed y{out->first, out->second};
  // qk_matmul_output: 0 (and 1 with a softcap) Q K^T, softcapped; 2 with the
  // bias; 3 the softmax (as onnx/reference/ops/op_attention.py).
  Dimmed qk = mode == 2 ? *withBias : mode == 3 ? probs : scores;
  auto toIo = [&](Dimmed x) {
    if (io != elem)
      x.value = k::CastOp::create(b, loc, nc.tensorType(x.dims, io), x.value);
    return x;
  };
  y = toIo(y);
  if (rank == 3)
    y = mergeHeads(nc, y);
  nc.setOutput(0, y.value, y.dims);
  if (nc.hasOutput(3)) {
    qk = toIo(qk);
    nc.setOutput(3, qk.value, qk.dims);
  }
  return success();
}

/// softmax(scale * Q K^T + mask) V with grouped-query heads, a boolean or
/// additive mask, bottom-right causal masking and a KV cache (past inputs,
/// present outputs) becomes one kiln.attention. A boolean mask becomes
/// additive with the lowest finite value rather than -inf, so that a query
/// row with no allowed key stays finite, and such rows are zeroed as ONNX
/// asks.
static LogicalResult convertAttention(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank != 3 && rank != 4)
    return nc.error() << "expects 3-D or 4-D query, key and value, got "
                      << nc.formatDims(nc.dims(0));
  for (size_t i = 1; i < 3; ++i)
    if (nc.rank(i) != rank)
      return nc.error() << "query, key and value must have the same rank, "
                           "got "
                        << nc.formatDims(nc.dims(0)) << " and "
                        << nc.formatDims(nc.dims(i));
  Type elem = nc.elementType(0);
  if (!isa<FloatType>(elem))
    return nc.error() << "expects float tensors, got " << elem;
  if (nc.hasInput(4) != nc.hasInput(5))
    return nc.error() << "past_key and past_value must be given together";

  Dimmed q{nc.input(0), SmallVector<AffineExpr>(nc.dims(0))};
  Dimmed key{nc.input(1), SmallVector<AffineExpr>(nc.dims(1))};
  Dimmed value{nc.input(2), SmallVector<AffineExpr>(nc.dims(2))};
  if (rank == 3) {
    auto q4 = splitHeads(nc, q, nc.getInt("q_num_heads", 0), "query");
    auto k4 = splitHeads(nc, key, nc.getInt("kv_num_heads", 0), "key");
    auto v4 = splitHeads(nc, value, nc.getInt("kv_num_heads", 0), "value");
    if (failed(q4) || failed(k4) || failed(v4))
      return failure();
    q = *q4;
    key = *k4;
    value = *v4;
  }
  if (nc.hasInput(4)) {
    key = concat(nc, {{nc.input(4), SmallVector<AffineExpr>(nc.dims(4))}, key},
                 2);
    value = concat(
        nc, {{nc.input(5), SmallVector<AffineExpr>(nc.dims(5))}, value}, 2);
  }
  std::optional<int64_t> headDim = k::symConstant(q.dims[3]);
  if (!headDim)
    return nc.error() << "the head size of " << nc.formatDims(q.dims)
                      << " must be static";
  Dimmed presentKey = key, presentValue = value;
  // 16-bit models attend in f32 (as ONNX's softmax_precision default and
  // the fused f32 kernel do) and round the result once.
  Type io = elem;
  if (cast<FloatType>(elem).getWidth() < 32) {
    elem = nc.builder().getF32Type();
    for (Dimmed *t : {&q, &key, &value})
      t->value = k::CastOp::create(nc.builder(), nc.loc(),
                                   nc.tensorType(t->dims, elem), t->value);
  }
  float scale = nc.getFloat("scale", 1.0f / std::sqrt(float(*headDim)));
  if (nc.getFloat("softcap", 0.0f) != 0.0f || nc.hasOutput(3)) {
    if (failed(attentionByParts(nc, q, key, value, scale, io, rank)))
      return failure();
    if (nc.hasOutput(1))
      nc.setOutput(1, presentKey.value, presentKey.dims);
    if (nc.hasOutput(2))
      nc.setOutput(2, presentValue.value, presentValue.dims);
    return success();
  }

  OpBuilder &b = nc.builder();
  // kiln.attention's causal frontier is j <= i + Sk - Sq; ONNX's is
  // j <= i + past length, the same where the new keys are as many as the
  // queries. Otherwise the frontier becomes a mask of its own.
  bool causal = nc.getInt("is_causal", 0) != 0;
  AffineExpr newKeys =
      nc.hasInput(4) ? key.dims[2] - nc.dims(4)[2] : key.dims[2];
  bool kilnCausal =
      causal && k::symEqual(k::symAdd(newKeys, nc.cst(0)), q.dims[2]);
  std::optional<Dimmed> boolMask, floatMask;
  if (nc.hasInput(3)) {
    Dimmed m{nc.input(3), SmallVector<AffineExpr>(nc.dims(3))};
    if (m.dims.size() > 4)
      return nc.error() << "attn_mask " << nc.formatDims(m.dims)
                        << " has more than 4 dims";
    while (m.dims.size() < 4) {
      SmallVector<AffineExpr> dims(m.dims);
      dims.insert(dims.begin(), nc.cst(1));
      m = reshape(nc, m, dims);
    }
    Type maskElem = nc.elementType(3);
    if (maskElem.isInteger(1))
      boolMask = m;
    else if (maskElem == io)
      floatMask =
          io == elem
              ? m
              : Dimmed{k::CastOp::create(b, nc.loc(),
                                         nc.tensorType(m.dims, elem), m.value),
                       m.dims};
    else
      return nc.error() << "attn_mask must be bool or " << io << ", got "
                        << maskElem;
  }
  if (causal && !kilnCausal) {
    if (nc.hasInput(4))
      return nc.error() << "is_causal with a KV cache needs as many new keys "
                           "as queries, got "
                        << nc.formatDims(nc.dims(1)) << " for "
                        << nc.formatDims(nc.dims(0));
    // Top-left frontier: j <= i.
    SmallVector<AffineExpr> dims = {nc.cst(1), nc.cst(1), q.dims[2],
                                    key.dims[2]};
    auto i1 = nc.tensorType(dims, b.getI1Type());
    Value ones = k::FillOp::create(b, nc.loc(), i1, b.getBoolAttr(true),
                                   AffineMapAttr::get(nc.shapeMap(dims)));
    Dimmed frontier{k::TriluOp::create(b, nc.loc(), i1, ones,
                                       b.getBoolAttr(false),
                                       b.getI64IntegerAttr(0)),
                    dims};
    if (boolMask) {
      auto both = binary<k::AndOp>(nc, *boolMask, frontier);
      if (failed(both))
        return failure();
      boolMask = *both;
    } else {
      boolMask = frontier;
    }
  }

  Value mask;
  std::optional<Dimmed> allowedRows;
  Value zero = buildRank0Constant(nc, elem, 0.0);
  if (boolMask) {
    // Rows where some key is allowed: reduce_max over the keys.
    const Dimmed &m = *boolMask;
    Value asFloat =
        k::CastOp::create(b, nc.loc(), nc.tensorType(m.dims, elem), m.value);
    SmallVector<AffineExpr> rowDims(m.dims);
    rowDims.back() = nc.cst(1);
    Value rowMax = k::ReduceMaxOp::create(
        b, nc.loc(), nc.tensorType(rowDims, elem), asFloat,
        b.getDenseI64ArrayAttr({3}), b.getBoolAttr(true));
    Value half = buildRank0Constant(nc, elem, 0.5);
    allowedRows = Dimmed{
        k::GreaterOp::create(b, nc.loc(), nc.tensorType(rowDims, b.getI1Type()),
                             rowMax, half),
        rowDims};
    Value lowest = buildRank0Constant(
        nc, elem,
        elem.isF64()   ? -std::numeric_limits<double>::max()
        : elem.isF16() ? -65504.0
                       : double(-std::numeric_limits<float>::max()));
    Dimmed additive{k::WhereOp::create(b, nc.loc(), nc.tensorType(m.dims, elem),
                                       m.value, zero, lowest),
                    m.dims};
    if (floatMask) {
      auto sum = binary<k::AddOp>(nc, *floatMask, additive);
      if (failed(sum))
        return failure();
      additive = *sum;
    }
    mask = additive.value;
  } else if (floatMask) {
    mask = floatMask->value;
  }
  SmallVector<AffineExpr> outDims = {q.dims[0], q.dims[1], q.dims[2],
                                     value.dims[3]};
  auto outType = nc.tensorType(outDims, elem);
  Value out = k::AttentionOp::create(
      b, nc.loc(), outType, q.value, key.value, value.value, mask,
      b.getF32FloatAttr(scale), kilnCausal ? b.getUnitAttr() : UnitAttr());
  Dimmed y{out, outDims};
  if (allowedRows) {
    auto dims = nc.broadcast(allowedRows->dims, outDims);
    if (failed(dims))
      return failure();
    y = {k::WhereOp::create(b, nc.loc(), nc.tensorType(*dims, elem),
                            allowedRows->value, out, zero),
         *dims};
  }
  if (io != elem)
    y.value =
        k::CastOp::create(b, nc.loc(), nc.tensorType(y.dims, io), y.value);
  if (rank == 3)
    y = mergeHeads(nc, y);
  nc.setOutput(0, y.value, y.dims);
  if (nc.hasOutput(1))
    nc.setOutput(1, presentKey.value, presentKey.dims);
  if (nc.hasOutput(2))
    nc.setOutput(2, presentValue.value, presentValue.dims);
  return success();
}

//===----------------------------------------------------------------------===//
// RotaryEmbedding
//===----------------------------------------------------------------------===//

/// x [B, H, S, D] rotated over its first `dim` channels by cos/sin tables
/// of dim/2 entries per position: kiln.rotary on the rotate-half layout,
/// elementwise on the interleaved one (pairs x[2i], x[2i+1]).
static LogicalResult convertRotaryEmbedding(NodeContext &nc) {
  int64_t rank = nc.rank(0);
  if (rank != 3 && rank != 4)
    return nc.error() << "expects a 3-D or 4-D input, got "
                      << nc.formatDims(nc.dims(0));
  Type elem = nc.elementType(0);
  Dimmed x{nc.input(0), SmallVector<AffineExpr>(nc.dims(0))};
  if (rank == 3) {
    auto x4 = splitHeads(nc, x, nc.getInt("num_heads", 0), "input");
    if (failed(x4))
      return failure();
    x = *x4;
  }
  std::optional<int64_t> headDim = k::symConstant(x.dims[3]);
  if (!headDim)
    return nc.error() << "the head size of " << nc.formatDims(x.dims)
                      << " must be static";
  int64_t dim = nc.getInt("rotary_embedding_dim", 0);
  if (dim == 0)
    dim = *headDim;
  if (dim < 2 || dim % 2 || dim > *headDim)
    return nc.error() << "rotary_embedding_dim " << dim
                      << " must be even and at most the head size " << *headDim;

  // The tables as [B, S, dim/2], then [B, 1, S, dim/2] against x.
  Dimmed tables[2];
  for (int t = 0; t < 2; ++t) {
    Dimmed table{nc.input(1 + t), SmallVector<AffineExpr>(nc.dims(1 + t))};
    if (nc.hasInput(3)) {
      if (table.dims.size() != 2)
        return nc.error() << "with position_ids the cos and sin caches must "
                             "be 2-D, got "
                          << nc.formatDims(table.dims);
      SmallVector<AffineExpr> dims(nc.dims(3));
      dims.push_back(table.dims[1]);
      Value g = k::GatherOp::create(
          nc.builder(), nc.loc(), nc.tensorType(dims, elem), table.value,
          nc.input(3), nc.builder().getI64IntegerAttr(0));
      table = {g, dims};
    } else if (table.dims.size() != 3) {
      return nc.error() << "without position_ids the cos and sin caches "
                           "must be 3-D, got "
                        << nc.formatDims(table.dims);
    }
    if (k::symConstant(table.dims[2]) != dim / 2)
      return nc.error() << "the cos and sin caches "
                        << nc.formatDims(table.dims) << " must have " << dim / 2
                        << " entries per position";
    tables[t] = reshape(
        nc, table, {table.dims[0], nc.cst(1), table.dims[1], table.dims[2]});
  }

  Dimmed rot = dim == *headDim ? x : sliceLast(nc, x, 0, dim);
  Dimmed rotated;
  if (nc.getInt("interleaved", 0) == 0) {
    Dimmed cosFull = concat(nc, {tables[0], tables[0]}, 3);
    Dimmed sinFull = concat(nc, {tables[1], tables[1]}, 3);
    Value r = k::RotaryOp::create(nc.builder(), nc.loc(), rot.value.getType(),
                                  rot.value, cosFull.value, sinFull.value);
    rotated = {r, rot.dims};
  } else {
    // [.., dim] -> [.., dim/2, 2]: a = x[2i], b = x[2i+1].
    SmallVector<AffineExpr> pairDims(rot.dims);
    pairDims.back() = nc.cst(dim / 2);
    pairDims.push_back(nc.cst(2));
    Dimmed pairs = reshape(nc, rot, pairDims);
    Dimmed a = sliceLast(nc, pairs, 0, 1), bb = sliceLast(nc, pairs, 1, 1);
    Dimmed c = reshape(nc, tables[0],
                       {tables[0].dims[0], nc.cst(1), tables[0].dims[2],
                        nc.cst(dim / 2), nc.cst(1)});
    Dimmed s = reshape(nc, tables[1],
                       {tables[1].dims[0], nc.cst(1), tables[1].dims[2],
                        nc.cst(dim / 2), nc.cst(1)});
    auto ac = binary<k::MulOp>(nc, a, c), bs = binary<k::MulOp>(nc, bb, s);
    auto bc = binary<k::MulOp>(nc, bb, c), as = binary<k::MulOp>(nc, a, s);
    if (failed(ac) || failed(bs) || failed(bc) || failed(as))
      return failure();
    auto first = binary<k::SubOp>(nc, *ac, *bs);
    auto second = binary<k::AddOp>(nc, *bc, *as);
    if (failed(first) || failed(second))
      return failure();
    rotated = reshape(nc, concat(nc, {*first, *second}, 4), rot.dims);
  }
  Dimmed y =
      dim == *headDim
          ? rotated
          : concat(nc, {rotated, sliceLast(nc, x, dim, *headDim - dim)}, 3);
  if (rank == 3)
    y = mergeHeads(nc, y);
  nc.setOutput(0, y.value, y.dims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::attentionConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "Attention", 23, M, convertAttention, "Attention"},
      {"", "RotaryEmbedding", 23, M, convertRotaryEmbedding, "Attention"},
  };
  return rows;
}
