// expect: check_prepare_input<user::to_half.*expected: void prepare_input\(auto& context, torch::Tensor& input\)
// The converted input would be lost on the copy.
#include "bad_recipe.hpp"
namespace user {
struct to_half {
  static constexpr std::string_view name = "to_half";
  void prepare_input(auto&, torch::Tensor input) { input = input.to(torch::kHalf); }
};
}  // namespace user
int main() { return instantiate<recipe_with<user::to_half>>(); }
