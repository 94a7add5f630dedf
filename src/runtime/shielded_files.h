// ShieldedFiles: what the program's file calls become when they touch protected files. It owns
// the descriptor table (protected fd -> open-file description -> ProtectedNode, one shared
// ProtectedFile per protected path) and implements each file operation on it. Every Try*
// returns false when the call does not concern protected files (the caller then makes the
// real call unchanged), or true with the raw result (>= 0 or -errno) in *result. No errno, no
// exceptions: libc_interpose.cc and syscall_dispatch.cc translate.
//
// Locking order: mutex_ (nodes and reference counts) -> description mutex -> node mutex ->
// the Volume's own lock. Nothing here is async-signal-safe except IsProtectedFd().
#pragma once

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/unique_fd.h"
#include "runtime/config.h"
#include "runtime/fd_table.h"
#include "runtime/path_prefilter.h"
#include "shield/protected_file.h"
#include "shield/volume.h"

struct statx;

struct open_how;

namespace cove::runtime {

// One protected path while descriptors refer to it.
struct ProtectedNode {
  std::mutex mutex;
  std::string path;                             // protected path
  std::unique_ptr<shield::ProtectedFile> file;  // null once the last descriptor closed
  bool unlinked = false;                        // removed or replaced: never committed again
  bool write_locked = false;                    // holds the cross-process writer lock
  bool conflicted = false;  // another process sharing a descriptor committed over its writes
  // Another process may write it through a shared descriptor (after a fork or spawn, or a
  // descriptor inherited across exec): no appended chunk is sealed to disk at write time
  // (ProtectedFile::set_other_writers), since the other process may commit over those bytes,
  // and every read and write first takes in that process's commits (RefreshShared). Atomic:
  // RefreshShared reads it before taking any lock.
  std::atomic<bool> other_writers{false};
  // Every write since the file was last clean was an append through an O_APPEND descriptor:
  // what RebaseAppendsLocked may move onto another process's commit.
  bool only_append_writes = true;
  // In a forked child: the file holds writes its parent made and had not committed at the
  // fork. The parent commits them; the child does not, unless it writes the file itself (then
  // its commit is one of two processes writing a shared file, as above).
  bool parents_writes = false;
  int fd_refs = 0;  // table slots referring to it (under mutex_)
  // The host file: cross-process writer lock and fcntl record locks; `file` reads and writes
  // through the same descriptor (shared), so that each open protected file costs the program
  // two descriptors (this one and its own O_PATH one), not three.
  SharedFd lock_fd;
};

// What open(2) creates: shared by dup'ed descriptors, and with child processes: once a child
// may share it (fork, spawn), its offset lives in a cell of memory shared with the child and
// with the program the child execs (a memfd page named in COVE_INHERITED_FDS), so that a
// shell's `{ echo a; /bin/echo b; echo c; } > file` writes "a b c" as natively.
struct OpenFileDescription {
  std::shared_ptr<ProtectedNode> node;
  std::mutex mutex;         // the offset, within this process
  int flags = 0;            // O_ACCMODE | O_APPEND | O_NONBLOCK as given to open / F_SETFL
  uint64_t own_offset = 0;  // while no other process shares it
  std::atomic<uint64_t>* shared_offset = nullptr;  // once one may
  int shared_memfd = -1;                           // the page of shared_offset, for an exec
  int shared_index = -1;
  // Set by a child on this memory that dup2'ed it (a spawn's file action): the child writes
  // through it too (see ShieldedFiles::RefreshShared).
  std::atomic<bool> lent_to_child{false};

  uint64_t offset() const {
    return shared_offset != nullptr ? shared_offset->load(std::memory_order_acquire) : own_offset;
  }
  void set_offset(uint64_t offset) {
    if (shared_offset != nullptr) {
      shared_offset->store(offset, std::memory_order_release);
    } else {
      own_offset = offset;
    }
  }
};

class ShieldedFiles {
 public:
  ShieldedFiles(const RuntimeConfig& config, std::unique_ptr<shield::Volume> volume, bool strict);
  // Writes the fspf if new files are still staged (the runtime also does so at exit).
  ~ShieldedFiles();

  // The process-wide instance, or nullptr when no fspf is configured (everything passes).
  static ShieldedFiles* Instance() { return instance_.load(std::memory_order_acquire); }
  // The highest descriptor number the runtime expects to hold: the floor, then the staged
  // files' locks (UnsavedBatchLimit's cap) and kDescriptorsBesideStaged more. The runtime's
  // start grows the descriptor table to it (GrowDescriptorTable).
  static long HighestDescriptorToReserve();
  static void SetInstance(ShieldedFiles* files) { instance_.store(files); }

  bool IsProtectedFd(int fd) const { return table_.IsProtected(fd); }
  // Descriptors at or above this are never protected.
  static constexpr int kMaxProtectedFds = 1 << 16;
  bool AnyProtectedFd() const { return table_.AnyProtected(); }
  uint64_t ProtectedFdWord(int index) const { return table_.ProtectedWord(index); }
  // Cheap test, no allocation: an absolute, already normal `path` below no region (and no
  // strict mode) cannot concern the shield. False means "look closer". The interposed path
  // calls make it inline before calling a Try* function (which begins with it too).
  bool ClearlyOutside(const char* path) const {
    return !strict_active_ && significant_regions_.ClearlyOutside(path);
  }
  // The same test for a relative path (against the current directory, dirfd AT_FDCWD only) or
  // one that needs normalizing: getcwd and lexical normalization in a stack buffer, no
  // allocation. False means "look closer" (the Try* functions resolve fully).
  bool ClearlyOutsideResolved(int dirfd, const char* path) const;
  shield::Volume& volume() { return *volume_; }
  // Strict mode is enforced only once initialization finished (see docs/runtime.md).
  void EnableStrict() { strict_active_ = strict_; }

  // Opens, creates or truncates a file of a protected or unprotected region. A file that
  // another process holds locked (EBUSY) is tried again for up to CommitFlusher::BusyWaitMs().
  // A link that names a protected descriptor (DescriptorOfLink) opens that descriptor's
  // protected file, as the kernel reopens the file of any other descriptor: `tee /dev/stdout`
  // or `cat /dev/stdin` on a shell's redirection from or to a protected file (they reached the
  // host file: ciphertext read, plaintext written over the protected file).
  bool TryOpen(int dirfd, const char* path, int flags, mode_t mode, long* result);
  // getdents64 (readdir, ls, os.listdir, reached through the syscall trap) and the old getdents
  // (`nr`: SYS_getdents64 or SYS_getdents, its struct linux_dirent): in a directory of
  // a protected region, the redo journals the runtime keeps beside the files while a staged
  // rewrite waits for its save ("NAME.cove-journal") are not listed. Programs that copy or
  // remove a tree found a name that was gone a moment later (shutil.copytree and rmtree, pip
  // install of a package whose sources are in a region). An entry is a journal by its first
  // bytes (shield::IsJournalHead), not by its name alone: a directory, or a file an older cove
  // let a program create, named "x.cove-journal" is listed. Only names with the suffix cost
  // more than the syscall.
  bool TryGetdents(long nr, int fd, void* buffer, size_t size, long* result);
  // Whether directory descriptor `fd` is one of a protected region's host directories.
  bool InProtectedHostDirectory(int fd) const;
  // "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/fd/N", "/proc/self/fd/N",
  // "/proc/thread-self/fd/N", and "/proc/PID/fd/N" and "/proc/PID/task/TID/fd/N" where PID is
  // "self" or this process's own pid (getpid now, so right in a forked child too) and TID one
  // of its threads: the descriptor the path names (0, 1, 2 for the first three), or -1.
  // MayNameDescriptor is its cheap first test for the interposed open.
  static int DescriptorOfLink(const char* path);
  // readlink of "/dev/fd/N" or "/proc/.../fd/N" (DescriptorOfLink) naming a protected
  // descriptor: its file's path (the kernel would name the descriptor's placeholder); false
  // for any other path.
  bool TryReadlinkOfDescriptor(const char* path, char* buffer, size_t size, long* result);
  // The protected descriptor that link `path` names (DescriptorOfLink) for a call that follows
  // links (no AT_SYMLINK_NOFOLLOW in `flags`), or -1.
  int ProtectedDescriptorOfLink(const char* path, int flags) const;
  // The protected descriptor a metadata call names (see TryHostMetadata), or -1.
  int ProtectedDescriptorNamed(int dirfd, const char* path, int flags) const;
  // TryOpen of the protected file of the descriptor `path` names (DescriptorOfLink); false
  // when it names none.
  bool TryReopenThroughLink(const char* path, int flags, mode_t mode, long* result);
  static bool MayNameDescriptor(const char* path) {
    return path != nullptr && path[0] == '/' && (path[1] == 'd' || path[1] == 'p');
  }
  // link/linkat: EPERM (with a log line) when either name lies in a protected region, as on
  // file systems without hard links; paths of unprotected regions are translated.
  bool TryLink(int olddirfd, const char* oldpath, int newdirfd, const char* newpath, int flags,
               long* result);
  // The raw openat2 syscall (no libc wrapper; `how` is the program's struct open_how of `size`
  // bytes): an open like TryOpen when it asks no RESOLVE_* restriction; with one, on a path the
  // runtime serves, ENOSYS with a log line (callers fall back to openat), never the host file.
  bool TryOpenat2(int dirfd, const char* path, const struct open_how* how, size_t size,
                  long* result);
  bool TryClose(int fd, long* result);
  bool TryRead(int fd, void* buf, size_t count, long* result);
  bool TryWrite(int fd, const void* buf, size_t count, long* result);
  bool TryPread(int fd, void* buf, size_t count, off_t offset, long* result);
  bool TryPwrite(int fd, const void* buf, size_t count, off_t offset, long* result);
  // offset < 0: use and advance the description's offset (readv/writev).
  // readv/writev (offset -1) and preadv/pwritev; `rwf` holds preadv2/pwritev2's RWF_* flags:
  // RWF_APPEND appends, RWF_DSYNC and RWF_SYNC commit the file after the write (as fsync),
  // RWF_HIPRI and RWF_NOWAIT are hints; any other flag is EOPNOTSUPP, as the kernel answers.
  bool TryReadv(int fd, const struct iovec* iov, int iovcnt, off_t offset, long* result,
                int rwf = 0);
  bool TryWritev(int fd, const struct iovec* iov, int iovcnt, off_t offset, long* result,
                 int rwf = 0);
  bool TryLseek(int fd, off_t offset, int whence, long* result);
  bool TryFstat(int fd, struct stat* st, long* result);
  // fstatat/newfstatat/stat/lstat (flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH).
  bool TryFstatat(int dirfd, const char* path, struct stat* st, int flags, long* result);
  bool TryStatx(int dirfd, const char* path, int flags, unsigned mask, struct statx* stx,
                long* result);
  bool TryFtruncate(int fd, off_t length, long* result);
  bool TryTruncate(const char* path, off_t length, long* result);
  bool TryFsync(int fd, long* result);
  // Extended attributes of a protected file (descriptor `fd`, or `path` when fd < 0): it has
  // none and takes none, as on a file system without them: list -> empty, get -> ENODATA,
  // set/remove -> ENOTSUP (cp -a and mv then go on; the host file's attributes would be
  // unprotected metadata). `op`: 'l', 'g', 's' or 'r'.
  bool TryXattr(char op, int fd, const char* path, long* result);
  // Calls on a protected descriptor that the runtime answers with a fixed `answer` (0 or
  // -errno; syscall_dispatch.cc says why for each), logged as `call`. Without it they reached
  // the O_PATH descriptor and failed with EBADF.
  bool TryFixedAnswer(int fd, const char* call, long answer, long* result);
  // dup (newfd < 0, min_fd for F_DUPFD), dup2/dup3 (newfd >= 0). A dup2/dup3 onto one of the
  // runtime's own descriptors is refused with EBUSY and a log line: it would make the runtime
  // write a protected file's bytes into the program's file (in a child on this memory, the
  // next program could not take over a protected descriptor's lock).
  bool TryDup(int oldfd, int newfd, int flags, long* result);
  bool TryFcntlDupfd(int fd, int min_fd, bool cloexec, long* result);
  bool TryFcntl(int fd, int cmd, long arg, long* result);
  bool TryUnlink(int dirfd, const char* path, int flags, long* result);
  bool TryRename(int olddirfd, const char* oldpath, int newdirfd, const char* newpath,
                 unsigned flags, long* result);
  bool TryMkdir(int dirfd, const char* path, mode_t mode, long* result);
  // access/faccessat: only to make a crash leftover (below) invisible first.
  bool TryAccess(int dirfd, const char* path, int mode, int flags, long* result);
  // Other path calls (access, chmod, opendir...): translates region kernel paths and applies
  // strict mode; *host receives the path to use when it differs.
  bool TryPathCall(int dirfd, const char* path, const char* call, std::string* host, long* result);
  bool TryMmap(void* addr, size_t length, int prot, int flags, int fd, off_t offset, long* result);
  // Metadata calls through a protected descriptor, applied to the host file it has open (the
  // kernel would apply them to its placeholder): on descriptor `dirfd` when `path` is null
  // (fchmod...) or empty with AT_EMPTY_PATH in `flags`, else on the descriptor that link
  // `path` names (DescriptorOfLink: chmod("/proc/self/fd/N")...; followed unless `flags` has
  // AT_SYMLINK_NOFOLLOW). `a`, `b`: the call's mode, owner and group, times (a pointer),
  // access mode and AT_EACCESS, or statfs buffer (a pointer). False when nothing protected is
  // named.
  enum class HostMetadata { kMode, kOwner, kTimes, kAccess, kFileSystem };
  bool TryHostMetadata(HostMetadata what, int dirfd, const char* path, int flags, long a, long b,
                       long* result);
  // TryHostMetadata for a call by path: a null path is the kernel's EFAULT to give.
  bool TryHostMetadataByPath(HostMetadata what, int dirfd, const char* path, int flags, long a,
                             long b, long* result) {
    return path != nullptr && TryHostMetadata(what, dirfd, path, flags, a, b, result);
  }
  bool IsTty(int fd, long* result);
  // Before close_range/exec: forget protected descriptors in [first, last].
  void ForgetRange(unsigned first, unsigned last);

  // Decrypts (and verifies) protected `path` into a sealed memfd, for dlopen of libraries in
  // regions; returns the memfd, -errno, or 0 when `path` is not a protected file.
  long DecryptToMemfd(const std::string& path);
  // Resolves `path` (relative to dirfd) to a normalized absolute path.
  bool Resolve(int dirfd, const char* path, std::string* out) const;
  // The host directory of a protected file open for writing in this process (where its
  // commit writes its journal), or "" when there is none.
  std::string WritableFileHostDirectory() const;
  bool IsProtectedPath(const std::string& abs_path) const;
  // Whether `path` (against `dirfd`) names a file the fspf records in a protected region.
  bool NamesProtectedFile(int dirfd, const char* path);

  // Protected descriptors that survive exec (no FD_CLOEXEC), as "fd offset flags lock_fd path"
  // records (their lock descriptors are made inheritable too)
  // separated by '\x1e', for the next program's runtime (COVE_INHERITED_FDS); "" if none.
  // In borrowed memory, also the child's own duplicates of protected descriptors.
  std::string DescribeInheritable();

  // True in a child that shares this process's memory without being it (vfork, posix_spawn
  // and system(), whose child runs on the parent's memory until it execs): the runtime's tables
  // are the suspended parent's, so the child's dup, close and fcntl(F_DUPFD) of protected
  // descriptors are the kernel's alone (its descriptor table is its own), and it cannot open
  // protected files (EPERM and a log line: open them in the parent and pass the descriptor).
  bool InBorrowedMemory() const;
  // In the child of fork(): this process is the owner of its (copied) memory from now on.
  void AfterFork();
  // Before a child process is created: the offset of every protected description that an
  // exec'd program can inherit moves to memory shared with the child (see
  // OpenFileDescription).
  void ShareOffsetsWithChild();
  // fork's: from the last prepare handler before the allocator's (LockForFork) to the parent
  // and child handlers (UnlockAfterFork, UnlockAfterForkInChild), this process's table and
  // every open protected file are locked, so that no other thread is inside them when the
  // child is made (the child would find a file locked by a thread it does not have, and its
  // buffers half-changed), and any descriptor opened since the first prepare handler is
  // shared with the child too. In the child, the writes another thread made since fork's first
  // prepare handler committed (PrepareFork) stay its parent's (ProtectedNode::parents_writes).
  void LockForFork();
  void UnlockAfterFork();
  void UnlockAfterForkInChild();
  void UnlockFilesAfterFork();  // both's: the files' locks and the table's
  // Before a child that runs on this memory is created (vfork, clone with CLONE_VM): close and
  // close_range look whether they run in such a child from then on (ChildOnOurMemoryPossible).
  // Protected descriptor `fd` made an O_PATH descriptor of its host file (see ProgramSlot),
  // for an exec by descriptor (fexecve).
  void NameHostFileOf(int fd);
  void ExpectChildOnOurMemory() { child_on_our_memory_.store(true, std::memory_order_relaxed); }
  bool ChildOnOurMemoryPossible() const {
    return child_on_our_memory_.load(std::memory_order_relaxed);
  }
  // The program's close of one of the runtime's own descriptors (raw_syscall_env.h; false when
  // `fd` is not one): it stays open and the program is told EBADF, as for a number it never
  // opened (a daemon's close() of every number up to its limit). In a child on this memory
  // before its exec, "closed" (0), as close_range reports: the next program's runtime takes
  // over the locks of the protected files the child inherits.
  bool TryCloseRuntimeFd(int fd, long* result);
  // close_range for the interposed function and the trapped syscall (glibc's closefrom): the
  // protected descriptors in [first, last] are forgotten, the runtime's own stay open and are
  // reported closed (Python's subprocess closes every descriptor above 2 before exec, also in
  // a forked child with a preexec_fn; the runtime still uses them).
  long CloseRange(unsigned first, unsigned last, unsigned flags);
  // In the new program: makes the inherited O_PATH descriptors of `spec` protected again (each
  // must still name the host file of its path). Called by the constructor.
  void AdoptInherited(const std::string& spec);

  // Commits every open, modified file (fsync of everything; at exit).
  Status CommitAll();
  // The same from the background (CommitFlusher): what was written and not committed yet.
  Status CommitPending();
  // CommitAll and CommitPending: the open nodes, then the staged files; `when` names it in logs.
  Status CommitEverything(const char* when);
  // True when writes were lost in a commit no call could report to the program (the last
  // descriptor replaced by dup2 or closed by close_range): the process must not end with 0.
  bool LostWrites() const { return lost_writes_.load(std::memory_order_relaxed); }
  // Before an exec (interposed or trapped, possibly in a vfork child that shares this memory
  // with its suspended parent): commits everything, then releases the staged files' locks
  // with LOCK_UN on the shared open file descriptions, without closing or forgetting the
  // descriptors (in a vfork child they are the parent's too).
  Status CommitBeforeExec();

 private:
  // The program's descriptor of a protected file is an O_PATH descriptor, so that a call that
  // escaped the runtime fails (EBADF) instead of reaching the ciphertext. It is made without a
  // path lookup: a duplicate of placeholder_fd_ (OpenPlaceholder), at the number the host
  // file's open took when there was one (ProgramSlot), else at the lowest free number, as open(2)
  // would give. Where the kernel must see the host file behind it (a descriptor a new program
  // inherits, a child's duplicate of one), NameHostFile replaces it with an O_PATH descriptor
  // of the host file first.
  struct ProgramSlot {
    int cloexec_flag = 0;  // the program's O_CLOEXEC
    long fd = -1;          // the number left for the program by a host open, or -1
  };
  enum class Where { kOutside, kUnprotectedRegion, kProtectedRegion };
  // The region prefixes ClearlyOutside compares against: every region that changes what a path
  // means (protected, or mapped to a kernel path). A plain not-protected region such as SCONE's
  // usual `/` is left out, so that it does not send every path down the slow path.
  RegionPrefixFilter significant_regions_;
  Where Classify(const std::string& path) const;
  bool DenyIfStrict(const char* call, const std::string& path, long* result) const;
  // adopt_lock_fd: a lock descriptor inherited across exec, whose flock (shared with the
  // parent) is the family's: used as is instead of taking a new lock. for_truncation: an open
  // with O_TRUNC for writing, which takes the writer lock at once. *host_writable (optional)
  // tells whether the host file was opened for writing here (the program may write it).
  // *slot (optional): where a host open leaves the program's descriptor (ProgramSlot).
  std::shared_ptr<ProtectedNode> OpenNodeLocked(const std::string& path, bool create, long* error,
                                                int adopt_lock_fd = -1, bool for_truncation = false,
                                                bool* host_writable = nullptr,
                                                ProgramSlot* slot = nullptr);
  // The usual create: the host file does not exist yet and is created with O_EXCL on one
  // descriptor that is both the lock and the file (-EEXIST in *error when it exists: the caller
  // takes OpenNodeLocked's general path then).
  std::shared_ptr<ProtectedNode> CreateNewNodeLocked(const std::string& path, mode_t mode,
                                                     long* error, ProgramSlot* slot = nullptr);
  // True when `node` has something to commit (changes, or a new file never committed).
  static bool NeedsCommit(const ProtectedNode& node);
  Status CommitNodeLocked(ProtectedNode& node);
  // Another process sharing a descriptor of `node` committed a generation newer than the one
  // this process's uncommitted writes are based on. When those writes are appends still in
  // memory (ProtectedFile::OnlyBufferedAppends), they are moved to the end of the newer
  // generation, as two processes' appends through one description interleave natively (nginx
  // workers writing one access log): true. False when they are not, or the newer generation
  // cannot be opened. node.mutex held.
  bool RebaseAppendsLocked(ProtectedNode& node);
  // Commits of one file refused, rebased (RebaseAppendsLocked) and tried again at most.
  static constexpr int kMaxRebaseRounds = 8;
  // Replaces node.file by the newest committed version of the file (a clean node whose file
  // another process committed). False when it cannot be opened (logged). node.mutex held.
  bool ReopenLatestLocked(ProtectedNode& node);
  // A read or write of a file other processes may write failed authentication (`failed`):
  // one of them may have committed it between RefreshShared and the load of the chunk, and
  // rewritten that chunk in place. True when node.file was clean and is now a newer version,
  // on which the call may be retried; false for a genuine failure. node.mutex held.
  bool TookInCommitAfterRefreshLocked(ProtectedNode& node, const Status& failed);
  // Marks `node` as written by other processes too (ProtectedNode::other_writers). node.mutex
  // held.
  static void MarkOtherWritersLocked(ProtectedNode& node);
  // Last close of a node: a new file is staged (the fspf is written later, in a batch), any
  // other file is committed.
  Status CommitOnLastCloseLocked(ProtectedNode& node);
  // True when the last close of `node` stages it (a new file) instead of committing it.
  static bool StagesOnLastClose(const ProtectedNode& node);
  // Writes the fspf when staged files wait for it, then drops their locks.
  Status SaveUnsaved();
  // Commits every open node that needs it (other processes' commits taken in first); each
  // failure is logged as `when`, the first one returned. Staged files are left to the caller.
  Status CommitOpenNodes(const char* when);
  // Drops the locks of the staged files the fspf on disk records now, and says which staged
  // rewrites were lost to another process's change (Volume::TakeLostRewrites).
  void ReleaseSavedLocks();
  // Before this process removes or replaces protected `path` (host file `host`): waits as
  // TryOpen does while another process holds the file's lock exclusively (it writes the file
  // or has a rewrite of it staged), then holds it shared in *held until the caller is done, so
  // that none starts writing it meanwhile. 0, or -EBUSY (logged) after the wait. Nothing to do
  // when this process holds the lock itself or there is no host file.
  long WaitForOtherWriters(const char* call, const std::string& path, const std::string& host,
                           UniqueFd* held);

  long EnsureWriterLocked(ProtectedNode& node);
  Status ReleaseRef(const std::shared_ptr<ProtectedNode>& node);
  void AddRef(const std::shared_ptr<ProtectedNode>& node);
  long InstallNew(long host_fd, std::shared_ptr<OpenFileDescription> desc);
  // A protected file whose creator crashed before its first commit leaves a host file with a
  // cove header that the fspf does not record. Nobody can read it; if no process holds it
  // (flock), it is deleted so that the path is free again. mutex_ held. True when removed.
  bool RemoveCrashLeftoverLocked(const std::string& path, const std::string& host);
  // After an rmdir of directory `dir` (host directory `host_dir`) in a protected region failed
  // with ENOTEMPTY: a redo journal left by a crash whose file is gone is hidden from listings, so
  // the directory looks empty. When it holds nothing but journals (shield::IsJournalHead), the
  // fspf records no file below it, this process has none open or staged there, and no journal
  // names a recorded file's id (one another process's rename is moving), they are removed and
  // logged. True when any was removed (the caller tries the rmdir again). Takes mutex_.
  bool RemoveOrphanJournals(const std::string& dir, const std::string& host_dir);
  // The plaintext size of `path` when it is a protected file (open or recorded).
  bool ProtectedSize(const std::string& path, uint64_t* size);
  // readv/writev (preadv/pwritev with offset >= 0) on protected descriptor `fd`.
  bool TryVectorIo(int fd, const struct iovec* iov, int iovcnt, off_t offset, bool write, int rwf,
                   long* result);
  long ReadLocked(OpenFileDescription& desc, void* buf, size_t count, uint64_t offset);
  long WriteLocked(OpenFileDescription& desc, const void* buf, size_t count, uint64_t offset);
  long Fail(const char* call, const Status& status) const;
  // When another process of the session committed (the fspf's tag on disk is the one the tag
  // file names), re-reads the fspf so that its files become visible here. mutex_ held.
  void RefreshIfChangedLocked();
  // True when the fspf on disk is still the file last looked at: one fstat of a descriptor
  // held on it (a commit renames a new fspf over it, which unlinks the held inode). mutex_ held.
  bool FspfUnchangedLocked();

  static std::atomic<ShieldedFiles*> instance_;

  RuntimeConfig config_;
  std::unique_ptr<shield::Volume> volume_;
  bool strict_ = false;
  bool strict_active_ = false;
  // Whether `fd` is a descriptor of the host file of `desc`'s protected file.
  bool SameHostFile(int fd, const OpenFileDescription& desc) const;
  long placeholder_fd_ = -1;  // -1: the program's descriptors are opened by path
  dev_t placeholder_dev_ = 0;
  ino_t placeholder_ino_ = 0;
  static long OpenPlaceholder();
  // Whether `fd` is (a duplicate of) the placeholder.
  bool IsPlaceholder(int fd) const;
  // `call(fd, path)` on the host file of `node` as this process has it open, under the node's
  // lock: its lock descriptor (path null), else (AT_FDCWD, its host path); EBADF once the
  // file was closed.
  template <typename Call>
  long OnHostFile(ProtectedNode& node, Call&& call) const;
  long NewProgramDescriptor(ProgramSlot& slot, const std::string& host, int flags);
  long MoveHostDescriptorUp(long fd, ProgramSlot* slot) const;
  // Makes program descriptor `fd` of `desc` an O_PATH descriptor of its host file, unless it is
  // one already. Where nobody else uses the number meanwhile: in an exec (DescribeInheritable),
  // in a child on our memory (TryDup).
  void NameHostFile(int fd, const OpenFileDescription& desc) const;
  // In borrowed memory: the child's O_PATH descriptors that `listed` does not name.
  std::vector<int> UnlistedAliasesInChild(
      const std::vector<std::pair<int, std::shared_ptr<OpenFileDescription>>>& listed) const;
  // Pages of shared offset cells (OpenFileDescription): this process's own, from which new
  // cells are taken, and those inherited through exec. Under mutex_.
  struct OffsetPage {
    int memfd = -1;
    std::atomic<uint64_t>* cells = nullptr;
    int used = 0;  // cells handed out (inherited pages: all)
  };
  std::vector<OffsetPage> offset_pages_;
  // Gives every protected description a shared offset cell (before a child is created).
  void ShareOffsetsLocked();
  // The cell `index` of the inherited page `memfd` (mapped on first use); nullptr if `memfd` is
  // not such a page.
  std::atomic<uint64_t>* InheritedCellLocked(int memfd, int index);
  // A description that another process may share: the fspf and its file as that process
  // left them (its commits), before this process reads or writes through it.
  void RefreshShared(OpenFileDescription& desc);
  std::atomic<long> owner_pid_{0};  // the process whose memory this is (see InBorrowedMemory)
  std::atomic<bool> lost_writes_{false};
  // ReleaseRef for a descriptor the program did not close itself: a failed commit is said on
  // stderr and recorded (LostWrites).
  void ReleaseImplicitly(const std::shared_ptr<ProtectedNode>& node, const char* how);
  std::atomic<bool> child_on_our_memory_{false};
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<ProtectedNode>> nodes_;  // open protected paths
  std::vector<std::shared_ptr<ProtectedNode>> locked_for_fork_;  // by LockForFork
  // New files closed but not yet recorded by the fspf on disk (Volume::Stage), and small
  // files rewritten (Volume::StageRewrite): their exclusive host-file locks stay held until the
  // fspf is saved, so that no other process takes a new one for a crashed creator's leftover
  // or reads a rewritten one while its journal waits. Saved at fsync, exit, exec and fork, on
  // any commit, and in batches (UnsavedBatchLimit; a staged rewrite's file shares the lock's
  // descriptor, and the rewrites hold at most kMaxStagedRewriteMemory).
  static constexpr size_t kMinUnsavedBatch = 64;
  static constexpr size_t kMaxUnsavedBatch = 512;
  // Room the descriptor table gets at start above the floor and the staged files' locks: for
  // the open files' host files and locks, the fspf's watch, the log.
  static constexpr long kDescriptorsBesideStaged = 64;
  // How many staged files may wait for the fspf: half the files it records (so that rewriting
  // the fspf costs O(1) per file however large it grows), at least kMinUnsavedBatch and at
  // most kMaxUnsavedBatch, and never more than an eighth of RLIMIT_NOFILE (each holds its lock
  // descriptor; with `ulimit -n 64`, 8).
  size_t UnsavedBatchLimit() const;
  // RLIMIT_NOFILE / 8 as it is now (kMaxUnsavedBatch without a limit).
  static size_t UnsavedBatchByDescriptorLimit();
  // One try of TryOpen for protected path `abs` (host file `host`): *result is the new
  // descriptor or -errno.
  void OpenProtected(const std::string& abs, const std::string& host, int flags, mode_t mode,
                     long* result);
  // Rewrites of files up to this size are staged at their last close (larger ones commit):
  // the Volume keeps each one's buffered writes and journal in memory until the save.
  static constexpr uint64_t kMaxStagedRewriteBytes = 1u << 20;
  static constexpr uint64_t kMaxStagedRewriteMemory = 32u << 20;
  std::mutex unsaved_mutex_;
  std::map<std::string, SharedFd> unsaved_locks_;
  size_t unsaved_batch_by_fds_ = kMaxUnsavedBatch;  // RLIMIT_NOFILE / 8, read at start
  FdTable<OpenFileDescription> table_;
  static_assert(decltype(table_)::kMaxFds == kMaxProtectedFds);
  // The fspf as last looked at by RefreshIfChangedLocked: held open, so that its inode cannot
  // be reused while held, and identified by device and inode (a program that closes or reuses
  // the descriptor number cannot make a change look like none, nor get its own file closed).
  UniqueFd fspf_watch_fd_;
  dev_t fspf_watch_dev_ = 0;
  ino_t fspf_watch_ino_ = 0;
};

// The tag at the end of the sealed fspf at `path` (an error naming the file when it cannot be
// read).
Status ReadFspfTagOnDisk(const std::string& path, shield::FspfTag* tag);
// The same for an open fspf of `size` bytes.
bool ReadFspfTagAt(int fd, uint64_t size, shield::FspfTag* tag);
// The tags a tag file holds: one line, or two while a commit is in flight (newest first).
std::vector<shield::FspfTag> ParseTagFile(const std::string& text);
// True when the tag file at `tag_file` lists `tag`: the last commit of a process of this
// session, or, while the file has two lines, the one before it (the second line stays when
// the committer died between the tag file and the fspf; either is legitimate, as at start).
// An fspf with any other tag was not published by a process of the session.
bool IsPublishedTag(const std::string& tag_file, const shield::FspfTag& tag);

}  // namespace cove::runtime
