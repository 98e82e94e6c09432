// expect: cuda_graph: loss scaling \(amp<fp16>\) multiplies the loss by a host value
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/cuda_graph.hpp>
#include "bad_recipe.hpp"
// The check sits in the step itself, so the step is instantiated (never run).
int main(int argc, char**) {
  mt::trainer<recipe_with<mt::policy::amp<mt::fp16>, mt::policy::cuda_graph<>>> t;
  if (argc > 100) t.train_micro_batch(t.to_device({}), true);
  return 0;
}
