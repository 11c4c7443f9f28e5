//===- CIdentifier.h - C identifiers from names -----------------*- C++ -*-===//
#ifndef KILN_CODEGEN_CIDENTIFIER_H
#define KILN_CODEGEN_CIDENTIFIER_H

#include "llvm/ADT/StringRef.h"
#include <string>

namespace mlir::kiln {

/// `name` with '_' for every character that is not an ASCII letter or
/// digit, and `prefix` in front where the result would be empty or start
/// with a digit. An empty `prefix` gives an identifier suffix (a macro name
/// part), which may start with a digit.
std::string sanitizeCIdentifier(llvm::StringRef name, llvm::StringRef prefix);

} // namespace mlir::kiln

#endif
