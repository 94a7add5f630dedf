// FileTable: the fspf's files, decoded when first used (see file_table.h).
#include "shield/file_table.h"

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace cove::shield {
namespace {

// The rules of an entry, shared by the decoder (ReadFileEntry) and the check before a save
// (CheckChanged), so that a save never writes what the decoder refuses.
bool IsRecordablePath(std::string_view path) {
  return path.size() <= kMaxPathLength && IsNormalizedAbsolutePath(path);
}
bool IsFileKind(uint8_t kind) {
  return kind == static_cast<uint8_t>(RegionKind::kAuthenticated) ||
         kind == static_cast<uint8_t>(RegionKind::kEncrypted);
}
// `groups` digests for a file of `size` bytes in chunks of `chunk_size` (a valid one).
bool GroupCountFits(uint64_t size, uint32_t chunk_size, uint64_t groups) {
  return size <= (uint64_t{1} << 50) && groups == FileGeometry(chunk_size).GroupCount(size);
}

// Reads one entry and checks it. Fills `entry` when given; without it nothing is allocated
// (the load checks every entry this way). Returns the entry's path, viewed in the input.
Result<std::string_view> ReadFileEntry(ByteReader& in, FileEntry* entry) {
  COVE_ASSIGN_OR_RETURN(std::string_view path, in.StringView("file path", kMaxPathLength));
  if (!IsRecordablePath(path)) {
    return in.Error("file path '" + std::string(path) + "' is not a normalized absolute path");
  }
  COVE_ASSIGN_OR_RETURN(uint8_t kind, in.U8("file kind"));
  if (!IsFileKind(kind)) {
    return in.Error(std::string(path) + ": invalid file kind " + std::to_string(kind));
  }
  FileId id{};
  COVE_RETURN_IF_ERROR(in.Bytes(id, "file id"));
  SecretBytes key;
  if (entry != nullptr) {
    key = SecretBytes::ForOverwrite(kAes256KeySize);
    COVE_RETURN_IF_ERROR(in.Bytes(key.mutable_span(), "file key"));
  } else {
    COVE_RETURN_IF_ERROR(in.Skip(kAes256KeySize, "file key"));
  }
  COVE_ASSIGN_OR_RETURN(uint64_t size, in.U64("file size"));
  COVE_ASSIGN_OR_RETURN(uint64_t generation, in.U64("file generation"));
  COVE_ASSIGN_OR_RETURN(uint32_t chunk_size, in.U32("chunk size"));
  if (!IsValidChunkSize(chunk_size)) {
    return in.Error(std::string(path) + ": invalid chunk size " + std::to_string(chunk_size));
  }
  COVE_ASSIGN_OR_RETURN(uint32_t groups, in.Count("group count", sizeof(Sha256Digest)));
  if (!GroupCountFits(size, chunk_size, groups)) {
    return in.Error(std::string(path) + ": group count " + std::to_string(groups) +
                    " does not match size " + std::to_string(size));
  }
  if (entry == nullptr) {
    COVE_RETURN_IF_ERROR(in.Skip(size_t{groups} * sizeof(Sha256Digest), "group digest"));
    return path;
  }
  entry->group_digests.resize(groups);
  for (auto& digest : entry->group_digests) {
    COVE_RETURN_IF_ERROR(in.Bytes(digest, "group digest"));
  }
  entry->path = path;
  entry->kind = static_cast<RegionKind>(kind);
  entry->id = id;
  entry->key = std::move(key);
  entry->size = size;
  entry->generation = generation;
  entry->chunk_size = chunk_size;
  return path;
}

void WriteFileEntry(ByteWriter& out, std::string_view path, const FileEntry& entry) {
  out.String(path);
  out.U8(static_cast<uint8_t>(entry.kind));
  out.Bytes(entry.id);
  out.Bytes(entry.key.span());
  out.U64(entry.size);
  out.U64(entry.generation);
  out.U32(entry.chunk_size);
  out.U32(static_cast<uint32_t>(entry.group_digests.size()));
  for (const auto& digest : entry.group_digests) out.Bytes(digest);
}

}  // namespace

FileTable::FileTable(FileTable&& other) noexcept
    : raw_(std::move(other.raw_)),
      raw_entries_(std::move(other.raw_entries_)),
      live_raw_(std::exchange(other.live_raw_, 0)),
      decoded_(std::move(other.decoded_)) {
  other.raw_entries_.clear();
  other.decoded_.clear();
}

FileTable& FileTable::operator=(FileTable&& other) noexcept {
  if (this != &other) {
    raw_ = std::move(other.raw_);
    raw_entries_ = std::move(other.raw_entries_);
    live_raw_ = std::exchange(other.live_raw_, 0);
    decoded_ = std::move(other.decoded_);
    other.raw_entries_.clear();
    other.decoded_.clear();
  }
  return *this;
}

std::string_view FileTable::PathOf(const RawEntry& raw) const {
  return {reinterpret_cast<const char*>(raw_->data()) + raw.offset + 4, raw.path_size};
}

std::span<const uint8_t> FileTable::BytesOf(const RawEntry& raw) const {
  return {raw_->data() + raw.offset, raw.size};
}

FileTable::RawEntry* FileTable::FindRaw(std::string_view path) const {
  auto it = std::lower_bound(
      raw_entries_.begin(), raw_entries_.end(), path,
      [this](const RawEntry& raw, std::string_view wanted) { return PathOf(raw) < wanted; });
  if (it == raw_entries_.end() || it->taken || PathOf(*it) != path) return nullptr;
  return &*it;
}

FileTable::iterator FileTable::Take(RawEntry& raw) const {
  FileEntry entry;
  ByteReader in(BytesOf(raw), "fspf entry");
  // Checked at load: this decode cannot fail (the bytes are not changed after the load).
  if (!ReadFileEntry(in, &entry).ok()) return decoded_.end();
  raw.taken = true;
  --live_raw_;
  ++decodes_;
  std::string path = entry.path;
  return decoded_.emplace(std::move(path), std::move(entry)).first;
}

FileTable::iterator FileTable::Lookup(std::string_view path) const {
  if (auto it = decoded_.find(path); it != decoded_.end()) return it;
  RawEntry* raw = FindRaw(path);
  return raw == nullptr ? decoded_.end() : Take(*raw);
}

bool FileTable::contains(std::string_view path) const {
  return decoded_.contains(path) || FindRaw(path) != nullptr;
}

FileEntry& FileTable::at(std::string_view path) {
  auto it = find(path);
  if (it == end()) throw std::out_of_range("FileTable::at: " + std::string(path));
  return it->second;
}

FileEntry& FileTable::operator[](const std::string& path) {
  if (auto it = find(path); it != end()) return it->second;
  return decoded_[path];
}

size_t FileTable::erase(std::string_view path) {
  if (auto it = decoded_.find(path); it != decoded_.end()) {
    decoded_.erase(it);
    return 1;  // a loaded entry of this path, if any, was taken when it was decoded
  }
  RawEntry* raw = FindRaw(path);
  if (raw == nullptr) return 0;
  raw->taken = true;
  --live_raw_;
  return 1;
}

void FileTable::Walk(
    const std::function<bool(const RawEntry&)>& on_raw,
    const std::function<bool(std::string_view, const FileEntry&)>& on_decoded) const {
  auto raw = raw_entries_.begin();
  auto decoded = decoded_.begin();
  while (true) {
    while (raw != raw_entries_.end() && raw->taken) ++raw;
    bool raw_left = raw != raw_entries_.end();
    bool decoded_left = decoded != decoded_.end();
    if (!raw_left && !decoded_left) return;
    // A path is never both: decoding or setting it took its loaded entry.
    std::string_view visited;  // in raw_ or a key of decoded_: stable while the walk lasts
    size_t decodes_before = decodes_;
    if (raw_left && (!decoded_left || PathOf(*raw) < std::string_view(decoded->first))) {
      visited = PathOf(*raw);
      if (!on_raw(*raw++)) return;
    } else {
      const auto& [path, entry] = *decoded++;
      visited = path;
      if (!on_decoded(path, entry)) return;
    }
    // A lookup in the callback decoded a loaded entry, perhaps one ahead of the walk: it is
    // now in decoded_, maybe before the decoded cursor, and taken from the loaded ones.
    if (decodes_ != decodes_before) decoded = decoded_.upper_bound(visited);
  }
}

void FileTable::ForEach(const std::function<bool(std::string_view, const FileEntry&)>& fn) const {
  Walk(
      [&](const RawEntry& raw) {
        FileEntry entry;
        ByteReader in(BytesOf(raw), "fspf entry");
        return !ReadFileEntry(in, &entry).ok() || fn(PathOf(raw), entry);
      },
      fn);
}

void FileTable::ForEachPath(const std::function<void(std::string_view)>& fn) const {
  Walk(
      [&](const RawEntry& raw) {
        fn(PathOf(raw));
        return true;
      },
      [&](std::string_view path, const FileEntry&) {
        fn(path);
        return true;
      });
}

Result<FileTable> FileTable::Decode(ByteReader& in, uint32_t count,
                                    std::span<const uint8_t> payload) {
  FileTable table;
  table.raw_entries_.reserve(count);
  size_t first = in.position();
  bool sorted = true;
  std::string_view previous;
  for (uint32_t i = 0; i < count; ++i) {
    size_t start = in.position();
    COVE_ASSIGN_OR_RETURN(std::string_view path, ReadFileEntry(in, nullptr));
    if (i > 0 && !(previous < path)) sorted = false;
    previous = path;
    table.raw_entries_.push_back(
        {start - first, in.position() - start, static_cast<uint32_t>(path.size()), false});
  }
  table.raw_ = std::make_shared<const SecretBytes>(payload.data() + first, in.position() - first);
  // Saves write entries in path order; anything else is sorted here, and a path twice refused.
  if (!sorted) {
    std::sort(table.raw_entries_.begin(), table.raw_entries_.end(),
              [&table](const RawEntry& a, const RawEntry& b) {
                return table.PathOf(a) < table.PathOf(b);
              });
    for (size_t i = 1; i < table.raw_entries_.size(); ++i) {
      if (table.PathOf(table.raw_entries_[i - 1]) == table.PathOf(table.raw_entries_[i])) {
        return in.Error("duplicate file " + std::string(table.PathOf(table.raw_entries_[i])));
      }
    }
  }
  table.live_raw_ = count;
  return table;
}

Status FileTable::CheckChanged() const {
  for (const auto& [path, entry] : decoded_) {
    if (entry.path != path || !IsRecordablePath(path) || entry.key.size() != kAes256KeySize ||
        !IsValidChunkSize(entry.chunk_size) || !IsFileKind(static_cast<uint8_t>(entry.kind)) ||
        !GroupCountFits(entry.size, entry.chunk_size, entry.group_digests.size())) {
      return Internal("refusing to write an fspf with an invalid entry for '" + path +
                      "' (entry path '" + entry.path + "', key of " +
                      std::to_string(entry.key.size()) + " bytes, chunk size " +
                      std::to_string(entry.chunk_size) + ")");
    }
  }
  return Status::Ok();
}

void FileTable::Encode(ByteWriter& out) const {
  out.U32(static_cast<uint32_t>(size()));
  Walk(
      [&](const RawEntry& raw) {
        out.Bytes(BytesOf(raw));
        return true;
      },
      [&](std::string_view path, const FileEntry& entry) {
        WriteFileEntry(out, path, entry);
        return true;
      });
}

}  // namespace cove::shield
