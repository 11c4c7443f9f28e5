//===- Requests.cpp - Parse and validate kiln-serve's requests ------------===//

#include "tools/kiln-serve/Requests.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <limits>
#include <new>

namespace kiln::serve {

namespace {

using json = nlohmann::json;

// Real requests nest three levels ({"prompt": [[...]]}); anything much deeper
// is refused before parsing, since copying or printing a json value recurses.
constexpr int kMaxDepth = 32;
constexpr int64_t kMaxTimeoutMs = 24 * 3600 * 1000;

// Thrown inside this file only; parse*Request turns it into `error`.
struct Invalid {
  std::string message;
};

[[noreturn]] void fail(const std::string &where, const std::string &what) {
  throw Invalid{where + ": " + what};
}

// The value as a message shows it: scalars in JSON, long strings cut, and
// containers by kind only.
std::string describe(const json &value) {
  switch (value.type()) {
  case json::value_t::array:
    return "an array";
  case json::value_t::object:
    return "an object";
  case json::value_t::string: {
    const auto &text = value.get_ref<const json::string_t &>();
    constexpr size_t kShown = 40;
    if (text.size() <= kShown)
      return value.dump(-1, ' ', false, json::error_handler_t::replace);
    return json(text.substr(0, kShown))
               .dump(-1, ' ', false, json::error_handler_t::replace) +
           "...";
  }
  default:
    return value.dump(-1, ' ', false, json::error_handler_t::replace);
  }
}

bool isInteger(const json &value) { return value.is_number_integer(); }

// The parser stores every non-negative integer as unsigned, negative ones as
// signed.
bool isNegative(const json &value) {
  return value.is_number_integer() && !value.is_number_unsigned() &&
         value.get<int64_t>() < 0;
}

// Depth of the deepest array or object, strings skipped, stopping early.
bool nestsTooDeep(std::string_view body) {
  int depth = 0;
  bool inString = false, escaped = false;
  for (char c : body) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
    } else if (c == '"') {
      inString = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth)
        return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

json parseBody(std::string_view body) {
  if (nestsTooDeep(body))
    fail("request body",
         "nested deeper than " + std::to_string(kMaxDepth) + " levels");
  if (body.find_first_not_of(" \t\r\n") == std::string_view::npos)
    fail("request body", "empty; expected a JSON object");
  json document;
  try {
    document = json::parse(body.begin(), body.end());
  } catch (const json::parse_error &error) {
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string message = error.what();
    if (auto end = message.find("] "); end != std::string::npos)
      message = message.substr(end + 2);
    fail("request body", "not valid JSON: " + message);
  }
  if (!document.is_object())
    fail("request body", "expected a JSON object, got " + describe(document));
  return document;
}

// The member `name` of `body`, or null when absent or null.
const json &member(const json &body, const char *name) {
  static const json null;
  auto it = body.find(name);
  return it == body.end() ? null : *it;
}

int64_t tokenId(const json &value, const std::string &where,
                const RequestLimits &limits) {
  if (!isInteger(value))
    fail(where, "expected a token id (an integer), got " + describe(value));
  bool negative = isNegative(value);
  uint64_t id = negative ? 0 : value.get<uint64_t>();
  if (limits.vocabSize > 0 &&
      (negative || id >= static_cast<uint64_t>(limits.vocabSize)))
    fail(where, "token id " + describe(value) +
                    " is outside the vocabulary (0.." +
                    std::to_string(limits.vocabSize - 1) + ")");
  if (negative)
    fail(where, "token id " + describe(value) + " is negative");
  if (id > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    fail(where, "token id " + describe(value) + " is too large");
  return static_cast<int64_t>(id);
}

// `value`: one sequence of token ids, at most `maxTokens` of them (0: any).
std::vector<int64_t> tokenSequence(const json &value, const std::string &where,
                                   const RequestLimits &limits,
                                   int64_t maxTokens,
                                   const std::string &tooLong) {
  if (!value.is_array())
    fail(where, "expected an array of token ids, got " + describe(value));
  if (value.empty())
    fail(where, "must not be empty");
  if (maxTokens > 0 && static_cast<int64_t>(value.size()) > maxTokens)
    fail(where, std::to_string(value.size()) + " tokens " + tooLong);
  std::vector<int64_t> tokens;
  tokens.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i)
    tokens.push_back(
        tokenId(value[i], where + "[" + std::to_string(i) + "]", limits));
  return tokens;
}

// `prompt` or `input`: a token-id array, or a list of them.
std::vector<std::vector<int64_t>>
tokenSequences(const json &value, const char *name, const RequestLimits &limits,
               int64_t maxTokens, const std::string &tooLong) {
  std::string where = name;
  if (value.is_null())
    fail(where, "required (an array of token ids, or a list of them)");
  if (value.is_string() ||
      (value.is_array() && !value.empty() && value[0].is_string()))
    fail(where, "text needs a tokenizer, which kiln-serve does not have; send "
                "token ids (an array of integers, or a list of them)");
  if (!value.is_array())
    fail(where, "expected an array of token ids or a list of them, got " +
                    describe(value));
  if (value.empty())
    fail(where, "must not be empty");
  if (!value[0].is_array())
    return {tokenSequence(value, where, limits, maxTokens, tooLong)};
  if (static_cast<int64_t>(value.size()) > limits.maxInputs)
    fail(where, std::to_string(value.size()) + " sequences; at most " +
                    std::to_string(limits.maxInputs) + " per request");
  std::vector<std::vector<int64_t>> sequences;
  for (size_t i = 0; i < value.size(); ++i)
    sequences.push_back(tokenSequence(value[i],
                                      where + "[" + std::to_string(i) + "]",
                                      limits, maxTokens, tooLong));
  return sequences;
}

int64_t positiveInteger(const json &value, const char *where, int64_t limit,
                        const char *limitName) {
  if (!isInteger(value) || isNegative(value) || value.get<uint64_t>() == 0)
    fail(where, "expected a positive integer, got " + describe(value));
  if (value.get<uint64_t>() > static_cast<uint64_t>(limit))
    fail(where, describe(value) + " is above " + limitName + " of " +
                    std::to_string(limit));
  return value.get<int64_t>();
}

double numberIn(const json &value, const char *where, double low,
                bool lowIncluded, double high) {
  if (!value.is_number())
    fail(where, "expected a number, got " + describe(value));
  double number = value.get<double>();
  if (number < low || (!lowIncluded && number == low) || number > high) {
    char range[96];
    snprintf(range, sizeof(range),
             lowIncluded ? "expected a number from %g to %g, got "
                         : "expected a number above %g and at most %g, got ",
             low, high);
    fail(where, range + describe(value));
  }
  return number;
}

bool boolean(const json &value, const char *where) {
  if (!value.is_boolean())
    fail(where, "expected true or false, got " + describe(value));
  return value.get<bool>();
}

void checkModel(const json &body) {
  const json &model = member(body, "model");
  if (!model.is_null() && !model.is_string())
    fail("model", "expected a string, got " + describe(model));
}

// now + timeout_ms, or the server's default; a server default also bounds
// what a request may ask.
Clock::time_point deadline(const json &body, const RequestLimits &limits,
                           Clock::time_point now) {
  std::chrono::milliseconds timeout = limits.defaultTimeout;
  const json &asked = member(body, "timeout_ms");
  if (!asked.is_null()) {
    std::chrono::milliseconds requested{positiveInteger(
        asked, "timeout_ms", kMaxTimeoutMs, "the longest timeout (one day)")};
    if (timeout.count() == 0 || requested < timeout)
      timeout = requested;
  }
  return timeout.count() == 0 ? Clock::time_point::max() : now + timeout;
}

std::vector<int64_t> stopIds(const json &value, const RequestLimits &limits) {
  if (value.is_null())
    return {};
  if (value.is_string() ||
      (value.is_array() && !value.empty() && value[0].is_string()))
    fail("stop", "stop strings need a tokenizer, which kiln-serve does not "
                 "have; send token ids");
  if (isInteger(value))
    return {tokenId(value, "stop", limits)};
  if (!value.is_array())
    fail("stop",
         "expected a token id or an array of them, got " + describe(value));
  if (static_cast<int64_t>(value.size()) > limits.maxStopIds)
    fail("stop", std::to_string(value.size()) + " ids; at most " +
                     std::to_string(limits.maxStopIds));
  std::vector<int64_t> ids;
  for (size_t i = 0; i < value.size(); ++i)
    ids.push_back(tokenId(value[i], "stop[" + std::to_string(i) + "]", limits));
  return ids;
}

CompletionRequest completion(std::string_view text, const RequestLimits &limits,
                             Clock::time_point now) {
  json body = parseBody(text);
  checkModel(body);
  CompletionParams common;
  if (const json &n = member(body, "n");
      !n.is_null() &&
      !(isInteger(n) && !isNegative(n) && n.get<uint64_t>() == 1))
    fail("n", "only 1 completion per prompt is supported, got " + describe(n));
  if (const json &v = member(body, "max_tokens"); !v.is_null())
    common.maxTokens = positiveInteger(v, "max_tokens", limits.maxTokens,
                                       "this server's limit");
  if (const json &v = member(body, "temperature"); !v.is_null())
    common.temperature =
        static_cast<float>(numberIn(v, "temperature", 0, true, 2));
  if (const json &v = member(body, "top_k"); !v.is_null()) {
    if (!isInteger(v) || isNegative(v))
      fail("top_k", "expected a non-negative integer, got " + describe(v));
    // A cut above the vocabulary is no cut.
    uint64_t k = v.get<uint64_t>();
    uint64_t vocab = limits.vocabSize > 0 ? limits.vocabSize : INT64_MAX;
    common.topK = k >= vocab ? 0 : static_cast<int64_t>(k);
  }
  if (const json &v = member(body, "top_p"); !v.is_null())
    common.topP = static_cast<float>(numberIn(v, "top_p", 0, false, 1));
  if (const json &v = member(body, "seed"); !v.is_null()) {
    if (!v.is_number_unsigned())
      fail("seed",
           "expected a non-negative integer below 2^64, got " + describe(v));
    common.seed = v.get<uint64_t>();
  }
  common.stop = stopIds(member(body, "stop"), limits);
  common.deadline = deadline(body, limits, now);

  CompletionRequest request;
  if (const json &v = member(body, "stream"); !v.is_null())
    request.stream = boolean(v, "stream");

  // A prompt leaves room for at least one generated token.
  int64_t longest = limits.maxLength > 0 ? limits.maxLength - 1 : 0;
  std::string tooLong =
      "do not fit the KV cache of " + std::to_string(limits.maxLength) +
      " positions (a prompt may hold " + std::to_string(longest) +
      " tokens, leaving one for the completion)";
  for (auto &prompt : tokenSequences(
           member(body, "prompt"), "prompt", limits,
           limits.maxLength > 0 ? std::max<int64_t>(longest, 1) : 0, tooLong)) {
    CompletionParams params = common;
    params.prompt = std::move(prompt);
    request.prompts.push_back(std::move(params));
  }
  return request;
}

EmbeddingRequest embedding(std::string_view text, const RequestLimits &limits,
                           Clock::time_point now) {
  json body = parseBody(text);
  checkModel(body);
  EmbeddingParams common;
  if (const json &v = member(body, "pooling"); !v.is_null()) {
    if (v == "mean")
      common.pooling = Pooling::Mean;
    else if (v == "cls")
      common.pooling = Pooling::Cls;
    else
      fail("pooling", "expected \"mean\" or \"cls\", got " + describe(v));
  }
  if (const json &v = member(body, "normalize"); !v.is_null())
    common.normalize = boolean(v, "normalize");
  if (const json &v = member(body, "encoding_format");
      !v.is_null() && v != "float")
    fail("encoding_format", "only \"float\" is supported, got " + describe(v));
  common.deadline = deadline(body, limits, now);

  EmbeddingRequest request;
  std::string tooLong = "are longer than this model's " +
                        std::to_string(limits.maxLength) + " positions";
  for (auto &input : tokenSequences(member(body, "input"), "input", limits,
                                    limits.maxLength, tooLong)) {
    EmbeddingParams params = common;
    params.tokens = std::move(input);
    request.inputs.push_back(std::move(params));
  }
  return request;
}

template <typename T, typename Parse> Parsed<T> guarded(Parse parse) {
  Parsed<T> result;
  try {
    result.request = parse();
  } catch (const Invalid &invalid) {
    result.error = invalid.message;
  } catch (const std::bad_alloc &) {
    result.error = "request body: too large to parse";
  } catch (const std::exception &error) {
    result.error = std::string("request body: ") + error.what();
  } catch (...) {
    result.error = "request body: could not be parsed";
  }
  if (!result.ok())
    result.request = T{};
  return result;
}

} // namespace

Parsed<CompletionRequest> parseCompletionRequest(std::string_view body,
                                                 const RequestLimits &limits,
                                                 Clock::time_point now) {
  return guarded<CompletionRequest>(
      [&] { return completion(body, limits, now); });
}

Parsed<EmbeddingRequest> parseEmbeddingRequest(std::string_view body,
                                               const RequestLimits &limits,
                                               Clock::time_point now) {
  return guarded<EmbeddingRequest>(
      [&] { return embedding(body, limits, now); });
}

} // namespace kiln::serve
