// expect: check_exclusive<mixtrain::policy::amp<mixtrain::bf16.*mixtrain::policy::amp<mixtrain::fp16.*two policies of one exclusive group
// mt::when drops a policy whose condition is false before the checks; the
// ones switched on are checked as if listed plainly.
#include <mixtrain/policy/amp.hpp>
#include "bad_recipe.hpp"
int main() {
  return instantiate<recipe_with<mt::when<true, mt::policy::amp<mt::bf16>>, mt::when<false, mt::policy::amp<mt::fp16>>,
                                 mt::policy_if<1 + 1 == 2, mt::policy::amp<mt::fp16>>>>();
}
