// Everything rb offers: the torch-free core, blocks, and rb's LibTorch generator.
#pragma once

#include "rb/block.hpp"
#include "rb/core.hpp"
#include "rb/state.hpp"
