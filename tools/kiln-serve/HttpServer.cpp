//===- HttpServer.cpp - kiln-serve's OpenAI-style HTTP API ----------------===//

#include "tools/kiln-serve/HttpServer.h"

#include "tools/kiln-serve/ClientConnection.h"
#include "tools/kiln-serve/Requests.h"

#include <httplib.h>
#include <nlohmann/json.hpp>

#include <strings.h>

#include <atomic>
#include <condition_variable>
#include <ctime>
#include <random>
#include <stdexcept>
#include <thread>

namespace kiln::serve {

namespace {

using json = nlohmann::json;

constexpr const char *kCompletions = "/v1/completions";
constexpr const char *kEmbeddings = "/v1/embeddings";

std::string text(const json &value) {
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

const char *errorType(int status) {
  switch (status) {
  case 401:
    return "authentication_error";
  case 500:
    return "server_error";
  case 503:
    return "unavailable_error";
  case 504:
    return "timeout_error";
  default:
    return "invalid_request_error";
  }
}

json errorBody(int status, const std::string &message) {
  return {
      {"error",
       {{"message", message}, {"type", errorType(status)}, {"code", status}}}};
}

void answerError(httplib::Response &res, int status,
                 const std::string &message) {
  res.status = status;
  res.set_content(text(errorBody(status, message)), "application/json");
}

void answerJson(httplib::Response &res, const json &body) {
  res.status = 200;
  res.set_content(text(body), "application/json");
}

// Errors httplib answers before or instead of a handler.
std::string libraryErrorMessage(const httplib::Request &req, int status) {
  switch (status) {
  case 400:
    return "malformed HTTP request";
  case 404:
    return "no route " + req.method + " " + req.path;
  case 413:
    return "the request body is too large";
  case 414:
    return "the request URI is too long";
  default:
    return "HTTP error " + std::to_string(status);
  }
}

// A Content-Length made of digits only, or -1.
int64_t contentLength(const std::string &value) {
  if (value.empty() || value.size() > 18)
    return value.empty() ? -1 : INT64_MAX;
  int64_t length = 0;
  for (char c : value) {
    if (c < '0' || c > '9')
      return -1;
    length = length * 10 + (c - '0');
  }
  return length;
}

// Compares in time that depends on the key's length only.
bool sameSecret(const std::string &given, const std::string &key) {
  unsigned char differ = given.size() != key.size();
  for (size_t i = 0; i < key.size(); ++i)
    differ |= static_cast<unsigned char>(
        key[i] ^ (i < given.size() ? given[i] : ~key[i]));
  return differ == 0;
}

// Header fields the client sent; httplib 0.11 adds four of its own.
size_t clientHeaderCount(const httplib::Request &req) {
  size_t count = req.headers.size();
  for (const char *added :
       {"REMOTE_ADDR", "REMOTE_PORT", "LOCAL_ADDR", "LOCAL_PORT"})
    count -= req.headers.count(added);
  return count;
}

const char *routeLabel(const std::string &path) {
  for (const char *route :
       {kCompletions, kEmbeddings, "/health", "/v1/models", "/metrics"})
    if (path == route)
      return route;
  return "other";
}

// When the current thread's request began (set before routing).
thread_local Clock::time_point requestStart;
thread_local bool requestStarted = false;

// Counts a request that may hold engine jobs, until destroyed.
class ActiveRequest {
public:
  explicit ActiveRequest(std::atomic<int64_t> &count) : count(count) {
    ++count;
  }
  ~ActiveRequest() { --count; }

private:
  std::atomic<int64_t> &count;
};

template <typename Job>
void cancelAll(const std::vector<std::shared_ptr<Job>> &jobs) {
  for (const auto &job : jobs)
    job->cancel();
}

json choice(size_t index, const std::vector<int64_t> &tokens,
            const char *finishReason) {
  return {{"index", index},
          {"text", nullptr},
          {"token_ids", tokens},
          {"logprobs", nullptr},
          {"finish_reason", finishReason ? json(finishReason) : json(nullptr)}};
}

// What a job that did not end in "stop" or "length" answers.
struct Failure {
  int status;
  std::string message;
};

Failure failure(FinishReason reason, const std::string &error) {
  switch (reason) {
  case FinishReason::Error:
    return {500, "the model failed: " + error};
  case FinishReason::Deadline:
    return {504, "the request's deadline passed before it finished"};
  default:
    return {503, "the request was cancelled: the server is shutting down"};
  }
}

bool answered(FinishReason reason) {
  return reason == FinishReason::Stop || reason == FinishReason::Length;
}

} // namespace

struct HttpServer::Impl {
  Impl(DecoderEngine *decoder, EncoderEngine *encoder, Metrics &metrics,
       HttpOptions options)
      : decoder(decoder), encoder(encoder), metrics(metrics),
        options(std::move(options)),
        idPrefix(std::to_string(std::random_device{}())) {}

  DecoderEngine *decoder;
  EncoderEngine *encoder;
  Metrics &metrics;
  const HttpOptions options;
  const std::string idPrefix;
  std::atomic<uint64_t> nextId{0};

  httplib::Server server;
  std::thread listener;
  std::atomic<bool> drainStarted{false}, draining{false}, stopping{false};
  std::atomic<int64_t> active{0};
  std::mutex stateMutex;
  std::condition_variable stateChanged;
  bool started = false, stopped = false, joined = false;

  void setUpRoutes();
  httplib::Server::HandlerResponse beforeRouting(const httplib::Request &req,
                                                 httplib::Response &res);
  void completions(const httplib::Request &req, httplib::Response &res);
  void embeddings(const httplib::Request &req, httplib::Response &res);
  // Submits one job per parameter set; on a refusal cancels those already
  // submitted, answers 503 and returns false.
  template <typename Job, typename Engine, typename Params>
  bool submitAll(Engine &engine, std::vector<Params> &all,
                 std::vector<std::shared_ptr<Job>> &jobs,
                 httplib::Response &res);
  // Waits until every job is done (`wait(job)` gives its result); answers
  // 499, 504 or 503 and returns false when the client leaves, the deadline
  // passes or the server stops.
  template <typename Job, typename Result, typename Wait>
  bool waitAll(const httplib::Request &req, httplib::Response &res,
               const std::vector<std::shared_ptr<Job>> &jobs,
               std::vector<Result> &results, Wait wait);
  void streamCompletions(const httplib::Request &req, httplib::Response &res,
                         std::vector<std::shared_ptr<CompletionJob>> jobs,
                         std::shared_ptr<ActiveRequest> activeRequest);
  void listModels(httplib::Response &res);
  int64_t inFlight() const;

  std::string newId(const char *kind) {
    return std::string(kind) + "-" + idPrefix + "-" + std::to_string(nextId++);
  }
  RequestLimits limits(int64_t vocabSize, int64_t maxLength) const {
    RequestLimits limits;
    limits.vocabSize = vocabSize;
    limits.maxLength = maxLength;
    limits.maxInputs = options.maxInputs;
    limits.maxTokens = options.maxTokens;
    limits.defaultTimeout = options.requestTimeout;
    return limits;
  }
};

httplib::Server::HandlerResponse
HttpServer::Impl::beforeRouting(const httplib::Request &req,
                                httplib::Response &res) {
  requestStart = Clock::now();
  requestStarted = true;
  auto reject = [&](int status, const std::string &message) {
    answerError(res, status, message);
    // The body, if any, stays unread: the connection cannot carry another
    // request.
    res.set_header("Connection", "close");
    return httplib::Server::HandlerResponse::Handled;
  };
  if (clientHeaderCount(req) > options.maxHeaders)
    return reject(431, "the request has more than " +
                           std::to_string(options.maxHeaders) +
                           " header fields");
  // httplib 0.11 reads a chunked body whole, whatever its size.
  if (req.has_header("Transfer-Encoding"))
    return reject(411, "send the body with a Content-Length; chunked "
                       "request bodies are not accepted");
  if (contentLength(req.get_header_value("Content-Length")) >
      static_cast<int64_t>(options.maxBodyBytes))
    return reject(413, "the request body is larger than " +
                           std::to_string(options.maxBodyBytes) + " bytes");
  if (!options.apiKey.empty() && req.path != "/health") {
    const std::string &authorization = req.get_header_value("Authorization");
    constexpr size_t kScheme = 7; // "Bearer "
    bool bearer = authorization.size() > kScheme &&
                  strncasecmp(authorization.c_str(), "Bearer ", kScheme) == 0;
    if (!bearer || !sameSecret(authorization.substr(kScheme), options.apiKey)) {
      res.set_header("WWW-Authenticate", "Bearer");
      return reject(401, bearer ? "the API key is not valid"
                                : "this server wants an API key: send "
                                  "`Authorization: Bearer <key>`");
    }
  }
  if (draining && req.method == "POST") {
    res.set_header("Retry-After", "1");
    return reject(503, "the server is shutting down");
  }
  return httplib::Server::HandlerResponse::Unhandled;
}

void HttpServer::Impl::setUpRoutes() {
  server.new_task_queue = [threads = options.threads] {
    return new httplib::ThreadPool(static_cast<size_t>(std::max(threads, 1)));
  };
  server.set_payload_max_length(options.maxBodyBytes);
  // A streamed token is a small write soon after the headers: with Nagle's
  // algorithm it waited for the client's delayed ACK of them (up to 40 ms),
  // which was most of an int8 model's time to first token.
  server.set_tcp_nodelay(true);
  // httplib closes a keep-alive connection after 5 requests by default, so
  // clients paid a new connection every 5 calls. A request's metrics are
  // recorded after its response is written; on a connection the server
  // closes, the client's next request can come in on a new one first.
  server.set_keep_alive_max_count(1000);
  server.set_pre_routing_handler(
      [this](const httplib::Request &req, httplib::Response &res) {
        return beforeRouting(req, res);
      });
  server.Post(kCompletions,
              [this](const httplib::Request &req, httplib::Response &res) {
                completions(req, res);
              });
  server.Post(kEmbeddings,
              [this](const httplib::Request &req, httplib::Response &res) {
                embeddings(req, res);
              });
  server.Get("/health",
             [this](const httplib::Request &, httplib::Response &res) {
               res.status = draining ? 503 : 200;
               res.set_content(text({{"status", draining ? "draining" : "ok"}}),
                               "application/json");
             });
  server.Get("/v1/models", [this](const httplib::Request &,
                                  httplib::Response &res) { listModels(res); });
  server.Get("/metrics",
             [this](const httplib::Request &, httplib::Response &res) {
               res.set_content(metrics.render(), "text/plain; version=0.0.4");
             });
  // The other methods on known routes: 405 with the one allowed.
  auto wrongMethod = [](const char *allowed) {
    return [allowed](const httplib::Request &req, httplib::Response &res) {
      res.set_header("Allow", allowed);
      answerError(res, 405, req.method + " " + req.path + ": use " + allowed);
    };
  };
  for (const char *route : {kCompletions, kEmbeddings}) {
    server.Get(route, wrongMethod("POST"));
    server.Put(route, wrongMethod("POST"));
    server.Delete(route, wrongMethod("POST"));
    server.Patch(route, wrongMethod("POST"));
  }
  for (const char *route : {"/health", "/v1/models", "/metrics"}) {
    server.Post(route, wrongMethod("GET"));
    server.Put(route, wrongMethod("GET"));
    server.Delete(route, wrongMethod("GET"));
    server.Patch(route, wrongMethod("GET"));
  }
  // Errors httplib answers itself (no route, body too large, bad request
  // line) get the same JSON body as ours.
  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request &req, httplib::Response &res) {
        if (!res.body.empty())
          return httplib::Server::HandlerResponse::Unhandled;
        answerError(res, res.status, libraryErrorMessage(req, res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  server.set_exception_handler([](const httplib::Request &,
                                  httplib::Response &res,
                                  std::exception_ptr error) {
    std::string message = "internal error";
    try {
      std::rethrow_exception(error);
    } catch (const std::exception &e) {
      message += std::string(": ") + e.what();
    } catch (...) {
    }
    answerError(res, 500, message);
  });
  server.set_logger([this](const httplib::Request &req,
                           const httplib::Response &res) {
    metrics.requestDone(routeLabel(req.path), res.status);
    if (requestStarted)
      metrics.requestDuration.observe(
          std::chrono::duration<double>(Clock::now() - requestStart).count());
    requestStarted = false;
  });
}

template <typename Job, typename Engine, typename Params>
bool HttpServer::Impl::submitAll(Engine &engine, std::vector<Params> &all,
                                 std::vector<std::shared_ptr<Job>> &jobs,
                                 httplib::Response &res) {
  for (Params &params : all) {
    auto job = std::make_shared<Job>(std::move(params));
    Admission admission = engine.submit(job);
    if (admission != Admission::Accepted) {
      cancelAll(jobs);
      res.set_header("Retry-After", "1");
      answerError(res, 503,
                  admission == Admission::QueueFull
                      ? "the server is busy: its queue is full"
                      : "the server is shutting down");
      return false;
    }
    jobs.push_back(std::move(job));
  }
  return true;
}

template <typename Job, typename Result, typename Wait>
bool HttpServer::Impl::waitAll(const httplib::Request &req,
                               httplib::Response &res,
                               const std::vector<std::shared_ptr<Job>> &jobs,
                               std::vector<Result> &results, Wait wait) {
  ClientConnection client(req.local_addr, req.local_port, req.remote_addr,
                          req.remote_port);
  Clock::time_point deadline = jobs.front()->params.deadline;
  for (size_t i = 0; i < jobs.size();) {
    results[i] = wait(*jobs[i]);
    if (results[i].done) {
      ++i;
      continue;
    }
    if (client.closed()) {
      cancelAll(jobs);
      // Nobody reads it; 499 is what the metrics count (nginx's "client
      // closed request").
      answerError(res, 499, "the client closed the connection");
      return false;
    }
    if (Clock::now() >= deadline) {
      cancelAll(jobs);
      answerError(res, 504, failure(FinishReason::Deadline, {}).message);
      return false;
    }
    if (stopping) {
      cancelAll(jobs);
      answerError(res, 503, failure(FinishReason::Cancelled, {}).message);
      return false;
    }
  }
  return true;
}

void HttpServer::Impl::completions(const httplib::Request &req,
                                   httplib::Response &res) {
  auto activeRequest = std::make_shared<ActiveRequest>(active);
  if (!decoder)
    return answerError(res, 404,
                       "this server serves an encoder model: use POST "
                       "/v1/embeddings");
  auto parsed = parseCompletionRequest(
      req.body, limits(decoder->vocabSize(), decoder->maxLength()),
      Clock::now());
  if (!parsed.ok())
    return answerError(res, 400, parsed.error);

  std::vector<std::shared_ptr<CompletionJob>> jobs;
  if (!submitAll(*decoder, parsed.request.prompts, jobs, res))
    return;
  if (parsed.request.stream)
    return streamCompletions(req, res, std::move(jobs),
                             std::move(activeRequest));

  std::vector<CompletionJob::Snapshot> results(jobs.size());
  if (!waitAll(req, res, jobs, results, [&](const CompletionJob &job) {
        return job.waitFor(SIZE_MAX, options.pollInterval);
      }))
    return;

  json choices = json::array();
  int64_t promptTokens = 0, completionTokens = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!answered(results[i].reason)) {
      Failure why = failure(results[i].reason, results[i].error);
      return answerError(res, why.status, why.message);
    }
    choices.push_back(
        choice(i, results[i].tokens, finishReasonName(results[i].reason)));
    promptTokens += jobs[i]->params.prompt.size();
    completionTokens += results[i].tokens.size();
  }
  answerJson(res, {{"id", newId("cmpl")},
                   {"object", "text_completion"},
                   {"created", std::time(nullptr)},
                   {"model", decoder->modelName()},
                   {"choices", std::move(choices)},
                   {"usage",
                    {{"prompt_tokens", promptTokens},
                     {"completion_tokens", completionTokens},
                     {"total_tokens", promptTokens + completionTokens}}}});
}

void HttpServer::Impl::streamCompletions(
    const httplib::Request &req, httplib::Response &res,
    std::vector<std::shared_ptr<CompletionJob>> jobs,
    std::shared_ptr<ActiveRequest> activeRequest) {
  struct Stream {
    std::vector<std::shared_ptr<CompletionJob>> jobs;
    std::vector<size_t> sent;
    std::vector<bool> finished;
    ClientConnection client;
    json header; // id, object, created, model of every event
    std::shared_ptr<ActiveRequest> activeRequest;
  };
  auto stream = std::make_shared<Stream>(
      Stream{jobs,
             std::vector<size_t>(jobs.size(), 0),
             std::vector<bool>(jobs.size(), false),
             ClientConnection(req.local_addr, req.local_port, req.remote_addr,
                              req.remote_port),
             {{"id", newId("cmpl")},
              {"object", "text_completion"},
              {"created", std::time(nullptr)},
              {"model", decoder->modelName()}},
             std::move(activeRequest)});

  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  auto provider = [this, stream](size_t, httplib::DataSink &sink) {
    auto send = [&](const std::string &data) {
      std::string event = "data: " + data + "\n\n";
      return sink.write(event.data(), event.size());
    };
    auto event = [&](size_t index, std::vector<int64_t> tokens,
                     const char *reason) {
      json body = stream->header;
      body["choices"] = json::array({choice(index, tokens, reason)});
      return send(text(body));
    };
    auto finish = [&](const json &error) {
      if (!error.is_null())
        send(text(error));
      send("[DONE]");
      sink.done();
      return true;
    };
    Clock::time_point deadline = stream->jobs.front()->params.deadline;
    for (;;) {
      bool waiting = false;
      for (size_t i = 0; i < stream->jobs.size(); ++i) {
        if (stream->finished[i])
          continue;
        // One job: block on it; several: look at each, then block below.
        auto snapshot = stream->jobs[i]->waitFor(
            stream->sent[i], stream->jobs.size() == 1
                                 ? options.pollInterval
                                 : std::chrono::milliseconds(0));
        for (; stream->sent[i] < snapshot.tokens.size(); ++stream->sent[i])
          if (!event(i, {snapshot.tokens[stream->sent[i]]}, nullptr)) {
            cancelAll(stream->jobs);
            return false;
          }
        if (!snapshot.done) {
          waiting = true;
          continue;
        }
        stream->finished[i] = true;
        if (!answered(snapshot.reason)) {
          cancelAll(stream->jobs);
          Failure why = failure(snapshot.reason, snapshot.error);
          return finish(errorBody(why.status, why.message));
        }
        if (!event(i, {}, finishReasonName(snapshot.reason))) {
          cancelAll(stream->jobs);
          return false;
        }
      }
      if (!waiting)
        return finish(nullptr);
      if (!sink.is_writable() || stream->client.closed()) {
        cancelAll(stream->jobs);
        return false;
      }
      if (Clock::now() >= deadline) {
        cancelAll(stream->jobs);
        return finish(
            errorBody(504, failure(FinishReason::Deadline, {}).message));
      }
      if (stopping) {
        cancelAll(stream->jobs);
        return finish(
            errorBody(503, failure(FinishReason::Cancelled, {}).message));
      }
      if (stream->jobs.size() > 1)
        std::this_thread::sleep_for(options.pollInterval / 4);
    }
  };
  // Called when the response ends, written or not: a stream cut short
  // cancels what is left.
  auto release = [stream](bool) { cancelAll(stream->jobs); };
  res.set_chunked_content_provider("text/event-stream", std::move(provider),
                                   std::move(release));
}

void HttpServer::Impl::embeddings(const httplib::Request &req,
                                  httplib::Response &res) {
  ActiveRequest activeRequest(active);
  if (!encoder)
    return answerError(res, 404,
                       "this server serves a decoder model: use POST "
                       "/v1/completions");
  auto parsed = parseEmbeddingRequest(
      req.body, limits(encoder->vocabSize(), encoder->maxLength()),
      Clock::now());
  if (!parsed.ok())
    return answerError(res, 400, parsed.error);

  std::vector<std::shared_ptr<EmbeddingJob>> jobs;
  if (!submitAll(*encoder, parsed.request.inputs, jobs, res))
    return;

  std::vector<EmbeddingJob::Result> results(jobs.size());
  if (!waitAll(req, res, jobs, results, [&](const EmbeddingJob &job) {
        return job.waitFor(options.pollInterval);
      }))
    return;

  json data = json::array();
  int64_t promptTokens = 0;
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!results[i].ok) {
      Failure why = failure(results[i].reason, results[i].error);
      return answerError(res, why.status, why.message);
    }
    data.push_back({{"object", "embedding"},
                    {"index", i},
                    {"embedding", std::move(results[i].embedding)}});
    promptTokens += jobs[i]->params.tokens.size();
  }
  answerJson(res, {{"object", "list"},
                   {"data", std::move(data)},
                   {"model", encoder->modelName()},
                   {"usage",
                    {{"prompt_tokens", promptTokens},
                     {"total_tokens", promptTokens}}}});
}

void HttpServer::Impl::listModels(httplib::Response &res) {
  json data = json::array();
  std::time_t created = std::time(nullptr);
  for (std::string name : {decoder ? decoder->modelName() : std::string(),
                           encoder ? encoder->modelName() : std::string()})
    if (!name.empty())
      data.push_back({{"id", name},
                      {"object", "model"},
                      {"created", created},
                      {"owned_by", "kiln"}});
  answerJson(res, {{"object", "list"}, {"data", std::move(data)}});
}

int64_t HttpServer::Impl::inFlight() const {
  return (decoder ? decoder->inFlight() : 0) +
         (encoder ? encoder->inFlight() : 0) + active.load();
}

HttpServer::HttpServer(DecoderEngine *decoder, EncoderEngine *encoder,
                       Metrics &metrics, HttpOptions options)
    : impl(std::make_unique<Impl>(decoder, encoder, metrics,
                                  std::move(options))) {
  impl->setUpRoutes();
}

HttpServer::~HttpServer() {
  bool started;
  {
    std::lock_guard<std::mutex> lock(impl->stateMutex);
    started = impl->started;
  }
  if (started) {
    drain(std::chrono::milliseconds(0));
    wait();
  }
}

int HttpServer::start() {
  Impl &self = *impl;
  int port = self.options.port;
  if (port == 0)
    port = self.server.bind_to_any_port(self.options.host);
  else if (!self.server.bind_to_port(self.options.host, port))
    port = -1;
  if (port <= 0)
    throw std::runtime_error("cannot listen on " + self.options.host + ":" +
                             std::to_string(self.options.port) +
                             " (is the port in use, or the host not an "
                             "address of this machine?)");
  {
    std::lock_guard<std::mutex> lock(self.stateMutex);
    self.started = true;
  }
  self.listener = std::thread([&self] {
    self.server.listen_after_bind();
    std::lock_guard<std::mutex> lock(self.stateMutex);
    self.stopped = true;
    self.stateChanged.notify_all();
  });
  // httplib's stop() does nothing until the accept loop runs.
  while (!self.server.is_running()) {
    std::unique_lock<std::mutex> lock(self.stateMutex);
    if (self.stopped)
      break;
    self.stateChanged.wait_for(lock, std::chrono::milliseconds(1));
  }
  return port;
}

void HttpServer::wait() {
  Impl &self = *impl;
  std::unique_lock<std::mutex> lock(self.stateMutex);
  if (!self.started)
    return;
  self.stateChanged.wait(lock, [&] { return self.stopped; });
  if (!self.joined) {
    self.joined = true;
    lock.unlock();
    self.listener.join();
  }
}

bool HttpServer::draining() const { return impl->draining; }

void HttpServer::drain(std::chrono::milliseconds grace) {
  Impl &self = *impl;
  if (self.drainStarted.exchange(true)) {
    std::unique_lock<std::mutex> lock(self.stateMutex);
    self.stateChanged.wait(lock, [&] { return !self.started || self.stopped; });
    return;
  }
  self.draining = true;
  if (self.decoder)
    self.decoder->drain();
  if (self.encoder)
    self.encoder->drain();
  auto until = Clock::now() + grace;
  while (self.inFlight() > 0 && Clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // What is left is cancelled: waiting requests answer 503 within one poll.
  self.stopping = true;
  if (self.decoder)
    self.decoder->stop();
  if (self.encoder)
    self.encoder->stop();
  while (self.active > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  self.server.stop();
  std::unique_lock<std::mutex> lock(self.stateMutex);
  self.stateChanged.wait(lock, [&] { return !self.started || self.stopped; });
}

} // namespace kiln::serve
