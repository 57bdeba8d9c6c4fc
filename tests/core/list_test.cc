// Lists (core/list.h): the encoded list, the ops a list write replicates,
// and what a receiver refuses.
#include "core/list.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/record.h"

namespace geocache {
namespace {

using Elements = std::vector<std::string_view>;

Version ver(uint64_t hlc, RegionId region = 1) { return Version{hlc, region}; }

std::vector<std::string> elements_of(std::string_view list) {
  std::vector<std::string> out;
  for (std::string_view e : ListView(list).elements()) out.emplace_back(e);
  return out;
}

std::vector<std::string> after(std::vector<std::string_view> start, const ListOps& ops) {
  const std::string bytes = ops.encode(ver(1));
  EXPECT_TRUE(validate_list_ops(bytes, ver(2)).ok());
  return elements_of(apply_list_ops(encode_list(start), bytes));
}

using Strings = std::vector<std::string>;

TEST(ListTest, EncodedListReadsBackWithRangesAndIndexes) {
  const std::string bytes = encode_list({"a", "", "ccc"});
  ASSERT_TRUE(validate_list(bytes).ok());
  const ListView list(bytes);
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.at(2), "ccc");
  EXPECT_EQ(list.range(1, 99), (Elements{"", "ccc"}));
  EXPECT_TRUE(list.range(2, 1).empty());
  EXPECT_TRUE(validate_list(encode_list({})).ok());
}

TEST(ListTest, OpsChangeTheListAsTheCommandsDo) {
  ListOps push;
  push.push_head({"x", "y"});
  push.push_tail({"z"});
  EXPECT_EQ(after({"a"}, push), (Strings{"x", "y", "a", "z"}));

  ListOps pop;
  pop.pop_head(1);
  pop.pop_tail(5);  // more than there are: all of them
  EXPECT_EQ(after({"a", "b", "c"}, pop), Strings{});

  ListOps set_trim;
  set_trim.set(1, "B");
  set_trim.trim(1, 2);
  EXPECT_EQ(after({"a", "b", "c", "d"}, set_trim), (Strings{"B", "c"}));

  ListOps insert;
  insert.insert(/*after=*/true, "b", "after-b");
  insert.insert(/*after=*/false, "b", "before-b");
  insert.insert(false, "missing", "never");
  EXPECT_EQ(after({"a", "b", "b"}, insert), (Strings{"a", "before-b", "b", "after-b", "b"}));
}

TEST(ListTest, RemoveCountsFromTheHeadTheTailOrTakesAll) {
  const Elements list = {"v", "a", "v", "b", "v"};
  ListOps head, tail, all, min;
  head.remove(2, "v");
  tail.remove(-2, "v");
  all.remove(0, "v");
  min.remove(INT64_MIN, "v");
  EXPECT_EQ(after(list, head), (Strings{"a", "b", "v"}));
  EXPECT_EQ(after(list, tail), (Strings{"v", "a", "b"}));
  EXPECT_EQ(after(list, all), (Strings{"a", "b"}));
  EXPECT_EQ(after(list, min), (Strings{"a", "b"}));
}

TEST(ListTest, OpsCarryThePreviousVersionAndCostNothingLikeTheList) {
  ListOps push;
  push.push_head({"x"});
  std::string bytes = push.encode(Version{});
  set_list_op_prev(&bytes, ver(7, 3));
  EXPECT_EQ(*list_op_prev(bytes), ver(7, 3));
  EXPECT_LT(bytes.size(), 20u);  // whatever the list it applies to
  EXPECT_FALSE(list_piece_offset(bytes, ver(8, 3)).has_value());
}

TEST(ListTest, ForgedOrMalformedListRecordsAreRefused) {
  ListOps push;
  push.push_tail({"x"});
  // Ops claiming to follow a newer state than their own version.
  EXPECT_FALSE((Record{ValueKind::kListOp, push.encode(ver(9)), kNoExpiry, ver(5)}).well_formed().ok());
  EXPECT_TRUE((Record{ValueKind::kListOp, push.encode(ver(4)), kNoExpiry, ver(5)}).well_formed().ok());
  // A snapshot piece is one append at its own version; nothing else is.
  EXPECT_FALSE((Record{ValueKind::kListOp, push.encode(ver(5)), kNoExpiry, ver(5)}).well_formed().ok());
  const std::string piece = ListOps::encode_piece(ver(5), 2, {"c"});
  EXPECT_TRUE((Record{ValueKind::kListOp, piece, kNoExpiry, ver(5)}).well_formed().ok());
  EXPECT_EQ(list_piece_offset(piece, ver(5)), 2u);
  EXPECT_FALSE((Record{ValueKind::kListOp, piece, kNoExpiry, ver(6)}).well_formed().ok());
  // Truncated, trailing, lying counts, unknown op codes.
  std::string ops = push.encode(ver(4));
  for (size_t cut = 0; cut < ops.size(); ++cut) {
    EXPECT_FALSE((Record{ValueKind::kListOp, ops.substr(0, cut), kNoExpiry, ver(5)}).well_formed().ok()) << cut;
  }
  EXPECT_FALSE((Record{ValueKind::kListOp, ops + "x", kNoExpiry, ver(5)}).well_formed().ok());
  ops[12 + 1] = 42;  // the first op's code
  EXPECT_FALSE((Record{ValueKind::kListOp, ops, kNoExpiry, ver(5)}).well_formed().ok());
  const std::string list = encode_list({"a", "b"});
  EXPECT_TRUE((Record{ValueKind::kList, list, kNoExpiry, ver(5)}).well_formed().ok());
  for (size_t cut = 0; cut < list.size(); ++cut) {
    EXPECT_FALSE((Record{ValueKind::kList, list.substr(0, cut), kNoExpiry, ver(5)}).well_formed().ok()) << cut;
  }
  EXPECT_FALSE((Record{ValueKind::kList, list + "z", kNoExpiry, ver(5)}).well_formed().ok());
  std::string lying = list;
  lying[0] = 100;  // claims 100 elements
  EXPECT_FALSE((Record{ValueKind::kList, lying, kNoExpiry, ver(5)}).well_formed().ok());
}

// Every op against a plain model of the list, on random lists and
// arguments (the store splices bytes for most ops: this checks the offsets).
TEST(ListTest, OpsAgreeWithAModelOnRandomLists) {
  std::mt19937_64 rng(7);
  auto pick = [&](uint64_t n) { return n == 0 ? 0 : rng() % n; };
  for (int round = 0; round < 2000; ++round) {
    std::vector<std::string> model;
    for (uint64_t i = pick(12); i > 0; --i) model.push_back(std::string(pick(200), static_cast<char>('a' + pick(3))));
    const std::string list = encode_list(std::vector<std::string_view>(model.begin(), model.end()));
    const uint64_t size = model.size();
    ListOps ops;
    const std::string value(pick(150), 'v');
    switch (pick(6)) {
      case 0:
        ops.push_head({value, "x"});
        model.insert(model.begin(), {value, "x"});
        break;
      case 1:
        ops.push_tail({value});
        model.push_back(value);
        break;
      case 2: {
        const uint64_t n = pick(size + 2);
        ops.pop_head(n);
        model.erase(model.begin(), model.begin() + static_cast<long>(std::min(n, size)));
        break;
      }
      case 3: {
        const uint64_t n = pick(size + 2);
        ops.pop_tail(n);
        model.erase(model.end() - static_cast<long>(std::min(n, size)), model.end());
        break;
      }
      case 4: {
        const uint64_t i = pick(size + 1);
        ops.set(i, value);
        if (i < size) model[i] = value;
        break;
      }
      default: {
        const uint64_t from = pick(size + 2), count = pick(size + 2);
        ops.trim(from, count);
        const uint64_t b = std::min(from, size), e = b + std::min(count, size - b);
        model = std::vector<std::string>(model.begin() + static_cast<long>(b), model.begin() + static_cast<long>(e));
        break;
      }
    }
    const std::string bytes = apply_list_ops(list, ops.encode(ver(1)));
    ASSERT_TRUE(validate_list(bytes).ok()) << round;
    ASSERT_EQ(elements_of(bytes), model) << round;
  }
}

TEST(ListTest, ListRecordReadsAsAValueList) {
  auto v = Record{ValueKind::kList, encode_list({"a", "b"}), kNoExpiry, ver(1)}.to_value();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, Value(Value::List{Value("a"), Value("b")}));
}

}  // namespace
}  // namespace geocache
