//===- KilnServe.cpp - kiln-serve: serve a compiled model over HTTP -------===//
//
// Exit codes: 0 after a drain (SIGTERM or SIGINT), 1 the model failed to
// load or the address to bind, 2 a bad command line.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-serve/HttpServer.h"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <map>
#include <pthread.h>
#include <stdexcept>
#include <thread>
#include <unistd.h>

using namespace kiln::serve;

namespace {

const char kUsage[] = R"(usage: kiln-serve MODEL.so [options]

Serves a Kiln artifact over HTTP: a decoder (logits over a vocabulary) answers
POST /v1/completions, an encoder POST /v1/embeddings. GET /health, /v1/models
and /metrics always. Prompts and inputs are token ids (no tokenizer yet).

  --decode DECODE.so      decode-step artifact beside a prefill MODEL.so
  --host H                address to bind (default 127.0.0.1: loopback only)
  --port P                TCP port; 0 picks a free one (default 8080)
  --threads T             kernel threads of the model; 0: one per core (0)
  --max-batch B           sequences decoded, or inputs encoded, together (16)
  --max-delay-ms D        encoders: how long a batch waits to fill, or 5% of
                          the last call when that is longer (2)
  --max-queue Q           jobs waiting for a slot; more get 503 (256)
  --max-tokens N          the largest max_tokens a request may ask (4096)
  --kv-capacity L         decoders: positions per sequence, prompt included;
                          0: 512 (0)
  --vocab-size V          encoders: token ids must be below V; 0: unchecked (0)
  --max-length L          encoders: the longest input accepted (512)
  --api-key K             want `Authorization: Bearer K` on every route but
                          /health (default: none; KILN_SERVE_API_KEY too)
  --request-timeout-ms T  deadline of a request, and the longest timeout_ms
                          one may ask; 0: none (0)
  --grace-ms G            on SIGTERM, how long requests in flight may take
                          to finish before they are cancelled (30000)
  --max-body-bytes N      larger request bodies get 413 (1048576)
  --http-threads N        connections served at once (64)
  --buffer-cache-mb N     buffers kept per model thread for the shapes seen
                          (KILN_BUFFER_CACHE_MB too; 1024)
  --help                  this text
)";

int stopPipe[2] = {-1, -1};

extern "C" void onStopSignal(int signal) {
  char number = static_cast<char>(signal);
  (void)!write(stopPipe[1], &number, 1);
}

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

int64_t integerFlag(const std::string &flag, const char *value, int64_t low) {
  char *end = nullptr;
  errno = 0;
  long long number = strtoll(value, &end, 10);
  if (end == value || *end != '\0' || errno == ERANGE || number < low)
    throw UsageError(flag + " wants an integer of at least " +
                     std::to_string(low) + ", got '" + value + "'");
  return number;
}

int serve(int argc, char **argv, const sigset_t &stopSignals) {
  DecoderOptions decoderOptions;
  EncoderOptions encoderOptions;
  HttpOptions httpOptions;
  std::chrono::milliseconds grace{30000};
  std::string model;
  // Each thread that runs a model keeps the buffers of the shapes it has
  // seen (runtime/src/BufferCache.cpp); a server sees many shapes, so it
  // bounds them lower than the runtime's default of 4096 MB.
  const char *cacheEnv = getenv("KILN_BUFFER_CACHE_MB");
  std::string bufferCacheMb = cacheEnv ? cacheEnv : "1024";
  if (const char *key = getenv("KILN_SERVE_API_KEY"))
    httpOptions.apiKey = key;

  std::map<std::string, std::function<void(const char *)>> flags = {
      {"--decode", [&](const char *v) { decoderOptions.decodeModel = v; }},
      {"--host", [&](const char *v) { httpOptions.host = v; }},
      {"--port",
       [&](const char *v) { httpOptions.port = integerFlag("--port", v, 0); }},
      {"--threads",
       [&](const char *v) {
         decoderOptions.threads = encoderOptions.threads =
             integerFlag("--threads", v, 0);
       }},
      {"--max-batch",
       [&](const char *v) {
         decoderOptions.maxBatch = encoderOptions.maxBatch =
             integerFlag("--max-batch", v, 1);
       }},
      {"--max-delay-ms",
       [&](const char *v) {
         encoderOptions.maxDelay =
             std::chrono::milliseconds(integerFlag("--max-delay-ms", v, 0));
       }},
      {"--max-queue",
       [&](const char *v) {
         decoderOptions.maxQueue = encoderOptions.maxQueue =
             integerFlag("--max-queue", v, 1);
       }},
      {"--max-tokens",
       [&](const char *v) {
         httpOptions.maxTokens = integerFlag("--max-tokens", v, 1);
       }},
      {"--kv-capacity",
       [&](const char *v) {
         decoderOptions.kvCapacity = integerFlag("--kv-capacity", v, 0);
       }},
      {"--vocab-size",
       [&](const char *v) {
         encoderOptions.vocabSize = integerFlag("--vocab-size", v, 0);
       }},
      {"--max-length",
       [&](const char *v) {
         encoderOptions.maxLength = integerFlag("--max-length", v, 1);
       }},
      {"--api-key", [&](const char *v) { httpOptions.apiKey = v; }},
      {"--request-timeout-ms",
       [&](const char *v) {
         httpOptions.requestTimeout = std::chrono::milliseconds(
             integerFlag("--request-timeout-ms", v, 0));
       }},
      {"--grace-ms",
       [&](const char *v) {
         grace = std::chrono::milliseconds(integerFlag("--grace-ms", v, 0));
       }},
      {"--max-body-bytes",
       [&](const char *v) {
         httpOptions.maxBodyBytes = integerFlag("--max-body-bytes", v, 1);
       }},
      {"--http-threads",
       [&](const char *v) {
         httpOptions.threads = integerFlag("--http-threads", v, 1);
       }},
      {"--buffer-cache-mb",
       [&](const char *v) {
         bufferCacheMb = std::to_string(integerFlag("--buffer-cache-mb", v, 0));
       }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      fputs(kUsage, stdout);
      return 0;
    }
    std::string value;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != arg.npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (flags.count(arg)) {
      if (i + 1 >= argc)
        throw UsageError(arg + " wants a value");
      value = argv[++i];
    }
    if (auto flag = flags.find(arg); flag != flags.end())
      flag->second(value.c_str());
    else if (arg.rfind("-", 0) == 0 || !model.empty())
      throw UsageError("unknown argument '" + arg + "'");
    else
      model = arg;
  }
  if (model.empty())
    throw UsageError("no model given");
  // Read by the runtime when a thread first allocates, after this.
  setenv("KILN_BUFFER_CACHE_MB", bufferCacheMb.c_str(), 1);

  Metrics metrics;
  std::unique_ptr<DecoderEngine> decoder;
  std::unique_ptr<EncoderEngine> encoder;
  try {
    if (!decoderOptions.decodeModel.empty() || isDecoderArtifact(model)) {
      decoderOptions.model = model;
      decoder = DecoderEngine::create(decoderOptions, metrics);
    } else {
      encoderOptions.model = model;
      encoder = EncoderEngine::create(encoderOptions, metrics);
    }
  } catch (const std::exception &e) {
    fprintf(stderr, "kiln-serve: cannot serve %s: %s\n", model.c_str(),
            e.what());
    return 1;
  }

  if (decoder)
    fprintf(stderr, "kiln-serve: %s (%s batching), %s\n",
            decoder->modelName().c_str(), decoder->batchingMode(),
            decoder->cacheDescription().c_str());
  HttpServer server(decoder.get(), encoder.get(), metrics, httpOptions);
  int port = server.start();
  std::string host = httpOptions.host.find(':') == std::string::npos
                         ? httpOptions.host
                         : "[" + httpOptions.host + "]";
  printf("kiln-serve: listening on http://%s:%d\n", host.c_str(), port);
  fflush(stdout);

  // The signal thread alone unblocks the stop signals; their handler hands
  // the number to it through the pipe (0: the server stopped by itself).
  std::thread signals([&] {
    pthread_sigmask(SIG_UNBLOCK, &stopSignals, nullptr);
    char received = 0;
    while (read(stopPipe[0], &received, 1) < 0 && errno == EINTR) {
    }
    if (received == 0)
      return;
    fprintf(stderr, "kiln-serve: %s, draining (grace %lld ms)\n",
            strsignal(received), static_cast<long long>(grace.count()));
    server.drain(grace);
  });
  server.wait();
  char none = 0;
  (void)!write(stopPipe[1], &none, 1);
  signals.join();
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  // SIGTERM and SIGINT start a drain. They are blocked in every thread but
  // the one that waits for them (in serve), before any thread starts; the
  // handler also keeps a signal that lands elsewhere from killing the
  // process.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);
  if (pipe2(stopPipe, O_CLOEXEC) != 0) {
    perror("kiln-serve: pipe");
    return 1;
  }
  struct sigaction action = {};
  action.sa_handler = onStopSignal;
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  // A client gone mid-write must not kill the server.
  signal(SIGPIPE, SIG_IGN);
  try {
    return serve(argc, argv, stopSignals);
  } catch (const UsageError &e) {
    fprintf(stderr, "kiln-serve: %s\n(see kiln-serve --help)\n", e.what());
    return 2;
  } catch (const std::exception &e) {
    fprintf(stderr, "kiln-serve: %s\n", e.what());
    return 1;
  }
}
