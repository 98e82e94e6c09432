// The demo recipe plus two test-only policies that make faults happen on
// purpose inside a real process:
//   --poison_from_step N --poison_steps K   micro-batches N..N+K-1 (0-based,
//       whole run) get a NaN input, so their loss is NaN (a corrupt image or a
//       diverging model looks the same to the loop);
//   --stall_at_step N --stall_seconds S     micro-batch N prints "stalling"
//       and sleeps S seconds first, so that a signal lands exactly there;
//   --checkpoint_every_step                 last.pt after every optimizer
//       step, so that a kill -9 often lands while a checkpoint is written.
// Two checks read checkpoints back through the library's own loader:
//   fault_recipe same_weights A.pt B.pt   exit 0 when every weight and
//                                         buffer is bit-identical
//   fault_recipe finite_weights A.pt      exit 0 when all are finite
#include <cstdint>
#include <cstring>
#include <chrono>
#include <iostream>
#include <thread>
#include <limits>
#include <string_view>

#include <mixtrain/mixtrain.hpp>

namespace mt = mixtrain;

namespace faults {

struct poison_input {
  static constexpr std::string_view name = "poison_input";
  std::int64_t from_step = -1;
  std::int64_t steps = 0;

  void add_flags(mt::flag_set cli) {
    cli.add_option("--poison_from_step", from_step, "first micro-batch (0-based) given a NaN input");
    cli.add_option("--poison_steps", steps, "how many micro-batches in a row get a NaN input");
  }
  void prepare_input(auto& ctx, torch::Tensor& input) const {
    if (ctx.model->is_training() && ctx.micro_step >= from_step &&
        ctx.micro_step < from_step + steps)
      input = input.to(torch::kFloat32) * std::numeric_limits<float>::quiet_NaN();
  }
};

struct stall {
  static constexpr std::string_view name = "stall";
  std::int64_t at_step = -1;
  double seconds = 5;
  void add_flags(mt::flag_set cli) {
    cli.add_option("--stall_at_step", at_step, "micro-batch (0-based, whole run) that first sleeps");
    cli.add_option("--stall_seconds", seconds, "how long it sleeps");
  }
  void prepare_input(auto& ctx, torch::Tensor&) const {
    if (!ctx.model->is_training() || ctx.micro_step != at_step) return;
    std::cout << "stalling at micro-batch " << at_step << std::endl;
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  }
};

struct checkpoint_every_step {
  static constexpr std::string_view name = "checkpoint_every_step";
  bool enabled = false;
  void add_flags(mt::flag_set cli) { cli.add_flag("--checkpoint_every_step", enabled, "write last.pt after every step"); }
  void after_optimizer_step(auto& ctx) const {
    if (enabled) ctx.write_checkpoint(ctx.output_dir / "last.pt");
  }
};

}  // namespace faults

using recipe = mt::recipe<
    mt::model::compact_unet<{.width = 24}>,
    mt::data::aariz<{.image_size = {256, 256}},
                    mt::augment::affine<{.rotate_deg = 8, .scale = {0.9, 1.1}, .shift_fraction = 0.04}>,
                    mt::augment::intensity<{.brightness = 0.1, .contrast = 0.15}>>,
    mt::task::landmark_heatmaps<{.sigma = 2.0}, mt::loss::heatmap_mse, mt::heatmap::dark>,
    mt::optim::adamw<{.lr = 2e-3, .weight_decay = 1e-4}>, faults::poison_input, faults::stall,
    faults::checkpoint_every_step,
    mt::fit<{.epochs = 40, .batch_size = 8, .num_workers = 2, .cache_mb = 512}>>;

namespace faults {

// The model's named weights and buffers as stored in a checkpoint.
std::vector<std::pair<std::string, torch::Tensor>> stored_tensors(const char* checkpoint) {
  mt::trainer<recipe> t;
  const auto contract = mt::io::read_contract(checkpoint);
  t.data.adopt_contract(contract);  // the input size it was trained at
  t.build(decltype(t)::task_type::targets_from_contract(contract));
  t.load_checkpoint(checkpoint, mt::trainer<recipe>::restore::weights_only);
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& p : t.model()->named_parameters()) out.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : t.model()->named_buffers()) out.emplace_back(b.key(), b.value().detach().clone());
  return out;
}

int same_weights(const char* a, const char* b) {
  const auto first = stored_tensors(a), second = stored_tensors(b);
  int differing = 0;
  for (std::size_t i = 0; i < first.size(); ++i) {
    const auto& x = first[i].second;
    const auto& y = second.at(i).second;
    const bool same = x.sizes() == y.sizes() && x.dtype() == y.dtype() &&
                      std::memcmp(x.data_ptr(), y.data_ptr(), x.numel() * x.element_size()) == 0;
    if (!same) std::cout << "differs: " << first[i].first << "\n", ++differing;
  }
  std::cout << first.size() - differing << " of " << first.size() << " tensors bit-identical\n";
  return differing == 0 ? 0 : 1;
}

int finite_weights(const char* a) {
  int bad = 0;
  for (const auto& [name, tensor] : stored_tensors(a))
    if (tensor.is_floating_point() && !torch::isfinite(tensor).all().item<bool>()) std::cout << "not finite: " << name << "\n", ++bad;
  std::cout << (bad == 0 ? "all weights finite\n" : "some weights are not finite\n");
  return bad == 0 ? 0 : 1;
}

}  // namespace faults

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "same_weights") == 0) return faults::same_weights(argv[2], argv[3]);
  if (argc == 3 && std::strcmp(argv[1], "finite_weights") == 0) return faults::finite_weights(argv[2]);
  return mt::main<recipe>(argc, argv);
}
