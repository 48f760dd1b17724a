// rb's parallel fills, randperm and multinomial never hang in a child forked after the parent ran
// a parallel op (GNU OpenMP's thread pool does not survive fork), and give the same bits there.
// Not run under ThreadSanitizer, which does not support fork in multi-threaded programs.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstring>
#include <thread>

#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"

namespace rb {
namespace {

/// What the child draws: 4M elements, large enough for at::parallel_for to split, and the sorts
/// and searches of randperm and multinomial, which split their work too.
std::uint64_t draw() {
  const auto a = torch::rand({std::int64_t{1} << 22}, make_generator(9));
  const auto perm = torch::randperm(std::int64_t{1} << 20, make_generator(12));
  const auto p = torch::rand({64, 1000}, make_generator(13));
  Block b(10, OnExit::keep, Engine::philox);
  return test::fnv1a(a) ^ test::fnv1a(torch::randn({std::int64_t{1} << 22})) ^
         test::fnv1a(perm) ^ test::fnv1a(torch::multinomial(p, 10)) ^
         test::fnv1a(torch::multinomial(p, 10, /*replacement=*/true));
}

TEST(Fork, FillsInAChildForkedAfterAParallelOpFinishAndGiveTheSameBits) {
  rb::set_seed(11);
  at::set_num_threads(2);
  // A parallel op: it starts OpenMP's worker threads, which the child will not have.
  EXPECT_EQ(torch::ones({std::int64_t{1} << 22}).sum().item<double>(),
            static_cast<double>(1 << 22));
  const std::uint64_t expected = draw();

  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(pipe_fds[0]);
    const std::uint64_t got = draw();
    const bool written = write(pipe_fds[1], &got, sizeof got) == static_cast<ssize_t>(sizeof got);
    _exit(written ? 0 : 1);
  }
  close(pipe_fds[1]);
  // Wait at most 60 s (the draw takes well under a second); a hung child is killed, not waited on.
  int status = 0;
  bool finished = false;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t done = waitpid(child, &status, WNOHANG);
    ASSERT_NE(done, -1) << std::strerror(errno);
    if (done == child) {
      finished = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!finished) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
    close(pipe_fds[0]);
    FAIL() << "the forked child hung in rb's fill (killed after 60 s)";
  }
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "child status " << status;
  std::uint64_t got = 0;
  ASSERT_EQ(read(pipe_fds[0], &got, sizeof got), static_cast<ssize_t>(sizeof got));
  close(pipe_fds[0]);
  EXPECT_EQ(got, expected) << "the child drew other bits than the parent";
}

}  // namespace
}  // namespace rb
