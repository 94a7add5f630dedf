// libFuzzer target for the /proc text parsers: any bytes a (possibly hostile, e.g. a container's
// fake /proc) kernel file holds must parse or be rejected without crashing.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "check/proc_text_parsers.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)cove::check::ParseMeminfoBytes(text, "MemAvailable");
  (void)cove::check::ParseCpuinfoSmtActive(text);
  return 0;
}
