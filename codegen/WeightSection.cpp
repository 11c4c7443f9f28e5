//===- WeightSection.cpp - Weights placed in the artifact after linking ---===//
#include "codegen/WeightSection.h"
#include "codegen/WeightsFile.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/SymbolTable.h"
#include "llvm/BinaryFormat/ELF.h"
#include "llvm/Support/BLAKE3.h"
#include "llvm/Support/Endian.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>
#include <vector>

using namespace mlir;
using namespace mlir::kiln;
namespace ELF = llvm::ELF;

static constexpr const char *kSectionName = ".kiln_weights";
// A huge page of x86-64 and of aarch64 with 4 KiB pages: the loader aligns
// the library to its segments' largest alignment, so the weights' copy
// starts on one and every 2 MiB of it can be one page.
static constexpr uint64_t kCopiedAlignment = uint64_t(2) << 20;

uint64_t mlir::kiln::weightBytesInModule(ModuleOp module) {
  uint64_t bytes = 0;
  for (auto global : module.getOps<LLVM::GlobalOp>())
    if (auto res = dyn_cast_or_null<DenseResourceElementsAttr>(
            global.getValueOrNull()))
      if (AsmResourceBlob *blob = res.getRawHandle().getBlob())
        bytes += blob->getData().size();
  return bytes;
}

LogicalResult mlir::kiln::externalizeWeights(ModuleOp module,
                                             WeightFiles &files) {
  std::error_code ec;
  bool inlined = !files.binary.empty();
  std::string asmText =
      inlined ? std::string("\t.section .rodata.kiln_weights,\"a\",@progbits\n")
              : std::string("\t.section ") + kSectionName + ",\"a\",@nobits\n";
  if (files.external || files.copied)
    asmText += "\t.globl kiln_weights_base\n\t.hidden kiln_weights_base\n"
               "kiln_weights_base:\n";
  uint64_t offset = 0;
  unsigned counter = 0;
  for (auto global : module.getOps<LLVM::GlobalOp>()) {
    auto res =
        dyn_cast_or_null<DenseResourceElementsAttr>(global.getValueOrNull());
    if (!res)
      continue;
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return global.emitError()
             << "weight blob '" << res.getRawHandle().getKey()
             << "' has no data";
    ArrayRef<char> data = blob->getData();
    offset += (64 - offset % 64) % 64;
    std::string sym = "kiln_weight_" + std::to_string(counter++);
    std::string size = std::to_string(data.size());
    asmText += "\t.p2align 6\n\t.globl " + sym + "\n\t.hidden " + sym +
               "\n\t.type " + sym + ",@object\n\t.size " + sym + ", " + size +
               "\n" + sym + ":\n";
    asmText += inlined ? "\t.incbin \"" + files.binary + "\", " +
                             std::to_string(offset) + ", " + size + "\n"
                       : "\t.zero " + size + "\n";
    files.chunks.push_back({offset, data});
    offset += data.size();
    // Uses refer to the global by name: rename them with it.
    if (failed(SymbolTable::replaceAllSymbolUses(
            global, StringAttr::get(module.getContext(), sym), module)))
      return global.emitError() << "cannot rename weight global";
    global.setSymName(sym);
    global.removeValueAttr();
    global.setLinkage(LLVM::Linkage::External);
    global.setVisibility_(LLVM::Visibility::Hidden);
  }
  files.bytes = offset;
  // NOLOAD keeps the section NOBITS through the link; after .bss it is the
  // last allocated section and, read-only after read-write data, starts a
  // segment of its own that fillWeightSection can give file contents.
  std::string align = files.external
                          ? std::to_string(externalWeightsAlignment())
                      : files.copied ? std::to_string(kCopiedAlignment)
                                     : std::string("4096");
  std::string script = std::string("SECTIONS {\n  ") + kSectionName +
                       " (NOLOAD) : ALIGN(" + align + ") { KEEP(*(" +
                       kSectionName + ")) }\n} INSERT AFTER .bss;\n";
  for (auto [path, text] :
       {std::pair(&files.asm_, &asmText), std::pair(&files.script, &script)}) {
    if (path->empty())
      continue;
    llvm::raw_fd_ostream os(*path, ec);
    if (ec)
      return module.emitError()
             << "cannot write " << *path << ": " << ec.message();
    os << *text;
  }
  return success();
}

LogicalResult mlir::kiln::writeWeightsBinary(Location loc,
                                             const WeightFiles &files) {
  std::error_code ec;
  llvm::raw_fd_ostream os(files.binary, ec);
  if (ec)
    return emitError(loc) << "cannot write " << files.binary << ": "
                          << ec.message();
  uint64_t at = 0;
  for (const WeightChunk &chunk : files.chunks) {
    os.write_zeros(chunk.offset - at);
    os.write(chunk.data.data(), chunk.data.size());
    at = chunk.offset + chunk.data.size();
  }
  return success();
}

std::array<uint8_t, 32> mlir::kiln::hashWeights(const WeightFiles &files) {
  llvm::BLAKE3 hasher;
  auto word = [&](uint64_t value) {
    uint8_t bytes[8];
    llvm::support::endian::write64le(bytes, value);
    hasher.update(bytes);
  };
  word(files.bytes);
  for (const WeightChunk &chunk : files.chunks) {
    word(chunk.offset);
    word(chunk.data.size());
    hasher.update(llvm::StringRef(chunk.data.data(), chunk.data.size()));
  }
  return hasher.final<32>();
}

namespace {

/// pread/pwrite of whole structs, failing on short transfers.
template <typename T> bool readAt(int fd, uint64_t offset, T &value) {
  return pread(fd, &value, sizeof(T), offset) == (ssize_t)sizeof(T);
}
template <typename T> bool writeAt(int fd, uint64_t offset, const T &value) {
  return pwrite(fd, &value, sizeof(T), offset) == (ssize_t)sizeof(T);
}

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0)
      close(fd);
  }
};

} // namespace

LogicalResult mlir::kiln::fillWeightSection(Location loc,
                                            const std::string &library,
                                            const WeightFiles &files) {
  auto fail = [&](const llvm::Twine &why) {
    return emitError(loc) << "placing " << files.bytes
                          << " bytes of weights in " << library << ": " << why;
  };
  Fd lib{open(library.c_str(), O_RDWR)};
  if (lib.fd < 0)
    return fail(std::string("cannot open: ") + strerror(errno));

  ELF::Elf64_Ehdr eh;
  if (!readAt(lib.fd, 0, eh) || memcmp(eh.e_ident, ELF::ElfMagic, 4) != 0 ||
      eh.e_ident[ELF::EI_CLASS] != ELF::ELFCLASS64 ||
      eh.e_ident[ELF::EI_DATA] != ELF::ELFDATA2LSB ||
      eh.e_shentsize != sizeof(ELF::Elf64_Shdr) ||
      eh.e_phentsize != sizeof(ELF::Elf64_Phdr))
    return fail("not a 64-bit little-endian ELF file");

  // The section, by name.
  std::vector<ELF::Elf64_Shdr> sections(eh.e_shnum);
  for (unsigned i = 0; i < eh.e_shnum; ++i)
    if (!readAt(lib.fd, eh.e_shoff + i * sizeof(ELF::Elf64_Shdr), sections[i]))
      return fail("cannot read the section headers");
  if (eh.e_shstrndx >= sections.size())
    return fail("no section name table");
  const ELF::Elf64_Shdr &names = sections[eh.e_shstrndx];
  std::vector<char> nameTable(names.sh_size + 1, '\0');
  if (pread(lib.fd, nameTable.data(), names.sh_size, names.sh_offset) !=
      (ssize_t)names.sh_size)
    return fail("cannot read the section name table");
  int index = -1;
  for (unsigned i = 0; i < sections.size(); ++i)
    if (sections[i].sh_name < names.sh_size &&
        strcmp(nameTable.data() + sections[i].sh_name, kSectionName) == 0)
      index = i;
  if (index < 0)
    return fail(std::string("no ") + kSectionName + " section after linking");
  ELF::Elf64_Shdr section = sections[index];
  if (section.sh_type != ELF::SHT_NOBITS || section.sh_size != files.bytes)
    return fail(llvm::Twine("section ") + kSectionName + " has type " +
                llvm::Twine(section.sh_type) + " and " +
                llvm::Twine(section.sh_size) + " bytes, expected NOBITS");

  // Its segment: a load segment of its own, with no file contents yet.
  int segment = -1;
  ELF::Elf64_Phdr ph;
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    if (!readAt(lib.fd, eh.e_phoff + i * sizeof(ph), ph))
      return fail("cannot read the program headers");
    if (ph.p_type == ELF::PT_LOAD && ph.p_vaddr == section.sh_addr) {
      segment = i;
      break;
    }
  }
  if (segment < 0 || ph.p_filesz != 0 || ph.p_memsz < section.sh_size)
    return fail("the linker did not give the weights a segment of their own");

  // Appended at an offset congruent to the address modulo the alignment, as
  // the loader's mmap needs.
  off_t end = lseek(lib.fd, 0, SEEK_END);
  uint64_t align = ph.p_align ? ph.p_align : 1;
  uint64_t offset = (end + align - 1) / align * align + ph.p_vaddr % align;
  for (const WeightChunk &chunk : files.chunks) {
    for (size_t put = 0; put < chunk.data.size();) {
      // At most 1 GiB per call: Linux writes no more than about 2 GiB at once.
      size_t want = std::min<size_t>(chunk.data.size() - put, size_t(1) << 30);
      ssize_t n = pwrite(lib.fd, chunk.data.data() + put, want,
                         offset + chunk.offset + put);
      if (n <= 0)
        return fail(std::string("cannot write: ") + strerror(errno));
      put += n;
    }
  }
  // A last chunk of zero bytes would leave the file short of the section.
  if (ftruncate(lib.fd, offset + files.bytes) != 0)
    return fail(std::string("cannot extend: ") + strerror(errno));
  section.sh_type = ELF::SHT_PROGBITS;
  section.sh_offset = offset;
  ph.p_offset = offset;
  ph.p_filesz = section.sh_size;
  if (!writeAt(lib.fd, eh.e_shoff + index * sizeof(section), section) ||
      !writeAt(lib.fd, eh.e_phoff + segment * sizeof(ph), ph))
    return fail(std::string("cannot update the headers: ") + strerror(errno));

  // The build-id: the linker's covers everything but the weights' bytes.
  for (const ELF::Elf64_Shdr &note : sections) {
    ELF::Elf64_Nhdr header;
    if (note.sh_type != ELF::SHT_NOTE ||
        !readAt(lib.fd, note.sh_offset, header))
      continue;
    uint64_t desc =
        note.sh_offset + sizeof(header) + llvm::alignTo(header.n_namesz, 4);
    if (header.n_type != ELF::NT_GNU_BUILD_ID || header.n_descsz == 0 ||
        desc + header.n_descsz > note.sh_offset + note.sh_size)
      continue;
    std::vector<uint8_t> id(header.n_descsz);
    if (pread(lib.fd, id.data(), id.size(), desc) != (ssize_t)id.size())
      return fail("cannot read the build-id");
    llvm::BLAKE3 hasher;
    hasher.update(id);
    hasher.update(hashWeights(files));
    std::array<uint8_t, 32> full = hasher.final<32>();
    for (size_t i = 0; i < id.size(); ++i)
      id[i] = full[i % full.size()];
    if (pwrite(lib.fd, id.data(), id.size(), desc) != (ssize_t)id.size())
      return fail(std::string("cannot write the build-id: ") + strerror(errno));
  }
  return success();
}
