#pragma once
// A small recipe for the compile-failure tests; instantiating the trainer runs
// every recipe and hook check (without the app, so each test parses less).
#include <torch/torch.h>

#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/task/landmark_heatmaps.hpp>

namespace mt = mixtrain;

template <class... Policies>
using recipe_with = mt::recipe<mt::model::compact_unet<{.width = 8}>, mt::data::aariz<{.image_size = {64, 64}}>,
                               mt::task::landmark_heatmaps<>, mt::optim::adamw<>, Policies...>;

template <class Recipe>
int instantiate() {
  mt::trainer<Recipe> t;
  return static_cast<int>(t.policy_count);
}
