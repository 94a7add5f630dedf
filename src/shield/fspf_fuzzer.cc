// libFuzzer target for the fspf parsers: DecodeFspfPayload on arbitrary bytes, DecodeFspfFile on
// plaintext and sealed containers. Any input must decode or fail cleanly (no crash, no UB), and
// whatever decodes must survive encode -> decode unchanged (round trip; abort on mismatch).
#include <cstdint>
#include <cstdlib>
#include <span>
#include <vector>

#include "shield/fspf.h"

namespace cove::shield {
namespace {

bool SameEntry(const FileEntry& a, const FileEntry& b) {
  return a.path == b.path && a.kind == b.kind && a.id == b.id && a.key.Equals(b.key.span()) &&
         a.size == b.size && a.generation == b.generation && a.chunk_size == b.chunk_size &&
         a.group_digests == b.group_digests;
}

// The files in path order, each decoded (the table decodes entries only when asked).
std::vector<std::pair<std::string, FileEntry>> EntriesOf(const Fspf& fspf) {
  std::vector<std::pair<std::string, FileEntry>> entries;
  fspf.files.ForEach([&entries](std::string_view path, const FileEntry& entry) {
    entries.emplace_back(std::string(path), entry);
    return true;
  });
  return entries;
}

bool SameFspf(const Fspf& a, const Fspf& b) {
  if (a.payload_version != b.payload_version || a.flags != b.flags ||
      a.regions.size() != b.regions.size() || a.files.size() != b.files.size()) {
    return false;
  }
  for (size_t i = 0; i < a.regions.size(); ++i) {
    const Region& x = a.regions[i];
    const Region& y = b.regions[i];
    if (x.path != y.path || x.kind != y.kind || x.kernel_path != y.kernel_path) return false;
  }
  std::vector<std::pair<std::string, FileEntry>> entries_a = EntriesOf(a);
  std::vector<std::pair<std::string, FileEntry>> entries_b = EntriesOf(b);
  for (size_t i = 0; i < entries_a.size(); ++i) {
    const auto& [path_a, entry_a] = entries_a[i];
    const auto& [path_b, entry_b] = entries_b[i];
    if (path_a != path_b || path_a != entry_a.path || !SameEntry(entry_a, entry_b)) return false;
  }
  return entries_a.size() == entries_b.size();
}

const SecretBytes& FixedKey() {
  static const SecretBytes key = [] {
    SecretBytes k(kAes256KeySize);
    for (size_t i = 0; i < k.size(); ++i) k.data()[i] = static_cast<uint8_t>(0xa5 ^ i);
    return k;
  }();
  return key;
}

// A decoded payload re-encodes to the same number of bytes (files may be reordered: the fspf
// keeps them sorted by path) and decodes again to the same fspf.
void CheckPayloadRoundTrip(const Fspf& fspf, size_t original_size) {
  std::vector<uint8_t> again = EncodeFspfPayload(fspf);
  if (again.size() != original_size) std::abort();
  Result<Fspf> decoded = DecodeFspfPayload(again, "round trip");
  if (!decoded.ok() || !SameFspf(fspf, *decoded)) std::abort();
  if (EncodeFspfPayload(*decoded) != again) std::abort();
}

// Every listed file is found by its path with the same entry (in a copy, whose entries the
// lookups decode one by one), and an erase removes exactly one file.
void CheckLookups(const Fspf& fspf) {
  std::vector<std::pair<std::string, FileEntry>> listed = EntriesOf(fspf);
  Fspf copy = fspf;
  for (const auto& [path, entry] : listed) {
    auto it = copy.files.find(path);
    if (it == copy.files.end() || it->first != path || !SameEntry(it->second, entry)) std::abort();
  }
  if (!SameFspf(fspf, copy) || EncodeFspfPayload(copy) != EncodeFspfPayload(fspf)) std::abort();
  if (listed.empty()) return;
  const std::string& first = listed.front().first;
  if (copy.files.erase(first) != 1 || copy.files.contains(first) ||
      copy.files.size() != listed.size() - 1) {
    std::abort();
  }
}

// Encodes `fspf` plaintext and sealed, decodes both (the sealed one with its expected tag).
void CheckFileRoundTrip(const Fspf& fspf) {
  auto plain = EncodeFspfFile(fspf, nullptr, nullptr);
  if (!plain.ok()) std::abort();
  auto loaded = DecodeFspfFile(*plain, nullptr, std::nullopt, "round trip");
  if (!loaded.ok() || loaded->sealed || !SameFspf(fspf, loaded->fspf)) std::abort();

  FspfTag tag{};
  auto sealed = EncodeFspfFile(fspf, &FixedKey(), &tag);
  if (!sealed.ok()) std::abort();
  auto opened = DecodeFspfFile(*sealed, &FixedKey(), tag, "round trip");
  if (!opened.ok() || !opened->sealed || opened->tag != tag || !SameFspf(fspf, opened->fspf)) {
    std::abort();
  }
  // A sealed fspf never opens with another expected tag.
  FspfTag other = tag;
  other[0] ^= 1;
  if (DecodeFspfFile(*sealed, &FixedKey(), other, "round trip").ok()) std::abort();
}

}  // namespace
}  // namespace cove::shield

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cove::shield;
  std::span<const uint8_t> input(data, size);

  // 1. The input as a payload.
  cove::Result<Fspf> payload = DecodeFspfPayload(input, "fuzz payload");
  if (payload.ok()) {
    CheckPayloadRoundTrip(*payload, size);
    CheckFileRoundTrip(*payload);
    CheckLookups(*payload);
  }

  // 2. The input as a container, without and with the key.
  auto plain = DecodeFspfFile(input, nullptr, std::nullopt, "fuzz fspf");
  if (plain.ok()) {
    if (plain->sealed) std::abort();  // a sealed container never opens without its key
    CheckPayloadRoundTrip(plain->fspf, size - 48);
  }
  auto keyed = DecodeFspfFile(input, &FixedKey(), std::nullopt, "fuzz fspf");
  if (keyed.ok() && keyed->sealed) {
    CheckPayloadRoundTrip(keyed->fspf, size - 16 - cove::kGcmNonceSize - cove::kGcmTagSize);
  }

  // 3. The input as the payload of a plaintext container with a correct checksum: the container
  //    must agree with the payload parser (it decodes exactly when step 1 did).
  if (!payload.ok()) {
    Fspf empty;
    auto container = EncodeFspfFile(empty, nullptr, nullptr);
    if (!container.ok()) std::abort();
    std::vector<uint8_t> bytes(container->begin(), container->begin() + 16);
    cove::Sha256Digest digest = cove::Sha256(input);
    bytes.insert(bytes.end(), digest.begin(), digest.end());
    bytes.insert(bytes.end(), input.begin(), input.end());
    if (DecodeFspfFile(bytes, nullptr, std::nullopt, "fuzz wrapped").ok()) std::abort();
  }
  return 0;
}
