// libFuzzer target: ResolveExecutable and ClassifyExecutable over arbitrary bytes, which every
// exec of a shielded program reads from the host (an untrusted file). The input is the file;
// any interpreter or program it names opens as the same bytes again, so chains of scripts and
// loaders are followed to their limits. Must never crash, read out of bounds or loop.
#include <cstring>

#include "common/executable_format.h"

namespace {

const uint8_t* g_data = nullptr;
size_t g_size = 0;
int g_opens = 0;

long ReadAt(int /*fd*/, uint64_t offset, void* buffer, size_t size) {
  if (offset >= g_size) return 0;
  size_t n = g_size - offset < size ? g_size - offset : size;
  std::memcpy(buffer, g_data + offset, n);
  return static_cast<long>(n);
}

long Open(const char* path) {
  if (std::strlen(path) >= cove::kMaxShebangLine) __builtin_trap();  // names are bounded
  return ++g_opens > 16 ? -2 : 3;  // the same bytes again; then "not found"
}

void Close(int /*fd*/) {}

bool NotSecure(int /*fd*/) {
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  g_data = data;
  g_size = size;
  g_opens = 0;
  static constexpr cove::ExecutableFileOps kOps{ReadAt, Open, Close, NotSecure};
  char loader[] = "ld.so", program[] = "prog", option[] = "--preload";
  char* argv[] = {loader, option, program, program, nullptr};
  char refused[64];
  cove::ResolveExecutable(kOps, 3, "--argv0", argv, nullptr, refused, sizeof(refused));
  char tiny[1];
  g_opens = 0;
  cove::ResolveExecutable(kOps, 3, nullptr, nullptr, argv, tiny, sizeof(tiny));
  cove::ClassifyExecutable(kOps, 3);
  return 0;
}
