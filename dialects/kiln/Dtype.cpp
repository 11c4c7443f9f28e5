//===- Dtype.cpp - kiln_dtype <-> MLIR element types ----------------------===//
#include "dialects/kiln/Dtype.h"

#include "kiln/model_abi.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;

Type kiln::elementTypeForDtype(MLIRContext *ctx, int32_t dtype) {
  Builder b(ctx);
  switch (dtype) {
  case KILN_DTYPE_F32:
    return b.getF32Type();
  case KILN_DTYPE_F64:
    return b.getF64Type();
  case KILN_DTYPE_F16:
    return b.getF16Type();
  case KILN_DTYPE_BF16:
    return b.getBF16Type();
  case KILN_DTYPE_F8E4M3FN:
    return b.getType<Float8E4M3FNType>();
  case KILN_DTYPE_I64:
    return b.getI64Type();
  case KILN_DTYPE_I32:
    return b.getI32Type();
  case KILN_DTYPE_I16:
    return b.getI16Type();
  case KILN_DTYPE_I8:
    return b.getI8Type();
  case KILN_DTYPE_U8:
    return b.getIntegerType(8, /*isSigned=*/false);
  case KILN_DTYPE_U16:
    return b.getIntegerType(16, /*isSigned=*/false);
  case KILN_DTYPE_U32:
    return b.getIntegerType(32, /*isSigned=*/false);
  case KILN_DTYPE_U64:
    return b.getIntegerType(64, /*isSigned=*/false);
  case KILN_DTYPE_BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

int32_t kiln::dtypeForElementType(Type type) {
#define KILN_DTYPE_MATCH(suffix, name, size, ctype)                            \
  if (type == elementTypeForDtype(type.getContext(), KILN_DTYPE_##suffix))     \
    return KILN_DTYPE_##suffix;
  KILN_DTYPE_TABLE(KILN_DTYPE_MATCH)
#undef KILN_DTYPE_MATCH
  return KILN_DTYPE_UNDEFINED;
}

size_t kiln::dtypeByteSize(int32_t dtype) { return kiln_abi_dtype_size(dtype); }

const char *kiln::dtypeCType(int32_t dtype) {
  switch (dtype) {
#define KILN_DTYPE_CTYPE(suffix, name, size, ctype)                            \
  case KILN_DTYPE_##suffix:                                                    \
    return #ctype;
    KILN_DTYPE_TABLE(KILN_DTYPE_CTYPE)
#undef KILN_DTYPE_CTYPE
  default:
    return "void";
  }
}
