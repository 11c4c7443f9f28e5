//===- TensorDecoding.cpp - ONNX TensorProto -> MLIR attributes -----------===//
//
// Initializers and Constant values, inline or in external data files,
// become dense elements (small tensors) or resource blobs (weights).
//
//===----------------------------------------------------------------------===//
#include "compiler/onnx/ImportLimits.h"
#include "compiler/onnx/Importer.h"
#include "dialects/kiln/Dtype.h"

#include "onnx.pb.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

using namespace mlir;
using namespace mlir::kiln::onnx_import;

/// Copies typed repeated fields into a little-endian byte buffer.
template <typename Dst, typename Src>
static void appendAs(std::vector<char> &out, const Src &field) {
  for (auto v : field) {
    Dst d = static_cast<Dst>(v);
    const char *p = reinterpret_cast<const char *>(&d);
    out.insert(out.end(), p, p + sizeof(Dst));
  }
}

FailureOr<Importer::ExternalBytes>
Importer::readExternalData(const onnx::TensorProto &t, Location loc) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v;
      if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
        return emitError(loc)
               << "tensor '" << t.name() << "' has a bad " << kv.key() << " '"
               << kv.value() << "' in its external data";
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty())
    return emitError(loc) << "tensor '" << t.name()
                          << "' uses external data but gives no location";
  // The location must stay inside the model's directory: no absolute paths,
  // no '..', and no symlink that resolves outside it.
  if (llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                    llvm::sys::path::end(location)),
                   [](StringRef c) { return c == ".."; }))
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "location '" << location
                          << "' escapes the model directory";
  SmallString<256> full(modelDir);
  llvm::sys::path::append(full, location);
  SmallString<256> realDir, realFile;
  if (llvm::sys::fs::real_path(modelDir, realDir) ||
      llvm::sys::fs::real_path(full, realFile))
    return emitError(loc) << "tensor '" << t.name()
                          << "': cannot open external data file '" << full
                          << "'";
  if (!StringRef(realFile).starts_with(std::string(realDir) + "/"))
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "location '" << location
                          << "' resolves outside the model directory";
  // A FIFO or device would block or never end; a directory cannot be read.
  if (!llvm::sys::fs::is_regular_file(realFile))
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "location '" << location
                          << "' is not a regular file";
  std::shared_ptr<llvm::MemoryBuffer> &file = mappedFiles[realFile];
  if (!file) {
    // Mapped, not read: the weights' pages come from the page cache and the
    // blobs below point into the mapping, so no copy of them is made.
    auto buf = llvm::MemoryBuffer::getFile(realFile, /*IsText=*/false,
                                           /*RequiresNullTerminator=*/false);
    if (!buf) {
      mappedFiles.erase(realFile);
      return emitError(loc)
             << "tensor '" << t.name() << "': cannot read external data file '"
             << full << "': " << buf.getError().message();
    }
    file = std::move(*buf);
  }
  int64_t size = file->getBufferSize();
  if (offset > size)
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "offset " << offset << " is past the end of '"
                          << location << "' (" << size << " bytes)";
  if (length >= 0 && length > size - offset)
    return emitError(loc) << "tensor '" << t.name() << "': external data "
                          << "range [" << offset << ", " << offset << " + "
                          << length << ") exceeds the size of '" << location
                          << "' (" << size << " bytes)";
  if (length < 0)
    length = size - offset;
  return ExternalBytes{
      ArrayRef<char>(file->getBufferStart() + offset, (size_t)length), file};
}

FailureOr<ElementsAttr> Importer::decodeTensor(const onnx::TensorProto &t,
                                               Location loc, StringRef what) {
  Type elemType = elementTypeFromOnnx(&ctx, t.data_type());
  int64_t elemSize = dtypeByteSize(t.data_type());
  if (!elemType || !elemSize)
    return emitError(loc) << what << " '" << t.name()
                          << "' has unsupported data type "
                          << onnxDtypeName(t.data_type());
  if ((size_t)t.dims_size() > kMaxRank)
    return emitError(loc) << what << " '" << t.name() << "' has rank "
                          << t.dims_size() << ", over the limit of "
                          << kMaxRank;
  SmallVector<int64_t> shape;
  int64_t numElements = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || d > kMaxElements)
      return emitError(loc) << what << " '" << t.name() << "' has dim " << d
                            << ", outside [0, 2^40]";
    if (__builtin_mul_overflow(numElements, d, &numElements) ||
        numElements > kMaxElements)
      return emitError(loc)
             << what << " '" << t.name() << "' has too many elements";
    shape.push_back(d);
  }
  int64_t expectedBytes = numElements * elemSize;

  std::vector<char> owned; // converted data
  ArrayRef<char> bytes;
  std::shared_ptr<llvm::MemoryBuffer> mapping; // external data
  if (t.data_location() == onnx::TensorProto::EXTERNAL) {
    auto ext = readExternalData(t, loc);
    if (failed(ext))
      return failure();
    bytes = ext->bytes;
    mapping = std::move(ext->file);
  } else if (t.has_raw_data()) {
    // A view: the blob below is the one copy the compiler keeps.
    bytes = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
  } else {
    switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      appendAs<float>(owned, t.float_data());
      break;
    case onnx::TensorProto::DOUBLE:
      appendAs<double>(owned, t.double_data());
      break;
    case onnx::TensorProto::INT64:
      appendAs<int64_t>(owned, t.int64_data());
      break;
    case onnx::TensorProto::UINT64:
      appendAs<uint64_t>(owned, t.uint64_data());
      break;
    case onnx::TensorProto::UINT32:
      appendAs<uint32_t>(owned, t.uint64_data());
      break;
    case onnx::TensorProto::INT32:
      appendAs<int32_t>(owned, t.int32_data());
      break;
    case onnx::TensorProto::INT16:
    case onnx::TensorProto::UINT16:
    case onnx::TensorProto::FLOAT16:
    case onnx::TensorProto::BFLOAT16:
      appendAs<uint16_t>(owned, t.int32_data());
      break;
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      appendAs<uint8_t>(owned, t.int32_data());
      break;
    default:
      break;
    }
    bytes = owned;
  }
  if ((int64_t)bytes.size() != expectedBytes)
    return emitError(loc) << what << " '" << t.name() << "' holds "
                          << bytes.size() << " bytes of data but its dims ["
                          << llvm::make_range(shape.begin(), shape.end())
                          << "] and type " << onnxDtypeName(t.data_type())
                          << " need " << expectedBytes;

  auto type = RankedTensorType::get(shape, elemType);
  if (elemType.isInteger(1)) {
    SmallVector<bool> flags;
    for (char c : bytes)
      flags.push_back(c != 0);
    if (numElements <= options.inlineConstantLimit)
      return cast<ElementsAttr>(DenseElementsAttr::get(type, flags));
  } else if (numElements <= options.inlineConstantLimit) {
    return cast<ElementsAttr>(DenseElementsAttr::getFromRawBuffer(type, bytes));
  }

  weightBytes += bytes.size();
  if (weightBytes > options.maxWeightBytes)
    return emitError(loc) << "the model's weights exceed the limit of "
                          << options.maxWeightBytes << " bytes ("
                          << options.optionNames.maxWeightBytes << ")";
  std::string key;
  for (char c : t.name().empty() ? std::string("weight") : t.name())
    key.push_back(llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_');
  if (key.empty() || llvm::isDigit(key[0]))
    key.insert(0, "w");
  if (mapping && reinterpret_cast<uintptr_t>(bytes.data()) % elemSize == 0) {
    // The blob reads the mapping and keeps it alive. (A tensor at an offset
    // its element type does not divide is copied: typed reads need
    // alignment.)
    AsmResourceBlob blob(
        bytes, /*dataAlignment=*/1,
        [mapping](void *, size_t, size_t) mutable { mapping.reset(); },
        /*dataIsMutable=*/false);
    return cast<ElementsAttr>(
        DenseResourceElementsAttr::get(type, key, std::move(blob)));
  }
  auto blob = HeapAsmResourceBlob::allocateAndCopyInferAlign(bytes);
  return cast<ElementsAttr>(
      DenseResourceElementsAttr::get(type, key, std::move(blob)));
}
