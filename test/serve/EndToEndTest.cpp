//===- EndToEndTest.cpp - kiln-serve over HTTP with real models -----------===//
//
// Nothing fake: the HTTP server in-process over real engines on the compiled
// test models, driven by concurrent clients, against ONNX Runtime's
// greedy_refs.json (make_greedy_refs.py); and the kiln-serve binary itself,
// its command line and its drain on SIGTERM.
//
//===----------------------------------------------------------------------===//

#include "test/serve/GreedyRefs.h"
#include "tools/kiln-serve/HttpServer.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <csignal>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

extern char **environ;

using namespace kiln::serve;
using json = nlohmann::json;
using kiln::serve::test::Case;
using kiln::serve::test::cases;
using kiln::serve::test::refs;

namespace {

// The value of the first sample of `series` in a Prometheus text.
int64_t metric(const std::string &text, const std::string &series) {
  size_t at = text.find(series + " ");
  if (at == std::string::npos)
    return -1;
  return std::stoll(text.substr(at + series.size() + 1));
}

// The events of a Server-Sent Events body: the JSON ones, and whether the
// body ended with `data: [DONE]`. Fails the test on a malformed body.
struct Events {
  std::vector<json> events;
  bool done = false;
};

Events parseEvents(const std::string &body) {
  Events out;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find("\n\n", at);
    if (end == std::string::npos) {
      ADD_FAILURE() << "unterminated event in " << body;
      break;
    }
    std::string event = body.substr(at, end - at);
    at = end + 2;
    if (event.rfind("data: ", 0) != 0) {
      ADD_FAILURE() << "not a data event: " << event;
      continue;
    }
    if (event == "data: [DONE]") {
      EXPECT_EQ(at, body.size()) << "events after [DONE]";
      out.done = true;
      continue;
    }
    EXPECT_FALSE(out.done) << "an event after [DONE]: " << event;
    out.events.push_back(json::parse(event.substr(6)));
  }
  return out;
}

struct Served {
  const char *name, *model, *decode, *mode;
  int64_t vocab;
};

void PrintTo(const Served &served, std::ostream *os) { *os << served.name; }

//===----------------------------------------------------------------------===//
// Completions
//===----------------------------------------------------------------------===//

class CompletionEndToEndTest : public ::testing::TestWithParam<Served> {
protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void serve(int64_t maxBatch, int64_t capacity = 64) {
    DecoderOptions o;
    o.model = GetParam().model;
    o.decodeModel = GetParam().decode;
    o.threads = 2;
    o.maxBatch = maxBatch;
    o.kvCapacity = capacity;
    engine = DecoderEngine::create(o, metrics);
    ASSERT_STREQ(engine->batchingMode(), GetParam().mode);
    ASSERT_EQ(engine->vocabSize(), GetParam().vocab);
    HttpOptions h;
    h.host = "127.0.0.1";
    h.port = 0;
    h.threads = 16;
    h.pollInterval = std::chrono::milliseconds(5);
    server = std::make_unique<HttpServer>(engine.get(), nullptr, metrics, h);
    port = server->start();
    ASSERT_GT(port, 0);
  }

  void TearDown() override {
    if (server) {
      server->drain(std::chrono::seconds(5));
      server->wait();
    }
  }

  httplib::Result post(const std::string &body,
                       const std::string &path = "/v1/completions") {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(300));
    return client.Post(path.c_str(), body, "application/json");
  }

  static json greedy(const std::vector<int64_t> &prompt, int64_t maxTokens) {
    return {{"prompt", prompt}, {"max_tokens", maxTokens}, {"temperature", 0}};
  }

  // Posts `body` and returns the JSON answer, expecting 200.
  json completion(const json &body) {
    auto result = post(body.dump());
    if (!result) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(result.error());
      return {};
    }
    EXPECT_EQ(result->status, 200) << result->body;
    return json::parse(result->body);
  }

  // Asserts that a good request still gets the reference tokens.
  void stillAnswers() {
    Case c = cases(GetParam().name)[1];
    json body = completion(greedy(c.prompt, 4));
    EXPECT_EQ(
        body["choices"][0]["token_ids"],
        json(std::vector<int64_t>(c.tokens.begin(), c.tokens.begin() + 4)));
  }

  Metrics metrics;
  std::unique_ptr<DecoderEngine> engine;
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

// 8 clients at once against 4 slots: half wait in the queue and join the
// running sequences as slots free (each asks a different number of tokens,
// so they free at different steps). Every round must give the reference
// tokens. That some step decoded several sequences depends on the clients'
// requests overlapping, which a loaded machine can delay past a tiny
// model's whole answer: up to three rounds, one of which must batch.
TEST_P(CompletionEndToEndTest, ConcurrentGreedyCompletionsMatchOnnxRuntime) {
  serve(/*maxBatch=*/4);
  std::vector<Case> all = cases(GetParam().name);
  ASSERT_EQ(all.size(), 8u);
  const bool continuous = std::string(GetParam().mode) == "continuous";
  std::string text;
  for (int round = 0; round < 3; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    std::vector<json> answers(all.size());
    std::vector<std::thread> clients;
    for (size_t i = 0; i < all.size(); ++i)
      clients.emplace_back([&, i] {
        int64_t maxTokens = 5 + (int64_t)(i * 3) % 8; // 5..12
        answers[i] = completion(greedy(all[i].prompt, maxTokens));
      });
    for (std::thread &client : clients)
      client.join();
    for (size_t i = 0; i < all.size(); ++i) {
      SCOPED_TRACE("prompt " + std::to_string(i));
      int64_t maxTokens = 5 + (int64_t)(i * 3) % 8;
      const json &choice = answers[i]["choices"][0];
      EXPECT_EQ(choice["index"], 0);
      EXPECT_EQ(choice["finish_reason"], "length");
      EXPECT_EQ(choice["token_ids"],
                json(std::vector<int64_t>(all[i].tokens.begin(),
                                          all[i].tokens.begin() + maxTokens)));
      EXPECT_EQ(answers[i]["usage"],
                json({{"prompt_tokens", all[i].prompt.size()},
                      {"completion_tokens", maxTokens},
                      {"total_tokens", all[i].prompt.size() + maxTokens}}));
    }
    EXPECT_EQ(engine->inFlight(), 0);
    if (HasFailure())
      return;
    text = metrics.render();
    if (!continuous || metric(text, "kiln_batch_size_bucket{le=\"1\"}") <
                           metric(text, "kiln_batch_size_count"))
      return;
  }
  ADD_FAILURE() << "in three rounds, no step decoded more than one sequence\n"
                << text;
}

TEST_P(CompletionEndToEndTest, SeveralPromptsAnswerOneChoiceEach) {
  serve(/*maxBatch=*/4);
  std::vector<Case> all = cases(GetParam().name);
  json prompts = json::array();
  int64_t promptTokens = 0;
  for (const Case &c : all) {
    prompts.push_back(c.prompt);
    promptTokens += c.prompt.size();
  }
  json request = greedy({}, 12);
  request["prompt"] = prompts;
  json body = completion(request);
  ASSERT_EQ(body["choices"].size(), all.size()) << body;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(body["choices"][i]["index"], i);
    EXPECT_EQ(body["choices"][i]["token_ids"], json(all[i].tokens))
        << "prompt " << i;
    EXPECT_EQ(body["choices"][i]["finish_reason"], "length");
  }
  EXPECT_EQ(body["usage"]["prompt_tokens"], promptTokens);
  EXPECT_EQ(body["usage"]["completion_tokens"], 12 * all.size());
  EXPECT_EQ(body["usage"]["total_tokens"], promptTokens + 12 * all.size());
}

// Every prompt streamed at once (with 4 slots): one event per token with the
// reference's token, a last event with the finish reason, then [DONE].
TEST_P(CompletionEndToEndTest, StreamingGivesTheSameTokensOneEventEach) {
  serve(/*maxBatch=*/4);
  std::vector<Case> all = cases(GetParam().name);
  std::vector<std::optional<httplib::Response>> results(all.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < all.size(); ++i)
    clients.emplace_back([&, i] {
      json body = greedy(all[i].prompt, 12);
      body["stream"] = true;
      if (auto result = post(body.dump()))
        results[i] = *result;
    });
  for (std::thread &client : clients)
    client.join();
  for (size_t i = 0; i < all.size(); ++i) {
    SCOPED_TRACE("prompt " + std::to_string(i));
    ASSERT_TRUE(results[i]);
    ASSERT_EQ(results[i]->status, 200) << results[i]->body;
    EXPECT_EQ(results[i]->get_header_value("Content-Type"),
              "text/event-stream");
    Events e = parseEvents(results[i]->body);
    EXPECT_TRUE(e.done) << results[i]->body;
    ASSERT_EQ(e.events.size(), all[i].tokens.size() + 1) << results[i]->body;
    for (size_t t = 0; t < all[i].tokens.size(); ++t) {
      const json &choice = e.events[t]["choices"][0];
      EXPECT_EQ(choice["index"], 0);
      EXPECT_EQ(choice["token_ids"], json({all[i].tokens[t]})) << "token " << t;
      EXPECT_TRUE(choice["finish_reason"].is_null());
      EXPECT_EQ(e.events[t]["id"], e.events[0]["id"]);
    }
    const json &last = e.events.back()["choices"][0];
    EXPECT_EQ(last["token_ids"], json::array());
    EXPECT_EQ(last["finish_reason"], "length");
  }

  // Several prompts in one stream: events indexed by prompt.
  json body = greedy({}, 6);
  body["prompt"] = {all[2].prompt, all[5].prompt};
  body["stream"] = true;
  auto result = post(body.dump());
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  Events e = parseEvents(result->body);
  EXPECT_TRUE(e.done);
  std::map<int, std::vector<int64_t>> tokens;
  std::map<int, std::string> reasons;
  for (const json &event : e.events) {
    const json &choice = event["choices"][0];
    int index = choice["index"];
    auto ids = choice["token_ids"].get<std::vector<int64_t>>();
    EXPECT_LE(ids.size(), 1u);
    tokens[index].insert(tokens[index].end(), ids.begin(), ids.end());
    if (!choice["finish_reason"].is_null()) {
      EXPECT_TRUE(ids.empty());
      reasons[index] = choice["finish_reason"];
    }
  }
  EXPECT_EQ(e.events.size(), 2u * 6 + 2);
  EXPECT_EQ(tokens[0], std::vector<int64_t>(all[2].tokens.begin(),
                                            all[2].tokens.begin() + 6));
  EXPECT_EQ(tokens[1], std::vector<int64_t>(all[5].tokens.begin(),
                                            all[5].tokens.begin() + 6));
  EXPECT_EQ(reasons,
            (std::map<int, std::string>{{0, "length"}, {1, "length"}}));
}

TEST_P(CompletionEndToEndTest, SeedsRepeatAndStopIdsStop) {
  serve(/*maxBatch=*/4);
  Case c = cases(GetParam().name)[2];
  auto sampled = [&](uint64_t seed) {
    json body = {{"prompt", c.prompt},
                 {"max_tokens", 10},
                 {"temperature", 0.8},
                 {"seed", seed}};
    return completion(body)["choices"][0]["token_ids"];
  };
  // Two at once too: the same seed gives the same tokens in a shared batch.
  json first;
  std::thread other([&] { first = sampled(1234); });
  json second = sampled(1234);
  other.join();
  EXPECT_EQ(first, second);
  EXPECT_EQ(sampled(1234), first);
  EXPECT_EQ(first.size(), 10u);
  bool differs = false;
  for (uint64_t seed = 1; seed < 6 && !differs; ++seed)
    differs = sampled(seed) != first;
  EXPECT_TRUE(differs) << "six seeds gave the same 10 tokens";

  // In the first case whose tokens are not all the same, the first token
  // that differs from the first one, as a stop id: the sequence ends before
  // it, finishing with "stop".
  size_t at = 0;
  for (const Case &other : cases(GetParam().name)) {
    c = other;
    for (at = 1; at < c.tokens.size() && c.tokens[at] == c.tokens[0]; ++at) {
    }
    if (at < c.tokens.size())
      break;
  }
  ASSERT_LT(at, c.tokens.size()) << "every case repeats one token";
  int64_t stopId = c.tokens[at];
  // A list of stop ids: the first generated one ends it.
  std::vector<int64_t> stop = {stopId, GetParam().vocab - 1};
  size_t firstStop = std::find_first_of(c.tokens.begin(), c.tokens.end(),
                                        stop.begin(), stop.end()) -
                     c.tokens.begin();
  json body = greedy(c.prompt, 12);
  body["stop"] = stop;
  json answer = completion(body);
  EXPECT_EQ(answer["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(answer["choices"][0]["token_ids"],
            json(std::vector<int64_t>(c.tokens.begin(),
                                      c.tokens.begin() + firstStop)));
  EXPECT_EQ(answer["usage"]["completion_tokens"], firstStop);

  body["stream"] = true;
  auto result = post(body.dump());
  ASSERT_TRUE(result);
  Events e = parseEvents(result->body);
  ASSERT_EQ(e.events.size(), firstStop + 1) << result->body;
  EXPECT_EQ(e.events.back()["choices"][0]["finish_reason"], "stop");
  EXPECT_TRUE(e.done);
}

TEST_P(CompletionEndToEndTest, BadRequestsGet400AndTheServerGoesOn) {
  serve(/*maxBatch=*/4, /*capacity=*/16);
  auto expect400 = [&](const std::string &body, const std::string &needle) {
    SCOPED_TRACE(body);
    auto result = post(body);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << result->body;
    json answer = json::parse(result->body);
    EXPECT_EQ(answer["error"]["code"], 400);
    std::string message = answer["error"]["message"];
    EXPECT_NE(message.find(needle), std::string::npos) << message;
    stillAnswers();
  };
  std::string vocab = std::to_string(GetParam().vocab);
  expect400(R"({"prompt": [1, )" + vocab + R"(, 2], "max_tokens": 2})",
            "token id " + vocab + " is outside the vocabulary");
  expect400(R"({"prompt": [[3], [)" + vocab + "]]}",
            "token id " + vocab + " is outside the vocabulary");
  // The cache holds 16 positions: a prompt may hold 15.
  expect400(json(greedy(std::vector<int64_t>(16, 3), 1)).dump(),
            "KV cache of 16 positions");
  expect400(R"({"prompt": [1, 2, )", "not valid JSON");
  expect400(R"({"prompt": [1], "max_tokens": 2,})", "not valid JSON");
  expect400(R"([1, 2])", "expected a JSON object");
  expect400(R"({"prompt": [1], "temperature": "hot"})", "temperature");

  // A prompt of 15 fills the cache but for one token: that one is answered,
  // and the sequence stops there ("length").
  json answer = completion(greedy(std::vector<int64_t>(15, 3), 8));
  EXPECT_EQ(answer["choices"][0]["finish_reason"], "length");
  // 16 - 15 + 1: the prefill's token, then one decode step into the last
  // position.
  EXPECT_EQ(answer["choices"][0]["token_ids"].size(), 2u);
  EXPECT_EQ(engine->inFlight(), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Models, CompletionEndToEndTest,
    ::testing::Values(Served{"gpt2_tiny", KILN_SERVE_GPT2_PREFILL,
                             KILN_SERVE_GPT2_DECODE, "per-sequence", 1000},
                      Served{"gpt2_optimum", KILN_SERVE_GPT2_OPTIMUM, "",
                             "continuous", 256},
                      Served{"llama_optimum", KILN_SERVE_LLAMA_OPTIMUM, "",
                             "continuous", 256}),
    [](const auto &info) { return std::string(info.param.name); });

//===----------------------------------------------------------------------===//
// Embeddings
//===----------------------------------------------------------------------===//

class EmbeddingEndToEndTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  void SetUp() override {
    EncoderOptions o;
    o.model = KILN_SERVE_BERT;
    o.threads = 2;
    o.maxBatch = 8;
    o.maxDelay = std::chrono::milliseconds(20);
    engine = EncoderEngine::create(o, metrics);
    HttpOptions h;
    h.host = "127.0.0.1";
    h.port = 0;
    h.threads = 16;
    h.pollInterval = std::chrono::milliseconds(5);
    server = std::make_unique<HttpServer>(nullptr, engine.get(), metrics, h);
    port = server->start();
    ASSERT_GT(port, 0);
  }

  void TearDown() override {
    server->drain(std::chrono::seconds(5));
    server->wait();
  }

  // The embeddings of a request, expecting 200.
  std::vector<std::vector<float>> embed(const json &body) {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(300));
    auto result =
        client.Post("/v1/embeddings", body.dump(), "application/json");
    if (!result) {
      ADD_FAILURE() << "no answer: " << httplib::to_string(result.error());
      return {};
    }
    EXPECT_EQ(result->status, 200) << result->body;
    json answer = json::parse(result->body);
    std::vector<std::vector<float>> out;
    for (size_t i = 0; i < answer["data"].size(); ++i) {
      EXPECT_EQ(answer["data"][i]["index"], i);
      EXPECT_EQ(answer["data"][i]["object"], "embedding");
      out.push_back(answer["data"][i]["embedding"].get<std::vector<float>>());
    }
    return out;
  }

  static void expectNear(const std::vector<float> &got,
                         const std::vector<float> &want, double tolerance,
                         const std::string &what) {
    ASSERT_EQ(got.size(), want.size()) << what;
    for (size_t h = 0; h < want.size(); ++h)
      ASSERT_NEAR(got[h], want[h], tolerance) << what << ", dim " << h;
  }

  Metrics metrics;
  std::unique_ptr<EncoderEngine> engine;
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

TEST_F(EmbeddingEndToEndTest, ConcurrentInputsEqualAloneAndOnnxRuntime) {
  const json &bert = refs()["bert_tiny"];
  // The reference inputs (lengths 1 to 16) and three more.
  std::vector<std::vector<int64_t>> inputs;
  for (const json &c : bert["cases"])
    inputs.push_back(c["input"].get<std::vector<int64_t>>());
  inputs.push_back({7, 8});
  inputs.push_back({11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22});
  inputs.push_back(std::vector<int64_t>(30, 42));
  ASSERT_EQ(inputs.size(), 8u);

  for (const char *pooling : {"mean", "cls"}) {
    SCOPED_TRACE(pooling);
    std::vector<std::vector<float>> alone, together(inputs.size());
    for (const auto &input : inputs)
      alone.push_back(embed({{"input", input}, {"pooling", pooling}}).at(0));
    int64_t callsBefore = metric(metrics.render(), "kiln_batch_size_count");
    std::vector<std::thread> clients;
    for (size_t i = 0; i < inputs.size(); ++i)
      clients.emplace_back([&, i] {
        auto got = embed({{"input", inputs[i]}, {"pooling", pooling}});
        if (got.size() == 1)
          together[i] = got[0];
      });
    for (std::thread &client : clients)
      client.join();
    for (size_t i = 0; i < inputs.size(); ++i)
      expectNear(together[i], alone[i], 1e-5,
                 "input " + std::to_string(i) + " in a batch vs alone");
    for (size_t i = 0; i < bert["cases"].size(); ++i)
      expectNear(together[i],
                 bert["cases"][i][pooling].get<std::vector<float>>(), 1e-4,
                 "input " + std::to_string(i) + " vs ONNX Runtime");
    EXPECT_LT(metric(metrics.render(), "kiln_batch_size_count") - callsBefore,
              (int64_t)inputs.size())
        << "8 clients at once never shared a call";
  }

  // All eight in one request: the same rows, in order.
  auto batch = embed({{"input", inputs}});
  ASSERT_EQ(batch.size(), inputs.size());
  for (size_t i = 0; i < bert["cases"].size(); ++i)
    expectNear(batch[i], bert["cases"][i]["mean"].get<std::vector<float>>(),
               1e-4, "row " + std::to_string(i) + " of one request");
}

TEST_F(EmbeddingEndToEndTest, NormalizeGivesUnitNormAndClsTheFirstRow) {
  const json &c = refs()["bert_tiny"]["cases"][2];
  auto input = c["input"].get<std::vector<int64_t>>();
  for (const char *pooling : {"mean", "cls"}) {
    std::vector<float> plain =
        embed({{"input", input}, {"pooling", pooling}}).at(0);
    std::vector<float> unit =
        embed({{"input", input}, {"pooling", pooling}, {"normalize", true}})
            .at(0);
    double norm = 0, plainNorm = 0;
    for (size_t h = 0; h < unit.size(); ++h) {
      norm += (double)unit[h] * unit[h];
      plainNorm += (double)plain[h] * plain[h];
    }
    EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5) << pooling;
    std::vector<float> scaled(plain);
    for (float &x : scaled)
      x = (float)(x / std::sqrt(plainNorm));
    expectNear(unit, scaled, 1e-5, std::string("normalized ") + pooling);
    expectNear(plain, c[pooling].get<std::vector<float>>(), 1e-4, pooling);
  }
  // Mean and CLS pooling differ on an input of more than one token.
  EXPECT_NE(embed({{"input", input}, {"pooling", "cls"}}),
            embed({{"input", input}, {"pooling", "mean"}}));

  httplib::Client client("127.0.0.1", port);
  auto bad =
      client.Post("/v1/embeddings", R"({"input": [1, 2], "pooling": "max"})",
                  "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  bad = client.Post("/v1/embeddings", R"({"input": [1, 2)", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_EQ(embed({{"input", input}}).at(0),
            embed({{"input", input}, {"pooling", "mean"}}).at(0));
}

//===----------------------------------------------------------------------===//
// The kiln-serve process
//===----------------------------------------------------------------------===//

// A child process with its stdout and stderr on pipes.
struct Child {
  pid_t pid = -1;
  int out = -1, err = -1;
  std::string stdoutText, stderrText;

  explicit Child(std::vector<std::string> args) {
    args.insert(args.begin(), KILN_SERVE_BINARY);
    int outPipe[2], errPipe[2];
    EXPECT_EQ(pipe2(outPipe, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(errPipe, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2);
    std::vector<char *> argv;
    for (std::string &arg : args)
      argv.push_back(arg.data());
    argv.push_back(nullptr);
    EXPECT_EQ(
        posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(outPipe[1]);
    close(errPipe[1]);
    out = outPipe[0];
    err = errPipe[0];
  }

  ~Child() {
    if (pid > 0) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    close(out);
    close(err);
  }

  // Reads stdout until a line matches `pattern` (true) or it closes or
  // `timeout` passes (false). The match is left in `match`.
  bool readLine(const std::regex &pattern, std::smatch &match,
                std::chrono::seconds timeout) {
    auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      size_t start = 0, end;
      while ((end = stdoutText.find('\n', start)) != std::string::npos) {
        std::string line = stdoutText.substr(start, end - start);
        start = end + 1;
        if (std::regex_search(line, match, pattern)) {
          lastLine = line; // keeps the match's iterators valid
          std::regex_search(lastLine, match, pattern);
          return true;
        }
      }
      pollfd p{out, POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char buffer[4096];
        ssize_t n = read(out, buffer, sizeof(buffer));
        if (n <= 0)
          return false;
        stdoutText.append(buffer, n);
      }
    }
    return false;
  }

  // Waits for the exit (up to `timeout`); returns the exit status, or -1
  // (killed by a signal or still running, then killed). Collects stderr.
  int wait(std::chrono::seconds timeout) {
    auto until = Clock::now() + timeout;
    int status = 0;
    for (;;) {
      drain(err, stderrText);
      drain(out, stdoutText);
      pid_t done = waitpid(pid, &status, WNOHANG);
      if (done == pid)
        break;
      if (Clock::now() > until) {
        ADD_FAILURE() << "kiln-serve did not exit in time";
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        pid = -1;
        return -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    pid = -1;
    drain(err, stderrText);
    drain(out, stdoutText);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  static void drain(int fd, std::string &text) {
    pollfd p{fd, POLLIN, 0};
    char buffer[4096];
    while (poll(&p, 1, 0) > 0) {
      ssize_t n = read(fd, buffer, sizeof(buffer));
      if (n <= 0)
        break;
      text.append(buffer, n);
    }
  }

  std::string lastLine;
};

TEST(KilnServeProcessTest, HelpNamesEveryFlagAndBadCommandLinesFail) {
  // Every flag KilnServe.cpp parses.
  std::ifstream source(KILN_SERVE_SOURCE);
  std::stringstream text;
  text << source.rdbuf();
  std::string code = text.str();
  std::set<std::string> flags;
  std::regex flag(R"(\{"(--[a-z-]+)\")");
  for (auto it = std::sregex_iterator(code.begin(), code.end(), flag);
       it != std::sregex_iterator(); ++it)
    flags.insert((*it)[1]);
  EXPECT_GE(flags.size(), 15u) << "the flag table moved?";

  Child help({"--help"});
  EXPECT_EQ(help.wait(std::chrono::seconds(60)), 0) << help.stderrText;
  EXPECT_NE(help.stdoutText.find("usage: kiln-serve"), std::string::npos);
  for (const std::string &name : flags)
    EXPECT_NE(help.stdoutText.find("  " + name + " "), std::string::npos)
        << name << " is not in --help:\n"
        << help.stdoutText;

  Child bad({KILN_SERVE_GPT2_OPTIMUM, "--no-such-flag"});
  EXPECT_EQ(bad.wait(std::chrono::seconds(60)), 2);
  EXPECT_NE(bad.stderrText.find("unknown argument '--no-such-flag'"),
            std::string::npos)
      << bad.stderrText;

  Child badValue({KILN_SERVE_GPT2_OPTIMUM, "--max-batch", "0"});
  EXPECT_EQ(badValue.wait(std::chrono::seconds(60)), 2);
  EXPECT_NE(badValue.stderrText.find("--max-batch"), std::string::npos)
      << badValue.stderrText;

  Child noModel({"--port", "0"});
  EXPECT_EQ(noModel.wait(std::chrono::seconds(60)), 2);

  Child missing({"/nonexistent/libmodel.so", "--port", "0"});
  EXPECT_EQ(missing.wait(std::chrono::seconds(60)), 1);
  EXPECT_NE(missing.stderrText.find("cannot serve /nonexistent/libmodel.so"),
            std::string::npos)
      << missing.stderrText;
}

// Connects to 127.0.0.1:`port` and sends `request`; -1 when refused.
int connectAndSend(int port, const std::string &request) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address))) {
    close(fd);
    return -1;
  }
  EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
            (ssize_t)request.size());
  return fd;
}

std::string postRequest(const std::string &body) {
  return "POST /v1/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
         "application/json\r\nConnection: close\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

// Occurrences of `needle` in `text`.
size_t count(const std::string &text, const std::string &needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos;
       at = text.find(needle, at + 1))
    ++n;
  return n;
}

TEST(KilnServeProcessTest, SigtermFinishesTheStreamRefusesNewWorkAndExits0) {
  signal(SIGPIPE, SIG_IGN);
  Child server({KILN_SERVE_GPT2_OPTIMUM, "--port", "0", "--host", "127.0.0.1",
                "--threads", "1", "--max-batch", "1", "--kv-capacity", "128"});
  std::smatch match;
  ASSERT_TRUE(
      server.readLine(std::regex(R"(listening on http://([0-9.]+):([0-9]+))"),
                      match, std::chrono::seconds(120)))
      << server.stdoutText;
  EXPECT_EQ(match[1], "127.0.0.1");
  int port = std::stoi(match[2]);

  // Three streams of 40 tokens, one slot: the last two wait in the queue,
  // so the drain has work for a while.
  Case c = cases("gpt2_optimum")[0];
  json body = {{"prompt", c.prompt},
               {"max_tokens", 40},
               {"temperature", 0},
               {"stream", true}};
  std::vector<int> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(connectAndSend(port, postRequest(body.dump())));
    ASSERT_GE(streams.back(), 0);
  }
  // Wait for the first event of the first stream, and for the other two to
  // be accepted (in the queue: on a loaded machine the HTTP threads may not
  // have read them yet), then SIGTERM.
  std::string first;
  char buffer[65536];
  while (first.find("\"token_ids\":[") == std::string::npos) {
    ssize_t n = recv(streams[0], buffer, sizeof(buffer), 0);
    ASSERT_GT(n, 0) << first;
    first.append(buffer, n);
  }
  // Accepted: waiting, decoding, or done (40 tokens each).
  auto accepted = [](const std::string &metrics) {
    auto value = [&](const std::string &name) {
      size_t at = metrics.find("\n" + name + " ");
      return at == std::string::npos
                 ? 0
                 : std::stoll(metrics.substr(at + name.size() + 2));
    };
    return value("kiln_queue_depth") + value("kiln_active_sequences") +
           value("kiln_generated_tokens_total") / 40;
  };
  std::string metrics;
  for (int attempt = 0; attempt < 6000; ++attempt) {
    int fd = connectAndSend(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n"
                                  "Connection: close\r\n\r\n");
    ASSERT_GE(fd, 0);
    metrics.clear();
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0)
      metrics.append(buffer, n);
    close(fd);
    if (accepted(metrics) >= 3)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_GE(accepted(metrics), 3) << metrics;
  ASSERT_EQ(kill(server.pid, SIGTERM), 0);

  // Until the listener closes, a new request is refused with 503. /health
  // turns 503 when the drain has begun.
  bool saw503 = false;
  for (int attempt = 0; attempt < 2000; ++attempt) {
    int fd = connectAndSend(port, "GET /health HTTP/1.1\r\nHost: x\r\n"
                                  "Connection: close\r\n\r\n");
    if (fd < 0)
      break; // stopped
    std::string answer;
    ssize_t n;
    while ((n = recv(fd, buffer, sizeof(buffer), 0)) > 0)
      answer.append(buffer, n);
    close(fd);
    // 503, or nothing: the listener closed while it was accepted.
    if (answer.rfind("HTTP/1.1 503", 0) == 0 || answer.empty())
      break;
    ASSERT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  int late = connectAndSend(port, postRequest(body.dump()));
  if (late >= 0) {
    std::string answer;
    ssize_t n;
    while ((n = recv(late, buffer, sizeof(buffer), 0)) > 0)
      answer.append(buffer, n);
    close(late);
    // An empty answer: the listener closed while it was accepted.
    if (!answer.empty()) {
      EXPECT_EQ(answer.rfind("HTTP/1.1 503", 0), 0u) << answer;
      EXPECT_NE(answer.find("shutting down"), std::string::npos) << answer;
      saw503 = true;
    }
  }

  // Every stream accepted before the signal runs to its end.
  std::vector<int64_t> want(c.tokens.begin(), c.tokens.end());
  for (size_t s = 0; s < streams.size(); ++s) {
    std::string text = s == 0 ? first : "";
    ssize_t n;
    while ((n = recv(streams[s], buffer, sizeof(buffer), 0)) > 0)
      text.append(buffer, n);
    close(streams[s]);
    SCOPED_TRACE("stream " + std::to_string(s));
    EXPECT_EQ(text.rfind("HTTP/1.1 200", 0), 0u) << text;
    EXPECT_NE(text.find("data: [DONE]\n\n"), std::string::npos) << text;
    EXPECT_EQ(count(text, "\"token_ids\":["), 41u) << text;
    EXPECT_NE(text.find("\"finish_reason\":\"length\""), std::string::npos);
    EXPECT_EQ(text.find("\"error\""), std::string::npos) << text;
    // The first tokens are ONNX Runtime's, in order.
    size_t at = 0;
    for (int64_t token : want) {
      at = text.find("\"token_ids\":[" + std::to_string(token) + "]", at);
      ASSERT_NE(at, std::string::npos) << "token " << token << "\n" << text;
      ++at;
    }
  }
  EXPECT_EQ(server.wait(std::chrono::seconds(120)), 0) << server.stderrText;
  EXPECT_NE(server.stderrText.find("draining"), std::string::npos)
      << server.stderrText;
  EXPECT_LT(connectAndSend(port, "GET /health HTTP/1.1\r\n\r\n"), 0)
      << "still listening after the exit";
  if (!saw503)
    GTEST_LOG_(INFO) << "the drain ended before a late request reached it";
}

} // namespace
