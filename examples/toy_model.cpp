// The blocks demo: a model with 2 or 3 conv layers, built and trained with and without rb's blocks.
// With blocks, the extra conv layer changes neither the fc layers' initial weights nor the data
// order; without them, both shift.
#include <cstdio>
#include <string>

#include "toy_model.hpp"

namespace {

std::string head(const torch::Tensor& t, int n = 4) {
  std::string s;
  auto flat = t.flatten().to(torch::kDouble);
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, t.is_floating_point() ? "%+.4f " : "%.0f ", flat[i].item<double>());
    s += buf;
  }
  return s;
}

bool report(const char* title, bool blocks) {
  const toy::Outcome two = toy::run(2, blocks), three = toy::run(3, blocks);
  const bool same_fc = torch::equal(two.fc1_initial_weight, three.fc1_initial_weight);
  const bool same_order = torch::equal(two.first_epoch_order, three.first_epoch_order);
  std::printf("%s\n", title);
  std::printf("  %-26s %-32s %-32s %s\n", "", "2 conv layers", "3 conv layers", "identical");
  std::printf("  %-26s %-32s %-32s %s\n", "fc1 initial weight[0, :4]", head(two.fc1_initial_weight).c_str(),
              head(three.fc1_initial_weight).c_str(), same_fc ? "yes" : "no");
  std::printf("  %-26s %-32s %-32s %s\n", "first epoch order[:8]", head(two.first_epoch_order, 8).c_str(),
              head(three.first_epoch_order, 8).c_str(), same_order ? "yes" : "no");
  return same_fc && same_order;
}

}  // namespace

int main() {
  at::set_num_threads(1);
  const bool with_blocks = report("With rb blocks (conv: block 64, fc: block 44, training: block 128)", true);
  const bool without = report("\nWithout blocks (torch::manual_seed(42) once)", false);
  std::printf("\n%s\n", with_blocks && !without
                            ? "rb: the extra conv layer left the fc layers and the data order alone."
                            : "rb: UNEXPECTED: see the table above.");
  return with_blocks && !without ? 0 : 1;
}
