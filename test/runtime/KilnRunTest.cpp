//===- KilnRunTest.cpp - kiln-run end to end on the fake artifact ---------===//

#include "Npy.h"
#include "ProtoWriter.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sys/wait.h>

namespace {

namespace fs = std::filesystem;
using namespace kiln;

struct Result {
  int exitCode;
  std::string output; // stdout and stderr
};

Result kilnRunOn(const std::string &library, const std::string &args) {
  std::string command =
      std::string(KILN_RUN_PATH) + " " + library + " " + args + " 2>&1";
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe)
    return {-1, "popen failed"};
  std::string output;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
    output.append(buf, n);
  int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

Result kilnRun(const std::string &args) {
  return kilnRunOn(KILN_FAKE_MODEL_PATH, args);
}

class KilnRunTest : public ::testing::Test {
protected:
  void SetUp() override {
    char pattern[] = "/tmp/kiln-run-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir = pattern;
  }
  void TearDown() override { fs::remove_all(dir); }

  std::string path(const std::string &name) { return (dir / name).string(); }

  fs::path dir;
};

TEST_F(KilnRunTest, SavesAndChecksOutputs) {
  Result r = kilnRun("--shape batch=2 --shape seq=3 --random-seed 5 "
                     "--save-inputs " +
                     path("in") + " --outputs " + path("out"));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  HostTensor ids = readNpy(path("in/input_ids.npy"));
  EXPECT_EQ(ids.dims, (std::vector<int64_t>{2, 3}));
  HostTensor z = readNpy(path("out/z.npy"));
  EXPECT_EQ(z.dims, (std::vector<int64_t>{2, 4}));

  r = kilnRun("--inputs " + path("in") + " --expect " + path("out"));
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("y: max_abs_err=0 max_rel_err=0 mismatches=0/24"),
            std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("z: max_abs_err=0 max_rel_err=0 mismatches=0/8"),
            std::string::npos)
      << r.output;

  // Outputs of other random inputs must not match.
  r = kilnRun("--shape batch=2 --shape seq=3 --random-seed 6 --outputs " +
              path("other"));
  ASSERT_EQ(r.exitCode, 0) << r.output;
  r = kilnRun("--inputs " + path("in") + " --expect " + path("other"));
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("mismatches="), std::string::npos);

  // A shape difference is a mismatch too.
  r = kilnRun("--shape batch=1 --shape seq=3 --expect " + path("out"));
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("y: shape mismatch: got f32 [1, 3, 4], expected "
                          "f32 [2, 3, 4]"),
            std::string::npos)
      << r.output;
}

TEST_F(KilnRunTest, ConvertsInputFilesLosslessly) {
  fs::create_directories(dir / "in");
  HostTensor ids;
  ids.dtype = KILN_DTYPE_I32; // the model takes i64
  ids.dims = {1, 2};
  ids.data.resize(8, 0);
  writeNpy(path("in/input_input_ids.npy"), ids);
  HostTensor x;
  x.dtype = KILN_DTYPE_F64; // exactly representable values convert
  x.dims = {1, 2, 4};
  x.data.resize(64, 0);
  writeNpy(path("in/x.npy"), x);
  Result r = kilnRun("--inputs " + path("in"));
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("y: f32 [1, 2, 4]"), std::string::npos) << r.output;

  double third = 1.0 / 3;
  std::memcpy(x.data.data(), &third, 8);
  writeNpy(path("in/x.npy"), x);
  r = kilnRun("--inputs " + path("in"));
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("does not convert exactly to f32"), std::string::npos)
      << r.output;

  fs::remove(dir / "in/x.npy");
  r = kilnRun("--inputs " + path("in"));
  EXPECT_EQ(r.exitCode, 2) << r.output;
  EXPECT_NE(r.output.find("no file for input 'x'"), std::string::npos)
      << r.output;
}

TEST_F(KilnRunTest, PrintsOneBenchmarkLine) {
  Result r = kilnRun("--shape seq=16 --bench 5 --warmup 1 --threads 2");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  std::regex json(R"(^\{"median_ms":[0-9.]+, "p90_ms":[0-9.]+, )"
                  R"("min_ms":[0-9.]+, "iterations":5, "threads":2\}\n$)");
  EXPECT_TRUE(std::regex_match(r.output, json)) << r.output;
}

TEST_F(KilnRunTest, ReportsUsageAndRunErrors) {
  Result r = kilnRun("--shape nope=3");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find("--shape nope: the model has no symbol 'nope' "
                          "(symbols: batch, seq)"),
            std::string::npos)
      << r.output;

  r = kilnRun("--shape seq=2000");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find("run failed: KILN_ERROR_LIMIT_EXCEEDED: input "
                          "'input_ids' dim 1 (seq): got 2000, expected <= "
                          "1024"),
            std::string::npos)
      << r.output;

  r = kilnRun("--bench 0");
  EXPECT_EQ(r.exitCode, 2);
  r = kilnRun("--frobnicate 1");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find("unknown option '--frobnicate'"), std::string::npos);

  Result missing = {0, ""};
  std::string command =
      std::string(KILN_RUN_PATH) + " /nonexistent/lib.so 2>&1";
  missing.exitCode = WEXITSTATUS(system((command + " >/dev/null").c_str()));
  EXPECT_EQ(missing.exitCode, 2);

  r = kilnRun("--help");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.output.find("--onnx-test-dir DIR"), std::string::npos);
}

// Writes one ONNX backend data set for the fake model with seq = 2.
void writeDataSet(const fs::path &set, bool correct, bool named) {
  fs::create_directories(set);
  auto write = [&](const std::string &file, HostTensor t) {
    std::ofstream(set / file, std::ios::binary) << test::encodeTensorProto(t);
  };
  std::vector<int64_t> ids = {4, 9};
  std::vector<float> x = {0, 1, 2, 3, -1, -2, -3, -4};
  std::vector<float> y(8);
  for (int i = 0; i < 8; ++i)
    y[i] = 2 * x[i] + (float)ids[i / 4];
  std::vector<int64_t> z = {0, 5, correct ? 10 : 11};

  auto tensor = [](const char *name, int32_t dtype, std::vector<int64_t> dims,
                   const void *data, size_t bytes) {
    HostTensor t;
    t.name = name;
    t.dtype = dtype;
    t.dims = std::move(dims);
    t.data.assign((const uint8_t *)data, (const uint8_t *)data + bytes);
    return t;
  };
  // Named inputs in swapped file order must still reach the right input.
  if (named) {
    write("input_0.pb", tensor("x", KILN_DTYPE_F32, {1, 2, 4}, x.data(), 32));
    write("input_1.pb",
          tensor("input_ids", KILN_DTYPE_I64, {1, 2}, ids.data(), 16));
  } else {
    write("input_0.pb", tensor("", KILN_DTYPE_I64, {1, 2}, ids.data(), 16));
    write("input_1.pb", tensor("", KILN_DTYPE_F32, {1, 2, 4}, x.data(), 32));
  }
  write("output_0.pb", tensor("y", KILN_DTYPE_F32, {1, 2, 4}, y.data(), 32));
  write("output_1.pb", tensor("z", KILN_DTYPE_I64, {1, 3}, z.data(), 24));
}

TEST_F(KilnRunTest, RunsOnnxBackendTestCases) {
  std::ofstream(dir / "model.onnx") << "";
  writeDataSet(dir / "test_data_set_0", true, false);
  writeDataSet(dir / "test_data_set_1", true, true);
  Result r = kilnRun("--onnx-test-dir " + dir.string());
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("test_data_set_0: PASS"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("test_data_set_1: PASS"), std::string::npos)
      << r.output;

  // Integers compare exactly: 10 vs 11 fails.
  writeDataSet(dir / "test_data_set_2", false, false);
  r = kilnRun("--onnx-test-dir " + dir.string());
  EXPECT_EQ(r.exitCode, 1) << r.output;
  EXPECT_NE(r.output.find("test_data_set_2: FAIL"), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("z: max_abs_err=1 max_rel_err=0.0909 "
                          "mismatches=1/3"),
            std::string::npos)
      << r.output;

  r = kilnRun("--onnx-test-dir " + path("nowhere"));
  EXPECT_EQ(r.exitCode, 2) << r.output;
}

} // namespace

TEST(KilnRunVersionTest, WarnsAboutAnOlderRuntime) {
  const char *args = "--shape batch=1 --shape seq=2";
  Result current = kilnRunOn(KILN_FAKE_MODEL_PATH, args);
  ASSERT_EQ(current.exitCode, 0) << current.output;
  EXPECT_EQ(current.output.find("warning"), std::string::npos)
      << current.output;

  // The warning comes first, on stderr, and the run still succeeds.
  Result old = kilnRunOn(KILN_OLD_RUNTIME_MODEL_PATH, args);
  ASSERT_EQ(old.exitCode, 0) << old.output;
  std::string context = std::to_string(kiln_runtime_context_version);
  std::string expected =
      std::string("kiln-run: warning: '") + KILN_OLD_RUNTIME_MODEL_PATH +
      "' carries the runtime of Kiln 0.0.1, older than this program's (Kiln " +
      kiln_runtime_version +
      "); its kernels cannot use this program's thread pool (execution "
      "context version " +
      std::to_string(kiln_runtime_context_version - 1) + ", this program's " +
      context +
      ") and run single-threaded; recompile the model with this Kiln's "
      "kilnc\n";
  EXPECT_EQ(old.output.rfind(expected, 0), 0u) << old.output;
}

TEST(KilnRunVersionTest, RefusesAnotherModelAbi) {
  Result r = kilnRunOn(KILN_FUTURE_ABI_MODEL_PATH, "");
  EXPECT_EQ(r.exitCode, 2) << r.output;
  std::string abi = std::to_string(KILN_MODEL_ABI_VERSION);
  std::string next = std::to_string(KILN_MODEL_ABI_VERSION + 1);
  EXPECT_NE(r.output.find("kiln-run: invalid model descriptor: "
                          "KILN_ERROR_UNSUPPORTED: model ABI version " +
                          next + ", this runtime supports " + abi),
            std::string::npos)
      << r.output;
}
