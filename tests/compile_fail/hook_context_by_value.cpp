// expect: check_on_validation_end<user::stop_when_good.*expected: void or bool on_validation_end\(auto& context\)
// By value, its request_stop would be lost on a copy: the context cannot be copied.
#include "bad_recipe.hpp"
namespace user {
struct stop_when_good {
  static constexpr std::string_view name = "stop_when_good";
  void on_validation_end(auto ctx) {
    if (ctx.metrics.val_mre < 1.0) ctx.request_stop("good enough");
  }
};
}  // namespace user
int main() { return instantiate<recipe_with<user::stop_when_good>>(); }
