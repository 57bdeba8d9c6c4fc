#include "messaging/region_registry.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

namespace geocache {
namespace {

using ::testing::HasSubstr;

std::string error_of(const std::vector<std::string>& names) {
  try {
    check_region_names(names, "regions");
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return "";
}

// Ids travel in every event and are compared by every store: the hash must
// never change between versions. These are 32-bit FNV-1a.
TEST(RegionRegistryTest, IdIsAFixedHashOfTheName) {
  EXPECT_EQ(region_id_for("east"), 5468732u);
  EXPECT_EQ(region_id_for("west"), 3941157294u);
  EXPECT_EQ(region_id_for("north"), 3673133828u);
  EXPECT_NE(region_id_for(""), 0u);  // 0 means "no region"
}

TEST(RegionRegistryTest, SameIdsWhateverOrderOrSubsetTheRegionsAreListedIn) {
  RegionRegistry a({"east", "west", "north"}, {"east"});
  RegionRegistry b({"north", "west"}, {"west"});
  EXPECT_EQ(a.find("west"), b.find("west"));
  EXPECT_EQ(a.find("north"), b.find("north"));
  EXPECT_EQ(a.find("west"), region_id_for("west"));
  EXPECT_EQ(a.find("south"), std::nullopt);
}

TEST(RegionRegistryTest, NamesAreCheckedAtStart) {
  EXPECT_EQ(error_of({"us-east-1", "eu_west", "AP2"}), "");
  EXPECT_THAT(error_of({"a", ""}), HasSubstr("empty"));
  EXPECT_THAT(error_of({"eu.west"}), HasSubstr("only letters, digits, '-' and '_'"));
  EXPECT_THAT(error_of({"a*"}), HasSubstr("only letters"));
  EXPECT_THAT(error_of({std::string(65, 'x')}), HasSubstr("longer than 64"));
  EXPECT_THAT(error_of({"a", "a"}), HasSubstr("'a' is listed twice"));
}

TEST(RegionRegistryTest, TwoNamesWithOneIdAreRefusedAtStart) {
  ASSERT_EQ(region_id_for("r66999"), region_id_for("r916676"));  // found by search
  EXPECT_THAT(error_of({"east", "r66999", "r916676"}),
              HasSubstr("regions 'r66999' and 'r916676' have the same id 1874778082"));
}

TEST(RegionRegistryTest, LocalAndConfiguredRegions) {
  RegionRegistry r({"east", "west", "north"}, {"west", "north"});
  EXPECT_EQ(r.local(), (std::vector<RegionId>{region_id_for("west"), region_id_for("north")}));
  EXPECT_EQ(r.configured().size(), 3u);
  EXPECT_TRUE(r.is_local(region_id_for("west")));
  EXPECT_FALSE(r.is_local(region_id_for("east")));
  EXPECT_TRUE(r.is_configured(region_id_for("east")));
  EXPECT_EQ(r.name(region_id_for("north")), "north");
}

TEST(RegionRegistryTest, RegionsAreLearnedByIdThenNamed) {
  RegionRegistry r({"east"}, {"east"});
  const RegionId south = region_id_for("south");
  EXPECT_EQ(r.name(south), "#" + std::to_string(south));
  EXPECT_EQ(r.learn(south, ""), RegionRegistry::Learned::kNew);  // its events arrived first
  EXPECT_EQ(r.name(south), "#" + std::to_string(south));
  EXPECT_EQ(r.learn(south, "south"), RegionRegistry::Learned::kKnown);  // then its hello
  EXPECT_EQ(r.name(south), "south");
  EXPECT_EQ(r.find("south"), south);
  EXPECT_EQ(r.learn(region_id_for("east"), "east"), RegionRegistry::Learned::kKnown);
  const auto all = r.all();
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].name, "east");
  EXPECT_TRUE(all[0].local && all[0].configured);
  EXPECT_EQ(all[1].name, "south");
  EXPECT_FALSE(all[1].local || all[1].configured);
}

TEST(RegionRegistryTest, LearningASecondNameForAnIdIsAClash) {
  RegionRegistry r({"r66999"}, {"r66999"});
  EXPECT_EQ(r.learn(region_id_for("r916676"), "r916676"), RegionRegistry::Learned::kClash);
  EXPECT_EQ(r.name(region_id_for("r66999")), "r66999");
}

TEST(RegionRegistryTest, AtMostMaxRegionsAreKnown) {
  RegionRegistry r({"east"}, {"east"});
  for (int i = 0; i < kMaxRegions - 1; ++i) {
    ASSERT_EQ(r.learn(region_id_for("r" + std::to_string(i)), ""), RegionRegistry::Learned::kNew) << i;
  }
  EXPECT_EQ(r.learn(region_id_for("one too many"), ""), RegionRegistry::Learned::kFull);
  EXPECT_EQ(r.all().size(), static_cast<size_t>(kMaxRegions));
}

TEST(RegionRegistryTest, ConfiguredRegionsAreOrderedByLatency) {
  RegionRegistry r({"eu", "us", "ap"}, {"eu", "us", "ap"}, {{{"eu", "us"}, 80}, {{"ap", "eu"}, 200}});
  const RegionId eu = region_id_for("eu"), us = region_id_for("us"), ap = region_id_for("ap");
  EXPECT_EQ(r.by_distance(eu), (std::vector<RegionId>{eu, us, ap}));
  EXPECT_EQ(r.by_distance(ap), (std::vector<RegionId>{ap, eu, us}));  // us/ap not listed: 1000 ms
  EXPECT_EQ(r.latency_ms(eu, ap), 200);
  EXPECT_EQ(r.latency_ms(us, ap), std::nullopt);
  EXPECT_TRUE(r.by_distance(region_id_for("elsewhere")).empty());
}

}  // namespace
}  // namespace geocache
