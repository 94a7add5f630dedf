// Tests of the redo journal: its two encodings (what each checksum covers), record joining, and
// ApplyJournal's host size (a run of adjacent records becomes one, and the file always ends at
// the journal's new host size).
#include "shield/journal.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include "shield/shield_test_util.h"

namespace cove::shield {
namespace {

JournalRecord Record(uint64_t offset, size_t size, uint32_t seed) {
  return {offset, testing::Pattern(size, seed)};
}

TEST(JournalPath, FitsTheNameLimitForEveryLegalName) {
  EXPECT_EQ(JournalPath("/data/db.sqlite"), "/data/db.sqlite.cove-journal");
  EXPECT_EQ(JournalPath(std::string(242, 'a')), std::string(242, 'a') + ".cove-journal");
  // Names of 243-255 bytes: ENAMETOOLONG with the suffix appended (every commit failed).
  std::string common(200, 'c');
  std::string one = "/d/" + common + std::string(55, 'x');
  std::string two = "/d/" + common + std::string(55, 'y');
  std::string journal_one = JournalPath(one);
  std::string journal_two = JournalPath(two);
  for (const std::string& journal : {journal_one, journal_two}) {
    ASSERT_TRUE(journal.starts_with("/d/" + common + "."));
    ASSERT_TRUE(journal.ends_with(".cove-journal"));
    EXPECT_LE(journal.size() - 3, kMaxNameLength);
  }
  EXPECT_NE(journal_one, journal_two);  // two long names that share 200 bytes
  EXPECT_EQ(JournalPath(one), journal_one);
}

TEST(JoinAdjacentRecords, JoinsRunsInOffsetOrderAndKeepsGaps) {
  std::vector<JournalRecord> records = {Record(8192, 4096, 1), Record(4096, 4096, 2),
                                        Record(20000, 10, 3), Record(12288, 100, 4)};
  std::vector<uint8_t> expected_run = records[1].bytes;
  expected_run.insert(expected_run.end(), records[0].bytes.begin(), records[0].bytes.end());
  expected_run.insert(expected_run.end(), records[3].bytes.begin(), records[3].bytes.end());
  std::vector<uint8_t> lone = records[2].bytes;
  JoinAdjacentRecords(records);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].offset, 4096u);
  EXPECT_EQ(records[0].bytes, expected_run);
  EXPECT_EQ(records[1].offset, 20000u);
  EXPECT_EQ(records[1].bytes, lone);
  std::vector<JournalRecord> none;
  JoinAdjacentRecords(none);
  EXPECT_TRUE(none.empty());
}

Journal TwoRecordJournal() {
  Journal journal;
  journal.file_id.fill(7);
  journal.target_generation = 42;
  journal.new_host_size = 20010;
  journal.records = {Record(4096, 8192, 1), Record(20000, 10, 2)};
  return journal;
}

void ExpectSameJournal(const Journal& a, const Journal& b) {
  EXPECT_EQ(a.file_id, b.file_id);
  EXPECT_EQ(a.target_generation, b.target_generation);
  EXPECT_EQ(a.new_host_size, b.new_host_size);
  ASSERT_EQ(a.records.size(), b.records.size());
  for (size_t i = 0; i < a.records.size(); ++i) {
    EXPECT_EQ(a.records[i].offset, b.records[i].offset);
    EXPECT_EQ(a.records[i].bytes, b.records[i].bytes);
  }
}

TEST(Journal, BothVersionsDecodeToWhatWasEncoded) {
  Journal journal = TwoRecordJournal();
  for (uint32_t version : {1u, 2u}) {
    std::vector<uint8_t> bytes = EncodeJournal(journal, version);
    EXPECT_EQ(bytes[7], '0' + version);
    // Header, records (offset, length, bytes), checksum: SHA-256 (1) or CRC-32C (2).
    EXPECT_EQ(bytes.size(), 44u + 12 + 8192 + 12 + 10 + (version == 1 ? 32 : 4));
    auto decoded = DecodeJournal(bytes, "j");
    ASSERT_TRUE(decoded.ok()) << version << ": " << decoded.status().ToString();
    ExpectSameJournal(*decoded, journal);
  }
  EXPECT_EQ(EncodeJournal(journal)[7], '0' + kJournalVersion);
}

// Listings hide what IsJournalHead recognizes, so a program's own file must never pass for one.
TEST(Journal, HeadIsRecognizedFromItsMagicOrABeginningOfIt) {
  auto head = [](std::string_view bytes) {
    return IsJournalHead({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  };
  for (uint32_t version : {1u, 2u}) {
    std::vector<uint8_t> bytes = EncodeJournal(TwoRecordJournal(), version);
    EXPECT_TRUE(IsJournalHead(std::span(bytes).first(8))) << version;
  }
  Journal journal = TwoRecordJournal();
  std::vector<uint8_t> bytes = EncodeJournal(journal);
  EXPECT_EQ(JournalFileIdOfHead(std::span(bytes).first(kJournalHeadSize)), journal.file_id);
  EXPECT_EQ(JournalFileIdOfHead(std::span(bytes).first(kJournalHeadSize - 1)), std::nullopt);
  EXPECT_TRUE(head(""));           // created, never written: a crash right after the open
  EXPECT_TRUE(head("COVE"));       // cut short
  EXPECT_FALSE(head("COVEPF01"));  // a protected file's host file
  EXPECT_FALSE(head("mine"));
  EXPECT_FALSE(head("COVEPF"));
}

// A torn journal (cut short, or a byte changed) is refused, whatever the byte: its header,
// a record's offset, length or bytes, or the checksum.
TEST(Journal, EitherVersionRefusesAnyChangedOrMissingByte) {
  for (uint32_t version : {1u, 2u}) {
    std::vector<uint8_t> bytes = EncodeJournal(TwoRecordJournal(), version);
    std::vector<uint8_t> short_tail(bytes.begin(), bytes.end() - 1);
    auto decoded = DecodeJournal(short_tail, "j");
    ASSERT_FALSE(decoded.ok());
    EXPECT_NE(decoded.status().ToString().find("torn write"), std::string::npos)
        << decoded.status().ToString();
    std::vector<uint8_t> long_tail = bytes;
    long_tail.push_back(0);
    EXPECT_FALSE(DecodeJournal(long_tail, "j").ok());
    for (size_t offset = 0; offset < bytes.size(); offset += offset < 80 ? 1 : 97) {
      std::vector<uint8_t> flipped = bytes;
      flipped[offset] ^= 0x01;
      EXPECT_FALSE(DecodeJournal(flipped, "j").ok()) << version << " offset " << offset;
    }
  }
}

// The host file after ApplyJournal of `journal` over `before`, told (or not) its size.
std::vector<uint8_t> Applied(const std::vector<uint8_t>& before, const Journal& journal,
                             bool tell_size) {
  testing::TempDir dir;
  std::string path = dir / "host";
  testing::WriteRaw(path, before);
  Env& env = Env::Default();
  auto fd = env.Open(path, O_RDWR);
  EXPECT_TRUE(fd.ok());
  std::optional<uint64_t> size;
  if (tell_size) size = before.size();
  EXPECT_TRUE(ApplyJournal(env, fd->get(), path, journal, false, size).ok());
  return testing::ReadRaw(path);
}

TEST(ApplyJournal, EndsAtTheNewHostSizeWhetherOrNotTheSizeIsKnown) {
  std::vector<uint8_t> before = testing::Pattern(12288, 7);
  for (uint64_t new_size : {uint64_t{12288}, uint64_t{9000}, uint64_t{16384}}) {
    Journal journal;
    journal.new_host_size = new_size;
    journal.records = {Record(4096, 4096, 8)};
    std::vector<uint8_t> expected = before;
    std::copy(journal.records[0].bytes.begin(), journal.records[0].bytes.end(),
              expected.begin() + 4096);
    expected.resize(new_size, 0);
    EXPECT_EQ(Applied(before, journal, true), expected) << new_size;
    EXPECT_EQ(Applied(before, journal, false), expected) << new_size;
  }
  // A record that extends the file to exactly its new size: no truncate needed, same result.
  Journal growing;
  growing.new_host_size = 14000;
  growing.records = {Record(12000, 2000, 9)};
  std::vector<uint8_t> expected = before;
  expected.resize(12000);
  expected.insert(expected.end(), growing.records[0].bytes.begin(), growing.records[0].bytes.end());
  EXPECT_EQ(Applied(before, growing, true), expected);
}

}  // namespace
}  // namespace cove::shield
