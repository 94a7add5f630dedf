// libFuzzer target for the redo-journal parser (a journal is read back from the host at
// recovery, where an attacker may have written it). Any input must decode or fail cleanly, and a
// decoded journal re-encodes to exactly the input (the encoding is canonical).
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "shield/journal.h"

namespace {

void CheckDecodes(std::span<const uint8_t> bytes) {
  using namespace cove::shield;
  cove::Result<Journal> journal = DecodeJournal(bytes, "fuzz journal");
  if (!journal.ok()) return;
  std::vector<uint8_t> again = EncodeJournal(*journal);
  if (again.size() != bytes.size() || std::memcmp(again.data(), bytes.data(), bytes.size()) != 0) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  // The input as a journal file.
  CheckDecodes(input);
  // The input as a journal body, framed with the magic and a correct checksum, so that
  // mutations reach the record parser instead of stopping at the checksum.
  static constexpr char kMagic[8] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '1'};
  std::vector<uint8_t> framed(kMagic, kMagic + sizeof(kMagic));
  framed.insert(framed.end(), input.begin(), input.end());
  cove::Sha256Digest digest = cove::Sha256(framed);
  framed.insert(framed.end(), digest.begin(), digest.end());
  CheckDecodes(framed);
  return 0;
}
