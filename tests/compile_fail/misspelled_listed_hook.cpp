// expect: check_listed_hooks<user::warmup_logger>.*a hook named in this policy's `hooks` list is not a member
// A misspelled hook (on_epoch_start) is no hook; a policy that lists its hooks gets it checked.
#include "bad_recipe.hpp"
namespace user {
struct warmup_logger {
  static constexpr std::string_view name = "warmup_logger";
  using hooks = mt::hook_list<mt::hook::on_epoch_begin>;
  void on_epoch_start(auto& ctx) { (void)ctx; }
};
}  // namespace user
int main() { return instantiate<recipe_with<user::warmup_logger>>(); }
