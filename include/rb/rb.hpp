// Everything rb offers: the torch-free core (Philox, streams, conversions, samplers), blocks, and
// rb's LibTorch generator. Include <torch/torch.h> yourself for torch's own API.
#pragma once

#include "rb/block.hpp"
#include "rb/core.hpp"
#include "rb/generator.hpp"
#include "rb/sampling.hpp"
