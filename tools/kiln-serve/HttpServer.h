//===- HttpServer.h - kiln-serve's OpenAI-style HTTP API --------*- C++ -*-===//
//
// Routes HTTP requests to the engines: POST /v1/completions (JSON or
// Server-Sent Events), POST /v1/embeddings, GET /health, GET /v1/models and
// GET /metrics. Enforces the limits a public endpoint needs (body size,
// header count, bearer key, queue bound, deadlines) and cancels the jobs of a
// client that goes away. docs/serving.md describes the API.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_KILNSERVE_HTTPSERVER_H
#define KILN_TOOLS_KILNSERVE_HTTPSERVER_H

#include "tools/kiln-serve/DecoderEngine.h"
#include "tools/kiln-serve/EncoderEngine.h"
#include "tools/kiln-serve/Metrics.h"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace kiln::serve {

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080; // 0: an ephemeral port (start() returns it)
  // Connections served at once; a waiting or streaming request holds one.
  int threads = 64;
  size_t maxBodyBytes = 1 << 20; // larger bodies: 413
  size_t maxHeaders = 64;        // more header fields: 431
  // Empty: no authentication. Otherwise every route but /health wants
  // `Authorization: Bearer <apiKey>` (401 without it).
  std::string apiKey;
  int64_t maxInputs = 64;   // prompts or inputs in one request
  int64_t maxTokens = 4096; // the largest max_tokens a request may ask
  // Deadline of a request that sets no `timeout_ms`, and the longest one may
  // ask; 0: none.
  std::chrono::milliseconds requestTimeout{0};
  // How often a waiting request checks its client and deadline.
  std::chrono::milliseconds pollInterval{20};
};

class HttpServer {
public:
  // Either engine may be null: its endpoint then answers 404. The engines
  // and metrics must outlive the server.
  HttpServer(DecoderEngine *decoder, EncoderEngine *encoder, Metrics &metrics,
             HttpOptions options);
  // Drains with no grace if the server still runs.
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  // Binds and serves on threads of its own; returns the bound port. Throws
  // std::runtime_error when the address cannot be bound.
  int start();
  // Blocks until the server has stopped.
  void wait();

  // Graceful shutdown: new requests get 503 and /health turns 503; the
  // engines stop admitting; accepted requests get up to `grace` to finish,
  // then what is left is cancelled (503) and the engines and the listener
  // stop. Thread-safe; a second call waits for the first.
  void drain(std::chrono::milliseconds grace);
  bool draining() const;

private:
  struct Impl;
  std::unique_ptr<Impl> impl;
};

} // namespace kiln::serve

#endif // KILN_TOOLS_KILNSERVE_HTTPSERVER_H
