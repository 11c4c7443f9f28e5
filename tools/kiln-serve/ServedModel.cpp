//===- ServedModel.cpp - An artifact, its session and its signature -------===//

#include "tools/kiln-serve/ServedModel.h"

#include <cstdio>
#include <cstring>
#include <mutex>
#include <set>

namespace kiln::serve {

template <typename T>
static void store(std::vector<unsigned char> &bytes,
                  const std::vector<int64_t> &values) {
  bytes.resize(values.size() * sizeof(T));
  for (size_t i = 0; i < values.size(); ++i) {
    T v = static_cast<T>(values[i]);
    memcpy(bytes.data() + i * sizeof(T), &v, sizeof(T));
  }
}

OwnedTensor OwnedTensor::ints(kiln_dtype dtype, std::vector<int64_t> dims,
                              const std::vector<int64_t> &values) {
  OwnedTensor t;
  t.dtype = dtype;
  t.dims = std::move(dims);
  switch (dtype) {
  case KILN_DTYPE_I64:
    store<int64_t>(t.bytes, values);
    break;
  case KILN_DTYPE_I32:
    store<int32_t>(t.bytes, values);
    break;
  case KILN_DTYPE_BOOL:
  case KILN_DTYPE_U8:
    store<uint8_t>(t.bytes, values);
    break;
  case KILN_DTYPE_F32:
    store<float>(t.bytes, values);
    break;
  default:
    throw ToolError(std::string("an input of dtype ") + kiln_dtype_name(dtype) +
                    " cannot carry token ids, masks or positions");
  }
  return t;
}

kiln_tensor OwnedTensor::view() {
  return {dtype, static_cast<int32_t>(dims.size()), dims.data(),
          bytes.empty() ? nullptr : bytes.data(), bytes.size()};
}

ServedModel::ServedModel(const std::string &path, int32_t threads)
    : library(path), sessionHolder(library.model(), threads) {
  // Once per artifact, though an engine opens it once per session.
  static std::mutex mutex;
  static std::set<std::string> warned;
  std::string warning = library.runtimeWarning();
  std::lock_guard<std::mutex> lock(mutex);
  if (!warning.empty() && warned.insert(path).second)
    fprintf(stderr, "kiln-serve: warning: %s\n", warning.c_str());
}

std::string ServedModel::name() const {
  return model().name ? model().name : "model";
}

int32_t ServedModel::findInput(const char *name) const {
  for (int32_t i = 0; i < numInputs(); ++i)
    if (input(i).name && strcmp(input(i).name, name) == 0)
      return i;
  return -1;
}

int32_t ServedModel::findOutput(const char *name) const {
  for (int32_t o = 0; o < numOutputs(); ++o)
    if (output(o).name && strcmp(output(o).name, name) == 0)
      return o;
  return -1;
}

int32_t ServedModel::pairOfInput(int32_t i) const {
  for (int32_t k = 0; k < model().num_kv_pairs; ++k)
    if (model().kv_pairs[k].input == i)
      return k;
  return -1;
}

void ServedModel::check(kiln_status status, const char *what) {
  sessionHolder.check(status, what);
}

bool isDecoderModel(const ServedModel &model) {
  return model.model().num_kv_pairs > 0 || model.findOutput("logits") >= 0;
}

} // namespace kiln::serve
