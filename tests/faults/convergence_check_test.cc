// The convergence check's verdicts on histories written by hand: what it
// must call a lost write, and what concurrency, unanswered writes and
// crashes allow. Times are in µs.
#include "convergence_check.h"

#include <gtest/gtest.h>

namespace geocache::testing {
namespace {

Write set(const std::string& region, const std::string& key, const std::string& value, int64_t sent, int64_t done) {
  Write w;
  w.op = Write::Op::kSet;
  w.region = region;
  w.key = key;
  w.value = value;
  w.sent_us = sent;
  w.done_us = done;
  w.acked = true;
  return w;
}
Write set_ex(const std::string& region, const std::string& key, const std::string& value, int64_t ttl_ms, int64_t sent,
             int64_t done) {
  Write w = set(region, key, value, sent, done);
  w.op = Write::Op::kSetEx;
  w.ttl_ms = ttl_ms;
  return w;
}
Write del(const std::string& region, const std::string& key, int64_t sent, int64_t done) {
  Write w = set(region, key, "", sent, done);
  w.op = Write::Op::kDel;
  w.reply = 1;
  return w;
}
Write hset(const std::string& region, const std::string& key, const std::string& field, const std::string& value,
           int64_t sent, int64_t done) {
  Write w = set(region, key, value, sent, done);
  w.op = Write::Op::kHset;
  w.field = field;
  return w;
}
Write unanswered(Write w) {
  w.acked = false;
  return w;
}

KeyView value(const std::string& v, int64_t expiry_us = -1) {
  KeyView view;
  view.exists = true;
  view.value = v;
  view.expiry_us = expiry_us;
  return view;
}
KeyView hash(std::map<std::string, std::string> fields) {
  KeyView view;
  view.exists = true;
  view.fields = std::move(fields);
  return view;
}
const KeyView kAbsent;

Verdict check(const std::vector<Write>& history, const KeyView& found, CheckOptions options = {}) {
  return check_history(history, {{history.front().key, found}}, options);
}

TEST(ConvergenceCheck, AWriteSentAfterAnotherWasAcknowledgedMustWin) {
  const std::vector<Write> h = {set("east", "s:1", "old", 1'000, 2'000), set("west", "s:1", "new", 10'000, 11'000)};
  EXPECT_TRUE(check(h, value("new")).lost.empty());
  const Verdict v = check(h, value("old"));
  ASSERT_EQ(v.lost.size(), 1u) << v.summary();
  EXPECT_EQ(v.lost[0].key, "s:1");
  ASSERT_EQ(v.lost[0].candidates.size(), 1u);
  EXPECT_EQ(v.lost[0].candidates[0].value, "new");
  EXPECT_EQ(check(h, kAbsent).lost.size(), 1u);
}

TEST(ConvergenceCheck, ConcurrentWritesMayEitherWin) {
  // west's write was sent before east's reply came: either order is right.
  const std::vector<Write> h = {set("east", "s:1", "a", 1'000, 5'000), set("west", "s:1", "b", 4'000, 9'000)};
  EXPECT_TRUE(check(h, value("a")).lost.empty());
  EXPECT_TRUE(check(h, value("b")).lost.empty());
  EXPECT_EQ(check(h, value("c")).lost.size(), 1u);
}

TEST(ConvergenceCheck, WritesWithinTheMarginOfEachOtherAreConcurrent) {
  // Versions have millisecond grain: 1 ms apart is not an order.
  const std::vector<Write> h = {set("east", "s:1", "a", 1'000, 2'000), set("west", "s:1", "b", 3'000, 4'000)};
  EXPECT_TRUE(check(h, value("a")).lost.empty());
  CheckOptions strict;
  strict.order_margin_us = 0;
  EXPECT_EQ(check(h, value("a"), strict).lost.size(), 1u);
}

TEST(ConvergenceCheck, AnAcknowledgedDeleteMustWin) {
  const std::vector<Write> h = {set("east", "s:1", "v", 1'000, 2'000), del("west", "s:1", 10'000, 11'000)};
  EXPECT_TRUE(check(h, kAbsent).lost.empty());
  EXPECT_EQ(check(h, value("v")).lost.size(), 1u);
}

TEST(ConvergenceCheck, ADeleteThatFoundNothingLocallyMustWinUnlessToldOtherwise) {
  // west had not received east's SET yet: its DEL answered 0.
  Write miss = del("west", "s:1", 10'000, 11'000);
  miss.reply = 0;
  const std::vector<Write> h = {set("east", "s:1", "v", 1'000, 2'000), miss};
  EXPECT_EQ(check(h, value("v")).lost.size(), 1u);
  CheckOptions before_fix;
  before_fix.deletes_of_absent_keys_win = false;
  EXPECT_TRUE(check(h, value("v"), before_fix).lost.empty());
  EXPECT_TRUE(check(h, kAbsent, before_fix).lost.empty());
  // A DEL that removed something is held to the rule either way.
  Write hit = miss;
  hit.reply = 1;
  EXPECT_EQ(check({h[0], hit}, value("v"), before_fix).lost.size(), 1u);
}

TEST(ConvergenceCheck, AnUnansweredWriteMayOrMayNotHaveHappened) {
  const std::vector<Write> h = {set("east", "s:1", "a", 1'000, 2'000),
                                unanswered(set("east", "s:1", "b", 10'000, 11'000))};
  EXPECT_TRUE(check(h, value("a")).lost.empty());
  EXPECT_TRUE(check(h, value("b")).lost.empty());
  EXPECT_EQ(check(h, kAbsent).lost.size(), 1u);
  // Alone, it allows the key never to have existed.
  EXPECT_TRUE(check({h[1]}, kAbsent).lost.empty());
}

TEST(ConvergenceCheck, AnExpiryMustMatchTheTtlAskedFor) {
  const int64_t ttl_ms = 60'000;
  const std::vector<Write> h = {set_ex("east", "s:1", "v", ttl_ms, 1'000'000, 1'001'000)};
  EXPECT_TRUE(check(h, value("v", 1'000'500 + ttl_ms * 1000)).lost.empty());
  // A TTL stretched by ten minutes (a clock ten minutes ahead) is wrong.
  EXPECT_EQ(check(h, value("v", 1'000'500 + (ttl_ms + 600'000) * 1000)).lost.size(), 1u);
  // So is no TTL at all, and a plain SET's value with one.
  EXPECT_EQ(check(h, value("v")).lost.size(), 1u);
  EXPECT_EQ(check({set("east", "s:1", "v", 1'000, 2'000)}, value("v", 90'000'000)).lost.size(), 1u);
}

TEST(ConvergenceCheck, AHashHoldsTheFoldOfItsWrites) {
  const std::vector<Write> h = {hset("east", "h:east:1", "f0", "a", 1'000, 2'000),
                                hset("east", "h:east:1", "f1", "b", 3'000, 4'000),
                                hset("east", "h:east:1", "f0", "c", 5'000, 6'000)};
  EXPECT_TRUE(check(h, hash({{"f0", "c"}, {"f1", "b"}})).lost.empty());
  EXPECT_EQ(check(h, hash({{"f0", "c"}})).lost.size(), 1u);
  EXPECT_EQ(check(h, hash({{"f0", "a"}, {"f1", "b"}})).lost.size(), 1u);
  EXPECT_EQ(check(h, kAbsent).lost.size(), 1u);
  // A delete in the middle empties it.
  std::vector<Write> with_del = h;
  with_del.insert(with_del.begin() + 2, del("east", "h:east:1", 4'500, 4'600));
  EXPECT_TRUE(check(with_del, hash({{"f0", "c"}})).lost.empty());
  // An unanswered field write may be there or not.
  std::vector<Write> maybe = h;
  maybe[1] = unanswered(maybe[1]);
  EXPECT_TRUE(check(maybe, hash({{"f0", "c"}, {"f1", "b"}})).lost.empty());
  EXPECT_TRUE(check(maybe, hash({{"f0", "c"}})).lost.empty());
}

TEST(ConvergenceCheck, WritesAKilledNodeHadNotPublishedAreReportedApart) {
  const std::vector<Write> h = {set("west", "s:1", "old", 1'000, 2'000), set("east", "s:1", "last", 10'000, 11'000)};
  CheckOptions options;
  options.crashes = {{"east", 50'000}};  // east killed 39 ms after acknowledging "last"
  const Verdict v = check(h, value("old"), options);
  EXPECT_TRUE(v.lost.empty()) << v.summary();
  EXPECT_EQ(v.lost_in_crash.size(), 1u);
  // Another region's crash, or one long after, does not explain it.
  options.crashes = {{"west", 50'000}};
  EXPECT_EQ(check(h, value("old"), options).lost.size(), 1u);
  options.crashes = {{"east", 11'000 + options.crash_exposure_us + 1}};
  EXPECT_EQ(check(h, value("old"), options).lost.size(), 1u);
}

TEST(ConvergenceCheck, RegionsDisagreeOnValuesAndOnExpiriesBeyondTheTolerance) {
  Snapshot s;
  s["east"]["s:1"] = value("a", 10'000'000);
  s["west"]["s:1"] = value("a", 10'400'000);
  s["east"]["s:2"] = value("b");
  s["west"]["s:2"] = value("b");
  EXPECT_TRUE(disagreements(s, 500'000).empty());
  EXPECT_EQ(disagreements(s, 300'000), std::vector<std::string>{"s:1"});
  s["west"]["s:2"] = kAbsent;
  EXPECT_EQ(disagreements(s, 500'000), std::vector<std::string>{"s:2"});
  s["west"].erase("s:2");  // not read there counts as absent
  EXPECT_EQ(disagreements(s, 500'000), std::vector<std::string>{"s:2"});
}

}  // namespace
}  // namespace geocache::testing
