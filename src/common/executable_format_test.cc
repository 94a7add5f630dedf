// Tests of ClassifyExecutable and ResolveExecutable on crafted ELF headers, `#!` lines and the
// real dynamic loader, through files in a temporary directory.
#include "common/executable_format.h"

#include <elf.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace cove {
namespace {

constexpr const ExecutableFileOps& kLibc = kSyscallExecutableOps<&LibcSyscall>;
bool NeverSecure(int /*fd*/) {
  return false;
}
bool AlwaysSecure(int /*fd*/) {
  return true;
}

constexpr ExecutableFileOps kOps{kLibc.read_at, kLibc.open, kLibc.close, NeverSecure};
constexpr ExecutableFileOps kOpsSecure{kLibc.read_at, kLibc.open, kLibc.close, AlwaysSecure};

// A minimal ELF64 executable image: header, then `types` as program headers.
std::vector<uint8_t> Elf(std::vector<uint32_t> types, unsigned char elf_class = ELFCLASS64,
                         uint16_t machine = EM_X86_64) {
  Elf64_Ehdr header{};
  std::memcpy(header.e_ident, ELFMAG, SELFMAG);
  header.e_ident[EI_CLASS] = elf_class;
  header.e_ident[EI_DATA] = ELFDATA2LSB;
  header.e_ident[EI_VERSION] = EV_CURRENT;
  header.e_type = ET_DYN;
  header.e_machine = machine;
  header.e_phoff = sizeof(Elf64_Ehdr);
  header.e_phentsize = sizeof(Elf64_Phdr);
  header.e_phnum = static_cast<uint16_t>(types.size());
  std::vector<uint8_t> image(sizeof(header) + types.size() * sizeof(Elf64_Phdr));
  std::memcpy(image.data(), &header, sizeof(header));
  for (size_t i = 0; i < types.size(); ++i) {
    Elf64_Phdr phdr{};
    phdr.p_type = types[i];
    std::memcpy(image.data() + sizeof(header) + i * sizeof(phdr), &phdr, sizeof(phdr));
  }
  return image;
}

std::vector<uint8_t> Text(const std::string& text) {
  return {text.begin(), text.end()};
}

class ExecutableFormatTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/cove-exec-format-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::vector<uint8_t>& bytes) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
    return path;
  }
  ExecutableInfo Classify(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    ExecutableInfo info = ClassifyExecutable(kOps, fd);
    close(fd);
    return info;
  }
  ExecutableKind Resolve(const std::string& path, std::string* refused = nullptr,
                         const ExecutableFileOps& ops = kOps, std::vector<std::string> args = {}) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    EXPECT_GE(fd, 0) << path;
    std::vector<char*> argv;
    args.insert(args.begin(), path);
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    char culprit[kMaxShebangLine];
    std::vector<char*> envp;
    for (std::string& entry : env_) envp.push_back(entry.data());
    envp.push_back(nullptr);
    ExecutableKind kind = ResolveExecutable(ops, fd, path.c_str(), argv.data(), envp.data(),
                                            culprit, sizeof(culprit));  // closes fd
    if (refused != nullptr) *refused = culprit;
    return kind;
  }

  std::string dir_;
  std::vector<std::string> env_;  // the exec's environment in Resolve
};

TEST_F(ExecutableFormatTest, ElfWithInterpreterIsDynamicWithoutIsStatic) {
  EXPECT_EQ(Classify(Write("dyn", Elf({PT_LOAD, PT_INTERP, PT_DYNAMIC}))).kind,
            ExecutableKind::kDynamic);
  EXPECT_EQ(Classify(Write("static", Elf({PT_LOAD, PT_LOAD}))).kind, ExecutableKind::kStatic);
  // More program headers than one read batch, the interpreter last.
  std::vector<uint32_t> many(19, PT_LOAD);
  many.push_back(PT_INTERP);
  EXPECT_EQ(Classify(Write("many", Elf(many))).kind, ExecutableKind::kDynamic);
  // This very test program is a dynamic executable.
  EXPECT_EQ(Classify("/proc/self/exe").kind, ExecutableKind::kDynamic);
}

TEST_F(ExecutableFormatTest, OtherClassOrMachineIsForeign) {
  EXPECT_EQ(Classify(Write("x32", Elf({PT_INTERP}, ELFCLASS32))).kind, ExecutableKind::kForeign);
  EXPECT_EQ(Classify(Write("arm", Elf({PT_INTERP}, ELFCLASS64, EM_ARM))).kind,
            ExecutableKind::kForeign);
}

TEST_F(ExecutableFormatTest, DamagedOrOtherFilesAreLeftToTheKernel) {
  std::vector<uint8_t> truncated = Elf({PT_LOAD, PT_INTERP});
  truncated.resize(sizeof(Elf64_Ehdr) + 10);  // program headers cut short
  EXPECT_EQ(Classify(Write("truncated", truncated)).kind, ExecutableKind::kUnknown);
  std::vector<uint8_t> no_headers = Elf({});
  EXPECT_EQ(Classify(Write("no_headers", no_headers)).kind, ExecutableKind::kUnknown);
  EXPECT_EQ(Classify(Write("short", Text("\x7f"
                                         "EL")))
                .kind,
            ExecutableKind::kUnknown);
  EXPECT_EQ(Classify(Write("protected", Text("COVEPF01 ciphertext"))).kind,
            ExecutableKind::kUnknown);
  EXPECT_EQ(Classify(Write("empty", {})).kind, ExecutableKind::kUnknown);
  EXPECT_EQ(Classify(Write("bang", Text("#!\n"))).kind, ExecutableKind::kUnknown);
  EXPECT_EQ(Classify(Write("long", Text("#!/" + std::string(300, 'a')))).kind,
            ExecutableKind::kUnknown);
}

TEST_F(ExecutableFormatTest, ShebangNamesTheInterpreterAsTheKernelReadsIt) {
  ExecutableInfo plain = Classify(Write("a", Text("#!/bin/sh\necho\n")));
  EXPECT_EQ(plain.kind, ExecutableKind::kScript);
  EXPECT_STREQ(plain.interpreter, "/bin/sh");
  ExecutableInfo spaced = Classify(Write("b", Text("#! \t/usr/bin/env python3 -u \t\n")));
  EXPECT_STREQ(spaced.interpreter, "/usr/bin/env");
  EXPECT_STREQ(spaced.argument, "python3 -u");  // one argument, blanks around it dropped
  ExecutableInfo no_newline = Classify(Write("c", Text("#!/bin/bash")));
  EXPECT_STREQ(no_newline.interpreter, "/bin/bash");
}

TEST_F(ExecutableFormatTest, ScriptsAreFollowedToTheProgramThatRuns) {
  std::string stat = Write("static", Elf({PT_LOAD}));
  std::string dyn = Write("dyn", Elf({PT_INTERP}));
  std::string refused;
  EXPECT_EQ(Resolve(Write("s1", Text("#!" + dyn + "\n")), &refused), ExecutableKind::kDynamic);
  std::string via_static = Write("s2", Text("#!" + stat + " -x\n"));
  EXPECT_EQ(Resolve(via_static, &refused), ExecutableKind::kStatic);
  EXPECT_EQ(refused, stat);
  // Five levels of scripts, as the kernel follows (a sixth is its ELOOP).
  std::string chain = via_static;
  for (int level = 2; level <= 5; ++level) {
    chain = Write("level" + std::to_string(level), Text("#!" + chain + "\n"));
  }
  EXPECT_EQ(Resolve(chain, &refused), ExecutableKind::kStatic);
  EXPECT_EQ(refused, stat);
  EXPECT_EQ(Resolve(Write("level6", Text("#!" + chain + "\n"))), ExecutableKind::kUnknown);
  EXPECT_EQ(Resolve(stat, &refused), ExecutableKind::kStatic);
  EXPECT_EQ(refused, "");  // the program itself is at fault
  // An interpreter this process may execute but not read: nothing tells what it is.
  static constexpr ExecutableFileOps kUnreadableInterpreter{
      kLibc.read_at, [](const char*) -> long { return -EACCES; }, kLibc.close, NeverSecure};
  EXPECT_EQ(Resolve(via_static, &refused, kUnreadableInterpreter), ExecutableKind::kUnreadable);
  EXPECT_EQ(refused, stat);
  EXPECT_TRUE(RunsUnshielded(ExecutableKind::kUnreadable));
  // A missing interpreter and an endless chain are the kernel's to report.
  EXPECT_EQ(Resolve(Write("s4", Text("#!" + dir_ + "/missing\n"))), ExecutableKind::kUnknown);
  std::string loop = dir_ + "/loop";
  Write("loop", Text("#!" + loop + "\n"));
  EXPECT_EQ(Resolve(loop), ExecutableKind::kUnknown);
}

TEST_F(ExecutableFormatTest, TheDynamicLoaderIsJudgedByTheProgramItRuns) {
  // The loader has no PT_INTERP, but its DT_SONAME names it, wherever it lies (a copy bundled
  // with an application too); it honours LD_PRELOAD, so what counts is the program it runs.
  std::string loader;
  for (const char* candidate : {"/lib64/ld-linux-x86-64.so.2", "/lib/ld-linux-aarch64.so.1"}) {
    if (access(candidate, R_OK) == 0) loader = candidate;
  }
  ASSERT_FALSE(loader.empty()) << "no dynamic loader at its usual path";
  EXPECT_EQ(Classify(loader).kind, ExecutableKind::kLoader);
  std::string copy = dir_ + "/bundled-ld.so";
  std::filesystem::copy_file(loader, copy);
  EXPECT_EQ(Classify(copy).kind, ExecutableKind::kLoader);
  std::string stat = Write("static", Elf({PT_LOAD}));
  std::string dyn = Write("dyn", Elf({PT_INTERP}));
  std::string refused;
  EXPECT_EQ(Resolve(loader, &refused, kOps, {dyn}), ExecutableKind::kDynamic);
  EXPECT_EQ(Resolve(loader, &refused, kOps, {stat, "arg"}), ExecutableKind::kStatic);
  EXPECT_EQ(refused, stat);
  // Its options are skipped, a loader asked to run a loader is followed, and modes that run
  // nothing (ldd's --verify, --list) are allowed.
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {"--library-path", "/x", "--inhibit-cache", stat}),
            ExecutableKind::kStatic);
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {"--", stat}), ExecutableKind::kDynamic);  // refused
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {"--bogus", stat}), ExecutableKind::kDynamic);
  // A name without a slash is looked up in ld.so.cache only (a system library), not here.
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {"static"}), ExecutableKind::kDynamic);
  // The loader as a script's interpreter: the kernel hands it the `#!` argument and the
  // script's name before the exec's own arguments.
  std::string via_arg = Write("via_arg", Text("#!" + loader + " " + stat + "\n"));
  EXPECT_EQ(Resolve(via_arg, &refused, kOps, {"data"}), ExecutableKind::kStatic);
  EXPECT_EQ(refused, stat);
  // A script named "--argv0" exec'd by that relative name: the kernel hands the loader
  // [loader, --argv0, --list, static, data], so --argv0 takes --list as its value and the
  // loader runs the static program.
  std::string named_option = Write("--argv0", Text("#!" + loader + "\n"));
  int fd = open(named_option.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  std::string arg0 = "x", list = "--list", data = "data";
  char* argv[] = {arg0.data(), list.data(), stat.data(), data.data(), nullptr};
  char culprit[kMaxShebangLine];
  EXPECT_EQ(ResolveExecutable(kOps, fd, "--argv0", argv, nullptr, culprit, sizeof(culprit)),
            ExecutableKind::kStatic);
  // A script the loader is asked to run: it cannot (not ELF), nothing runs unshielded.
  std::string plain = Write("plain", Text("#!" + loader + "\n"));
  EXPECT_EQ(Resolve(plain, nullptr, kOps, {"x", stat}), ExecutableKind::kUnknown);
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {copy, "--argv0", "x", stat}), ExecutableKind::kStatic);
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {"--verify", stat}), ExecutableKind::kDynamic);
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {"--list", stat}), ExecutableKind::kDynamic);
  env_ = {"LD_TRACE_LOADED_OBJECTS=1"};  // ldd's trace mode: lists, runs nothing
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {stat}), ExecutableKind::kDynamic);
  EXPECT_EQ(Resolve(stat), ExecutableKind::kStatic);  // a static program ignores it and runs
  env_.clear();
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {}), ExecutableKind::kDynamic);
  EXPECT_EQ(Resolve(loader, nullptr, kOps, {dir_ + "/missing"}), ExecutableKind::kUnknown);
  // Without a loader's DT_SONAME, an ELF without PT_INTERP is static (static-pie).
  EXPECT_EQ(Classify(Write("static-pie", Elf({PT_LOAD, PT_DYNAMIC}))).kind,
            ExecutableKind::kStatic);
}

TEST(ExecutableFormat, LoaderOptions) {
  auto index = [](std::vector<const char*> args) {
    args.push_back(nullptr);
    return LoaderProgramIndex(const_cast<char* const*>(args.data()));
  };
  EXPECT_EQ(index({"ld.so", "prog", "--list"}), 1);
  EXPECT_EQ(index({"ld.so", "--preload", "a.so", "--audit", "b.so", "prog"}), 5);
  EXPECT_EQ(index({"ld.so", "--inhibit-cache", "--argv0", "x", "prog"}), 4);
  // glibc 2.36 ends with a usage error on "--" and on an option it does not know.
  EXPECT_EQ(index({"ld.so", "--glibc-hwcaps-mask", "x", "--", "prog"}), -1);
  EXPECT_EQ(index({"ld.so", "--bogus", "prog"}), -1);
  EXPECT_EQ(index({"ld.so", "--help"}), -1);
  EXPECT_EQ(index({"ld.so", "--version", "prog"}), -1);
  EXPECT_EQ(index({"ld.so"}), -1);
  EXPECT_EQ(index({"ld.so", "--preload"}), -1);
  EXPECT_EQ(LoaderProgramIndex(nullptr), -1);
}

TEST_F(ExecutableFormatTest, SecureExecutionIgnoresThePreload) {
  std::string dyn = Write("dyn", Elf({PT_INTERP}));
  EXPECT_EQ(Resolve(dyn, nullptr, kOpsSecure), ExecutableKind::kSecure);
  EXPECT_TRUE(RunsUnshielded(ExecutableKind::kSecure));
  // A static program is refused as static, whatever its mode.
  EXPECT_EQ(Resolve(Write("static", Elf({PT_LOAD})), nullptr, kOpsSecure), ExecutableKind::kStatic);
}

TEST(ExecutableFormat, SecureModeRule) {
  constexpr uint32_t kExec = 0755;
  const ExecCredentials user{1000, 1000, 1000, 1000, false};
  const ExecCredentials root{0, 0, 0, 0, false};
  // set-user-ID: when the new effective user differs from the real one.
  EXPECT_TRUE(RunsInSecureMode(S_ISUID | kExec, 0, 0, false, false, user));
  EXPECT_FALSE(RunsInSecureMode(S_ISUID | kExec, 1000, 0, false, false, user));
  EXPECT_TRUE(RunsInSecureMode(S_ISUID | kExec, 65534, 0, false, false, root));
  EXPECT_FALSE(RunsInSecureMode(S_ISUID | kExec, 0, 0, false, false, root));
  // ...unless the mount or no_new_privs ignores the bit.
  EXPECT_FALSE(RunsInSecureMode(S_ISUID | kExec, 0, 0, true, false, user));
  EXPECT_FALSE(
      RunsInSecureMode(S_ISUID | kExec, 0, 0, false, false, {1000, 1000, 1000, 1000, true}));
  // set-group-ID: only a group-executable file of another group.
  EXPECT_TRUE(RunsInSecureMode(S_ISGID | kExec, 0, 50, false, false, user));
  EXPECT_FALSE(RunsInSecureMode(S_ISGID | 0744, 0, 50, false, false, user));
  EXPECT_FALSE(RunsInSecureMode(S_ISGID | kExec, 0, 1000, false, false, user));
  // A process whose effective user is not its real one (seteuid): every exec is secure.
  EXPECT_TRUE(RunsInSecureMode(kExec, 0, 0, false, false, {0, 65534, 0, 0, false}));
  EXPECT_TRUE(RunsInSecureMode(kExec, 0, 0, false, false, {1000, 1000, 1000, 0, false}));
  // File capabilities: for every user but root, where the mount honours them (no_new_privs
  // withholds the capabilities but the exec stays secure).
  EXPECT_TRUE(RunsInSecureMode(kExec, 0, 0, false, true, user));
  EXPECT_TRUE(RunsInSecureMode(kExec, 0, 0, false, true, {1000, 1000, 1000, 1000, true}));
  EXPECT_FALSE(RunsInSecureMode(kExec, 0, 0, true, true, user));
  EXPECT_FALSE(RunsInSecureMode(kExec, 0, 0, false, true, root));
  EXPECT_FALSE(RunsInSecureMode(kExec, 0, 0, false, false, user));
}

TEST(ExecutableFormat, RefusalsAreDescribed) {
  EXPECT_NE(std::string(DescribeRefusedExecutable(ExecutableKind::kStatic)).find("statically"),
            std::string::npos);
  EXPECT_NE(std::string(DescribeRefusedExecutable(ExecutableKind::kForeign)).find("32-bit"),
            std::string::npos);
  EXPECT_NE(
      std::string(DescribeRefusedExecutable(ExecutableKind::kSecure)).find("secure-execution"),
      std::string::npos);
}

}  // namespace
}  // namespace cove
