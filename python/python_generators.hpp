// Python's `random` and NumPy's legacy global generator under rb's blocks: installing a block's
// states, saving and restoring them. See Note [Python generator states] and Note [Direct writes].
#pragma once

#include <array>
#include <cstdint>

#include <pybind11/pybind11.h>

#include "rb/stream.hpp"

namespace rbpy {

namespace py = pybind11;

/// What a block installs (rblock.block's `generators=`), as bits.
enum Generators : unsigned {
  kTorch = 1,   ///< torch's default CPU generator and every CUDA device's
  kRandom = 2,  ///< Python's `random` (its module-level functions)
  kNumpy = 4,   ///< NumPy's legacy global generator (`np.random.*`)
};

/// Finds `random`'s and NumPy's global generators and validates, once, the memory layouts that
/// direct writes assume (Note [Direct writes]); a generator whose check fails is installed through
/// its setstate instead. Call once, at import, with the GIL held. Without NumPy, numpy is None.
void init_python_generators(py::module_ random, py::object numpy);

/// Installs the states of the block with key `key` into the generators of `which` (kRandom,
/// kNumpy; kTorch is ignored), as Note [Python generator states] says. Direct writes cannot fail;
/// the setstate path may raise (py::error_already_set), leaving a generator unchanged or installed.
void install_python_states(rb::Key key, unsigned which);

/// The exact states of the generators of `which`, for restore_python_states.
struct SavedPythonStates {
  unsigned which = 0;
  bool random_direct = false, numpy_direct = false;
  // Direct: the raw words (Note [Direct writes]).
  int random_index = 0;
  std::array<std::uint32_t, 624> random_words{};
  py::object random_gauss_next;  // random's cached gauss (None or a float)
  py::object numpy_bit_generator;  // the MT19937 whose memory numpy_words came from
  std::array<std::uint32_t, 624> numpy_words{};
  int numpy_pos = 0;
  int numpy_has_gauss = 0;
  double numpy_gauss = 0.0;
  // Through setstate: what getstate returned.
  py::object random_state, numpy_state;
};

/// Saves the states of the generators of `which`. The setstate path may raise, changing nothing.
SavedPythonStates save_python_states(unsigned which);

/// Puts back what save_python_states saved. The setstate path may raise.
void restore_python_states(const SavedPythonStates& saved);

/// Which generators direct writes cover (kRandom | kNumpy when both layouts checked out).
unsigned direct_generators();
/// Tests only: turns direct writes off (false) or back on where the layouts checked out (true).
void use_direct_writes(bool on);

}  // namespace rbpy
