//===- Accuracy.h - How far one artifact's outputs are from another's -*- C++
//-*-===//
//
// For a quantized or reduced-precision artifact against the fp32 one on the
// same inputs (kiln-run --reference, kilnc --accuracy-report).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNRUN_ACCURACY_H
#define KILN_TOOLS_KILNRUN_ACCURACY_H

#include "HostTensor.h"

#include <optional>
#include <string>
#include <vector>

namespace kiln {

struct Accuracy {
  std::string name;
  double maxAbsError = 0;
  double meanAbsError = 0;
  /// Cosine similarity of the two outputs as flat vectors.
  double cosine = 1;
  /// For logits (an output named "*logits*", rank >= 2): the fraction of
  /// positions (all but the last axis) whose argmax agrees, and how many.
  std::optional<double> top1;
  int64_t positions = 0;
};

/// Throws ToolError when the shapes differ.
Accuracy measureAccuracy(const std::string &name, const HostTensor &actual,
                         const HostTensor &reference);

/// "name: max_abs_err=... mean_abs_err=... cosine=... [top1=... (n)]"
std::string formatAccuracy(const Accuracy &a);

/// A JSON object: {"variant": ..., "reference": ..., "outputs": [...]}.
std::string accuracyJson(const std::string &variant,
                         const std::string &reference,
                         const std::vector<Accuracy> &outputs);

} // namespace kiln

#endif // KILN_TOOLS_KILNRUN_ACCURACY_H
