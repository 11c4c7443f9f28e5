//===- TensorIoTest.cpp - npy, TensorProto, conversions and comparison ----===//

#include "Compare.h"
#include "Npy.h"
#include "ProtoWriter.h"
#include "TensorConvert.h"
#include "TensorProto.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>

namespace {

using namespace kiln;

template <typename T>
HostTensor makeTensor(int32_t dtype, std::vector<int64_t> dims,
                      std::vector<T> values) {
  HostTensor t;
  t.dtype = dtype;
  t.dims = std::move(dims);
  t.data.resize(values.size() * sizeof(T));
  std::memcpy(t.data.data(), values.data(), t.data.size());
  return t;
}

template <typename T> T element(const HostTensor &t, size_t i) {
  T v;
  std::memcpy(&v, t.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

std::string errorOf(const std::function<void()> &f) {
  try {
    f();
  } catch (const ToolError &e) {
    return e.what();
  }
  return "(no error)";
}

//===----------------------------------------------------------------------===//
// npy
//===----------------------------------------------------------------------===//

TEST(Npy, RoundTripsEveryDtype) {
  const int32_t dtypes[] = {KILN_DTYPE_F32, KILN_DTYPE_F64, KILN_DTYPE_F16,
                            KILN_DTYPE_I8,  KILN_DTYPE_I16, KILN_DTYPE_I32,
                            KILN_DTYPE_I64, KILN_DTYPE_U8,  KILN_DTYPE_U16,
                            KILN_DTYPE_U32, KILN_DTYPE_U64, KILN_DTYPE_BOOL};
  const std::vector<std::vector<int64_t>> shapes = {{}, {3}, {2, 3}, {2, 0, 4}};
  std::mt19937_64 rng(3);
  for (int32_t dtype : dtypes)
    for (const auto &dims : shapes) {
      HostTensor t;
      t.dtype = dtype;
      t.dims = dims;
      fillRandom(t, rng);
      std::string bytes = serializeNpy(t);
      EXPECT_EQ((bytes.find('\n') + 1) % 64, 0u)
          << "data must start 64-byte aligned";
      HostTensor back = parseNpy(bytes, "mem");
      EXPECT_EQ(back.dtype, dtype);
      EXPECT_EQ(back.dims, dims);
      EXPECT_EQ(back.data, t.data) << kiln_dtype_name(dtype);
    }
}

TEST(Npy, WritesTheHeaderNumpyWrites) {
  HostTensor t = makeTensor<int64_t>(KILN_DTYPE_I64, {3}, {1, 2, 3});
  std::string bytes = serializeNpy(t);
  std::string header =
      "{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }";
  EXPECT_EQ(bytes.substr(10, header.size()), header);
  EXPECT_EQ(bytes.size(), 128u + 24);
}

TEST(Npy, WritesBf16AsFloat32) {
  HostTensor t = makeTensor<uint16_t>(KILN_DTYPE_BF16, {2},
                                      {floatToBf16(1.5f), floatToBf16(-2)});
  HostTensor back = parseNpy(serializeNpy(t), "mem");
  EXPECT_EQ(back.dtype, KILN_DTYPE_F32);
  EXPECT_EQ(element<float>(back, 0), 1.5f);
  EXPECT_EQ(element<float>(back, 1), -2.0f);
}

TEST(Npy, RejectsWhatItCannotRead) {
  HostTensor t = makeTensor<float>(KILN_DTYPE_F32, {2, 2}, {1, 2, 3, 4});
  std::string good = serializeNpy(t);

  std::string fortran = good;
  fortran.replace(fortran.find("False"), 5, "True ");
  EXPECT_EQ(errorOf([&] { parseNpy(fortran, "f.npy"); }),
            "f.npy: Fortran-order arrays are not supported; save with "
            "np.ascontiguousarray");

  std::string bigEndian = good;
  bigEndian.replace(bigEndian.find("<f4"), 3, ">f4");
  EXPECT_EQ(errorOf([&] { parseNpy(bigEndian, "b.npy"); }),
            "b.npy: big-endian dtype '>f4' is not supported; save with "
            ".astype('<f4')");

  std::string complex = good;
  complex.replace(complex.find("<f4"), 3, "<c8");
  EXPECT_EQ(errorOf([&] { parseNpy(complex, "c.npy"); }),
            "c.npy: unsupported npy dtype '<c8'");

  EXPECT_EQ(
      errorOf([&] { parseNpy(good.substr(0, good.size() - 1), "t.npy"); }),
      "t.npy: truncated: shape [2, 2] needs 16 data bytes, file has 15");
  EXPECT_EQ(errorOf([&] { parseNpy("PK\x03\x04 zip", "z.npy"); }),
            "z.npy: not a .npy file (bad magic)");
  EXPECT_EQ(errorOf([] { readNpy("/nonexistent/x.npy"); }),
            "cannot open '/nonexistent/x.npy'");
}

TEST(Npy, ReadsTheFixtureReferences) {
  std::string path = std::string(KILN_SOURCE_DIR) +
                     "/test/models/ref/bert_tiny_encoder/"
                     "output_last_hidden_state.npy";
  if (!std::filesystem::exists(path))
    GTEST_SKIP() << path << " not present";
  HostTensor t = readNpy(path);
  EXPECT_EQ(t.dtype, KILN_DTYPE_F32);
  EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 16, 64}));
  EXPECT_EQ(t.data.size(), 2u * 16 * 64 * 4);
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

TEST(Convert, WidensLosslessly) {
  HostTensor ids = makeTensor<int32_t>(KILN_DTYPE_I32, {3}, {-5, 0, 70000});
  HostTensor wide = convertTensor(ids, KILN_DTYPE_I64, "ids");
  EXPECT_EQ(element<int64_t>(wide, 0), -5);
  EXPECT_EQ(element<int64_t>(wide, 2), 70000);

  HostTensor halves = makeTensor<uint16_t>(
      KILN_DTYPE_F16, {2}, {floatToHalf(0.333f), floatToHalf(-65504)});
  HostTensor floats = convertTensor(halves, KILN_DTYPE_F32, "h");
  EXPECT_EQ(element<float>(floats, 0), halfToFloat(floatToHalf(0.333f)));
  EXPECT_EQ(element<float>(floats, 1), -65504.0f);
}

TEST(Convert, NarrowsOnlyWhenEveryValueFits) {
  HostTensor small = makeTensor<int64_t>(KILN_DTYPE_I64, {2}, {1, 2});
  EXPECT_EQ(element<int32_t>(convertTensor(small, KILN_DTYPE_I32, "x"), 1), 2);

  HostTensor big = makeTensor<int64_t>(KILN_DTYPE_I64, {2}, {1, 1ll << 40});
  EXPECT_EQ(errorOf([&] { convertTensor(big, KILN_DTYPE_I32, "input 'ids'"); }),
            "input 'ids': i64 element 1 (1099511627776) does not convert "
            "exactly to i32; save the file as i32");

  HostTensor doubles = makeTensor<double>(KILN_DTYPE_F64, {2}, {0.5, 0.1});
  EXPECT_EQ(errorOf([&] { convertTensor(doubles, KILN_DTYPE_F32, "x"); }),
            "x: f64 element 1 (0.10000000000000001) does not convert exactly "
            "to f32; save the file as f32");
  HostTensor negative = makeTensor<int32_t>(KILN_DTYPE_I32, {1}, {-1});
  EXPECT_NE(errorOf([&] { convertTensor(negative, KILN_DTYPE_U8, "x"); }),
            "(no error)");
}

TEST(Convert, HalfConversionsRoundToNearestEven) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3c00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xc000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7bff);
  EXPECT_EQ(floatToHalf(65520.0f), 0x7c00);           // rounds up to infinity
  EXPECT_EQ(floatToHalf(5.9604645e-8f), 0x0001);      // smallest subnormal
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3c00); // tie to even
  EXPECT_TRUE(std::isnan(halfToFloat(floatToHalf(NAN))));
  for (uint32_t h = 0; h < 0x7c00; ++h)
    ASSERT_EQ(floatToHalf(halfToFloat((uint16_t)h)), h);
  EXPECT_EQ(floatToBf16(1.0f), 0x3f80);
  EXPECT_EQ(bf16ToFloat(0xc000), -2.0f);
}

//===----------------------------------------------------------------------===//
// TensorProto
//===----------------------------------------------------------------------===//

using test::putBytes;
using test::putTag;
using test::putVarint;

TEST(TensorProto, DecodesTypedAndRawData) {
  std::string msg;
  putTag(msg, 1, 0); // dims unpacked
  putVarint(msg, 2);
  putTag(msg, 1, 0);
  putVarint(msg, 2);
  putTag(msg, 2, 0);
  putVarint(msg, KILN_DTYPE_F32);
  std::string packed;
  for (float f : {1.0f, -2.0f, 3.5f, 0.0f})
    packed.append(reinterpret_cast<const char *>(&f), 4);
  putBytes(msg, 4, packed);
  putBytes(msg, 8, "x");
  putBytes(msg, 12, "a doc string to skip");
  HostTensor t = parseTensorProto(msg, "m");
  EXPECT_EQ(t.name, "x");
  EXPECT_EQ(t.dims, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(element<float>(t, 2), 3.5f);

  std::string ints; // int64 packed dims and int64_data, negative values
  std::string dims, values;
  putVarint(dims, 3);
  putBytes(ints, 1, dims);
  putTag(ints, 2, 0);
  putVarint(ints, KILN_DTYPE_I64);
  for (int64_t v : {-1ll, 0ll, 1ll << 40})
    putVarint(values, (uint64_t)v);
  putBytes(ints, 7, values);
  t = parseTensorProto(ints, "m");
  EXPECT_EQ(element<int64_t>(t, 0), -1);
  EXPECT_EQ(element<int64_t>(t, 2), 1ll << 40);

  std::string boolRaw; // raw_data for bool
  putTag(boolRaw, 2, 0);
  putVarint(boolRaw, KILN_DTYPE_BOOL);
  putTag(boolRaw, 1, 0);
  putVarint(boolRaw, 3);
  putBytes(boolRaw, 9, std::string("\x01\x00\x01", 3));
  t = parseTensorProto(boolRaw, "m");
  EXPECT_EQ(t.data, (std::vector<uint8_t>{1, 0, 1}));

  std::string int8s; // int32_data carries int8
  putTag(int8s, 2, 0);
  putVarint(int8s, KILN_DTYPE_I8);
  putTag(int8s, 5, 0);
  putVarint(int8s, (uint64_t)(int64_t)-3);
  t = parseTensorProto(int8s, "m");
  EXPECT_EQ(t.dims.size(), 0u);
  EXPECT_EQ(element<int8_t>(t, 0), -3);
}

TEST(TensorProto, RejectsMalformedAndUnsupported) {
  std::string msg;
  putTag(msg, 2, 0);
  putVarint(msg, KILN_DTYPE_F32);
  putTag(msg, 1, 0);
  putVarint(msg, 3);
  putBytes(msg, 9, std::string(8, '\0'));
  EXPECT_EQ(errorOf([&] { parseTensorProto(msg, "in.pb"); }),
            "in.pb: TensorProto f32 [3] needs 12 data bytes, has 8");
  EXPECT_EQ(errorOf([&] {
              parseTensorProto(msg.substr(0, msg.size() - 3), "in.pb");
            }),
            "in.pb: malformed TensorProto: length-delimited field runs past "
            "the end");
  std::string strings;
  putTag(strings, 2, 0);
  putVarint(strings, 8);
  putBytes(strings, 6, "abc");
  EXPECT_EQ(errorOf([&] { parseTensorProto(strings, "s.pb"); }),
            "s.pb: string tensors are not supported");
  std::string external;
  putTag(external, 14, 0);
  putVarint(external, 1);
  EXPECT_EQ(errorOf([&] { parseTensorProto(external, "e.pb"); }),
            "e.pb: tensors with external data are not supported");
}

TEST(TensorProto, ReadsOnnxBackendTestData) {
  std::string dir = "/usr/share/libonnx-testdata/data/node/test_add/"
                    "test_data_set_0/";
  if (!std::filesystem::exists(dir))
    GTEST_SKIP() << "libonnx-testdata not installed";
  HostTensor a = readTensorProto(dir + "input_0.pb");
  HostTensor sum = readTensorProto(dir + "output_0.pb");
  HostTensor b = readTensorProto(dir + "input_1.pb");
  EXPECT_EQ(a.dtype, KILN_DTYPE_F32);
  EXPECT_EQ(a.dims, (std::vector<int64_t>{3, 4, 5}));
  EXPECT_EQ(a.name, "x");
  for (int64_t i = 0; i < a.numElements(); ++i)
    ASSERT_FLOAT_EQ(element<float>(sum, i),
                    element<float>(a, i) + element<float>(b, i));
}

//===----------------------------------------------------------------------===//
// Comparison
//===----------------------------------------------------------------------===//

TEST(Compare, FollowsNumpyAllclose) {
  HostTensor want = makeTensor<float>(KILN_DTYPE_F32, {4}, {1, 100, NAN, 0});
  HostTensor got =
      makeTensor<float>(KILN_DTYPE_F32, {4}, {1.0003f, 100.009f, NAN, 0});
  Tolerance tol; // atol 1e-4, rtol 1e-4
  CompareResult r = compareTensors(got, want, tol, false);
  EXPECT_EQ(r.mismatches, 1); // 1.0003 is off by more than 1e-4 + 1e-4 * 1
  EXPECT_EQ(r.firstMismatch, 0);
  EXPECT_EQ(r.total, 4);
  EXPECT_NEAR(r.maxAbsError, 0.009, 1e-5);
  EXPECT_NEAR(r.maxRelError, 0.0003, 1e-6);
  std::string line = formatComparison("y", got, want, r);
  EXPECT_EQ(line.rfind("y: max_abs_err=0.009", 0), 0u) << line;
  EXPECT_NE(line.find(" mismatches=1/4 (first at flat index 0: got 1.00030005"),
            std::string::npos)
      << line;

  HostTensor doubles =
      makeTensor<double>(KILN_DTYPE_F64, {4}, {1, 100, NAN, 0});
  EXPECT_TRUE(compareTensors(doubles, want, tol, false).ok());
  EXPECT_FALSE(compareTensors(doubles, want, tol, true).ok());

  HostTensor shorter = makeTensor<float>(KILN_DTYPE_F32, {3}, {1, 100, 0});
  r = compareTensors(shorter, want, tol, false);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(formatComparison("y", shorter, want, r),
            "y: shape mismatch: got f32 [3], expected f32 [4]");

  Tolerance exact;
  exact.exact = true;
  HostTensor a = makeTensor<int64_t>(KILN_DTYPE_I64, {2}, {1, 2});
  HostTensor b = makeTensor<int64_t>(KILN_DTYPE_I64, {2}, {1, 3});
  EXPECT_EQ(compareTensors(a, b, exact, true).mismatches, 1);
}

} // namespace
