// Tests of the Env helpers: path arithmetic, and the calls whose result the shield relies on
// without reading it back (syncfs over the directories of staged files); and of SharedFd.
#include "common/env.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "common/unique_fd.h"

namespace cove {
namespace {

TEST(ParentDirectory, OfNamesInDirectoriesTheRootAndNowhere) {
  EXPECT_EQ(ParentDirectory("/data/enc/f"), "/data/enc");
  EXPECT_EQ(ParentDirectory("/f"), "/");
  EXPECT_EQ(ParentDirectory("f"), ".");
  EXPECT_EQ(ParentDirectory("dir/f"), "dir");
}

// Directories on one and on two file systems (tmpfs /dev/shm when it is there), a directory
// that is gone (skipped: its files went with it), and a path that is not a directory (an
// error naming it).
TEST(SyncFilesystems, FlushesEachFileSystemAndSkipsVanishedDirectories) {
  char pattern[] = "/tmp/cove-env-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  std::filesystem::path dir(pattern);
  std::filesystem::create_directories(dir / "a");
  std::filesystem::create_directories(dir / "b");
  std::set<std::string> dirs = {(dir / "a").string(), (dir / "b").string(),
                                (dir / "gone").string()};
  if (std::filesystem::is_directory("/dev/shm")) dirs.insert("/dev/shm");
  Env& env = Env::Default();
  EXPECT_TRUE(env.SyncFilesystems(dirs).ok());
  EXPECT_TRUE(env.SyncFilesystems({}).ok());

  std::ofstream(dir / "file") << "x";
  Status status = env.SyncFilesystems({(dir / "file").string()});
  EXPECT_FALSE(status.ok());
  EXPECT_NE(status.ToString().find((dir / "file").string()), std::string::npos)
      << status.ToString();
  std::filesystem::remove_all(dir);
}

// A mover as the runtime's: the descriptor at 100 or above.
long MoveTo100(long fd) {
  long high = fcntl(static_cast<int>(fd), F_DUPFD_CLOEXEC, 100);
  if (high < 0) return fd;
  close(static_cast<int>(fd));
  return high;
}

// The runtime's Env keeps its descriptors where its mover puts them, out of the program's way.
TEST(SyscallEnv, DescriptorsGoWhereTheMoverPutsThem) {
  char pattern[] = "/tmp/cove-env-test-XXXXXX";
  ASSERT_NE(mkdtemp(pattern), nullptr);
  std::filesystem::path dir(pattern);
  std::string path = dir / "f";
  auto env = MakeSyscallEnv(&LibcSyscall, &MoveTo100);
  auto fd = env->Open(path, O_RDWR | O_CREAT, 0600);
  ASSERT_TRUE(fd.ok()) << fd.status().ToString();
  EXPECT_GE(fd->get(), 100);
  EXPECT_NE(fcntl(fd->get(), F_GETFD) & FD_CLOEXEC, 0);
  auto lock = env->LockFile(dir / "lock", false, false);
  ASSERT_TRUE(lock.ok()) << lock.status().ToString();
  EXPECT_GE(lock->get(), 100);
  auto low = MakeSyscallEnv(&LibcSyscall)->Open(path, O_RDONLY);
  ASSERT_TRUE(low.ok());
  EXPECT_LT(low->get(), 100);
  std::filesystem::remove_all(dir);
}

// The runtime's lock and its file's reads share one descriptor: it stays open while either
// holds it, and is closed once, by the last.
TEST(SharedFd, ClosesWhenTheLastOwnerLetsGo) {
  int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  SharedFd first{UniqueFd(fd)};
  SharedFd second = first;
  EXPECT_EQ(second.get(), fd);
  first.Reset();
  EXPECT_FALSE(first.valid());
  EXPECT_NE(fcntl(fd, F_GETFD), -1) << "closed while the second owner holds it";
  SharedFd moved = std::move(second);
  EXPECT_EQ(moved.get(), fd);
  moved.Reset();
  EXPECT_EQ(fcntl(fd, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(SharedFd{UniqueFd()}.get(), -1);  // an empty UniqueFd makes an empty owner
}

}  // namespace
}  // namespace cove
