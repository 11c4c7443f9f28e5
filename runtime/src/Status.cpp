//===- Status.cpp - Names of statuses and element types -------------------===//

#include "kiln/runtime.h"

extern "C" const char *kiln_status_string(kiln_status status) {
  switch (status) {
  case KILN_OK:
    return "KILN_OK";
  case KILN_ERROR_INVALID_ARGUMENT:
    return "KILN_ERROR_INVALID_ARGUMENT";
  case KILN_ERROR_DTYPE_MISMATCH:
    return "KILN_ERROR_DTYPE_MISMATCH";
  case KILN_ERROR_RANK_MISMATCH:
    return "KILN_ERROR_RANK_MISMATCH";
  case KILN_ERROR_SHAPE_MISMATCH:
    return "KILN_ERROR_SHAPE_MISMATCH";
  case KILN_ERROR_BUFFER_TOO_SMALL:
    return "KILN_ERROR_BUFFER_TOO_SMALL";
  case KILN_ERROR_OUT_OF_MEMORY:
    return "KILN_ERROR_OUT_OF_MEMORY";
  case KILN_ERROR_LIMIT_EXCEEDED:
    return "KILN_ERROR_LIMIT_EXCEEDED";
  case KILN_ERROR_UNSUPPORTED:
    return "KILN_ERROR_UNSUPPORTED";
  case KILN_ERROR_DEVICE:
    return "KILN_ERROR_DEVICE";
  case KILN_ERROR_INTERNAL:
    return "KILN_ERROR_INTERNAL";
  case KILN_ERROR_IO:
    return "KILN_ERROR_IO";
  case KILN_STATUS_MAX_ENUM:
    break;
  }
  return "KILN_ERROR_UNKNOWN";
}

extern "C" const char *kiln_dtype_name(int32_t dtype) {
  switch (dtype) {
#define KILN_DTYPE_NAME(suffix, name, size, ctype)                             \
  case KILN_DTYPE_##suffix:                                                    \
    return name;
    KILN_DTYPE_TABLE(KILN_DTYPE_NAME)
#undef KILN_DTYPE_NAME
  default:
    return "?";
  }
}

extern "C" size_t kiln_dtype_size(int32_t dtype) {
  return kiln_abi_dtype_size(dtype);
}
