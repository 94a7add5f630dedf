// Concurrency of ShieldedFiles: several threads read, write, commit, dup and reopen protected
// files at once, on one shared descriptor and on files of their own. Run under
// ThreadSanitizer in CI (scripts/test.sh) to catch data races; here it checks the results.
#include <fcntl.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "runtime/runtime_log.h"
#include "runtime/shielded_files.h"

namespace cove::runtime {
namespace {

constexpr int kThreads = 6;
constexpr size_t kSlice = 3 * 4096 + 123;  // crosses chunk boundaries
constexpr int kRounds = 30;

std::string SliceContent(int thread, int round) {
  std::string s(kSlice, '\0');
  for (size_t i = 0; i < kSlice; ++i) s[i] = static_cast<char>('A' + (thread * 7 + round + i) % 26);
  return s;
}

TEST(ShieldedFilesThreads, ConcurrentReadersWritersAndCommitsKeepEveryByte) {
  SetLogTarget(kLogError, 2);
  char tmpl[] = "/tmp/cove-threads-XXXXXX";
  std::string dir = mkdtemp(tmpl);
  std::string region = dir + "/enc";
  std::filesystem::create_directories(region);
  std::string fspf = dir + "/fspf";
  ASSERT_TRUE(shield::Volume::CreateFspf(fspf).ok());
  shield::VolumeOptions options;
  options.fspf_path = fspf;
  auto volume = std::move(shield::Volume::Open(options)).value();
  ASSERT_TRUE(volume->AddRegion({region, shield::RegionKind::kEncrypted, ""}).ok());
  ASSERT_TRUE(volume->Save().ok());
  RuntimeConfig config;
  config.fspf_path = fspf;
  ShieldedFiles files(config, std::move(volume), false);

  long shared = -1;
  std::string shared_path = region + "/shared.bin";
  ASSERT_TRUE(files.TryOpen(AT_FDCWD, shared_path.c_str(), O_RDWR | O_CREAT, 0600, &shared));
  ASSERT_GE(shared, 0);

  std::vector<std::thread> threads;
  std::vector<std::string> failures(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::string own_path = region + "/own-" + std::to_string(t);
      for (int round = 0; round < kRounds; ++round) {
        std::string data = SliceContent(t, round);
        long r = 0;
        // Disjoint slices of the shared descriptor, read back at once.
        files.TryPwrite(static_cast<int>(shared), data.data(), data.size(),
                        static_cast<off_t>(t * kSlice), &r);
        if (r != static_cast<long>(kSlice)) failures[t] = "pwrite shared: " + std::to_string(r);
        std::string back(kSlice, '\0');
        files.TryPread(static_cast<int>(shared), back.data(), back.size(),
                       static_cast<off_t>(t * kSlice), &r);
        if (back != data) failures[t] = "pread shared returned other bytes";
        if (round % 5 == 0) files.TryFsync(static_cast<int>(shared), &r);
        // A file of its own: open, append, dup, read through the dup, close both.
        long fd = -1;
        files.TryOpen(AT_FDCWD, own_path.c_str(), O_RDWR | O_CREAT | O_APPEND, 0600, &fd);
        if (fd < 0) {
          failures[t] = "open own: " + std::to_string(fd);
          return;
        }
        files.TryWrite(static_cast<int>(fd), data.data(), data.size(), &r);
        long dup_fd = -1;
        files.TryDup(static_cast<int>(fd), -1, 0, &dup_fd);
        std::string first(kSlice, '\0');
        files.TryPread(static_cast<int>(dup_fd), first.data(), first.size(), 0, &r);
        if (first != SliceContent(t, 0)) failures[t] = "own file lost its first slice";
        files.TryClose(static_cast<int>(dup_fd), &r);
        files.TryClose(static_cast<int>(fd), &r);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(failures[t], "") << "thread " << t;

  long r = 0;
  ASSERT_TRUE(files.TryClose(static_cast<int>(shared), &r));
  for (int t = 0; t < kThreads; ++t) {
    struct stat st {};
    std::string own_path = region + "/own-" + std::to_string(t);
    ASSERT_TRUE(files.TryFstatat(AT_FDCWD, own_path.c_str(), &st, 0, &r));
    EXPECT_EQ(static_cast<size_t>(st.st_size), kSlice * kRounds) << own_path;
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cove::runtime
