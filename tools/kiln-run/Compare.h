//===- Compare.h - Tolerance comparison of outputs --------------*- C++ -*-===//
#ifndef KILN_TOOLS_KILNRUN_COMPARE_H
#define KILN_TOOLS_KILNRUN_COMPARE_H

#include "HostTensor.h"

#include <string>

namespace kiln {

struct Tolerance {
  double atol = 1e-4;
  double rtol = 1e-4;
  bool exact = false; // integers and booleans in ONNX backend tests
};

struct CompareResult {
  bool shapeMatches = true;
  bool dtypeMatches = true;
  double maxAbsError = 0;
  double maxRelError = 0; // over elements with a nonzero expected value
  int64_t mismatches = 0;
  int64_t total = 0;
  int64_t firstMismatch = -1;

  bool ok() const { return shapeMatches && dtypeMatches && mismatches == 0; }
};

// numpy.allclose's rule: |actual - expected| <= atol + rtol * |expected|,
// with NaN equal to NaN and infinities equal to themselves. `strictDtype`
// makes a dtype difference a failure; otherwise values compare as doubles.
CompareResult compareTensors(const HostTensor &actual,
                             const HostTensor &expected, const Tolerance &tol,
                             bool strictDtype);

// "logits: max_abs_err=1.2e-06 max_rel_err=3.4e-05 mismatches=0/32000",
// with the reason appended when shape or dtype differ.
std::string formatComparison(const std::string &name, const HostTensor &actual,
                             const HostTensor &expected,
                             const CompareResult &result);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_COMPARE_H
