//===- MatMul.cpp - MatMul, Gemm and Einsum -------------------------------===//
#include "compiler/onnx/ops/ConverterUtils.h"

#include "onnx.pb.h"

#include "llvm/ADT/StringExtras.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;
namespace k = mlir::kiln;

FailureOr<std::pair<Value, SmallVector<AffineExpr>>>
kiln::onnx_import::buildMatMul(NodeContext &nc, Value a,
                               SmallVector<AffineExpr> ad, Value b,
                               SmallVector<AffineExpr> bd) {
  bool vecA = ad.size() == 1, vecB = bd.size() == 1;
  if (ad.empty() || bd.empty())
    return nc.error() << "operands must have rank >= 1, got A "
                      << nc.formatDims(ad) << " and B " << nc.formatDims(bd);
  std::string shapes = "A " + nc.formatDims(ad) + " and B " + nc.formatDims(bd);
  if (vecA) {
    ad.insert(ad.begin(), nc.cst(1));
    a = reshapeTo(nc, a, ad);
  }
  if (vecB) {
    bd.push_back(nc.cst(1));
    b = reshapeTo(nc, b, bd);
  }
  AffineExpr ka = ad.back(), kb = bd[bd.size() - 2];
  if (!k::symEqual(ka, kb))
    return nc.error() << "inner dimensions differ: " << shapes << " contract '"
                      << nc.formatExtent(ka) << "' with '"
                      << nc.formatExtent(kb) << "'";
  auto batch =
      nc.broadcast(ArrayRef(ad).drop_back(2), ArrayRef(bd).drop_back(2));
  if (failed(batch))
    return failure();
  SmallVector<AffineExpr> out = *batch;
  out.push_back(ad[ad.size() - 2]);
  out.push_back(bd.back());
  Type elem = cast<RankedTensorType>(a.getType()).getElementType();
  Value r = k::MatMulOp::create(nc.builder(), nc.loc(),
                                nc.tensorType(out, elem), a, b);
  if (vecA || vecB) {
    SmallVector<AffineExpr> squeezed(out.begin(), out.end() - 2);
    if (!vecA)
      squeezed.push_back(out[out.size() - 2]);
    if (!vecB)
      squeezed.push_back(out.back());
    r = reshapeTo(nc, r, squeezed);
    out = squeezed;
  }
  return std::make_pair(r, out);
}

static LogicalResult convertMatMul(NodeContext &nc) {
  if (nc.elementType(0) != nc.elementType(1))
    return nc.error() << "operand types differ: " << nc.elementType(0) << " vs "
                      << nc.elementType(1);
  if (!isa<FloatType>(nc.elementType(0)))
    return nc.error() << "MatMul on " << nc.elementType(0)
                      << " is not supported (use MatMulInteger)";
  auto r = buildMatMul(nc, nc.input(0), SmallVector<AffineExpr>(nc.dims(0)),
                       nc.input(1), SmallVector<AffineExpr>(nc.dims(1)));
  if (failed(r))
    return failure();
  nc.setOutput(0, r->first, r->second);
  return success();
}

static Value transpose2D(NodeContext &nc, Value v,
                         SmallVector<AffineExpr> &dims) {
  std::swap(dims[0], dims[1]);
  auto type =
      nc.tensorType(dims, cast<RankedTensorType>(v.getType()).getElementType());
  return k::TransposeOp::create(nc.builder(), nc.loc(), type, v,
                                nc.builder().getDenseI64ArrayAttr({1, 0}));
}

/// Y = alpha * A' * B' + beta * C.
static LogicalResult convertGemm(NodeContext &nc) {
  if (nc.rank(0) != 2 || nc.rank(1) != 2)
    return nc.error() << "A and B must be 2-D, got A "
                      << nc.formatDims(nc.dims(0)) << " and B "
                      << nc.formatDims(nc.dims(1));
  Type elem = nc.elementType(0);
  if (!isa<FloatType>(elem))
    return nc.error() << "Gemm on " << elem << " is not supported";
  SmallVector<AffineExpr> ad(nc.dims(0)), bd(nc.dims(1));
  Value a = nc.input(0), b = nc.input(1);
  if (nc.getInt("transA", 0))
    a = transpose2D(nc, a, ad);
  if (nc.getInt("transB", 0))
    b = transpose2D(nc, b, bd);
  auto mm = buildMatMul(nc, a, ad, b, bd);
  if (failed(mm))
    return failure();
  auto [y, dims] = *mm;
  auto type = nc.tensorType(dims, elem);
  float alpha = nc.getFloat("alpha", 1.0f), beta = nc.getFloat("beta", 1.0f);
  if (alpha != 1.0f)
    y = k::MulOp::create(nc.builder(), nc.loc(), type, y,
                         buildRank0Constant(nc, elem, alpha));
  if (nc.hasInput(2) && beta != 0.0f) {
    auto out = nc.broadcast(dims, nc.dims(2));
    if (failed(out))
      return failure();
    if (out->size() != 2 || !k::symEqual((*out)[0], dims[0]) ||
        !k::symEqual((*out)[1], dims[1]))
      return nc.error() << "C " << nc.formatDims(nc.dims(2))
                        << " does not broadcast to the result shape "
                        << nc.formatDims(dims);
    Value c = nc.input(2);
    if (beta != 1.0f)
      c = k::MulOp::create(nc.builder(), nc.loc(), c.getType(), c,
                           buildRank0Constant(nc, elem, beta));
    y = k::AddOp::create(nc.builder(), nc.loc(), type, y, c);
  }
  nc.setOutput(0, y, dims);
  return success();
}

namespace {

/// One operand (or the output) of an Einsum equation: letters before and
/// after an optional ellipsis.
struct EinsumTerm {
  std::string before, after;
  bool ellipsis = false;
  size_t numLetters() const { return before.size() + after.size(); }
};

std::optional<EinsumTerm> parseEinsumTerm(llvm::StringRef text) {
  EinsumTerm t;
  size_t dots = text.find("...");
  if (dots != llvm::StringRef::npos) {
    t.ellipsis = true;
    t.before = text.take_front(dots).str();
    t.after = text.drop_front(dots + 3).str();
  } else {
    t.before = text.str();
  }
  for (char c : t.before + t.after)
    if (!llvm::isAlpha(c))
      return std::nullopt;
  return t;
}

} // namespace

/// Einsum as one kiln.einsum: the iteration space has the dims an ellipsis
/// stands for (broadcast, right-aligned, numpy style) and then one dim per
/// letter; an extent of 1 against a larger one broadcasts (a constant 0 in
/// that input's map). Without "->", the output is the ellipsis dims and then
/// the letters used once, in ASCII order, as numpy has it.
static LogicalResult convertEinsum(NodeContext &nc) {
  std::string equation;
  for (char c : nc.getString("equation", ""))
    if (!llvm::isSpace(c))
      equation.push_back(c);
  llvm::StringRef eq(equation);
  auto [lhs, rhs] = eq.split("->");
  bool explicitOutput = eq.contains("->");
  SmallVector<llvm::StringRef> texts;
  lhs.split(texts, ',');
  size_t n = nc.numInputs();
  if (texts.size() != n)
    return nc.error() << "equation '" << equation << "' has " << texts.size()
                      << " operands, the node " << n << " inputs";
  SmallVector<EinsumTerm> terms;
  for (llvm::StringRef text : texts) {
    auto t = parseEinsumTerm(text);
    if (!t)
      return nc.error() << "cannot parse operand '" << text << "' of equation '"
                        << equation << "'";
    terms.push_back(*t);
  }
  // Ellipsis dims: E of them, right-aligned across the inputs.
  int64_t numEllipsis = 0;
  SmallVector<int64_t> ellipsisRank(n, 0);
  for (size_t i = 0; i < n; ++i) {
    int64_t rank = nc.rank(i), letters = terms[i].numLetters();
    if (terms[i].ellipsis ? rank < letters : rank != letters)
      return nc.error() << "operand '" << texts[i] << "' does not fit input "
                        << i << " of shape " << nc.formatDims(nc.dims(i));
    if (terms[i].ellipsis)
      ellipsisRank[i] = rank - letters;
    numEllipsis = std::max(numEllipsis, ellipsisRank[i]);
    if (nc.elementType(i) != nc.elementType(0))
      return nc.error() << "inputs must have one element type, got "
                        << nc.elementType(0) << " and " << nc.elementType(i);
  }
  llvm::DenseMap<char, int64_t> letterDim, uses;
  int64_t numDims = numEllipsis;
  for (const EinsumTerm &t : terms)
    for (char c : t.before + t.after) {
      if (!letterDim.count(c))
        letterDim[c] = numDims++;
      ++uses[c];
    }
  // The dim of each input position, and each dim's extent.
  SmallVector<SmallVector<int64_t>> dimOf(n);
  SmallVector<AffineExpr> extent(numDims, nc.cst(1));
  for (size_t i = 0; i < n; ++i) {
    const EinsumTerm &t = terms[i];
    for (char c : t.before)
      dimOf[i].push_back(letterDim[c]);
    for (int64_t e = 0; e < ellipsisRank[i]; ++e)
      dimOf[i].push_back(numEllipsis - ellipsisRank[i] + e);
    for (char c : t.after)
      dimOf[i].push_back(letterDim[c]);
    for (auto [p, d] : llvm::enumerate(dimOf[i])) {
      AffineExpr x = nc.dims(i)[p];
      // A diagonal reads equal extents.
      size_t first = llvm::find(dimOf[i], d) - dimOf[i].begin();
      bool mismatch = !k::symEqual(nc.dims(i)[first], x);
      if (!mismatch && k::symConstant(x) != 1) {
        if (k::symConstant(extent[d]) == 1)
          extent[d] = x;
        else
          mismatch = !k::symEqual(extent[d], x);
      }
      if (mismatch)
        return nc.error() << "equation '" << equation
                          << "' gives one index the extents '"
                          << nc.formatExtent(x) << "' and '"
                          << nc.formatExtent(p == first ? extent[d]
                                                        : nc.dims(i)[first])
                          << "'";
    }
  }
  // The output's dims.
  SmallVector<int64_t> outDimsOf;
  if (explicitOutput) {
    auto out = parseEinsumTerm(rhs);
    if (!out)
      return nc.error() << "cannot parse the output '" << rhs
                        << "' of equation '" << equation << "'";
    if (numEllipsis > 0 && !out->ellipsis)
      return nc.error() << "the output of equation '" << equation
                        << "' must keep the ellipsis dims ('...')";
    auto addLetters = [&](llvm::StringRef letters) -> LogicalResult {
      for (char c : letters) {
        if (!letterDim.count(c) || llvm::is_contained(outDimsOf, letterDim[c]))
          return nc.error()
                 << "output index '" << c << "' of equation '" << equation
                 << "' is repeated or indexes no operand";
        outDimsOf.push_back(letterDim[c]);
      }
      return success();
    };
    if (failed(addLetters(out->before)))
      return failure();
    for (int64_t e = 0; e < numEllipsis; ++e)
      outDimsOf.push_back(e);
    if (failed(addLetters(out->after)))
      return failure();
  } else {
    for (int64_t e = 0; e < numEllipsis; ++e)
      outDimsOf.push_back(e);
    SmallVector<char> once;
    for (auto [c, count] : uses)
      if (count == 1)
        once.push_back(c);
    llvm::sort(once);
    for (char c : once)
      outDimsOf.push_back(letterDim[c]);
  }
  OpBuilder &b = nc.builder();
  SmallVector<Attribute> maps;
  SmallVector<Value> inputs;
  for (size_t i = 0; i < n; ++i) {
    SmallVector<AffineExpr> exprs;
    for (auto [p, d] : llvm::enumerate(dimOf[i]))
      exprs.push_back(k::symConstant(nc.dims(i)[p]) == 1 &&
                              k::symConstant(extent[d]) != 1
                          ? b.getAffineConstantExpr(0)
                          : b.getAffineDimExpr(d));
    maps.push_back(
        AffineMapAttr::get(AffineMap::get(numDims, 0, exprs, nc.ctx())));
    inputs.push_back(nc.input(i));
  }
  SmallVector<AffineExpr> outExprs, outDims;
  for (int64_t d : outDimsOf) {
    outExprs.push_back(b.getAffineDimExpr(d));
    outDims.push_back(extent[d]);
  }
  maps.push_back(
      AffineMapAttr::get(AffineMap::get(numDims, 0, outExprs, nc.ctx())));
  nc.setOutput(0,
               k::EinsumOp::create(b, nc.loc(),
                                   nc.tensorType(outDims, nc.elementType(0)),
                                   inputs, b.getArrayAttr(maps)),
               outDims);
  return success();
}

ArrayRef<OpConverter> kiln::onnx_import::matmulConverters() {
  static const OpConverter rows[] = {
      {"", "Einsum", 12, kMaxSupportedOpset, convertEinsum, "MatMul"},
      {"", "Gemm", 7, kMaxSupportedOpset, convertGemm, "MatMul"},
      {"", "MatMul", 1, kMaxSupportedOpset, convertMatMul, "MatMul"},
  };
  return rows;
}
