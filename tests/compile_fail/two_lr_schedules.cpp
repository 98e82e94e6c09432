// expect: check_exclusive<mixtrain::policy::warmup_cosine<.*mixtrain::policy::step_decay<.*two policies of one exclusive group
#include <mixtrain/policy/lr_schedule.hpp>
#include "bad_recipe.hpp"
int main() { return instantiate<recipe_with<mt::policy::warmup_cosine<>, mt::policy::step_decay<>>>(); }
