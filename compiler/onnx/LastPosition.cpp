//===- LastPosition.cpp - Outputs cut to their last position --------------===//
#include "compiler/onnx/LastPosition.h"

#include "onnx.pb.h"

#include "mlir/IR/Diagnostics.h"

#include <cstdint>
#include <limits>
#include <map>

using namespace mlir;

namespace {

// Whether `name` is known to be a matrix: an initializer, a Constant, or the
// Transpose or Identity of one (the dynamo exporter's tied LM head), or a
// value the graph declares with two dims.
bool isMatrix(const onnx::GraphProto &graph, const std::string &name,
              int depth = 0) {
  for (const onnx::TensorProto &t : graph.initializer())
    if (t.name() == name)
      return t.dims_size() == 2;
  auto declared = [&](const auto &infos) {
    for (const onnx::ValueInfoProto &v : infos)
      if (v.name() == name && v.type().tensor_type().has_shape())
        return v.type().tensor_type().shape().dim_size() == 2;
    return false;
  };
  if (declared(graph.value_info()) || declared(graph.input()))
    return true;
  for (const onnx::NodeProto &node : graph.node()) {
    if (node.output_size() == 0 || node.output(0) != name ||
        !node.domain().empty())
      continue;
    if (node.op_type() == "Constant")
      for (const onnx::AttributeProto &a : node.attribute())
        if (a.name() == "value")
          return a.t().dims_size() == 2;
    if ((node.op_type() == "Transpose" || node.op_type() == "Identity") &&
        node.input_size() == 1 && depth < 4)
      return isMatrix(graph, node.input(0), depth + 1);
    return false;
  }
  return false;
}

void addInt64(onnx::GraphProto &graph, const std::string &name, int64_t value) {
  onnx::TensorProto *t = graph.add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::INT64);
  t->add_dims(1);
  t->add_int64_data(value);
}

} // namespace

LogicalResult mlir::kiln::onnx_import::keepLastPosition(
    onnx::GraphProto &graph, const std::vector<std::string> &outputs,
    int64_t opset, const std::string &flag, Location loc) {
  if (outputs.empty())
    return success();
  if (opset < 10)
    return emitError(loc) << flag << " needs opset 10 or later (Slice with "
                          << "inputs); the model imports opset " << opset;
  const std::string prefix = "kiln_last_position";
  addInt64(graph, prefix + "_start", -1);
  addInt64(graph, prefix + "_end", std::numeric_limits<int64_t>::max());
  addInt64(graph, prefix + "_axis", 1);
  // Heads that read the same activations share one cut of them.
  std::map<std::string, std::string> cuts;

  for (const std::string &name : outputs) {
    onnx::ValueInfoProto *out = nullptr;
    std::string names;
    for (onnx::ValueInfoProto &o : *graph.mutable_output()) {
      if (o.name() == name)
        out = &o;
      names += (names.empty() ? "" : ", ") + o.name();
    }
    if (!out)
      return emitError(loc) << flag << ": the model has no output '" << name
                            << "' (its outputs: " << names << ")";
    const bool shaped = out->type().tensor_type().has_shape();
    const int rank = out->type().tensor_type().shape().dim_size();
    if (shaped && rank < 3)
      return emitError(loc)
             << flag << ": output '" << name << "' has rank " << rank
             << "; it must be [batch, sequence, ...] with rank "
                "3 or more";
    onnx::NodeProto *producer = nullptr;
    int producerOutput = -1;
    for (onnx::NodeProto &node : *graph.mutable_node())
      for (int i = 0; i < node.output_size(); ++i)
        if (node.output(i) == name) {
          producer = &node;
          producerOutput = i;
        }
    if (!producer)
      return emitError(loc)
             << flag << ": output '" << name << "' is not computed by a node";

    if (shaped) {
      onnx::TensorShapeProto::Dimension *seq = out->mutable_type()
                                                   ->mutable_tensor_type()
                                                   ->mutable_shape()
                                                   ->mutable_dim(1);
      seq->clear_dim_param();
      seq->set_dim_value(1);
    }
    onnx::NodeProto slice;
    slice.set_op_type("Slice");
    slice.set_name(prefix + "/" + name);
    if (producer->op_type() == "MatMul" && producer->domain().empty() &&
        producer->input_size() == 2 && shaped && rank == 3 &&
        isMatrix(graph, producer->input(1))) {
      // [batch, seq, hidden] x [hidden, vocab]: cut the activations, which
      // are then rank 3 as the output is.
      const std::string source = producer->input(0);
      auto [at, added] = cuts.try_emplace(source, source + "_" + prefix);
      producer->set_input(0, at->second);
      if (!added)
        continue; // another head's cut serves this one
      slice.add_input(source);
      slice.add_output(at->second);
    } else {
      // Every other reader of the output keeps all positions.
      const std::string all = name + "_all_positions";
      producer->set_output(producerOutput, all);
      for (onnx::NodeProto &node : *graph.mutable_node())
        for (int i = 0; i < node.input_size(); ++i)
          if (node.input(i) == name)
            node.set_input(i, all);
      slice.add_input(all);
      slice.add_output(name);
    }
    slice.add_input(prefix + "_start");
    slice.add_input(prefix + "_end");
    slice.add_input(prefix + "_axis");
    *graph.add_node() = std::move(slice);
  }
  return success();
}
