// expect: check_on_epoch_begin<user::forwarding.*expected: void or bool on_epoch_begin\(auto& context\)
// A forwarding reference binds copies too; hooks take `auto&`.
#include "bad_recipe.hpp"
namespace user {
struct forwarding {
  static constexpr std::string_view name = "forwarding";
  void on_epoch_begin(auto&& ctx) { (void)ctx; }
};
}  // namespace user
int main() { return instantiate<recipe_with<user::forwarding>>(); }
