// Policies one at a time, driven through the trainer's building blocks
// (build, train_micro_batch, emit) on tiny models and hand-made batches: amp,
// grad_clip, ema, channels_last. (test_policy_schedules.cpp: LR schedules and
// early stopping.)
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>
#include <sstream>
#include <type_traits>
#include <utility>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/channels_last.hpp>
#include <mixtrain/policy/ema.hpp>
#include <mixtrain/policy/grad_clip.hpp>
#include <mixtrain/policy/lr_schedule.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;

namespace test_policy_units {
namespace {

// Records gradients as the optimizer would see them, and can poison the loss.
struct grad_probe {
  static constexpr std::string_view name = "grad_probe";
  bool poison_next = false;
  std::vector<torch::Tensor> grads;
  int skipped = 0;
  void scale_loss(auto&, torch::Tensor& loss) {
    if (std::exchange(poison_next, false)) loss = loss * std::numeric_limits<float>::infinity();
  }
  bool before_optimizer_step(auto& ctx) {
    grads = gradients(*ctx.model);
    return true;
  }
  void after_skipped_step(auto&) { ++skipped; }
};

double total_norm(const std::vector<torch::Tensor>& grads) {
  double sum = 0;
  for (const auto& g : grads) sum += g.to(torch::kDouble).square().sum().item<double>();
  return std::sqrt(sum);
}

}  // namespace

// --- amp ---------------------------------------------------------------------

TEST_CASE("amp<bf16>: forward runs in bfloat16 under autocast, state restored after", "[amp]") {
  using recipe = tiny_recipe<mt::policy::amp<mt::bf16>>;
  using amp_t = mt::policy::amp<mt::bf16>;
  static_assert(!mt::hook::scale_loss::present<amp_t>,
                "bf16 needs no loss scaling, so amp<bf16> must not take part in scale_loss");
  static_assert(!mt::hook::unscale_gradients::present<amp_t>);
  mt::trainer<recipe> t;
  hana::at_c<0>(t.policies).config.measure_on_cpu = false;  // --mixed_precision=force: bf16 even where slower
  build_seeded(t);
  auto batch = t.to_device(make_batch(2, 32, 3, 5));
  const bool was = mt::compat::autocast_enabled(torch::kCPU);
  {
    auto scope = hana::at_c<0>(t.policies).forward_scope(t.ctx());
    REQUIRE(scope.has_value());
    CHECK(mt::compat::autocast_enabled(torch::kCPU));
    CHECK(t.model()->forward(batch.input).scalar_type() == torch::kBFloat16);
  }
  CHECK(mt::compat::autocast_enabled(torch::kCPU) == was);
  CHECK(t.model()->forward(batch.input).scalar_type() == torch::kFloat32);
  // --mixed_precision=no turns it off without rebuilding.
  hana::at_c<0>(t.policies).config.enabled = false;
  CHECK_FALSE(hana::at_c<0>(t.policies).forward_scope(t.ctx()).has_value());
  // A training step in bf16 keeps float32 weights and gradients.
  hana::at_c<0>(t.policies).config.enabled = true;
  t.train_micro_batch(std::move(batch), true);
  for (const auto& p : t.model()->parameters()) CHECK(p.scalar_type() == torch::kFloat32);
}

TEST_CASE("amp<fp16>: scaled then unscaled gradients equal float32 gradients", "[amp]") {
  mt::trainer<tiny_recipe<mt::policy::amp<mt::fp16>, grad_probe>> scaled;
  mt::trainer<tiny_recipe<grad_probe>> plain;
  build_seeded(scaled);
  build_seeded(plain);
  const auto b = make_batch(4, 32, 3, 11);
  scaled.train_micro_batch(scaled.to_device(b), true);
  plain.train_micro_batch(plain.to_device(b), true);
  const auto& g1 = hana::at_c<1>(scaled.policies).grads;
  const auto& g2 = hana::at_c<0>(plain.policies).grads;
  REQUIRE(g1.size() == g2.size());
  // The scale is a power of two: multiplying and dividing by it is exact.
  for (std::size_t i = 0; i < g1.size(); ++i) CHECK(torch::allclose(g1[i], g2[i], 1e-6, 1e-9));
  CHECK(hana::at_c<0>(scaled.policies).scale() == 65536.0);
}

TEST_CASE("amp<fp16>: an inf gradient skips the step, halves the scale, advances no schedule or EMA", "[amp]") {
  using recipe = tiny_recipe<mt::policy::amp<mt::fp16>, mt::policy::ema<{.warmup = false}>,
                             mt::policy::warmup_cosine<{.warmup_steps = 4}>, grad_probe>;
  mt::trainer<recipe> t;
  build_seeded(t);
  auto& ctx = t.ctx();
  auto& amp = hana::at_c<0>(t.policies);
  auto& ema = hana::at_c<1>(t.policies);
  auto& probe = hana::at_c<3>(t.policies);
  ctx.updates_per_epoch = 10;
  ctx.epochs = 2;
  std::ostringstream log;
  ctx.log = &log;
  begin_fit(t);

  t.train_micro_batch(t.to_device(make_batch(2, 32, 3, 1)), true);
  REQUIRE(ctx.global_step == 1);
  const auto weights = snapshot(*t.model().ptr());
  const auto shadow = snapshot(*ema.shadow()->ptr());
  const double lr = lr_of(t);

  probe.poison_next = true;
  t.train_micro_batch(t.to_device(make_batch(2, 32, 3, 2)), true);
  CHECK(amp.found_inf());
  CHECK(probe.skipped == 1);
  CHECK(ctx.global_step == 1);
  CHECK(amp.scale() == 32768.0);
  CHECK(amp.skipped_steps() == 1);
  CHECK(bit_identical(snapshot(*t.model().ptr()), weights));
  CHECK(bit_identical(snapshot(*ema.shadow()->ptr()), shadow));
  CHECK(lr_of(t) == lr);
  // The poisoned gradients were cleared: the next window steps normally.
  t.train_micro_batch(t.to_device(make_batch(2, 32, 3, 3)), true);
  CHECK_FALSE(amp.found_inf());
  CHECK(ctx.global_step == 2);
  CHECK(amp.scale() == 32768.0);
  CHECK_FALSE(bit_identical(snapshot(*t.model().ptr()), weights));
  CHECK(lr_of(t) != lr);
}

TEST_CASE("amp<fp16>: the scale grows after growth_interval clean steps and survives a checkpoint", "[amp]") {
  using amp_t = mt::policy::amp<mt::fp16, {.init_scale = 1024, .growth_interval = 3}>;
  mt::trainer<tiny_recipe<amp_t>> t;
  build_seeded(t);
  auto& amp = hana::at_c<0>(t.policies);
  for (int i = 0; i < 3; ++i) amp.after_optimizer_step(t.ctx());
  CHECK(amp.scale() == 2048.0);
  CHECK(amp.growth_tracker() == 0);
  amp.after_optimizer_step(t.ctx());
  CHECK(amp.growth_tracker() == 1);

  torch::serialize::OutputArchive out;
  amp.save_state(out);
  std::ostringstream bytes;
  out.save_to(bytes);
  std::istringstream in_bytes(bytes.str());
  torch::serialize::InputArchive in;
  in.load_from(in_bytes);
  amp_t restored;
  restored.load_state(in);
  CHECK(restored.scale() == 2048.0);
  CHECK(restored.growth_tracker() == 1);
}

// --- grad_clip -----------------------------------------------------------------

TEST_CASE("grad_clip: scales gradients to max_norm when their total norm exceeds it", "[grad_clip]") {
  mt::trainer<tiny_recipe<grad_probe>> plain;
  mt::trainer<tiny_recipe<mt::policy::grad_clip<{.max_norm = 1e-3}>, grad_probe>> clipped;
  build_seeded(plain);
  build_seeded(clipped);
  const auto b = make_batch(4, 32, 3, 21);
  plain.train_micro_batch(plain.to_device(b), true);
  clipped.train_micro_batch(clipped.to_device(b), true);
  const auto& raw = hana::at_c<0>(plain.policies).grads;
  const auto& got = hana::at_c<1>(clipped.policies).grads;
  const double norm = total_norm(raw);
  REQUIRE(norm > 1e-3);
  CHECK(hana::at_c<0>(clipped.policies).last_norm() == Approx(norm).epsilon(1e-5));
  CHECK(total_norm(got) == Approx(1e-3).epsilon(1e-4));
  for (std::size_t i = 0; i < raw.size(); ++i)
    CHECK(torch::allclose(got[i], raw[i] * (1e-3 / (norm + 1e-6)), 1e-4, 1e-10));
}

TEST_CASE("grad_clip: clips unscaled gradients even when listed before amp<fp16>", "[grad_clip][amp]") {
  // Recipe order puts clipping first; unscale_gradients still runs before it.
  mt::trainer<tiny_recipe<mt::policy::grad_clip<{.max_norm = 1e-3}>, mt::policy::amp<mt::fp16>, grad_probe>> t;
  mt::trainer<tiny_recipe<grad_probe>> plain;
  build_seeded(t);
  build_seeded(plain);
  const auto b = make_batch(4, 32, 3, 22);
  t.train_micro_batch(t.to_device(b), true);
  plain.train_micro_batch(plain.to_device(b), true);
  CHECK(hana::at_c<0>(t.policies).last_norm() == Approx(total_norm(hana::at_c<0>(plain.policies).grads)).epsilon(1e-5));
  CHECK(total_norm(hana::at_c<2>(t.policies).grads) == Approx(1e-3).epsilon(1e-4));
  CHECK(t.ctx().global_step == 1);
}

// --- ema -----------------------------------------------------------------------

TEST_CASE("ema: decay warmup follows 1 - (1 + t/gamma)^-power clamped to [min_decay, decay]", "[ema]") {
  const mt::policy::ema_config c{.decay = 0.999, .warmup_gamma = 2.0, .warmup_power = 0.75, .min_decay = 0.2,
                                 .update_after_step = 3};
  for (std::int64_t step = 0; step < 5000; step += (step < 20 ? 1 : 97)) {
    const auto t = std::max<std::int64_t>(0, step - 3 - 1);
    double expected = 0;
    if (t > 0) expected = std::clamp(1.0 - std::pow(1.0 + static_cast<double>(t) / 2.0, -0.75), 0.2, 0.999);
    INFO("step " << step);
    CHECK(mt::policy::ema_decay_at(c, step) == Approx(expected).margin(1e-15));
  }
  // Defaults: timm's gamma 1, power 2/3, ceiling 0.9998; the first update copies.
  const mt::policy::ema_config d{};
  CHECK(mt::policy::ema_decay_at(d, 1) == 0.0);
  CHECK(mt::policy::ema_decay_at(d, 2) == Approx(1.0 - std::pow(2.0, -2.0 / 3.0)));
  CHECK(mt::policy::ema_decay_at(d, 1001) == Approx(0.99).margin(1e-4));
  CHECK(mt::policy::ema_decay_at(d, 100'000'000) == 0.9998);
  // Without warmup the decay is constant after the first update.
  const mt::policy::ema_config flat{.decay = 0.9, .warmup = false};
  CHECK(mt::policy::ema_decay_at(flat, 1) == 0.0);
  CHECK(mt::policy::ema_decay_at(flat, 2) == 0.9);
  CHECK(mt::policy::ema_decay_at(flat, 50) == 0.9);
}

TEST_CASE("ema: the shadow averages parameters and float buffers, copies integer buffers", "[ema]") {
  using recipe = unet_recipe<mt::policy::ema<{.decay = 0.9, .warmup = false}>>;
  mt::trainer<recipe> t;
  build_seeded(t, 5);
  auto& ema = hana::at_c<0>(t.policies);
  auto& ctx = t.ctx();
  REQUIRE(ema.shadow().has_value());
  // A deep copy of the same module type, frozen, in eval mode.
  // A copy of the recipe's own module type, no base class in between.
  static_assert(std::is_same_v<std::remove_cvref_t<decltype(*ema.shadow())>, mt::trainer<recipe>::module_type>);
  CHECK(ema.shadow()->ptr().get() != t.model().ptr().get());
  for (const auto& p : (*ema.shadow())->parameters()) CHECK_FALSE(p.requires_grad());
  CHECK_FALSE((*ema.shadow())->is_training());
  // Validation uses the shadow only once it holds real weights.
  CHECK(&t.evaluation_module() == &t.model());
  begin_fit(t);
  CHECK(&t.evaluation_module() == &*ema.shadow());
  const auto before = snapshot(*ema.shadow()->ptr());
  CHECK(bit_identical(before, snapshot(*t.model().ptr())));

  {
    torch::NoGradGuard no_grad;
    for (auto& p : t.model()->parameters()) p.add_(1.0);
    for (auto& b : t.model()->named_buffers(true)) {
      if (b.value().is_floating_point()) b.value().add_(2.0);
      else b.value().fill_(7);
    }
  }
  ctx.global_step = 5;
  t.emit(mt::hook::after_optimizer_step{}, ctx);
  const auto after = snapshot(*ema.shadow()->ptr());
  const auto model = snapshot(*t.model().ptr());
  int floating = 0, integer = 0;
  for (const auto& [name, value] : after) {
    INFO(name);
    if (value.is_floating_point()) {
      ++floating;
      CHECK(torch::allclose(value, 0.9 * before.at(name) + 0.1 * model.at(name), 1e-6, 1e-6));
    } else {
      ++integer;
      CHECK(value.item<std::int64_t>() == 7);
    }
  }
  CHECK(floating > 0);
  CHECK(integer > 0);  // num_batches_tracked of every BatchNorm
}

TEST_CASE("ema: checkpoints keep the shadow apart from the raw weights", "[ema]") {
  using recipe = unet_recipe<mt::policy::ema<{.decay = 0.5, .warmup = false}>>;
  temp_dir dir("ema_state");
  mt::trainer<recipe> a;
  build_seeded(a, 4, 1);
  begin_fit(a);
  for (int i = 0; i < 3; ++i) a.train_micro_batch(a.to_device(make_batch(2, 64, 4, 30 + i)), true);
  const auto shadow = snapshot(*hana::at_c<0>(a.policies).shadow()->ptr());
  const auto raw = snapshot(*a.model().ptr());
  REQUIRE_FALSE(bit_identical(shadow, raw));
  a.save_checkpoint(dir.path / "a.pt");

  mt::trainer<recipe> b;
  build_seeded(b, 4, 2);
  b.load_checkpoint(dir.path / "a.pt", mt::trainer<recipe>::restore::weights_only);
  CHECK(bit_identical(snapshot(*b.model().ptr()), raw));
  CHECK(bit_identical(snapshot(*hana::at_c<0>(b.policies).shadow()->ptr()), shadow));
  CHECK(&b.evaluation_module() == &*hana::at_c<0>(b.policies).shadow());
}

// --- channels_last ---------------------------------------------------------------

TEST_CASE("channels_last: weights, inputs and activations stay channels-last through the model", "[channels_last]") {
  using recipe = unet_recipe<mt::policy::channels_last, mt::policy::ema<>>;
  constexpr auto cl = torch::MemoryFormat::ChannelsLast;
  mt::trainer<recipe> t;
  hana::at_c<0>(t.policies).config.measure_on_cpu = false;  // --channels_last=force (the measured path: test_switch_measurement.cpp)
  build_seeded(t, 5);
  int four_d = 0;
  for (const auto& p : t.model()->parameters())
    if (p.dim() == 4) {
      ++four_d;
      CHECK(p.is_contiguous(cl));
    }
  CHECK(four_d > 10);
  // The optimizer was built after the conversion: it holds the same tensors.
  for (const auto& group : t.optimizer().param_groups())
    for (const auto& p : group.params())
      if (p.dim() == 4) CHECK(p.is_contiguous(cl));
  // The EMA copy keeps the layout.
  for (const auto& p : (*hana::at_c<1>(t.policies).shadow())->parameters())
    if (p.dim() == 4) CHECK(p.is_contiguous(cl));

  // A 1-channel NCHW tensor is channels-last by stride rules already, so the
  // conversion is checked on 3 channels, and shown to be the policy's doing.
  auto rgb = torch::rand({2, 3, 8, 8});
  REQUIRE_FALSE(rgb.is_contiguous(cl));
  hana::at_c<0>(t.policies).config.enabled = false;
  t.emit(mt::hook::prepare_input{}, t.ctx(), rgb);
  CHECK_FALSE(rgb.is_contiguous(cl));
  hana::at_c<0>(t.policies).config.enabled = true;
  t.emit(mt::hook::prepare_input{}, t.ctx(), rgb);
  CHECK(rgb.is_contiguous(cl));
  CHECK(rgb.sizes() == torch::IntArrayRef({2, 3, 8, 8}));

  auto batch = t.to_device(make_batch(2, 64, 5, 40));
  t.emit(mt::hook::prepare_input{}, t.ctx(), batch.input);
  {
    torch::NoGradGuard no_grad;
    // Stem, every encoder level and the decoder output: no layout fallback.
    auto x = t.model()->stem->forward(batch.input);
    CHECK(x.is_contiguous(cl));
    for (std::size_t i = 0; i < t.model()->down->size(); ++i) {
      x = t.model()->down[i]->as<torch::nn::Sequential>()->forward(x);
      CHECK(x.is_contiguous(cl));
    }
    const auto out = t.model()->forward(batch.input);
    CHECK(out.size(1) == 5);
    CHECK(out.is_contiguous(cl));
  }
  t.train_micro_batch(std::move(batch), true);
  for (const auto& p : t.model()->parameters())
    if (p.dim() == 4) {
      CHECK(p.is_contiguous(cl));
      CHECK(p.grad().is_contiguous(cl));
    }
}

}  // namespace test_policy_units
