// The torch-free core of rb, usable from host code and CUDA kernels: Philox, streams, paths,
// conversions.
#pragma once

#include "rb/config.hpp"
#include "rb/convert.hpp"
#include "rb/detail/mt_state.hpp"
#include "rb/path.hpp"
#include "rb/philox.hpp"
#include "rb/stream.hpp"
