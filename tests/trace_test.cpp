// rb's trace (Note [Trace format]): the environment line, one valid JSON line per block exit from
// any thread and from forked children, what each line says, and start/stop errors.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "json_lines.hpp"
#include "rb/rb.hpp"

namespace rb {
namespace {

using test::Json;
using test::read_json_lines;

class TraceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    at::set_num_threads(1);
    set_reuse_policy(Reuse::allow);  // these tests enter the same blocks from many places
    set_seed(42);
    path_ = ::testing::TempDir() + "rb_trace_test_" + std::to_string(::getpid()) + ".jsonl";
  }
  void TearDown() override {
    stop_trace();
    std::remove(path_.c_str());
    set_reuse_policy(Reuse::warn);
    EXPECT_EQ(detail::block_depth(), 0u);
  }
  // The lines after the environment's, checking the environment line first.
  std::vector<Json> blocks() {
    std::vector<Json> lines = read_json_lines(path_);
    EXPECT_FALSE(lines.empty());
    EXPECT_EQ(lines.at(0).at("rb_trace").u64(), 1u);
    lines.erase(lines.begin());
    return lines;
  }
  std::string path_;
};

std::string site_of(const Json& line) { return line.at("site").text; }

TEST_F(TraceTest, EnvironmentLine) {
  start_trace(path_);
  EXPECT_TRUE(tracing());
  stop_trace();
  EXPECT_FALSE(tracing());
  const std::vector<Json> lines = read_json_lines(path_);
  ASSERT_EQ(lines.size(), 1u);
  const Json& env = lines[0];
  EXPECT_EQ(env.at("stream_version").u64(), kStreamVersion);
  EXPECT_EQ(env.at("initial_seed").u64(), 42u);
  EXPECT_FALSE(env.at("rb").text.empty());
  EXPECT_FALSE(env.at("torch").text.empty());
  for (const char* name : {"cuda_runtime", "cudnn", "gpus", "cpu_isa", "deterministic_algorithms",
                           "cudnn_benchmark", "PYTHONHASHSEED", "rank", "world_size"}) {
    EXPECT_TRUE(env.has(name)) << name;
  }
  const std::set<std::string> isas = {"scalar", "avx2", "avx512"};
  EXPECT_EQ(isas.count(env.at("cpu_isa").text), 1u) << env.at("cpu_isa").text;
}

TEST_F(TraceTest, OneLinePerExitInnermostFirst) {
  start_trace(path_);
  const int outer_line = __LINE__ + 2;
  {
    Block outer(64);
    torch::rand({5});
    Block inner(path("augment", 1, 2), OnExit::restore, Engine::philox);
    torch::rand({100});  // 25 outputs of the rb stream
    reserve(7);
  }
  stop_trace();
  { Block after(65); }  // not traced
  const std::vector<Json> lines = blocks();
  ASSERT_EQ(lines.size(), 2u);
  const Json& inner = lines[0];
  const Json& outer = lines[1];
  EXPECT_EQ(inner.at("block").u64(), path("augment", 1, 2));
  EXPECT_EQ(inner.at("depth").u64(), 2u);
  EXPECT_EQ(inner.at("engine").text, "philox");
  EXPECT_EQ(inner.at("on_exit").text, "restore");
  EXPECT_EQ(inner.at("drawn").u64(), 25u + 7u);
  EXPECT_TRUE(inner.at("path").is_null());  // C++ knows the seed, not the parts
  EXPECT_EQ(outer.at("block").u64(), 64u);
  EXPECT_EQ(outer.at("depth").u64(), 1u);
  EXPECT_EQ(outer.at("drawn").u64(), 0u);  // torch-engine draws are torch's, not the rb stream's
  EXPECT_EQ(outer.at("key").text, [] {
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx",
                  static_cast<unsigned long long>(key_value(derive_key(42, 64))));
    return std::string(hex);
  }());
  EXPECT_NE(site_of(outer).find("trace_test.cpp:" + std::to_string(outer_line)), std::string::npos)
      << site_of(outer);
  EXPECT_EQ(outer.at("thread").u64(), 0u);
  EXPECT_EQ(outer.at("proc").text, "main");
  EXPECT_TRUE(outer.at("rank").is_null());
  EXPECT_TRUE(outer.at("worker").is_null());
  EXPECT_EQ(outer.at("cuda").kind, Json::Kind::array);
  EXPECT_EQ(outer.at("torch_cpu").text.size(), 16u);
}

// The fingerprint at exit follows what the block drew, and only that.
TEST_F(TraceTest, FingerprintsFollowTheDraws) {
  start_trace(path_);
  for (int extra : {0, 0, 1}) {
    Block b(44);
    torch::rand({10});
    if (extra) torch::rand({1});
  }
  {
    Block b(45, OnExit::restore);  // taken at exit, before the restore
    torch::rand({10});
  }
  { Block b(45, OnExit::restore); }
  stop_trace();
  const std::vector<Json> lines = blocks();
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[0].at("torch_cpu").text, lines[1].at("torch_cpu").text);
  EXPECT_NE(lines[1].at("torch_cpu").text, lines[2].at("torch_cpu").text);
  EXPECT_NE(lines[3].at("torch_cpu").text, lines[4].at("torch_cpu").text);
  EXPECT_EQ(lines[0].at("key").text, lines[2].at("key").text);
}

TEST_F(TraceTest, ManyThreadsWriteValidLines) {
  constexpr int kThreads = 8, kBlocks = 200;
  start_trace(path_);
  const BlockContext ctx = current_context();
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t, ctx] {
      WorkerBlock worker(ctx, static_cast<std::uint32_t>(t));
      for (int i = 0; i < kBlocks; ++i) {
        Block outer(path("thread", t, i), OnExit::keep, Engine::philox);
        Block inner(i);
        reserve(static_cast<std::uint64_t>(t));
      }
    });
  }
  for (std::thread& th : threads) th.join();
  stop_trace();
  const std::vector<Json> lines = blocks();  // throws unless every line is valid JSON
  ASSERT_EQ(lines.size(), static_cast<std::size_t>(kThreads * (2 * kBlocks + 1)));
  std::map<std::uint64_t, std::vector<const Json*>> by_thread;
  for (const Json& line : lines) by_thread[line.at("thread").u64()].push_back(&line);
  ASSERT_EQ(by_thread.size(), static_cast<std::size_t>(kThreads));
  for (const auto& [number, own] : by_thread) {
    EXPECT_GE(number, 1u);  // thread 0 started the trace
    ASSERT_EQ(own.size(), static_cast<std::size_t>(2 * kBlocks + 1));
    const Json& worker = *own.back();  // the WorkerBlock leaves last
    ASSERT_FALSE(worker.at("worker").is_null());
    const std::uint64_t t = worker.at("worker").u64();
    EXPECT_TRUE(worker.at("torch_cpu").is_null());  // a worker does not hold torch's generators
    for (int i = 0; i < kBlocks; ++i) {  // each thread's lines in its order, innermost first
      EXPECT_EQ(own[2 * i]->at("block").u64(), static_cast<std::uint64_t>(i));
      EXPECT_EQ(own[2 * i]->at("drawn").u64(), t);
      EXPECT_EQ(own[2 * i]->at("depth").u64(), 3u);
      EXPECT_EQ(own[2 * i + 1]->at("block").u64(), path("thread", t, i));
    }
  }
}

TEST_F(TraceTest, ForkedChildrenWriteToTheTrace) {
  start_trace(path_);
  { Block b(1); }
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    { Block b(2); }
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  { Block b(3); }
  stop_trace();
  const std::vector<Json> lines = blocks();
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[1].at("block").u64(), 2u);
  EXPECT_EQ(lines[1].at("proc").text, "main/0");
  EXPECT_EQ(lines[1].at("thread").u64(), 0u);
  EXPECT_EQ(lines[2].at("proc").text, "main");
}

TEST_F(TraceTest, StartAndStopMisuse) {
  EXPECT_NO_THROW(stop_trace());  // none: nothing happens
  try {
    start_trace("/nonexistent-directory/trace.jsonl");
    FAIL() << "started a trace in a missing directory";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-directory/trace.jsonl"), std::string::npos);
  }
  EXPECT_FALSE(tracing());
  start_trace(path_);
  EXPECT_THROW(start_trace(path_ + ".2"), Error);
  EXPECT_TRUE(tracing());  // the first goes on
  { Block b(5); }
  stop_trace();
  EXPECT_EQ(blocks().size(), 1u);
}

}  // namespace
}  // namespace rb
