// Tests of the runtime's configuration parsing: sizes, every SCONE_* variable, and
// sgx-musl.conf (errors name the line).
#include "runtime/config.h"

#include <gtest/gtest.h>

#include <map>

namespace cove::runtime {
namespace {

Result<RuntimeConfig> ParseFrom(const std::map<std::string, std::string>& vars) {
  return ParseRuntimeConfig([&vars](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

TEST(ParseSizeTest, AcceptsSconeSuffixes) {
  EXPECT_EQ(*ParseSize("4096", "X"), 4096u);
  EXPECT_EQ(*ParseSize("64M", "X"), 64u << 20);
  EXPECT_EQ(*ParseSize("4m", "X"), 4u << 20);
  EXPECT_EQ(*ParseSize("512K", "X"), 512u << 10);
  EXPECT_EQ(*ParseSize("1G", "X"), 1u << 30);
  EXPECT_EQ(*ParseSize("2GB", "X"), uint64_t{2} << 30);
  EXPECT_EQ(*ParseSize(" 8M ", "X"), 8u << 20);
}

TEST(ParseSizeTest, RejectsGarbageNamingTheVariable) {
  for (const char* bad : {"", "M", "12Q", "-1", "1.5G", "99999999999999999999G", "0x10"}) {
    auto size = ParseSize(bad, "SCONE_HEAP");
    ASSERT_FALSE(size.ok()) << bad;
    EXPECT_NE(size.status().message().find("SCONE_HEAP"), std::string::npos);
  }
}

TEST(RuntimeConfigTest, DefaultsWhenNothingIsSet) {
  auto config = ParseFrom({});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_TRUE(config->fspf_path.empty());
  EXPECT_EQ(config->mode, RunMode::kSimulation);
  EXPECT_EQ(config->log_level, 0);
  EXPECT_EQ(config->dlopen, DlopenPolicy::kNone);
  EXPECT_EQ(config->musl_conf_path, "/etc/sgx-musl.conf");
  EXPECT_FALSE(config->strict);
}

TEST(RuntimeConfigTest, ReadsEverySconeVariable) {
  auto config = ParseFrom({{"SCONE_FSPF", "/fspf.pb"},
                           {"SCONE_FSPF_KEY", std::string(64, 'a')},
                           {"SCONE_FSPF_TAG", std::string(32, '0')},
                           {"SCONE_MODE", "hw"},
                           {"SCONE_LOG", "7"},
                           {"SCONE_LOG_FILE", "/tmp/log"},
                           {"SCONE_VERSION", "1"},
                           {"SCONE_FSPF_STRICT", "1"},
                           {"SCONE_FSPF_TAG_FILE", "/tmp/tag"},
                           {"SCONE_HEAP", "64M"},
                           {"SCONE_STACK", "4M"},
                           {"SCONE_ALLOW_DLOPEN", "2"},
                           {"SCONE_CONFIG", "/etc/my.conf"}});
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->fspf_path, "/fspf.pb");
  EXPECT_EQ(config->fspf_key.size(), 32u);
  ASSERT_TRUE(config->fspf_tag.has_value());
  EXPECT_EQ(config->mode, RunMode::kHardware);
  EXPECT_EQ(config->log_level, 7);
  EXPECT_EQ(config->log_file, "/tmp/log");
  EXPECT_TRUE(config->print_version);
  EXPECT_TRUE(config->strict);
  EXPECT_EQ(config->tag_file, "/tmp/tag");
  EXPECT_EQ(config->heap_bytes, 64u << 20);
  EXPECT_EQ(config->stack_bytes, 4u << 20);
  EXPECT_EQ(config->dlopen, DlopenPolicy::kAny);
  EXPECT_EQ(config->musl_conf_path, "/etc/my.conf");
  std::string described = DescribeConfig(*config);
  EXPECT_EQ(described.find(std::string(64, 'a')), std::string::npos) << "key must not be shown";
  EXPECT_NE(described.find("SCONE_HEAP=67108864"), std::string::npos);
}

TEST(RuntimeConfigTest, RejectsMalformedValuesNamingTheVariable) {
  const std::map<std::string, std::string> cases[] = {
      {{"SCONE_FSPF", "/f"}, {"SCONE_FSPF_KEY", "abcd"}},
      {{"SCONE_FSPF", "/f"}, {"SCONE_FSPF_TAG", "00"}},
      {{"SCONE_FSPF_KEY", std::string(64, 'a')}},  // key without fspf
      {{"SCONE_MODE", "fast"}},
      {{"SCONE_LOG", "8"}},
      {{"SCONE_LOG", "x"}},
      {{"SCONE_ALLOW_DLOPEN", "3"}},
      {{"SCONE_HEAP", "lots"}},
      {{"SCONE_STACK", "1K"}},
      {{"SCONE_VERSION", "maybe"}},
      {{"COVE_CRYPTO_THREADS", "two"}},
      {{"COVE_CRYPTO_THREADS", "0"}},
  };
  for (const auto& vars : cases) {
    auto config = ParseFrom(vars);
    ASSERT_FALSE(config.ok()) << vars.begin()->first << "=" << vars.begin()->second;
    bool named = false;
    for (const auto& [name, value] : vars) {
      named = named || config.status().message().find(name) != std::string::npos;
    }
    EXPECT_TRUE(named) << config.status().ToString();
  }
}

TEST(MuslConfTest, ParsesSconeExample) {
  auto conf = ParseMuslConf("Q 1\ne -1 0 0\ns -1 0 0\n# comment\n\nL 1000 100\nP 50\n", "conf");
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  ASSERT_EQ(conf->lines.size(), 5u);
  EXPECT_EQ(conf->lines[0].kind, 'Q');
  EXPECT_EQ(conf->lines[1].values, (std::vector<long>{-1, 0, 0}));
  EXPECT_EQ(conf->lines[3].line_number, 6);
  EXPECT_NE(DescribeMuslConf(*conf).find("[e -1 0 0]"), std::string::npos);
}

TEST(MuslConfTest, ErrorsNameTheLine) {
  struct Case {
    const char* text;
    const char* where;
  } cases[] = {
      {"Q 1\nX 1\n", "conf:2"},      // unknown type
      {"Q 1\ne -1 0\n", "conf:2"},   // too few values
      {"Q\n", "conf:1"},             // missing count
      {"Q 0\n", "conf:1"},           // no queue
      {"\n\ns -1 a 0\n", "conf:3"},  // not an integer
      {"Q1\n", "conf:1"},            // no separator
  };
  for (const auto& c : cases) {
    auto conf = ParseMuslConf(c.text, "conf");
    ASSERT_FALSE(conf.ok()) << c.text;
    EXPECT_NE(conf.status().message().find(c.where), std::string::npos)
        << c.text << " -> " << conf.status().ToString();
  }
}

}  // namespace
}  // namespace cove::runtime
