#include "ingest/pipeline/body_pipe.h"

#include <gtest/gtest.h>

#include <atomic>
#include <string>

namespace tracedb::ingest {
namespace {

TEST(BodyPipe, BlocksTheProducerAtItsBound) {
  BodyPipe pipe(10);
  std::atomic<int> rooms{0};
  pipe.SetOnRoom([&] { rooms.fetch_add(1); });
  EXPECT_TRUE(pipe.Push("12345"));
  EXPECT_FALSE(pipe.Push("67890"));  // full: wait for on_room
  std::string chunk;
  bool aborted = true;
  ASSERT_TRUE(pipe.Pop(&chunk, &aborted));
  EXPECT_EQ(chunk, "12345");
  EXPECT_EQ(rooms.load(), 1);
  pipe.Close();
  ASSERT_TRUE(pipe.Pop(&chunk, &aborted));
  EXPECT_EQ(chunk, "67890");
  EXPECT_FALSE(pipe.Pop(&chunk, &aborted));
  EXPECT_FALSE(aborted);
  BodyPipe cut(10);
  cut.Push("abc");
  cut.Abort();
  EXPECT_FALSE(cut.Pop(&chunk, &aborted));
  EXPECT_TRUE(aborted);
}

}  // namespace
}  // namespace tracedb::ingest
