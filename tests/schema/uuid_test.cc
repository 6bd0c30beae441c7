#include "schema/uuid.h"

#include <gtest/gtest.h>

namespace tracedb::schema {
namespace {

constexpr Id128 kId = {0x5e, 0x1e, 0xc7, 0xed, 0x00, 0x00, 0x40, 0x00,
                       0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xab};

TEST(Uuid, AcceptsEveryUuidCrateForm) {
  for (const char* text : {"5e1ec7ed-0000-4000-8000-0000000000ab", "5E1EC7ED-0000-4000-8000-0000000000AB",
                           "5e1ec7ed0000400080000000000000ab", "{5e1ec7ed-0000-4000-8000-0000000000ab}",
                           "urn:uuid:5e1ec7ed-0000-4000-8000-0000000000Ab"}) {
    Id128 id{};
    EXPECT_TRUE(ParseUuid(text, &id)) << text;
    EXPECT_EQ(id, kId) << text;
  }
}

TEST(Uuid, RejectsMalformedText) {
  for (const char* text : {"", "5e1ec7ed-0000-4000-8000-0000000000a", "5e1ec7ed-0000-4000-8000-0000000000ag",
                           "5e1ec7ed00-00-4000-8000-0000000000ab", "{5e1ec7ed-0000-4000-8000-0000000000ab",
                           "URN:UUID:5e1ec7ed-0000-4000-8000-0000000000ab", "5e1ec7ed-0000-4000-8000-0000000000ab ",
                           "g5e1ec7ed000040008000000000000ab"}) {
    Id128 id{};
    EXPECT_FALSE(ParseUuid(text, &id)) << text;
    auto r = ParseUuid(std::string_view(text));
    EXPECT_FALSE(r.ok());
  }
}

TEST(Uuid, PrintsLowercaseHyphenated) {
  EXPECT_EQ(FormatUuid(kId), "5e1ec7ed-0000-4000-8000-0000000000ab");
  Id128 ff;
  ff.fill(0xff);
  EXPECT_EQ(FormatUuid(ff), "ffffffff-ffff-ffff-ffff-ffffffffffff");
  auto back = ParseUuid(std::string_view(FormatUuid(ff)));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, ff);
}

}  // namespace
}  // namespace tracedb::schema
