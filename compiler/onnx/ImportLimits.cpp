//===- ImportLimits.cpp - Size limits on what the importer accepts -------===//
#include "compiler/onnx/ImportLimits.h"
#include "dialects/kiln/SymbolicShape.h"

using namespace mlir;

/// Why extents `dims` do not describe a tensor Kiln can handle, or "" when
/// they do. Symbolic extents are checked for hostile constants only; their
/// values are the runtime's to check.
std::string kiln::onnx_import::checkExtents(ArrayRef<AffineExpr> dims) {
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
