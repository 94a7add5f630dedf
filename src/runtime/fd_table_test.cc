// Tests of FdTable: install/replace/remove, the bounds, and concurrent readers while a writer
// churns (run under TSan in CI).
#include "runtime/fd_table.h"

#include <gtest/gtest.h>

#include <thread>

namespace cove::runtime {
namespace {

struct FakeDescription {
  int id = 0;
};

TEST(FdTableTest, UnprotectedByDefault) {
  auto table = std::make_unique<FdTable<FakeDescription>>();
  EXPECT_FALSE(table->IsProtected(0));
  EXPECT_FALSE(table->IsProtected(-1));
  EXPECT_FALSE(table->IsProtected(FdTable<FakeDescription>::kMaxFds));
  EXPECT_EQ(table->Get(3), nullptr);
  EXPECT_EQ(table->Remove(3), nullptr);
}

TEST(FdTableTest, InstallReplaceAndRemove) {
  auto table = std::make_unique<FdTable<FakeDescription>>();
  bool ok = false;
  auto a = std::make_shared<FakeDescription>(FakeDescription{1});
  auto b = std::make_shared<FakeDescription>(FakeDescription{2});
  EXPECT_EQ(table->Install(7, a, &ok), nullptr);
  EXPECT_TRUE(ok);
  EXPECT_TRUE(table->IsProtected(7));
  EXPECT_EQ(table->Get(7)->id, 1);
  EXPECT_EQ(table->Install(7, b, &ok), a);  // dup2 over a protected fd returns the old one
  EXPECT_EQ(table->Get(7)->id, 2);
  EXPECT_EQ(table->Install(8, b, &ok), nullptr);  // dup: two fds, one description
  EXPECT_EQ(table->Get(8), table->Get(7));
  EXPECT_EQ(table->Snapshot().size(), 2u);
  EXPECT_EQ(table->Remove(7), b);
  EXPECT_FALSE(table->IsProtected(7));
  EXPECT_TRUE(table->IsProtected(8));
}

// AnyProtected counts marked descriptors: replacing one keeps the count, an install of nothing
// and a second remove do not change it.
TEST(FdTableTest, AnyProtectedFollowsTheMarks) {
  auto table = std::make_unique<FdTable<FakeDescription>>();
  bool ok = false;
  auto a = std::make_shared<FakeDescription>(FakeDescription{1});
  EXPECT_FALSE(table->AnyProtected());
  table->Install(3, a, &ok);
  table->Install(3, a, &ok);
  table->Install(4, a, &ok);
  table->Install(5, nullptr, &ok);
  EXPECT_TRUE(table->AnyProtected());
  table->Remove(3);
  table->Remove(3);
  EXPECT_TRUE(table->AnyProtected());
  table->Install(4, nullptr, &ok);
  EXPECT_FALSE(table->AnyProtected());
}

// Slots come in chunks of 1,024 allocated on first install, marks in 64-bit words: both
// boundaries, the last descriptor, and installing "nothing" where no chunk exists yet.
TEST(FdTableTest, ChunkAndWordBoundaries) {
  auto table = std::make_unique<FdTable<FakeDescription>>();
  bool ok = false;
  const int last = FdTable<FakeDescription>::kMaxFds - 1;
  for (int fd : {0, 63, 64, 1023, 1024, 2047, last}) {
    EXPECT_EQ(table->Install(fd, std::make_shared<FakeDescription>(FakeDescription{fd}), &ok),
              nullptr);
    EXPECT_TRUE(ok);
  }
  for (int fd : {1, 62, 65, 1022, 1025, 2046, 2048, last - 1}) EXPECT_FALSE(table->IsProtected(fd));
  auto snapshot = table->Snapshot();
  ASSERT_EQ(snapshot.size(), 7u);
  EXPECT_EQ(snapshot.front().first, 0);
  EXPECT_EQ(snapshot.back().first, last);
  EXPECT_EQ(snapshot.back().second->id, last);
  EXPECT_EQ(table->Remove(1024)->id, 1024);
  EXPECT_FALSE(table->IsProtected(1024));
  EXPECT_TRUE(table->IsProtected(1023));
  EXPECT_EQ(table->Install(5000, nullptr, &ok), nullptr);  // no chunk there: stays empty
  EXPECT_TRUE(ok);
  EXPECT_FALSE(table->IsProtected(5000));
  EXPECT_EQ(table->Install(63, nullptr, &ok)->id, 63);  // clearing through Install
  EXPECT_FALSE(table->IsProtected(63));
  EXPECT_TRUE(table->IsProtected(64));
}

TEST(FdTableTest, RefusesDescriptorsOutsideTheTable) {
  auto table = std::make_unique<FdTable<FakeDescription>>();
  bool ok = true;
  table->Install(FdTable<FakeDescription>::kMaxFds, std::make_shared<FakeDescription>(), &ok);
  EXPECT_FALSE(ok);
  table->Install(-1, std::make_shared<FakeDescription>(), &ok);
  EXPECT_FALSE(ok);
}

TEST(FdTableTest, ReadersSeeWholeDescriptionsWhileWriterChurns) {
  auto table = std::make_unique<FdTable<FakeDescription>>();
  std::atomic<bool> stop{false};
  std::vector<std::thread> readers;
  std::atomic<long> seen{0};
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        for (int fd = 10; fd < 20; ++fd) {
          if (auto d = table->Get(fd)) {
            EXPECT_EQ(d->id, fd);
            seen.fetch_add(1);
          }
        }
      }
    });
  }
  bool ok = false;
  for (int round = 0; round < 2000; ++round) {
    int fd = 10 + round % 10;
    table->Install(fd, std::make_shared<FakeDescription>(FakeDescription{fd}), &ok);
    if (round % 3 == 0) table->Remove(fd);
  }
  stop = true;
  for (auto& r : readers) r.join();
  EXPECT_GE(seen.load(), 0);
}

}  // namespace
}  // namespace cove::runtime
