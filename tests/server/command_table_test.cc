// CommandTable: one table, case-insensitive lookup, and the checks dispatch
// makes before a handler runs (Redis' wording for each refusal).
#include "server/command_table.h"

#include <gtest/gtest.h>

#include <string>

#include "command_fixture.h"

namespace geocache::testing {
namespace {

class CommandTableTest : public CommandFixture {};

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

class AuthTableTest : public CommandFixture {
 protected:
  AuthTableTest() : CommandFixture(with_password("secret")) {}
  static Config with_password(const std::string& password) {
    Config c;
    c.server.requirepass = password;
    return c;
  }
};

TEST_F(AuthTableTest, RefusesCommandsBeforeAuth) {
  EXPECT_EQ(run({"PING"}), "-NOAUTH Authentication required.\r\n");
  EXPECT_EQ(run({"AUTH", "wrong"}), "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(run({"AUTH", "secret"}), "+OK\r\n");
  EXPECT_EQ(run({"PING"}), "+PONG\r\n");
}

}  // namespace
}  // namespace geocache::testing
