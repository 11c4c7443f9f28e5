//===- OptionNames.h - How messages name options ----------------*- C++ -*-===//
//
// Messages about an option name it the way the caller spells it: kilnc sets
// its flags ("--shape"); a program using the compile library directly sees
// the names of the CompileOptions fields (compiler/Compiler.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_COMPILER_ONNX_OPTIONNAMES_H
#define KILN_COMPILER_ONNX_OPTIONNAMES_H

#include <string>

namespace mlir::kiln {

struct OptionNames {
  std::string shape = "shapeOverrides";
  std::string maxShape = "maxShapes";
  std::string maxWeightBytes = "maxWeightBytes";
  std::string maxArenaBytes = "maxArenaBytes";
  std::string precision = "precision";
  std::string quantize = "quantize";
  std::string quantizeExclude = "quantizeExclude";
  std::string lastPosition = "lastPositionOutputs";
  std::string kvCacheType = "kvCacheType";
  std::string emit = "emit";
  std::string target = "target";
  std::string cpu = "targetOptions.cpu";
  std::string runtimeDir = "targetOptions.runtimeDir";
  std::string weights = "targetOptions.externalWeights";
  /// What lists the supported ops, for the unsupported-op message.
  std::string listOps = "kiln::onnx_import::printOpTable()";
};

} // namespace mlir::kiln

#endif
