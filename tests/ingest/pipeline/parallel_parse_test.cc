#include "ingest/pipeline/parallel_parse.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace tracedb::ingest {
namespace {

constexpr char kStart[] =
    R"({"StartTrace":{"trace_id":"5e1ec7ed-0000-4000-8000-000000000001","flow_id":"f","version":{"major":1,"minor":0,"patch":0,"git_hash":null,"timestamp":"2025-07-10T12:00:00Z"}}})";

std::unique_ptr<ParseUnit> UnitOf(const std::vector<std::string>& lines, uint64_t first) {
  auto unit = std::make_unique<ParseUnit>();
  for (const std::string& line : lines) unit->AddLine(line, first++);
  unit->Seal();
  return unit;
}

TEST(ParseUnit, LinesAreParsedInPlaceWithTheirNumbers) {
  // A truncated line followed by a valid one: the parser must not read the
  // next line's bytes (they are the padding of the first).
  std::string start = kStart;
  auto unit = UnitOf({start.substr(0, 40), start, "\"Ping\""}, 7);
  unit->AddTooLong(10);  // before Seal in real use; the padding is already there
  unit->max_line_bytes = 100;
  ReflowParseUnitFn()(unit.get());
  ASSERT_EQ(unit->parsed.size(), 4u);
  EXPECT_FALSE(unit->parsed[0].ok());
  EXPECT_TRUE(unit->parsed[1].ok()) << unit->parsed[1].status().ToString();
  EXPECT_TRUE(unit->parsed[2].ok());  // parses; the ingestor rejects it as not an ingest request
  EXPECT_FALSE(unit->parsed[3].ok());
  EXPECT_NE(unit->parsed[3].status().message().find("longer than 100"), std::string::npos);
  EXPECT_EQ(unit->lines[1].number, 8u);
  EXPECT_EQ(unit->lines[3].number, 10u);
}

TEST(ParallelLineParser, EveryUnitIsParsedOnceWhoeverClaimsIt) {
  std::atomic<int> parses{0};
  ParallelLineParser parser(
      [&](ParseUnit* unit) {
        parses.fetch_add(1);
        ReflowParseUnitFn()(unit);
      },
      2);
  std::vector<std::unique_ptr<ParseUnit>> units;
  for (int i = 0; i < 200; ++i) {
    units.push_back(UnitOf({kStart, "not json", kStart}, static_cast<uint64_t>(3 * i + 1)));
    parser.Submit(units.back().get());
  }
  for (size_t i = 0; i < units.size(); i += 2) parser.Claim(units[i].get());
  for (auto& unit : units) {
    parser.Wait(unit.get());
    ASSERT_EQ(unit->state.load(), ParseUnit::State::kDone);
    ASSERT_EQ(unit->parsed.size(), 3u);
    EXPECT_TRUE(unit->parsed[0].ok());
    EXPECT_FALSE(unit->parsed[1].ok());
    EXPECT_TRUE(unit->parsed[2].ok());
  }
  EXPECT_EQ(parses.load(), 200);
  // A parsed unit is no longer queued: claiming it again does nothing.
  EXPECT_FALSE(parser.Claim(units[0].get()));
}

TEST(ParallelLineParser, DestroyingWithQueuedUnitsDoesNotWaitForThem) {
  std::vector<std::unique_ptr<ParseUnit>> units;
  {
    ParallelLineParser parser([](ParseUnit* unit) { ReflowParseUnitFn()(unit); }, 1);
    for (int i = 0; i < 50; ++i) {
      units.push_back(UnitOf({kStart}, 1));
      parser.Submit(units.back().get());
    }
  }
  // Every unit is either parsed or untouched, never half done.
  for (auto& unit : units) {
    ParseUnit::State s = unit->state.load();
    EXPECT_NE(s, ParseUnit::State::kClaimed);
    EXPECT_EQ(unit->parsed.size(), s == ParseUnit::State::kDone ? 1u : 0u);
  }
}

TEST(ParallelLineParser, AWithdrawnUnitIsNeverTouchedAgain) {
  ParallelLineParser& parser = ParallelLineParser::Shared();
  std::vector<std::unique_ptr<ParseUnit>> units;
  for (int i = 0; i < 100; ++i) {
    units.push_back(UnitOf({kStart, kStart}, 1));
    parser.Submit(units.back().get());
  }
  for (auto& unit : units) {
    parser.Withdraw(unit.get());
    ParseUnit::State s = unit->state.load();
    EXPECT_NE(s, ParseUnit::State::kClaimed);
    EXPECT_EQ(unit->parsed.size(), s == ParseUnit::State::kDone ? 2u : 0u);
    EXPECT_FALSE(parser.Claim(unit.get()));  // no longer queued
  }
  units.clear();  // freed while the shared helpers keep running
  auto unit = parser.TakeUnit();
  EXPECT_TRUE(unit->empty());
  parser.ReturnUnit(std::move(unit));
}

// A unit that held a huge line is not kept: the cache stays small.
TEST(ParallelLineParser, UnitsThatGrewHugeAreNotCached) {
  ParallelLineParser& parser = ParallelLineParser::Shared();
  auto big = parser.TakeUnit();
  big->AddLine(std::string(size_t{4} << 20, ' '), 1);
  parser.ReturnUnit(std::move(big));
  std::vector<std::unique_ptr<ParseUnit>> taken;  // empties the cache
  for (int i = 0; i < 200; ++i) {
    taken.push_back(parser.TakeUnit());
    EXPECT_LE(taken.back()->text.capacity(), size_t{1} << 20);
  }
  for (auto& unit : taken) parser.ReturnUnit(std::move(unit));
}

TEST(ParseUnit, ResetKeepsNothingButCapacity) {
  auto unit = UnitOf({kStart, kStart}, 1);
  ReflowParseUnitFn()(unit.get());
  unit->state.store(ParseUnit::State::kDone);
  unit->Reset();
  EXPECT_TRUE(unit->empty());
  EXPECT_TRUE(unit->text.empty());
  EXPECT_TRUE(unit->parsed.empty());
  EXPECT_EQ(unit->state.load(), ParseUnit::State::kQueued);
}

}  // namespace
}  // namespace tracedb::ingest
