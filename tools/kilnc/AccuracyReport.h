//===- AccuracyReport.h - kilnc --accuracy-report ---------------*- C++ -*-===//
#ifndef KILN_TOOLS_KILNC_ACCURACYREPORT_H
#define KILN_TOOLS_KILNC_ACCURACYREPORT_H

#include "compiler/Compiler.h"

namespace mlir::kiln {

/// After `variant` (a --quantize or --precision compile) wrote `result`:
/// compiles the fp32 artifact of the same model into a temporary directory
/// and runs kiln-run (beside kilnc) on both, with the inputs in `inputsDir`
/// or random ones (token ids in [0, 100), every symbolic dim 16). kiln-run
/// prints per output the max and mean abs error, the cosine and, for
/// logits, the top-1 agreement, and writes them to <library>.accuracy.json.
/// Returns kilnc's exit status.
int writeAccuracyReport(const CompileOptions &variant,
                        const CompileResult &result,
                        const std::string &inputsDir, const char *argv0);

} // namespace mlir::kiln

#endif
