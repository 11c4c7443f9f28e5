//===- EncoderEngine.cpp - Dynamic batching of embeddings -----------------===//
//
// The batcher waits for the first job, then up to max_delay for more, and
// runs up to max_batch of them as one call. With an attention_mask input the
// rows are padded (id 0, mask 0) to the longest; without one, padding would
// change the rows' outputs, so a call takes only the jobs whose length is the
// first one's and the others wait for the next call.
//
//===----------------------------------------------------------------------===//

#include "tools/kiln-serve/EncoderEngine.h"

#include "tools/kiln-serve/JobQueue.h"
#include "tools/kiln-serve/ServedModel.h"

#include <atomic>
#include <cmath>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <thread>

namespace kiln::serve {

namespace {

class EncoderEngineImpl final : public EncoderEngine {
public:
  EncoderEngineImpl(const EncoderOptions &options, Metrics &metrics);
  ~EncoderEngineImpl() override { stop(); }

  int64_t maxLength() const override { return options.maxLength; }
  int64_t vocabSize() const override { return options.vocabSize; }
  int64_t embeddingSize() const override { return hidden; }
  std::string modelName() const override { return model->name(); }

  Admission submit(std::shared_ptr<EmbeddingJob> job) override;
  void drain() override { queue.draining = true; }
  int64_t inFlight() const override { return queue.live.load(); }
  void stop() override;

private:
  void loop();
  std::vector<std::shared_ptr<EmbeddingJob>> takeBatch();
  // The pooled embedding of each job. Throws on a failed run.
  std::vector<std::vector<float>>
  run(const std::vector<std::shared_ptr<EmbeddingJob>> &batch);

  EncoderOptions options;
  Metrics &metrics;
  std::unique_ptr<ServedModel> model;
  int32_t idsInput = -1, maskInput = -1, typesInput = -1, positionsInput = -1;
  int32_t hiddenOutput = -1;
  int64_t hidden = 0;

  JobQueue<EmbeddingJob> queue;
  Clock::duration lastCall{0}; // the last model call's time
  std::thread batcher;
};

EncoderEngineImpl::EncoderEngineImpl(const EncoderOptions &opts, Metrics &m)
    : options(opts), metrics(m) {
  model = std::make_unique<ServedModel>(options.model, options.threads);
  idsInput = model->findInput("input_ids");
  maskInput = model->findInput("attention_mask");
  typesInput = model->findInput("token_type_ids");
  positionsInput = model->findInput("position_ids");
  if (idsInput < 0)
    throw std::runtime_error("'" + model->name() +
                             "' has no input named input_ids");
  for (int32_t i = 0; i < model->numInputs(); ++i)
    if (i != idsInput && i != maskInput && i != typesInput &&
        i != positionsInput)
      throw std::runtime_error(
          "'" + model->name() + "' input '" + model->input(i).name +
          "' is none of input_ids, attention_mask, token_type_ids or "
          "position_ids; kiln-serve does not know what to feed it");
  hiddenOutput = model->findOutput("last_hidden_state");
  for (int32_t o = 0; hiddenOutput < 0 && o < model->numOutputs(); ++o)
    if (model->output(o).rank == 3)
      hiddenOutput = o;
  if (hiddenOutput < 0 || model->output(hiddenOutput).dims[2] < 1)
    throw std::runtime_error("'" + model->name() +
                             "' has no output [batch, seq, hidden] with a "
                             "static hidden size to pool");
  hidden = model->output(hiddenOutput).dims[2];
  batcher = std::thread([this] { loop(); });
}

Admission EncoderEngineImpl::submit(std::shared_ptr<EmbeddingJob> job) {
  return queue.submit(std::move(job), options.maxQueue, metrics);
}

void EncoderEngineImpl::stop() {
  queue.requestStop();
  if (batcher.joinable())
    batcher.join();
  queue.live -= (int64_t)queue.pending.size();
  for (auto &job : queue.pending)
    job->fail(FinishReason::Cancelled, "the server is stopping");
  queue.pending.clear();
}

std::vector<std::shared_ptr<EmbeddingJob>> EncoderEngineImpl::takeBatch() {
  std::unique_lock<std::mutex> lock(queue.mutex);
  queue.wake.wait(lock,
                  [&] { return queue.stopping || !queue.pending.empty(); });
  if (queue.stopping)
    return {};
  // Clients answered by the last call come back within a few milliseconds;
  // when calls are long, waiting 5% of one for them costs little and keeps
  // batches full instead of splitting the clients into two alternating halves.
  auto window = std::max<Clock::duration>(options.maxDelay, lastCall / 20);
  auto until = Clock::now() + window;
  queue.wake.wait_until(lock, until, [&] {
    return queue.stopping || (int64_t)queue.pending.size() >= options.maxBatch;
  });
  std::vector<std::shared_ptr<EmbeddingJob>> batch;
  size_t first = queue.pending.front()->params.tokens.size();
  for (auto it = queue.pending.begin();
       it != queue.pending.end() && (int64_t)batch.size() < options.maxBatch;) {
    if (maskInput >= 0 || (*it)->params.tokens.size() == first) {
      batch.push_back(std::move(*it));
      it = queue.pending.erase(it);
    } else {
      ++it;
    }
  }
  metrics.queueDepth = (int64_t)queue.pending.size();
  return batch;
}

void EncoderEngineImpl::loop() {
  for (;;) {
    std::vector<std::shared_ptr<EmbeddingJob>> batch = takeBatch();
    if (batch.empty())
      return;
    std::vector<std::shared_ptr<EmbeddingJob>> runnable, cancelled, expired;
    for (auto &job : batch)
      (job->cancelled()                      ? cancelled
       : Clock::now() > job->params.deadline ? expired
                                             : runnable)
          .push_back(job);
    std::vector<std::vector<float>> embeddings;
    std::string error;
    if (!runnable.empty()) {
      try {
        embeddings = run(runnable);
      } catch (const std::exception &e) {
        error = e.what();
      }
    }
    // Counted out before the waiters wake, so inFlight() is 0 once they have.
    queue.live -= (int64_t)batch.size();
    for (auto &job : cancelled)
      job->fail(FinishReason::Cancelled, "the client went away");
    for (auto &job : expired)
      job->fail(FinishReason::Deadline, "the request's deadline passed");
    for (size_t r = 0; r < runnable.size(); ++r) {
      if (error.empty())
        runnable[r]->complete(std::move(embeddings[r]));
      else
        runnable[r]->fail(FinishReason::Error, error);
    }
  }
}

std::vector<std::vector<float>> EncoderEngineImpl::run(
    const std::vector<std::shared_ptr<EmbeddingJob>> &batch) {
  int64_t real = (int64_t)batch.size(), seq = 0;
  for (const auto &job : batch)
    seq = std::max<int64_t>(seq, (int64_t)job->params.tokens.size());
  int64_t rows = real;
  std::vector<int64_t> ids(rows * seq, 0), mask(rows * seq, 0),
      types(rows * seq, 0), positions(rows * seq, 0);
  for (int64_t r = 0; r < rows; ++r) {
    const std::vector<int64_t> &tokens = batch[r]->params.tokens;
    for (size_t j = 0; j < tokens.size(); ++j) {
      ids[r * seq + j] = tokens[j];
      mask[r * seq + j] = 1;
      positions[r * seq + j] = (int64_t)j;
    }
  }
  std::vector<OwnedTensor> owned(model->numInputs());
  std::vector<kiln_tensor> inputs(model->numInputs());
  for (int32_t i = 0; i < model->numInputs(); ++i) {
    auto dtype = static_cast<kiln_dtype>(model->input(i).dtype);
    const std::vector<int64_t> &values = i == idsInput     ? ids
                                         : i == maskInput  ? mask
                                         : i == typesInput ? types
                                                           : positions;
    owned[i] = OwnedTensor::ints(dtype, {rows, seq}, values);
    inputs[i] = owned[i].view();
  }
  kiln_tensor *outputs = nullptr;
  size_t numOutputs = 0;
  auto start = Clock::now();
  model->check(kiln_session_run_alloc(model->session(), inputs.data(),
                                      inputs.size(), &outputs, &numOutputs),
               "encoder run");
  {
    std::lock_guard<std::mutex> lock(queue.mutex);
    lastCall = Clock::now() - start;
  }
  metrics.batchSize.observe((double)rows);
  const kiln_tensor &states = outputs[hiddenOutput];
  if (states.dtype != KILN_DTYPE_F32)
    throw std::runtime_error("the encoder's hidden states are not f32");
  const float *data = static_cast<const float *>(states.data);
  std::vector<std::vector<float>> embeddings;
  for (int64_t r = 0; r < real; ++r) {
    const EmbeddingParams &params = batch[r]->params;
    int64_t n = (int64_t)params.tokens.size();
    std::vector<double> sum(hidden, 0.0);
    int64_t first = 0, count = params.pooling == Pooling::Cls ? 1 : n;
    for (int64_t j = first; j < first + count; ++j)
      for (int64_t h = 0; h < hidden; ++h)
        sum[h] += data[(r * seq + j) * hidden + h];
    std::vector<float> embedding(hidden);
    double norm = 0;
    for (int64_t h = 0; h < hidden; ++h) {
      embedding[h] = (float)(sum[h] / (double)count);
      norm += (double)embedding[h] * embedding[h];
    }
    if (params.normalize && norm > 0)
      for (float &x : embedding)
        x = (float)(x / std::sqrt(norm));
    embeddings.push_back(std::move(embedding));
  }
  return embeddings;
}

} // namespace

std::unique_ptr<EncoderEngine> EncoderEngine::create(const EncoderOptions &o,
                                                     Metrics &metrics) {
  if (o.maxBatch < 1 || o.maxQueue < 0)
    throw std::runtime_error("--max-batch must be >= 1 and --max-queue >= 0");
  try {
    return std::make_unique<EncoderEngineImpl>(o, metrics);
  } catch (const ToolError &e) {
    throw std::runtime_error(e.what());
  }
}

bool isDecoderArtifact(const std::string &path) {
  try {
    ServedModel model(path, 1);
    return isDecoderModel(model);
  } catch (const ToolError &e) {
    throw std::runtime_error(e.what());
  }
}

} // namespace kiln::serve
