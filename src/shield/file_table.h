// FileTable: the fspf's files by protected path, decoded when first used.
//
// Every program started on a volume loads its fspf, and a Python whose standard library lives
// in a region has ~5,000 entries: decoding each into a map node, strings, a key and a vector
// cost ~1.3 us per entry at every start. The table keeps the entries of the fspf it was loaded
// from as their bytes, checked at load (a bad entry still refuses the fspf at start) and
// indexed by path, and decodes an entry the first time it is looked up; a save copies the
// bytes of the entries nobody looked up. The raw bytes hold file keys: they live in
// SecretBytes, wiped when the last copy of the table goes.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/byte_codec.h"
#include "common/crypto.h"
#include "common/secret_bytes.h"
#include "common/status.h"
#include "shield/file_format.h"
#include "shield/region.h"

namespace cove::shield {

inline constexpr size_t kMaxPathLength = 4096;

// What the fspf records about one protected file.
struct FileEntry {
  std::string path;  // protected (in-container) path
  RegionKind kind = RegionKind::kEncrypted;
  FileId id{};
  SecretBytes key;  // 32-byte file key; chunk keys are derived from it with HKDF
  uint64_t size = 0;
  uint64_t generation = 0;  // number of commits; 0 = never committed
  uint32_t chunk_size = kDefaultChunkSize;
  std::vector<Sha256Digest> group_digests;
};

// The files of an fspf, with the lookups of a std::map by path (find decodes the entry; an
// iterator or pointer stays valid until its entry is erased) and ordered walks instead of
// begin(). Not thread-safe, also in its const lookups (they decode): the owner locks.
class FileTable {
 public:
  using Decoded = std::map<std::string, FileEntry, std::less<>>;
  using iterator = Decoded::iterator;
  using const_iterator = Decoded::const_iterator;

  FileTable() = default;
  FileTable(const FileTable&) = default;
  FileTable& operator=(const FileTable&) = default;
  // A moved-from table is empty (as a moved-from std::map), not one that still counts the
  // entries it gave away.
  FileTable(FileTable&& other) noexcept;
  FileTable& operator=(FileTable&& other) noexcept;
  ~FileTable() = default;

  iterator find(std::string_view path) { return Lookup(path); }
  const_iterator find(std::string_view path) const { return Lookup(path); }
  iterator end() { return decoded_.end(); }
  const_iterator end() const { return decoded_.end(); }
  bool contains(std::string_view path) const;
  // The entry at `path`; std::out_of_range when there is none.
  FileEntry& at(std::string_view path);
  // The entry at `path`, default-constructed (empty path) when there was none.
  FileEntry& operator[](const std::string& path);
  size_t erase(std::string_view path);
  iterator erase(iterator it) { return decoded_.erase(it); }
  size_t size() const { return live_raw_ + decoded_.size(); }
  bool empty() const { return size() == 0; }

  // fn(path, entry) for every file in path order until it returns false; entries not decoded
  // yet are decoded into a temporary for the call. fn may look entries up, not change them.
  void ForEach(const std::function<bool(std::string_view, const FileEntry&)>& fn) const;
  // fn(path) for every file in path order, decoding nothing.
  void ForEachPath(const std::function<void(std::string_view)>& fn) const;

  // Reads `count` entries (layout in fspf.h) from `in`, which reads `payload`, and checks each
  // as a full decode would; the entries' bytes are copied out of `payload`.
  static Result<FileTable> Decode(ByteReader& in, uint32_t count, std::span<const uint8_t> payload);
  // Writes the file count and the entries in path order.
  void Encode(ByteWriter& out) const;
  // Fails, naming the entry, if an entry decoded or set since the load is one that Decode
  // would refuse (the loaded ones were checked at load).
  Status CheckChanged() const;

 private:
  // An entry still as loaded: its bytes at raw_[offset, offset + size), its path at offset + 4.
  struct RawEntry {
    uint64_t offset = 0;  // 64 bits: one file's digests alone may pass 4 GiB
    uint64_t size = 0;
    uint32_t path_size = 0;
    bool taken = false;  // decoded into decoded_ or erased: these bytes are no longer the entry
  };

  std::string_view PathOf(const RawEntry& raw) const;
  std::span<const uint8_t> BytesOf(const RawEntry& raw) const;
  // The loaded entry at `path` that is still the entry, or nullptr.
  RawEntry* FindRaw(std::string_view path) const;
  // The entry at `path` in decoded_, decoded there first if it is still a loaded one.
  iterator Lookup(std::string_view path) const;
  // Decodes `raw` into decoded_ and marks it taken.
  iterator Take(RawEntry& raw) const;
  // The walk behind ForEach, ForEachPath and Encode: on_raw or on_decoded for every file in
  // path order, until one returns false.
  void Walk(const std::function<bool(const RawEntry&)>& on_raw,
            const std::function<bool(std::string_view, const FileEntry&)>& on_decoded) const;

  std::shared_ptr<const SecretBytes> raw_;     // shared by copies; never changed after load
  mutable std::vector<RawEntry> raw_entries_;  // sorted by path
  mutable size_t live_raw_ = 0;                // raw entries not taken
  mutable Decoded decoded_;                    // entries decoded, set or added since the load
  mutable size_t decodes_ = 0;                 // loaded entries decoded so far (see Walk)
};

}  // namespace cove::shield
