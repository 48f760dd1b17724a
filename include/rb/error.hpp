// rb::Error, what every misuse of rb throws. Torch-free, so that rb::core (rb::path) can throw it.
#pragma once

#include <stdexcept>

namespace rb {

/// Every misuse of rb's API throws rb::Error, with a message that says what to do instead.
/// Nothing is left half-changed when it is thrown.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace rb
