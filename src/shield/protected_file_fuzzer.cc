// libFuzzer target for the whole read path of protected files. A small sealed volume (several
// files, both region kinds, two chunk sizes, two groups, an older committed version of every
// file) is built once; each input is a list of host-side mutations (flip a byte, truncate,
// extend, copy a 4 KiB block within or between files, roll a file or the fspf back to its older
// version, forge a redo journal). The files are then read back through a Volume opened with the
// expected fspf tag. The property: a read either fails with an error or returns exactly the
// original plaintext, never other bytes; and a file left intact still reads back. Abort otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "shield/journal.h"
#include "shield/volume.h"

namespace cove::shield {
namespace {

struct HostFile {
  std::string host_path;
  std::string path;  // protected path; empty for the fspf
  std::vector<uint8_t> current;
  std::vector<uint8_t> old;  // the host bytes at the previous commit
  std::vector<uint8_t> plaintext;
  uint64_t generation = 0;
};

struct Fixture {
  std::string dir;
  std::string fspf_path;
  SecretBytes key;
  FspfTag tag{};
  std::vector<HostFile> files;  // [0] is the fspf
  FileId id_of_first{};
};

std::vector<uint8_t> Pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> out(size);
  std::mt19937 rng(seed);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

std::vector<uint8_t> ReadHost(const std::string& path) {
  auto bytes = ReadWholeFile(Env::Default(), path);
  if (!bytes.ok()) {
    std::fprintf(stderr, "fixture: %s\n", bytes.status().ToString().c_str());
    std::abort();
  }
  return *bytes;
}

void WriteHost(const std::string& path, const std::vector<uint8_t>& bytes) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::abort();
  UniqueFd guard(fd);
  if (!Env::Default().WriteAt(fd, bytes, 0, path).ok()) std::abort();
}

void Check(const Status& status, const char* step) {
  if (!status.ok()) {
    std::fprintf(stderr, "fixture: %s: %s\n", step, status.ToString().c_str());
    std::abort();
  }
}

std::string FixtureRoot() {
  std::error_code ec;
  if (std::filesystem::is_directory("/dev/shm", ec) && ::access("/dev/shm", W_OK) == 0) {
    return "/dev/shm";
  }
  return std::filesystem::temp_directory_path().string();
}

Fixture* BuildFixture() {
  auto* f = new Fixture();
  std::string tmpl = FixtureRoot() + "/cove-pf-fuzz-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) std::abort();
  f->dir = tmpl;
  std::filesystem::create_directories(f->dir + "/enc");
  std::filesystem::create_directories(f->dir + "/auth");
  f->fspf_path = f->dir + "/fspf";
  Check(Volume::CreateFspf(f->fspf_path), "create fspf");

  VolumeOptions options;
  options.fspf_path = f->fspf_path;
  auto opened = Volume::Open(std::move(options));
  Check(opened.status(), "open volume");
  auto& volume = *opened;
  Check(volume->AddRegion({"/enc", RegionKind::kEncrypted, f->dir + "/enc"}), "region");
  Check(volume->AddRegion({"/auth", RegionKind::kAuthenticated, f->dir + "/auth"}), "region");
  auto key = volume->Encrypt();
  Check(key.status(), "encrypt");
  f->key = *key;

  struct Spec {
    const char* path;
    size_t size;
    uint32_t chunk_size;
  };
  const Spec specs[] = {
      {"/enc/small", 3 * 4096 + 123, 4096},
      {"/auth/small", 2 * 4096 + 7, 4096},
      {"/enc/two-groups", 129 * 4096 + 100, 4096},  // two tag blocks
      {"/enc/wide", 40000, 16384},
      {"/auth/one-chunk", 4096, 4096},
      {"/enc/empty", 0, 4096},
  };
  f->files.push_back({f->fspf_path, "", {}, {}, {}, 0});
  uint32_t seed = 1;
  std::vector<std::unique_ptr<ProtectedFile>> handles;
  // Version 1 of every file, committed; its host bytes and the fspf become the "old" versions.
  for (const Spec& spec : specs) {
    auto file = volume->CreateFile(spec.path, std::nullopt, spec.chunk_size);
    Check(file.status(), "create file");
    Check((*file)->Write(0, Pattern(spec.size, seed++)), "write v1");
    Check(volume->Commit(**file), "commit v1");
    f->files.push_back({volume->HostPathFor(spec.path), spec.path, {}, {}, {}, 0});
    handles.push_back(std::move(*file));
  }
  for (auto& file : f->files) file.old = ReadHost(file.host_path);
  // Version 2: a partial overwrite, so that most chunks are shared with version 1 and only the
  // overwritten chunks and the tag blocks differ.
  for (size_t i = 0; i < handles.size(); ++i) {
    ProtectedFile& file = *handles[i];
    std::vector<uint8_t> plain = Pattern(specs[i].size, 100 + i);
    if (specs[i].size > 0) {
      std::vector<uint8_t> v1(specs[i].size);
      auto n = file.Read(0, v1);
      Check(n.status(), "read v1");
      size_t from = specs[i].size / 3;
      size_t to = std::min(specs[i].size, from + 5000);
      std::copy(plain.begin() + from, plain.begin() + to, v1.begin() + from);
      plain = std::move(v1);
    }
    Check(file.Write(0, plain), "write v2");
    Check(volume->Commit(file), "commit v2");
    f->files[i + 1].plaintext = std::move(plain);
    f->files[i + 1].generation = file.generation();
  }
  handles.clear();
  for (auto& file : f->files) file.current = ReadHost(file.host_path);
  f->tag = volume->tag();
  const FileEntry* first = volume->FindFile(specs[0].path);
  if (first == nullptr) std::abort();
  f->id_of_first = first->id;
  return f;
}

Fixture& GetFixture() {
  static Fixture* fixture = [] {
    Fixture* f = BuildFixture();
    static std::string dir = f->dir;
    std::atexit([] { std::filesystem::remove_all(dir); });
    return f;
  }();
  return *fixture;
}

uint32_t Le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// Reads `file` through `volume` in steps of `step` bytes: an error, or exactly the plaintext.
void ReadAndCheck(Volume& volume, const HostFile& file, size_t step, bool must_succeed) {
  auto opened = volume.OpenFile(file.path, false);
  if (!opened.ok()) {
    if (must_succeed) {
      std::fprintf(stderr, "intact file refused: %s\n", opened.status().ToString().c_str());
      std::abort();
    }
    return;
  }
  ProtectedFile& protected_file = **opened;
  if (protected_file.size() != file.plaintext.size()) std::abort();
  std::vector<uint8_t> out(step);
  uint64_t offset = 0;
  while (offset < file.plaintext.size()) {
    auto n = protected_file.Read(offset, out);
    if (!n.ok()) {
      if (must_succeed) {
        std::fprintf(stderr, "intact file unreadable: %s\n", n.status().ToString().c_str());
        std::abort();
      }
      return;
    }
    size_t expect = std::min<size_t>(step, file.plaintext.size() - offset);
    if (*n != expect || std::memcmp(out.data(), file.plaintext.data() + offset, expect) != 0) {
      std::fprintf(stderr, "WRONG PLAINTEXT from %s at offset %llu\n", file.path.c_str(),
                   static_cast<unsigned long long>(offset));
      std::abort();
    }
    offset += expect;
  }
  auto end = protected_file.Read(offset, out);
  if (end.ok() && *end != 0) std::abort();
}

}  // namespace
}  // namespace cove::shield

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cove::shield;
  Fixture& f = GetFixture();
  const size_t n = f.files.size();
  std::vector<std::vector<uint8_t>> bytes;
  bytes.reserve(n);
  for (const auto& file : f.files) bytes.push_back(file.current);
  std::vector<bool> journaled(n, false);

  // Whole-chunk runs (the fast path), single chunks and reads straddling chunk boundaries.
  static constexpr size_t kReadSteps[] = {1 << 20, 4096, 1000, 5000, 16384, 65536 + 3};
  size_t step = size > 0 ? kReadSteps[data[0] % std::size(kReadSteps)] : kReadSteps[0];
  // Every 6 bytes after the first: op/target byte, u32 argument, value byte.
  for (size_t at = 1; at + 6 <= size && at < 1 + 6 * 64; at += 6) {
    unsigned op = data[at] & 7;
    size_t target = (data[at] >> 3) % n;
    uint32_t arg = Le32(data + at + 1);
    uint8_t value = data[at + 5];
    std::vector<uint8_t>& b = bytes[target];
    switch (op) {
      case 0:
      case 1:
      case 2:  // flip bits of one byte
        if (!b.empty()) b[arg % b.size()] ^= static_cast<uint8_t>(value | 1);
        break;
      case 3:  // truncate
        b.resize(b.empty() ? 0 : arg % b.size());
        break;
      case 4:  // extend
        b.insert(b.end(), size_t{value} + 1, static_cast<uint8_t>(arg));
        break;
      case 5: {  // copy a 4 KiB block from (file value % n, block arg & 0xffff) to block arg >> 16
        const std::vector<uint8_t>& src = bytes[value % n];
        size_t src_blocks = src.size() / 4096;
        size_t dst_blocks = b.size() / 4096;
        if (src_blocks == 0 || dst_blocks == 0) break;
        std::vector<uint8_t> block(src.begin() + (arg & 0xffff) % src_blocks * 4096,
                                   src.begin() + ((arg & 0xffff) % src_blocks + 1) * 4096);
        std::copy(block.begin(), block.end(), b.begin() + (arg >> 16) % dst_blocks * 4096);
        break;
      }
      case 6:  // roll back to the previous commit
        b = f.files[target].old;
        break;
      case 7: {  // forge a redo journal (it carries a checksum, not a MAC)
        if (target == 0) break;
        const HostFile& file = f.files[target];
        Journal journal;
        journal.file_id = f.id_of_first;
        if ((value & 1) && b.size() >= 32)
          std::memcpy(journal.file_id.data(), b.data() + 16, journal.file_id.size());
        journal.target_generation = file.generation + ((value >> 1) & 1);
        journal.new_host_size = b.size() + ((value & 4) ? 0 : (arg >> 24));
        std::vector<uint8_t> patch((value >> 3) + 1, static_cast<uint8_t>(arg >> 8));
        journal.records.push_back({(arg & 0xfffff) % (b.size() + 4096), std::move(patch)});
        WriteHost(JournalPath(file.host_path), EncodeJournal(journal));
        journaled[target] = true;
        break;
      }
    }
  }

  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != f.files[i].current) WriteHost(f.files[i].host_path, bytes[i]);
  }
  {
    VolumeOptions options;
    options.fspf_path = f.fspf_path;
    options.key = f.key;
    options.expected_tag = f.tag;
    auto volume = Volume::Open(std::move(options));
    bool fspf_intact = bytes[0] == f.files[0].current;
    if (!volume.ok() && fspf_intact) std::abort();
    if (volume.ok()) {
      for (size_t i = 1; i < n; ++i) {
        bool intact = bytes[i] == f.files[i].current && !journaled[i];
        ReadAndCheck(**volume, f.files[i], step, intact);
      }
    }
  }
  // Restore the host files (a recovery may have rewritten a file and removed its journal).
  for (size_t i = 0; i < n; ++i) {
    if (bytes[i] != f.files[i].current || journaled[i]) {
      WriteHost(f.files[i].host_path, f.files[i].current);
    }
    if (journaled[i]) ::unlink(JournalPath(f.files[i].host_path).c_str());
  }
  return 0;
}
