//===- CudaGraphs.cpp - Runs captured as CUDA graphs and replayed ---------===//
//
// A run's device work is a fixed sequence on the session's one stream:
// kernel launches, device copies and memsets, cuBLASLt matmuls, all on
// buffers bump-allocated from the arena, the uploaded constants and the
// fixed cuBLASLt workspace. Two runs with the same symbol values therefore
// issue the same work on the same addresses, as long as the arena keeps its
// chunk (it is merged only when a run outgrew it, and then every graph is
// dropped). The second such run is captured into a graph and later ones
// launch that graph: one launch instead of one per kernel and GEMM, which is
// what a decode step's tens of small launches cost.
//
// The key also holds the run's input and output device addresses: for
// kiln_session_run they are arena addresses and follow from the symbols,
// for kiln_session_run_device they are the caller's and a graph is replayed
// only for the buffers it was captured with.
//
// Capture uses CU_STREAM_CAPTURE_MODE_THREAD_LOCAL, so that other sessions'
// threads are not affected and an unsafe call on this thread (an allocation,
// a synchronize) fails instead of running. Anything the runtime itself
// cannot put into a graph (a constant upload, a module load, arena growth)
// fails the capture before reaching the driver. A failed capture ran
// nothing: the arena is rewound and the run is made again, plainly.
//
//===----------------------------------------------------------------------===//
#include "CudaSession.h"

#include <stdlib.h>
#include <string.h>

namespace kiln::cuda {

static void releaseSlot(State *s, GraphSlot &slot) {
  if (slot.exec)
    s->driver.cuGraphExecDestroy(slot.exec);
  free(slot.key);
  slot = GraphSlot();
}

void clearGraphs(State *s) {
  for (GraphSlot &slot : s->graphs.slots)
    releaseSlot(s, slot);
}

// Writes the run's key into the scratch buffer; its length, 0 when out of
// host memory.
static size_t buildKey(State *s, const kiln_abi_model *model, void **in,
                       void **out, const int64_t *symbols, bool onDevice) {
  GraphCache &g = s->graphs;
  size_t length = 1 + (size_t)model->num_symbols + (size_t)model->num_inputs +
                  (size_t)model->num_outputs;
  if (length > g.scratchCapacity) {
    void *p = realloc(g.scratch, length * sizeof(int64_t));
    if (!p)
      return 0;
    g.scratch = static_cast<int64_t *>(p);
    g.scratchCapacity = length;
  }
  int64_t *k = g.scratch;
  *k++ = onDevice;
  for (int32_t i = 0; i < model->num_symbols; ++i)
    *k++ = symbols[i];
  for (int32_t i = 0; i < model->num_inputs; ++i)
    *k++ = (int64_t)reinterpret_cast<uintptr_t>(in[i]);
  for (int32_t i = 0; i < model->num_outputs; ++i)
    *k++ = (int64_t)reinterpret_cast<uintptr_t>(out[i]);
  return length;
}

static GraphSlot *findSlot(State *s, size_t length) {
  GraphCache &g = s->graphs;
  for (GraphSlot &slot : g.slots)
    if (slot.key && slot.keyLength == length &&
        memcmp(slot.key, g.scratch, length * sizeof(int64_t)) == 0) {
      slot.lastUse = ++g.clock;
      return &slot;
    }
  return nullptr;
}

// Enters the scratch key as seen once. It takes a free slot, else the least
// recently used key without a graph, else the least recently used graph: keys
// seen once (every step of a decode whose cache length is a symbol is one)
// replace each other rather than the graphs of shapes that repeat.
static void rememberKey(State *s, size_t length) {
  GraphCache &g = s->graphs;
  auto rank = [](const GraphSlot &slot) {
    return !slot.key ? 0 : !slot.exec ? 1 : 2;
  };
  GraphSlot *victim = &g.slots[0];
  for (GraphSlot &slot : g.slots)
    if (rank(slot) < rank(*victim) ||
        (rank(slot) == rank(*victim) && slot.lastUse < victim->lastUse))
      victim = &slot;
  releaseSlot(s, *victim);
  void *key = malloc(length * sizeof(int64_t));
  if (!key)
    return; // then this key is simply not cached
  memcpy(key, g.scratch, length * sizeof(int64_t));
  victim->key = static_cast<int64_t *>(key);
  victim->keyLength = length;
  victim->lastUse = ++g.clock;
}

// Captures the run into `slot` and launches the graph. False when any step
// failed: nothing was run and the arena is as before.
static bool captureAndLaunch(State *s, GraphSlot &slot,
                             const kiln_abi_model *model, void **in, void **out,
                             const int64_t *symbols) {
  const Driver &d = s->driver;
  ArenaMark mark = arenaMark(s);
  if (d.cuStreamBeginCapture(s->stream, CU_STREAM_CAPTURE_MODE_THREAD_LOCAL))
    return false;
  s->capturing = true;
  callModel(s, model, in, out, symbols);
  s->capturing = false;
  // Always end the capture, even after a failure, so the stream is usable.
  CUgraph graph = nullptr;
  CUresult ended = d.cuStreamEndCapture(s->stream, &graph);
  CUgraphExec exec = nullptr;
  bool ok = !s->failed && ended == CUDA_SUCCESS && graph &&
            d.cuGraphInstantiate(&exec, graph, 0) == CUDA_SUCCESS;
  if (graph)
    d.cuGraphDestroy(graph);
  if (ok && d.cuGraphLaunch(exec, s->stream) != CUDA_SUCCESS)
    ok = false;
  if (!ok) {
    if (exec)
      d.cuGraphExecDestroy(exec);
    s->failed = false;
    s->error[0] = '\0';
    arenaRewind(s, mark);
    return false;
  }
  slot.exec = exec;
  return true;
}

void runModel(State *s, const kiln_abi_model *model, void **in, void **out,
              const int64_t *symbols, bool onDevice) {
  size_t length =
      s->graphsEnabled ? buildKey(s, model, in, out, symbols, onDevice) : 0;
  GraphSlot *slot = length ? findSlot(s, length) : nullptr;
  if (slot && slot->exec) {
    if (s->driver.cuGraphLaunch(slot->exec, s->stream) == CUDA_SUCCESS)
      return;
    releaseSlot(s, *slot); // nothing was launched: run plainly
    slot = nullptr;
  } else if (slot && !slot->captureFailed) {
    if (captureAndLaunch(s, *slot, model, in, out, symbols))
      return;
    slot->captureFailed = true;
  }
  callModel(s, model, in, out, symbols);
  if (length && !slot && !s->failed)
    rememberKey(s, length);
}

} // namespace kiln::cuda
