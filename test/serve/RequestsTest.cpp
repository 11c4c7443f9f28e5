//===- RequestsTest.cpp - kiln-serve's request parsing and validation -----===//

#include "tools/kiln-serve/Requests.h"

#include <gtest/gtest.h>

#include <string>

using namespace kiln::serve;

namespace {

RequestLimits testLimits() {
  RequestLimits limits;
  limits.vocabSize = 50000;
  limits.maxLength = 256;
  limits.maxInputs = 4;
  limits.maxTokens = 1000;
  limits.maxStopIds = 3;
  return limits;
}

const Clock::time_point kNow = Clock::now();

Parsed<CompletionRequest>
completion(const std::string &body,
           const RequestLimits &limits = testLimits()) {
  return parseCompletionRequest(body, limits, kNow);
}

std::string completionError(const std::string &body,
                            const RequestLimits &limits = testLimits()) {
  auto parsed = completion(body, limits);
  EXPECT_TRUE(parsed.request.prompts.empty()) << body;
  return parsed.error;
}

std::string embeddingError(const std::string &body) {
  auto parsed = parseEmbeddingRequest(body, testLimits(), kNow);
  EXPECT_TRUE(parsed.request.inputs.empty()) << body;
  return parsed.error;
}

std::string tokens(int count) {
  std::string list = "[";
  for (int i = 0; i < count; ++i)
    list += (i ? "," : "") + std::to_string(i);
  return list + "]";
}

} // namespace

TEST(ServeRequestsTest, CompletionDefaults) {
  auto parsed = completion(R"({"prompt": [1, 2, 3]})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.request.prompts.size(), 1u);
  const CompletionParams &params = parsed.request.prompts[0];
  EXPECT_EQ(params.prompt, (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(params.maxTokens, 16);
  EXPECT_EQ(params.temperature, 1.0f);
  EXPECT_EQ(params.topK, 0);
  EXPECT_EQ(params.topP, 1.0f);
  EXPECT_FALSE(params.seed.has_value());
  EXPECT_TRUE(params.stop.empty());
  EXPECT_EQ(params.deadline, Clock::time_point::max());
  EXPECT_FALSE(parsed.request.stream);
}

TEST(ServeRequestsTest, CompletionEveryField) {
  auto parsed = completion(R"({"model": "gpt2", "prompt": [49999, 0],
      "max_tokens": 1000, "temperature": 0, "top_k": 40, "top_p": 0.5,
      "seed": 18446744073709551615, "stop": [7, 8], "stream": true,
      "timeout_ms": 1500, "n": 1, "logprobs": null, "user": "ignored"})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  const CompletionParams &params = parsed.request.prompts.at(0);
  EXPECT_EQ(params.prompt, (std::vector<int64_t>{49999, 0}));
  EXPECT_EQ(params.maxTokens, 1000);
  EXPECT_EQ(params.temperature, 0.0f);
  EXPECT_EQ(params.topK, 40);
  EXPECT_EQ(params.topP, 0.5f);
  EXPECT_EQ(params.seed, UINT64_MAX);
  EXPECT_EQ(params.stop, (std::vector<int64_t>{7, 8}));
  EXPECT_EQ(params.deadline, kNow + std::chrono::milliseconds(1500));
  EXPECT_TRUE(parsed.request.stream);
}

TEST(ServeRequestsTest, CompletionListOfPromptsSharesTheParameters) {
  auto parsed = completion(R"({"prompt": [[1], [2, 3], [4]], "max_tokens": 5,
                     "stop": 9})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.request.prompts.size(), 3u);
  EXPECT_EQ(parsed.request.prompts[0].prompt, (std::vector<int64_t>{1}));
  EXPECT_EQ(parsed.request.prompts[1].prompt, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(parsed.request.prompts[2].prompt, (std::vector<int64_t>{4}));
  for (const auto &params : parsed.request.prompts) {
    EXPECT_EQ(params.maxTokens, 5);
    EXPECT_EQ(params.stop, (std::vector<int64_t>{9}));
  }
}

TEST(ServeRequestsTest, NullMeansAbsent) {
  auto parsed = completion(R"({"prompt": [1], "max_tokens": null,
      "temperature": null, "seed": null, "stop": null, "stream": null})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_EQ(parsed.request.prompts[0].maxTokens, 16);
  EXPECT_FALSE(parsed.request.prompts[0].seed.has_value());
}

TEST(ServeRequestsTest, TopKAboveTheVocabularyIsNoCut) {
  auto parsed = completion(R"({"prompt": [1], "top_k": 50000})");
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  EXPECT_EQ(parsed.request.prompts[0].topK, 0);
}

TEST(ServeRequestsTest, ServerTimeoutIsDefaultAndBound) {
  RequestLimits limits = testLimits();
  limits.defaultTimeout = std::chrono::milliseconds(500);
  EXPECT_EQ(
      completion(R"({"prompt": [1]})", limits).request.prompts[0].deadline,
      kNow + std::chrono::milliseconds(500));
  EXPECT_EQ(completion(R"({"prompt": [1], "timeout_ms": 100})", limits)
                .request.prompts[0]
                .deadline,
            kNow + std::chrono::milliseconds(100));
  EXPECT_EQ(completion(R"({"prompt": [1], "timeout_ms": 9000})", limits)
                .request.prompts[0]
                .deadline,
            kNow + std::chrono::milliseconds(500));
}

TEST(ServeRequestsTest, LongestPromptLeavesOnePosition) {
  EXPECT_TRUE(completion("{\"prompt\": " + tokens(255) + "}").ok());
  EXPECT_EQ(completionError("{\"prompt\": " + tokens(256) + "}"),
            "prompt: 256 tokens do not fit the KV cache of 256 positions (a "
            "prompt may hold 255 tokens, leaving one for the completion)");
  EXPECT_EQ(completionError("{\"prompt\": [[1], " + tokens(300) + "]}"),
            "prompt[1]: 300 tokens do not fit the KV cache of 256 positions "
            "(a prompt may hold 255 tokens, leaving one for the completion)");
}

TEST(ServeRequestsTest, UncheckedVocabulary) {
  RequestLimits limits = testLimits();
  limits.vocabSize = 0;
  EXPECT_TRUE(completion(R"({"prompt": [1000000000]})", limits).ok());
  EXPECT_EQ(completionError(R"({"prompt": [-1]})", limits),
            "prompt[0]: token id -1 is negative");
  EXPECT_EQ(completionError(R"({"prompt": [9223372036854775808]})", limits),
            "prompt[0]: token id 9223372036854775808 is too large");
}

// Every message names the field and says what is wrong with its value.
TEST(ServeRequestsTest, CompletionErrors) {
  const std::pair<const char *, const char *> cases[] = {
      {"[1, 2]", "request body: expected a JSON object, got an array"},
      {"{}", "prompt: required (an array of token ids, or a list of them)"},
      {R"({"prompt": "Hello"})",
       "prompt: text needs a tokenizer, which kiln-serve does not have; send "
       "token ids (an array of integers, or a list of them)"},
      {R"({"prompt": ["Hello"]})",
       "prompt: text needs a tokenizer, which kiln-serve does not have; send "
       "token ids (an array of integers, or a list of them)"},
      {R"({"prompt": 5})",
       "prompt: expected an array of token ids or a list of them, got 5"},
      {R"({"prompt": []})", "prompt: must not be empty"},
      {R"({"prompt": [[1], []]})", "prompt[1]: must not be empty"},
      {R"({"prompt": [[1], 2]})",
       "prompt[1]: expected an array of token ids, got 2"},
      {R"({"prompt": [1, [2]]})",
       "prompt[1]: expected a token id (an integer), got an array"},
      {R"({"prompt": [1, "a"]})",
       "prompt[1]: expected a token id (an integer), got \"a\""},
      {R"({"prompt": [1.5]})",
       "prompt[0]: expected a token id (an integer), got 1.5"},
      {R"({"prompt": [true]})",
       "prompt[0]: expected a token id (an integer), got true"},
      {R"({"prompt": [[1], [2, 3, 70000]]})",
       "prompt[1][2]: token id 70000 is outside the vocabulary (0..49999)"},
      {R"({"prompt": [50000]})",
       "prompt[0]: token id 50000 is outside the vocabulary (0..49999)"},
      {R"({"prompt": [-1]})",
       "prompt[0]: token id -1 is outside the vocabulary (0..49999)"},
      {R"({"prompt": [18446744073709551615]})",
       "prompt[0]: token id 18446744073709551615 is outside the vocabulary "
       "(0..49999)"},
      {R"({"prompt": [[1], [2], [3], [4], [5]]})",
       "prompt: 5 sequences; at most 4 per request"},
      {R"({"prompt": [1], "max_tokens": "ten"})",
       "max_tokens: expected a positive integer, got \"ten\""},
      {R"({"prompt": [1], "max_tokens": 0})",
       "max_tokens: expected a positive integer, got 0"},
      {R"({"prompt": [1], "max_tokens": -4})",
       "max_tokens: expected a positive integer, got -4"},
      {R"({"prompt": [1], "max_tokens": 10.0})",
       "max_tokens: expected a positive integer, got 10.0"},
      {R"({"prompt": [1], "max_tokens": 1001})",
       "max_tokens: 1001 is above this server's limit of 1000"},
      {R"({"prompt": [1], "temperature": 2.5})",
       "temperature: expected a number from 0 to 2, got 2.5"},
      {R"({"prompt": [1], "temperature": -0.1})",
       "temperature: expected a number from 0 to 2, got -0.1"},
      {R"({"prompt": [1], "temperature": "hot"})",
       "temperature: expected a number, got \"hot\""},
      {R"({"prompt": [1], "top_k": -1})",
       "top_k: expected a non-negative integer, got -1"},
      {R"({"prompt": [1], "top_k": 0.5})",
       "top_k: expected a non-negative integer, got 0.5"},
      {R"({"prompt": [1], "top_p": 0})",
       "top_p: expected a number above 0 and at most 1, got 0"},
      {R"({"prompt": [1], "top_p": 1.5})",
       "top_p: expected a number above 0 and at most 1, got 1.5"},
      {R"({"prompt": [1], "seed": -3})",
       "seed: expected a non-negative integer below 2^64, got -3"},
      {R"({"prompt": [1], "seed": 18446744073709551616})",
       "seed: expected a non-negative integer below 2^64, got "
       "1.8446744073709552e+19"},
      {R"({"prompt": [1], "stop": "\n"})",
       "stop: stop strings need a tokenizer, which kiln-serve does not have; "
       "send token ids"},
      {R"({"prompt": [1], "stop": {"id": 1}})",
       "stop: expected a token id or an array of them, got an object"},
      {R"({"prompt": [1], "stop": [1, 2, 3, 4]})", "stop: 4 ids; at most 3"},
      {R"({"prompt": [1], "stop": [1, 90000]})",
       "stop[1]: token id 90000 is outside the vocabulary (0..49999)"},
      {R"({"prompt": [1], "stop": 90000})",
       "stop: token id 90000 is outside the vocabulary (0..49999)"},
      {R"({"prompt": [1], "stream": "yes"})",
       "stream: expected true or false, got \"yes\""},
      {R"({"prompt": [1], "model": 5})", "model: expected a string, got 5"},
      {R"({"prompt": [1], "n": 2})",
       "n: only 1 completion per prompt is supported, got 2"},
      {R"({"prompt": [1], "timeout_ms": 0})",
       "timeout_ms: expected a positive integer, got 0"},
      {R"({"prompt": [1], "timeout_ms": 86400001})",
       "timeout_ms: 86400001 is above the longest timeout (one day) of "
       "86400000"},
  };
  for (const auto &[body, message] : cases)
    EXPECT_EQ(completionError(body), message) << body;
}

TEST(ServeRequestsTest, MalformedJsonSaysWhere) {
  EXPECT_EQ(completionError(""), "request body: empty; expected a JSON object");
  EXPECT_EQ(completionError(" \r\n"),
            "request body: empty; expected a JSON object");
  std::string error = completionError(R"({"prompt": [1, 2,]})");
  EXPECT_EQ(error.rfind("request body: not valid JSON: parse error at line "
                        "1, column 18: syntax error",
                        0),
            0u)
      << error;
}

TEST(ServeRequestsTest, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = "{\"prompt\": " + std::string(100000, '[');
  EXPECT_EQ(completionError(deep),
            "request body: nested deeper than 32 levels");
  // Brackets inside strings do not count.
  EXPECT_TRUE(completion("{\"user\": \"" + std::string(100, '[') +
                         "\\\"\", \"prompt\": [1]}")
                  .ok());
}

TEST(ServeRequestsTest, LongStringsAreCutInMessages) {
  EXPECT_EQ(completionError("{\"prompt\": [1], \"model\": [], \"stream\": \"" +
                            std::string(100, 'x') + "\"}"),
            "model: expected a string, got an array");
  EXPECT_EQ(completionError("{\"prompt\": [1], \"stream\": \"" +
                            std::string(100, 'x') + "\"}"),
            "stream: expected true or false, got \"" + std::string(40, 'x') +
                "\"...");
}

TEST(ServeRequestsTest, EmbeddingDefaultsAndFields) {
  auto parsed =
      parseEmbeddingRequest(R"({"input": [5, 6]})", testLimits(), kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.request.inputs.size(), 1u);
  EXPECT_EQ(parsed.request.inputs[0].tokens, (std::vector<int64_t>{5, 6}));
  EXPECT_EQ(parsed.request.inputs[0].pooling, Pooling::Mean);
  EXPECT_FALSE(parsed.request.inputs[0].normalize);
  EXPECT_EQ(parsed.request.inputs[0].deadline, Clock::time_point::max());

  parsed = parseEmbeddingRequest(
      R"({"input": [[1], [2, 3]], "pooling": "cls", "normalize": true,
          "model": "bert", "encoding_format": "float", "timeout_ms": 20})",
      testLimits(), kNow);
  ASSERT_TRUE(parsed.ok()) << parsed.error;
  ASSERT_EQ(parsed.request.inputs.size(), 2u);
  EXPECT_EQ(parsed.request.inputs[1].tokens, (std::vector<int64_t>{2, 3}));
  for (const auto &input : parsed.request.inputs) {
    EXPECT_EQ(input.pooling, Pooling::Cls);
    EXPECT_TRUE(input.normalize);
    EXPECT_EQ(input.deadline, kNow + std::chrono::milliseconds(20));
  }
}

TEST(ServeRequestsTest, EmbeddingErrors) {
  const std::pair<std::string, std::string> cases[] = {
      {"{}", "input: required (an array of token ids, or a list of them)"},
      {R"({"input": "text"})",
       "input: text needs a tokenizer, which kiln-serve does not have; send "
       "token ids (an array of integers, or a list of them)"},
      {R"({"input": [[1], [50000]]})",
       "input[1][0]: token id 50000 is outside the vocabulary (0..49999)"},
      {"{\"input\": " + tokens(257) + "}",
       "input: 257 tokens are longer than this model's 256 positions"},
      {R"({"input": [1], "pooling": "max"})",
       "pooling: expected \"mean\" or \"cls\", got \"max\""},
      {R"({"input": [1], "normalize": 1})",
       "normalize: expected true or false, got 1"},
      {R"({"input": [1], "encoding_format": "base64"})",
       "encoding_format: only \"float\" is supported, got \"base64\""},
      {R"({"input": [1], "model": false})",
       "model: expected a string, got false"},
  };
  for (const auto &[body, message] : cases)
    EXPECT_EQ(embeddingError(body), message) << body;
  EXPECT_TRUE(parseEmbeddingRequest("{\"input\": " + tokens(256) + "}",
                                    testLimits(), kNow)
                  .ok());
}

TEST(ServeRequestsTest, InvalidUtf8NeverThrows) {
  // The parser refuses it; the message must still be printable.
  std::string body = "{\"prompt\": [1], \"model\": \"\xff\xfe\"}";
  std::string error = completionError(body);
  EXPECT_EQ(error.rfind("request body: not valid JSON: ", 0), 0u) << error;
}
