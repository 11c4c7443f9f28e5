//===- Elementwise.cpp - Elementwise ONNX ops -----------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

namespace {
enum class BinKind {
  Add,
  Sub,
  Mul,
  Div,
  Pow,
  Max,
  Min,
  Mod,
  And,
  Or,
  Equal,
  Less,
  LessEqual,
  Greater,
  GreaterEqual
};
} // namespace

static bool isComparison(BinKind kind) { return kind >= BinKind::Equal; }

/// Folds integer shape arithmetic on known values; nullopt when unknown.
static std::optional<AffineExpr> foldKnown(NodeContext &nc, BinKind kind,
                                           AffineExpr a, AffineExpr b) {
  auto ca = k::symConstant(a), cb = k::symConstant(b);
  switch (kind) {
  case BinKind::Add:
    return k::symAdd(a, b);
  case BinKind::Sub:
    return k::symSub(a, b);
  case BinKind::Mul:
    return k::symMul(a, b);
  case BinKind::Div:
    // ONNX integer division truncates; the extents here are non-negative.
    if (cb && *cb == 0)
      return std::nullopt;
    return k::symFloorDiv(a, b);
  case BinKind::Mod:
    return k::symMod(a, b);
  case BinKind::Max:
  case BinKind::Min:
    if (ca && cb)
      return nc.cst(kind == BinKind::Max ? std::max(*ca, *cb)
                                         : std::min(*ca, *cb));
    if (k::symEqual(a, b))
      return a;
    return std::nullopt;
  case BinKind::Equal:
    if (k::symEqual(a, b))
      return nc.cst(1);
    if (ca && cb)
      return nc.cst(0);
    // Symbolic extents are at least 1 (or 0, where the artifact allows it
    // and nothing assumed otherwise): a sum of them is above a constant it
    // cannot equal.
    if ((ca && !cb && nc.provablyAbove(b, *ca)) ||
        (cb && !ca && nc.provablyAbove(a, *cb)))
      return nc.cst(0);
    return std::nullopt;
  case BinKind::Less:
  case BinKind::LessEqual:
  case BinKind::Greater:
  case BinKind::GreaterEqual:
    if (!ca || !cb)
      return std::nullopt;
    switch (kind) {
    case BinKind::Less:
      return nc.cst(*ca < *cb);
    case BinKind::LessEqual:
      return nc.cst(*ca <= *cb);
    case BinKind::Greater:
      return nc.cst(*ca > *cb);
    default:
      return nc.cst(*ca >= *cb);
    }
  default:
    return std::nullopt;
  }
}

static Value buildBinary(NodeContext &nc, BinKind kind, RankedTensorType type,
                         Value a, Value b) {
  OpBuilder &bl = nc.builder();
  Location loc = nc.loc();
  switch (kind) {
  case BinKind::Add:
    return k::AddOp::create(bl, loc, type, a, b);
  case BinKind::Sub:
    return k::SubOp::create(bl, loc, type, a, b);
  case BinKind::Mul:
    return k::MulOp::create(bl, loc, type, a, b);
  case BinKind::Div:
    return k::DivOp::create(bl, loc, type, a, b);
  case BinKind::Pow:
    return k::PowOp::create(bl, loc, type, a, b);
  case BinKind::Max:
    return k::MaxOp::create(bl, loc, type, a, b);
  case BinKind::Min:
    return k::MinOp::create(bl, loc, type, a, b);
  case BinKind::Mod:
    return k::ModOp::create(bl, loc, type, a, b);
  case BinKind::And:
    return k::AndOp::create(bl, loc, type, a, b);
  case BinKind::Or:
    return k::OrOp::create(bl, loc, type, a, b);
  case BinKind::Equal:
    return k::EqualOp::create(bl, loc, type, a, b);
  case BinKind::Less:
    return k::LessOp::create(bl, loc, type, a, b);
  case BinKind::LessEqual:
    return k::LessEqualOp::create(bl, loc, type, a, b);
  case BinKind::Greater:
    return k::GreaterOp::create(bl, loc, type, a, b);
  case BinKind::GreaterEqual:
    return k::GreaterEqualOp::create(bl, loc, type, a, b);
  }
  llvm_unreachable("bad binary kind");
}

/// `kind` on two values with numpy broadcasting. The element types must agree.
static FailureOr<std::pair<Value, SmallVector<AffineExpr>>>
broadcastBinary(NodeContext &nc, BinKind kind, Value a,
                ArrayRef<AffineExpr> aDims, Value b,
                ArrayRef<AffineExpr> bDims) {
  Type elem = cast<RankedTensorType>(a.getType()).getElementType();
  Type other = cast<RankedTensorType>(b.getType()).getElementType();
  if (elem != other)
    return nc.error() << "operand types differ: " << elem << " vs " << other;
  auto dims = nc.broadcast(aDims, bDims);
  if (failed(dims))
    return failure();
  if (isComparison(kind))
    elem = nc.builder().getI1Type();
  Value r = buildBinary(nc, kind, nc.tensorType(*dims, elem), a, b);
  return std::make_pair(r, *dims);
}

/// kiln.cast of `v` to `elem` (no-op when it already has that type).
static Value castTo(NodeContext &nc, Value v, ArrayRef<AffineExpr> dims,
                    Type elem) {
  if (cast<RankedTensorType>(v.getType()).getElementType() == elem)
    return v;
  return k::CastOp::create(nc.builder(), nc.loc(), nc.tensorType(dims, elem),
                           v);
}

/// Binary op on inputs (i, j) of the node; records output 0.
static LogicalResult
convertBinaryOn(NodeContext &nc, BinKind kind, size_t i, size_t j,
                Value *result = nullptr,
                SmallVector<AffineExpr> *resultDims = nullptr) {
  if (nc.elementType(i) != nc.elementType(j))
    return nc.error() << "operand types differ: " << nc.elementType(i) << " vs "
                      << nc.elementType(j);
  auto dims = nc.broadcast(nc.dims(i), nc.dims(j));
  if (failed(dims))
    return failure();
  Type elem = isComparison(kind) ? nc.builder().getI1Type() : nc.elementType(i);

  // Shape arithmetic: both sides known, small, integer.
  if (!result && nc.values(i) && nc.values(j) &&
      isa<IntegerType>(nc.elementType(i))) {
    const auto &a = *nc.values(i), &b = *nc.values(j);
    auto n = staticNumElements(*dims);
    if (n && (a.size() == 1 || (int64_t)a.size() == *n) &&
        (b.size() == 1 || (int64_t)b.size() == *n) && dims->size() <= 1) {
      SmallVector<AffineExpr> vals;
      bool ok = true;
      for (int64_t e = 0; e < *n && ok; ++e) {
        auto v = foldKnown(nc, kind, a[a.size() == 1 ? 0 : e],
                           b[b.size() == 1 ? 0 : e]);
        ok = v.has_value();
        if (ok)
          vals.push_back(*v);
      }
      if (ok && !isComparison(kind)) {
        nc.setOutputValues(0, elem, *dims, vals);
        return success();
      }
      if (ok && isComparison(kind)) {
        SmallVector<bool> flags;
        for (AffineExpr v : vals)
          flags.push_back(*k::symConstant(v) != 0);
        auto type = nc.tensorType(*dims, elem);
        nc.setOutputConstant(
            0, cast<ElementsAttr>(DenseElementsAttr::get(type, flags)));
        return success();
      }
    }
  }

  Value a = nc.input(i), b = nc.input(j);
  auto type = nc.tensorType(*dims, elem);
  Value r = buildBinary(nc, kind, type, a, b);
  if (result) {
    *result = r;
    *resultDims = *dims;
    return success();
  }
  nc.setOutput(0, r, *dims);
  return success();
}

template <BinKind kind> static LogicalResult convertBinary(NodeContext &nc) {
  return convertBinaryOn(nc, kind, 0, 1);
}

/// ONNX Pow lets the exponent have another type than the base; the result
/// has the base's type. An integer base with a floating exponent is raised
/// in the exponent's type and truncated back, as the ONNX reference does.
static LogicalResult convertPow(NodeContext &nc) {
  // x^2 is the RMSNorm/variance idiom: a multiply, not a pow call.
  if (auto e = nc.constScalar(1); e && *e == 2.0 && nc.rank(1) <= nc.rank(0)) {
    Value x = nc.input(0);
    auto type = nc.tensorType(nc.dims(0), nc.elementType(0));
    nc.setOutput(0, k::MulOp::create(nc.builder(), nc.loc(), type, x, x),
                 nc.dims(0));
    return success();
  }
  Type base = nc.elementType(0), exponent = nc.elementType(1);
  if (base == exponent)
    return convertBinaryOn(nc, BinKind::Pow, 0, 1);
  Type compute =
      !isa<FloatType>(base) && isa<FloatType>(exponent) ? exponent : base;
  Value x = castTo(nc, nc.input(0), nc.dims(0), compute);
  Value y = castTo(nc, nc.input(1), nc.dims(1), compute);
  auto r = broadcastBinary(nc, BinKind::Pow, x, nc.dims(0), y, nc.dims(1));
  if (failed(r))
    return failure();
  nc.setOutput(0, castTo(nc, r->first, r->second, base), r->second);
  return success();
}

/// kiln.mod has the sign of the divisor (Python `%`) for integers and is C
/// `fmod` for floats. Integer Mod with fmod=1 takes the sign of the dividend:
/// a - b * trunc(a / b), where kiln.div truncates.
static LogicalResult convertMod(NodeContext &nc) {
  bool fmod = nc.getInt("fmod", 0) != 0;
  if (!fmod && isa<FloatType>(nc.elementType(0)))
    return nc.error() << "Mod on floats requires fmod=1";
  if (!fmod || isa<FloatType>(nc.elementType(0)))
    return convertBinaryOn(nc, BinKind::Mod, 0, 1);
  Value a = nc.input(0), b = nc.input(1);
  auto q = broadcastBinary(nc, BinKind::Div, a, nc.dims(0), b, nc.dims(1));
  if (failed(q))
    return failure();
  auto p =
      broadcastBinary(nc, BinKind::Mul, q->first, q->second, b, nc.dims(1));
  if (failed(p))
    return failure();
  auto r =
      broadcastBinary(nc, BinKind::Sub, a, nc.dims(0), p->first, p->second);
  if (failed(r))
    return failure();
  nc.setOutput(0, r->first, r->second);
  return success();
}

/// Max/Min/Sum take any number of inputs: fold them left to right.
template <BinKind kind> static LogicalResult convertVariadic(NodeContext &nc) {
  if (nc.numInputs() == 1) {
    nc.forward(0, 0);
    return success();
  }
  if (nc.numInputs() == 2)
    return convertBinaryOn(nc, kind, 0, 1);
  Value acc;
  SmallVector<AffineExpr> dims;
  if (failed(convertBinaryOn(nc, kind, 0, 1, &acc, &dims)))
    return failure();
  for (size_t i = 2; i < nc.numInputs(); ++i) {
    auto out = nc.broadcast(dims, nc.dims(i));
    if (failed(out))
      return failure();
    acc = buildBinary(nc, kind, nc.tensorType(*out, nc.elementType(0)), acc,
                      nc.input(i));
    dims = *out;
  }
  nc.setOutput(0, acc, dims);
  return success();
}

template <typename OpT> static LogicalResult convertUnary(NodeContext &nc) {
  Value x = nc.input(0);
  nc.setOutput(0, OpT::create(nc.builder(), nc.loc(), x.getType(), x),
               nc.dims(0));
  return success();
}

/// Neg of known integers stays shape arithmetic (the LayerNormalization
/// function body negates its axis to count the reduced dims).
static LogicalResult convertNeg(NodeContext &nc) {
  if (nc.values(0) && isa<IntegerType>(nc.elementType(0))) {
    SmallVector<AffineExpr> vals;
    for (AffineExpr e : *nc.values(0))
      vals.push_back(k::symSub(nc.cst(0), e));
    nc.setOutputValues(0, nc.elementType(0), nc.dims(0), vals);
    return success();
  }
  return convertUnary<k::NegOp>(nc);
}

static LogicalResult convertIsNan(NodeContext &nc) {
  if (!isa<FloatType>(nc.elementType(0)))
    return nc.error() << "expects a float input, got " << nc.elementType(0);
  Value x = nc.input(0);
  auto type = nc.tensorType(nc.dims(0), nc.builder().getI1Type());
  nc.setOutput(0, k::IsNanOp::create(nc.builder(), nc.loc(), type, x),
               nc.dims(0));
  return success();
}

static LogicalResult convertIsInf(NodeContext &nc) {
  if (!isa<FloatType>(nc.elementType(0)))
    return nc.error() << "expects a float input, got " << nc.elementType(0);
  Value x = nc.input(0);
  OpBuilder &b = nc.builder();
  auto type = nc.tensorType(nc.dims(0), b.getI1Type());
  nc.setOutput(
      0,
      k::IsInfOp::create(b, nc.loc(), type, x,
                         b.getBoolAttr(nc.getInt("detect_positive", 1) != 0),
                         b.getBoolAttr(nc.getInt("detect_negative", 1) != 0)),
      nc.dims(0));
  return success();
}

static LogicalResult convertGelu(NodeContext &nc) {
  std::string approx = nc.getString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return nc.error() << "approximate must be 'none' or 'tanh', got '" << approx
                      << "'";
  Value x = nc.input(0);
  nc.setOutput(0,
               k::GeluOp::create(nc.builder(), nc.loc(), x.getType(), x,
                                 nc.builder().getStringAttr(approx)),
               nc.dims(0));
  return success();
}

static LogicalResult convertCast(NodeContext &nc) {
  int32_t to = nc.getInt("to", 0);
  Type elem = elementTypeFromOnnx(nc.ctx(), to);
  if (!elem)
    return nc.error() << "cast to unsupported type " << onnxDtypeName(to);
  if (elem == nc.elementType(0)) {
    nc.forward(0, 0);
    return success();
  }
  if (nc.values(0) && isa<IntegerType>(elem) && !elem.isInteger(1) &&
      isa<IntegerType>(nc.elementType(0))) {
    nc.setOutputValues(0, elem, nc.dims(0), *nc.values(0));
    return success();
  }
  // Known integers cast to float stay constant, so that float arithmetic on
  // shapes (window lengths, 1/sqrt(head_dim)) can still feed a float Range.
  auto isStatic = [](AffineExpr e) { return k::symConstant(e).has_value(); };
  if (auto ints = nc.constInts(0);
      ints && isa<FloatType>(elem) && llvm::all_of(nc.dims(0), isStatic)) {
    auto type = RankedTensorType::get(
        llvm::map_to_vector(nc.dims(0),
                            [](AffineExpr e) { return *k::symConstant(e); }),
        elem);
    SmallVector<APFloat> vals;
    for (int64_t v : *ints) {
      APFloat f((double)v);
      bool lost;
      f.convert(cast<FloatType>(elem).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &lost);
      vals.push_back(f);
    }
    nc.setOutputConstant(
        0, cast<ElementsAttr>(DenseElementsAttr::get(type, vals)));
    return success();
  }
  Value x = nc.input(0);
  auto type = nc.tensorType(nc.dims(0), elem);
  nc.setOutput(0, k::CastOp::create(nc.builder(), nc.loc(), type, x),
               nc.dims(0));
  return success();
}

/// Clip with bounds known only at run time: min(max(x, lo), hi), which is
/// numpy's clip (hi wins when lo > hi).
static LogicalResult convertClipWithTensorBounds(NodeContext &nc) {
  Value r = nc.input(0);
  SmallVector<AffineExpr> dims(nc.dims(0));
  for (auto [i, kind] : {std::pair{size_t(1), BinKind::Max},
                         std::pair{size_t(2), BinKind::Min}}) {
    if (!nc.hasInput(i))
      continue;
    StringRef what = i == 1 ? "min" : "max";
    if (staticNumElements(nc.dims(i)) != 1)
      return nc.error() << what << " must be a scalar, got rank " << nc.rank(i);
    if (nc.elementType(i) != nc.elementType(0))
      return nc.error() << what << " has type " << nc.elementType(i)
                        << " but the input has " << nc.elementType(0);
    Value bound = reshapeTo(nc, nc.input(i), {});
    auto out = broadcastBinary(nc, kind, r, dims, bound, {});
    if (failed(out))
      return failure();
    r = out->first;
  }
  nc.setOutput(0, r, dims);
  return success();
}

static LogicalResult convertClip(NodeContext &nc) {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  if (nc.opset() < 11) {
    lo = nc.getFloat("min", -std::numeric_limits<float>::infinity());
    hi = nc.getFloat("max", std::numeric_limits<float>::infinity());
  } else {
    for (size_t i : {1, 2})
      if (nc.hasInput(i) && !nc.constScalar(i))
        return convertClipWithTensorBounds(nc);
    for (size_t i : {1, 2})
      if (nc.hasInput(i))
        (i == 1 ? lo : hi) = *nc.constScalar(i);
  }
  Value x = nc.input(0);
  nc.setOutput(0,
               k::ClipOp::create(nc.builder(), nc.loc(), x.getType(), x,
                                 nc.builder().getF64FloatAttr(lo),
                                 nc.builder().getF64FloatAttr(hi)),
               nc.dims(0));
  return success();
}

static LogicalResult convertWhere(NodeContext &nc) {
  if (nc.elementType(1) != nc.elementType(2))
    return nc.error() << "branch types differ: " << nc.elementType(1) << " vs "
                      << nc.elementType(2);
  auto d1 = nc.broadcast(nc.dims(0), nc.dims(1));
  if (failed(d1))
    return failure();
  auto dims = nc.broadcast(*d1, nc.dims(2));
  if (failed(dims))
    return failure();
  // Where(Equal(shape, -1), ones, shape) and friends: select known values.
  if (nc.values(1) && nc.values(2) && dims->size() <= 1) {
    auto n = staticNumElements(*dims);
    auto dense = dyn_cast_or_null<DenseElementsAttr>(nc.info(0).constant);
    if (n && dense && dense.getElementType().isInteger(1)) {
      SmallVector<bool> cond(dense.getValues<bool>());
      const auto &a = *nc.values(1), &b = *nc.values(2);
      auto pick = [&](const SmallVector<AffineExpr> &v, int64_t e) {
        return v[v.size() == 1 ? 0 : e];
      };
      SmallVector<AffineExpr> vals;
      for (int64_t e = 0; e < *n; ++e)
        vals.push_back(cond[cond.size() == 1 ? 0 : e] ? pick(a, e)
                                                      : pick(b, e));
      nc.setOutputValues(0, nc.elementType(1), *dims, vals);
      return success();
    }
  }
  auto type = nc.tensorType(*dims, nc.elementType(1));
  Value c = nc.input(0), a = nc.input(1), b = nc.input(2);
  nc.setOutput(0, k::WhereOp::create(nc.builder(), nc.loc(), type, c, a, b),
               *dims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::elementwiseConverters() {
  constexpr int M = kMaxSupportedOpset;
  static const OpConverter rows[] = {
      {"", "Abs", 6, M, convertUnary<k::AbsOp>, "Elementwise"},
      {"", "Add", 7, M, convertBinary<BinKind::Add>, "Elementwise"},
      {"", "And", 7, M, convertBinary<BinKind::And>, "Elementwise"},
      {"", "Cast", 6, M, convertCast, "Elementwise"},
      {"", "Ceil", 6, M, convertUnary<k::CeilOp>, "Elementwise"},
      {"", "Clip", 6, M, convertClip, "Elementwise"},
      {"", "Cos", 7, M, convertUnary<k::CosOp>, "Elementwise"},
      {"", "Div", 7, M, convertBinary<BinKind::Div>, "Elementwise"},
      {"", "Equal", 7, M, convertBinary<BinKind::Equal>, "Elementwise"},
      {"", "Erf", 9, M, convertUnary<k::ErfOp>, "Elementwise"},
      {"", "Exp", 6, M, convertUnary<k::ExpOp>, "Elementwise"},
      {"", "Floor", 6, M, convertUnary<k::FloorOp>, "Elementwise"},
      {"", "Gelu", 20, M, convertGelu, "Elementwise"},
      {"", "Greater", 7, M, convertBinary<BinKind::Greater>, "Elementwise"},
      {"", "GreaterOrEqual", 12, M, convertBinary<BinKind::GreaterEqual>,
       "Elementwise"},
      {"", "Less", 7, M, convertBinary<BinKind::Less>, "Elementwise"},
      {"", "LessOrEqual", 12, M, convertBinary<BinKind::LessEqual>,
       "Elementwise"},
      {"", "IsInf", 10, M, convertIsInf, "Elementwise"},
      {"", "IsNaN", 9, M, convertIsNan, "Elementwise"},
      {"", "Log", 6, M, convertUnary<k::LogOp>, "Elementwise"},
      {"", "Max", 8, M, convertVariadic<BinKind::Max>, "Elementwise"},
      {"", "Min", 8, M, convertVariadic<BinKind::Min>, "Elementwise"},
      {"", "Mod", 10, M, convertMod, "Elementwise"},
      {"", "Mul", 7, M, convertBinary<BinKind::Mul>, "Elementwise"},
      {"", "Neg", 6, M, convertNeg, "Elementwise"},
      {"", "Not", 1, M, convertUnary<k::NotOp>, "Elementwise"},
      {"", "Or", 7, M, convertBinary<BinKind::Or>, "Elementwise"},
      {"", "Pow", 7, M, convertPow, "Elementwise"},
      {"", "Reciprocal", 6, M, convertUnary<k::ReciprocalOp>, "Elementwise"},
      {"", "Relu", 6, M, convertUnary<k::ReluOp>, "Elementwise"},
      {"", "Round", 11, M, convertUnary<k::RoundOp>, "Elementwise"},
      {"", "Sigmoid", 6, M, convertUnary<k::SigmoidOp>, "Elementwise"},
      {"", "Sin", 7, M, convertUnary<k::SinOp>, "Elementwise"},
      {"", "Sqrt", 6, M, convertUnary<k::SqrtOp>, "Elementwise"},
      {"", "Sub", 7, M, convertBinary<BinKind::Sub>, "Elementwise"},
      {"", "Sum", 8, M, convertVariadic<BinKind::Add>, "Elementwise"},
      {"", "Tanh", 6, M, convertUnary<k::TanhOp>, "Elementwise"},
      {"", "Where", 9, M, convertWhere, "Elementwise"},
  };
  return rows;
}
