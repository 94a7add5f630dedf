// Tests of ShieldedFiles without preloading anything: POSIX file semantics on protected files
// (shared offsets after dup, O_APPEND, O_TRUNC/O_EXCL, plaintext sizes in stat, rename and
// unlink following the fspf, commit on last close) and pass-through for everything else.
#include "runtime/shielded_files.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "common/hex.h"
#include "runtime/runtime_log.h"

namespace cove::runtime {
namespace {

class ShieldedFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogTarget(kLogError, 2);  // failures explain themselves on stderr
    char tmpl[] = "/tmp/cove-shielded-XXXXXX";
    dir_ = mkdtemp(tmpl);
    region_ = dir_ + "/enc";
    std::filesystem::create_directories(region_);
    fspf_ = dir_ + "/fspf";
    ASSERT_TRUE(shield::Volume::CreateFspf(fspf_).ok());
    files_ = Open();
    ASSERT_NE(files_, nullptr);
  }
  void TearDown() override {
    files_.reset();  // as at process exit: staged new files are saved first
    std::filesystem::remove_all(dir_);
  }

  std::unique_ptr<ShieldedFiles> Open() {
    shield::VolumeOptions options;
    options.fspf_path = fspf_;
    auto volume = shield::Volume::Open(options);
    EXPECT_TRUE(volume.ok()) << volume.status().ToString();
    if (!volume.ok()) return nullptr;
    if ((*volume)->fspf().regions.empty()) {
      EXPECT_TRUE((*volume)->AddRegion({region_, shield::RegionKind::kEncrypted, ""}).ok());
      EXPECT_TRUE((*volume)->Save().ok());
    }
    RuntimeConfig config;
    config.fspf_path = fspf_;
    return std::make_unique<ShieldedFiles>(config, std::move(volume).value(), false);
  }

  long OpenFile(const std::string& path, int flags) {
    long fd = -1;
    EXPECT_TRUE(files_->TryOpen(AT_FDCWD, path.c_str(), flags, 0600, &fd)) << path;
    return fd;
  }
  long Write(long fd, const std::string& data) {
    long r = 0;
    EXPECT_TRUE(files_->TryWrite(static_cast<int>(fd), data.data(), data.size(), &r));
    return r;
  }
  std::string Read(long fd, size_t max = 4096) {
    std::string out(max, '\0');
    long r = 0;
    EXPECT_TRUE(files_->TryRead(static_cast<int>(fd), out.data(), max, &r));
    out.resize(r < 0 ? 0 : static_cast<size_t>(r));
    return out;
  }
  long Close(long fd) {
    long r = 0;
    EXPECT_TRUE(files_->TryClose(static_cast<int>(fd), &r));
    return r;
  }
  std::string HostBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  std::string dir_, region_, fspf_;
  std::unique_ptr<ShieldedFiles> files_;
};

TEST_F(ShieldedFilesTest, CreatedFileIsCiphertextOnDiskAndReadsBackAfterReopen) {
  long fd = OpenFile(region_ + "/a.txt", O_CREAT | O_RDWR);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(files_->IsProtectedFd(static_cast<int>(fd)));
  EXPECT_EQ(Write(fd, "PLAINTEXT-SECRET"), 16);
  // The program's descriptor is O_PATH: a raw read escaping the runtime gets EBADF.
  char raw[8];
  EXPECT_EQ(::read(static_cast<int>(fd), raw, sizeof(raw)), -1);
  EXPECT_EQ(errno, EBADF);
  EXPECT_EQ(Close(fd), 0);
  EXPECT_EQ(HostBytes(region_ + "/a.txt").find("PLAINTEXT-SECRET"), std::string::npos);
  files_.reset();  // the process ends (saving the staged file); a new one starts
  files_ = Open();
  fd = OpenFile(region_ + "/a.txt", O_RDONLY);
  ASSERT_GE(fd, 0);
  EXPECT_EQ(Read(fd), "PLAINTEXT-SECRET");
  Close(fd);
}

TEST_F(ShieldedFilesTest, ProgramDescriptorIsAPlaceholderThatNamesTheFileWhereAsked) {
  for (int flags : {O_CREAT | O_RDWR, O_RDONLY, O_WRONLY | O_TRUNC | O_CLOEXEC}) {
    SCOPED_TRACE(flags);
    // The number open(2) would give: the lowest free one.
    int lowest = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(lowest, 0);
    ::close(lowest);
    long fd = OpenFile(region_ + "/p.txt", flags);
    ASSERT_EQ(fd, lowest);
    int fd_flags = ::fcntl(static_cast<int>(fd), F_GETFD);
    EXPECT_EQ((fd_flags & FD_CLOEXEC) != 0, (flags & O_CLOEXEC) != 0);
    EXPECT_NE(::fcntl(static_cast<int>(fd), F_GETFL) & O_PATH, 0);
    // What reaches the kernel fails as on the file: no directory to change to or look below.
    EXPECT_EQ(::fchdir(static_cast<int>(fd)), -1);
    EXPECT_EQ(errno, ENOTDIR);
    EXPECT_EQ(::openat(static_cast<int>(fd), "x", O_RDONLY | O_CLOEXEC), -1);
    EXPECT_EQ(errno, ENOTDIR);
    if ((flags & O_ACCMODE) != O_RDONLY) {
      EXPECT_EQ(Write(fd, "plain text"), 10);
    }
    // fstat, and stat and readlink through "/dev/fd/N", answer for the file (the kernel
    // would answer for the placeholder).
    struct stat by_fd {};
    struct stat host {};
    long r = -1;
    ASSERT_TRUE(files_->TryFstat(static_cast<int>(fd), &by_fd, &r));
    ASSERT_EQ(r, 0);
    ASSERT_EQ(::stat((region_ + "/p.txt").c_str(), &host), 0);
    EXPECT_EQ(by_fd.st_ino, host.st_ino);
    EXPECT_TRUE(S_ISREG(by_fd.st_mode));
    EXPECT_EQ(by_fd.st_size, 10);
    std::string link = "/dev/fd/" + std::to_string(fd);
    struct stat by_link {};
    ASSERT_TRUE(files_->TryFstatat(AT_FDCWD, link.c_str(), &by_link, 0, &r));
    EXPECT_EQ(r, 0);
    EXPECT_EQ(by_link.st_ino, host.st_ino);
    EXPECT_EQ(by_link.st_size, 10);
    char name[256];
    std::string proc_link = "/proc/self/fd/" + std::to_string(fd);
    ASSERT_TRUE(files_->TryReadlinkOfDescriptor(proc_link.c_str(), name, sizeof(name), &r));
    EXPECT_EQ(std::string(name, static_cast<size_t>(std::max(r, 0L))), region_ + "/p.txt");
    EXPECT_FALSE(files_->TryReadlinkOfDescriptor("/dev/stdin", name, sizeof(name), &r))
        << "/dev/stdin is a link of its own";
    // What a new program inherits names the host file, for its runtime to check.
    std::string inherited = files_->DescribeInheritable();
    std::error_code ec;
    std::string target = std::filesystem::read_symlink(proc_link, ec).string();
    if ((flags & O_CLOEXEC) == 0) {
      EXPECT_NE(inherited.find(region_ + "/p.txt"), std::string::npos) << inherited;
      EXPECT_EQ(target, region_ + "/p.txt") << "the inherited descriptor names its host file";
      EXPECT_NE(::fcntl(static_cast<int>(fd), F_GETFL) & O_PATH, 0);
      EXPECT_EQ(::fcntl(static_cast<int>(fd), F_GETFD) & FD_CLOEXEC, 0);
    } else {
      EXPECT_EQ(inherited.find(region_ + "/p.txt"), std::string::npos) << inherited;
    }
    EXPECT_EQ(Close(fd), 0);
  }
}

// (Found by a review: the descriptor was first named by its path, which another file may
// have taken by a rename since.)
TEST_F(ShieldedFilesTest, DescriptorOfAFileRenamedOverNamesItsOwnFileNotTheNewOne) {
  long old_fd = OpenFile(region_ + "/t.txt", O_CREAT | O_RDWR);
  ASSERT_GE(old_fd, 0);
  EXPECT_EQ(Write(old_fd, "old"), 3);
  struct stat before {};
  long r = -1;
  ASSERT_TRUE(files_->TryFstat(static_cast<int>(old_fd), &before, &r));
  ASSERT_EQ(r, 0);
  long other = OpenFile(region_ + "/u.txt", O_CREAT | O_RDWR);
  EXPECT_EQ(Write(other, "new"), 3);
  EXPECT_EQ(Close(other), 0);
  ASSERT_TRUE(files_->TryRename(AT_FDCWD, (region_ + "/u.txt").c_str(), AT_FDCWD,
                                (region_ + "/t.txt").c_str(), 0, &r));
  ASSERT_EQ(r, 0);
  struct stat now_at_path {};
  ASSERT_EQ(::stat((region_ + "/t.txt").c_str(), &now_at_path), 0);
  ASSERT_NE(now_at_path.st_ino, before.st_ino);
  // fchmod, and chmod through "/proc/self/fd/N" or fchmodat2(fd, "", AT_EMPTY_PATH), change
  // the file the descriptor has open, not the one now at its path.
  std::string link = "/proc/self/fd/" + std::to_string(old_fd);
  mode_t modes[] = {0600, 0640, 0604};
  for (int way = 0; way < 3; ++way) {
    SCOPED_TRACE(way);
    using What = ShieldedFiles::HostMetadata;
    bool found = way == 0 ? files_->TryHostMetadata(What::kMode, static_cast<int>(old_fd), nullptr,
                                                    0, modes[way], 0, &r)
                 : way == 1 ? files_->TryHostMetadata(What::kMode, AT_FDCWD, link.c_str(), 0,
                                                      modes[way], 0, &r)
                            : files_->TryHostMetadata(What::kMode, static_cast<int>(old_fd), "",
                                                      AT_EMPTY_PATH, modes[way], 0, &r);
    ASSERT_TRUE(found);
    EXPECT_EQ(r, 0);
    struct stat own {};
    ASSERT_TRUE(files_->TryFstat(static_cast<int>(old_fd), &own, &r));
    EXPECT_EQ(own.st_ino, before.st_ino);
    EXPECT_EQ(own.st_mode & 07777, modes[way]);
    struct stat at_path {};
    ASSERT_EQ(::stat((region_ + "/t.txt").c_str(), &at_path), 0);
    EXPECT_EQ(at_path.st_mode & 07777, now_at_path.st_mode & 07777) << "the new file changed";
  }
  // What a new program inherits names that file too: its runtime then finds that the path
  // names another one and leaves the descriptor unprotected (it never reads the new file).
  files_->DescribeInheritable();
  struct stat named {};
  ASSERT_EQ(::fstat(static_cast<int>(old_fd), &named), 0);
  EXPECT_EQ(named.st_ino, before.st_ino);
  EXPECT_EQ(Close(old_fd), 0);
}

// (Found by a review.) A metadata call through a descriptor that another thread closes
// meanwhile: natively it changes the file the descriptor had open, or fails with EBADF; it
// fell back to the host path, which names another file since a rename replaced it.
TEST_F(ShieldedFilesTest, MetadataCallRacingACloseNeverReachesTheFileNowAtThePath) {
  int hits = 0;
  for (int round = 0; round < 300 && hits == 0; ++round) {
    std::string old_path = region_ + "/race.txt";
    std::string new_path = region_ + "/race-new.txt";
    long fd = OpenFile(old_path, O_CREAT | O_RDWR | O_TRUNC);
    ASSERT_GE(fd, 0);
    long other = OpenFile(new_path, O_CREAT | O_RDWR | O_TRUNC);
    EXPECT_EQ(Close(other), 0);
    ASSERT_EQ(::chmod(new_path.c_str(), 0600), 0);
    long r = -1;
    ASSERT_TRUE(files_->TryRename(AT_FDCWD, new_path.c_str(), AT_FDCWD, old_path.c_str(), 0, &r));
    ASSERT_EQ(r, 0);
    std::atomic<bool> stop{false};
    std::vector<std::thread> changers;
    for (int i = 0; i < 3; ++i) {
      changers.emplace_back([&] {
        long ignored = 0;
        while (!stop.load() &&
               files_->TryHostMetadata(ShieldedFiles::HostMetadata::kMode, static_cast<int>(fd),
                                       nullptr, 0, 0700, 0, &ignored)) {
        }
      });
    }
    usleep(200);
    Close(fd);
    stop = true;
    for (auto& changer : changers) changer.join();
    struct stat at_path {};
    ASSERT_EQ(::stat(old_path.c_str(), &at_path), 0);
    if ((at_path.st_mode & 07777) == 0700) ++hits;
  }
  EXPECT_EQ(hits, 0) << "a chmod through a descriptor being closed changed the file that "
                        "replaced its file at the path";
}

TEST_F(ShieldedFilesTest, DupSharesTheOffsetAndCloseCommitsOnLastDescriptor) {
  long fd = OpenFile(region_ + "/d.txt", O_CREAT | O_RDWR);
  long dup_fd = 0;
  ASSERT_TRUE(files_->TryDup(static_cast<int>(fd), -1, 0, &dup_fd));
  ASSERT_GE(dup_fd, 0);
  Write(fd, "abc");
  Write(dup_fd, "def");  // continues at offset 3
  long pos = 0;
  ASSERT_TRUE(files_->TryLseek(static_cast<int>(fd), 0, SEEK_CUR, &pos));
  EXPECT_EQ(pos, 6);
  EXPECT_EQ(Close(fd), 0);
  EXPECT_EQ(files_->volume().FindFile(region_ + "/d.txt"), nullptr) << "committed too early";
  EXPECT_EQ(Close(dup_fd), 0);
  ASSERT_NE(files_->volume().FindFile(region_ + "/d.txt"), nullptr);
  EXPECT_EQ(files_->volume().FindFile(region_ + "/d.txt")->size, 6u);
}

TEST_F(ShieldedFilesTest, AppendTruncateAndExclusiveCreate) {
  long fd = OpenFile(region_ + "/l.txt", O_CREAT | O_WRONLY | O_APPEND);
  Write(fd, "one\n");
  long seek = 0;
  files_->TryLseek(static_cast<int>(fd), 0, SEEK_SET, &seek);
  Write(fd, "two\n");  // O_APPEND: at the end regardless of the offset
  Close(fd);
  fd = OpenFile(region_ + "/l.txt", O_RDONLY);
  EXPECT_EQ(Read(fd), "one\ntwo\n");
  long w = 0;
  EXPECT_TRUE(files_->TryWrite(static_cast<int>(fd), "x", 1, &w));
  EXPECT_EQ(w, -EBADF) << "write on a read-only descriptor";
  Close(fd);
  EXPECT_EQ(OpenFile(region_ + "/l.txt", O_CREAT | O_EXCL | O_WRONLY), -EEXIST);
  fd = OpenFile(region_ + "/l.txt", O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  EXPECT_EQ(Close(fd), 0);
  struct stat st {};
  long r = 0;
  ASSERT_TRUE(files_->TryFstatat(AT_FDCWD, (region_ + "/l.txt").c_str(), &st, 0, &r));
  EXPECT_EQ(r, 0);
  EXPECT_EQ(st.st_size, 0);
}

TEST_F(ShieldedFilesTest, ScatterGatherReadsAndWrites) {
  long fd = OpenFile(region_ + "/v.txt", O_CREAT | O_RDWR);
  ASSERT_GE(fd, 0);
  char a[] = "alpha-", b[] = "", c[] = "gamma";
  struct iovec out[3] = {{a, 6}, {b, 0}, {c, 5}};
  long r = 0;
  ASSERT_TRUE(files_->TryWritev(static_cast<int>(fd), out, 3, -1, &r));
  EXPECT_EQ(r, 11);
  // preadv at an explicit offset leaves the description's offset alone.
  char x[4] = {}, y[16] = {};
  struct iovec in[2] = {{x, 4}, {y, 16}};
  ASSERT_TRUE(files_->TryReadv(static_cast<int>(fd), in, 2, 2, &r));
  EXPECT_EQ(r, 9) << "short at end of file";
  EXPECT_EQ(std::string(x, 4), "pha-");
  EXPECT_EQ(std::string(y, 5), "gamma");
  long pos = 0;
  ASSERT_TRUE(files_->TryLseek(static_cast<int>(fd), 0, SEEK_CUR, &pos));
  EXPECT_EQ(pos, 11);
  // readv from the description's offset advances it.
  ASSERT_TRUE(files_->TryLseek(static_cast<int>(fd), 6, SEEK_SET, &pos));
  char z[8] = {};
  struct iovec tail[1] = {{z, 8}};
  ASSERT_TRUE(files_->TryReadv(static_cast<int>(fd), tail, 1, -1, &r));
  EXPECT_EQ(r, 5);
  ASSERT_TRUE(files_->TryLseek(static_cast<int>(fd), 0, SEEK_CUR, &pos));
  EXPECT_EQ(pos, 11);
  ASSERT_TRUE(files_->TryReadv(static_cast<int>(fd), tail, -1, -1, &r));
  EXPECT_EQ(r, -EINVAL);
  Close(fd);
  // writev on an O_APPEND descriptor appends wherever the offset is.
  fd = OpenFile(region_ + "/v.txt", O_WRONLY | O_APPEND);
  ASSERT_TRUE(files_->TryLseek(static_cast<int>(fd), 0, SEEK_SET, &pos));
  char d[] = "!";
  struct iovec more[1] = {{d, 1}};
  ASSERT_TRUE(files_->TryWritev(static_cast<int>(fd), more, 1, -1, &r));
  EXPECT_EQ(r, 1);
  Close(fd);
  fd = OpenFile(region_ + "/v.txt", O_RDONLY);
  EXPECT_EQ(Read(fd), "alpha-gamma!");
  Close(fd);
}

TEST_F(ShieldedFilesTest, StatShowsPlaintextSizeWhileOpenAndAfterCommit) {
  long fd = OpenFile(region_ + "/s.bin", O_CREAT | O_RDWR);
  Write(fd, std::string(10000, 'z'));
  struct stat st {};
  long r = 0;
  ASSERT_TRUE(files_->TryFstat(static_cast<int>(fd), &st, &r));
  EXPECT_EQ(st.st_size, 10000);
  Close(fd);
  ASSERT_TRUE(files_->TryFstatat(AT_FDCWD, (region_ + "/s.bin").c_str(), &st, 0, &r));
  EXPECT_EQ(st.st_size, 10000);
  EXPECT_EQ(st.st_blocks, (10000 + 511) / 512);
  EXPECT_GT(std::filesystem::file_size(region_ + "/s.bin"), 10000u);
}

TEST_F(ShieldedFilesTest, RenameAndUnlinkFollowTheFspf) {
  long fd = OpenFile(region_ + "/old.txt", O_CREAT | O_WRONLY);
  Write(fd, "moving");
  long r = 0;
  ASSERT_TRUE(files_->TryRename(AT_FDCWD, (region_ + "/old.txt").c_str(), AT_FDCWD,
                                (region_ + "/new.txt").c_str(), 0, &r));
  EXPECT_EQ(r, 0);
  Write(fd, "+more");  // the open descriptor follows the rename
  Close(fd);
  EXPECT_EQ(files_->volume().FindFile(region_ + "/old.txt"), nullptr);
  fd = OpenFile(region_ + "/new.txt", O_RDONLY);
  EXPECT_EQ(Read(fd), "moving+more");
  Close(fd);
  ASSERT_TRUE(files_->TryRename(AT_FDCWD, (region_ + "/new.txt").c_str(), AT_FDCWD,
                                (dir_ + "/outside.txt").c_str(), 0, &r));
  EXPECT_EQ(r, -EXDEV) << "a protected file may not leave its region";
  ASSERT_TRUE(files_->TryUnlink(AT_FDCWD, (region_ + "/new.txt").c_str(), 0, &r));
  EXPECT_EQ(r, 0);
  EXPECT_EQ(files_->volume().FindFile(region_ + "/new.txt"), nullptr);
  EXPECT_FALSE(std::filesystem::exists(region_ + "/new.txt"));
  EXPECT_EQ(OpenFile(region_ + "/new.txt", O_RDONLY), -ENOENT);
}

TEST_F(ShieldedFilesTest, RefusesHostFilesTheFspfDoesNotRecord) {
  std::ofstream(region_ + "/planted.txt") << "attacker";
  EXPECT_EQ(OpenFile(region_ + "/planted.txt", O_RDONLY), -EACCES);
}

// A create first tries an exclusive create of the host file; every other state of the host
// path takes the general path: a crash leftover (a cove header the fspf does not record, no
// lock held) is replaced, an unrecorded plain file is replaced by the program's new file (it
// asked to create, and no plaintext of it is ever shown), a directory gives EISDIR.
TEST_F(ShieldedFilesTest, CreateOverLeftoversPlantedFilesAndDirectories) {
  long fd = OpenFile(region_ + "/new.txt", O_CREAT | O_WRONLY | O_EXCL);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  Write(fd, "fresh");
  Close(fd);
  EXPECT_EQ(HostBytes(region_ + "/new.txt").substr(0, 8), "COVEPF01");

  // Creates `name` with O_TRUNC over whatever host file is there, writes `content`, reads it
  // back through a new descriptor.
  auto create_over = [&](const std::string& name, const std::string& content) {
    long created = OpenFile(region_ + name, O_CREAT | O_WRONLY | O_TRUNC);
    ASSERT_GE(created, 0) << name << ": " << strerror(static_cast<int>(-created));
    Write(created, content);
    Close(created);
    long reopened = OpenFile(region_ + name, O_RDONLY);
    EXPECT_EQ(Read(reopened), content) << name;
    Close(reopened);
  };
  // A crash leftover: a copy of a protected host file under a name the fspf does not know.
  std::filesystem::copy_file(region_ + "/new.txt", region_ + "/left.txt");
  ASSERT_NO_FATAL_FAILURE(create_over("/left.txt", "replaced"));

  std::ofstream(region_ + "/planted.txt") << "attacker";
  ASSERT_NO_FATAL_FAILURE(create_over("/planted.txt", "mine"));
  EXPECT_EQ(HostBytes(region_ + "/planted.txt").find("attacker"), std::string::npos);

  std::filesystem::create_directories(region_ + "/sub");
  EXPECT_EQ(OpenFile(region_ + "/sub", O_CREAT | O_WRONLY), -EISDIR);
  EXPECT_EQ(OpenFile(region_ + "/sub", O_CREAT | O_WRONLY | O_EXCL), -EEXIST);
}

// A recorded file whose host file was deleted outside cove: reads and appends get ENOENT (the
// content is gone, nothing is made up); O_CREAT|O_TRUNC, which discards the content anyway,
// gets a new file that replaces the stale entry.
TEST_F(ShieldedFilesTest, RecordedFileWithDeletedHostFile) {
  long fd = OpenFile(region_ + "/gone.txt", O_CREAT | O_WRONLY);
  Write(fd, "old");
  Close(fd);
  files_.reset();  // saved
  std::filesystem::remove(region_ + "/gone.txt");
  files_ = Open();
  EXPECT_EQ(OpenFile(region_ + "/gone.txt", O_RDONLY), -ENOENT);
  EXPECT_EQ(OpenFile(region_ + "/gone.txt", O_CREAT | O_WRONLY | O_APPEND), -ENOENT);
  fd = OpenFile(region_ + "/gone.txt", O_CREAT | O_WRONLY | O_TRUNC);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  Write(fd, "new");
  Close(fd);
  files_.reset();
  files_ = Open();
  fd = OpenFile(region_ + "/gone.txt", O_RDONLY);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  EXPECT_EQ(Read(fd), "new");
  Close(fd);
}

// The descriptor the runtime holds on the fspf to notice other processes' commits: when the
// program closes that number behind the runtime's back and reuses it for a file of its own,
// the runtime forgets the number and never closes the program's file.
TEST_F(ShieldedFilesTest, FspfWatchNeverClosesAReusedDescriptor) {
  files_.reset();
  std::string tag_file = dir_ + "/tag";
  SecretBytes key;
  {
    shield::VolumeOptions options;
    options.fspf_path = fspf_;
    auto volume = std::move(shield::Volume::Open(options)).value();
    key = std::move(volume->Encrypt()).value();
    std::ofstream(tag_file) << HexEncode(volume->tag()) << "\n";
  }
  shield::VolumeOptions options;
  options.fspf_path = fspf_;
  options.key = key;
  RuntimeConfig config;
  config.fspf_path = fspf_;
  config.tag_file = tag_file;
  files_ = std::make_unique<ShieldedFiles>(config, std::move(shield::Volume::Open(options)).value(),
                                           false);
  long fd = OpenFile(region_ + "/w.txt", O_CREAT | O_WRONLY);
  ASSERT_GE(fd, 0);
  Close(fd);
  fd = OpenFile(region_ + "/w.txt", O_RDONLY);  // looks at the fspf: the watch is set up
  ASSERT_GE(fd, 0);
  Close(fd);
  int watch = -1;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    if (std::filesystem::read_symlink(entry.path(), ec).string() == fspf_) {
      watch = std::stoi(entry.path().filename().string());
    }
  }
  ASSERT_GE(watch, 0) << "no descriptor held on the fspf";
  ASSERT_EQ(close(watch), 0);  // a program's close of a number it did not open, then reused
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(null_fd, 0);
  int mine = dup3(null_fd, watch, O_CLOEXEC);
  close(null_fd);
  ASSERT_EQ(mine, watch);
  fd = OpenFile(region_ + "/w.txt", O_RDONLY);
  ASSERT_GE(fd, 0);
  Close(fd);
  std::error_code ec;
  EXPECT_EQ(std::filesystem::read_symlink("/proc/self/fd/" + std::to_string(mine), ec).string(),
            "/dev/null")
      << "the program's descriptor was closed or replaced";
  close(mine);
}

TEST_F(ShieldedFilesTest, PrivateMappingHoldsPlaintextSharedWritableIsRefused) {
  long fd = OpenFile(region_ + "/m.bin", O_CREAT | O_RDWR);
  Write(fd, "mapped plaintext");
  long addr = 0;
  ASSERT_TRUE(
      files_->TryMmap(nullptr, 4096, PROT_READ, MAP_PRIVATE, static_cast<int>(fd), 0, &addr));
  ASSERT_GT(addr, 0);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(addr), 16), "mapped plaintext");
  munmap(reinterpret_cast<void*>(addr), 4096);
  // A writable private mapping is copy-on-write: its writes stay in memory (MAP_PRIVATE's bit
  // is one of MAP_SHARED_VALIDATE's, which once made this refused as a shared mapping).
  ASSERT_TRUE(files_->TryMmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE,
                              static_cast<int>(fd), 0, &addr));
  ASSERT_GT(addr, 0);
  std::memcpy(reinterpret_cast<char*>(addr), "MAPPED", 6);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(addr), 16), "MAPPED plaintext");
  munmap(reinterpret_cast<void*>(addr), 4096);
  char again[16];
  long r = 0;
  ASSERT_TRUE(files_->TryPread(static_cast<int>(fd), again, sizeof(again), 0, &r));
  EXPECT_EQ(std::string(again, sizeof(again)), "mapped plaintext");
  for (int shared : {MAP_SHARED, MAP_SHARED_VALIDATE}) {
    ASSERT_TRUE(files_->TryMmap(nullptr, 4096, PROT_READ | PROT_WRITE, shared, static_cast<int>(fd),
                                0, &addr));
    EXPECT_EQ(addr, -ENODEV);
  }
  Close(fd);
}

TEST_F(ShieldedFilesTest, LeavesEverythingElseToTheKernel) {
  long r = 0;
  std::string outside = dir_ + "/plain.txt";
  EXPECT_FALSE(files_->TryOpen(AT_FDCWD, outside.c_str(), O_CREAT | O_WRONLY, 0600, &r));
  char buf[4];
  EXPECT_FALSE(files_->TryRead(0, buf, sizeof(buf), &r));
  EXPECT_FALSE(files_->TryClose(12345, &r));
  struct stat st {};
  EXPECT_FALSE(files_->TryFstatat(AT_FDCWD, "/etc/hostname", &st, 0, &r));
  // A relative path is resolved against the working directory before the region check.
  std::string cwd = std::filesystem::current_path();
  std::filesystem::current_path(region_);
  EXPECT_TRUE(files_->TryOpen(AT_FDCWD, "rel.txt", O_CREAT | O_WRONLY, 0600, &r));
  std::filesystem::current_path(cwd);
  ASSERT_GE(r, 0);
  Close(r);
}

// A create over a host file the fspf does not record empties it through the lock's descriptor,
// which the new file shares: two descriptors for the open file (the program's and the lock's),
// as for any new file; it opened a third by path.
TEST_F(ShieldedFilesTest, CreateOverAnUnrecordedHostFileTakesTwoDescriptors) {
  std::ofstream(region_ + "/planted.txt") << "attacker";
  auto descriptors = [] {
    int n = 0;
    for ([[maybe_unused]] const auto& fd : std::filesystem::directory_iterator("/proc/self/fd")) {
      ++n;
    }
    return n;
  };
  int before = descriptors();
  long fd = OpenFile(region_ + "/planted.txt", O_CREAT | O_WRONLY);
  ASSERT_GE(fd, 0) << strerror(static_cast<int>(-fd));
  EXPECT_EQ(descriptors(), before + 2);
  Write(fd, "mine");
  Close(fd);
  long reopened = OpenFile(region_ + "/planted.txt", O_RDONLY);
  EXPECT_EQ(Read(reopened), "mine");
  Close(reopened);
}

// A file whose creator crashed before its first commit is a crash leftover (docs/runtime.md):
// the next lookup removes it and the path is free again. Its host file holds only the header
// written at creation (found by review of the compact layout: it was empty, and not removed).
TEST_F(ShieldedFilesTest, CrashLeftoverOfANewFileIsRemoved) {
  long fd = OpenFile(region_ + "/busy.txt", O_CREAT | O_WRONLY | O_EXCL);
  ASSERT_GE(fd, 0);
  Write(fd, "not committed yet");
  // The host file as a SIGKILL now would leave it (copied: no lock held on the copy).
  std::filesystem::copy_file(region_ + "/busy.txt", region_ + "/left.txt");
  EXPECT_EQ(OpenFile(region_ + "/left.txt", O_RDONLY), -ENOENT);
  EXPECT_FALSE(std::filesystem::exists(region_ + "/left.txt")) << "leftover not removed";
  Close(fd);
}

}  // namespace
}  // namespace cove::runtime
