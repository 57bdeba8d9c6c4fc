#include "core/score_index.h"

#include <gtest/gtest.h>

#include <iterator>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace geocache {
namespace {

using Ref = std::set<std::pair<double, std::string>>;

// The index read forward and backward, checked against the reference order.
void expect_same(const ScoreIndex& index, const Ref& ref) {
  ASSERT_EQ(index.size(), ref.size());
  size_t rank = 0;
  const ScoreIndex::Node* last = nullptr;
  for (const ScoreIndex::Node* n = index.at(0); n != nullptr; n = ScoreIndex::next(n), ++rank) {
    const auto& want = *std::next(ref.begin(), static_cast<long>(rank));
    EXPECT_EQ(ScoreIndex::score(n), want.first);
    EXPECT_EQ(ScoreIndex::member(n), want.second);
    last = n;
  }
  EXPECT_EQ(rank, ref.size());
  size_t back = 0;
  for (const ScoreIndex::Node* n = last; n != nullptr; n = ScoreIndex::prev(n)) ++back;
  EXPECT_EQ(back, ref.size());
}

TEST(ScoreIndexTest, OrdersByScoreThenMember) {
  ScoreIndex index;
  index.insert(2, "b");
  index.insert(1, "z");
  index.insert(2, "a");
  expect_same(index, {{1, "z"}, {2, "a"}, {2, "b"}});
  EXPECT_EQ(index.rank(2, "a"), 1u);
  EXPECT_EQ(ScoreIndex::member(index.at(2)), "b");
  EXPECT_EQ(index.at(3), nullptr);
}

TEST(ScoreIndexTest, EraseTakesOnlyTheExactElement) {
  ScoreIndex index;
  index.insert(1, "a");
  EXPECT_FALSE(index.erase(2, "a"));
  EXPECT_FALSE(index.erase(1, "b"));
  EXPECT_TRUE(index.erase(1, "a"));
  EXPECT_EQ(index.size(), 0u);
  EXPECT_EQ(index.at(0), nullptr);
}

TEST(ScoreIndexTest, CountBeforeIsALowerBound) {
  ScoreIndex index;
  for (int i = 0; i < 100; ++i) index.insert(i / 10, "m" + std::to_string(i));
  EXPECT_EQ(index.count_before([](double s, std::string_view) { return s < 3; }), 30u);
  EXPECT_EQ(index.count_before([](double s, std::string_view) { return s <= 3; }), 40u);
  EXPECT_EQ(index.count_before([](double, std::string_view) { return true; }), 100u);
  EXPECT_EQ(index.count_before([](double, std::string_view) { return false; }), 0u);
}

// Random inserts and erases agree with std::set on order and ranks, and a
// copy is an equal, independent index.
TEST(ScoreIndexTest, AgreesWithAnOrderedSetUnderRandomChanges) {
  std::mt19937 rng(11);
  ScoreIndex index;
  Ref ref;
  for (int step = 0; step < 20000; ++step) {
    const double score = static_cast<double>(rng() % 50);
    const std::string member = "m" + std::to_string(rng() % 500);
    if (ref.count({score, member}) != 0) {
      EXPECT_TRUE(index.erase(score, member));
      ref.erase({score, member});
    } else {
      index.insert(score, member);
      ref.insert({score, member});
    }
    if (step % 1000 == 0 && !ref.empty()) {
      const size_t r = rng() % ref.size();
      const auto& want = *std::next(ref.begin(), static_cast<long>(r));
      EXPECT_EQ(index.rank(want.first, want.second), r);
      EXPECT_EQ(ScoreIndex::member(index.at(r)), want.second);
    }
  }
  expect_same(index, ref);
  ScoreIndex copy = index;
  index.insert(-1, "new");
  expect_same(copy, ref);
  ScoreIndex moved = std::move(copy);
  expect_same(moved, ref);
}

}  // namespace
}  // namespace geocache
