// Benchmarks of the file shield's library path, each reported against baselines measured in the
// same run: the same work on plain files (pwrite/pread, fsync at the same points) and the
// single-core AES-256-GCM limit (`openssl speed -evp aes-256-gcm -bytes 16384` and EVP measured
// in-process). Scenarios: sequential write and read of one large file (COVE_BENCH_BYTES, default
// 1 GiB) in 1 MiB blocks at chunk sizes 4, 16 and 64 KiB, and COVE_BENCH_SMALL_FILES (default
// 3000) files of 4 KiB, and random 4 KiB reads and writes per chunk size (the other side of the
// chunk-size trade-off). Directories: COVE_BENCH_DIRS (default "/dev/shm,/tmp": tmpfs isolates the
// library path, /tmp adds the disk). bench/README.md explains how to read the ratios.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "shield/volume.h"

namespace cove::shield {
namespace {

constexpr size_t kBlock = 1 << 20;  // application I/O size of the large-file scenarios
constexpr size_t kSmallFileSize = 4096;

uint64_t EnvNumber(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return fallback;
  return std::strtoull(value, nullptr, 0);
}
uint64_t LargeBytes() {
  // Whole 1 MiB blocks, at least one.
  return std::max<uint64_t>(1, EnvNumber("COVE_BENCH_BYTES", uint64_t{1} << 30) / kBlock) * kBlock;
}
size_t SmallFiles() {
  return EnvNumber("COVE_BENCH_SMALL_FILES", 3000);
}

std::vector<std::string> BenchRoots() {
  const char* value = std::getenv("COVE_BENCH_DIRS");
  std::string list = value != nullptr && *value != '\0' ? value : "/dev/shm,/tmp";
  std::vector<std::string> roots;
  std::stringstream in(list);
  for (std::string root; std::getline(in, root, ',');) {
    if (!root.empty() && std::filesystem::is_directory(root)) roots.push_back(root);
  }
  return roots;
}
std::string RootLabel(const std::string& root) {
  return root == "/dev/shm" ? "shm" : root;
}

std::vector<uint8_t> Pattern(size_t size, uint32_t seed) {
  std::vector<uint8_t> out(size);
  std::mt19937_64 rng(seed);
  for (size_t i = 0; i + 8 <= size; i += 8) {
    uint64_t v = rng();
    std::memcpy(out.data() + i, &v, 8);
  }
  return out;
}

void Die(const Status& status, const char* step) {
  if (!status.ok()) {
    std::fprintf(stderr, "shield_bench: %s: %s\n", step, status.ToString().c_str());
    std::exit(1);
  }
}
template <typename T>
T Must(Result<T> result, const char* step) {
  Die(result.status(), step);
  return std::move(result).value();
}

// A temp directory that removes itself.
class BenchDir {
 public:
  explicit BenchDir(const std::string& root) {
    std::string tmpl = root + "/cove-bench-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) Die(IoError("mkdtemp " + tmpl), "bench dir");
    path_ = tmpl;
  }
  ~BenchDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A sealed volume with one encrypted region "/data" stored in <dir>/data.
struct BenchVolume {
  explicit BenchVolume(const std::string& root) : dir(root) {
    fspf_path = dir.path() + "/fspf";
    std::filesystem::create_directories(dir.path() + "/data/small");
    Die(Volume::CreateFspf(fspf_path), "create fspf");
    auto volume = Open(SecretBytes());
    Die(volume->AddRegion({"/data", RegionKind::kEncrypted, dir.path() + "/data"}), "region");
    key = Must(volume->Encrypt(), "encrypt");
  }
  std::unique_ptr<Volume> Open(SecretBytes with_key) const {
    VolumeOptions options;
    options.fspf_path = fspf_path;
    options.key = std::move(with_key);
    return Must(Volume::Open(std::move(options)), "open volume");
  }
  std::unique_ptr<Volume> Reopen() const { return Open(key); }

  BenchDir dir;
  std::string fspf_path;
  SecretBytes key;
};

// Throughputs measured so far in this run (bytes/s), for the ratio counters.
std::map<std::string, double>& Measured() {
  static std::map<std::string, double> measured;
  return measured;
}
double MeasuredOr0(const std::string& key) {
  auto it = Measured().find(key);
  return it == Measured().end() ? 0 : it->second;
}

// The single-core AES-256-GCM limit: the better of `openssl speed` and in-process EVP on 16 KiB
// buffers (on a shared machine either can be caught by a neighbour's burst; the limit is what
// the core did when it was not).
double GcmLimit() {
  return std::max(MeasuredOr0("openssl"), MeasuredOr0("evp_seal_16384"));
}

// Records the throughput of a finished benchmark and sets the ratio counters:
//   vs_plain    shield / plain files, same work, same directory
//   vs_openssl  shield / `openssl speed -evp aes-256-gcm -bytes 16384` (single core)
//   vs_evp      shield / in-process EVP AES-256-GCM on buffers of the chunk size
//   vs_limit    shield / GcmLimit()
void Report(benchmark::State& state, const std::string& key, uint64_t bytes, double seconds,
            const std::string& plain_key = "", const std::string& evp_key = "") {
  double throughput = seconds > 0 ? bytes / seconds : 0;
  Measured()[key] = throughput;
  state.counters["MiB/s"] = throughput / (1 << 20);
  if (!plain_key.empty() && MeasuredOr0(plain_key) > 0) {
    state.counters["vs_plain"] = throughput / MeasuredOr0(plain_key);
  }
  if (!plain_key.empty() && MeasuredOr0("openssl") > 0) {
    state.counters["vs_openssl"] = throughput / MeasuredOr0("openssl");
  }
  if (!evp_key.empty() && MeasuredOr0(evp_key) > 0) {
    state.counters["vs_evp"] = throughput / MeasuredOr0(evp_key);
  }
  if (!plain_key.empty() && GcmLimit() > 0) state.counters["vs_limit"] = throughput / GcmLimit();
}

double Seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// ---- The AES-256-GCM limit ----

// `openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3`: the last number of the AES-256-GCM
// line, in 1000s of bytes per second.
double OpensslSpeed() {
  FILE* pipe = popen("openssl speed -evp aes-256-gcm -bytes 16384 -seconds 3 2>/dev/null", "r");
  if (pipe == nullptr) return 0;
  double kbytes = 0;
  char line[512];
  while (std::fgets(line, sizeof(line), pipe) != nullptr) {
    std::string text(line);
    if (text.rfind("AES-256-GCM", 0) != 0 && text.rfind("aes-256-gcm", 0) != 0) continue;
    std::istringstream fields(text.substr(11));
    std::string value;
    while (fields >> value) kbytes = std::strtod(value.c_str(), nullptr);
  }
  pclose(pipe);
  return kbytes * 1000;
}

void BM_OpensslSpeed(benchmark::State& state) {
  double throughput = 0;
  for (auto _ : state) throughput = OpensslSpeed();
  if (throughput <= 0) {
    state.SkipWithError("could not run or parse `openssl speed`");
    return;
  }
  Measured()["openssl"] = throughput;
  state.counters["MiB/s"] = throughput / (1 << 20);
}

// EVP AES-256-GCM in this process, one reused context, a new IV per buffer (as the shield does).
void BM_EvpAesGcm(benchmark::State& state, bool decrypt) {
  size_t size = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> key = Pattern(32, 1), iv = Pattern(12, 2), aad = Pattern(29, 3);
  std::vector<uint8_t> in = Pattern(size, 4), out(size + 16);
  uint8_t tag[16] = {};
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, key.data(), nullptr, decrypt ? 0 : 1);
  int len = 0;
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    ++iv[0];
    EVP_CipherInit_ex(ctx, nullptr, nullptr, nullptr, iv.data(), -1);
    EVP_CipherUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size()));
    EVP_CipherUpdate(ctx, out.data(), &len, in.data(), static_cast<int>(size));
    if (decrypt) EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, 16, tag);
    EVP_CipherFinal_ex(ctx, out.data() + len, &len);  // decrypt: fails the (dummy) tag; same cost
    if (!decrypt) EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
    benchmark::DoNotOptimize(out.data());
  }
  double seconds = Seconds(start);
  EVP_CIPHER_CTX_free(ctx);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * size));
  std::string key_name = std::string(decrypt ? "evp_open_" : "evp_seal_") + std::to_string(size);
  Measured()[key_name] = state.iterations() * size / seconds;
  state.counters["MiB/s"] = Measured()[key_name] / (1 << 20);
}

// ---- Large file, sequential ----

void PlainSeqWrite(benchmark::State& state, const std::string& root) {
  BenchDir dir(root);
  std::string path = dir.path() + "/plain";
  std::vector<uint8_t> block = Pattern(kBlock, 7);
  uint64_t total = LargeBytes();
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    uint64_t since_sync = 0;
    for (uint64_t off = 0; off < total; off += kBlock) {
      if (::pwrite(fd.get(), block.data(), kBlock, static_cast<off_t>(off)) != ssize_t(kBlock)) {
        Die(IoError("pwrite " + path), "plain write");
      }
      // The shield commits (and fsyncs) whenever its buffered writes exceed kMaxDirtyBytes.
      since_sync += kBlock;
      if (since_sync > ProtectedFile::kMaxDirtyBytes) {
        ::fdatasync(fd.get());
        since_sync = 0;
      }
    }
    ::fdatasync(fd.get());
    ::fsync(UniqueFd(::open(dir.path().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)).get());
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total));
  Report(state, RootLabel(root) + "/seq_write/plain", total, seconds);
}

void PlainSeqRead(benchmark::State& state, const std::string& root) {
  BenchDir dir(root);
  std::string path = dir.path() + "/plain";
  std::vector<uint8_t> block = Pattern(kBlock, 7);
  uint64_t total = LargeBytes();
  {
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    for (uint64_t off = 0; off < total; off += kBlock) {
      if (::pwrite(fd.get(), block.data(), kBlock, static_cast<off_t>(off)) != ssize_t(kBlock)) {
        Die(IoError("pwrite " + path), "plain write");
      }
    }
    ::fdatasync(fd.get());
  }
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    for (uint64_t off = 0; off < total; off += kBlock) {
      if (::pread(fd.get(), block.data(), kBlock, static_cast<off_t>(off)) != ssize_t(kBlock)) {
        Die(IoError("pread " + path), "plain read");
      }
      benchmark::DoNotOptimize(block.data());
    }
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total));
  Report(state, RootLabel(root) + "/seq_read/plain", total, seconds);
}

void WriteLargeShieldFile(const BenchVolume& bench, uint32_t chunk_size, uint64_t total) {
  std::vector<uint8_t> block = Pattern(kBlock, 7);
  auto volume = bench.Reopen();
  auto file = Must(volume->CreateFile("/data/large", std::nullopt, chunk_size), "create file");
  for (uint64_t off = 0; off < total; off += kBlock) Die(file->Write(off, block), "write");
  Die(volume->Commit(*file), "commit");
}

std::string EvpKey(const char* op, uint32_t chunk_size) {
  return std::string(op) + std::to_string(chunk_size);
}

void ShieldSeqWrite(benchmark::State& state, const std::string& root) {
  uint32_t chunk_size = static_cast<uint32_t>(state.range(0));
  uint64_t total = LargeBytes();
  double seconds = 0;
  for (auto _ : state) {
    BenchVolume bench(root);
    auto start = std::chrono::steady_clock::now();
    WriteLargeShieldFile(bench, chunk_size, total);
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total));
  std::string label = RootLabel(root);
  Report(state, label + "/seq_write/shield/" + std::to_string(chunk_size), total, seconds,
         label + "/seq_write/plain", EvpKey("evp_seal_", chunk_size));
}

void ShieldSeqRead(benchmark::State& state, const std::string& root) {
  uint32_t chunk_size = static_cast<uint32_t>(state.range(0));
  uint64_t total = LargeBytes();
  BenchVolume bench(root);
  WriteLargeShieldFile(bench, chunk_size, total);
  std::vector<uint8_t> block(kBlock);
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto volume = bench.Reopen();
    auto file = Must(volume->OpenFile("/data/large", false), "open file");
    for (uint64_t off = 0; off < total; off += kBlock) {
      if (Must(file->Read(off, block), "read") != kBlock) Die(DataLoss("short read"), "read");
      benchmark::DoNotOptimize(block.data());
    }
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * total));
  std::string label = RootLabel(root);
  Report(state, label + "/seq_read/shield/" + std::to_string(chunk_size), total, seconds,
         label + "/seq_read/plain", EvpKey("evp_open_", chunk_size));
}

// ---- Random 4 KiB I/O in a large file: what a bigger chunk costs ----

constexpr size_t kRandomOps = 20000;
constexpr uint64_t kRandomFileBytes = uint64_t{64} << 20;

// Random 4 KiB-aligned reads (whole file in the page cache): each decrypts a whole chunk.
void ShieldRandomRead(benchmark::State& state, const std::string& root) {
  uint32_t chunk_size = static_cast<uint32_t>(state.range(0));
  uint64_t total = std::min(LargeBytes(), kRandomFileBytes);
  BenchVolume bench(root);
  WriteLargeShieldFile(bench, chunk_size, total);
  auto volume = bench.Reopen();
  auto file = Must(volume->OpenFile("/data/large", false), "open file");
  std::vector<uint8_t> block(4096);
  std::mt19937_64 rng(5);
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < kRandomOps; ++i) {
      uint64_t off = rng() % (total / 4096) * 4096;
      if (Must(file->Read(off, block), "read") != block.size()) Die(DataLoss("short"), "read");
      benchmark::DoNotOptimize(block.data());
    }
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRandomOps));
  state.counters["ops/s"] = kRandomOps / seconds;
  Measured()[RootLabel(root) + "/rand_read_4k/" + std::to_string(chunk_size) + " ops/s"] =
      kRandomOps / seconds;
}

// Random 4 KiB-aligned writes, committed every 256 writes (each commit journals the overwritten
// chunks and tag blocks): each write re-seals a whole chunk at the next commit.
void ShieldRandomWrite(benchmark::State& state, const std::string& root) {
  uint32_t chunk_size = static_cast<uint32_t>(state.range(0));
  uint64_t total = std::min(LargeBytes(), kRandomFileBytes);
  BenchVolume bench(root);
  WriteLargeShieldFile(bench, chunk_size, total);
  auto volume = bench.Reopen();
  auto file = Must(volume->OpenFile("/data/large", true), "open file");
  std::vector<uint8_t> block = Pattern(4096, 11);
  std::mt19937_64 rng(6);
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < kRandomOps; ++i) {
      Die(file->Write(rng() % (total / 4096) * 4096, block), "write");
      if (i % 256 == 255) Die(volume->Commit(*file), "commit");
    }
    Die(volume->Commit(*file), "commit");
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kRandomOps));
  state.counters["ops/s"] = kRandomOps / seconds;
  Measured()[RootLabel(root) + "/rand_write_4k/" + std::to_string(chunk_size) + " ops/s"] =
      kRandomOps / seconds;
}

// ---- Many small files ----

std::string SmallName(size_t i) {
  return "/small/f" + std::to_string(i);
}

void PlainSmallWrite(benchmark::State& state, const std::string& root) {
  size_t count = SmallFiles();
  std::vector<uint8_t> content = Pattern(kSmallFileSize, 9);
  double seconds = 0;
  for (auto _ : state) {
    BenchDir dir(root);
    std::filesystem::create_directories(dir.path() + "/small");
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < count; ++i) {
      std::string path = dir.path() + SmallName(i);
      UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (::pwrite(fd.get(), content.data(), content.size(), 0) != ssize_t(content.size())) {
        Die(IoError("pwrite " + path), "plain small write");
      }
      ::fdatasync(fd.get());  // the shield's Stage makes each file durable
    }
    // The shield's single Save: one small file written, synced and renamed, directory synced.
    ::fsync(UniqueFd(::open((dir.path() + "/small").c_str(), O_RDONLY | O_DIRECTORY)).get());
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  Report(state, RootLabel(root) + "/small_write/plain", count * kSmallFileSize, seconds);
  state.counters["files/s"] = count / seconds;
}

void PlainSmallRead(benchmark::State& state, const std::string& root) {
  size_t count = SmallFiles();
  std::vector<uint8_t> content = Pattern(kSmallFileSize, 9);
  BenchDir dir(root);
  std::filesystem::create_directories(dir.path() + "/small");
  for (size_t i = 0; i < count; ++i) {
    std::string path = dir.path() + SmallName(i);
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (::pwrite(fd.get(), content.data(), content.size(), 0) != ssize_t(content.size())) {
      Die(IoError("pwrite " + path), "plain small write");
    }
  }
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < count; ++i) {
      std::string path = dir.path() + SmallName(i);
      UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      if (::pread(fd.get(), content.data(), content.size(), 0) != ssize_t(content.size())) {
        Die(IoError("pread " + path), "plain small read");
      }
      benchmark::DoNotOptimize(content.data());
    }
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  Report(state, RootLabel(root) + "/small_read/plain", count * kSmallFileSize, seconds);
  state.counters["files/s"] = count / seconds;
}

// Creates `count` small protected files with Stage and one Save (as `cove fspf addf` does).
void WriteSmallShieldFiles(const BenchVolume& bench, size_t count) {
  std::vector<uint8_t> content = Pattern(kSmallFileSize, 9);
  auto volume = bench.Reopen();
  for (size_t i = 0; i < count; ++i) {
    auto file = Must(volume->CreateFile("/data" + SmallName(i)), "create small file");
    Die(file->Write(0, content), "write small file");
    Die(volume->Stage(*file), "stage");
  }
  Die(volume->Save(), "save");
}

void ShieldSmallWrite(benchmark::State& state, const std::string& root) {
  size_t count = SmallFiles();
  double seconds = 0;
  for (auto _ : state) {
    BenchVolume bench(root);
    auto start = std::chrono::steady_clock::now();
    WriteSmallShieldFiles(bench, count);
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  std::string label = RootLabel(root);
  Report(state, label + "/small_write/shield", count * kSmallFileSize, seconds,
         label + "/small_write/plain", "evp_seal_4096");
  state.counters["files/s"] = count / seconds;
}

void ShieldSmallRead(benchmark::State& state, const std::string& root) {
  size_t count = SmallFiles();
  BenchVolume bench(root);
  WriteSmallShieldFiles(bench, count);
  std::vector<uint8_t> content(kSmallFileSize);
  double seconds = 0;
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    auto volume = bench.Reopen();  // includes decrypting the fspf that lists every file
    for (size_t i = 0; i < count; ++i) {
      auto file = Must(volume->OpenFile("/data" + SmallName(i), false), "open small file");
      if (Must(file->Read(0, content), "read small file") != kSmallFileSize) {
        Die(DataLoss("short read"), "read small file");
      }
      benchmark::DoNotOptimize(content.data());
    }
    seconds = Seconds(start);
    state.SetIterationTime(seconds);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * count));
  std::string label = RootLabel(root);
  Report(state, label + "/small_read/shield", count * kSmallFileSize, seconds,
         label + "/small_read/plain", "evp_open_4096");
  state.counters["files/s"] = count / seconds;
}

void RegisterAll() {
  benchmark::RegisterBenchmark("aes_gcm/openssl_speed_16k", BM_OpensslSpeed)
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  for (bool decrypt : {false, true}) {
    benchmark::RegisterBenchmark(decrypt ? "aes_gcm/evp_open" : "aes_gcm/evp_seal",
                                 [decrypt](benchmark::State& s) { BM_EvpAesGcm(s, decrypt); })
        ->Arg(4096)
        ->Arg(16384)
        ->Arg(65536)
        ->MinTime(0.5);
  }
  const std::vector<int64_t> chunk_sizes = {4096, 16384, 65536};
  using Fn = void (*)(benchmark::State&, const std::string&);
  auto add = [](const std::string& name, Fn fn, const std::string& root,
                const std::vector<int64_t>& args) {
    auto* b = benchmark::RegisterBenchmark((RootLabel(root) + "/" + name).c_str(),
                                           [fn, root](benchmark::State& s) { fn(s, root); });
    for (int64_t arg : args) b->Arg(arg);
    b->Iterations(1)->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  for (const std::string& root : BenchRoots()) {
    add("seq_write/plain", PlainSeqWrite, root, {});
    add("seq_write/shield", ShieldSeqWrite, root, chunk_sizes);
    add("seq_read/plain", PlainSeqRead, root, {});
    add("seq_read/shield", ShieldSeqRead, root, chunk_sizes);
    if (root == BenchRoots().front()) {  // a library-path property: one directory is enough
      add("rand_read_4k/shield", ShieldRandomRead, root, chunk_sizes);
      add("rand_write_4k/shield", ShieldRandomWrite, root, chunk_sizes);
    }
    add("small_write/plain", PlainSmallWrite, root, {});
    add("small_write/shield", ShieldSmallWrite, root, {});
    add("small_read/plain", PlainSmallRead, root, {});
    add("small_read/shield", ShieldSmallRead, root, {});
  }
}

// A table of the ratios once every benchmark has run (the counters, gathered in one place).
void PrintSummary() {
  double openssl = MeasuredOr0("openssl");
  std::printf("\nshield_bench summary (%llu MiB large file, %zu small files of 4 KiB)\n",
              static_cast<unsigned long long>(LargeBytes() >> 20), SmallFiles());
  std::printf(
      "openssl speed aes-256-gcm 16 KiB: %.0f MiB/s; EVP seal 4/16/64 KiB: %.0f/%.0f/%.0f "
      "MiB/s; EVP open 4/16/64 KiB: %.0f/%.0f/%.0f MiB/s; limit used: %.0f MiB/s\n",
      openssl / (1 << 20), MeasuredOr0("evp_seal_4096") / (1 << 20),
      MeasuredOr0("evp_seal_16384") / (1 << 20), MeasuredOr0("evp_seal_65536") / (1 << 20),
      MeasuredOr0("evp_open_4096") / (1 << 20), MeasuredOr0("evp_open_16384") / (1 << 20),
      MeasuredOr0("evp_open_65536") / (1 << 20), GcmLimit() / (1 << 20));
  std::printf("%-32s %9s %9s %9s %11s %9s\n", "scenario", "MiB/s", "plain", "vs_plain",
              "vs_openssl", "vs_limit");
  for (const auto& [key, value] : Measured()) {
    if (key.ends_with(" ops/s")) continue;
    auto shield = key.find("/shield");
    if (shield == std::string::npos) continue;
    double plain = MeasuredOr0(key.substr(0, shield) + "/plain");
    std::printf("%-32s %9.1f %9.1f %9.3f %11.3f %9.3f\n", key.c_str(), value / (1 << 20),
                plain / (1 << 20), plain > 0 ? value / plain : 0, openssl > 0 ? value / openssl : 0,
                GcmLimit() > 0 ? value / GcmLimit() : 0);
  }
  std::printf("%-32s %9s\n", "random 4 KiB I/O, chunk size", "ops/s");
  for (const auto& [key, value] : Measured()) {
    if (!key.ends_with(" ops/s")) continue;
    std::printf("%-32s %9.0f\n", key.substr(0, key.size() - 6).c_str(), value);
  }
}

}  // namespace
}  // namespace cove::shield

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  cove::shield::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  cove::shield::PrintSummary();
  return 0;
}
