//===- KilnRun.cpp - kiln-run: load, feed, check and time an artifact -----===//
//
// Exit codes: 0 success, 1 an output did not match, 2 usage, load or run
// error (message on stderr). Scripts (test/models, test/onnx-backend) rely on
// these and on the flag names, so keep both stable.
//
//===----------------------------------------------------------------------===//

#include "Accuracy.h"
#include "Compare.h"
#include "HostTensor.h"
#include "ModelLibrary.h"
#include "Npy.h"
#include "TensorConvert.h"
#include "TensorProto.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>

namespace fs = std::filesystem;
using namespace kiln;

namespace {

constexpr int kExitOk = 0, kExitMismatch = 1, kExitError = 2;

const char kUsage[] = R"(usage: kiln-run LIB.so [options]

Loads a kilnc artifact, runs it once on the given or random inputs, and
optionally saves, checks and times the outputs.

Inputs:
  --inputs DIR         read each model input from DIR/<name>.npy,
                       DIR/input_<name>.npy, DIR/<name>.pb or DIR/input_<i>.pb
                       ('/' in a name becomes '_'). A file of another dtype is
                       converted when every value converts exactly (e.g. int32
                       ids for an int64 input), otherwise it is an error.
                       A uint16 .pb for a bf16 input holds bf16 bit patterns,
                       as in the ONNX backend tests.
  --random-seed S      seed for random inputs when --inputs is absent
                       (default 0): integers in [0, 100), floats in [-1, 1).
  --shape NAME=VALUE   value of symbolic dim NAME for random inputs (default
                       --default-dim); repeatable. 0 is allowed where the
                       model allows it (an empty past: a prefill through a
                       decoder with past inputs).
  --past-length N      for random inputs of a decoder with past inputs (KV
                       pairs), the value of the symbol of each past's
                       length, unless --shape sets it: 0 gives an empty past,
                       which every export's other inputs agree with at any
                       --default-dim (a legacy export's own total-length
                       symbol cannot be derived from the past and new ones)
  --default-dim N      value of the symbolic dims --shape leaves out
                       (default 1); a dim named as a sum of other symbols
                       (Optimum's "past_sequence_length + sequence_length")
                       is their sum instead.
  --save-inputs DIR    write the inputs used as DIR/<name>.npy.

Outputs:
  --outputs DIR        write each output as DIR/<name>.npy.
  --bf16-npy f32|bf16  write bf16 tensors (--outputs, --save-inputs) as
                       float32 (default, exact) or as bf16 bit patterns in a
                       '<V2' array, as ml_dtypes' bfloat16 saves; read it
                       with np.load(f).view(ml_dtypes.bfloat16). Inputs and
                       expected outputs are read in either form.
  --expect DIR         compare each output with DIR/<name>.npy or
                       DIR/output_<name>.npy; prints per output
                       'name: max_abs_err=... max_rel_err=... mismatches=N/M'
                       and exits 1 if an element fails
                       |got - expected| <= atol + rtol * |expected|
                       or a shape differs.
  --atol A             absolute tolerance (default 1e-4; 1e-7 with
                       --onnx-test-dir).
  --rtol R             relative tolerance (default 1e-4; 1e-3 with
                       --onnx-test-dir).
  --onnx-test-dir DIR  run an ONNX backend test case: each
                       DIR/test_data_set_*/input_<i>.pb feeds input i (or the
                       input its TensorProto names), each output_<i>.pb is
                       compared (integers and booleans exactly; uint16 data
                       for bf16 as bit patterns); prints PASS/FAIL per data
                       set.

Accuracy:
  --reference REF.so   also run REF.so (the fp32 artifact of the same model)
                       on the same inputs and print per output
                       'name: max_abs_err=... mean_abs_err=... cosine=...',
                       plus 'top1=... (N positions)' for outputs named
                       *logits*: the share of positions whose argmax agrees.
  --report FILE        with --reference, write the same as JSON to FILE.
  --reference-name S   the reference's name in the report (default: the
                       REF.so path as given).

Timing:
  --bench N            after the first run, time N runs and print one JSON
                       line: {"median_ms":..., "p90_ms":..., "min_ms":...,
                       "iterations":N, "threads":T}.
  --warmup W           untimed runs before timing (default 3).
  --threads T          threads for the session (default 0: one per core).

Memory:
  --arena-bytes N      give the session an arena of N bytes for the runs'
                       intermediate buffers (kiln_session_options.arena), as
                       an embedded product that owns all memory does: kilnc
                       prints the peak a model needs at its --max-shape
                       bounds; a run that needs more fails.

Exit status: 0 ok, 1 output mismatch, 2 usage, load or run error.
)";

struct UsageError : ToolError {
  using ToolError::ToolError;
};

struct Options {
  std::string library;
  std::string inputsDir, saveInputsDir, outputsDir, expectDir, onnxTestDir;
  std::optional<double> atol, rtol;
  int64_t bench = 0;
  int64_t warmup = 3;
  int32_t threads = 0;
  uint64_t arenaBytes = 0;
  uint64_t seed = 0;
  std::map<std::string, int64_t> shapes;
  int64_t defaultDim = 1;
  /// --past-length: the pasts' length symbol for random inputs (-1: unset).
  int64_t pastLength = -1;
  std::string reference, report, referenceName;
  /// bf16 tensors written as float32 (default) or as bf16 bit patterns.
  bool bf16AsFloat32 = true;
};

int64_t parseInt(const std::string &flag, const std::string &text,
                 int64_t min) {
  char *end = nullptr;
  errno = 0;
  long long v = strtoll(text.c_str(), &end, 10);
  if (text.empty() || *end || errno || v < min)
    throw UsageError(flag + ": expected an integer >= " + std::to_string(min) +
                     ", got '" + text + "'");
  return v;
}

double parseDouble(const std::string &flag, const std::string &text) {
  char *end = nullptr;
  double v = strtod(text.c_str(), &end);
  if (text.empty() || *end || !(v >= 0))
    throw UsageError(flag + ": expected a number >= 0, got '" + text + "'");
  return v;
}

Options parseOptions(int argc, char **argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") {
      fputs(kUsage, stdout);
      exit(kExitOk);
    }
    if (arg.rfind("--", 0) != 0) {
      if (!o.library.empty())
        throw UsageError("more than one library given: '" + o.library +
                         "' and '" + arg + "'");
      o.library = arg;
      continue;
    }
    size_t eq = arg.find('=');
    if (eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else {
      if (i + 1 >= argc)
        throw UsageError(arg + " needs a value");
      value = argv[++i];
    }
    if (arg == "--inputs")
      o.inputsDir = value;
    else if (arg == "--save-inputs")
      o.saveInputsDir = value;
    else if (arg == "--outputs")
      o.outputsDir = value;
    else if (arg == "--expect")
      o.expectDir = value;
    else if (arg == "--bf16-npy") {
      if (value != "f32" && value != "bf16")
        throw UsageError("--bf16-npy: expected f32 or bf16, got '" + value +
                         "'");
      o.bf16AsFloat32 = value == "f32";
    } else if (arg == "--onnx-test-dir")
      o.onnxTestDir = value;
    else if (arg == "--atol")
      o.atol = parseDouble(arg, value);
    else if (arg == "--rtol")
      o.rtol = parseDouble(arg, value);
    else if (arg == "--bench")
      o.bench = parseInt(arg, value, 1);
    else if (arg == "--warmup")
      o.warmup = parseInt(arg, value, 0);
    else if (arg == "--threads")
      o.threads = (int32_t)parseInt(arg, value, 0);
    else if (arg == "--arena-bytes")
      o.arenaBytes = (uint64_t)parseInt(arg, value, 1);
    else if (arg == "--default-dim")
      o.defaultDim = parseInt(arg, value, 0);
    else if (arg == "--past-length")
      o.pastLength = parseInt(arg, value, 0);
    else if (arg == "--reference")
      o.reference = value;
    else if (arg == "--report")
      o.report = value;
    else if (arg == "--reference-name")
      o.referenceName = value;
    else if (arg == "--random-seed")
      o.seed = (uint64_t)parseInt(arg, value, 0);
    else if (arg == "--shape") {
      size_t at = value.find('=');
      if (at == std::string::npos || at == 0)
        throw UsageError("--shape: expected NAME=VALUE, got '" + value + "'");
      o.shapes[value.substr(0, at)] =
          parseInt("--shape " + value.substr(0, at), value.substr(at + 1), 0);
    } else
      throw UsageError("unknown option '" + arg + "'");
  }
  if (o.library.empty())
    throw UsageError("no library given");
  if (!o.report.empty() && o.reference.empty())
    throw UsageError("--report needs --reference");
  if (!o.onnxTestDir.empty() && (!o.inputsDir.empty() || !o.expectDir.empty()))
    throw UsageError("--onnx-test-dir cannot be combined with --inputs or "
                     "--expect");
  return o;
}

std::string fileStem(std::string name) {
  std::replace(name.begin(), name.end(), '/', '_');
  return name;
}

// The first of `candidates` that exists, or "".
std::string findFile(const std::string &dir,
                     const std::vector<std::string> &candidates) {
  for (const std::string &c : candidates)
    if (fs::exists(fs::path(dir) / c))
      return (fs::path(dir) / c).string();
  return "";
}

std::string joinNames(const std::vector<std::string> &names) {
  std::string s;
  for (const std::string &n : names)
    s += (s.empty() ? "" : ", ") + n;
  return s;
}

bool isTensorProtoPath(const std::string &path) {
  return path.size() > 3 && path.compare(path.size() - 3, 3, ".pb") == 0;
}

HostTensor readTensorFile(const std::string &path) {
  return isTensorProtoPath(path) ? readTensorProto(path) : readNpy(path);
}

std::vector<HostTensor> loadInputs(Session &s, const std::string &dir) {
  std::vector<HostTensor> inputs;
  for (int32_t i = 0; i < s.numInputs(); ++i) {
    kiln_tensor_info info = s.inputInfo(i);
    std::string stem = fileStem(info.name);
    std::vector<std::string> candidates = {
        stem + ".npy", "input_" + stem + ".npy", stem + ".pb",
        "input_" + std::to_string(i) + ".pb"};
    std::string path = findFile(dir, candidates);
    if (path.empty())
      throw ToolError("no file for input '" + std::string(info.name) +
                      "' in '" + dir + "' (tried " + joinNames(candidates) +
                      ")");
    HostTensor file = readTensorFile(path);
    if (isTensorProtoPath(path))
      adoptBf16BitPattern(file, info.dtype);
    inputs.push_back(convertTensor(file, info.dtype,
                                   "input '" + std::string(info.name) +
                                       "' from '" + path + "'"));
  }
  return inputs;
}

/// A symbolic dim's value for random inputs: --shape's, else, for a name
/// that is a sum of the model's other symbols and constants (Optimum's
/// "past_sequence_length + sequence_length"), the sum of theirs, else
/// --default-dim.
int64_t symbolValue(const std::string &name, const Options &o,
                    const std::vector<std::string> &symbols, int depth = 0) {
  if (auto it = o.shapes.find(name); it != o.shapes.end())
    return it->second;
  if (name.find('+') == std::string::npos || depth > 8)
    return o.defaultDim;
  int64_t sum = 0;
  size_t start = 0;
  for (;;) {
    size_t plus = name.find('+', start);
    std::string part = name.substr(
        start, plus == std::string::npos ? std::string::npos : plus - start);
    part.erase(0, part.find_first_not_of(' '));
    part.erase(part.find_last_not_of(' ') + 1);
    if (!part.empty() &&
        part.find_first_not_of("0123456789") == std::string::npos &&
        part.size() < 18)
      sum += std::stoll(part);
    else if (std::find(symbols.begin(), symbols.end(), part) != symbols.end())
      sum += symbolValue(part, o, symbols, depth + 1);
    else
      return o.defaultDim;
    if (plus == std::string::npos)
      return sum;
    start = plus + 1;
  }
}

std::vector<HostTensor> randomInputs(Session &s, const kiln_abi_model &model,
                                     Options o) {
  std::vector<std::string> symbols;
  for (int32_t k = 0; k < s.numSymbols(); ++k)
    symbols.push_back(s.symbolName(k));
  for (const auto &[name, value] : o.shapes)
    if (std::find(symbols.begin(), symbols.end(), name) == symbols.end())
      throw UsageError("--shape " + name + ": the model has no symbol '" +
                       name + "' (symbols: " +
                       (symbols.empty() ? "none" : joinNames(symbols)) + ")");
  if (o.pastLength >= 0)
    for (int32_t k = 0; k < model.num_kv_pairs; ++k)
      if (const char *past =
              s.inputDimSymbol(model.kv_pairs[k].input, model.kv_pairs[k].axis))
        o.shapes.emplace(past, o.pastLength); // --shape's value stays
  std::mt19937_64 rng(o.seed);
  std::vector<HostTensor> inputs;
  for (int32_t i = 0; i < s.numInputs(); ++i) {
    kiln_tensor_info info = s.inputInfo(i);
    HostTensor t;
    t.name = info.name;
    t.dtype = info.dtype;
    for (int32_t d = 0; d < info.rank; ++d) {
      if (info.dims[d] >= 0) {
        t.dims.push_back(info.dims[d]);
        continue;
      }
      const char *symbol = s.inputDimSymbol(i, d);
      t.dims.push_back(symbol ? symbolValue(symbol, o, symbols) : o.defaultDim);
    }
    fillRandom(t, rng);
    inputs.push_back(std::move(t));
  }
  return inputs;
}

std::vector<HostTensor> runOnce(Session &s, std::vector<HostTensor> &inputs) {
  std::vector<kiln_tensor> views;
  for (HostTensor &t : inputs)
    views.push_back(t.view());
  kiln_tensor *outs = nullptr;
  size_t numOuts = 0;
  s.check(kiln_session_run_alloc(s.get(), views.data(), views.size(), &outs,
                                 &numOuts),
          "run");
  std::vector<HostTensor> results;
  for (size_t o = 0; o < numOuts; ++o) {
    HostTensor t;
    t.name = s.outputInfo((int32_t)o).name;
    t.dtype = outs[o].dtype;
    t.dims.assign(outs[o].dims, outs[o].dims + outs[o].rank);
    const uint8_t *data = static_cast<const uint8_t *>(outs[o].data);
    t.data.assign(data, data + outs[o].size_bytes);
    results.push_back(std::move(t));
  }
  return results;
}

void writeTensors(const std::string &dir, const std::vector<HostTensor> &ts,
                  bool bf16AsFloat32) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    throw ToolError("cannot create '" + dir + "': " + ec.message());
  for (const HostTensor &t : ts)
    writeNpy((fs::path(dir) / (fileStem(t.name) + ".npy")).string(), t,
             bf16AsFloat32);
}

bool expectOutputs(const std::vector<HostTensor> &outputs,
                   const std::string &dir, const Tolerance &tol) {
  bool ok = true;
  for (const HostTensor &actual : outputs) {
    std::string stem = fileStem(actual.name);
    std::vector<std::string> candidates = {stem + ".npy",
                                           "output_" + stem + ".npy"};
    std::string path = findFile(dir, candidates);
    if (path.empty())
      throw ToolError("no expected file for output '" + actual.name + "' in '" +
                      dir + "' (tried " + joinNames(candidates) + ")");
    HostTensor expected = readNpy(path);
    CompareResult r = compareTensors(actual, expected, tol, false);
    printf("%s\n", formatComparison(actual.name, actual, expected, r).c_str());
    ok &= r.ok();
  }
  return ok;
}

void bench(Session &s, std::vector<HostTensor> &inputs,
           std::vector<HostTensor> &outputs, const Options &o) {
  std::vector<kiln_tensor> in, out;
  for (HostTensor &t : inputs)
    in.push_back(t.view());
  for (HostTensor &t : outputs)
    out.push_back(t.view());
  auto runTimed = [&] {
    auto start = std::chrono::steady_clock::now();
    s.check(
        kiln_session_run(s.get(), in.data(), in.size(), out.data(), out.size()),
        "run");
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start)
        .count();
  };
  for (int64_t i = 0; i < o.warmup; ++i)
    runTimed();
  std::vector<double> ms;
  for (int64_t i = 0; i < o.bench; ++i)
    ms.push_back(runTimed());
  std::sort(ms.begin(), ms.end());
  size_t n = ms.size();
  double median = n % 2 ? ms[n / 2] : 0.5 * (ms[n / 2 - 1] + ms[n / 2]);
  double p90 = ms[(size_t)std::ceil(0.9 * n) - 1];
  printf("{\"median_ms\":%.4f, \"p90_ms\":%.4f, \"min_ms\":%.4f, "
         "\"iterations\":%lld, \"threads\":%d}\n",
         median, p90, ms[0], (long long)n, s.numThreads());
}

//===----------------------------------------------------------------------===//
// ONNX backend test cases
//===----------------------------------------------------------------------===//

std::vector<HostTensor> readNumbered(const fs::path &dir,
                                     const std::string &prefix) {
  std::vector<HostTensor> ts;
  for (int i = 0;; ++i) {
    fs::path p = dir / (prefix + std::to_string(i) + ".pb");
    if (!fs::exists(p))
      return ts;
    ts.push_back(readTensorProto(p.string()));
  }
}

// Positions of `files` in the signature: by TensorProto name when every file
// names a distinct signature entry, else by position.
std::vector<size_t> matchByName(const std::vector<HostTensor> &files,
                                const std::vector<std::string> &names) {
  std::vector<size_t> order(files.size());
  std::vector<bool> used(names.size(), false);
  for (size_t f = 0; f < files.size(); ++f) {
    auto it = std::find(names.begin(), names.end(), files[f].name);
    size_t at = it - names.begin();
    if (files[f].name.empty() || it == names.end() || used[at]) {
      for (size_t g = 0; g < files.size(); ++g)
        order[g] = g;
      return order;
    }
    used[at] = true;
    order[f] = at;
  }
  return order;
}

int runOnnxTestDir(Session &s, const Options &o) {
  fs::path root(o.onnxTestDir);
  std::vector<fs::path> sets;
  std::error_code ec;
  for (const auto &entry : fs::directory_iterator(root, ec))
    if (entry.is_directory() &&
        entry.path().filename().string().rfind("test_data_set_", 0) == 0)
      sets.push_back(entry.path());
  if (ec)
    throw ToolError("cannot read '" + root.string() + "': " + ec.message());
  if (sets.empty())
    throw ToolError("no test_data_set_* directories in '" + root.string() +
                    "'");
  std::sort(sets.begin(), sets.end());

  std::vector<std::string> inputNames, outputNames;
  for (int32_t i = 0; i < s.numInputs(); ++i)
    inputNames.push_back(s.inputInfo(i).name);
  for (int32_t i = 0; i < s.numOutputs(); ++i)
    outputNames.push_back(s.outputInfo(i).name);

  bool allPassed = true;
  for (const fs::path &set : sets) {
    std::string setName = set.filename().string();
    std::vector<HostTensor> files = readNumbered(set, "input_");
    if (files.size() != inputNames.size())
      throw ToolError(setName + ": has " + std::to_string(files.size()) +
                      " inputs, the model takes " +
                      std::to_string(inputNames.size()));
    std::vector<size_t> order = matchByName(files, inputNames);
    std::vector<HostTensor> inputs(files.size());
    for (size_t f = 0; f < files.size(); ++f) {
      kiln_tensor_info info = s.inputInfo((int32_t)order[f]);
      adoptBf16BitPattern(files[f], info.dtype);
      inputs[order[f]] = convertTensor(files[f], info.dtype,
                                       setName + " input_" + std::to_string(f) +
                                           ".pb for '" + info.name + "'");
    }
    std::vector<HostTensor> outputs = runOnce(s, inputs);

    std::vector<HostTensor> expected = readNumbered(set, "output_");
    bool passed = true;
    if (expected.size() != outputs.size()) {
      printf("  %s has %zu outputs, the model %zu\n", setName.c_str(),
             expected.size(), outputs.size());
      passed = false;
    } else {
      std::vector<size_t> outOrder = matchByName(expected, outputNames);
      for (size_t f = 0; f < expected.size(); ++f) {
        const HostTensor &actual = outputs[outOrder[f]];
        adoptBf16BitPattern(expected[f], actual.dtype);
        Tolerance tol;
        tol.exact = !isFloatDtype(expected[f].dtype);
        tol.atol = o.atol.value_or(1e-7);
        tol.rtol = o.rtol.value_or(1e-3);
        CompareResult r = compareTensors(actual, expected[f], tol, true);
        printf("  %s\n",
               formatComparison(actual.name, actual, expected[f], r).c_str());
        passed &= r.ok();
      }
    }
    printf("%s: %s\n", setName.c_str(), passed ? "PASS" : "FAIL");
    allPassed &= passed;
  }
  return allPassed ? kExitOk : kExitMismatch;
}

/// Warns on stderr about an artifact whose runtime is older than kiln-run's
/// or cannot share its thread pool (ModelLibrary::runtimeWarning).
void warnAboutRuntime(const ModelLibrary &library) {
  std::string warning = library.runtimeWarning();
  if (!warning.empty())
    fprintf(stderr, "kiln-run: warning: %s\n", warning.c_str());
}

/// Runs the reference artifact on `inputs` and prints, and writes with
/// --report, how far `outputs` are from its outputs.
void reportAccuracy(const std::vector<HostTensor> &outputs,
                    std::vector<HostTensor> &inputs, const Options &o) {
  ModelLibrary library(o.reference);
  warnAboutRuntime(library);
  Session session(library.model(), o.threads);
  // The same values in the reference's dtypes: a bf16 KV cache's pasts (kilnc
  // --kv-cache-type=bf16) widen exactly to the fp32 reference's.
  std::vector<HostTensor> referenceInputs = inputs;
  for (size_t i = 0; i < inputs.size(); ++i) {
    int32_t dtype = session.inputInfo((int32_t)i).dtype;
    if (dtype != inputs[i].dtype)
      referenceInputs[i] =
          convertTensor(inputs[i], dtype, "the reference's input");
  }
  std::vector<HostTensor> expected = runOnce(session, referenceInputs);
  if (expected.size() != outputs.size())
    throw ToolError("the reference has " + std::to_string(expected.size()) +
                    " outputs, the model " + std::to_string(outputs.size()));
  std::vector<Accuracy> results;
  for (size_t i = 0; i < outputs.size(); ++i) {
    results.push_back(
        measureAccuracy(outputs[i].name, outputs[i], expected[i]));
    printf("%s\n", formatAccuracy(results.back()).c_str());
  }
  if (o.report.empty())
    return;
  FILE *f = fopen(o.report.c_str(), "w");
  std::string json = accuracyJson(
      o.library, o.referenceName.empty() ? o.reference : o.referenceName,
      results);
  if (!f || fputs(json.c_str(), f) < 0 || fclose(f) != 0)
    throw ToolError("cannot write '" + o.report + "'");
}

int runTool(int argc, char **argv) {
  Options o = parseOptions(argc, argv);
  ModelLibrary library(o.library);
  warnAboutRuntime(library);
  Session session(library.model(), o.threads, o.arenaBytes);

  if (!o.onnxTestDir.empty())
    return runOnnxTestDir(session, o);

  std::vector<HostTensor> inputs =
      o.inputsDir.empty() ? randomInputs(session, *library.model(), o)
                          : loadInputs(session, o.inputsDir);
  if (!o.saveInputsDir.empty())
    writeTensors(o.saveInputsDir, inputs, o.bf16AsFloat32);
  std::vector<HostTensor> outputs = runOnce(session, inputs);

  int status = kExitOk;
  if (!o.outputsDir.empty())
    writeTensors(o.outputsDir, outputs, o.bf16AsFloat32);
  if (!o.expectDir.empty()) {
    Tolerance tol;
    tol.atol = o.atol.value_or(1e-4);
    tol.rtol = o.rtol.value_or(1e-4);
    if (!expectOutputs(outputs, o.expectDir, tol))
      status = kExitMismatch;
  }
  if (!o.reference.empty())
    reportAccuracy(outputs, inputs, o);
  if (o.bench > 0)
    bench(session, inputs, outputs, o);
  else if (o.outputsDir.empty() && o.expectDir.empty() && o.reference.empty())
    for (const HostTensor &t : outputs)
      printf("%s: %s\n", t.name.c_str(), describe(t).c_str());
  return status;
}

} // namespace

int main(int argc, char **argv) {
  try {
    int status = runTool(argc, argv);
    fflush(stdout);
    return status;
  } catch (const UsageError &e) {
    fflush(stdout);
    fprintf(stderr, "kiln-run: %s\n(see kiln-run --help)\n", e.what());
  } catch (const std::exception &e) {
    fflush(stdout);
    fprintf(stderr, "kiln-run: %s\n", e.what());
  }
  return kExitError;
}
