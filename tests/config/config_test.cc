#include "config/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace geocache {
namespace {

using ::testing::HasSubstr;

std::optional<Config> parse(std::vector<std::string> args) {
  std::vector<const char*> argv{"geocached"};
  for (const auto& a : args) argv.push_back(a.c_str());
  return parse_command_line(static_cast<int>(argv.size()), argv.data());
}

std::string write_temp(const std::string& text) {
  char path[] = "/tmp/geocache-config-XXXXXX.toml";
  int fd = mkstemps(path, 5);
  EXPECT_GE(fd, 0);
  std::ofstream(path) << text;
  close(fd);
  return path;
}

std::string error_of(std::vector<std::string> args) {
  try {
    parse(std::move(args));
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "no error";
}

TEST(ConfigTest, NoArgumentsGiveASingleRegionCacheOnTheDocumentedPort) {
  auto c = parse({});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server.port, 6390);
  EXPECT_EQ(c->server.bind, "127.0.0.1");
  EXPECT_EQ(c->cache.regions, std::vector<std::string>{"local"});
  EXPECT_FALSE(c->uses_amqp());
}

TEST(ConfigTest, RedisStyleFlagsKeepRedisMeaningAndUnits) {
  auto c = parse({"--port", "7000", "--maxmemory", "100mb", "--maxclients", "50", "--timeout", "30",
                  "--proto-max-bulk-len", "1kb", "--requirepass", "s3cret", "--loglevel", "warning"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server.port, 7000);
  EXPECT_EQ(c->cache.store.max_bytes, 100u << 20);
  EXPECT_EQ(c->server.maxclients, 50u);
  EXPECT_EQ(c->server.timeout_s, 30);
  EXPECT_EQ(c->server.proto_max_bulk_len, 1024u);
  EXPECT_EQ(c->server.requirepass, "s3cret");
}

TEST(ConfigTest, RegionAndAmqpUrlAreEnoughToJoinADeployment) {
  auto c = parse({"--region", "eu-west", "--regions", "us-east,eu-west,ap-south", "--amqp-url",
                  "amqp://guest:guest@127.0.0.1:5672/"});
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->uses_amqp());
  EXPECT_EQ(c->cache.home_region, "eu-west");
  EXPECT_EQ(c->cache.local_regions, std::vector<std::string>{"eu-west"});
  EXPECT_EQ(c->cache.regions.size(), 3u);
}

// The other regions need not be listed: a node learns them from what arrives.
TEST(ConfigTest, RegionsListIsOptionalBetweenProcesses) {
  auto c = parse({"--region", "eu-west", "--amqp-url", "amqp://guest:guest@127.0.0.1:5672/"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cache.regions, std::vector<std::string>{"eu-west"});
  EXPECT_EQ(c->cache.hosted_regions(), std::vector<std::string>{"eu-west"});
}

TEST(ConfigTest, HeartbeatAndQueueOverflowSettings) {
  auto c = parse({"--heartbeat-ms", "250", "--peer-down-ms", "5000", "--amqp-queue-overflow", "reject-publish"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cache.membership.heartbeat_ms, 250);
  EXPECT_EQ(c->cache.membership.down_after_ms, 5000);
  EXPECT_EQ(c->amqp.queue_overflow, "reject-publish");
  EXPECT_EQ(Config{}.amqp.queue_overflow, "drop-head");
  EXPECT_THAT(error_of({"--amqp-queue-overflow", "reject"}), HasSubstr("drop-head or reject-publish"));
  EXPECT_THAT(error_of({"--peer-down-ms", "0"}), HasSubstr("replication.peer-down-ms"));
}

TEST(ConfigTest, RegionNamesAreCheckedAtStart) {
  EXPECT_THAT(error_of({"--regions", "eu.west,us"}), HasSubstr("only letters, digits, '-' and '_'"));
  EXPECT_THAT(error_of({"--region", "a b"}), HasSubstr("only letters, digits, '-' and '_'"));
  EXPECT_THAT(error_of({"--regions", "r66999,r916676"}), HasSubstr("have the same id"));
}

TEST(ConfigTest, FileIsReadAndFlagsOverrideIt) {
  const auto path = write_temp(R"(
[cache]
regions = ["a", "b", "c"]
maxmemory = "1gb"
shards = 32
[cache.latency]
"a/b" = 80
"a/c" = 150
[server]
port = 7100
region-ports = { b = 7101, c = 7102 }
[replication]
batch-max-events = 64
)");
  auto c = parse({path, "--port", "7200"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->server.port, 7200);
  EXPECT_EQ(c->cache.store.max_bytes, size_t{1} << 30);
  EXPECT_EQ(c->cache.store.shards, 32);
  EXPECT_EQ(c->server.region_ports.at("c"), 7102);
  EXPECT_EQ((c->cache.latency_ms.at({"a", "c"})), 150);
  EXPECT_EQ(c->cache.replication.batch_max_events, 64u);
  std::remove(path.c_str());
}

// Each local region announces where clients reach it: what announce says,
// else the first bind address and its port.
TEST(ConfigTest, EndpointsComeFromAnnounceOrTheBindAddress) {
  const auto path = write_temp(R"(
[cache]
regions = ["a", "b", "c"]
[server]
bind = "10.0.0.1 127.0.0.1"
port = 7100
region-ports = { b = 7101, c = 7102 }
announce = { c = "relay.example:9102" }
)");
  auto c = parse({path});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->endpoints(), (std::map<std::string, std::string>{
                                {"a", "10.0.0.1:7100"}, {"b", "10.0.0.1:7101"}, {"c", "relay.example:9102"}}));
  c = parse({path, "--announce", "a=1.2.3.4:1", "--bind", "0.0.0.0"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->endpoints(), (std::map<std::string, std::string>{{"a", "1.2.3.4:1"}}));
  c = parse({path, "--bind", "::1"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->endpoints().at("a"), "[::1]:7100");
  std::remove(path.c_str());
  EXPECT_THAT(error_of({"--announce", "local=nohost"}), HasSubstr("region=host:port"));
  EXPECT_THAT(error_of({"--announce", "local=h:99999"}), HasSubstr("out of range"));
  EXPECT_THAT(error_of({"--announce", "elsewhere=h:1"}), HasSubstr("not in cache.regions"));
}

TEST(ConfigTest, ValidationSettingsComeFromFileAndFlags) {
  const auto path = write_temp(R"(
[replication]
max-clock-offset = 250
sequence-window = 4096
replication-secret = "from the file"
)");
  auto c = parse({path, "--replication-secret", "from the flag"});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->cache.replication.max_clock_offset_ms, 250);
  EXPECT_EQ(c->cache.replication.sequence_window, 4096u);
  EXPECT_EQ(c->cache.replication.secret, "from the flag");
  std::remove(path.c_str());
  auto d = parse({});
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cache.replication.max_clock_offset_ms, 500);  // CockroachDB's default
  EXPECT_EQ(d->cache.replication.secret, "");
  EXPECT_THAT(error_of({"--max-clock-offset", "-1"}), HasSubstr("replication.max-clock-offset"));
  EXPECT_THAT(error_of({"--sequence-window", "0"}), HasSubstr("replication.sequence-window"));
}

TEST(ConfigTest, UnknownKeyInFileIsRejectedByName) {
  const auto path = write_temp("[server]\nprot = 1\n");
  EXPECT_THAT(error_of({path}), HasSubstr("server.prot: unknown setting"));
  std::remove(path.c_str());
}

TEST(ConfigTest, WrongTypeInFileIsRejectedByName) {
  const auto path = write_temp("[server]\nport = \"high\"\n");
  EXPECT_THAT(error_of({path}), HasSubstr("server.port: expected an integer"));
  std::remove(path.c_str());
}

TEST(ConfigTest, BadValuesAreRejectedWithTheirName) {
  EXPECT_THAT(error_of({"--port", "70000"}), HasSubstr("server.port"));
  EXPECT_THAT(error_of({"--maxmemory", "12parsecs"}), HasSubstr("cache.maxmemory"));
  EXPECT_THAT(error_of({"--shards", "3"}), HasSubstr("shards must be a power of two"));
  EXPECT_THAT(error_of({"--regions", "a,a"}), HasSubstr("'a' is listed twice"));
  EXPECT_THAT(error_of({"--amqp-url", "http://x"}), HasSubstr("amqp.url"));
  EXPECT_THAT(error_of({"--loglevel", "chatty"}), HasSubstr("server.loglevel"));
  EXPECT_THAT(error_of({"--io-engine", "kqueue"}), HasSubstr("server.io-engine: must be uring or epoll"));
  EXPECT_THAT(error_of({"--io-uring-entries", "0"}), HasSubstr("server.io-uring-entries"));
  EXPECT_THAT(error_of({"--no-such-flag", "1"}), HasSubstr("no-such-flag"));
}

TEST(ConfigTest, MalformedTomlNamesTheLine) {
  const auto path = write_temp("[server]\nport = = 1\n");
  EXPECT_THAT(error_of({path}), HasSubstr(":2:"));
  std::remove(path.c_str());
}

TEST(ConfigTest, ShippedConfigFilesLoad) {
  for (const char* file : {"/geocache.toml", "/examples/three-regions.toml"}) {
    SCOPED_TRACE(file);
    EXPECT_NO_THROW(load_config_file(std::string(GEOCACHE_SOURCE_DIR) + file));
  }
}

// The shipped file documents the defaults: loading it changes nothing.
TEST(ConfigTest, ShippedFileHoldsTheBuiltInDefaults) {
  const auto shipped = settings_text(load_config_file(std::string(GEOCACHE_SOURCE_DIR) + "/geocache.toml"));
  const auto defaults = settings_text(Config{});
  ASSERT_EQ(shipped.size(), defaults.size());
  for (size_t i = 0; i < defaults.size(); ++i) {
    EXPECT_EQ(shipped[i], defaults[i]) << "geocache.toml disagrees with the built-in default";
  }
}

// "section.key" -> {section, key}; keys have no '.'.
std::pair<std::string, std::string> split_name(const std::string& name) {
  const auto dot = name.find('.');
  return {name.substr(0, dot), name.substr(dot + 1)};
}

TEST(ConfigTest, EverySettingIsInTheShippedFile) {
  const toml::table doc = toml::parse_file(std::string(GEOCACHE_SOURCE_DIR) + "/geocache.toml");
  for (const auto& [name, value] : settings_text(Config{})) {
    const auto [section, key] = split_name(name);
    EXPECT_TRUE(doc[section][key]) << name << " is missing from geocache.toml";
  }
}

TEST(ConfigTest, HelpGivesEverySettingWithItsDefault) {
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"--help"}));
  std::string help = ::testing::internal::GetCapturedStdout();
  // CLI11 puts the text of a long flag on a line of its own; join the two.
  for (size_t at; (at = help.find("\n      ")) != std::string::npos;) {
    help.replace(at, help.find_first_not_of(' ', at + 1) - at, " ");
  }
  for (const auto& [name, value] : settings_text(Config{})) {
    const std::string flag = "--" + split_name(name).second;
    const auto at = help.find(flag + " ");
    ASSERT_NE(at, std::string::npos) << flag << " is missing from --help:\n" << help;
    const std::string line = help.substr(at, help.find('\n', at) - at);
    EXPECT_THAT(line, HasSubstr("(default " + (value.empty() ? "empty" : value) + ")"));
  }
}

// Sets an environment variable for one test's scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) { setenv(name, value, 1); }
  ~ScopedEnv() { unsetenv(name_); }

 private:
  const char* name_;
};

// Secrets can stay off the command line, where `ps` shows them to every
// user: the environment gives them, over the file and under a flag.
TEST(ConfigTest, SecretsComeFromTheEnvironmentOverTheFileAndUnderAFlag) {
  const auto path = write_temp("[server]\nrequirepass = \"from-file\"\n[amqp]\namqp-url = \"amqp://f:f@file:5672/\"\n");
  {
    ScopedEnv pass("GEOCACHE_REQUIREPASS", "from-env");
    ScopedEnv url("GEOCACHE_AMQP_URL", "amqp://geo:s3cret@env:5672/vhost");
    auto c = parse({path});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->server.requirepass, "from-env");
    EXPECT_EQ(c->amqp.url, "amqp://geo:s3cret@env:5672/vhost");
    c = parse({path, "--requirepass", "from-flag"});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->server.requirepass, "from-flag");
    EXPECT_EQ(c->amqp.url, "amqp://geo:s3cret@env:5672/vhost");
    // A bad value names the setting, as a flag's would.
    ScopedEnv bad_url("GEOCACHE_AMQP_URL", "http://nope");
    EXPECT_THAT(error_of({}), HasSubstr("amqp.url"));
  }
  {
    // Unset or empty: the file's value stays.
    ScopedEnv empty("GEOCACHE_REQUIREPASS", "");
    auto c = parse({path});
    ASSERT_TRUE(c);
    EXPECT_EQ(c->server.requirepass, "from-file");
    EXPECT_EQ(c->amqp.url, "amqp://f:f@file:5672/");
  }
  std::remove(path.c_str());
}

TEST(ConfigTest, HelpNamesTheEnvironmentVariablesAndThePrecedence) {
  ::testing::internal::CaptureStdout();
  EXPECT_FALSE(parse({"--help"}));
  const std::string help = ::testing::internal::GetCapturedStdout();
  EXPECT_THAT(help, HasSubstr("GEOCACHE_REQUIREPASS"));
  EXPECT_THAT(help, HasSubstr("GEOCACHE_AMQP_URL"));
  EXPECT_THAT(help, HasSubstr("a flag overrides the environment, which overrides the file"));
}

TEST(ConfigTest, MemoryUnitsFollowRedis) {
  EXPECT_EQ(parse_memory("4096"), 4096u);
  EXPECT_EQ(parse_memory("1k"), 1000u);
  EXPECT_EQ(parse_memory("1kb"), 1024u);
  EXPECT_EQ(parse_memory("2GB"), 2ull << 30);
  EXPECT_THROW(parse_memory("-1"), std::invalid_argument);
  EXPECT_THROW(parse_memory("99999999999999999999gb"), std::invalid_argument);
}

}  // namespace
}  // namespace geocache
