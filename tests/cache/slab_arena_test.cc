#include "cache/detail/slab_arena.h"

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace geocache::detail {
namespace {

TEST(SlabArenaTest, BlockSizesRoundUpByAtMostOneStep) {
  for (size_t n = 1; n <= SlabArena::kMaxSmall; ++n) {
    const size_t b = SlabArena::block_size(n);
    ASSERT_GE(b, n);
    ASSERT_EQ(b % 8, 0u) << n;
    // 8-byte steps up to 256 bytes, then at most 12.5% over.
    if (n <= 256) ASSERT_LT(b - n, 8u) << n;
    else ASSERT_LE(b - n, n / 8 + 1) << n;
  }
  EXPECT_EQ(SlabArena::block_size(80), 80u);
  EXPECT_EQ(SlabArena::block_size(SlabArena::kMaxSmall + 1), SlabArena::kMaxSmall + 1);
}

TEST(SlabArenaTest, BlocksKeepTheirContentsWhileOthersComeAndGo) {
  SlabArena arena;
  std::mt19937 rng(7);
  std::map<uint32_t, std::string> live;
  for (int i = 0; i < 20000; ++i) {
    if (!live.empty() && rng() % 3 == 0) {
      auto it = live.begin();
      std::advance(it, rng() % live.size());
      ASSERT_EQ(std::memcmp(arena.at(it->first), it->second.data(), it->second.size()), 0);
      arena.release(it->first, it->second.size());
      live.erase(it);
    } else {
      // Mostly small, some large (malloc'd) blocks.
      const size_t size = rng() % 10 == 0 ? 4000 + rng() % 8000 : 1 + rng() % 600;
      std::string content(size, static_cast<char>('a' + i % 26));
      const uint32_t h = arena.allocate(size);
      ASSERT_EQ(live.count(h), 0u) << "handle handed out twice";
      std::memcpy(arena.at(h), content.data(), size);
      live[h] = std::move(content);
    }
  }
  for (const auto& [h, content] : live) {
    ASSERT_EQ(std::memcmp(arena.at(h), content.data(), content.size()), 0);
  }
}

TEST(SlabArenaTest, EmptiedPagesServeOtherSizeClasses) {
  SlabArena arena;
  std::vector<uint32_t> small;
  for (int i = 0; i < 10000; ++i) small.push_back(arena.allocate(64));
  const size_t peak = arena.footprint();
  for (uint32_t h : small) arena.release(h, 64);
  // The same bytes in another size class fit in the pages the first class gave back.
  std::vector<uint32_t> other;
  for (int i = 0; i < 10000 * 64 / 200; ++i) other.push_back(arena.allocate(200));
  EXPECT_LE(arena.footprint(), peak);
  for (uint32_t h : other) arena.release(h, 200);
}

TEST(SlabArenaTest, LargeBlocksAreReturnedToTheSystem) {
  SlabArena arena;
  const uint32_t h = arena.allocate(1 << 20);
  EXPECT_GE(arena.footprint(), size_t{1} << 20);
  arena.release(h, 1 << 20);
  EXPECT_EQ(arena.footprint(), 0u);
}

TEST(SlabArenaTest, BlocksAreDistinctAlignedAndDisjointAcrossClasses) {
  SlabArena arena;
  std::vector<std::pair<uint32_t, size_t>> blocks;
  std::set<uint32_t> handles;
  for (size_t size : {8, 24, 80, 255, 256, 257, 1000, 4096, 4097, 20000}) {
    for (int i = 0; i < 50; ++i) {
      const uint32_t h = arena.allocate(size);
      ASSERT_NE(h, SlabArena::kNil);
      ASSERT_TRUE(handles.insert(h).second);
      ASSERT_EQ(reinterpret_cast<uintptr_t>(arena.at(h)) % 8, 0u);
      // A pattern unique to the handle: overlapping blocks would overwrite it.
      for (size_t j = 0; j < size; ++j) arena.at(h)[j] = static_cast<char>(h * 131 + j);
      blocks.emplace_back(h, size);
    }
  }
  for (const auto& [h, size] : blocks) {
    for (size_t j = 0; j < size; ++j) ASSERT_EQ(arena.at(h)[j], static_cast<char>(h * 131 + j)) << h;
  }
}

TEST(SlabArenaTest, FreedBlocksOfAClassAreReusedBeforeTakingNewPages) {
  SlabArena arena;
  std::vector<uint32_t> hs;
  for (int i = 0; i < 10000; ++i) hs.push_back(arena.allocate(80));
  const size_t footprint = arena.footprint();
  for (int i = 0; i < 10000; i += 2) arena.release(hs[i], 80);  // half free, no page empty
  for (int i = 0; i < 5000; ++i) arena.allocate(80);
  EXPECT_EQ(arena.footprint(), footprint);
}

}  // namespace
}  // namespace geocache::detail
