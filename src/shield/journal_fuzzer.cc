// libFuzzer target for the redo-journal parser (a journal is read back from the host at
// recovery, where an attacker may have written it). Any input must decode or fail cleanly, and a
// decoded journal re-encodes, in its version, to exactly the input (the encoding is canonical).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "common/crc32c.h"
#include "shield/journal.h"

namespace {

void CheckDecodes(std::span<const uint8_t> bytes) {
  using namespace cove::shield;
  cove::Result<Journal> journal = DecodeJournal(bytes, "fuzz journal");
  if (!journal.ok()) return;
  uint32_t version = bytes[7] == '1' ? 1 : 2;  // decoded: the magic is one of the two
  std::vector<uint8_t> again = EncodeJournal(*journal, version);
  if (again.size() != bytes.size() || std::memcmp(again.data(), bytes.data(), bytes.size()) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  // The input as a journal file.
  CheckDecodes(input);
  // The input as a journal body, framed with a magic and a correct checksum (SHA-256 for
  // version 1, CRC-32C for 2), so that mutations reach the record parser instead of stopping
  // at the checksum.
  for (char version : {'1', '2'}) {
    const char magic[8] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', version};
    std::vector<uint8_t> framed(magic, magic + sizeof(magic));
    framed.insert(framed.end(), input.begin(), input.end());
    if (version == '1') {
      cove::Sha256Digest digest = cove::Sha256(framed);
      framed.insert(framed.end(), digest.begin(), digest.end());
    } else {
      uint32_t crc = cove::Crc32c(framed);
      for (int i = 0; i < 4; ++i) framed.push_back(static_cast<uint8_t>(crc >> (8 * i)));
    }
    CheckDecodes(framed);
  }
  return 0;
}
