//===- KilnModule.cpp - Python bindings for the Kiln runtime --------------===//
//
// kiln._kiln, wrapped by the kiln package beside this file: sessions over
// kilnc artifacts, their signatures, runs on NumPy arrays and the in-place
// KV cache.
//
// The module links no runtime. It dlopens the artifact and calls the C API
// that every artifact exports (kiln_session_create and the rest, looked up
// with dlsym): the session, its thread pool and the kernels then belong to
// the one runtime copy inside the artifact, and they meet on that copy's
// context slot (runtime/src/ExecutionContext.h). kiln-run, which links a
// runtime of its own, has to export kiln_rt_context_slot for its sessions to
// reach the artifact's kernels; an interpreter cannot, and with this design
// need not. Each artifact is a separate copy, so artifacts of different Kiln
// versions can be loaded side by side.
//
// NumPy is reached through Python calls (asarray, empty, __array_interface__)
// rather than its C structs, whose layout changed in NumPy 2: the module
// works with NumPy 1 and 2 and needs no NumPy headers to build.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime.h"

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <dlfcn.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace py = pybind11;

namespace {

/// A failure reported by the runtime: "KILN_ERROR_...: <message>". Raised in
/// Python as kiln.Error (a RuntimeError).
class KilnError : public std::runtime_error {
  using std::runtime_error::runtime_error;
};

//===----------------------------------------------------------------------===//
// The artifact and the C API it exports
//===----------------------------------------------------------------------===//

#define KILN_PY_REQUIRED_FUNCTIONS(X)                                          \
  X(kiln_status_string)                                                        \
  X(kiln_session_options_init)                                                 \
  X(kiln_model_validate)                                                       \
  X(kiln_session_create)                                                       \
  X(kiln_session_destroy)                                                      \
  X(kiln_session_last_error)                                                   \
  X(kiln_session_num_threads)                                                  \
  X(kiln_session_num_inputs)                                                   \
  X(kiln_session_num_outputs)                                                  \
  X(kiln_session_input_info)                                                   \
  X(kiln_session_output_info)                                                  \
  X(kiln_session_run)                                                          \
  X(kiln_session_output_dims)

// Absent from artifacts of older runtimes; the calls that need them say so.
#define KILN_PY_OPTIONAL_FUNCTIONS(X)                                          \
  X(kiln_session_num_kv_pairs)                                                 \
  X(kiln_kv_cache_create)                                                      \
  X(kiln_kv_cache_destroy)                                                     \
  X(kiln_kv_cache_length)                                                      \
  X(kiln_kv_cache_set)                                                         \
  X(kiln_kv_cache_write_row)                                                   \
  X(kiln_kv_cache_realign)                                                     \
  X(kiln_kv_cache_use_rows)                                                    \
  X(kiln_kv_cache_copy_row)                                                    \
  X(kiln_session_run_cached)

/// The runtime functions of one artifact, as it exports them.
struct RuntimeApi {
#define KILN_PY_MEMBER(fn) decltype(&::fn) fn = nullptr;
  KILN_PY_REQUIRED_FUNCTIONS(KILN_PY_MEMBER)
  KILN_PY_OPTIONAL_FUNCTIONS(KILN_PY_MEMBER)
#undef KILN_PY_MEMBER
};

/// A dlopen'ed artifact: its descriptor and its runtime's C API. Shared by
/// every session of it and closed after the last.
class Artifact {
public:
  explicit Artifact(const std::string &path) : path(path) {
    // dlopen searches the library path for a name without a slash.
    std::string where =
        path.find('/') == std::string::npos ? "./" + path : path;
    handle = dlopen(where.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle)
      throw KilnError("cannot load '" + path + "': " + dlerror());
    model = static_cast<const kiln_abi_model *>(
        dlsym(handle, "kiln_model_descriptor"));
    if (!model)
      fail("does not export kiln_model_descriptor; is it a kilnc artifact?");
    // The bindings read the descriptor's signature and KV pairs themselves.
    if (model->abi_version != KILN_MODEL_ABI_VERSION)
      fail("has model ABI version " + std::to_string(model->abi_version) +
           "; these bindings support version " +
           std::to_string(KILN_MODEL_ABI_VERSION) +
           " (recompile the model with a matching kilnc)");
#define KILN_PY_RESOLVE(fn)                                                    \
  api.fn = reinterpret_cast<decltype(api.fn)>(dlsym(handle, #fn));
#define KILN_PY_REQUIRE(fn)                                                    \
  KILN_PY_RESOLVE(fn)                                                          \
  if (!api.fn)                                                                 \
    fail("does not export " #fn " (linked without the C API?)");
    KILN_PY_REQUIRED_FUNCTIONS(KILN_PY_REQUIRE)
    KILN_PY_OPTIONAL_FUNCTIONS(KILN_PY_RESOLVE)
#undef KILN_PY_REQUIRE
#undef KILN_PY_RESOLVE
    if (const char *v =
            static_cast<const char *>(dlsym(handle, "kiln_runtime_version")))
      runtimeVersion = v;
  }
  ~Artifact() { dlclose(handle); }
  Artifact(const Artifact &) = delete;
  Artifact &operator=(const Artifact &) = delete;

  std::string path;
  void *handle = nullptr;
  const kiln_abi_model *model = nullptr;
  RuntimeApi api;
  // The Kiln version of the runtime inside (kiln_runtime_version), empty
  // when it records none.
  std::string runtimeVersion;

private:
  [[noreturn]] void fail(const std::string &why) {
    dlclose(handle);
    throw KilnError("'" + path + "' " + why);
  }
};

//===----------------------------------------------------------------------===//
// NumPy through Python
//===----------------------------------------------------------------------===//

py::module_ &numpy() {
  // Never released: a static's destructor would run after the interpreter
  // has gone.
  static auto *np = new py::module_(py::module_::import("numpy"));
  return *np;
}

/// The address of an array's first element.
void *dataOf(const py::object &array) {
  py::tuple data = array.attr("__array_interface__")["data"];
  return reinterpret_cast<void *>(data[0].cast<uintptr_t>());
}

/// ml_dtypes' type `name` as a NumPy dtype, or the dtype `bits` (the raw
/// bits) without that package.
py::object mlDtypeOr(const char *name, const char *bits) {
  try {
    return numpy().attr("dtype")(py::module_::import("ml_dtypes").attr(name));
  } catch (py::error_already_set &) {
    return numpy().attr("dtype")(bits);
  }
}

/// The NumPy dtype of a kiln_dtype. bf16 is ml_dtypes.bfloat16 when that
/// package is installed, else uint16 (the raw bits); f8e4m3fn likewise
/// ml_dtypes.float8_e4m3fn, else uint8.
py::object numpyDtype(int32_t dtype) {
  const char *name = nullptr;
  switch (dtype) {
  case KILN_DTYPE_F32:
    name = "float32";
    break;
  case KILN_DTYPE_F64:
    name = "float64";
    break;
  case KILN_DTYPE_F16:
    name = "float16";
    break;
  case KILN_DTYPE_U8:
    name = "uint8";
    break;
  case KILN_DTYPE_I8:
    name = "int8";
    break;
  case KILN_DTYPE_U16:
    name = "uint16";
    break;
  case KILN_DTYPE_I16:
    name = "int16";
    break;
  case KILN_DTYPE_U32:
    name = "uint32";
    break;
  case KILN_DTYPE_I32:
    name = "int32";
    break;
  case KILN_DTYPE_U64:
    name = "uint64";
    break;
  case KILN_DTYPE_I64:
    name = "int64";
    break;
  case KILN_DTYPE_BOOL:
    name = "bool";
    break;
  case KILN_DTYPE_BF16:
    return mlDtypeOr("bfloat16", "uint16");
  case KILN_DTYPE_F8E4M3FN:
    return mlDtypeOr("float8_e4m3fn", "uint8");
  default:
    throw KilnError("the model uses an unknown element type (kiln_dtype " +
                    std::to_string(dtype) + ")");
  }
  return numpy().attr("dtype")(name);
}

std::string shapeString(const std::vector<int64_t> &shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i)
    s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

//===----------------------------------------------------------------------===//
// Signatures
//===----------------------------------------------------------------------===//

/// One input or output as Python sees it.
struct TensorSpec {
  std::string name;
  int32_t dtype = 0;
  py::object numpyType;
  /// Static extents, -1 where symbolic.
  std::vector<int64_t> dims;
  std::vector<std::string> dimNames;

  /// ("batch", "seq", 64): the static extents as ints, the others by name.
  py::tuple shape() const {
    py::tuple t(dims.size());
    for (size_t d = 0; d < dims.size(); ++d)
      t[d] = dims[d] >= 0 ? py::object(py::int_(dims[d]))
                          : py::object(py::str(dimNames[d]));
    return t;
  }
  std::string repr() const {
    std::string s = "TensorInfo(name='" + name +
                    "', dtype=" + py::str(numpyType).cast<std::string>() +
                    ", shape=(";
    for (size_t d = 0; d < dims.size(); ++d)
      s += (d ? ", " : "") +
           (dims[d] >= 0 ? std::to_string(dims[d]) : "'" + dimNames[d] + "'");
    return s + (dims.size() == 1 ? ",))" : "))");
  }
};

TensorSpec makeSpec(const kiln_tensor_info &info) {
  TensorSpec spec;
  spec.name = info.name ? info.name : "";
  spec.dtype = info.dtype;
  spec.numpyType = numpyDtype(info.dtype);
  for (int32_t d = 0; d < info.rank; ++d) {
    spec.dims.push_back(info.dims[d]);
    spec.dimNames.push_back(info.dim_names && info.dim_names[d]
                                ? info.dim_names[d]
                                : std::to_string(info.dims[d]));
  }
  return spec;
}

/// An input array checked against its spec, viewed as a kiln_tensor.
struct BoundInput {
  py::object array; // keeps the data alive for the call
  std::vector<int64_t> shape;
  kiln_tensor tensor{};
};

/// Checks `value` against `spec` and views it without copying when it is a
/// C-contiguous array of the right dtype (a non-contiguous one is copied).
/// `what` names it in errors ("input 'input_ids'").
BoundInput bindArray(py::handle value, const TensorSpec &spec,
                     const std::string &what) {
  BoundInput in;
  in.array = numpy().attr("asarray")(value);
  py::object dtype = in.array.attr("dtype");
  if (!dtype.equal(spec.numpyType))
    throw py::type_error(what + ": expected dtype " +
                         py::str(spec.numpyType).cast<std::string>() +
                         ", got " + py::str(dtype).cast<std::string>());
  auto ndim = in.array.attr("ndim").cast<size_t>();
  if (ndim != spec.dims.size()) {
    std::string want;
    for (size_t d = 0; d < spec.dimNames.size(); ++d)
      want += (d ? ", " : "") + spec.dimNames[d];
    throw py::value_error(
        what + ": expected rank " + std::to_string(spec.dims.size()) + " (" +
        want + "), got rank " + std::to_string(ndim) + " with shape " +
        py::str(in.array.attr("shape")).cast<std::string>());
  }
  if (!in.array.attr("flags")["C_CONTIGUOUS"].cast<bool>())
    in.array = numpy().attr("ascontiguousarray")(in.array);
  in.shape = in.array.attr("shape").cast<std::vector<int64_t>>();
  in.tensor.dtype = static_cast<kiln_dtype>(spec.dtype);
  in.tensor.rank = static_cast<int32_t>(ndim);
  in.tensor.dims = in.shape.data();
  in.tensor.data = dataOf(in.array);
  in.tensor.size_bytes = in.array.attr("nbytes").cast<size_t>();
  return in;
}

/// A fresh C-contiguous array for output `spec` with `dims`, viewed as a
/// kiln_tensor that the run writes.
BoundInput allocateOutput(const TensorSpec &spec, const int64_t *dims) {
  BoundInput out;
  out.shape.assign(dims, dims + spec.dims.size());
  for (int64_t &d : out.shape)
    d = d < 0 ? 0 : d; // the run reports the bad shape
  out.array = numpy().attr("empty")(py::cast(out.shape), spec.numpyType);
  out.tensor.dtype = static_cast<kiln_dtype>(spec.dtype);
  out.tensor.rank = static_cast<int32_t>(spec.dims.size());
  out.tensor.dims = out.shape.data();
  out.tensor.data = dataOf(out.array);
  out.tensor.size_bytes = out.array.attr("nbytes").cast<size_t>();
  return out;
}

std::vector<kiln_tensor> tensorsOf(const std::vector<BoundInput> &bound) {
  std::vector<kiln_tensor> t;
  for (const BoundInput &b : bound)
    t.push_back(b.tensor);
  return t;
}

//===----------------------------------------------------------------------===//
// Sessions
//===----------------------------------------------------------------------===//

/// kiln.VersionWarning, set when the module is initialized.
PyObject *versionWarning = nullptr;

/// Warns (kiln.VersionWarning) when the runtime inside `artifact` is older
/// than these bindings. The bindings call that runtime's own C API, so an
/// older one runs, but without what was fixed or added since.
void warnAboutRuntime(const Artifact &artifact) {
  std::string why;
  if (artifact.runtimeVersion.empty())
    why = "records no runtime version: its runtime is older than";
  else if (kiln_version_compare(artifact.runtimeVersion.c_str(), KILN_VERSION) <
           0)
    why = "carries the runtime of Kiln " + artifact.runtimeVersion +
          ", older than";
  else
    return;
  std::string message = "'" + artifact.path + "' " + why +
                        " these bindings' (Kiln " KILN_VERSION
                        "); recompile the model with a matching kilnc";
  if (PyErr_WarnEx(versionWarning, message.c_str(), 1) < 0)
    throw py::error_already_set(); // warnings turned into errors
}

/// A kiln_session and its signature. Held by the Python Session and by each
/// of its caches, so that it outlives them (a cache must be destroyed before
/// its session).
class SessionState {
public:
  SessionState(const std::string &path, int32_t threads, uint64_t maxArenaBytes,
               int32_t device)
      : artifact(std::make_shared<Artifact>(path)), api(artifact->api) {
    warnAboutRuntime(*artifact);
    const kiln_abi_model *model = artifact->model;
    char reason[512] = "";
    if (kiln_status st = api.kiln_model_validate(model, reason, sizeof reason))
      throw KilnError("'" + path + "': invalid model descriptor: " +
                      api.kiln_status_string(st) + ": " + reason);
    // The first version's fields, which every artifact's runtime fills
    // (runtime.h: kiln_session_options_init).
    kiln_session_options options{};
    (api.kiln_session_options_init)(&options);
    options.num_threads = threads;
    options.max_arena_bytes = maxArenaBytes;
    options.device = device;
    char why[512] = "";
    options.error_message = why;
    options.error_message_size = sizeof why;
    if (kiln_status st = api.kiln_session_create(model, &options, &session))
      throw KilnError("cannot create a session for '" + path + "': " +
                      api.kiln_status_string(st) + (why[0] ? ": " : "") + why);
    for (int32_t i = 0; i < api.kiln_session_num_inputs(session); ++i) {
      kiln_tensor_info info;
      check(api.kiln_session_input_info(session, i, &info));
      inputs.push_back(makeSpec(info));
    }
    for (int32_t o = 0; o < api.kiln_session_num_outputs(session); ++o) {
      kiln_tensor_info info;
      check(api.kiln_session_output_info(session, o, &info));
      outputs.push_back(makeSpec(info));
    }
    for (int32_t p = 0; p < model->num_kv_pairs; ++p) {
      pairOfInput.resize(inputs.size(), -1);
      pairOfOutput.resize(outputs.size(), -1);
      pairOfInput[model->kv_pairs[p].input] = p;
      pairOfOutput[model->kv_pairs[p].output] = p;
    }
    pairOfInput.resize(inputs.size(), -1);
    pairOfOutput.resize(outputs.size(), -1);
  }
  ~SessionState() { api.kiln_session_destroy(session); }
  SessionState(const SessionState &) = delete;
  SessionState &operator=(const SessionState &) = delete;

  /// Throws kiln.Error with the session's message unless `status` is OK.
  void check(kiln_status status) const {
    if (status != KILN_OK)
      throw KilnError(std::string(api.kiln_status_string(status)) + ": " +
                      api.kiln_session_last_error(session));
  }

  /// The arrays of `feeds` for the inputs `wanted` (indices into `inputs`),
  /// in that order; a missing, unknown or mistyped one is reported by name.
  std::vector<BoundInput> bindInputs(const py::dict &feeds,
                                     const std::vector<int32_t> &wanted) {
    std::vector<BoundInput> bound;
    size_t found = 0;
    for (int32_t i : wanted) {
      const TensorSpec &spec = inputs[i];
      py::str key(spec.name);
      if (!feeds.contains(key))
        throw py::value_error("missing input '" + spec.name + "' (expected " +
                              namesOf(wanted) + ")");
      ++found;
      bound.push_back(bindArray(feeds[key], spec, "input '" + spec.name + "'"));
    }
    if (found != py::len(feeds))
      for (auto item : feeds) {
        std::string name = py::str(item.first).cast<std::string>();
        bool known = false;
        for (int32_t i : wanted)
          known = known || inputs[i].name == name;
        if (!known)
          throw py::value_error("unknown input '" + name + "' (expected " +
                                namesOf(wanted) + ")");
      }
    return bound;
  }

  std::string namesOf(const std::vector<int32_t> &indices) const {
    std::string s;
    for (int32_t i : indices)
      s += (s.empty() ? "'" : ", '") + inputs[i].name + "'";
    return s;
  }

  std::shared_ptr<Artifact> artifact;
  const RuntimeApi &api;
  kiln_session *session = nullptr;
  std::vector<TensorSpec> inputs, outputs;
  /// Index of the KV pair an input or output belongs to, -1 for none.
  std::vector<int32_t> pairOfInput, pairOfOutput;
  /// One call at a time per session (the runtime refuses a concurrent one);
  /// taken with the GIL released.
  std::mutex mutex;
};

py::dict outputsDict(const SessionState &s, std::vector<BoundInput> &outs,
                     const std::vector<int32_t> &which) {
  py::dict result;
  for (size_t k = 0; k < which.size(); ++k)
    result[py::str(s.outputs[which[k]].name)] = outs[k].array;
  return result;
}

class Session {
public:
  Session(const std::string &path, int32_t threads, uint64_t maxArenaBytes,
          int32_t device)
      : state(std::make_shared<SessionState>(path, threads, maxArenaBytes,
                                             device)) {
    for (size_t i = 0; i < state->inputs.size(); ++i)
      allInputs.push_back(static_cast<int32_t>(i));
    for (size_t o = 0; o < state->outputs.size(); ++o)
      allOutputs.push_back(static_cast<int32_t>(o));
  }

  py::dict run(const py::dict &feeds) {
    SessionState &s = *state;
    std::vector<BoundInput> ins = s.bindInputs(feeds, allInputs);
    std::vector<kiln_tensor> inTensors = tensorsOf(ins);
    size_t totalRank = 0;
    for (const TensorSpec &o : s.outputs)
      totalRank += o.dims.size();
    std::vector<int64_t> dims(totalRank);
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(s.mutex);
      s.check(s.api.kiln_session_output_dims(s.session, inTensors.data(),
                                             inTensors.size(), dims.data(),
                                             dims.size()));
    }
    std::vector<BoundInput> outs;
    size_t base = 0;
    for (const TensorSpec &o : s.outputs) {
      outs.push_back(allocateOutput(o, dims.data() + base));
      base += o.dims.size();
    }
    std::vector<kiln_tensor> outTensors = tensorsOf(outs);
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(s.mutex);
      s.check(s.api.kiln_session_run(s.session, inTensors.data(),
                                     inTensors.size(), outTensors.data(),
                                     outTensors.size()));
    }
    return outputsDict(s, outs, allOutputs);
  }

  py::dict symbols() const {
    const kiln_abi_model *m = state->artifact->model;
    py::dict d;
    for (int32_t i = 0; i < m->num_symbols; ++i) {
      int64_t max = m->symbol_max ? m->symbol_max[i] : INT64_MAX;
      d[py::str(m->symbol_names[i])] =
          max == INT64_MAX ? py::object(py::none()) : py::int_(max);
    }
    return d;
  }

  py::list kvPairs() const {
    const kiln_abi_model *m = state->artifact->model;
    py::list l;
    for (int32_t p = 0; p < m->num_kv_pairs; ++p)
      l.append(py::make_tuple(state->inputs[m->kv_pairs[p].input].name,
                              state->outputs[m->kv_pairs[p].output].name,
                              m->kv_pairs[p].axis));
    return l;
  }

  std::shared_ptr<SessionState> state;
  std::vector<int32_t> allInputs, allOutputs;
};

//===----------------------------------------------------------------------===//
// KV cache
//===----------------------------------------------------------------------===//

class KvCache {
public:
  KvCache(const Session &session, int64_t batch, int64_t maxLength)
      : state(session.state), batch(batch), rows(batch), maxLength(maxLength) {
    SessionState &s = *state;
    if (!s.api.kiln_kv_cache_create || !s.api.kiln_session_run_cached)
      throw KilnError("'" + s.artifact->path +
                      "' was built by a runtime without the in-place KV "
                      "cache; recompile it");
    for (size_t i = 0; i < s.inputs.size(); ++i)
      if (s.pairOfInput[i] < 0)
        otherInputs.push_back(static_cast<int32_t>(i));
    for (size_t o = 0; o < s.outputs.size(); ++o)
      if (s.pairOfOutput[o] < 0)
        otherOutputs.push_back(static_cast<int32_t>(o));
    std::lock_guard<std::mutex> lock(s.mutex);
    s.check(s.api.kiln_kv_cache_create(s.session, batch, maxLength, &cache));
  }
  ~KvCache() {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->api.kiln_kv_cache_destroy(cache);
  }
  KvCache(const KvCache &) = delete;
  KvCache &operator=(const KvCache &) = delete;

  int64_t length() const {
    std::lock_guard<std::mutex> lock(state->mutex);
    return state->api.kiln_kv_cache_length(cache);
  }

  /// The pasts, one per pair in kv-pair order: a sequence, or a mapping
  /// keyed by each pair's present output or past input name (a prefill's
  /// run() result).
  std::vector<BoundInput> bindPasts(py::handle pasts, const char *what) {
    SessionState &s = *state;
    const kiln_abi_model *m = s.artifact->model;
    std::vector<BoundInput> bound;
    bool mapping = py::isinstance<py::dict>(pasts);
    if (!mapping && py::len(pasts) == 0)
      return bound; // set([]) empties the cache
    if (!mapping && py::len(pasts) != static_cast<size_t>(m->num_kv_pairs))
      throw py::value_error(
          std::string(what) + ": expected " + std::to_string(m->num_kv_pairs) +
          " arrays (one per KV pair), got " + std::to_string(py::len(pasts)));
    py::dict dict =
        mapping ? py::reinterpret_borrow<py::dict>(pasts) : py::dict();
    py::sequence seq = mapping ? py::sequence(py::list())
                               : py::reinterpret_borrow<py::sequence>(pasts);
    for (int32_t p = 0; p < m->num_kv_pairs; ++p) {
      const TensorSpec &past = s.inputs[m->kv_pairs[p].input];
      const std::string &present = s.outputs[m->kv_pairs[p].output].name;
      py::object value;
      if (!mapping)
        value = seq[p];
      else if (dict.contains(present))
        value = dict[py::str(present)];
      else if (dict.contains(past.name))
        value = dict[py::str(past.name)];
      else
        throw py::value_error(std::string(what) + ": no array for KV pair " +
                              std::to_string(p) + " ('" + present + "' or '" +
                              past.name + "')");
      // A bf16 or f8e4m3fn cache also takes float32 pasts (an f32
      // prefill's presents), which the runtime rounds as it copies them.
      TensorSpec accepted = past;
      py::object given = numpy().attr("asarray")(value).attr("dtype");
      if ((past.dtype == KILN_DTYPE_BF16 ||
           past.dtype == KILN_DTYPE_F8E4M3FN) &&
          given.equal(numpyDtype(KILN_DTYPE_F32))) {
        accepted.dtype = KILN_DTYPE_F32;
        accepted.numpyType = numpyDtype(KILN_DTYPE_F32);
      }
      bound.push_back(bindArray(value, accepted,
                                std::string(what) + " '" + past.name + "'"));
    }
    return bound;
  }

  void set(py::handle pasts) {
    std::vector<BoundInput> bound = bindPasts(pasts, "KvCache.set");
    std::vector<kiln_tensor> t = tensorsOf(bound);
    SessionState &s = *state;
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(s.mutex);
    s.check(s.api.kiln_kv_cache_set(cache, t.data(), t.size()));
  }

  void writeRow(int64_t row, int64_t offset, py::handle pasts) {
    std::vector<BoundInput> bound = bindPasts(pasts, "KvCache.write_row");
    std::vector<kiln_tensor> t = tensorsOf(bound);
    SessionState &s = *state;
    py::gil_scoped_release release;
    std::lock_guard<std::mutex> lock(s.mutex);
    s.check(
        s.api.kiln_kv_cache_write_row(cache, row, offset, t.data(), t.size()));
  }

  void realign(int64_t newLength) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->check(state->api.kiln_kv_cache_realign(cache, newLength));
  }

  void useRows(int64_t n) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->check(state->api.kiln_kv_cache_use_rows(cache, n));
    rows = n;
  }

  void copyRow(int64_t from, int64_t to) {
    std::lock_guard<std::mutex> lock(state->mutex);
    state->check(state->api.kiln_kv_cache_copy_row(cache, from, to));
  }

  /// One step: the pairs come from the cache, every other input from
  /// `feeds`; returns the other outputs.
  py::dict run(const py::dict &feeds) {
    SessionState &s = *state;
    std::vector<BoundInput> ins = s.bindInputs(feeds, otherInputs);
    std::vector<kiln_tensor> inTensors = tensorsOf(ins);
    std::vector<int64_t> dims = otherOutputDims(ins);
    std::vector<BoundInput> outs;
    size_t base = 0;
    for (int32_t o : otherOutputs) {
      outs.push_back(allocateOutput(s.outputs[o], dims.data() + base));
      base += s.outputs[o].dims.size();
    }
    std::vector<kiln_tensor> outTensors = tensorsOf(outs);
    {
      py::gil_scoped_release release;
      std::lock_guard<std::mutex> lock(s.mutex);
      s.check(s.api.kiln_session_run_cached(s.session, cache, inTensors.data(),
                                            inTensors.size(), outTensors.data(),
                                            outTensors.size()));
    }
    return outputsDict(s, outs, otherOutputs);
  }

  std::shared_ptr<SessionState> state;
  kiln_kv_cache *cache = nullptr;
  int64_t batch, rows, maxLength;
  std::vector<int32_t> otherInputs, otherOutputs;

private:
  /// The dims of the non-cache outputs, concatenated: the symbols bound by
  /// the other inputs' shapes and by the cache (its rows along dim 0, its
  /// length along each pair's axis), through the descriptor's output_dims.
  /// kiln_session_output_dims cannot be used: it wants the pasts as dense
  /// tensors. Wrong input shapes are left for the run to report.
  std::vector<int64_t> otherOutputDims(const std::vector<BoundInput> &ins) {
    SessionState &s = *state;
    const kiln_abi_model *m = s.artifact->model;
    std::vector<int64_t> symbols(m->num_symbols, 0);
    int64_t cacheLength = length();
    auto bind = [&](int32_t input, int32_t d, int64_t value) {
      const int32_t *syms = m->inputs[input].dim_symbols;
      if (syms && syms[d] >= 0 && symbols[syms[d]] == 0)
        symbols[syms[d]] = value;
    };
    for (size_t k = 0; k < otherInputs.size(); ++k)
      for (size_t d = 0; d < ins[k].shape.size(); ++d)
        bind(otherInputs[k], static_cast<int32_t>(d), ins[k].shape[d]);
    for (int32_t p = 0; p < m->num_kv_pairs; ++p) {
      const kiln_abi_kv_pair &pair = m->kv_pairs[p];
      bind(pair.input, pair.axis, cacheLength);
      if (pair.axis != 0)
        bind(pair.input, 0, rows);
    }
    std::vector<int64_t> all;
    size_t totalRank = 0;
    for (const TensorSpec &o : s.outputs)
      totalRank += o.dims.size();
    all.assign(totalRank, 0);
    m->output_dims(symbols.data(), all.data());
    std::vector<int64_t> dims;
    std::vector<size_t> base(s.outputs.size(), 0);
    for (size_t o = 1; o < s.outputs.size(); ++o)
      base[o] = base[o - 1] + s.outputs[o - 1].dims.size();
    for (int32_t o : otherOutputs) {
      const kiln_abi_tensor &sig = m->outputs[o];
      for (int32_t d = 0; d < sig.rank; ++d) {
        if (sig.dims_from_data && sig.dims_from_data[d])
          throw KilnError("output '" + s.outputs[o].name +
                          "' has a dim read from the inputs' data, which "
                          "cached runs through Python cannot size yet");
        dims.push_back(all[base[o] + d]);
      }
    }
    return dims;
  }
};

} // namespace

PYBIND11_MODULE(_kiln, m) {
  m.doc() = "Kiln runtime bindings: sessions over kilnc artifacts";
  py::register_exception<KilnError>(m, "Error", PyExc_RuntimeError);
  m.attr("MODEL_ABI_VERSION") = KILN_MODEL_ABI_VERSION;
  m.attr("VERSION") = KILN_VERSION;
  versionWarning = PyErr_NewExceptionWithDoc(
      "kiln._kiln.VersionWarning",
      "An artifact's runtime is older than these bindings.", PyExc_UserWarning,
      nullptr);
  m.attr("VersionWarning") = py::handle(versionWarning);

  py::class_<TensorSpec>(m, "TensorInfo",
                         "An input or output of a model's signature.")
      .def_readonly("name", &TensorSpec::name)
      .def_readonly("dtype", &TensorSpec::numpyType, "numpy dtype")
      .def_property_readonly(
          "shape", &TensorSpec::shape,
          "static extents as ints, symbolic ones by name: ('batch', 'seq', 64)")
      .def_readonly("dim_names", &TensorSpec::dimNames,
                    "every dim printed: 'batch', 'past_seq + seq', '64'")
      .def("__repr__", &TensorSpec::repr);

  py::class_<Session>(m, "Session")
      .def(py::init<const std::string &, int32_t, uint64_t, int32_t>(),
           py::arg("path"), py::arg("threads") = 0,
           py::arg("max_arena_bytes") = 0, py::arg("device") = 0,
           "Loads a kilnc artifact (.so) and creates a session on it. threads: "
           "worker threads including the caller, 0 for one per core; "
           "max_arena_bytes: bound on one run's buffers, 0 for the default "
           "(16 GiB); device: the CUDA device of a cuda artifact.")
      .def("run", &Session::run, py::arg("inputs"),
           "Runs the model on {name: array} and returns {name: array}. Inputs "
           "that are C-contiguous arrays of the signature's dtype are read in "
           "place; others are copied (non-contiguous) or refused (dtype, "
           "rank, missing or unknown name). Releases the GIL while it runs.")
      .def(
          "kv_cache",
          [](const Session &s, int64_t batch, int64_t maxLength) {
            return std::make_unique<KvCache>(s, batch, maxLength);
          },
          py::arg("batch"), py::arg("max_length"),
          "An empty in-place KV cache for `batch` sequences of up to "
          "`max_length` positions (kiln_kv_cache_create).")
      .def_property_readonly("inputs",
                             [](const Session &s) { return s.state->inputs; })
      .def_property_readonly("outputs",
                             [](const Session &s) { return s.state->outputs; })
      .def_property_readonly("symbols", &Session::symbols,
                             "{symbol: largest legal value or None}")
      .def_property_readonly("kv_pairs", &Session::kvPairs,
                             "[(past input, present output, axis)]")
      .def_property_readonly("num_threads",
                             [](const Session &s) {
                               return s.state->api.kiln_session_num_threads(
                                   s.state->session);
                             })
      .def_property_readonly(
          "name",
          [](const Session &s) { return s.state->artifact->model->name; })
      .def_property_readonly(
          "target",
          [](const Session &s) { return s.state->artifact->model->target; })
      .def_property_readonly(
          "path", [](const Session &s) { return s.state->artifact->path; })
      .def_property_readonly(
          "runtime_version",
          [](const Session &s) -> std::optional<std::string> {
            if (s.state->artifact->runtimeVersion.empty())
              return std::nullopt;
            return s.state->artifact->runtimeVersion;
          },
          "the Kiln version of the runtime inside the artifact, None when "
          "it records none");

  py::class_<KvCache>(m, "KvCache",
                      "A decode graph's past/present pairs kept in place "
                      "between steps (runtime.h, In-place KV cache).")
      .def("set", &KvCache::set, py::arg("pasts"),
           "Replaces the contents with one array per KV pair (a sequence in "
           "kv_pairs order, or a dict keyed by present or past names, such "
           "as a prefill's outputs); an empty sequence empties it.")
      .def("run", &KvCache::run, py::arg("inputs"),
           "One step: {name: array} for the inputs besides the pasts; "
           "returns the outputs besides the presents. The cache grows by the "
           "step's positions.")
      .def("write_row", &KvCache::writeRow, py::arg("row"), py::arg("offset"),
           py::arg("pasts"),
           "Writes one sequence's pasts (dim 0 of 1, n positions) into row "
           "`row` at positions [offset, offset + n).")
      .def("realign", &KvCache::realign, py::arg("new_length"),
           "Sets the length, keeping each row's content right-aligned.")
      .def("use_rows", &KvCache::useRows, py::arg("rows"),
           "Steps run on the first `rows` rows.")
      .def("copy_row", &KvCache::copyRow, py::arg("src"), py::arg("dst"),
           "Copies row `src` over row `dst`.")
      .def_property_readonly("length", &KvCache::length)
      .def_readonly("max_length", &KvCache::maxLength)
      .def_readonly("batch", &KvCache::batch)
      .def_readonly("rows", &KvCache::rows);
}
