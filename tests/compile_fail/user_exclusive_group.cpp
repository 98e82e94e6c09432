// expect: check_exclusive<user::freeze_backbone, user::freeze_head>.*two policies of one exclusive group
// Exclusivity is declared by the policy, so a user's policies can declare it too.
#include "bad_recipe.hpp"
namespace user {
struct freeze_backbone {
  static constexpr std::string_view name = "freeze_backbone";
  static constexpr std::string_view exclusive = "freezing";
};
struct freeze_head {
  static constexpr std::string_view name = "freeze_head";
  static constexpr std::string_view exclusive = "freezing";
};
}  // namespace user
int main() { return instantiate<recipe_with<user::freeze_backbone, user::freeze_head>>(); }
