//===- OnnxDomain.h - The spelling of ONNX operator domains -----*- C++ -*-===//
#ifndef KILN_COMPILER_ONNX_ONNXDOMAIN_H
#define KILN_COMPILER_ONNX_ONNXDOMAIN_H

#include "llvm/ADT/StringRef.h"

namespace mlir::kiln::onnx_import {

/// ONNX spells its default domain both "" and "ai.onnx": the one spelling
/// the importer keys opsets by, compares and prints.
inline llvm::StringRef canonicalDomain(llvm::StringRef domain) {
  return domain.empty() ? llvm::StringRef("ai.onnx") : domain;
}

} // namespace mlir::kiln::onnx_import

#endif
