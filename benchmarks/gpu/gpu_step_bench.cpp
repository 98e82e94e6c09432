// HRNet-W32 training steps on one device, the figures scripts/gpu-check prints:
// forward pass, heatmap MSE, backward pass and an AdamW step (the library's
// model and optimizer spec) at --image_size and --batch_size, for
//
//   fp32                           eager float32
//   bf16                           autocast to bfloat16 (core/compat.hpp's scope)
//   bf16_channels_last             the same with NHWC weights and inputs
//   bf16_channels_last_cuda_graph  the same with forward and backward captured
//                                  as a CUDA graph after warm-up and replayed
//                                  (mt::policy::cuda_graph_step); the AdamW
//                                  step stays eager (its step count is on the
//                                  host). n/a without a CUDA device or build.
//
// One line per variant: images/s over the timed steps and the peak device
// memory (CUDA's caching allocator, where built with CUDA). Inputs and targets
// are random tensors made once on the device, so the figure is the step alone;
// the data pipeline (OpenCV) is not part of this program and needs none.
// The device is synchronised only around the timed steps, and the loss is
// read back once, after them.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <mixtrain/core/compat.hpp>
#include <mixtrain/core/device_memory.hpp>
#include <mixtrain/core/memory_layout.hpp>
#include <mixtrain/model/hrnet.hpp>
#include <mixtrain/optim/adamw.hpp>
#include <mixtrain/policy/cuda_graph.hpp>

namespace mt = mixtrain;

namespace {

struct variant {
  std::string name;
  bool bf16 = false;
  bool channels_last = false;
  bool cuda_graph = false;
};

const std::vector<variant>& known_variants() {
  static const std::vector<variant> all = {{"fp32", false, false, false},
                                           {"bf16", true, false, false},
                                           {"bf16_channels_last", true, true, false},
                                           {"bf16_channels_last_cuda_graph", true, true, true}};
  return all;
}

struct settings {
  std::string device = "cuda";
  int image_size = 1024;
  int batch_size = 2;
  int num_landmarks = 29;  // Aariz
  int warmup = 3;
  int steps = 10;
  std::vector<std::string> variants = {"fp32", "bf16", "bf16_channels_last", "bf16_channels_last_cuda_graph"};
  bool json = false;
  std::string adamw = "foreach";  // the library's (optim::adamw); per_tensor: LibTorch's AdamW, for comparison
};

void synchronise(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

std::string gib(const std::optional<std::int64_t>& bytes) {
  return bytes ? fmt::format("{:.2f} GiB", static_cast<double>(*bytes) / (1024.0 * 1024.0 * 1024.0)) : "n/a";
}

struct result {
  double seconds = 0;
  double images_per_second = 0;
  double loss = 0;
  mt::device_memory_peak memory;
};

result measure(const settings& s, const variant& v, const torch::Device& device) {
  torch::manual_seed(0);
  using spec = mt::model::hrnet<mt::model::hrnet_w32>;
  auto model = spec::build({.num_landmarks = s.num_landmarks});
  model->to(device);
  if (v.channels_last) mt::set_memory_format(*model, torch::MemoryFormat::ChannelsLast);  // as policy::channels_last
  const auto spec_options = mt::optim::adamw<>{}.config;
  std::unique_ptr<torch::optim::Optimizer> optimizer;
  if (s.adamw == "foreach")
    optimizer = std::make_unique<mt::optim::foreach_adamw>(mt::optim::adamw<>{}.build(model->parameters()));
  else
    optimizer = std::make_unique<torch::optim::AdamW>(
        model->parameters(), torch::optim::AdamWOptions(spec_options.lr)
                                 .weight_decay(spec_options.weight_decay)
                                 .betas({spec_options.beta1, spec_options.beta2})
                                 .eps(spec_options.eps));
  model->train();

  const auto options = torch::TensorOptions(device);
  auto input = torch::randn({s.batch_size, 1, s.image_size, s.image_size}, options);
  if (v.channels_last) input = input.contiguous(torch::MemoryFormat::ChannelsLast);
  const auto side = s.image_size / spec::output_stride;
  const auto target = torch::rand({s.batch_size, s.num_landmarks, side, side}, options);

  auto forward_loss = [&](const torch::Tensor& x, const torch::Tensor& y) {
    std::optional<mt::compat::autocast_scope> scope;
    if (v.bf16) scope.emplace(device.type(), torch::kBFloat16);
    return torch::mse_loss(model->forward(x), y);
  };
  // The graph variant: captured at the last warm-up step, so every timed
  // step is a replay (plus the eager AdamW step). It owns the gradients:
  // no zero_grad().
  std::optional<mt::policy::cuda_graph_step<decltype(forward_loss)>> graph;
  if (v.cuda_graph) graph.emplace(device, model->parameters(), forward_loss, std::max(1, s.warmup - 1));
  auto step = [&] {
    torch::Tensor loss;
    if (graph) {
      loss = graph->run(input, target);
    } else {
      optimizer->zero_grad();
      loss = forward_loss(input, target);
      loss.backward();
      loss = loss.detach();
    }
    optimizer->step();
    return loss;
  };

  mt::reset_device_memory_peak(device);  // the peak includes the warm-up (cuDNN's search)
  for (int i = 0; i < s.warmup; ++i) step();
  synchronise(device);
  const auto start = std::chrono::steady_clock::now();
  torch::Tensor last;
  for (int i = 0; i < s.steps; ++i) last = step();
  synchronise(device);
  result r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.images_per_second = s.batch_size * s.steps / r.seconds;
  r.loss = last.item<double>();
  r.memory = mt::read_device_memory_peak(device);
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  settings s;
  CLI::App app{"HRNet-W32 training steps per second and peak device memory (scripts/gpu-check)"};
  app.add_option("--device", s.device, "cuda, cuda:N or cpu")->capture_default_str();
  app.add_option("--image_size", s.image_size, "square input side, a multiple of 32")
      ->capture_default_str()
      ->check(CLI::Range(32, 8192));
  app.add_option("--batch_size", s.batch_size)->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--num_landmarks", s.num_landmarks)->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--warmup", s.warmup, "untimed steps first")->capture_default_str()->check(CLI::NonNegativeNumber);
  app.add_option("--steps", s.steps, "timed steps")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--variants", s.variants, "any of fp32 bf16 bf16_channels_last bf16_channels_last_cuda_graph")
      ->delimiter(',');
  app.add_flag("--json", s.json, "one JSON object per variant instead of a table line");
  app.add_option("--adamw", s.adamw, "foreach (the library's optim::adamw) or per_tensor (LibTorch's AdamW)")
      ->capture_default_str()
      ->check(CLI::IsMember({"foreach", "per_tensor"}));
  CLI11_PARSE(app, argc, argv);
  if (s.image_size % 32 != 0) {
    std::cerr << "error: --image_size: must be a multiple of 32 (HRNet halves it five times), got " << s.image_size
              << "\n";
    return 2;
  }

  std::vector<const variant*> chosen;
  for (const auto& name : s.variants) {
    const variant* v = nullptr;
    for (const auto& k : known_variants())
      if (k.name == name) v = &k;
    if (v == nullptr) {
      std::cerr << "error: --variants: unknown variant '" << name << "'\n";
      return 2;
    }
    chosen.push_back(v);
  }

  torch::Device device(s.device);
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      std::cerr << "error: --device " << s.device << ": no CUDA device is visible to this LibTorch\n";
      return 2;
    }
    if (!device.has_index()) device = torch::Device(torch::kCUDA, 0);
  }
#ifdef MIXTRAIN_WITH_CUDA
  const bool memory_statistics = true;
#else
  const bool memory_statistics = false;
#endif
  // As training scripts set torch.backends.cudnn.benchmark: the warm-up picks the kernels.
  at::globalContext().setBenchmarkCuDNN(true);

  if (!s.json)
    fmt::print("HRNet-W32, {}x{}, batch {}, {} landmarks, {} warm-up + {} timed steps on {} (LibTorch {}{})\n",
               s.image_size, s.image_size, s.batch_size, s.num_landmarks, s.warmup, s.steps, device.str(),
               TORCH_VERSION, memory_statistics ? ", CUDA memory statistics" : ", no CUDA memory statistics");
  int failures = 0;
  for (const variant* v : chosen) {
    const auto& name = v->name;
    nlohmann::json j{{"variant", name}, {"device", device.str()}, {"image_size", s.image_size},
                     {"batch_size", s.batch_size}, {"steps", s.steps}, {"adamw", s.adamw}};
    if (v->cuda_graph && (!device.is_cuda() || !mt::policy::cuda_graphs_built())) {
      // Nothing is measured in its place: an eager step would be a wrong figure.
      const std::string why = !device.is_cuda() ? "n/a: CUDA graphs need a CUDA device, the device is " + device.str()
                                                : std::string("n/a: this build has no CUDA graphs (no MIXTRAIN_WITH_CUDA)");
      j["status"] = why;
      if (s.json) std::cout << j.dump() << "\n";
      else fmt::print("{:<31} {}\n", name, why);
      continue;
    }
    const auto r = measure(s, *v, device);
    const bool finite = std::isfinite(r.loss);
    if (!finite) ++failures;
    j["status"] = finite ? "ok" : "non-finite loss";
    j["images_per_second"] = r.images_per_second;
    j["seconds"] = r.seconds;
    j["loss"] = r.loss;
    j["peak_allocated_bytes"] = r.memory.allocated ? nlohmann::json(*r.memory.allocated) : nlohmann::json();
    j["peak_reserved_bytes"] = r.memory.reserved ? nlohmann::json(*r.memory.reserved) : nlohmann::json();
    if (s.json) std::cout << j.dump() << "\n";
    else
      fmt::print("{:<31} {:8.2f} images/s   peak allocated {}, reserved {}   ({:.2f} s, loss {:.4g}{})\n", name,
                 r.images_per_second, gib(r.memory.allocated), gib(r.memory.reserved), r.seconds, r.loss,
                 finite ? "" : ": NOT FINITE");
    std::cout.flush();
  }
  return failures == 0 ? 0 : 1;
}
