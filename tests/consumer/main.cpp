// Uses rb through its installed package: a block, and the header-only core.
#include <iostream>

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
  {
    rb::Block block(64);
    b = torch::rand({4});
  }
  const rb::Counter c = rb::philox(rb::Counter{{0, 0, 0, 0}}, rb::Key{{0, 0}});
  std::cout << "block 64 draws the same twice: " << std::boolalpha << torch::equal(a, b)
            << ", philox(0, 0) word 0 = " << std::hex << c.v[0] << "\n";
  // Random123's known answer for Philox4x32-10 at counter 0, key 0.
  return torch::equal(a, b) && c.v[0] == 0x6627e8d5u ? 0 : 1;
}
