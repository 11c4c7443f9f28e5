//===- OpTable.cpp - ONNX op -> converter table ---------------------------===//
#include "compiler/onnx/OpTable.h"
#include "compiler/onnx/OnnxDomain.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"
#include <algorithm>

using namespace mlir;
using namespace mlir::kiln::onnx_import;

const std::vector<OpConverter> &kiln::onnx_import::opTable() {
  static const std::vector<OpConverter> table = [] {
    std::vector<OpConverter> rows;
    for (auto family :
         {attentionConverters(), elementwiseConverters(), indexingConverters(),
          matmulConverters(), normalizationConverters(),
          quantizationConverters(), reductionConverters(), shapeConverters()})
      rows.insert(rows.end(), family.begin(), family.end());
    std::stable_sort(rows.begin(), rows.end(), [](auto &a, auto &b) {
      return std::tie(a.domain, a.opType, a.minOpset) <
             std::tie(b.domain, b.opType, b.minOpset);
    });
    return rows;
  }();
  return table;
}

static bool sameDomain(llvm::StringRef a, llvm::StringRef b) {
  return canonicalDomain(a) == canonicalDomain(b);
}

const OpConverter *kiln::onnx_import::lookupConverter(llvm::StringRef domain,
                                                      llvm::StringRef opType,
                                                      int64_t opset) {
  for (const OpConverter &row : opTable())
    if (sameDomain(row.domain, domain) && row.opType == opType &&
        row.minOpset <= opset && opset <= row.maxOpset)
      return &row;
  return nullptr;
}

bool kiln::onnx_import::isKnownOp(llvm::StringRef domain,
                                  llvm::StringRef opType) {
  return llvm::any_of(opTable(), [&](const OpConverter &row) {
    return sameDomain(row.domain, domain) && row.opType == opType;
  });
}

void kiln::onnx_import::printOpTable(llvm::raw_ostream &os) {
  os << "# domain op min_opset-max_opset\n";
  for (const OpConverter &row : opTable())
    os << canonicalDomain(row.domain) << " " << row.opType << " "
       << row.minOpset << "-" << row.maxOpset << "\n";
}
