// Uses rb through its installed package, including only what rb/rb.hpp promises: blocks, engines,
// rb's generator, saved states, streams for kernels, worker blocks, paths and ranks, and the
// header-only core.
#include <iostream>
#include <thread>

#include <torch/torch.h>

#include "rb/rb.hpp"

int main() {
  rb::set_seed(42);
  torch::Tensor a, b;
  {
    rb::Block block(64);
    a = torch::rand({4});
  }
  torch::rand({100});
  b = rb::with_block(64, rb::OnExit::restore, rb::Engine::torch, [] { return torch::rand({4}); });
  bool ok = torch::equal(a, b);

  // The philox engine draws the same in block 7 every time; rb's generator (rb/generator.hpp)
  // replays from a saved state; rb::save_state / rb::load_state (rb/state.hpp) replay the run.
  torch::Tensor philox[2];
  for (torch::Tensor& draw : philox) {
    rb::Block block(7, rb::OnExit::keep, rb::Engine::philox);
    draw = torch::rand({8});
  }
  ok = ok && torch::equal(philox[0], philox[1]);
  at::Generator gen = rb::make_generator(7);
  const torch::Tensor gen_state = gen.get_state();
  const torch::Tensor first = torch::rand({8}, gen);
  gen.set_state(gen_state);
  ok = ok && torch::equal(first, torch::rand({8}, gen));
  const rb::State saved = rb::save_state();
  const torch::Tensor next = torch::rand({8});
  rb::load_state(saved);
  ok = ok && torch::equal(next, torch::rand({8}));

  // A stream for a kernel (rb/stream.hpp, rb/convert.hpp, rb/sampling.hpp), and a worker block.
  const rb::Stream s = rb::reserve(2);
  const float u = rb::uniform_float(s.draw(0).v[0]);
  const bool coin = rb::bernoulli(s.draw(1).v[0], 0.5);
  ok = ok && u >= 0.0f && u < 1.0f && (coin || !coin) && s.key == rb::derive_key(42, 0);
  const rb::BlockContext ctx = rb::current_context();
  std::thread([ctx] { rb::WorkerBlock worker(ctx, 0); }).join();

  // Paths and ranks (rb/path.hpp, rb/ranks.hpp): a path is a block seed; a distinct block folds
  // the rank into the key.
  torch::Tensor replicated, distinct;
  rb::set_rank(1, 2);
  {
    rb::Block block(rb::path("augment", 3));
    replicated = torch::rand({4});
  }
  {
    rb::Block block(rb::path("augment", 3), rb::Ranks::distinct);
    distinct = torch::rand({4});
  }
  ok = ok && !torch::equal(replicated, distinct);

  try {
    rb::set_default_engine(rb::default_engine());
    rb::Block inside(1);
    rb::set_seed(1);  // refused: inside a block
    ok = false;
  } catch (const rb::Error&) {
  }

  // Random123's known answer for Philox4x32-10 at counter 0, key 0 (rb/philox.hpp).
  const rb::Counter c = rb::philox(rb::Counter{{0, 0, 0, 0}}, rb::Key{{0, 0}});
  std::cout << "blocks, engines, generator and state replay: "
            << std::boolalpha << ok << "; philox(0, 0) word 0 = " << std::hex << c.v[0] << "\n";
  return ok && c.v[0] == 0x6627e8d5u ? 0 : 1;
}
