// expect: check_exclusive<mixtrain::policy::amp<mixtrain::bf16.*mixtrain::policy::amp<mixtrain::fp16.*two policies of one exclusive group
#include <mixtrain/policy/amp.hpp>
#include "bad_recipe.hpp"
int main() { return instantiate<recipe_with<mt::policy::amp<mt::bf16>, mt::policy::amp<mt::fp16>>>(); }
