// Crash safety: a writer process is killed with SIGKILL at random points while it writes and
// commits; after every kill the file must read back exactly as one of its committed versions
// (the one the fspf records), never wrong data, and must stay writable.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iostream>
#include <random>
#include <span>
#include <thread>

#include "shield/journal.h"
#include "shield/shield_test_util.h"
#include "shield/volume.h"

namespace cove::shield {
namespace {

using testing::Pattern;
using testing::TempDir;

// The volume of fspf `fspf` opened with `key`, as a new process does.
Result<std::unique_ptr<Volume>> OpenWithKey(const std::string& fspf, const SecretBytes& key) {
  VolumeOptions options;
  options.fspf_path = fspf;
  options.key = key;
  return Volume::Open(std::move(options));
}

// A new sealed volume at `fspf` with region /data (encrypted) in `dir`; its key goes to `key`.
std::unique_ptr<Volume> NewVolume(const std::string& fspf, const std::string& dir,
                                  SecretBytes* key) {
  if (!Volume::CreateFspf(fspf).ok()) return nullptr;
  VolumeOptions options;
  options.fspf_path = fspf;
  auto volume = Volume::Open(std::move(options));
  if (!volume.ok() || !(*volume)->AddRegion({"/data", RegionKind::kEncrypted, dir}).ok()) {
    return nullptr;
  }
  auto sealed = (*volume)->Encrypt();
  if (!sealed.ok()) return nullptr;
  *key = std::move(sealed).value();
  return std::move(volume).value();
}

// A writer's step once its writes are done: one byte to `ready_fd` (what KillWriter counts), a
// pause, then the commit. Exits the writer process on a failure.
void AnnouncePauseAndCommit(Volume& volume, ProtectedFile& file, int ready_fd,
                            std::chrono::microseconds pause) {
  if (write(ready_fd, "c", 1) != 1) _exit(7);
  std::this_thread::sleep_for(pause);
  if (!volume.Commit(file).ok()) _exit(6);
}

// Starts `writer` (which never returns) in a child process, waits until it has written
// `steps` bytes to its pipe (one before each commit), lets it run `delay` more, and kills it
// with SIGKILL.
void KillWriter(const std::function<void(int ready_fd)>& writer, uint32_t steps,
                std::chrono::microseconds delay) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    writer(ready[1]);
    _exit(8);
  }
  close(ready[1]);
  for (; steps > 0; --steps) {
    char byte = 0;
    ASSERT_EQ(read(ready[0], &byte, 1), 1) << "the writer died before its commit";
  }
  close(ready[0]);
  std::this_thread::sleep_for(delay);
  kill(child, SIGKILL);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "writer exited by itself with " << WEXITSTATUS(status);
}

// The content of the file after `generation` commits of the deterministic writer below,
// starting from `base` (the content at generation `from`).
void ApplyStep(std::vector<uint8_t>& model, uint64_t step) {
  std::mt19937 rng(static_cast<uint32_t>(step * 7919));
  int op = static_cast<int>(rng() % 8);
  if (op == 0) {
    model.resize(rng() % (model.size() + 1));
    return;
  }
  if (op == 1) {
    // A large sequential append from a chunk boundary: sealed at write time (protected_file.h).
    model.resize((model.size() + 4095) / 4096 * 4096);
    auto data = Pattern((rng() % 300 + 64) * size_t{4096}, static_cast<uint32_t>(rng()));
    model.insert(model.end(), data.begin(), data.end());
    return;
  }
  uint64_t offset = rng() % (model.size() + 8192);
  auto data = Pattern(rng() % 70000 + 1, static_cast<uint32_t>(rng()));
  if (model.size() < offset + data.size()) model.resize(offset + data.size());
  std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(offset));
}

// Writer: one commit per step, forever (until killed). Steps are numbered by generation. It
// writes one byte to `ready_fd` when a step's writes are done and its commit is about to start,
// so that the parent can aim its kill at the interesting moments however slow the steps are
// (sanitizer builds spend most of a step generating data).
[[noreturn]] void RunWriter(const std::string& fspf, const SecretBytes& key, int ready_fd) {
  auto volume = std::move(OpenWithKey(fspf, key)).value();
  auto file = std::move(volume->OpenFile("/data/f", true)).value();
  std::vector<uint8_t> model(file->size());
  if (!file->Read(0, model).ok()) _exit(3);
  for (uint64_t step = file->generation();; ++step) {
    std::vector<uint8_t> before = model;
    ApplyStep(model, step);
    if (model.size() < before.size()) {
      if (!file->Truncate(model.size()).ok()) _exit(4);
    } else {
      // Rewrite the bytes that changed (the whole tail region from the first change, simply).
      auto diff = std::mismatch(before.begin(), before.end(), model.begin()).first;
      size_t from = static_cast<size_t>(diff - before.begin()) / 4096 * 4096;
      if (!file->Write(from, std::span(model).subspan(from)).ok()) _exit(5);
    }
    // The program works a little between its writes and its fsync: a kill often lands there,
    // after appended chunks were sealed and written in place but before their commit.
    AnnouncePauseAndCommit(*volume, *file, ready_fd, std::chrono::microseconds(1500));
  }
}

TEST(CrashSafety, KilledWriterAlwaysLeavesACommittedVersion) {
  TempDir dir;
  std::string fspf = dir / "fspf";
  SecretBytes key;
  {
    auto volume = NewVolume(fspf, dir.path(), &key);
    ASSERT_NE(volume, nullptr);
    auto file = std::move(volume->CreateFile("/data/f")).value();
    ASSERT_TRUE(volume->Commit(*file).ok());  // generation 1, empty
  }
  std::mt19937 rng(1234);
  int kills = 0;
  int killed_mid_commit = 0;           // kills that left a journal behind, so recovery really ran
  int killed_after_sealed_append = 0;  // ... the journal of uncommitted sealed appends
  // At least 40 kills, and more (up to 200) until kills have landed both inside a commit and
  // after sealed appends: where a kill lands is timing, and a loaded machine shifts it.
  auto covered = [&] { return killed_mid_commit > 0 && killed_after_sealed_append > 0; };
  for (int round = 0; round < 40 || (!covered() && round < 200); ++round) {
    // Wait until the writer finished the writes of its 1st..4th step, then kill it within the
    // next few milliseconds: before its commit (sealed appends on disk), inside it, or after.
    uint32_t steps = 1 + rng() % 4;
    ASSERT_NO_FATAL_FAILURE(KillWriter([&](int ready_fd) { RunWriter(fspf, key, ready_fd); }, steps,
                                       std::chrono::microseconds(rng() % 6000)));
    ++kills;
    if (auto journal = ReadWholeFile(Env::Default(), dir / "f.cove-journal"); journal.ok()) {
      auto decoded = DecodeJournal(*journal, "journal");
      // Target generation 0: the journal written before appends sealed at write time.
      ++(decoded.ok() && decoded->target_generation == 0 ? killed_after_sealed_append
                                                         : killed_mid_commit);
    }

    auto volume = OpenWithKey(fspf, key);
    ASSERT_TRUE(volume.ok()) << volume.status().ToString();
    auto file = (*volume)->OpenFile("/data/f", false);
    ASSERT_TRUE(file.ok()) << "round " << round << ": " << file.status().ToString();
    std::vector<uint8_t> expected;
    for (uint64_t step = 1; step < (*file)->generation(); ++step) ApplyStep(expected, step);
    std::vector<uint8_t> content((*file)->size());
    auto n = (*file)->Read(0, content);
    ASSERT_TRUE(n.ok()) << "round " << round << ": " << n.status().ToString();
    ASSERT_EQ(content, expected) << "round " << round << " generation " << (*file)->generation();
  }
  EXPECT_GE(kills, 40);
  EXPECT_GT(killed_mid_commit, 0) << "no kill landed inside a commit; recovery was not exercised";
  EXPECT_GT(killed_after_sealed_append, 0) << "no kill landed after a sealed append";
  std::cout << killed_mid_commit << " of " << kills << " kills interrupted a commit, "
            << killed_after_sealed_append << " came after sealed appends before their commit\n";
}

// Small files (compact layout, file_format.h): file /data/s<k> goes through kSmallSteps
// commits: small writes and truncations in its slots, then (step kSmallGrowStep) growth past
// one chunk, which converts it through the journal, then one more small write. The writer
// works on one file after the other and resumes, after a kill, where the fspf says it was.
constexpr uint64_t kSmallSteps = 8;
constexpr uint64_t kSmallGrowStep = 7;

std::string SmallPath(uint64_t file) {
  return "/data/s" + std::to_string(file);
}

void ApplySmallStep(std::vector<uint8_t>& model, uint64_t file, uint64_t step) {
  std::mt19937 rng(static_cast<uint32_t>(file * 1000 + step));
  if (step == kSmallGrowStep) {
    auto data = Pattern(rng() % 20000 + 1000, static_cast<uint32_t>(rng()));
    model.insert(model.end(), data.begin(), data.end());
    return;
  }
  // Every step changes the file, so that its generation counts the steps.
  if (!model.empty() && rng() % 5 == 0) {
    model.resize(rng() % model.size());
    return;
  }
  size_t offset = rng() % (std::min<size_t>(model.size(), 3500) + 1);
  auto data = Pattern(rng() % (4096 - offset) + 1, static_cast<uint32_t>(rng()));
  if (model.size() < offset + data.size()) model.resize(offset + data.size());
  std::copy(data.begin(), data.end(), model.begin() + static_cast<long>(offset));
}

std::vector<uint8_t> SmallModel(uint64_t file, uint64_t generation) {
  std::vector<uint8_t> model;
  for (uint64_t step = 1; step <= generation; ++step) ApplySmallStep(model, file, step);
  return model;
}

[[noreturn]] void RunSmallWriter(const std::string& fspf, const SecretBytes& key, int ready_fd) {
  auto volume = std::move(OpenWithKey(fspf, key)).value();
  for (uint64_t k = 0;; ++k) {
    const FileEntry* entry = volume->FindFile(SmallPath(k));
    if (entry != nullptr && entry->generation >= kSmallSteps) continue;
    auto opened =
        entry != nullptr ? volume->OpenFile(SmallPath(k), true) : volume->CreateFile(SmallPath(k));
    if (!opened.ok()) _exit(3);
    auto file = std::move(opened).value();
    for (uint64_t step = file->generation() + 1; step <= kSmallSteps; ++step) {
      std::vector<uint8_t> model = SmallModel(k, step);
      if (!file->Truncate(std::min<uint64_t>(file->size(), model.size())).ok()) _exit(4);
      if (!file->Write(0, model).ok()) _exit(5);
      AnnouncePauseAndCommit(*volume, *file, ready_fd, std::chrono::microseconds(300));
    }
  }
}

TEST(CrashSafety, KilledSmallFileWriterAlwaysLeavesACommittedVersion) {
  TempDir dir;
  std::string fspf = dir / "fspf";
  SecretBytes key;
  ASSERT_NE(NewVolume(fspf, dir.path(), &key), nullptr);
  std::mt19937 rng(4321);
  uint64_t checked = 0;
  uint64_t converted = 0;  // files checked after their conversion
  for (int round = 0; round < 40; ++round) {
    uint32_t steps = 1 + rng() % 12;
    ASSERT_NO_FATAL_FAILURE(KillWriter([&](int ready_fd) { RunSmallWriter(fspf, key, ready_fd); },
                                       steps, std::chrono::microseconds(rng() % 800)));
    auto volume = OpenWithKey(fspf, key);
    ASSERT_TRUE(volume.ok()) << volume.status().ToString();
    for (uint64_t k = 0; (*volume)->FindFile(SmallPath(k)) != nullptr; ++k) {
      auto file = (*volume)->OpenFile(SmallPath(k), false);
      ASSERT_TRUE(file.ok()) << "round " << round << ": " << file.status().ToString();
      std::vector<uint8_t> content((*file)->size());
      auto n = (*file)->Read(0, content);
      ASSERT_TRUE(n.ok()) << "round " << round << ": " << n.status().ToString();
      ASSERT_EQ(content, SmallModel(k, (*file)->generation()))
          << "round " << round << " file " << k << " generation " << (*file)->generation();
      ++checked;
      if ((*file)->generation() >= kSmallGrowStep) ++converted;
    }
  }
  EXPECT_GT(converted, 0u) << "no file reached its conversion";
  std::cout << checked << " small-file checks after 40 kills, " << converted
            << " of them after the file's conversion\n";
}

}  // namespace
}  // namespace cove::shield
