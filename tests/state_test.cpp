// rb::save_state / rb::load_state: a run resumed from a state in a new process continues bit for
// bit (both engines), and every mismatch or damaged state is refused with nothing changed.
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "rb/rb.hpp"
#include "test_util.hpp"
#include "toy_model.hpp"

namespace rb {
namespace {

using test::same_bits;

constexpr int kEpochs = 4, kSamples = 48, kBatch = 12;

/// A toy training run: the model is built in blocks 64/44, training runs inside block 128 (a
/// shuffled order per epoch, dropout, SGD). Epochs [first, last) run; at `save_after` (an epoch,
/// or -1) it writes rb's state, the model, the optimizer and the epoch to `file`, and between two
/// batches of epoch 1 it saves and reloads rb's state in place. Returns the weights and losses.
struct Trained {
  std::vector<torch::Tensor> parameters;
  std::vector<float> losses;
};

struct Data {
  torch::Tensor images, labels;
};

Data data() {
  auto gen = at::detail::createCPUGenerator(7);  // the data does not depend on rb
  return {at::randn({kSamples, 1, 8, 8}, gen), at::randint(0, 10, {kSamples}, gen)};
}

void train_epoch(toy::ToyModel& model, torch::optim::SGD& optimizer, const Data& d, std::vector<float>& losses,
                 bool save_and_reload_mid_epoch) {
  const auto order = torch::randperm(kSamples);
  for (int start = 0; start < kSamples; start += kBatch) {
    if (save_and_reload_mid_epoch && start == 2 * kBatch) {
      // A save between two batches, then a load of it: nothing moves.
      const State mid = save_state();
      torch::rand({99});  // draws that the load takes back
      load_state(mid);
    }
    const auto idx = order.slice(0, start, start + kBatch);
    optimizer.zero_grad();
    const auto loss = torch::cross_entropy_loss(model->forward(d.images.index({idx})), d.labels.index({idx}));
    loss.backward();
    optimizer.step();
    losses.push_back(loss.item<float>());
  }
}

std::vector<torch::Tensor> weights(toy::ToyModel& model) {
  std::vector<torch::Tensor> out;
  for (const auto& p : model->parameters()) out.push_back(p.detach().clone());
  return out;
}

Trained straight(Engine engine) {
  const Data d = data();
  rb::set_seed(42);
  toy::ToyModel model(2, true, engine);
  torch::optim::SGD optimizer(model->parameters(), 0.05);
  Trained t;
  Block training(128, OnExit::keep, engine);
  model->train();
  for (int epoch = 0; epoch < kEpochs; ++epoch) train_epoch(model, optimizer, d, t.losses, epoch == 1);
  t.parameters = weights(model);
  return t;
}

/// The second half, as a new process runs it: seed, the same blocks, load, go on.
Trained resumed(Engine engine, const std::string& file) {
  const Data d = data();
  rb::set_seed(42);
  toy::ToyModel model(2, true, engine);  // rebuilt, then overwritten by the saved weights
  torch::optim::SGD optimizer(model->parameters(), 0.05);
  torch::serialize::InputArchive archive;
  archive.load_from(file);
  model->load(archive);
  torch::serialize::InputArchive optim_archive;
  archive.read("optimizer", optim_archive);
  optimizer.load(optim_archive);
  torch::Tensor rb_bytes, losses, epoch;
  archive.read("rb_state", rb_bytes);
  archive.read("losses", losses);
  archive.read("epoch", epoch);
  State state;
  state.bytes.assign(rb_bytes.data_ptr<std::uint8_t>(), rb_bytes.data_ptr<std::uint8_t>() + rb_bytes.numel());
  Trained t;
  for (int i = 0; i < losses.numel(); ++i) t.losses.push_back(losses[i].item<float>());
  Block training(128, OnExit::keep, engine);
  load_state(state);
  model->train();
  for (int e = static_cast<int>(epoch.item<std::int64_t>()); e < kEpochs; ++e) train_epoch(model, optimizer, d, t.losses, false);
  t.parameters = weights(model);
  return t;
}

/// The first half: k epochs, then everything written to `file`.
void first_half(Engine engine, int k, const std::string& file) {
  const Data d = data();
  rb::set_seed(42);
  toy::ToyModel model(2, true, engine);
  torch::optim::SGD optimizer(model->parameters(), 0.05);
  std::vector<float> losses;
  Block training(128, OnExit::keep, engine);
  model->train();
  for (int epoch = 0; epoch < k; ++epoch) train_epoch(model, optimizer, d, losses, epoch == 1);
  const State state = save_state();
  torch::serialize::OutputArchive archive;
  model->save(archive);
  torch::serialize::OutputArchive optim_archive;
  optimizer.save(optim_archive);
  archive.write("optimizer", optim_archive);
  archive.write("rb_state", torch::from_blob(const_cast<std::uint8_t*>(state.bytes.data()),
                                             {static_cast<std::int64_t>(state.bytes.size())}, torch::kByte).clone());
  archive.write("losses", torch::tensor(losses));
  archive.write("epoch", torch::tensor(static_cast<std::int64_t>(k)));
  archive.save_to(file);
}

Engine engine_named(const std::string& name) { return name == "philox" ? Engine::philox : Engine::torch; }

// Run by ResumesBitForBitInANewProcess in a child process (skipped when run directly).
TEST(StateChild, ResumeFromFile) {
  const char* file = std::getenv("RB_TEST_RESUME_FILE");
  if (!file) GTEST_SKIP() << "the second half of ResumesBitForBitInANewProcess, which runs it itself";
  const Trained t = resumed(engine_named(std::getenv("RB_TEST_RESUME_ENGINE")), file);
  torch::serialize::OutputArchive out;
  for (std::size_t i = 0; i < t.parameters.size(); ++i) out.write("p" + std::to_string(i), t.parameters[i]);
  out.write("losses", torch::tensor(t.losses));
  out.save_to(std::string(file) + ".out");
}

class StateResume : public ::testing::TestWithParam<Engine> {};

TEST_P(StateResume, ResumesBitForBitInANewProcess) {
  const Engine engine = GetParam();
  const std::string name = engine == Engine::philox ? "philox" : "torch";
  const Trained expected = straight(engine);
  for (int k : {1, 3}) {
    const std::string file = ::testing::TempDir() + "rb_resume_" + name + "_" + std::to_string(k) + ".pt";
    first_half(engine, k, file);
    const std::string command = "RB_TEST_RESUME_FILE=" + file + " RB_TEST_RESUME_ENGINE=" + name +
                                " /proc/" + std::to_string(getpid()) + "/exe --gtest_filter=StateChild.* > " +
                                file + ".log 2>&1";
    ASSERT_EQ(std::system(command.c_str()), 0) << "the resuming process failed; see " << file << ".log";
    torch::serialize::InputArchive in;
    in.load_from(file + ".out");
    torch::Tensor losses;
    in.read("losses", losses);
    EXPECT_TRUE(same_bits(losses, torch::tensor(expected.losses))) << "k = " << k;
    for (std::size_t i = 0; i < expected.parameters.size(); ++i) {
      torch::Tensor p;
      in.read("p" + std::to_string(i), p);
      EXPECT_TRUE(same_bits(p, expected.parameters[i])) << "parameter " << i << ", k = " << k;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(BothEngines, StateResume, ::testing::Values(Engine::torch, Engine::philox),
                         [](const auto& info) { return info.param == Engine::philox ? "philox" : "torch"; });

// ---- refusals: each names what differs, and changes nothing ------------------------------------

/// FNV-1a of the bytes before the last 8, written into them (Note [State bytes]): lets a test
/// change a field and keep the checksum right.
void reseal(State& s) {
  std::uint64_t h = 14695981039346656037ull;
  for (std::size_t i = 0; i + 8 < s.bytes.size(); ++i) h = (h ^ s.bytes[i]) * 1099511628211ull;
  std::memcpy(s.bytes.data() + s.bytes.size() - 8, &h, 8);
}

class StateErrors : public ::testing::Test {
 protected:
  void SetUp() override { rb::set_seed(9); }
  /// Expects load_state(s) to throw rb::Error mentioning `words`, with torch's CPU generator and
  /// the innermost block's stream position unchanged.
  void expect_refused(const State& s, const std::string& words) {
    const auto cpu = test::cpu_state();
    const std::uint64_t position = reserve(0).base;
    try {
      load_state(s);
      ADD_FAILURE() << "load_state accepted a state that should be refused (" << words << ")";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_TRUE(same_bits(test::cpu_state(), cpu));
    EXPECT_EQ(reserve(0).base, position);
  }
};

TEST_F(StateErrors, ARoundTripInPlaceChangesNothingAndRepeats) {
  Block b(5, OnExit::restore, Engine::philox);
  reserve(3);
  const State s = save_state();
  const auto first = torch::cat({torch::rand({10}), torch::randn({10})});
  reserve(7);
  load_state(s);
  EXPECT_TRUE(same_bits(first, torch::cat({torch::rand({10}), torch::randn({10})})));
  EXPECT_EQ(save_state().bytes.size(), s.bytes.size());
}

TEST_F(StateErrors, AnotherInitialSeed) {
  const State s = save_state();
  rb::set_seed(10);
  expect_refused(s, "rb::set_seed(9)");
}

TEST_F(StateErrors, OtherBlocksOpen) {
  State s;
  {
    Block b(5);
    s = save_state();
  }
  expect_refused(s, "enter the same blocks");  // none open
  Block other(6);
  expect_refused(s, "block 5");
}

TEST_F(StateErrors, AnotherEngineOrExitMode) {
  State s;
  {
    Block b(5, OnExit::keep, Engine::torch);
    s = save_state();
  }
  {
    Block b(5, OnExit::keep, Engine::philox);
    expect_refused(s, "engine torch");
  }
  Block b(5, OnExit::restore, Engine::torch);
  expect_refused(s, "enter the same blocks");
}

TEST_F(StateErrors, AnotherDefaultEngine) {
  const State s = save_state();
  set_default_engine(Engine::philox);
  expect_refused(s, "set_default_engine");
  set_default_engine(Engine::torch);
}

TEST_F(StateErrors, TruncatedCorruptedOrForeignBytes) {
  const State s = save_state();
  State truncated = s;
  truncated.bytes.resize(s.bytes.size() - 1);
  expect_refused(truncated, "checksum");
  State tiny;
  tiny.bytes = {1, 2, 3};
  expect_refused(tiny, "truncated");
  State flipped = s;
  flipped.bytes[s.bytes.size() / 2] ^= 0x10;
  expect_refused(flipped, "corrupted");
  State foreign = s;
  foreign.bytes[0] = 'x';
  expect_refused(foreign, "not an rb state");
  State cut = s;  // a consistent checksum over too few bytes
  cut.bytes.resize(60);
  reseal(cut);
  expect_refused(cut, "truncated");
}

TEST_F(StateErrors, AnotherStreamVersionOrFormat) {
  State version = save_state();
  version.bytes[8] += 1;  // u32 kStreamVersion at byte 8
  reseal(version);
  expect_refused(version, "stream version");
  State format = save_state();
  format.bytes[4] += 1;  // u32 format at byte 4
  reseal(format);
  expect_refused(format, "format");
}

TEST_F(StateErrors, AnInvalidMersenneTwisterState) {
  State s = save_state();
  const std::int32_t left = 0;  // i32 left at byte 45: u32 x 3, u64, u32 x 2, u8, u64, then u64 seed
  std::memcpy(s.bytes.data() + 12 + 8 + 8 + 1 + 8 + 8, &left, 4);
  reseal(s);
  expect_refused(s, "invalid");
}

}  // namespace
}  // namespace rb
