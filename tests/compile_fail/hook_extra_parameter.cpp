// expect: check_on_epoch_end<user::epoch_printer.*expected: void or bool on_epoch_end\(auto& context\)
#include "bad_recipe.hpp"
namespace user {
struct epoch_printer {
  static constexpr std::string_view name = "epoch_printer";
  void on_epoch_end(auto& ctx, int every) { (void)ctx, (void)every; }
};
}  // namespace user
int main() { return instantiate<recipe_with<user::epoch_printer>>(); }
