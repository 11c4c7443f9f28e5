//===- HttpServerTest.cpp - kiln-serve's HTTP layer over fake engines -----===//
//
// A server on an ephemeral loopback port, driven by httplib's client (and by
// a raw socket where a test must cut the connection itself).
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-serve/HttpServer.h"
#include "test/serve/FakeEngines.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <future>

using namespace kiln::serve;
using namespace kiln::serve::testing;
using json = nlohmann::json;

namespace {

class ServeHttpTest : public ::testing::Test {
protected:
  static void SetUpTestSuite() { signal(SIGPIPE, SIG_IGN); }

  // Starts a server over the fakes (either may be left out).
  void serve(HttpOptions options = {}, bool withDecoder = true,
             bool withEncoder = true) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 8;
    options.pollInterval = std::chrono::milliseconds(5);
    server = std::make_unique<HttpServer>(withDecoder ? &decoder : nullptr,
                                          withEncoder ? &encoder : nullptr,
                                          metrics, options);
    port = server->start();
    ASSERT_GT(port, 0);
  }

  httplib::Client client() {
    httplib::Client client("127.0.0.1", port);
    client.set_read_timeout(std::chrono::seconds(10));
    return client;
  }

  httplib::Result post(const std::string &path, const std::string &body,
                       const httplib::Headers &headers = {}) {
    return client().Post(path.c_str(), headers, body, "application/json");
  }

  // The error message of a JSON error answer, checking its shape.
  static std::string errorMessage(const httplib::Result &result) {
    json body = json::parse(result->body);
    EXPECT_EQ(body["error"]["code"], result->status);
    return body["error"]["message"];
  }

  // Sends `request` on a fresh connection; returns the socket.
  int connectAndSend(const std::string &request) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(
        connect(fd, reinterpret_cast<sockaddr *>(&address), sizeof(address)),
        0);
    EXPECT_EQ(send(fd, request.data(), request.size(), 0),
              static_cast<ssize_t>(request.size()));
    return fd;
  }

  static std::string postRequest(const std::string &path,
                                 const std::string &body) {
    return "POST " + path +
           " HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
           "application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  // Reads from `fd` until `text` has arrived (or the peer closes).
  static std::string readUntil(int fd, const std::string &text) {
    std::string received;
    char buffer[4096];
    while (received.find(text) == std::string::npos) {
      ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
      if (n <= 0)
        break;
      received.append(buffer, n);
    }
    return received;
  }

  template <typename Predicate>
  static bool eventually(
      Predicate predicate,
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    auto until = Clock::now() + timeout;
    while (!predicate()) {
      if (Clock::now() > until)
        return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return true;
  }

  Metrics metrics;
  FakeDecoder decoder;
  FakeEncoder encoder;
  std::unique_ptr<HttpServer> server;
  int port = 0;
};

TEST_F(ServeHttpTest, CompletionAnswersOpenAiJson) {
  serve();
  auto result = post("/v1/completions",
                     R"({"prompt": [[5, 6, 7], [20]], "max_tokens": 3,
                         "stop": 22})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "application/json");
  json body = json::parse(result->body);
  EXPECT_EQ(body["object"], "text_completion");
  EXPECT_EQ(body["model"], "fake-decoder");
  EXPECT_EQ(body["id"].get<std::string>().rfind("cmpl-", 0), 0u);
  EXPECT_GT(body["created"].get<int64_t>(), 1700000000);
  ASSERT_EQ(body["choices"].size(), 2u);
  EXPECT_EQ(body["choices"][0]["index"], 0);
  EXPECT_EQ(body["choices"][0]["token_ids"], json({8, 9, 10}));
  EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(body["choices"][0]["text"].is_null());
  EXPECT_EQ(body["choices"][1]["index"], 1);
  EXPECT_EQ(body["choices"][1]["token_ids"], json({21}));
  EXPECT_EQ(body["choices"][1]["finish_reason"], "stop");
  EXPECT_EQ(body["usage"], json({{"prompt_tokens", 4},
                                 {"completion_tokens", 4},
                                 {"total_tokens", 8}}));
}

TEST_F(ServeHttpTest, StreamSendsOneEventPerTokenThenDone) {
  serve();
  auto result = post("/v1/completions",
                     R"({"prompt": [1], "max_tokens": 3, "stream": true})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  EXPECT_EQ(result->get_header_value("Content-Type"), "text/event-stream");
  std::vector<json> events;
  size_t at = 0;
  std::string done;
  while (at < result->body.size()) {
    size_t end = result->body.find("\n\n", at);
    ASSERT_NE(end, std::string::npos) << result->body;
    std::string event = result->body.substr(at, end - at);
    ASSERT_EQ(event.rfind("data: ", 0), 0u) << event;
    if (event == "data: [DONE]")
      done = event;
    else
      events.push_back(json::parse(event.substr(6)));
    at = end + 2;
  }
  EXPECT_EQ(done, "data: [DONE]");
  EXPECT_TRUE(result->body.size() >= 14 &&
              result->body.substr(result->body.size() - 14) ==
                  "data: [DONE]\n\n");
  ASSERT_EQ(events.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(events[i]["object"], "text_completion");
    EXPECT_EQ(events[i]["choices"][0]["index"], 0);
    EXPECT_EQ(events[i]["choices"][0]["token_ids"], json({2 + i}));
    EXPECT_TRUE(events[i]["choices"][0]["finish_reason"].is_null());
  }
  EXPECT_EQ(events[3]["choices"][0]["token_ids"], json::array());
  EXPECT_EQ(events[3]["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(events[0]["id"], events[3]["id"]);
}

TEST_F(ServeHttpTest, StreamOfSeveralPromptsIndexesTheirEvents) {
  serve();
  auto result = post("/v1/completions", R"({"prompt": [[1], [100]],
      "max_tokens": 2, "stream": true})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  std::map<int, std::vector<int64_t>> tokens;
  std::map<int, std::string> reasons;
  size_t at = 0;
  while ((at = result->body.find("data: {", at)) != std::string::npos) {
    size_t end = result->body.find("\n\n", at);
    json event = json::parse(result->body.substr(at + 6, end - at - 6));
    const json &choice = event["choices"][0];
    for (int64_t token : choice["token_ids"])
      tokens[choice["index"]].push_back(token);
    if (!choice["finish_reason"].is_null())
      reasons[choice["index"]] = choice["finish_reason"];
    at = end;
  }
  EXPECT_EQ(tokens[0], (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(tokens[1], (std::vector<int64_t>{101, 102}));
  EXPECT_EQ(reasons[0], "length");
  EXPECT_EQ(reasons[1], "length");
}

TEST_F(ServeHttpTest, EmbeddingsAnswerOpenAiJson) {
  serve();
  auto result = post("/v1/embeddings", R"({"input": [[3, 4, 5], [7]],
      "pooling": "cls", "normalize": true})");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200) << result->body;
  json body = json::parse(result->body);
  EXPECT_EQ(body["object"], "list");
  EXPECT_EQ(body["model"], "fake-encoder");
  ASSERT_EQ(body["data"].size(), 2u);
  EXPECT_EQ(body["data"][0]["object"], "embedding");
  EXPECT_EQ(body["data"][0]["index"], 0);
  EXPECT_EQ(body["data"][0]["embedding"], json({3.0, 3.0, 1.0, 0.5}));
  EXPECT_EQ(body["data"][1]["index"], 1);
  EXPECT_EQ(body["data"][1]["embedding"], json({1.0, 7.0, 1.0, 0.5}));
  EXPECT_EQ(body["usage"], json({{"prompt_tokens", 4}, {"total_tokens", 4}}));
}

TEST_F(ServeHttpTest, EndpointOfTheOtherKindOfModelIs404) {
  serve({}, /*withDecoder=*/false, /*withEncoder=*/true);
  auto result = post("/v1/completions", R"({"prompt": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(errorMessage(result),
            "this server serves an encoder model: use POST /v1/embeddings");
  server.reset();
  serve({}, /*withDecoder=*/true, /*withEncoder=*/false);
  result = post("/v1/embeddings", R"({"input": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 404);
  EXPECT_EQ(errorMessage(result),
            "this server serves a decoder model: use POST /v1/completions");
}

TEST_F(ServeHttpTest, BadRequestsAre400WithTheReason) {
  serve();
  const std::pair<const char *, const char *> cases[] = {
      {"{\"prompt\": [1,", "request body: not valid JSON: parse error at "
                           "line 1, column 15: syntax error while parsing "
                           "value - unexpected end of input; expected '[', "
                           "'{', or a literal"},
      {R"({"prompt": [1], "max_tokens": "ten"})",
       "max_tokens: expected a positive integer, got \"ten\""},
      {R"({"prompt": [1, 5000]})",
       "prompt[1]: token id 5000 is outside the vocabulary (0..999)"},
      {R"({"prompt": [[1], [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,
           20,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40,41,
           42,43,44,45,46,47,48,49,50,51,52,53,54,55,56,57,58,59,60,61,62,
           63,64]]})",
       "prompt[1]: 64 tokens do not fit the KV cache of 64 positions (a "
       "prompt may hold 63 tokens, leaving one for the completion)"},
  };
  for (const auto &[body, message] : cases) {
    auto result = post("/v1/completions", body);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 400) << body;
    EXPECT_EQ(errorMessage(result), message);
    EXPECT_EQ(json::parse(result->body)["error"]["type"],
              "invalid_request_error");
  }
  EXPECT_EQ(decoder.submitted, 0);
  auto result = post("/v1/embeddings", R"({"input": [1, 100]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 400);
  EXPECT_EQ(errorMessage(result),
            "input[1]: token id 100 is outside the vocabulary (0..99)");
  // The server keeps serving.
  result = post("/v1/completions", R"({"prompt": [1], "max_tokens": 1})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
}

TEST_F(ServeHttpTest, ApiKeyIsRequiredExceptForHealth) {
  HttpOptions options;
  options.apiKey = "s3cret";
  serve(options);
  auto missing = post("/v1/completions", R"({"prompt": [1]})");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 401);
  EXPECT_EQ(missing->get_header_value("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(json::parse(missing->body)["error"]["type"],
            "authentication_error");
  for (const char *wrong :
       {"Bearer s3cre", "Bearer s3cretX", "Bearer S3CRET", "Basic s3cret"}) {
    auto result = post("/v1/completions", R"({"prompt": [1]})",
                       {{"Authorization", wrong}});
    ASSERT_TRUE(result);
    EXPECT_EQ(result->status, 401) << wrong;
  }
  auto metricsResult = client().Get("/metrics");
  ASSERT_TRUE(metricsResult);
  EXPECT_EQ(metricsResult->status, 401);
  EXPECT_EQ(decoder.submitted, 0);

  auto right = post("/v1/completions", R"({"prompt": [1], "max_tokens": 1})",
                    {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(right);
  EXPECT_EQ(right->status, 200);
  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
}

TEST_F(ServeHttpTest, BodyTooLargeIs413) {
  HttpOptions options;
  options.maxBodyBytes = 1000;
  serve(options);
  std::string body =
      "{\"prompt\": [1], \"user\": \"" + std::string(1000, 'x') + "\"}";
  auto result = post("/v1/completions", body);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 413);
  EXPECT_EQ(errorMessage(result), "the request body is larger than 1000 bytes");
  // httplib 0.11 would read a chunked body whole: refused.
  int fd = connectAndSend("POST /v1/completions HTTP/1.1\r\nHost: localhost\r\n"
                          "Transfer-Encoding: chunked\r\n\r\n7d0\r\n" +
                          std::string(2000, 'x') + "\r\n0\r\n\r\n");
  std::string answer = readUntil(fd, "\r\n\r\n");
  close(fd);
  EXPECT_EQ(answer.rfind("HTTP/1.1 411 Length Required\r\n", 0), 0u) << answer;
  EXPECT_EQ(decoder.submitted, 0);
}

TEST_F(ServeHttpTest, TooManyHeadersIs431) {
  serve();
  httplib::Headers headers;
  for (int i = 0; i < 65; ++i)
    headers.emplace("X-Header-" + std::to_string(i), "1");
  auto result = post("/v1/completions", R"({"prompt": [1]})", headers);
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 431);
  EXPECT_EQ(errorMessage(result), "the request has more than 64 header fields");
  EXPECT_EQ(decoder.submitted, 0);

  // Exactly 64 fields pass, 65 do not.
  auto withFields = [&](int count) {
    std::string body = R"({"prompt": [1], "max_tokens": 1})";
    std::string request = "POST /v1/completions HTTP/1.1\r\nHost: x\r\n"
                          "Content-Length: " +
                          std::to_string(body.size()) + "\r\n";
    for (int i = 2; i < count; ++i)
      request += "X-Field-" + std::to_string(i) + ": 1\r\n";
    int fd = connectAndSend(request + "\r\n" + body);
    std::string answer = readUntil(fd, "\r\n");
    close(fd);
    return answer.substr(0, answer.find("\r\n"));
  };
  EXPECT_EQ(withFields(64), "HTTP/1.1 200 OK");
  EXPECT_EQ(withFields(65), "HTTP/1.1 431 Request Header Fields Too Large");
}

TEST_F(ServeHttpTest, FullQueueIs503WithRetryAfter) {
  serve();
  decoder.admission = Admission::QueueFull;
  encoder.admission = Admission::QueueFull;
  auto result = post("/v1/completions", R"({"prompt": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value("Retry-After"), "1");
  EXPECT_EQ(errorMessage(result), "the server is busy: its queue is full");
  result = post("/v1/embeddings", R"({"input": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 503);
  EXPECT_EQ(result->get_header_value("Retry-After"), "1");
}

TEST_F(ServeHttpTest, ModelFailureIs500WithTheMessage) {
  serve();
  decoder.fail = true;
  encoder.fail = true;
  auto result = post("/v1/completions", R"({"prompt": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 500);
  EXPECT_EQ(errorMessage(result), "the model failed: fake failure");
  result = post("/v1/embeddings", R"({"input": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 500);
  EXPECT_EQ(errorMessage(result), "the model failed: fake failure");
}

TEST_F(ServeHttpTest, DeadlinePassedIs504) {
  HttpOptions options;
  options.requestTimeout = std::chrono::milliseconds(50);
  serve(options);
  decoder.hold = true;
  encoder.hold = true;
  auto result = post("/v1/completions", R"({"prompt": [1]})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 504);
  EXPECT_EQ(errorMessage(result),
            "the request's deadline passed before it finished");
  result = post("/v1/embeddings", R"({"input": [1], "timeout_ms": 20})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 504);
  // In a stream, the deadline is an error event before [DONE].
  result = post("/v1/completions", R"({"prompt": [1], "stream": true})");
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 200);
  EXPECT_NE(result->body.find("data: {\"error\":{\"code\":504"),
            std::string::npos)
      << result->body;
  EXPECT_NE(result->body.find("data: [DONE]\n\n"), std::string::npos);
}

TEST_F(ServeHttpTest, DisconnectDuringStreamCancelsTheJob) {
  serve();
  decoder.tokenDelayMs = 10;
  int fd = connectAndSend(
      postRequest("/v1/completions",
                  R"({"prompt": [1], "max_tokens": 1000, "stream": true})"));
  std::string head = readUntil(fd, "data: ");
  EXPECT_NE(head.find("200 OK"), std::string::npos) << head;
  close(fd);
  EXPECT_TRUE(eventually([&] { return decoder.cancelled == 1; }));
  EXPECT_TRUE(eventually([&] { return decoder.running == 0; }));
}

TEST_F(ServeHttpTest, DisconnectWhileWaitingCancelsTheJob) {
  serve();
  decoder.hold = true;
  int fd =
      connectAndSend(postRequest("/v1/completions", R"({"prompt": [1, 2]})"));
  ASSERT_TRUE(eventually([&] { return decoder.submitted == 1; }));
  close(fd);
  EXPECT_TRUE(eventually([&] { return decoder.cancelled == 1; }));
  encoder.hold = true;
  fd = connectAndSend(postRequest("/v1/embeddings", R"({"input": [1]})"));
  ASSERT_TRUE(eventually([&] { return encoder.submitted == 1; }));
  close(fd);
  EXPECT_TRUE(eventually([&] { return encoder.cancelled == 1; }));
}

TEST_F(ServeHttpTest, HealthModelsMetricsAndUnknownRoutes) {
  serve();
  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  EXPECT_EQ(json::parse(health->body), json({{"status", "ok"}}));

  auto models = client().Get("/v1/models");
  ASSERT_TRUE(models);
  ASSERT_EQ(models->status, 200);
  json list = json::parse(models->body);
  EXPECT_EQ(list["object"], "list");
  ASSERT_EQ(list["data"].size(), 2u);
  EXPECT_EQ(list["data"][0]["id"], "fake-decoder");
  EXPECT_EQ(list["data"][0]["object"], "model");
  EXPECT_EQ(list["data"][1]["id"], "fake-encoder");

  auto unknown = client().Get("/v2/nothing");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  EXPECT_EQ(errorMessage(unknown), "no route GET /v2/nothing");
  auto wrongMethod = client().Get("/v1/completions");
  ASSERT_TRUE(wrongMethod);
  EXPECT_EQ(wrongMethod->status, 405);
  EXPECT_EQ(wrongMethod->get_header_value("Allow"), "POST");
}

TEST_F(ServeHttpTest, MetricsCountRequestsByEndpointAndStatus) {
  serve();
  // One connection: each request is counted before the next one is read.
  httplib::Client keepAlive("127.0.0.1", port);
  keepAlive.set_keep_alive(true);
  for (int i = 0; i < 2; ++i)
    ASSERT_EQ(keepAlive
                  .Post("/v1/completions",
                        R"({"prompt": [1], "max_tokens": 2})",
                        "application/json")
                  ->status,
              200);
  ASSERT_EQ(keepAlive.Post("/v1/completions", "{", "application/json")->status,
            400);
  ASSERT_EQ(keepAlive.Get("/health")->status, 200);
  ASSERT_EQ(keepAlive.Get("/nowhere")->status, 404);
  auto result = keepAlive.Get("/metrics");
  ASSERT_TRUE(result);
  ASSERT_EQ(result->status, 200);
  EXPECT_EQ(result->get_header_value("Content-Type"),
            "text/plain; version=0.0.4");
  const std::string &text = result->body;
  for (const char *line :
       {"kiln_requests_total{endpoint=\"/v1/completions\",code=\"200\"} 2\n",
        "kiln_requests_total{endpoint=\"/v1/completions\",code=\"400\"} 1\n",
        "kiln_requests_total{endpoint=\"/health\",code=\"200\"} 1\n",
        "kiln_requests_total{endpoint=\"other\",code=\"404\"} 1\n",
        "kiln_request_duration_seconds_count 5\n"})
    EXPECT_NE(text.find(line), std::string::npos) << line << text;
}

TEST_F(ServeHttpTest, DrainFinishesRequestsInFlightThenStops) {
  serve();
  decoder.hold = true;
  auto inFlight = std::async(std::launch::async, [&] {
    return post("/v1/completions", R"({"prompt": [1], "max_tokens": 2})");
  });
  ASSERT_TRUE(eventually([&] { return decoder.submitted == 1; }));
  auto drained = std::async(std::launch::async,
                            [&] { server->drain(std::chrono::seconds(10)); });
  ASSERT_TRUE(eventually([&] { return server->draining(); }));
  // draining() turns true before drain() has told the engines.
  ASSERT_TRUE(eventually(
      [&] { return decoder.drainCalls == 1 && encoder.drainCalls == 1; }));

  auto health = client().Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 503);
  EXPECT_EQ(json::parse(health->body), json({{"status", "draining"}}));
  auto refused = post("/v1/completions", R"({"prompt": [1]})");
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 503);
  EXPECT_EQ(errorMessage(refused), "the server is shutting down");
  EXPECT_EQ(decoder.submitted, 1);

  EXPECT_EQ(drained.wait_for(std::chrono::milliseconds(100)),
            std::future_status::timeout);
  decoder.release();
  auto answered = inFlight.get();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(json::parse(answered->body)["choices"][0]["token_ids"],
            json({2, 3}));
  ASSERT_EQ(drained.wait_for(std::chrono::seconds(5)),
            std::future_status::ready);
  EXPECT_EQ(decoder.stopCalls, 1);
  EXPECT_EQ(encoder.stopCalls, 1);
  server->wait();
  EXPECT_FALSE(client().Get("/health")); // nothing listens any more
}

TEST_F(ServeHttpTest, DrainCancelsWhatOutlivesTheGrace) {
  serve();
  decoder.hold = true;
  auto inFlight = std::async(std::launch::async, [&] {
    return post("/v1/completions", R"({"prompt": [1]})");
  });
  ASSERT_TRUE(eventually([&] { return decoder.submitted == 1; }));
  auto start = Clock::now();
  server->drain(std::chrono::milliseconds(100));
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(3));
  auto answered = inFlight.get();
  ASSERT_TRUE(answered);
  EXPECT_EQ(answered->status, 503);
  EXPECT_EQ(errorMessage(answered),
            "the request was cancelled: the server is shutting down");
}

} // namespace
