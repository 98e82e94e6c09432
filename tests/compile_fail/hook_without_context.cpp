// expect: check_after_optimizer_step<user::step_counter.*expected: void or bool after_optimizer_step\(auto& context\)
// A hook that forgot the context would never be called: it is an error.
#include "bad_recipe.hpp"
namespace user {
struct step_counter {
  static constexpr std::string_view name = "step_counter";
  int steps = 0;
  void after_optimizer_step() { ++steps; }
};
}  // namespace user
int main() { return instantiate<recipe_with<user::step_counter>>(); }
