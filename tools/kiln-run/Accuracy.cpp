//===- Accuracy.cpp - How far one artifact's outputs are from another's ---===//

#include "Accuracy.h"

#include "TensorConvert.h"

#include <cmath>
#include <cstdio>

namespace kiln {

Accuracy measureAccuracy(const std::string &name, const HostTensor &actual,
                         const HostTensor &reference) {
  if (actual.dims != reference.dims)
    throw ToolError("output '" + name + "' has shape " +
                    formatDims(actual.dims) + " against the reference's " +
                    formatDims(reference.dims));
  Accuracy a;
  a.name = name;
  int64_t n = actual.numElements();
  double dot = 0, na = 0, nr = 0, sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    double x = elementAsDouble(actual, i), y = elementAsDouble(reference, i);
    double err = std::fabs(x - y);
    a.maxAbsError = std::fmax(a.maxAbsError, err);
    sum += err;
    dot += x * y;
    na += x * x;
    nr += y * y;
  }
  a.meanAbsError = n ? sum / double(n) : 0;
  a.cosine = na > 0 && nr > 0 ? dot / std::sqrt(na * nr) : (na == nr ? 1 : 0);
  std::string lower;
  for (char c : name)
    lower += (char)std::tolower((unsigned char)c);
  if (lower.find("logits") != std::string::npos && actual.dims.size() >= 2 &&
      isFloatDtype(actual.dtype) && actual.dims.back() > 0) {
    int64_t width = actual.dims.back(), agree = 0;
    a.positions = n / width;
    for (int64_t p = 0; p < a.positions; ++p) {
      int64_t bestA = 0, bestR = 0;
      for (int64_t j = 1; j < width; ++j) {
        if (elementAsDouble(actual, p * width + j) >
            elementAsDouble(actual, p * width + bestA))
          bestA = j;
        if (elementAsDouble(reference, p * width + j) >
            elementAsDouble(reference, p * width + bestR))
          bestR = j;
      }
      agree += bestA == bestR;
    }
    a.top1 = a.positions ? double(agree) / double(a.positions) : 1.0;
  }
  return a;
}

std::string formatAccuracy(const Accuracy &a) {
  char line[512];
  int len = snprintf(line, sizeof(line),
                     "%s: max_abs_err=%.3g mean_abs_err=%.3g cosine=%.9f",
                     a.name.c_str(), a.maxAbsError, a.meanAbsError, a.cosine);
  if (a.top1 && len > 0 && len < (int)sizeof(line))
    snprintf(line + len, sizeof(line) - len, " top1=%.4f (%lld positions)",
             *a.top1, (long long)a.positions);
  return line;
}

static std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\')
      out += '\\';
    if ((unsigned char)c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof(esc), "\\u%04x", c);
      out += esc;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string accuracyJson(const std::string &variant,
                         const std::string &reference,
                         const std::vector<Accuracy> &outputs) {
  std::string out = "{\"variant\": " + jsonString(variant) +
                    ", \"reference\": " + jsonString(reference) +
                    ", \"outputs\": [";
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Accuracy &a = outputs[i];
    char fields[256];
    snprintf(fields, sizeof(fields),
             ", \"max_abs_err\": %.9g, \"mean_abs_err\": %.9g, \"cosine\": "
             "%.12g",
             a.maxAbsError, a.meanAbsError, a.cosine);
    out += (i ? ", " : "") + std::string("{\"name\": ") + jsonString(a.name) +
           fields;
    if (a.top1) {
      snprintf(fields, sizeof(fields),
               ", \"top1_agreement\": %.9g, \"positions\": %lld", *a.top1,
               (long long)a.positions);
      out += fields;
    }
    out += "}";
  }
  return out + "]}\n";
}

} // namespace kiln
