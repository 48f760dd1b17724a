// Everything rb offers: the torch-free core (Philox, streams, paths, conversions, samplers),
// blocks and ranks, and rb's LibTorch generator. Include <torch/torch.h> yourself for torch's API.
#pragma once

#include "rb/block.hpp"
#include "rb/core.hpp"
#include "rb/error.hpp"
#include "rb/generator.hpp"
#include "rb/path.hpp"
#include "rb/ranks.hpp"
#include "rb/sampling.hpp"
#include "rb/state.hpp"
