// LR schedules and early stopping one at a time, through the trainer's
// building blocks (build, emit) on tiny models, against hand-computed values
// and LibTorch's own ReduceLROnPlateau rule.
#include <catch2/catch.hpp>

#include <cmath>
#include <numbers>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/policy/early_stopping.hpp>
#include <mixtrain/policy/lr_schedule.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;

namespace test_policy_schedules {

// --- lr_schedule -------------------------------------------------------------------

TEST_CASE("lr_schedule: warmup_cosine is linear warmup then cosine to min_lr, per optimizer update", "[lr_schedule]") {
  using recipe = tiny_recipe<mt::policy::warmup_cosine<{.warmup_epochs = 1.5, .warmup_steps = 1, .min_lr = 1e-5}>>;
  mt::trainer<recipe> t;
  build_seeded(t);
  auto& ctx = t.ctx();
  ctx.updates_per_epoch = 4;
  ctx.epochs = 5;
  begin_fit(t);
  const double base = 1e-3, min_lr = 1e-5;
  const int warmup = 6 + 1, total = 20;
  for (int s = 0; s < total + 3; ++s) {
    double expected;
    if (s < warmup) expected = base * (s + 1) / warmup;
    else
      expected = min_lr + (base - min_lr) *
                              (1 + std::cos(std::numbers::pi * std::min(1.0, double(s - warmup) / (total - warmup)))) / 2;
    INFO("update " << s);
    CHECK(lr_of(t) == Approx(expected).epsilon(1e-12));
    ++ctx.global_step;
    t.emit(mt::hook::after_optimizer_step{}, ctx);
  }
  CHECK(lr_of(t) == Approx(min_lr));
  // A resumed run recomputes from the counter alone.
  mt::trainer<recipe> resumed;
  build_seeded(resumed);
  resumed.ctx().updates_per_epoch = 4;
  resumed.ctx().epochs = 5;
  resumed.ctx().global_step = 9;
  begin_fit(resumed);
  CHECK(lr_of(resumed) ==
        Approx(min_lr + (base - min_lr) * (1 + std::cos(std::numbers::pi * 2.0 / 13.0)) / 2).epsilon(1e-12));
}

TEST_CASE("lr_schedule: step_decay multiplies by gamma every step_epochs, not below min_lr", "[lr_schedule]") {
  mt::trainer<tiny_recipe<mt::policy::step_decay<{.step_epochs = 3, .gamma = 0.5, .min_lr = 2e-4}>>> t;
  build_seeded(t);
  const std::vector<double> expected = {1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 2.5e-4, 2e-4, 2e-4};
  for (std::size_t e = 0; e < expected.size(); ++e) {
    t.ctx().epoch = static_cast<std::int64_t>(e);
    t.emit(mt::hook::on_epoch_begin{}, t.ctx());
    INFO("epoch " << e);
    CHECK(lr_of(t) == Approx(expected[e]));
  }
}

TEST_CASE("lr_schedule: reduce_on_plateau matches torch ReduceLROnPlateau (rel threshold, cooldown)", "[lr_schedule]") {
  using plateau = mt::policy::reduce_on_plateau<{.factor = 0.5, .patience = 1, .threshold = 0.01, .cooldown = 1,
                                                 .min_lr = 2e-4}>;
  mt::trainer<tiny_recipe<plateau>> t;
  build_seeded(t);
  std::ostringstream log;
  t.ctx().log = &log;
  begin_fit(t);
  // Worked by hand with torch's rules: better means < best * 0.99.
  //   value  best  bad  cooldown -> lr
  const std::vector<double> values = {10, 9.95, 9.96, 9.0, 9.0, 9.0, 9.0, 8.0, 8.0, 8.0, 8.0, 8.0, 8.0};
  const std::vector<double> lrs = {1e-3,   1e-3,   5e-4,   5e-4, 5e-4, 2.5e-4, 2.5e-4,
                                   2.5e-4, 2.5e-4, 2e-4,   2e-4, 2e-4, 2e-4};
  // 10: best. 9.95: not < 9.9, bad 1. 9.96: bad 2 > 1: reduce, cooldown 1.
  // 9.0: better; cooldown ends. 9.0: bad 1. 9.0: bad 2: reduce, cooldown 1.
  // 9.0: bad 1, zeroed by the cooldown. 8.0: better. 8.0, 8.0: reduce to
  // 1.25e-4, floored at 2e-4; later reductions stay at the floor.
  for (std::size_t i = 0; i < values.size(); ++i) {
    t.ctx().metrics.val_mre = values[i];
    t.emit(mt::hook::on_validation_end{}, t.ctx());
    INFO("validation " << i << " value " << values[i]);
    CHECK(lr_of(t) == Approx(lrs[i]));
  }
}

// --- early_stopping ---------------------------------------------------------------------

TEST_CASE("early_stopping: stops after patience epochs without an improvement beyond min_delta", "[early_stopping]") {
  mt::trainer<tiny_recipe<mt::policy::early_stopping<{.patience = 3, .min_delta = 0.1}>>> t;
  build_seeded(t);
  auto& ctx = t.ctx();
  std::ostringstream log;
  ctx.log = &log;
  // 5.0 best; 4.95 is not 0.1 better (wait 1); 4.8 is (reset); then 3 flat.
  const std::vector<double> values = {5.0, 4.95, 4.8, 4.75, 4.71, 4.79};
  std::size_t stopped_at = values.size();
  for (std::size_t i = 0; i < values.size() && !ctx.stop_requested; ++i) {
    ctx.epoch = static_cast<std::int64_t>(i);
    ctx.metrics.val_mre = values[i];
    t.emit(mt::hook::on_validation_end{}, ctx);
    if (ctx.stop_requested) stopped_at = i;
  }
  CHECK(stopped_at == 5);
  CHECK(hana::at_c<0>(t.policies).best() == 4.8);
  CHECK(ctx.stop_reason.find("early stopping: val_mre did not improve by more than 0.1 for 3 epochs") == 0);
  CHECK(ctx.stop_reason.find("after epoch 3") != std::string::npos);
  CHECK(log.str().find("early stopping: val_mre") != std::string::npos);
}

// A metric the task does not report is a compile error (tests/compile_fail/monitor_typo.cpp).
TEST_CASE("early_stopping: max mode and non-finite values", "[early_stopping]") {
  mt::trainer<tiny_recipe<mt::policy::early_stopping<{.patience = 2, .monitor = "val_sdr_2mm",
                                                      .mode = mt::policy::metric_mode::max}>>> t;
  build_seeded(t);
  auto& ctx = t.ctx();
  std::ostringstream log;
  ctx.log = &log;
  for (double v : {0.5, 0.6, 0.6, 0.55}) {
    ctx.metrics.val_sdr_2mm = v;
    t.emit(mt::hook::on_validation_end{}, ctx);
  }
  CHECK(ctx.stop_requested);
  CHECK(hana::at_c<0>(t.policies).best() == 0.6);

  ctx.stop_requested = false;
  ctx.metrics.val_sdr_2mm = std::nan("");
  hana::at_c<0>(t.policies) = {};
  t.emit(mt::hook::on_validation_end{}, ctx);
  CHECK(ctx.stop_requested);
  CHECK(ctx.stop_reason.find("nan") != std::string::npos);
}

}  // namespace test_policy_schedules
