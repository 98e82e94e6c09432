// expect: check_distinct_names<user::probe_a, user::probe_b>.*same name.*checkpoint states would collide
#include "bad_recipe.hpp"
namespace user {
struct probe_a {
  static constexpr std::string_view name = "probe";
};
struct probe_b {
  static constexpr std::string_view name = "probe";
};
}  // namespace user
int main() { return instantiate<recipe_with<user::probe_a, user::probe_b>>(); }
