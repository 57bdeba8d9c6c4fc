// MULTI/EXEC/DISCARD/WATCH/UNWATCH through the server's dispatch, with a
// second client (another session) where one is needed. Reply bytes are what
// redis-server 7 sends.
#include <gtest/gtest.h>

#include "server/client_session.h"
#include "command_fixture.h"

namespace geocache::testing {
namespace {

class TransactionCommandsTest : public CommandFixture {
 protected:
  TransactionCommandsTest() {
    other_.authenticated = true;
    server_.register_client(&other_);
  }
  ~TransactionCommandsTest() override { server_.unregister_client(&other_); }

  // Runs a command as a second client, in region r1.
  std::string other(std::vector<std::string> args) {
    std::vector<std::string_view> views(args.begin(), args.end());
    std::string out;
    ReplyWriter writer(&out);
    CommandContext ctx{*cache_, kR1, writer, server_, other_};
    CommandTable::instance().dispatch(ctx, views);
    return out;
  }

  ClientSession other_;
};

TEST_F(TransactionCommandsTest, QueuedCommandsRunOnlyAtExec) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "k", "v"}), simple("QUEUED"));
  EXPECT_EQ(run({"INCR", "n"}), simple("QUEUED"));
  // Nothing ran yet: another client sees neither write.
  EXPECT_EQ(other({"GET", "k"}), nil());
  EXPECT_EQ(other({"GET", "n"}), nil());
  EXPECT_EQ(run({"EXEC"}), "*2\r\n+OK\r\n:1\r\n");
  EXPECT_EQ(other({"GET", "k"}), bulk("v"));
  EXPECT_EQ(other({"GET", "n"}), bulk("1"));
}

// A command that would wait outside a transaction (GEO.WAIT on a point not
// reached) answers at once inside one: EXEC holds every client off.
TEST_F(TransactionCommandsTest, GeoWaitInsideATransactionAnswersAtOnce) {
  partition();  // r2's writes do not reach r1
  run_in(kR2, {"SET", "k", "v"});
  std::string token = run_in(kR2, {"GEO.TOKEN"});
  token = token.substr(token.find("\r\n") + 2);
  token.resize(token.size() - 2);
  EXPECT_EQ(run({"MULTI"}), simple("OK"));
  EXPECT_EQ(run({"GEO.WAIT", token, "60000"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*1\r\n" + integer(0));
  EXPECT_FALSE(session_.wait.has_value());
  quiesce();
  EXPECT_EQ(run({"GEO.WAIT", token, "60000"}), integer(1));
}

TEST_F(TransactionCommandsTest, ExecOfAnEmptyTransactionIsAnEmptyArray) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EXEC"}), "*0\r\n");
}

TEST_F(TransactionCommandsTest, RuntimeErrorsAreRepliesAndTheRestRuns) {
  EXPECT_EQ(run({"SET", "s", "text"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"INCR", "s"}), simple("QUEUED"));
  EXPECT_EQ(run({"SET", "t", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*2\r\n" + err(errors::kNotInteger) + ok());
  EXPECT_EQ(run({"GET", "t"}), bulk("1"));
}

TEST_F(TransactionCommandsTest, QueueingErrorAbortsTheWholeTransaction) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "a", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"NOSUCHCOMMAND"}), err("ERR unknown command 'NOSUCHCOMMAND', with args beginning with: "));
  EXPECT_EQ(run({"GET"}), err("ERR wrong number of arguments for 'get' command"));
  EXPECT_EQ(run({"EXEC"}), err(errors::kExecAbort));
  EXPECT_EQ(run({"GET", "a"}), nil());
  // Out of the transaction again.
  EXPECT_EQ(run({"EXEC"}), err(errors::kExecWithoutMulti));
}

TEST_F(TransactionCommandsTest, CommandNotAllowedInMultiAbortsIt) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SHUTDOWN"}), err(errors::kNotInMulti));
  EXPECT_EQ(run({"EXEC"}), err(errors::kExecAbort));
}

TEST_F(TransactionCommandsTest, NestedMultiAndWatchInsideAreErrorsThatDoNotAbort) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"MULTI"}), err(errors::kMultiNested));
  EXPECT_EQ(run({"WATCH", "x"}), err(errors::kWatchInMulti));
  EXPECT_EQ(run({"SET", "x", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionCommandsTest, WithoutMulti) {
  EXPECT_EQ(run({"EXEC"}), err(errors::kExecWithoutMulti));
  EXPECT_EQ(run({"DISCARD"}), err(errors::kDiscardWithoutMulti));
}

TEST_F(TransactionCommandsTest, DiscardDropsTheQueueAndTheWatches) {
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "d", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"DISCARD"}), ok());
  EXPECT_EQ(run({"GET", "d"}), nil());
  EXPECT_EQ(other({"SET", "w", "changed"}), ok());
  // The watch went with DISCARD.
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "d", "2"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionCommandsTest, ResetLeavesMultiAndUnwatches) {
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "r", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"RESET"}), simple("RESET"));
  EXPECT_EQ(run({"EXEC"}), err(errors::kExecWithoutMulti));
  EXPECT_EQ(other({"SET", "w", "changed"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EXEC"}), "*0\r\n");
  EXPECT_EQ(run({"GET", "r"}), nil());
}

TEST_F(TransactionCommandsTest, WatchedKeyWrittenByAnotherClientAbortsExec) {
  EXPECT_EQ(run({"SET", "w", "1"}), ok());
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(other({"INCR", "w"}), integer(2));
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "w", "10"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*-1\r\n");
  EXPECT_EQ(run({"GET", "w"}), bulk("2"));
  // EXEC unwatched: the next transaction runs.
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "w", "10"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionCommandsTest, AbortedExecIsANullInResp3) {
  use_resp3();
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(other({"SET", "w", "x"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EXEC"}), "_\r\n");
}

TEST_F(TransactionCommandsTest, WatchedKeyWrittenByItsOwnClientAbortsExec) {
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(run({"SET", "w", "mine"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionCommandsTest, WatchedKeyUntouchedLetsExecRun) {
  EXPECT_EQ(run({"WATCH", "w", "absent"}), ok());
  EXPECT_EQ(other({"SET", "unrelated", "x"}), ok());
  EXPECT_EQ(other({"GET", "w"}), nil());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "w", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*1\r\n+OK\r\n");
}

TEST_F(TransactionCommandsTest, UnwatchForgetsTheKeys) {
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(other({"SET", "w", "x"}), ok());
  EXPECT_EQ(run({"UNWATCH"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EXEC"}), "*0\r\n");
}

TEST_F(TransactionCommandsTest, WatchedKeyWrittenByReplicationAbortsExec) {
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  // A write in the other region reaches r1 by replication.
  EXPECT_EQ(run_in(kR2, {"SET", "w", "from-r2"}), ok());
  quiesce();
  EXPECT_EQ(other({"GET", "w"}), bulk("from-r2"));
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "w", "from-r1"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionCommandsTest, WatchedKeyFlushedAbortsExec) {
  EXPECT_EQ(run({"SET", "w", "1"}), ok());
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  EXPECT_EQ(other({"FLUSHALL"}), ok());
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionCommandsTest, WatchedKeyExpiringAbortsExec) {
  EXPECT_EQ(run({"SET", "w", "1", "PX", "100"}), ok());
  EXPECT_EQ(run({"WATCH", "w"}), ok());
  clock_.advance_ms(200);
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "other", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*-1\r\n");
}

TEST_F(TransactionCommandsTest, TransactionWritesReachTheOtherRegion) {
  EXPECT_EQ(run({"MULTI"}), ok());
  EXPECT_EQ(run({"SET", "a", "1"}), simple("QUEUED"));
  EXPECT_EQ(run({"SET", "b", "2"}), simple("QUEUED"));
  EXPECT_EQ(run({"DEL", "c"}), simple("QUEUED"));
  EXPECT_EQ(run({"EXEC"}), "*3\r\n+OK\r\n+OK\r\n:0\r\n");
  quiesce();
  EXPECT_EQ(run_in(kR2, {"MGET", "a", "b"}), bulks({"1", "2"}));
}

TEST_F(TransactionCommandsTest, CommandInfoShowsTheFlags) {
  const std::string info = run({"COMMAND", "INFO", "exec"});
  EXPECT_NE(info.find("noscript"), std::string::npos) << info;
}

}  // namespace
}  // namespace geocache::testing
