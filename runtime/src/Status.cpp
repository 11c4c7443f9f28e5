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
  case KILN_STATUS_MAX_ENUM:
    break;
  }
  return "KILN_ERROR_UNKNOWN";
}

extern "C" const char *kiln_dtype_name(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_F32:
    return "f32";
  case KILN_DTYPE_U8:
    return "u8";
  case KILN_DTYPE_I8:
    return "i8";
  case KILN_DTYPE_U16:
    return "u16";
  case KILN_DTYPE_I16:
    return "i16";
  case KILN_DTYPE_I32:
    return "i32";
  case KILN_DTYPE_I64:
    return "i64";
  case KILN_DTYPE_BOOL:
    return "bool";
  case KILN_DTYPE_F16:
    return "f16";
  case KILN_DTYPE_F64:
    return "f64";
  case KILN_DTYPE_U32:
    return "u32";
  case KILN_DTYPE_U64:
    return "u64";
  case KILN_DTYPE_BF16:
    return "bf16";
  default:
    return "?";
  }
}

extern "C" size_t kiln_dtype_size(int32_t dtype) {
  switch (dtype) {
  case KILN_DTYPE_U8:
  case KILN_DTYPE_I8:
  case KILN_DTYPE_BOOL:
    return 1;
  case KILN_DTYPE_U16:
  case KILN_DTYPE_I16:
  case KILN_DTYPE_F16:
  case KILN_DTYPE_BF16:
    return 2;
  case KILN_DTYPE_F32:
  case KILN_DTYPE_I32:
  case KILN_DTYPE_U32:
    return 4;
  case KILN_DTYPE_I64:
  case KILN_DTYPE_F64:
  case KILN_DTYPE_U64:
    return 8;
  default:
    return 0;
  }
}
