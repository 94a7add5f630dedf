// libFuzzer target for the redo-journal parser (a journal is read back from the host at
// recovery, where an attacker may have written it). Any input must decode or fail cleanly, and a
// decoded journal re-encodes, in its version, to exactly the input (the encoding is canonical).
#include <algorithm>
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
  uint32_t version = bytes[7] == '1' ? 1 : 2;  // decoded: the magic is one of the two
  std::vector<uint8_t> again = EncodeJournal(*journal, version);
  if (again.size() != bytes.size() || std::memcmp(again.data(), bytes.data(), bytes.size()) != 0) {
    std::abort();
  }
}

constexpr size_t kHeaderSize = 8 + 16 + 8 + 8 + 4;  // magic | id | generation | size | count

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> input(data, size);
  // The input as a journal file.
  CheckDecodes(input);
  // The input framed with a magic and a correct checksum, so that mutations reach the record
  // parser instead of stopping at the checksum. Version 1: the checksum ends the file.
  static constexpr char kMagicV1[8] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '1'};
  std::vector<uint8_t> framed(kMagicV1, kMagicV1 + sizeof(kMagicV1));
  framed.insert(framed.end(), input.begin(), input.end());
  cove::Sha256Digest digest = cove::Sha256(framed);
  framed.insert(framed.end(), digest.begin(), digest.end());
  CheckDecodes(framed);
  // Version 2: the checksum follows the descriptors, as many as the input's count says.
  static constexpr char kMagicV2[8] = {'C', 'O', 'V', 'E', 'J', 'N', 'L', '2'};
  framed.assign(kMagicV2, kMagicV2 + sizeof(kMagicV2));
  framed.insert(framed.end(), input.begin(), input.end());
  size_t covered = framed.size();
  if (framed.size() >= kHeaderSize) {
    uint32_t count = 0;
    std::memcpy(&count, framed.data() + kHeaderSize - 4, sizeof(count));
    covered = std::min<uint64_t>(framed.size(), kHeaderSize + uint64_t{count % 64} * 12);
  }
  digest = cove::Sha256(std::span(framed).first(covered));
  framed.insert(framed.begin() + static_cast<std::ptrdiff_t>(covered), digest.begin(),
                digest.end());
  CheckDecodes(framed);
  return 0;
}
