// The toy model of torch-reproducible-block's README, in LibTorch: conv layers built inside block
// 64, fully connected layers inside block 44, training inside block 128. Shared by the demo
// (toy_model.cpp) and its test (tests/toy_model_test.cpp).
#pragma once

#include <optional>
#include <vector>

#include <torch/torch.h>

#include "rb/rb.hpp"

namespace toy {

/// Conv layers, then two fully connected layers with dropout between them.
struct ToyModelImpl : torch::nn::Module {
  // `blocks`: build each part in its block (rb's way), or straight after the seed (the usual way).
  ToyModelImpl(int conv_layers, bool blocks, rb::Engine engine) {
    auto build_convs = [&] {
      for (int i = 0; i < conv_layers; ++i) {
        convs->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(i == 0 ? 1 : 8, 8, 3).padding(1)));
        convs->push_back(torch::nn::Functional(torch::relu));
      }
    };
    auto build_fcs = [&] {
      fc1 = torch::nn::Linear(8 * 8 * 8, 32);
      fc2 = torch::nn::Linear(32, 10);
    };
    if (blocks) {
      rb::with_block(64, rb::OnExit::keep, engine, build_convs);
      rb::with_block(44, rb::OnExit::keep, engine, build_fcs);
    } else {
      build_convs();
      build_fcs();
    }
    register_module("convs", convs);
    register_module("fc1", fc1);
    register_module("fc2", fc2);
  }

  torch::Tensor forward(torch::Tensor x) {
    x = convs->forward(x).flatten(1);
    x = torch::dropout(torch::relu(fc1->forward(x)), 0.5, is_training());
    return fc2->forward(x);
  }

  torch::nn::Sequential convs;
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(ToyModel);

/// What the demo compares between a 2-conv and a 3-conv model.
struct Outcome {
  torch::Tensor fc1_initial_weight;  ///< fc1's weights right after construction
  torch::Tensor first_epoch_order;   ///< the data order of the first epoch
};

/// Builds the model with `conv_layers` conv layers and trains it for two epochs on a fixed toy
/// dataset, seeding with rb (blocks) or with torch::manual_seed (no blocks).
inline Outcome run(int conv_layers, bool blocks, rb::Engine engine = rb::Engine::torch) {
  constexpr std::uint64_t kSeed = 42;
  constexpr int kSamples = 64, kBatch = 16;
  // The data does not depend on the model: made from its own generator.
  auto data_gen = at::detail::createCPUGenerator(7);
  const auto images = at::randn({kSamples, 1, 8, 8}, data_gen);
  const auto labels = at::randint(0, 10, {kSamples}, data_gen);

  if (blocks) {
    rb::set_seed(kSeed);
  } else {
    torch::manual_seed(kSeed);
  }
  ToyModel model(conv_layers, blocks, engine);
  Outcome out;
  out.fc1_initial_weight = model->fc1->weight.detach().clone();

  auto train = [&] {
    torch::optim::SGD optimizer(model->parameters(), 0.01);
    model->train();
    for (int epoch = 0; epoch < 2; ++epoch) {
      const auto order = torch::randperm(kSamples);
      if (epoch == 0) out.first_epoch_order = order;
      for (int start = 0; start < kSamples; start += kBatch) {
        const auto idx = order.slice(0, start, start + kBatch);
        optimizer.zero_grad();
        const auto loss = torch::cross_entropy_loss(model->forward(images.index({idx})),
                                                    labels.index({idx}));
        loss.backward();
        optimizer.step();
      }
    }
  };
  if (blocks) {
    rb::with_block(128, rb::OnExit::keep, engine, train);
  } else {
    train();
  }
  return out;
}

}  // namespace toy
