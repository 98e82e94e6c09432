// expect: check_monitor<mixtrain::policy::early_stopping<.*val_mr.*landmark_metrics.*task does not report
#include <mixtrain/policy/early_stopping.hpp>
#include "bad_recipe.hpp"
int main() { return instantiate<recipe_with<mt::policy::early_stopping<{.monitor = "val_mr"}>>>(); }
