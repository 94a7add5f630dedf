// Tests of the instruction-length decoder and of FindSystemCallSites against objdump (binutils),
// on the libraries this process loads: every instruction objdump decodes in them must get the
// same length, and the system-call instructions found must be exactly objdump's.
#include "runtime/syscall_sites.h"

#include <dlfcn.h>
#include <elf.h>
#include <gtest/gtest.h>
#include <link.h>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "runtime/instruction_length.h"

namespace cove::runtime {
namespace {

int Length(std::initializer_list<uint8_t> bytes) {
  std::vector<uint8_t> code(bytes);
  return X86InstructionLength(code.data(), code.size());
}

TEST(InstructionLength, HandPickedEncodings) {
  EXPECT_EQ(Length({0x0f, 0x05}), 2);                           // syscall
  EXPECT_EQ(Length({0xb8, 0x01, 0x00, 0x00, 0x00}), 5);         // mov $1, %eax
  EXPECT_EQ(Length({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}), 10);  // movabs $imm64, %rax
  EXPECT_EQ(Length({0x66, 0xb8, 0x01, 0x00}), 4);               // mov $1, %ax
  EXPECT_EQ(Length({0xf3, 0x0f, 0x1e, 0xfa}), 4);               // endbr64
  EXPECT_EQ(Length({0x48, 0x8b, 0x05, 1, 2, 3, 4}), 7);         // mov rip+disp32, %rax
  EXPECT_EQ(Length({0x8b, 0x44, 0x24, 0x08}), 4);               // mov 8(%rsp), %eax (SIB)
  EXPECT_EQ(Length({0x8b, 0x04, 0x25, 1, 2, 3, 4}), 7);         // mov abs32 (SIB, no base)
  EXPECT_EQ(Length({0xf6, 0xc1, 0x01}), 3);                     // test $1, %cl
  EXPECT_EQ(Length({0xf7, 0xd8}), 2);                           // neg %eax (no immediate)
  EXPECT_EQ(Length({0xc5, 0xf8, 0x77}), 3);                     // vzeroupper
  EXPECT_EQ(Length({0xc4, 0xe3, 0x7d, 0x18, 0xc1, 0x01}), 6);   // vinsertf128 (map 3, imm8)
  EXPECT_EQ(Length({0x62, 0xf1, 0x7c, 0x48, 0x10, 0x06}), 6);   // vmovups (%rsi), %zmm0
  EXPECT_EQ(Length({0x66, 0x66, 0x48, 0xe8, 1, 2, 3, 4}), 8);   // TLS call sequence
  EXPECT_EQ(Length({0x8f, 0xe8, 0x78, 0xc2, 0xc1, 0x08}), 6);   // XOP vprotd $8
  EXPECT_EQ(Length({0x66, 0xe8, 1, 2}), 0);                     // call rel16: vendors differ
  EXPECT_EQ(Length({0x0f, 0x0f, 0xc1, 0x9e}), 0);               // 3DNow!: not sized
  EXPECT_EQ(Length({0x06}), 0);                                 // push %es: not in 64-bit
  EXPECT_EQ(Length({0x48, 0x66, 0x90}), 0);                     // prefix after REX
  EXPECT_EQ(Length({0xb8, 0x01, 0x00}), 0);                     // truncated
}

// The file's bytes and a map from virtual addresses to file offsets.
struct ElfFile {
  explicit ElfFile(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  long Offset(unsigned long address) const {
    if (bytes.size() < sizeof(Elf64_Ehdr)) return -1;
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(bytes.data());
    const auto* ph = reinterpret_cast<const Elf64_Phdr*>(bytes.data() + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; ++i) {
      if (ph[i].p_type == PT_LOAD && address >= ph[i].p_vaddr &&
          address < ph[i].p_vaddr + ph[i].p_filesz) {
        return static_cast<long>(address - ph[i].p_vaddr + ph[i].p_offset);
      }
    }
    return -1;
  }
  std::string bytes;
};

// The libraries compared: the C library, the dynamic loader, libstdc++ and libm (all linked by
// this test), and libcrypto when it is installed.
std::vector<std::string> LoadedLibraries() {
  dlopen("libcrypto.so.3", RTLD_NOW);
  std::vector<std::string> names;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        std::string name = info->dlpi_name;
        if (name.find(".so") != std::string::npos && name.find("vdso") == std::string::npos) {
          static_cast<std::vector<std::string>*>(data)->push_back(name);
        }
        return 0;
      },
      &names);
  return names;
}

bool ObjdumpAvailable() {
  return system("objdump --version >/dev/null 2>&1") == 0;
}

TEST(InstructionLength, AgreesWithObjdumpOnTheLoadedLibraries) {
  if (!ObjdumpAvailable()) GTEST_SKIP() << "objdump (binutils) is not installed";
  for (const std::string& library : LoadedLibraries()) {
    ElfFile file(library);
    std::string command = "objdump -d -w --insn-width=16 " + library;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char line[4096];
    long compared = 0;
    long disagreements = 0;
    while (fgets(line, sizeof line, pipe) != nullptr) {
      // "  addr:\tbytes \tmnemonic operands": real instructions only, not objdump's data dumps
      // ("(bad)", ".byte", lone prefixes in OpenSSL's tables) nor the 9b (fwait) it fuses.
      char* colon = strchr(line, ':');
      if (line[0] != ' ' || colon == nullptr || colon[1] != '\t') continue;
      char* mnemonic = strchr(colon + 2, '\t');
      if (mnemonic == nullptr) continue;
      std::string name(mnemonic + 1, strcspn(mnemonic + 1, " \n"));
      if (name.empty() || strstr(line, "(bad)") != nullptr || name[0] == '.' ||
          name.rfind("rex", 0) == 0 || name == "data16" || name == "addr32" || name == "cs" ||
          name == "ds" || name == "es" || name == "ss" || name == "fs" || name == "gs" ||
          name == "lock" || name == "fwait") {
        continue;
      }
      int length = 0;  // the hex byte pairs before the padding
      for (const char* p = colon + 2; isxdigit(p[0]) && isxdigit(p[1]) && p[2] == ' '; p += 3) {
        ++length;
      }
      unsigned long address = strtoul(line, nullptr, 16);
      long offset = file.Offset(address);
      if (offset < 0) continue;
      const auto* code = reinterpret_cast<const uint8_t*>(file.bytes.data()) + offset;
      if (code[0] == 0x9b && length > 1) continue;
      int ours = X86InstructionLength(code, file.bytes.size() - static_cast<size_t>(offset));
      ++compared;
      // XOP, 3DNow!, VIA and OpenSSL's tables decoded as code may be unknown to us (0), never
      // a different length.
      if (ours != 0 && ours != length) {
        if (++disagreements <= 5) ADD_FAILURE() << library << ": " << line;
      }
    }
    pclose(pipe);
    EXPECT_GT(compared, 1000) << library;
    EXPECT_EQ(disagreements, 0) << library;
  }
}

TEST(SyscallSites, AreExactlyObjdumpsSystemCallInstructions) {
  if (!ObjdumpAvailable()) GTEST_SKIP() << "objdump (binutils) is not installed";
  struct Object {
    std::string name;
    uintptr_t base;
    SiteScanResult result;
    std::vector<uintptr_t> sites;
  };
  LoadedLibraries();
  std::vector<Object> objects;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        std::string name = info->dlpi_name;
        if (name.find(".so") == std::string::npos || name.find("vdso") != std::string::npos) {
          return 0;
        }
        Object object{name, info->dlpi_addr, {}, {}};
        object.result = FindSystemCallSites(*info, &object.sites);
        static_cast<std::vector<Object>*>(data)->push_back(object);
        return 0;
      },
      &objects);
  bool saw_libc = false;
  for (const Object& object : objects) {
    ASSERT_TRUE(object.result.resolved) << object.name << ": " << object.result.why << " at 0x"
                                        << std::hex << object.result.candidate - object.base;
    std::set<uintptr_t> ours(object.sites.begin(), object.sites.end());
    std::set<uintptr_t> theirs;
    std::string command = "objdump -d --no-show-raw-insn " + object.name;
    FILE* pipe = popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    char line[4096];
    while (fgets(line, sizeof line, pipe) != nullptr) {
      char* tab = strchr(line, '\t');
      if (tab == nullptr) continue;
      std::string insn(tab + 1, strcspn(tab + 1, "\n"));
      while (!insn.empty() && insn.back() == ' ') insn.pop_back();
      if (insn == "syscall" || insn == "sysenter" || insn.rfind("int    $0x80", 0) == 0) {
        theirs.insert(object.base + strtoul(line, nullptr, 16));
      }
    }
    pclose(pipe);
    if (object.name.find("libcrypto") != std::string::npos) {
      // objdump decodes OpenSSL's tables in .text as code, with a `syscall` among them.
      for (uintptr_t site : ours) EXPECT_TRUE(theirs.count(site)) << object.name;
      continue;
    }
    EXPECT_EQ(ours, theirs) << object.name;
    if (object.name.find("libc.so") != std::string::npos) {
      saw_libc = true;
      EXPECT_GT(ours.size(), 100u) << "glibc's syscall wrappers";
    }
  }
  EXPECT_TRUE(saw_libc);
}

}  // namespace
}  // namespace cove::runtime
