//===- ServedModel.h - An artifact, its session and its signature -*- C++
//-*-===//
//
// What the engines need of a loaded artifact: inputs and outputs found by
// name, and token ids, masks and positions written in each input's dtype.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_SERVEDMODEL_H
#define KILN_TOOLS_KILNSERVE_SERVEDMODEL_H

#include "ModelLibrary.h"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::serve {

// A tensor the caller fills: dims and bytes kept together.
struct OwnedTensor {
  kiln_dtype dtype = KILN_DTYPE_I64;
  std::vector<int64_t> dims;
  std::vector<unsigned char> bytes;

  // `values` converted to `dtype` (an integer type, bool or f32).
  static OwnedTensor ints(kiln_dtype dtype, std::vector<int64_t> dims,
                          const std::vector<int64_t> &values);
  kiln_tensor view();
};

class ServedModel {
public:
  ServedModel(const std::string &path, int32_t threads); // throws ToolError

  kiln_session *session() { return sessionHolder.get(); }
  const kiln_abi_model &model() const { return *library.model(); }
  std::string name() const;

  int32_t numInputs() const { return model().num_inputs; }
  int32_t numOutputs() const { return model().num_outputs; }
  const kiln_abi_tensor &input(int32_t i) const { return model().inputs[i]; }
  const kiln_abi_tensor &output(int32_t o) const { return model().outputs[o]; }
  // Index of the input/output called `name`, -1 if there is none.
  int32_t findInput(const char *name) const;
  int32_t findOutput(const char *name) const;
  // Index of the KV pair whose past is input `i`, -1 if it is none.
  int32_t pairOfInput(int32_t i) const;

  // Throws ToolError("<what>: <status>: <last error>") unless OK.
  void check(kiln_status status, const char *what);

private:
  ModelLibrary library;
  Session sessionHolder;
};

// Whether the artifact at `path` is a decoder: it has KV pairs or a
// `logits` output. Throws ToolError when it does not load.
bool isDecoderModel(const ServedModel &model);

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_SERVEDMODEL_H
