// Tests of ParallelCrypto and of the parallel read and write paths of ProtectedFile: every block
// runs exactly once, helpers take part, serial and parallel paths agree byte for byte (either
// one reads what the other wrote), a tampered chunk in the middle of a parallel run fails and
// wipes the whole output, a forked child starts its own helpers, and a large write after a
// truncation (O_TRUNC) reads back right before and after a reopen. Also the adaptive policy's
// decisions (HelperPolicy) and the read-ahead of sequential small reads (what it serves after
// writes, commits and truncations, and a tampered chunk beyond the reads).
#include "shield/parallel_crypto.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <thread>
#include <vector>

#include "common/tsan.h"
#include "shield/helper_policy.h"
#include "shield/shield_test_util.h"
#include "shield/volume.h"
#include "shield/volume_fixture.h"

namespace cove::shield {
namespace {

using testing::ExitStatusOfChild;
using testing::Pattern;
using testing::ReadRaw;
using testing::TempDir;
using testing::WriteRaw;

// Restores the default thread count when a test ends.
class ThreadsOverride {
 public:
  explicit ThreadsOverride(int threads) { ParallelCrypto::SetMaxThreadsForTesting(threads); }
  ~ThreadsOverride() { ParallelCrypto::SetMaxThreadsForTesting(0); }
};

TEST(ParallelCryptoTest, RunsEveryBlockExactlyOnce) {
  // 4 first: the pool keeps as many helpers as the first parallel job asked for.
  for (int threads : {1, 4, 2}) {
    ThreadsOverride override_threads(threads);
    for (size_t blocks : {size_t{0}, size_t{1}, size_t{2}, size_t{7}, size_t{64}, size_t{1000}}) {
      std::vector<std::atomic<int>> runs(blocks);
      std::atomic<bool> bad_thread{false};
      ParallelCrypto::Run(blocks, threads, [&](size_t block, int thread) {
        if (thread < 0 || thread >= ParallelCrypto::MaxThreads()) bad_thread = true;
        runs[block].fetch_add(1);
      });
      for (size_t b = 0; b < blocks; ++b) {
        EXPECT_EQ(runs[b].load(), 1) << "block " << b << " of " << blocks << ", " << threads;
      }
      EXPECT_FALSE(bad_thread.load());
    }
  }
}

TEST(ParallelCryptoTest, HelperTakesPartWhileTheCallerIsBusy) {
  ThreadsOverride override_threads(2);
  // The caller keeps block 0 until another thread has run a block: only a helper can.
  std::atomic<bool> helper_ran{false};
  ParallelCrypto::Run(16, 2, [&](size_t block, int thread) {
    if (thread != 0) helper_ran = true;
    if (block == 0 && thread == 0) {
      while (!helper_ran.load()) std::this_thread::yield();
    }
  });
  EXPECT_TRUE(helper_ran.load());
  EXPECT_GT(ParallelCrypto::HelpedJobsForTesting(), 0u);
}

TEST(ParallelCryptoTest, NestedRunFallsBackToTheCallingThread) {
  ThreadsOverride override_threads(2);
  // A job started from inside a job (as a signal handler doing I/O would) runs serially and
  // does not wait for the pool.
  std::atomic<int> inner_runs{0};
  ParallelCrypto::Run(4, 2, [&](size_t, int) {
    ParallelCrypto::Run(8, 2, [&](size_t, int thread) {
      EXPECT_EQ(thread, 0);
      inner_runs.fetch_add(1);
    });
  });
  EXPECT_EQ(inner_runs.load(), 32);
}

// Runs `jobs` jobs through `policy` as Pool::RunAdaptive does: a job without helpers takes
// `serial_ns` per block; a helped job takes `helped_ns` and went right when `went_right(i)`.
// Returns how many jobs ran without helpers.
int Simulate(HelperPolicy& policy, int jobs, double serial_ns, double helped_ns,
             const std::function<bool(int)>& went_right) {
  int alone = 0;
  for (int i = 0; i < jobs; ++i) {
    bool helped = policy.UseHelpers();
    alone += helped ? 0 : 1;
    policy.Record(helped, helped && went_right(i), helped ? helped_ns : serial_ns);
  }
  return alone;
}

// Jobs a policy runs without helpers before it asks for them again.
int JobsWithoutHelpers(HelperPolicy& policy) {
  int jobs = 0;
  while (!policy.UseHelpers()) {
    policy.Record(false, false, 30000);
    ++jobs;
  }
  return jobs;
}

TEST(HelperPolicyTest, KeepsHelpersThatAreFasterAndMostlyGoRight) {
  HelperPolicy policy;
  EXPECT_FALSE(policy.UseHelpers()) << "the first job times the caller alone";
  policy.Record(false, false, 30000);
  // One helped job in four going wrong (a helper descheduled now and then) keeps the helpers;
  // only the periodic samples run alone.
  int jobs = 50 * HelperPolicy::kSerialSampleEvery;
  int alone = Simulate(policy, jobs, 30000, 18000, [](int i) { return i % 4 != 0; });
  EXPECT_EQ(alone, jobs / HelperPolicy::kSerialSampleEvery);
}

TEST(HelperPolicyTest, DropsHelpersThatKeepGoingWrongAndBacksOffMoreEachTime) {
  HelperPolicy policy;
  JobsWithoutHelpers(policy);
  policy.Record(true, false, 18000);  // the first helped job woke the helpers: not judged
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(policy.UseHelpers()) << "two bad jobs are not yet a verdict";
    policy.Record(true, false, 18000);
  }
  ASSERT_TRUE(policy.UseHelpers());
  policy.Record(true, false, 18000);
  EXPECT_EQ(JobsWithoutHelpers(policy), HelperPolicy::kMinBackoffJobs);
  // Each verdict in a row doubles the backoff, up to the maximum.
  for (int expected = 2 * HelperPolicy::kMinBackoffJobs;
       expected <= 4 * HelperPolicy::kMaxBackoffJobs; expected *= 2) {
    for (int i = 0; i < 4; ++i) policy.Record(true, false, 18000);  // a warm-up and three bad
    EXPECT_EQ(JobsWithoutHelpers(policy), std::min(expected, HelperPolicy::kMaxBackoffJobs));
  }
  // A run of good jobs in between resets it.
  for (int i = 0; i <= HelperPolicy::kMinBackoffJobs; ++i) policy.Record(true, true, 18000);
  for (int i = 0; i < 3; ++i) policy.Record(true, false, 18000);
  EXPECT_EQ(JobsWithoutHelpers(policy), HelperPolicy::kMinBackoffJobs);
}

TEST(HelperPolicyTest, DropsHelpersThatAreNoFasterThanTheCallerAlone) {
  // Every helped job looks right (helpers beside the caller), but the session's CPU share is
  // what it is: blocks come no faster than without helpers.
  HelperPolicy policy;
  JobsWithoutHelpers(policy);
  int jobs = 1000;
  int alone = Simulate(policy, jobs, 30000, 31000, [](int) { return true; });
  EXPECT_GT(alone, jobs * 9 / 10);
}

class ParallelFileTest : public testing::VolumeFixture {
 public:
  void TearDown() override { ParallelCrypto::SetMaxThreadsForTesting(0); }

  // Writes `content` into a new file `path` in 1 MiB writes with `threads` threads, commits.
  void WriteWith(int threads, const std::string& path, const std::vector<uint8_t>& content) {
    ParallelCrypto::SetMaxThreadsForTesting(threads);
    auto volume = Reopen();
    auto file = volume->CreateFile(path);
    ASSERT_TRUE(file.ok()) << file.status().ToString();
    for (size_t at = 0; at < content.size(); at += 1 << 20) {
      size_t n = std::min<size_t>(1 << 20, content.size() - at);
      ASSERT_TRUE((*file)->Write(at, std::span(content).subspan(at, n)).ok());
    }
    ASSERT_TRUE(volume->Commit(**file).ok());
  }

  // Flips one bit of chunk `chunk`'s ciphertext in the host file of /data/`name`.
  void FlipCiphertextBit(const std::string& name, uint64_t chunk) {
    FileGeometry geometry(kDefaultChunkSize);
    std::string host = dir_ / ("enc/" + name);
    auto raw = ReadRaw(host);
    raw[geometry.ChunkOffset(chunk) + 17] ^= 0x40;
    WriteRaw(host, raw);
  }

  // Reads `path` whole (one Read call) with `threads` threads.
  Result<std::vector<uint8_t>> ReadWith(int threads, const std::string& path,
                                        std::vector<uint8_t>* buffer = nullptr) {
    ParallelCrypto::SetMaxThreadsForTesting(threads);
    auto volume = Reopen();
    COVE_ASSIGN_OR_RETURN(auto file, volume->OpenFile(path, false));
    std::vector<uint8_t> local;
    std::vector<uint8_t>& out = buffer != nullptr ? *buffer : local;
    out.assign(file->size(), 0xAA);
    COVE_ASSIGN_OR_RETURN(size_t n, file->Read(0, out));
    return std::vector<uint8_t>(out.begin(), out.begin() + static_cast<long>(n));
  }
};

TEST_F(ParallelFileTest, SerialAndParallelPathsAgree) {
  // Three groups and a short last chunk, in both region kinds.
  auto content = Pattern(300 * 4096 + 1234, 7);
  for (const std::string region : {"/data/", "/auth/"}) {
    for (int writer : {1, 2, 4}) {
      std::string path = region + "w" + std::to_string(writer);
      WriteWith(writer, path, content);
      for (int reader : {1, 2, 4}) {
        auto got = ReadWith(reader, path);
        ASSERT_TRUE(got.ok()) << path << " read with " << reader << ": " << got.status().ToString();
        EXPECT_TRUE(*got == content)
            << path << " written with " << writer << ", read with " << reader;
      }
    }
  }
  // The ciphertext does not depend on who sealed it except through the random nonces: same
  // size on disk either way.
  EXPECT_EQ(std::filesystem::file_size(dir_ / "enc/w1"),
            std::filesystem::file_size(dir_ / "enc/w2"));
}

TEST_F(ParallelFileTest, TamperedChunkInAParallelRunFailsAndWipesTheOutput) {
  auto content = Pattern(2 << 20, 8);
  WriteWith(2, "/data/t", content);
  // Chunk 200 lies in group 1, in the middle of the run.
  FlipCiphertextBit("t", 200);
  for (int threads : {1, 2}) {
    std::vector<uint8_t> out;
    auto got = ReadWith(threads, "/data/t", &out);
    ASSERT_FALSE(got.ok()) << "tampering not detected with " << threads << " threads";
    EXPECT_EQ(got.status().code(), StatusCode::kIntegrityError) << got.status().ToString();
    EXPECT_NE(got.status().message().find("chunk 200"), std::string::npos)
        << got.status().ToString();
    ASSERT_EQ(out.size(), content.size());
    EXPECT_TRUE(std::all_of(out.begin(), out.end(), [](uint8_t b) { return b == 0; }))
        << "the output keeps plaintext or ciphertext after a failed read (" << threads << ")";
  }
}

TEST_F(ParallelFileTest, ForkedChildStartsItsOwnHelpers) {
#ifdef COVE_TSAN
  GTEST_SKIP() << "ThreadSanitizer cannot start threads in the child of a multi-threaded fork";
#endif
  auto content = Pattern(3 << 20, 9);
  WriteWith(2, "/data/f", content);
  auto got = ReadWith(2, "/data/f");  // the parent's helpers are running now
  ASSERT_TRUE(got.ok() && *got == content);
  int child_status = ExitStatusOfChild([&] {
    // The child has no helper threads: jobs must neither hang nor lose blocks.
    auto again = ReadWith(2, "/data/f");
    if (!again.ok() || *again != content) return 1;
    auto other = Pattern(2 << 20, 10);
    WriteWith(2, "/data/child", other);
    auto back = ReadWith(2, "/data/child");
    if (!back.ok() || *back != other) return 2;
    // The child got helpers of its own.
    std::atomic<bool> helper_ran{false};
    ParallelCrypto::Run(16, 2, [&](size_t block, int thread) {
      if (thread != 0) helper_ran = true;
      if (block == 0 && thread == 0) {
        while (!helper_ran.load()) std::this_thread::yield();
      }
    });
    return helper_ran.load() ? 0 : 3;
  });
  ASSERT_EQ(child_status, 0);
  got = ReadWith(2, "/data/child");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, Pattern(2 << 20, 10));
}

TEST_F(ParallelFileTest, LargeWriteAfterTruncationIsSealedAtWriteTime) {
  auto old_content = Pattern(5 << 20, 11);
  WriteWith(2, "/data/o", old_content);
  auto volume = Reopen();
  auto file = std::move(volume->OpenFile("/data/o", true)).value();
  uint64_t generation = file->generation();
  // As after open(O_TRUNC): the new content is written from the start.
  ASSERT_TRUE(file->Truncate(0).ok());
  auto fresh = Pattern((2 << 20) + 100, 12);
  ASSERT_TRUE(file->Write(0, fresh).ok());
  // The truncation was committed first, so the chunks went out as sealed appends (a journal
  // that is never replayable exists while they are uncommitted).
  EXPECT_EQ(file->generation(), generation + 1);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "enc/o.cove-journal"));
  std::vector<uint8_t> got(fresh.size());
  auto n = file->Read(0, got);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_TRUE(got == fresh);
  ASSERT_TRUE(volume->Commit(*file).ok());
  file.reset();
  auto back = ReadWith(2, "/data/o");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(*back == fresh);

  // Dropped without the final commit: the file is the committed truncation, never a mix.
  volume = Reopen();
  file = std::move(volume->OpenFile("/data/o", true)).value();
  ASSERT_TRUE(file->Truncate(0).ok());
  ASSERT_TRUE(file->Write(0, old_content).ok());
  file.reset();
  back = ReadWith(1, "/data/o");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->empty()) << back->size();
}

constexpr long kChunkBytes = 4096;  // the default chunk size, as a signed offset

// Reads `file` from `offset` to its end in reads of `piece` bytes; the bytes, or the first error.
Result<std::vector<uint8_t>> ReadInPieces(ProtectedFile& file, uint64_t offset, size_t piece) {
  std::vector<uint8_t> all;
  std::vector<uint8_t> buffer(piece);
  for (;;) {
    COVE_ASSIGN_OR_RETURN(size_t n, file.Read(offset, buffer));
    if (n == 0) return all;
    all.insert(all.end(), buffer.begin(), buffer.begin() + static_cast<long>(n));
    offset += n;
  }
}

TEST_F(ParallelFileTest, SequentialSmallReadsThroughTheReadAheadWindowAgree) {
  auto content = Pattern((3 << 20) + 1234, 13);
  WriteWith(2, "/data/s", content);
  ParallelCrypto::SetMaxThreadsForTesting(2);
  auto volume = Reopen();
  // Aligned and unaligned pieces, each read sequentially from the start: the first half, then
  // (a window in use) the rest, whose end frees the window.
  for (size_t piece : {size_t{4096}, size_t{8192}, size_t{16384}, size_t{65536}, size_t{5000}}) {
    auto file = std::move(volume->OpenFile("/data/s", false)).value();
    std::vector<uint8_t> got(content.size());
    size_t at = 0;
    for (; at < content.size() / 2; at += piece) {
      auto n = file->Read(at, std::span(got).subspan(at, std::min(piece, got.size() - at)));
      ASSERT_TRUE(n.ok()) << piece << ": " << n.status().ToString();
    }
    EXPECT_GT(ProtectedFile::ReadAheadBytesForTesting(), 0u)
        << "no window with pieces of " << piece;
    auto rest = ReadInPieces(*file, at, piece);
    ASSERT_TRUE(rest.ok()) << piece << ": " << rest.status().ToString();
    std::copy(rest->begin(), rest->end(), got.begin() + static_cast<long>(at));
    EXPECT_TRUE(got == content) << "pieces of " << piece;
    EXPECT_EQ(ProtectedFile::ReadAheadBytesForTesting(), 0u) << "the end kept the window";
  }
}

TEST_F(ParallelFileTest, ReadAheadNeverServesBytesAWriteCommitOrTruncationChanged) {
  auto content = Pattern(2 << 20, 14);
  WriteWith(2, "/data/w", content);
  ParallelCrypto::SetMaxThreadsForTesting(2);
  auto volume = Reopen();
  auto file = std::move(volume->OpenFile("/data/w", true)).value();
  std::vector<uint8_t> piece(4096);
  // Expects chunks [first, first + count) to read as `content`, one read per chunk.
  auto expect_chunks = [&](uint64_t first, uint64_t count, const char* when) {
    for (uint64_t chunk = first; chunk < first + count; ++chunk) {
      auto n = file->Read(chunk * kChunkBytes, piece);
      ASSERT_TRUE(n.ok()) << when << ", chunk " << chunk << ": " << n.status().ToString();
      EXPECT_TRUE(std::equal(piece.begin(), piece.begin() + static_cast<long>(*n),
                             content.begin() + static_cast<long>(chunk) * kChunkBytes))
          << when << ", chunk " << chunk;
    }
  };
  // Sequential 4 KiB reads of chunks 0..63: the window then holds chunks up to 112.
  expect_chunks(0, 64, "first pass");
  // A write into chunks the window holds (65 whole, 66 partly), read before and after its
  // commit without moving the window.
  auto patch = Pattern(4096 + 100, 15);
  ASSERT_TRUE(file->Write(65 * kChunkBytes, patch).ok());
  std::copy(patch.begin(), patch.end(), content.begin() + 65 * kChunkBytes);
  expect_chunks(64, 4, "after the write");
  ASSERT_TRUE(volume->Commit(*file).ok());
  EXPECT_EQ(ProtectedFile::ReadAheadBytesForTesting(), 0u) << "the commit kept the window";
  expect_chunks(64, 4, "after the commit");
  // Fill a window again, then cut into it and extend the file: zeros past the cut.
  expect_chunks(0, 64, "second pass");
  ASSERT_TRUE(file->Truncate(70 * kChunkBytes + 7).ok());
  // Reads past the cut never consult the window; it is freed all the same (its plaintext of
  // truncated bytes wiped).
  EXPECT_EQ(ProtectedFile::ReadAheadBytesForTesting(), 0u) << "the truncation kept the window";
  ASSERT_TRUE(file->Truncate(content.size()).ok());
  std::fill(content.begin() + 70 * kChunkBytes + 7, content.end(), 0);
  expect_chunks(64, 16, "after the truncation");
}

TEST_F(ParallelFileTest, ReadAheadWindowsOfAllOpenFilesStayWithinTheBudget) {
  constexpr size_t kBudget = 3 << 20;
  std::vector<std::vector<uint8_t>> contents;
  for (uint32_t i = 0; i < 4; ++i) {
    contents.push_back(Pattern(3 << 20, 20 + i));
    WriteWith(2, "/data/m" + std::to_string(i), contents.back());
  }
  ProtectedFile::SetReadAheadBudgetForTesting(kBudget);
  ParallelCrypto::SetMaxThreadsForTesting(2);
  {
    auto volume = Reopen();
    std::vector<std::unique_ptr<ProtectedFile>> files;
    files.reserve(4);
    for (int i = 0; i < 4; ++i) {
      files.push_back(std::move(volume->OpenFile("/data/m" + std::to_string(i), false)).value());
    }
    // A merge: 4 KiB from each file in turn, to the end. Each file's window would grow to 1 MiB.
    std::vector<uint8_t> piece(4096);
    size_t max_held = 0;
    for (uint64_t offset = 0; offset < contents[0].size(); offset += piece.size()) {
      for (size_t i = 0; i < files.size(); ++i) {
        auto n = files[i]->Read(offset, piece);
        ASSERT_TRUE(n.ok()) << n.status().ToString();
        ASSERT_EQ(*n, piece.size());
        ASSERT_TRUE(
            std::equal(piece.begin(), piece.end(), contents[i].begin() + static_cast<long>(offset)))
            << "file " << i << " at " << offset;
        max_held = std::max(max_held, ProtectedFile::ReadAheadBytesForTesting());
      }
    }
    EXPECT_LE(max_held, kBudget);
    EXPECT_GE(max_held, kBudget / 2) << "the windows did not grow at all";
  }
  EXPECT_EQ(ProtectedFile::ReadAheadBytesForTesting(), 0u) << "closed files keep their windows";
  ProtectedFile::SetReadAheadBudgetForTesting(0);
}

TEST_F(ParallelFileTest, ReadAheadBudgetFollowsTheDataLimitSconeHeapSets) {
#ifdef COVE_TSAN
  GTEST_SKIP() << "ThreadSanitizer cannot start threads in the child of a multi-threaded fork";
#endif
  auto content = Pattern(3 << 20, 30);
  WriteWith(2, "/data/h", content);
  int child_status = ExitStatusOfChild([&] {
    // As under SCONE_HEAP: RLIMIT_DATA a little above what is mapped now.
    struct rlimit data {};
    if (getrlimit(RLIMIT_DATA, &data) != 0) return 10;
    std::ifstream status("/proc/self/status");
    size_t vm_data_kib = 0;
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmData:", 0) == 0) vm_data_kib = std::stoul(line.substr(7));
    }
    if (vm_data_kib == 0) return 11;
    data.rlim_cur = (vm_data_kib << 10) + (32 << 20);
    if (setrlimit(RLIMIT_DATA, &data) != 0) return 12;
    ProtectedFile::SetReadAheadBudgetForTesting(0);
    size_t budget = std::min<size_t>(size_t{64} << 20, data.rlim_cur / 16);
    if (ProtectedFile::ReadAheadBudgetForTesting() != budget) return 13;
    ParallelCrypto::SetMaxThreadsForTesting(2);
    auto volume = Reopen();
    auto file = volume->OpenFile("/data/h", false);
    if (!file.ok()) return 14;
    std::vector<uint8_t> piece(4096);
    size_t max_held = 0;
    for (uint64_t offset = 0; offset < content.size(); offset += piece.size()) {
      auto n = (*file)->Read(offset, piece);
      if (!n.ok() || *n != piece.size()) return 15;
      if (!std::equal(piece.begin(), piece.end(), content.begin() + static_cast<long>(offset))) {
        return 16;
      }
      max_held = std::max(max_held, ProtectedFile::ReadAheadBytesForTesting());
    }
    return max_held <= budget ? 0 : 17;
  });
  EXPECT_EQ(child_status, 0);
  ProtectedFile::SetReadAheadBudgetForTesting(0);
  EXPECT_EQ(ProtectedFile::ReadAheadBudgetForTesting(), size_t{64} << 20) << "no data limit here";
}

TEST_F(ParallelFileTest, TamperedChunkAheadOfTheReadsFailsOnlyTheReadThatReachesIt) {
  auto content = Pattern(2 << 20, 16);
  WriteWith(2, "/data/r", content);
  FlipCiphertextBit("r", 100);
  ParallelCrypto::SetMaxThreadsForTesting(2);
  auto volume = Reopen();
  auto file = std::move(volume->OpenFile("/data/r", false)).value();
  std::vector<uint8_t> piece(4096);
  // Chunks 0..99 read fine although windows filled ahead of them reach chunk 100.
  for (uint64_t chunk = 0; chunk < 100; ++chunk) {
    auto n = file->Read(chunk * kChunkBytes, piece);
    ASSERT_TRUE(n.ok()) << "chunk " << chunk << ": " << n.status().ToString();
    ASSERT_TRUE(std::equal(piece.begin(), piece.end(),
                           content.begin() + static_cast<long>(chunk) * kChunkBytes));
  }
  std::fill(piece.begin(), piece.end(), 0xAA);
  auto bad = file->Read(100 * kChunkBytes, piece);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kIntegrityError);
  EXPECT_NE(bad.status().message().find("chunk 100"), std::string::npos) << bad.status().ToString();
  EXPECT_TRUE(std::all_of(piece.begin(), piece.end(), [](uint8_t b) { return b == 0; }));
  // Chunks after it still read.
  auto n = file->Read(101 * kChunkBytes, piece);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_TRUE(std::equal(piece.begin(), piece.end(), content.begin() + 101 * kChunkBytes));
}

}  // namespace
}  // namespace cove::shield
