#pragma once
// Everything a recipe file needs.
#include <mixtrain/app/main.hpp>
#include <mixtrain/augment/affine.hpp>
#include <mixtrain/augment/intensity.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/core/trainer.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/heatmap/decode.hpp>
#include <mixtrain/loss/heatmap_mse.hpp>
#include <mixtrain/model/compact_unet.hpp>
#include <mixtrain/optim/adamw.hpp>
