//===- Compare.cpp - Tolerance comparison of outputs ----------------------===//

#include "Compare.h"

#include "TensorConvert.h"

#include <cmath>
#include <cstdio>

namespace kiln {

CompareResult compareTensors(const HostTensor &actual,
                             const HostTensor &expected, const Tolerance &tol,
                             bool strictDtype) {
  CompareResult r;
  r.dtypeMatches = actual.dtype == expected.dtype ||
                   (!strictDtype &&
                    isFloatDtype(actual.dtype) == isFloatDtype(expected.dtype));
  if (actual.dims != expected.dims) {
    r.shapeMatches = false;
    return r;
  }
  r.total = actual.numElements();
  for (int64_t i = 0; i < r.total; ++i) {
    double a = elementAsDouble(actual, i), b = elementAsDouble(expected, i);
    bool match;
    if (std::isnan(a) || std::isnan(b)) {
      match = std::isnan(a) && std::isnan(b);
    } else if (std::isinf(a) || std::isinf(b)) {
      match = a == b;
    } else {
      double err = std::fabs(a - b);
      if (err > r.maxAbsError)
        r.maxAbsError = err;
      if (b != 0 && err / std::fabs(b) > r.maxRelError)
        r.maxRelError = err / std::fabs(b);
      match = tol.exact ? a == b : err <= tol.atol + tol.rtol * std::fabs(b);
    }
    if (!match) {
      if (r.firstMismatch < 0)
        r.firstMismatch = i;
      ++r.mismatches;
    }
  }
  return r;
}

std::string formatComparison(const std::string &name, const HostTensor &actual,
                             const HostTensor &expected,
                             const CompareResult &r) {
  if (!r.shapeMatches)
    return name + ": shape mismatch: got " + describe(actual) + ", expected " +
           describe(expected);
  char buf[256];
  snprintf(buf, sizeof(buf),
           "%s: max_abs_err=%.3g max_rel_err=%.3g "
           "mismatches=%lld/%lld",
           name.c_str(), r.maxAbsError, r.maxRelError, (long long)r.mismatches,
           (long long)r.total);
  std::string line = buf;
  if (r.firstMismatch >= 0) {
    snprintf(buf, sizeof(buf),
             " (first at flat index %lld: got %.9g, "
             "expected %.9g)",
             (long long)r.firstMismatch,
             elementAsDouble(actual, r.firstMismatch),
             elementAsDouble(expected, r.firstMismatch));
    line += buf;
  }
  if (!r.dtypeMatches)
    line += std::string(" dtype mismatch: got ") +
            kiln_dtype_name(actual.dtype) + ", expected " +
            kiln_dtype_name(expected.dtype);
  return line;
}

} // namespace kiln
