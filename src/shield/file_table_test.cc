// Tests of FileTable: entries loaded from an fspf are decoded when first used, and the table
// behaves as the map of files it replaces (lookups, changes, order, encoding).
#include "shield/file_table.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "shield/fspf.h"

namespace cove::shield {
namespace {

FileEntry Entry(const std::string& path, uint64_t size, uint8_t fill) {
  FileEntry entry;
  entry.path = path;
  entry.id.fill(fill);
  entry.key = SecretBytes(kAes256KeySize);
  entry.key.data()[0] = fill;
  entry.size = size;
  entry.generation = fill;
  entry.group_digests.resize(FileGeometry(entry.chunk_size).GroupCount(size));
  for (auto& digest : entry.group_digests) digest.fill(fill);
  return entry;
}

void Put(Fspf& fspf, FileEntry entry) {
  std::string path = entry.path;
  fspf.files[path] = std::move(entry);
}

// The fspf decoded from the payload of `fspf` (what a program's start does).
Fspf Reloaded(const Fspf& fspf) {
  std::vector<uint8_t> payload = EncodeFspfPayload(fspf);
  auto loaded = DecodeFspfPayload(payload, "test payload");
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  return loaded.ok() ? std::move(*loaded) : Fspf{};
}

// Every file as "path:size:generation", in the table's order.
std::vector<std::string> Listing(const FileTable& files) {
  std::vector<std::string> listing;
  files.ForEach([&listing](std::string_view path, const FileEntry& entry) {
    EXPECT_EQ(path, entry.path);
    listing.push_back(std::string(path) + ":" + std::to_string(entry.size) + ":" +
                      std::to_string(entry.generation));
    return true;
  });
  std::vector<std::string> paths;
  files.ForEachPath([&paths](std::string_view path) { paths.emplace_back(path); });
  EXPECT_EQ(paths.size(), listing.size());
  EXPECT_EQ(files.size(), listing.size());
  return listing;
}

Fspf ThreeFiles() {
  Fspf fspf;
  Put(fspf, Entry("/data/a", 10, 1));
  Put(fspf, Entry("/data/c", 70000, 3));
  Put(fspf, Entry("/data/e", 0, 5));
  return fspf;
}

TEST(FileTable, UntouchedEntriesAreSavedAsTheyWereLoaded) {
  Fspf original = ThreeFiles();
  std::vector<uint8_t> payload = EncodeFspfPayload(original);
  Fspf loaded = Reloaded(original);
  EXPECT_EQ(EncodeFspfPayload(loaded), payload);
  // Decoding one entry does not change what is written either.
  ASSERT_NE(loaded.files.find("/data/c"), loaded.files.end());
  EXPECT_EQ(EncodeFspfPayload(loaded), payload);
}

TEST(FileTable, LookupsDecodeTheLoadedEntry) {
  Fspf loaded = Reloaded(ThreeFiles());
  EXPECT_EQ(loaded.files.size(), 3u);
  EXPECT_TRUE(loaded.files.contains("/data/a"));
  EXPECT_FALSE(loaded.files.contains("/data/b"));
  EXPECT_FALSE(loaded.files.contains("/data"));
  EXPECT_EQ(loaded.files.find("/data/b"), loaded.files.end());
  auto it = loaded.files.find("/data/c");
  ASSERT_NE(it, loaded.files.end());
  EXPECT_EQ(it->first, "/data/c");
  EXPECT_EQ(it->second.path, "/data/c");
  EXPECT_EQ(it->second.size, 70000u);
  EXPECT_EQ(it->second.group_digests.size(), 1u);
  EXPECT_EQ(it->second.key.data()[0], 3);
  // The same entry again: the decoded one, which a change made through the iterator stays in.
  it->second.generation = 42;
  EXPECT_EQ(loaded.files.at("/data/c").generation, 42u);
  EXPECT_EQ(&loaded.files.at("/data/c"), &it->second);
  EXPECT_THROW(loaded.files.at("/data/zz"), std::out_of_range);
  EXPECT_EQ(loaded.files.size(), 3u);
  const FileTable& read_only = loaded.files;
  EXPECT_EQ(read_only.find("/data/a")->second.size, 10u);
}

TEST(FileTable, ChangesAreListedInPathOrderAndSaved) {
  Fspf loaded = Reloaded(ThreeFiles());
  Put(loaded, Entry("/data/b", 5, 2));           // new, between two loaded ones
  Put(loaded, Entry("/data/e", 9, 6));           // replaces a loaded one never decoded
  EXPECT_EQ(loaded.files.erase("/data/a"), 1u);  // a loaded one never decoded
  EXPECT_EQ(loaded.files.erase("/data/a"), 0u);
  EXPECT_EQ(loaded.files.erase("/data/none"), 0u);
  loaded.files.find("/data/c")->second.generation = 8;  // decoded, then changed
  Put(loaded, Entry("/z", 1, 7));                       // new, after every loaded one
  std::vector<std::string> expected = {"/data/b:5:2", "/data/c:70000:8", "/data/e:9:6", "/z:1:7"};
  EXPECT_EQ(Listing(loaded.files), expected);
  EXPECT_TRUE(loaded.files.CheckChanged().ok());
  Fspf again = Reloaded(loaded);
  EXPECT_EQ(Listing(again.files), expected);
  // An erased path comes back once when set again.
  Put(again, Entry("/data/a", 3, 9));
  EXPECT_EQ(Listing(again.files).front(), "/data/a:3:9");
  EXPECT_EQ(again.files.size(), 5u);
  // erase(iterator) of a decoded entry.
  again.files.erase(again.files.find("/data/b"));
  EXPECT_FALSE(again.files.contains("/data/b"));
  EXPECT_EQ(Listing(Reloaded(again).files),
            (std::vector<std::string>{"/data/a:3:9", "/data/c:70000:8", "/data/e:9:6", "/z:1:7"}));
}

TEST(FileTable, ACopyIsIndependent) {
  Fspf loaded = Reloaded(ThreeFiles());
  FileTable copy = loaded.files;
  copy.erase("/data/a");
  copy.find("/data/c")->second.size = 1;
  EXPECT_EQ(loaded.files.size(), 3u);
  EXPECT_EQ(loaded.files.find("/data/c")->second.size, 70000u);
  EXPECT_EQ(copy.size(), 2u);
}

TEST(FileTable, ChangedEntriesAreCheckedBeforeASave) {
  Fspf loaded = Reloaded(ThreeFiles());
  loaded.files.find("/data/a")->second.chunk_size = 1000;
  Status checked = loaded.files.CheckChanged();
  EXPECT_FALSE(checked.ok());
  EXPECT_NE(checked.ToString().find("/data/a"), std::string::npos) << checked.ToString();
  loaded.files["/data/new"];  // default entry: no path, no key
  loaded.files.find("/data/a")->second.chunk_size = kDefaultChunkSize;
  EXPECT_FALSE(loaded.files.CheckChanged().ok());
}

// CheckChanged is the guard that no save writes an fspf the decoder refuses (which would
// refuse every later start of the volume); it did not check a path's length against the
// decoder's kMaxPathLength.
TEST(FileTable, AnEntryWithAPathTooLongToReadBackIsNotSaved) {
  Fspf fspf = ThreeFiles();
  std::string deep = "/data";
  while (deep.size() <= kMaxPathLength) deep += "/" + std::string(200, 'd');
  Put(fspf, Entry(deep, 10, 7));
  EXPECT_FALSE(fspf.files.CheckChanged().ok());
  EXPECT_FALSE(DecodeFspfPayload(EncodeFspfPayload(fspf), "saved payload").ok());
}

// The payload of `fspf` with the entries of `entry_payloads` (payloads of one file each, no
// region) in the given order, as another writer could have laid them out.
std::vector<uint8_t> PayloadWithEntries(const std::vector<std::vector<uint8_t>>& entry_payloads) {
  constexpr size_t kEntriesAt = 16;  // version, flags, region count (0), file count
  std::vector<uint8_t> payload(entry_payloads[0].begin(), entry_payloads[0].begin() + 12);
  ByteWriter count;
  count.U32(static_cast<uint32_t>(entry_payloads.size()));
  payload.insert(payload.end(), count.buffer().begin(), count.buffer().end());
  for (const auto& one : entry_payloads) {
    payload.insert(payload.end(), one.begin() + kEntriesAt, one.end());
  }
  return payload;
}

std::vector<uint8_t> PayloadOf(FileEntry entry) {
  Fspf fspf;
  Put(fspf, std::move(entry));
  return EncodeFspfPayload(fspf);
}

TEST(FileTable, EntriesOutOfOrderAreSortedAndDuplicatesRefused) {
  auto unsorted = PayloadWithEntries(
      {PayloadOf(Entry("/m", 1, 1)), PayloadOf(Entry("/b", 2, 2)), PayloadOf(Entry("/x", 3, 3))});
  auto loaded = DecodeFspfPayload(unsorted, "unsorted");
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(Listing(loaded->files), (std::vector<std::string>{"/b:2:2", "/m:1:1", "/x:3:3"}));
  EXPECT_EQ(loaded->files.find("/m")->second.size, 1u);

  auto twice = PayloadWithEntries(
      {PayloadOf(Entry("/m", 1, 1)), PayloadOf(Entry("/b", 2, 2)), PayloadOf(Entry("/m", 3, 3))});
  auto refused = DecodeFspfPayload(twice, "twice");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().ToString().find("duplicate file /m"), std::string::npos)
      << refused.status().ToString();
}

// A bad entry still refuses the whole fspf at load, naming it, though entries are decoded
// later.
TEST(FileTable, ABadEntryRefusesTheFspfAtLoad) {
  FileEntry bad = Entry("/data/bad", 10, 4);
  bad.chunk_size = 3000;  // not a power of two
  auto payload = PayloadWithEntries({PayloadOf(Entry("/data/a", 1, 1)), PayloadOf(std::move(bad))});
  auto loaded = DecodeFspfPayload(payload, "bad");
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.status().ToString().find("/data/bad: invalid chunk size 3000"),
            std::string::npos)
      << loaded.status().ToString();
}

// A moved-from table is empty, as a moved-from std::map: with the defaulted move it kept the
// count of the loaded entries it gave away, and its Encode wrote that count with no entries
// behind it (an fspf nobody can read).
TEST(FileTable, AMovedFromTableIsEmpty) {
  Fspf loaded = Reloaded(ThreeFiles());
  FileTable taken = std::move(loaded.files);
  EXPECT_EQ(taken.size(), 3u);
  EXPECT_EQ(loaded.files.size(), 0u);  // NOLINT(bugprone-use-after-move)
  EXPECT_TRUE(loaded.files.empty());   // NOLINT(bugprone-use-after-move)
  auto again = DecodeFspfPayload(EncodeFspfPayload(loaded), "moved-from");
  EXPECT_TRUE(again.ok()) << again.status().ToString();

  // The same through move assignment (MergeNewerLocked's `fspf_.files = std::move(...)`).
  Fspf other = Reloaded(ThreeFiles());
  FileTable target;
  target = std::move(other.files);
  EXPECT_EQ(other.files.size(), 0u);  // NOLINT(bugprone-use-after-move)
}

// ForEach visits every file once even when the callback looks entries up (a lookup decodes:
// the entry moves from the loaded entries to the decoded ones). An entry decoded by the
// callback between the walk's loaded position and its decoded position was skipped by both
// halves of the merge.
TEST(FileTable, ForEachVisitsEveryFileWhenTheCallbackLooksUp) {
  Fspf original;
  Put(original, Entry("/a", 1, 1));
  Put(original, Entry("/b", 2, 2));
  Put(original, Entry("/c", 3, 3));
  Put(original, Entry("/d", 4, 4));
  Fspf loaded = Reloaded(original);
  ASSERT_NE(loaded.files.find("/d"), loaded.files.end());  // decoded: the walk waits at /d
  const FileTable& files = loaded.files;
  std::vector<std::string> visited;
  files.ForEach([&](std::string_view path, const FileEntry&) {
    visited.emplace_back(path);
    if (path == "/a") (void)files.find("/c");  // e.g. a listing that also reads another entry
    return true;
  });
  EXPECT_EQ(visited, (std::vector<std::string>{"/a", "/b", "/c", "/d"}));
}

}  // namespace
}  // namespace cove::shield
