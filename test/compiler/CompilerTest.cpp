//===- CompilerTest.cpp - The compile library without kilnc ---------------===//
//
// compileModel and Compilation as a product or a test harness uses them: no
// flags, diagnostics collected into the result, the options named by their
// CompileOptions fields.
//
//===----------------------------------------------------------------------===//
#include "compiler/Compiler.h"
#include "compiler/Registration.h"

#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <gtest/gtest.h>

using namespace mlir;
using namespace mlir::kiln;

namespace {

std::string model(llvm::StringRef name) {
  return std::string(KILN_SOURCE_DIR) + "/test/models/" + name.str();
}

/// A fresh directory for one test's outputs.
std::string tempDir() {
  llvm::SmallString<128> dir;
  EXPECT_FALSE(llvm::sys::fs::createUniqueDirectory("kiln-compiler-test", dir));
  return dir.str().str();
}

struct Recorder : CompileObserver {
  std::vector<std::string> steps;
  int diagnostics = 0;
  void stepStarted(llvm::StringRef what) override {
    steps.push_back(what.str());
  }
  void diagnostic(const CompileDiagnostic &) override { ++diagnostics; }
};

TEST(CompileModel, WritesLibraryAndHeader) {
  std::string dir = tempDir();
  CompileOptions options;
  options.inputPath = model("gpt2_tiny_prefill.onnx");
  options.outputPath = dir + "/libgpt2.so";
  Recorder recorder;
  CompileResult result = compileModel(options, &recorder);
  ASSERT_TRUE(result.succeeded());
  EXPECT_TRUE(result.diagnostics.empty());
  EXPECT_EQ(result.output, dir + "/libgpt2.so");
  EXPECT_EQ(result.header, dir + "/gpt2.h");
  EXPECT_TRUE(llvm::sys::fs::exists(result.output));
  // The tiny GPT-2's weights: 2 layers of hidden 64 plus embeddings.
  EXPECT_GT(result.weightBytes, 100000u);
  auto header = llvm::MemoryBuffer::getFile(result.header);
  ASSERT_TRUE(bool(header));
  EXPECT_NE((*header)->getBuffer().find("gpt2_model_descriptor(void)"),
            llvm::StringRef::npos);
  ASSERT_EQ(recorder.steps.size(), 5u);
  EXPECT_EQ(recorder.steps[0], "importing " + options.inputPath);
  EXPECT_EQ(recorder.steps[1], "raising");
  EXPECT_EQ(recorder.steps[2], "lowering to linalg");
  EXPECT_EQ(recorder.steps[3], "bufferizing and lowering to LLVM");
  EXPECT_EQ(recorder.steps[4],
            "generating machine code and linking " + options.outputPath);
  llvm::sys::fs::remove_directories(dir);
}

TEST(CompileModel, StopsAtTheKilnStage) {
  std::string dir = tempDir();
  CompileOptions options;
  options.inputPath = model("bert_tiny_encoder.onnx");
  options.outputPath = dir + "/bert.mlir";
  options.emit = EmitStage::Kiln;
  CompileResult result = compileModel(options);
  ASSERT_TRUE(result.succeeded());
  EXPECT_TRUE(result.header.empty());
  auto text = llvm::MemoryBuffer::getFile(options.outputPath);
  ASSERT_TRUE(bool(text));
  EXPECT_NE((*text)->getBuffer().find("kiln.matmul"), llvm::StringRef::npos);
  EXPECT_EQ((*text)->getBuffer().find("llvm.func"), llvm::StringRef::npos);
  llvm::sys::fs::remove_directories(dir);
}

TEST(CompileModel, NamesTheNodeOfAnUnsupportedOp) {
  CompileOptions options;
  options.inputPath = std::string(KILN_SOURCE_DIR) +
                      "/test/codegen/Inputs/unsupported-op.onnxtxt";
  options.emit = EmitStage::Kiln;
  Recorder recorder;
  CompileResult result = compileModel(options, &recorder);
  EXPECT_EQ(result.status, CompileStatus::Failed);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(recorder.diagnostics, 1);
  const CompileDiagnostic &d = result.diagnostics[0];
  EXPECT_EQ(d.severity, DiagnosticSeverity::Error);
  // No flag names: the library's default names the op table's printer.
  EXPECT_EQ(d.message,
            "node '/layers.0/det': unsupported op 'Det' (domain ai.onnx, "
            "opset 17); `kiln::onnx_import::printOpTable()` lists the "
            "supported ops");
}

TEST(CompileModel, RefusesOptionsInTheirFieldNames) {
  CompileOptions options;
  options.inputPath = model("gpt2_tiny_prefill.onnx");
  options.emit = EmitStage::Linalg;
  options.outputPath = "-";
  options.maxShapes["sequence"] = 8;
  CompileResult result = compileModel(options);
  EXPECT_EQ(result.status, CompileStatus::InvalidOptions);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message,
            "maxShapes names 'sequence', which is not a symbolic dimension "
            "of the model; its symbolic dimensions are: batch, seq");

  options.maxShapes.clear();
  options.targetOptions.precision = "tf32";
  result = compileModel(options);
  EXPECT_EQ(result.status, CompileStatus::InvalidOptions);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message,
            "precision=tf32 is not one of fp32, fp16, bf16 for the cpu "
            "target (tf32 is a tensor-core format)");

  options.targetOptions.precision = "";
  options.outputPath = "/nonexistent-kiln-dir/lib.so";
  result = compileModel(options);
  EXPECT_EQ(result.status, CompileStatus::InvalidOptions);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message,
            "cannot write '/nonexistent-kiln-dir/lib.so': there is no "
            "directory '/nonexistent-kiln-dir'");
}

TEST(CompileModel, CutsOutputsToTheLastPosition) {
  std::string dir = tempDir();
  CompileOptions options;
  options.inputPath = model("gpt2_tiny_prefill.onnx");
  options.outputPath = dir + "/gpt2.mlir";
  options.emit = EmitStage::Kiln;
  options.lastPositionOutputs = {"logits"};
  CompileResult result = compileModel(options);
  ASSERT_TRUE(result.succeeded());
  auto text = llvm::MemoryBuffer::getFile(options.outputPath);
  ASSERT_TRUE(bool(text));
  // The LM head multiplies the last position alone.
  EXPECT_NE(
      (*text)->getBuffer().find("tensor<?x1x64xf32>, tensor<64x1000xf32> -> "
                                "tensor<?x1x1000xf32>"),
      llvm::StringRef::npos);

  options.lastPositionOutputs = {"scores"};
  result = compileModel(options);
  EXPECT_EQ(result.status, CompileStatus::Failed);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_NE(result.diagnostics[0].message.find(
                "lastPositionOutputs: the model has no output 'scores' (its "
                "outputs: logits, present.0.key"),
            std::string::npos)
      << result.diagnostics[0].message;
  llvm::sys::fs::remove_directories(dir);
}

TEST(CompileModel, GivesTheKvCacheItsType) {
  std::string dir = tempDir();
  CompileOptions options;
  options.inputPath = model("gpt2_tiny_decode.onnx");
  options.outputPath = dir + "/gpt2.mlir";
  options.emit = EmitStage::Raised;
  options.kvCacheType = "bf16";
  CompileResult result = compileModel(options);
  ASSERT_TRUE(result.succeeded());
  auto text = llvm::MemoryBuffer::getFile(options.outputPath);
  ASSERT_TRUE(bool(text));
  // The pasts are bf16 inputs, widened where the f32 graph read them.
  EXPECT_NE((*text)->getBuffer().find("xbf16> -> tensor<"),
            llvm::StringRef::npos);

  options.kvCacheType = "f8e4m3fn";
  result = compileModel(options);
  ASSERT_TRUE(result.succeeded());
  text = llvm::MemoryBuffer::getFile(options.outputPath);
  ASSERT_TRUE(bool(text));
  EXPECT_NE((*text)->getBuffer().find("xf8E4M3FN> -> tensor<"),
            llvm::StringRef::npos);

  options.kvCacheType = "fp8";
  result = compileModel(options);
  EXPECT_EQ(result.status, CompileStatus::InvalidOptions);
  ASSERT_EQ(result.diagnostics.size(), 1u);
  EXPECT_EQ(result.diagnostics[0].message,
            "kvCacheType=fp8 is not one of f32, bf16, f8e4m3fn");
  llvm::sys::fs::remove_directories(dir);
}

/// The steps one at a time, on a model already in memory, as the fuzzer
/// runs them: the signature and the KV-cache pairs come out of the library.
TEST(Compilation, StepsOnAModelInMemory) {
  auto bytes = llvm::MemoryBuffer::getFile(model("gpt2_tiny_decode.onnx"));
  ASSERT_TRUE(bool(bytes));
  DialectRegistry registry;
  registerKilnDialects(registry);
  registerAllKilnPasses();
  MLIRContext ctx(registry);
  ctx.loadAllAvailableDialects();
  int errors = 0;
  ScopedDiagnosticHandler handler(&ctx, [&](Diagnostic &d) {
    errors += d.getSeverity() == DiagnosticSeverity::Error;
    return success();
  });

  CompileOptions options;
  options.inputPath = "in-memory/gpt2_decode.onnx";
  options.inputBytes = (*bytes)->getBuffer();
  options.modelName = "decode";
  Compilation compilation(ctx, options);
  ASSERT_TRUE(succeeded(compilation.importModel()));
  ASSERT_TRUE(succeeded(compilation.lowerToLinalg()));
  ASSERT_TRUE(succeeded(compilation.lowerToLLVMDialect()));
  EXPECT_EQ(errors, 0);
  const ModelSignature *sig = compilation.signature();
  ASSERT_NE(sig, nullptr);
  EXPECT_EQ(sig->name, "decode");
  // Two layers, a key and a value cache each.
  EXPECT_EQ(sig->kvPairs.size(), 4u);
  EXPECT_TRUE(bool(compilation.module().lookupSymbol("decode_main")));
}

} // namespace
