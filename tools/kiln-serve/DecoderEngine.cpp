//===- DecoderEngine.cpp - Continuous batching of completions -------------===//
//
// Two ways to batch, chosen from the artifact's signature (docs/serving.md):
//
// continuous   one graph with past inputs, attention_mask and position_ids
//              (as Optimum writes it). All live sequences share one KV cache
//              of max_batch rows, left-padded: each row's positions end at
//              the cache's length, the mask hides the padding and each row
//              gets its own position. A new sequence's prefill runs alone
//              (batch 1, empty past) and its present is written into a free
//              row; every step then decodes all rows in one call.
// per-sequence a graph without the mask or the positions, or a prefill and a
//              decode artifact (as the legacy exporter writes them): padding
//              would shift positions the model computes itself, so each
//              sequence keeps a batch-1 cache and a step calls the model once
//              per sequence. New sequences still join at the next step.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-serve/DecoderEngine.h"

#include "tools/kiln-serve/JobQueue.h"
#include "tools/kiln-serve/Sampler.h"
#include "tools/kiln-serve/ServedModel.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <deque>
#include <optional>
#include <stdexcept>
#include <thread>

namespace kiln::serve {

namespace {

constexpr int64_t kDefaultCapacity = 512;
// Prompt tokens (padding included) prefilled in one call: new sequences join
// together, but running ones do not wait for an unbounded prefill.
constexpr int64_t kMaxPrefillTokens = 1024;

double secondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

struct Slot {
  std::shared_ptr<CompletionJob> job;
  Sampler sampler;
  int64_t length = 0;    // positions of this sequence in its cache
  int64_t lastToken = 0; // sampled, not yet in the cache
  int64_t generated = 0;
  Clock::time_point lastTime;
  kiln_kv_cache *cache = nullptr; // per-sequence mode only
};

class DecoderEngineImpl final : public DecoderEngine {
public:
  DecoderEngineImpl(const DecoderOptions &options, Metrics &metrics);
  ~DecoderEngineImpl() override { stop(); }

  int64_t vocabSize() const override { return vocab; }
  int64_t maxLength() const override { return capacity; }
  const char *batchingMode() const override {
    return continuous ? "continuous" : "per-sequence";
  }
  std::string modelName() const override { return prefill->name(); }
  std::string cacheDescription() const override;

  Admission submit(std::shared_ptr<CompletionJob> job) override;
  void drain() override { queue.draining = true; }
  int64_t inFlight() const override { return queue.live.load(); }
  void stop() override;

private:
  void checkSignature();
  void loop();
  void reap();
  void admit();
  void stepContinuous();
  void stepPerSequence();
  // One step of ids.size() sequences through `cache`: ids and positions one
  // per row, the attention mask row after row; stepLogits gets
  // [rows, vocab].
  kiln_status runStep(kiln_kv_cache *cache, const std::vector<int64_t> &ids,
                      const std::vector<int64_t> &positions,
                      const std::vector<int64_t> &mask);

  // One prefilled prompt: its last logits and its presents (batch 1, one
  // per KV pair, only the prompt's own positions): views of the prefill's
  // outputs, which the session owns until its next run.
  struct Prefilled {
    std::vector<float> logits;
    std::vector<kiln_tensor> presents;
    std::vector<std::vector<int64_t>> dims; // each present's
    std::vector<kiln_tensor> views() {
      std::vector<kiln_tensor> v = presents;
      for (size_t k = 0; k < v.size(); ++k)
        v[k].dims = dims[k].data();
      return v;
    }
  };
  // Runs the prompts as one call, left-padded to the longest with the
  // attention mask (several prompts need the mask and the positions).
  std::vector<Prefilled>
  runPrefill(const std::vector<std::shared_ptr<CompletionJob>> &jobs);
  // Takes waiting jobs for the free slots: at most one unless the graph can
  // pad, and no more than kMaxPrefillTokens padded tokens.
  std::vector<std::shared_ptr<CompletionJob>> takeAdmissions();
  // Samples and publishes a token; the reason the sequence ends, if it does.
  std::optional<FinishReason> advance(Slot &slot, const float *logits);
  // Finishes a job that never got a slot.
  void reject(const std::shared_ptr<CompletionJob> &job, FinishReason reason,
              std::string error = {});
  void retire(size_t index, FinishReason reason, std::string error = {});
  void failAll(const std::string &error);

  DecoderOptions options;
  Metrics &metrics;
  std::unique_ptr<ServedModel> prefill; // the only model unless --decode
  std::unique_ptr<ServedModel> decodeOwned;
  ServedModel *decode = nullptr;
  bool continuous = false;
  int64_t vocab = 0, capacity = 0;
  int32_t idsInput = -1, maskInput = -1, positionsInput = -1;
  int32_t decodeIds = -1, decodeMask = -1, decodePositions = -1;
  int32_t logitsOutput = -1, decodeLogits = -1;
  std::vector<int32_t> presentOutputs; // prefill output of each KV pair
  std::vector<float> stepLogits;       // runStep's, [rows, vocab]

  kiln_kv_cache *shared = nullptr; // continuous mode
  std::vector<Slot> slots;         // continuous: slot i is cache row i

  JobQueue<CompletionJob> queue;
  std::thread scheduler;
};

DecoderEngineImpl::DecoderEngineImpl(const DecoderOptions &opts, Metrics &m)
    : options(opts), metrics(m) {
  prefill = std::make_unique<ServedModel>(options.model, options.threads);
  if (!options.decodeModel.empty()) {
    decodeOwned =
        std::make_unique<ServedModel>(options.decodeModel, options.threads);
    decode = decodeOwned.get();
  } else {
    decode = prefill.get();
  }
  checkSignature();
  scheduler = std::thread([this] { loop(); });
}

void DecoderEngineImpl::checkSignature() {
  const kiln_abi_model &dm = decode->model();
  if (dm.num_kv_pairs == 0)
    throw std::runtime_error(
        "'" +
        (options.decodeModel.empty() ? options.model : options.decodeModel) +
        "' has no KV-cache pairs (past inputs whose present outputs are "
        "Concat(past, new)); a decoder is served from a graph with past "
        "inputs, or from a prefill artifact plus --decode DECODE.so");
  if (decodeOwned && prefill->model().num_kv_pairs > 0)
    throw std::runtime_error("with --decode, MODEL must be the prefill graph "
                             "(no past inputs); '" +
                             options.model + "' has past inputs");
  auto idsOf = [](ServedModel &model) {
    int32_t i = model.findInput("input_ids");
    if (i < 0)
      throw std::runtime_error("'" + model.name() +
                               "' has no input named input_ids");
    return i;
  };
  idsInput = idsOf(*prefill);
  decodeIds = idsOf(*decode);
  maskInput = prefill->findInput("attention_mask");
  positionsInput = prefill->findInput("position_ids");
  decodeMask = decode->findInput("attention_mask");
  decodePositions = decode->findInput("position_ids");
  for (ServedModel *model : {prefill.get(), decode}) {
    for (int32_t i = 0; i < model->numInputs(); ++i) {
      const char *name = model->input(i).name;
      if (model->pairOfInput(i) < 0 && strcmp(name, "input_ids") != 0 &&
          strcmp(name, "attention_mask") != 0 &&
          strcmp(name, "position_ids") != 0)
        throw std::runtime_error(
            "'" + model->name() + "' input '" + name +
            "' is none of input_ids, attention_mask, position_ids or a past "
            "input; kiln-serve does not know what to feed it");
    }
  }
  auto logitsOf = [](ServedModel &model) {
    int32_t o = model.findOutput("logits");
    if (o < 0)
      o = 0;
    const kiln_abi_tensor &t = model.output(o);
    if (t.rank != 3 || t.dims[2] < 1)
      throw std::runtime_error("'" + model.name() + "' output '" + t.name +
                               "' is not logits [batch, seq, vocab] with a "
                               "static vocab");
    return o;
  };
  logitsOutput = logitsOf(*prefill);
  decodeLogits = logitsOf(*decode);
  vocab = prefill->output(logitsOutput).dims[2];
  if (decode->output(decodeLogits).dims[2] != vocab)
    throw std::runtime_error("the prefill and decode graphs disagree on the "
                             "vocabulary");
  for (int32_t k = 0; k < dm.num_kv_pairs; ++k) {
    const char *name = dm.outputs[dm.kv_pairs[k].output].name;
    int32_t o = decodeOwned ? prefill->findOutput(name) : dm.kv_pairs[k].output;
    if (o < 0)
      throw std::runtime_error("the prefill graph has no output '" +
                               std::string(name) +
                               "' for the decode graph's KV pair");
    presentOutputs.push_back(o);
  }
  if (decode->numOutputs() != dm.num_kv_pairs + 1)
    throw std::runtime_error("'" + decode->name() +
                             "' has outputs besides logits and the presents "
                             "of its KV pairs; kiln-serve reads only those");
  capacity = options.kvCapacity > 0 ? options.kvCapacity : kDefaultCapacity;
  continuous = !decodeOwned && maskInput >= 0 && positionsInput >= 0;
  if (continuous) {
    decode->check(kiln_kv_cache_create(decode->session(), options.maxBatch,
                                       capacity, &shared),
                  "creating the KV cache");
  }
}

std::string DecoderEngineImpl::cacheDescription() const {
  const kiln_abi_model &dm = decode->model();
  const int64_t rows = continuous ? options.maxBatch : 1;
  double bytes = 0;
  std::string dtype;
  for (int32_t k = 0; k < dm.num_kv_pairs; ++k) {
    const kiln_abi_tensor &t = decode->input(dm.kv_pairs[k].input);
    double n = (double)kiln_dtype_size(static_cast<kiln_dtype>(t.dtype));
    for (int32_t d = 0; d < t.rank; ++d)
      n *= d == dm.kv_pairs[k].axis ? capacity : d == 0 ? rows : t.dims[d];
    bytes += n;
    std::string name = kiln_dtype_name(static_cast<kiln_dtype>(t.dtype));
    if (dtype.empty())
      dtype = name;
    else if (dtype != name)
      dtype = "mixed";
  }
  char text[160];
  if (continuous)
    snprintf(text, sizeof(text),
             "KV cache: %lld rows x %lld positions, %s, %.1f MB",
             (long long)rows, (long long)capacity, dtype.c_str(), bytes / 1e6);
  else
    snprintf(text, sizeof(text),
             "KV caches: one per sequence of %lld positions, %s, %.1f MB each",
             (long long)capacity, dtype.c_str(), bytes / 1e6);
  return text;
}

Admission DecoderEngineImpl::submit(std::shared_ptr<CompletionJob> job) {
  return queue.submit(std::move(job), options.maxQueue, metrics);
}

void DecoderEngineImpl::stop() {
  {
    std::lock_guard<std::mutex> lock(queue.mutex);
    if (queue.stopping && !scheduler.joinable())
      return;
    queue.stopping = true;
  }
  queue.wake.notify_one();
  if (scheduler.joinable())
    scheduler.join();
  for (auto &job : queue.pending)
    reject(job, FinishReason::Cancelled, "the server is stopping");
  queue.pending.clear();
  while (!slots.empty())
    retire(slots.size() - 1, FinishReason::Cancelled, "the server is stopping");
  kiln_kv_cache_destroy(shared);
  shared = nullptr;
}

void DecoderEngineImpl::loop() {
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(queue.mutex);
      queue.wake.wait(lock, [&] {
        return queue.stopping || !queue.pending.empty() || !slots.empty();
      });
      if (queue.stopping)
        return;
    }
    reap();
    admit();
    if (slots.empty())
      continue;
    if (continuous)
      stepContinuous();
    else
      stepPerSequence();
  }
}

void DecoderEngineImpl::retire(size_t index, FinishReason reason,
                               std::string error) {
  std::shared_ptr<CompletionJob> job = std::move(slots[index].job);
  kiln_kv_cache_destroy(slots[index].cache);
  size_t last = slots.size() - 1;
  if (index != last) {
    if (continuous)
      kiln_kv_cache_copy_row(shared, (int64_t)last, (int64_t)index);
    slots[index] = std::move(slots[last]);
  }
  slots.pop_back();
  metrics.activeSequences = (int64_t)slots.size();
  // Counted out before the waiter wakes, so inFlight() is 0 once it has.
  --queue.live;
  job->finish(reason, std::move(error));
}

void DecoderEngineImpl::reject(const std::shared_ptr<CompletionJob> &job,
                               FinishReason reason, std::string error) {
  --queue.live;
  job->finish(reason, std::move(error));
}

void DecoderEngineImpl::reap() {
  auto now = Clock::now();
  for (size_t i = slots.size(); i-- > 0;) {
    if (slots[i].job->cancelled())
      retire(i, FinishReason::Cancelled);
    else if (now > slots[i].job->params.deadline)
      retire(i, FinishReason::Deadline, "the request's deadline passed");
  }
}

std::vector<DecoderEngineImpl::Prefilled> DecoderEngineImpl::runPrefill(
    const std::vector<std::shared_ptr<CompletionJob>> &jobs) {
  int64_t rows = (int64_t)jobs.size(), n = 0;
  for (const auto &job : jobs)
    n = std::max<int64_t>(n, (int64_t)job->params.prompt.size());
  std::vector<int64_t> ids(rows * n, 0), mask(rows * n, 0),
      positions(rows * n, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<int64_t> &prompt = jobs[r]->params.prompt;
    int64_t pad = n - (int64_t)prompt.size();
    for (int64_t j = pad; j < n; ++j) {
      ids[r * n + j] = prompt[j - pad];
      mask[r * n + j] = 1;
      positions[r * n + j] = j - pad;
    }
  }
  const kiln_abi_model &pm = prefill->model();
  std::vector<OwnedTensor> owned(prefill->numInputs());
  std::vector<kiln_tensor> inputs(prefill->numInputs());
  for (int32_t i = 0; i < prefill->numInputs(); ++i) {
    const kiln_abi_tensor &sig = prefill->input(i);
    auto dtype = static_cast<kiln_dtype>(sig.dtype);
    if (i == idsInput)
      owned[i] = OwnedTensor::ints(dtype, {rows, n}, ids);
    else if (i == maskInput)
      owned[i] = OwnedTensor::ints(dtype, {rows, n}, mask);
    else if (i == positionsInput)
      owned[i] = OwnedTensor::ints(dtype, {rows, n}, positions);
    else { // an empty past
      owned[i].dtype = dtype;
      owned[i].dims.assign(sig.dims, sig.dims + sig.rank);
      owned[i].dims[0] = rows;
      owned[i].dims[pm.kv_pairs[prefill->pairOfInput(i)].axis] = 0;
    }
    inputs[i] = owned[i].view();
  }
  kiln_tensor *outputs = nullptr;
  size_t numOutputs = 0;
  const Clock::time_point start = Clock::now();
  prefill->check(kiln_session_run_alloc(prefill->session(), inputs.data(),
                                        inputs.size(), &outputs, &numOutputs),
                 "prefill");
  metrics.prefillSeconds.observe(secondsSince(start));
  metrics.prefillPrompts.observe((double)rows);
  metrics.batchSize.observe((double)rows);
  const kiln_abi_model &dm = decode->model();
  std::vector<Prefilled> result(rows);
  const kiln_tensor &logits = outputs[logitsOutput];
  int64_t logitRows = logits.dims[1];
  for (int64_t r = 0; r < rows; ++r) {
    const float *last = static_cast<const float *>(logits.data) +
                        (r * logitRows + logitRows - 1) * vocab;
    result[r].logits.assign(last, last + vocab);
  }
  // Each row's own positions of each present, [1, ..., p, ...], where the
  // row lies in the output: a row left-padded to the longest prompt moves
  // its last p positions of each outer index to the front of its block
  // (forward, so no source is overwritten before it is read), and a full
  // row is already so. The cache copies them once (kiln_kv_cache_write_row
  // or _set), where a copy per row first cost 9 ms of a 15-row prefill's
  // 59 (GPT-2 small int8, 32-token prompts).
  for (size_t k = 0; k < presentOutputs.size(); ++k) {
    const kiln_tensor &t = outputs[presentOutputs[k]];
    int32_t axis = dm.kv_pairs[k].axis;
    size_t elem = kiln_dtype_size(t.dtype);
    int64_t outer = 1, inner = 1;
    for (int32_t d = 1; d < axis; ++d)
      outer *= t.dims[d];
    for (int32_t d = axis + 1; d < t.rank; ++d)
      inner *= t.dims[d];
    int64_t total = t.dims[axis];
    for (int64_t r = 0; r < rows; ++r) {
      int64_t p = (int64_t)jobs[r]->params.prompt.size();
      char *block = static_cast<char *>(t.data) +
                    (size_t)(r * outer * total * inner) * elem;
      if (p != total)
        for (int64_t o = 0; o < outer; ++o)
          memmove(block + (size_t)(o * p * inner) * elem,
                  block + (size_t)((o * total + total - p) * inner) * elem,
                  (size_t)(p * inner) * elem);
      std::vector<int64_t> dims(t.dims, t.dims + t.rank);
      dims[0] = 1;
      dims[axis] = p;
      result[r].presents.push_back({t.dtype, t.rank, nullptr, block,
                                    (size_t)(outer * p * inner) * elem});
      result[r].dims.push_back(std::move(dims));
    }
  }
  return result;
}

std::optional<FinishReason> DecoderEngineImpl::advance(Slot &slot,
                                                       const float *logits) {
  int64_t token = slot.sampler.next(logits, vocab);
  auto now = Clock::now();
  const CompletionParams &params = slot.job->params;
  if (slot.generated == 0)
    metrics.timeToFirstToken.observe(secondsSince(slot.job->created));
  else
    metrics.interTokenLatency.observe(
        std::chrono::duration<double>(now - slot.lastTime).count());
  slot.lastTime = now;
  metrics.tokensGenerated(1);
  if (std::find(params.stop.begin(), params.stop.end(), token) !=
      params.stop.end())
    return FinishReason::Stop;
  slot.job->pushToken(token);
  slot.lastToken = token;
  ++slot.generated;
  if (slot.generated >= params.maxTokens || slot.length >= capacity)
    return FinishReason::Length;
  return std::nullopt;
}

std::vector<std::shared_ptr<CompletionJob>>
DecoderEngineImpl::takeAdmissions() {
  std::vector<std::shared_ptr<CompletionJob>> taken;
  int64_t longest = 0;
  std::lock_guard<std::mutex> lock(queue.mutex);
  while (!queue.pending.empty() &&
         (int64_t)(slots.size() + taken.size()) < options.maxBatch) {
    std::shared_ptr<CompletionJob> &job = queue.pending.front();
    int64_t n = (int64_t)job->params.prompt.size();
    bool usable = !job->cancelled() && Clock::now() <= job->params.deadline &&
                  n < capacity;
    if (usable && !taken.empty() &&
        (!continuous || (int64_t)(taken.size() + 1) * std::max(longest, n) >
                            kMaxPrefillTokens))
      break;
    if (usable)
      longest = std::max(longest, n);
    taken.push_back(std::move(job));
    queue.pending.pop_front();
  }
  metrics.queueDepth = (int64_t)queue.pending.size();
  return taken;
}

void DecoderEngineImpl::admit() {
  for (;;) {
    std::vector<std::shared_ptr<CompletionJob>> jobs;
    for (auto &job : takeAdmissions()) {
      int64_t n = (int64_t)job->params.prompt.size();
      if (job->cancelled())
        reject(job, FinishReason::Cancelled);
      else if (Clock::now() > job->params.deadline)
        reject(job, FinishReason::Deadline, "the request's deadline passed");
      else if (n >= capacity)
        reject(job, FinishReason::Error,
               "a prompt of " + std::to_string(n) +
                   " tokens leaves no room in a KV cache of " +
                   std::to_string(capacity) + " positions");
      else
        jobs.push_back(std::move(job));
    }
    if (jobs.empty()) {
      std::lock_guard<std::mutex> lock(queue.mutex);
      if (queue.pending.empty() || (int64_t)slots.size() >= options.maxBatch)
        return;
      continue;
    }
    std::vector<Prefilled> prefilled;
    try {
      prefilled = runPrefill(jobs);
    } catch (const std::exception &e) {
      for (auto &job : jobs)
        reject(job, FinishReason::Error, e.what());
      continue;
    }
    for (size_t r = 0; r < jobs.size(); ++r) {
      Slot slot{jobs[r], Sampler(jobs[r]->params)};
      int64_t n = (int64_t)jobs[r]->params.prompt.size();
      slot.length = n;
      try {
        std::vector<kiln_tensor> presents = prefilled[r].views();
        if (continuous) {
          if (slots.empty())
            kiln_kv_cache_set(shared, nullptr, 0);
          int64_t length = kiln_kv_cache_length(shared);
          if (n > length) {
            // Moves the live rows only (see kiln_kv_cache_realign); with none,
            // the one row about to be written, not the rows the last step
            // used (up to --max-batch of them, each cleared).
            decode->check(kiln_kv_cache_use_rows(
                              shared, std::max<int64_t>(1, slots.size())),
                          "use_rows");
            decode->check(kiln_kv_cache_realign(shared, n), "realign");
            length = n;
          }
          decode->check(kiln_kv_cache_write_row(shared, (int64_t)slots.size(),
                                                length - n, presents.data(),
                                                presents.size()),
                        "write_row");
        } else {
          decode->check(
              kiln_kv_cache_create(decode->session(), 1, capacity, &slot.cache),
              "creating a KV cache");
          decode->check(
              kiln_kv_cache_set(slot.cache, presents.data(), presents.size()),
              "kv_cache_set");
        }
        slots.push_back(std::move(slot));
        metrics.activeSequences = (int64_t)slots.size();
        if (auto end = advance(slots.back(), prefilled[r].logits.data()))
          retire(slots.size() - 1, *end);
      } catch (const std::exception &e) {
        kiln_kv_cache_destroy(slot.cache);
        reject(jobs[r], FinishReason::Error, e.what());
      }
    }
  }
}

void DecoderEngineImpl::stepContinuous() {
  int64_t rows = (int64_t)slots.size();
  int64_t length = kiln_kv_cache_length(shared);
  // Drop the padding every row has once it is half the cache, or when the
  // cache is full (every row is shorter than the capacity).
  int64_t longest = 0;
  for (const Slot &s : slots)
    longest = std::max(longest, s.length);
  int64_t pad = length - longest;
  if (pad > 0 && (length + 1 > capacity || 2 * pad >= length)) {
    decode->check(kiln_kv_cache_use_rows(shared, rows), "use_rows");
    decode->check(kiln_kv_cache_realign(shared, longest), "realign");
    length = longest;
  }
  std::vector<int64_t> ids(rows), positions(rows), mask(rows * (length + 1));
  for (int64_t r = 0; r < rows; ++r) {
    ids[r] = slots[r].lastToken;
    positions[r] = slots[r].length;
    for (int64_t j = length - slots[r].length; j <= length; ++j)
      mask[r * (length + 1) + j] = 1;
  }
  const Clock::time_point start = Clock::now();
  kiln_status st = kiln_kv_cache_use_rows(shared, rows);
  if (st == KILN_OK)
    st = runStep(shared, ids, positions, mask);
  metrics.decodeStepSeconds.observe(secondsSince(start));
  if (st != KILN_OK) {
    failAll(std::string("decode step: ") + kiln_status_string(st) + ": " +
            kiln_session_last_error(decode->session()));
    return;
  }
  metrics.batchSize.observe((double)rows);
  for (int64_t r = rows; r-- > 0;) {
    ++slots[r].length;
    if (auto end = advance(slots[r], stepLogits.data() + r * vocab))
      retire(r, *end);
  }
}

kiln_status DecoderEngineImpl::runStep(kiln_kv_cache *cache,
                                       const std::vector<int64_t> &ids,
                                       const std::vector<int64_t> &positions,
                                       const std::vector<int64_t> &mask) {
  int64_t rows = (int64_t)ids.size();
  std::vector<OwnedTensor> owned;
  for (int32_t i = 0; i < decode->numInputs(); ++i) {
    auto dtype = static_cast<kiln_dtype>(decode->input(i).dtype);
    if (i == decodeIds)
      owned.push_back(OwnedTensor::ints(dtype, {rows, 1}, ids));
    else if (i == decodeMask)
      owned.push_back(
          OwnedTensor::ints(dtype, {rows, (int64_t)mask.size() / rows}, mask));
    else if (i == decodePositions)
      owned.push_back(OwnedTensor::ints(dtype, {rows, 1}, positions));
  }
  std::vector<kiln_tensor> inputs;
  for (OwnedTensor &t : owned)
    inputs.push_back(t.view());
  // Kept from step to step: a fresh 16-row GPT-2 buffer is 3.2 MB to map,
  // fault in and clear every step.
  if ((int64_t)stepLogits.size() < rows * vocab)
    stepLogits.resize(rows * vocab);
  std::vector<int64_t> logitDims = {rows, 1, vocab};
  kiln_tensor out = {KILN_DTYPE_F32, 3, logitDims.data(), stepLogits.data(),
                     size_t(rows * vocab) * sizeof(float)};
  return kiln_session_run_cached(decode->session(), cache, inputs.data(),
                                 inputs.size(), &out, 1);
}

void DecoderEngineImpl::stepPerSequence() {
  for (size_t r = slots.size(); r-- > 0;) {
    Slot &slot = slots[r];
    const Clock::time_point start = Clock::now();
    kiln_status st = runStep(slot.cache, {slot.lastToken}, {slot.length},
                             std::vector<int64_t>(slot.length + 1, 1));
    metrics.decodeStepSeconds.observe(secondsSince(start));
    if (st != KILN_OK) {
      retire(r, FinishReason::Error,
             std::string("decode step: ") + kiln_status_string(st) + ": " +
                 kiln_session_last_error(decode->session()));
      continue;
    }
    metrics.batchSize.observe(1);
    ++slot.length;
    if (auto end = advance(slot, stepLogits.data()))
      retire(r, *end);
  }
}

void DecoderEngineImpl::failAll(const std::string &error) {
  while (!slots.empty())
    retire(slots.size() - 1, FinishReason::Error, error);
  if (shared)
    kiln_kv_cache_set(shared, nullptr, 0);
}

} // namespace

std::unique_ptr<DecoderEngine> DecoderEngine::create(const DecoderOptions &o,
                                                     Metrics &metrics) {
  if (o.maxBatch < 1 || o.maxQueue < 0)
    throw std::runtime_error("--max-batch must be >= 1 and --max-queue >= 0");
  try {
    return std::make_unique<DecoderEngineImpl>(o, metrics);
  } catch (const ToolError &e) {
    throw std::runtime_error(e.what());
  }
}

} // namespace kiln::serve
