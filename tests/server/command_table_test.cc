// CommandTable: one table, case-insensitive lookup, and the checks dispatch
// makes before a handler runs (Redis' wording for each refusal).
#include "server/command_table.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "server/client_session.h"
#include "server/server_state.h"

namespace geocache {
namespace {

class CommandTableTest : public ::testing::Test {
 protected:
  explicit CommandTableTest(std::string password = "") : state_(make_config(password)) {
    cache_ = std::make_unique<GeoCache>(GeoCacheOptions{}, make_in_process_transport({}));
    session_.authenticated = password.empty();
  }

  static Config make_config(const std::string& password) {
    Config c;
    c.server.requirepass = password;
    return c;
  }

  std::string run(std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyWriter writer(&out);
    CommandContext ctx{*cache_, cache_->home_region(), writer, state_, session_};
    CommandTable::instance().dispatch(ctx, views);
    return out;
  }

  ServerState state_;
  std::unique_ptr<GeoCache> cache_;
  ClientSession session_;
};

TEST_F(CommandTableTest, FindsNamesInAnyCase) {
  const CommandTable& t = CommandTable::instance();
  ASSERT_NE(t.find("ping"), nullptr);
  EXPECT_EQ(t.find("PiNg"), t.find("ping"));
  EXPECT_EQ(t.find("pingx"), nullptr);
  EXPECT_EQ(t.find(""), nullptr);
  for (const CommandSpec& spec : t.all()) EXPECT_EQ(t.find(spec.name), &spec);
}

TEST_F(CommandTableTest, UnknownCommandQuotesItsArguments) {
  EXPECT_EQ(run({"foo", "a", "b"}), "-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n");
  EXPECT_EQ(run({"foo"}), "-ERR unknown command 'foo', with args beginning with: \r\n");
}

TEST_F(CommandTableTest, ChecksArityFromTheTable) {
  EXPECT_EQ(run({"ECHO"}), "-ERR wrong number of arguments for 'echo' command\r\n");
  EXPECT_EQ(run({"ECHO", "a", "b"}), "-ERR wrong number of arguments for 'echo' command\r\n");
  EXPECT_EQ(run({"ECHO", "a"}), "$1\r\na\r\n");
}

TEST_F(CommandTableTest, CommandCountIsTheTableSize) {
  EXPECT_EQ(run({"COMMAND", "COUNT"}), ":" + std::to_string(CommandTable::instance().all().size()) + "\r\n");
}

class AuthTableTest : public CommandTableTest {
 protected:
  AuthTableTest() : CommandTableTest("secret") {}
};

TEST_F(AuthTableTest, RefusesCommandsBeforeAuth) {
  EXPECT_EQ(run({"PING"}), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(run({"AUTH", "wrong"}), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(run({"AUTH", "secret"}), "+OK\r\n");
  EXPECT_EQ(run({"PING"}), "+PONG\r\n");
}

}  // namespace
}  // namespace geocache
