#pragma once
// HRNet for heatmap regression (Sun, Xiao, Liu, Wang, CVPR 2019), pose variant:
//
//   stem      two 3x3 stride-2 convs (BN + ReLU)                     -> 1/4
//   stage 1   bottlenecks (planes 64, expansion 4 -> 256 channels)
//   stages 2-4  transition (new lower-resolution branch by strided 3x3 conv),
//             then modules of parallel branches (widths C, 2C, 4C, 8C) of basic
//             blocks, each module ending in a full exchange unit; the last
//             module fuses into the high-resolution branch only
//   head      1x1 conv on the high-resolution branch -> num_landmarks maps at
//             1/4 input resolution, or with `.head_upsample` a 4x4 stride-2
//             transposed conv + BN + ReLU first (as in HigherHRNet) -> 1/2.
//
// One generic builder reads every size (widths, branches, modules, blocks) from
// `hrnet_config`; the presets below are just data. Parameter names follow the
// public PyTorch implementation (conv1, bn1, layer1.0.conv1, transition1.1.0.0,
// stage2.0.branches.0.0.conv1, stage2.0.fuse_layers.0.1.0, final_layer, ...) so
// its state dicts load without renaming (see mixtrain/io/state_dict.hpp and
// benchmarks/hrnet_reference.py, the same network in PyTorch).
//
// Every module is Cloneable and only keeps handles to its direct children, so
// `clone()` (e.g. for an EMA copy) yields a working deep copy. BatchNorm
// layers are batch_norm_2d: LibTorch's BatchNorm, synchronised over the
// data-parallel ranks with --sync_batch_norm (model/batch_norm.hpp).
// (About 500 lines on purpose: the blocks, the multi-resolution module and the
// generic builder share private helpers; split, each part would be unreadable alone.)
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <torch/torch.h>

#include "mixtrain/model/model_spec.hpp"
#include <mixtrain/core/separate_compilation.hpp>
#include <mixtrain/model/batch_norm.hpp>

namespace mixtrain::model {

struct hrnet_config {
  int width = 32;                             // C; branch b has C << b channels
  std::array<int, 3> stage_branches = {2, 3, 4};  // stages 2, 3, 4
  std::array<int, 3> stage_modules = {1, 4, 3};
  int blocks = 4;                             // basic blocks per branch per module
  int stem_channels = 64;
  int stage1_blocks = 4;                      // bottlenecks in stage 1
  int stage1_planes = 64;                     // bottleneck width; outputs 4x that
  bool head_upsample = false;                 // 1/2- instead of 1/4-resolution heatmaps
  char label[24] = {};                        // model name; empty: derived from the sizes

  // The same network with the upsampling head, e.g. hrnet<hrnet_w32.with_head_upsample()>.
  constexpr hrnet_config with_head_upsample() const {
    hrnet_config c = *this;
    c.head_upsample = true;
    return c;
  }
};

inline constexpr hrnet_config hrnet_w18{.width = 18, .label = "hrnet_w18"};
inline constexpr hrnet_config hrnet_w32{.width = 32, .label = "hrnet_w32"};
inline constexpr hrnet_config hrnet_w48{.width = 48, .label = "hrnet_w48"};
// W18 with one module per stage and two blocks per branch: ~1.9M parameters,
// small enough to train in minutes on two CPU cores.
inline constexpr hrnet_config hrnet_small{
    .width = 18, .stage_modules = {1, 1, 1}, .blocks = 2, .label = "hrnet_small"};

namespace hrnet_detail {

constexpr int bn_expansion = 4;  // bottleneck output channels per plane
constexpr double bn_momentum = 0.1;

MIXTRAIN_COLD torch::nn::Conv2d conv(std::int64_t in, std::int64_t out, std::int64_t kernel,
                                     std::int64_t stride = 1);

MIXTRAIN_COLD batch_norm_2d batch_norm(std::int64_t channels);

struct conv_unit {
  std::int64_t in, out, kernel, stride;
  bool relu;
};

// conv + BN (+ ReLU) units in a row. Flat (one unit): conv and BN are the
// children "0" and "1"; nested: each unit is a child "0", "1", ... of its own.
// This reproduces the reference's nn.Sequential nesting, and hence its names,
// without nesting LibTorch Sequentials (which AnyModule cannot hold).
class conv_stackImpl : public torch::nn::Cloneable<conv_stackImpl> {
 public:
  conv_stackImpl(std::vector<conv_unit> units, bool nested) : units_(std::move(units)), nested_(nested) {
    TORCH_CHECK(nested_ || units_.size() == 1, "conv_stack: a flat stack holds exactly one unit");
    reset();
  }

  void reset() override {
    parts_.clear();
    conv_ = torch::nn::Conv2d(nullptr);
    bn_ = batch_norm_2d(nullptr);
    if (nested_) {
      for (std::size_t k = 0; k < units_.size(); ++k)
        parts_.push_back(register_module(std::to_string(k), std::make_shared<conv_stackImpl>(
                                                                std::vector<conv_unit>{units_[k]}, false)));
    } else {
      const auto& u = units_.front();
      conv_ = register_module("0", conv(u.in, u.out, u.kernel, u.stride));
      bn_ = register_module("1", batch_norm(u.out));
    }
  }

  torch::Tensor forward(torch::Tensor x) {
    if (nested_) {
      for (const auto& part : parts_) x = part->forward(x);
      return x;
    }
    x = bn_(conv_(x));
    return units_.front().relu ? torch::relu(x) : x;
  }

 private:
  std::vector<conv_unit> units_;
  bool nested_;
  std::vector<std::shared_ptr<conv_stackImpl>> parts_;
  torch::nn::Conv2d conv_{nullptr};
  batch_norm_2d bn_{nullptr};
};
TORCH_MODULE(conv_stack);

MIXTRAIN_COLD conv_stack conv_bn(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t stride, bool relu);

// Residual blocks. `expansion` 1 is the basic block (two 3x3 convs), 4 the
// bottleneck (1x1 reduce, 3x3, 1x1 expand); both get a 1x1 projection when
// the channel count changes.
class residual_blockImpl : public torch::nn::Cloneable<residual_blockImpl> {
 public:
  residual_blockImpl(std::int64_t in, std::int64_t planes, int expansion)
      : in_(in), planes_(planes), expansion_(expansion) {
    reset();
  }

  void reset() override {
    const auto out = planes_ * expansion_;
    if (expansion_ == 1) {
      conv1 = register_module("conv1", conv(in_, planes_, 3));
      bn1 = register_module("bn1", batch_norm(planes_));
      conv2 = register_module("conv2", conv(planes_, planes_, 3));
      bn2 = register_module("bn2", batch_norm(planes_));
      conv3 = torch::nn::Conv2d(nullptr);
      bn3 = batch_norm_2d(nullptr);
    } else {
      conv1 = register_module("conv1", conv(in_, planes_, 1));
      bn1 = register_module("bn1", batch_norm(planes_));
      conv2 = register_module("conv2", conv(planes_, planes_, 3));
      bn2 = register_module("bn2", batch_norm(planes_));
      conv3 = register_module("conv3", conv(planes_, out, 1));
      bn3 = register_module("bn3", batch_norm(out));
    }
    downsample = in_ != out ? register_module("downsample", conv_bn(in_, out, 1, 1, false))
                            : conv_stack(nullptr);
  }

  torch::Tensor forward(const torch::Tensor& x) {
    auto out = torch::relu(bn1(conv1(x)));
    out = bn2(conv2(out));
    if (conv3) out = bn3(conv3(torch::relu(out)));
    return torch::relu(out + (downsample ? downsample->forward(x) : x));
  }

 private:
  std::int64_t in_, planes_;
  int expansion_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv3{nullptr};
  batch_norm_2d bn1{nullptr}, bn2{nullptr}, bn3{nullptr};
  conv_stack downsample{nullptr};
};
TORCH_MODULE(residual_block);

// `count` blocks turning `in` channels into planes * expansion.
MIXTRAIN_COLD torch::nn::Sequential residual_layer(std::int64_t in, std::int64_t planes, int expansion,
                                                   int count);

// Between stages: keeps or re-widths existing branches and adds new ones, each
// by a chain of stride-2 3x3 convs from the lowest-resolution input. Entries
// that pass through unchanged have no module, as in the reference (gaps in
// the child names).
class transitionImpl : public torch::nn::Cloneable<transitionImpl> {
 public:
  transitionImpl(std::vector<std::int64_t> pre, std::vector<std::int64_t> cur)
      : pre_(std::move(pre)), cur_(std::move(cur)) {
    reset();
  }

  void reset() override {
    paths_.assign(cur_.size(), conv_stack(nullptr));
    const auto n_pre = pre_.size();
    for (std::size_t i = 0; i < cur_.size(); ++i) {
      conv_stack path(nullptr);
      if (i < n_pre) {
        if (pre_[i] != cur_[i]) path = conv_bn(pre_[i], cur_[i], 3, 1, true);
      } else {
        std::vector<conv_unit> units;
        for (std::size_t k = 0; k + n_pre <= i; ++k) {
          const bool last = k + n_pre == i;
          units.push_back({pre_.back(), last ? cur_[i] : pre_.back(), 3, 2, true});
        }
        path = conv_stack(std::move(units), true);
      }
      if (path) paths_[i] = register_module(std::to_string(i), path);
    }
  }

  std::vector<torch::Tensor> forward(const std::vector<torch::Tensor>& ys) {
    std::vector<torch::Tensor> xs;
    xs.reserve(paths_.size());
    for (std::size_t i = 0; i < paths_.size(); ++i) {
      const auto& source = i < ys.size() ? ys[i] : ys.back();
      xs.push_back(paths_[i] ? paths_[i]->forward(source) : source);
    }
    return xs;
  }

 private:
  std::vector<std::int64_t> pre_, cur_;
  std::vector<conv_stack> paths_;
};
TORCH_MODULE(transition);

// One output of an exchange unit: the sum over all branches brought to
// branch `target`'s resolution and width, then ReLU. Lower resolutions: 1x1
// conv + BN, then nearest upsampling (done in forward to the exact target
// size, so inputs need not be multiples of 32). Higher resolutions: a chain of
// stride-2 3x3 convs + BN, with ReLU between them.
class fuse_rowImpl : public torch::nn::Cloneable<fuse_rowImpl> {
 public:
  fuse_rowImpl(std::vector<std::int64_t> channels, std::size_t target)
      : channels_(std::move(channels)), target_(target) {
    reset();
  }

  void reset() override {
    paths_.assign(channels_.size(), conv_stack(nullptr));
    const auto i = target_;
    for (std::size_t j = 0; j < channels_.size(); ++j) {
      if (j == i) continue;
      if (j > i) {
        paths_[j] = register_module(std::to_string(j), conv_bn(channels_[j], channels_[i], 1, 1, false));
      } else {
        std::vector<conv_unit> units;
        for (std::size_t k = 0; k < i - j; ++k) {
          const bool last = k + 1 == i - j;
          units.push_back({channels_[j], last ? channels_[i] : channels_[j], 3, 2, !last});
        }
        paths_[j] = register_module(std::to_string(j), conv_stack(std::move(units), true));
      }
    }
  }

  torch::Tensor forward(const std::vector<torch::Tensor>& xs) {
    namespace F = torch::nn::functional;
    const auto& own = xs[target_];
    torch::Tensor sum;
    for (std::size_t j = 0; j < xs.size(); ++j) {
      torch::Tensor z = xs[j];
      if (j != target_) z = paths_[j]->forward(z);
      if (j > target_)
        z = F::interpolate(z, F::InterpolateFuncOptions()
                                  .size(std::vector<std::int64_t>{own.size(2), own.size(3)})
                                  .mode(torch::kNearest));
      sum = sum.defined() ? sum + z : z;
    }
    return torch::relu(sum);
  }

 private:
  std::vector<std::int64_t> channels_;
  std::size_t target_;
  std::vector<conv_stack> paths_;
};
TORCH_MODULE(fuse_row);

// A high-resolution module: parallel branches of basic blocks, then the
// exchange unit (all outputs, or only the highest resolution one).
class hr_moduleImpl : public torch::nn::Cloneable<hr_moduleImpl> {
 public:
  hr_moduleImpl(std::vector<std::int64_t> channels, int blocks, bool multi_scale_output)
      : channels_(std::move(channels)), blocks_(blocks), multi_scale_output_(multi_scale_output) {
    reset();
  }

  void reset() override {
    branches = register_module("branches", torch::nn::ModuleList());
    for (auto c : channels_) branches->push_back(residual_layer(c, c, 1, blocks_));
    fuse_layers = torch::nn::ModuleList(nullptr);
    if (channels_.size() > 1) {
      fuse_layers = register_module("fuse_layers", torch::nn::ModuleList());
      const auto outputs = multi_scale_output_ ? channels_.size() : 1;
      for (std::size_t i = 0; i < outputs; ++i) fuse_layers->push_back(fuse_row(channels_, i));
    }
  }

  std::vector<torch::Tensor> forward(std::vector<torch::Tensor> xs) {
    for (std::size_t i = 0; i < xs.size(); ++i) xs[i] = branches->at<torch::nn::SequentialImpl>(i).forward(xs[i]);
    if (!fuse_layers) return xs;
    std::vector<torch::Tensor> out;
    out.reserve(fuse_layers->size());
    for (std::size_t i = 0; i < fuse_layers->size(); ++i) out.push_back(fuse_layers->at<fuse_rowImpl>(i).forward(xs));
    return out;
  }

 private:
  std::vector<std::int64_t> channels_;
  int blocks_;
  bool multi_scale_output_;
  torch::nn::ModuleList branches{nullptr}, fuse_layers{nullptr};
};
TORCH_MODULE(hr_module);

}  // namespace hrnet_detail

// The network for a runtime config; `hrnet<Config>` below is the model spec.
class hrnet_networkImpl : public torch::nn::Cloneable<hrnet_networkImpl> {
 public:
  hrnet_networkImpl(const hrnet_config& config, const build_options& options)
      : config_(config), options_(options) {
    TORCH_CHECK(options.num_landmarks > 0 || options.image_classes > 0, "hrnet: num_landmarks must be positive, got ",
                options.num_landmarks);
    TORCH_CHECK(options.in_channels > 0, "hrnet: in_channels must be positive, got ", options.in_channels);
    reset();
    initialise();
  }

  void reset() override {
    namespace d = hrnet_detail;
    const auto& c = config_;
    conv1 = register_module("conv1", d::conv(options_.in_channels, c.stem_channels, 3, 2));
    bn1 = register_module("bn1", d::batch_norm(c.stem_channels));
    conv2 = register_module("conv2", d::conv(c.stem_channels, c.stem_channels, 3, 2));
    bn2 = register_module("bn2", d::batch_norm(c.stem_channels));
    layer1 = register_module(
        "layer1", d::residual_layer(c.stem_channels, c.stage1_planes, d::bn_expansion, c.stage1_blocks));

    transitions_.clear();
    stages_.clear();
    std::vector<std::int64_t> pre{static_cast<std::int64_t>(c.stage1_planes) * d::bn_expansion};
    for (std::size_t s = 0; s < c.stage_branches.size(); ++s) {
      std::vector<std::int64_t> cur;
      for (int b = 0; b < c.stage_branches[s]; ++b) cur.push_back(static_cast<std::int64_t>(c.width) << b);
      transitions_.push_back(register_module("transition" + std::to_string(s + 1), d::transition(pre, cur)));
      auto stage = register_module("stage" + std::to_string(s + 2), torch::nn::ModuleList());
      const bool last_stage = s + 1 == c.stage_branches.size();
      for (int m = 0; m < c.stage_modules[s]; ++m) {
        const bool multi_scale = !(last_stage && m + 1 == c.stage_modules[s]);
        stage->push_back(d::hr_module(cur, c.blocks, multi_scale));
      }
      stages_.push_back(stage);
      pre = cur;
    }

    upsample_layer = torch::nn::Sequential(nullptr);
    if (c.head_upsample) {
      upsample_layer = register_module(
          "upsample_layer",
          torch::nn::Sequential(
              torch::nn::ConvTranspose2d(
                  torch::nn::ConvTranspose2dOptions(c.width, c.width, 4).stride(2).padding(1).bias(false)),
              d::batch_norm(c.width), torch::nn::ReLU()));
    }
    final_layer = torch::nn::Conv2d(nullptr);
    if (options_.num_landmarks > 0)
      final_layer = register_module(
          "final_layer", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.width, options_.num_landmarks, 1)));
    class_head = torch::nn::Linear(nullptr);
    if (options_.image_classes > 0)  // on the final fused features, pooled: all branches have fed them
      class_head = register_module("class_head", torch::nn::Linear(c.width, options_.image_classes));
  }

  torch::Tensor forward(const torch::Tensor& input) {
    auto x = torch::relu(bn1(conv1(input)));
    x = torch::relu(bn2(conv2(x)));
    std::vector<torch::Tensor> ys{layer1->forward(x)};
    for (std::size_t s = 0; s < stages_.size(); ++s) {
      ys = transitions_[s]->forward(ys);
      for (const auto& module : *stages_[s]) ys = module->as<hrnet_detail::hr_moduleImpl>()->forward(std::move(ys));
    }
    auto y = ys.front();
    const auto features = y;
    if (upsample_layer) y = upsample_layer->forward(y);
    auto out = final_layer ? final_layer(y) : torch::Tensor();
    if (!class_head) return out;
    return append_class_planes(out, class_head(features.mean({2, 3})), y.size(2), y.size(3));
  }

  const hrnet_config& config() const { return config_; }

 private:
  // As the reference: conv weights N(0, 0.001), zero conv biases, BN identity.
  void initialise() {
    torch::NoGradGuard no_grad;
    for (const auto& module : modules(/*include_self=*/false)) {
      if (auto* c = module->as<torch::nn::Conv2dImpl>()) {
        torch::nn::init::normal_(c->weight, 0.0, 0.001);
        if (c->bias.defined()) torch::nn::init::zeros_(c->bias);
      } else if (auto* t = module->as<torch::nn::ConvTranspose2dImpl>()) {
        torch::nn::init::normal_(t->weight, 0.0, 0.001);
      }
    }
  }

  hrnet_config config_;
  build_options options_;
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, final_layer{nullptr};
  torch::nn::Linear class_head{nullptr};
  batch_norm_2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Sequential layer1{nullptr}, upsample_layer{nullptr};
  std::vector<hrnet_detail::transition> transitions_;
  std::vector<torch::nn::ModuleList> stages_;
};
TORCH_MODULE(hrnet_network);

namespace hrnet_detail {

// A fixed-capacity string for the compile-time model name.
struct name_text {
  char text[64] = {};
  std::size_t size = 0;

  constexpr void append(std::string_view s) {
    for (char ch : s)
      if (size + 1 < sizeof text) text[size++] = ch;
  }
  constexpr void append(int value) {
    char digits[12] = {};
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value > 0);
    while (n > 0) append(std::string_view(&digits[--n], 1));
  }
};

constexpr bool standard_layout(const hrnet_config& c) {
  return c.stage_branches == std::array<int, 3>{2, 3, 4} && c.stage_modules == std::array<int, 3>{1, 4, 3} &&
         c.blocks == 4 && c.stem_channels == 64 && c.stage1_blocks == 4 && c.stage1_planes == 64;
}

// The label if given, else "hrnet_w<C>" plus "_m<modules>_b<blocks>" (and
// "_custom" for other changes) when the layout is not the paper's; "_up2"
// marks the upsampling head.
constexpr name_text make_name(const hrnet_config& c) {
  name_text n;
  if (c.label[0] != '\0') {
    n.append(std::string_view(c.label));
  } else {
    n.append("hrnet_w");
    n.append(c.width);
    if (!standard_layout(c)) {
      n.append("_m");
      for (int m : c.stage_modules) n.append(m);
      n.append("_b");
      n.append(c.blocks);
      const bool other = c.stage_branches != std::array<int, 3>{2, 3, 4} || c.stem_channels != 64 ||
                         c.stage1_blocks != 4 || c.stage1_planes != 64;
      if (other) n.append("_custom");
    }
  }
  if (c.head_upsample) n.append("_up2");
  return n;
}

constexpr bool branches_valid(const hrnet_config& c) {
  int previous = 1;
  for (int b : c.stage_branches) {
    if (b < previous || b > 4) return false;
    previous = b;
  }
  return true;
}

constexpr bool all_positive(const std::array<int, 3>& values) {
  return std::all_of(values.begin(), values.end(), [](int v) { return v > 0; });
}

}  // namespace hrnet_detail

template <hrnet_config Config>
struct hrnet {
  static_assert(Config.width > 0, "HRNet width must be positive.");
  static_assert(hrnet_detail::branches_valid(Config),
                "HRNet stage branch counts must be non-decreasing and between 1 and 4.");
  static_assert(hrnet_detail::all_positive(Config.stage_modules), "Every HRNet stage needs at least one module.");
  static_assert(Config.blocks > 0 && Config.stage1_blocks > 0, "HRNet stages need at least one block per branch.");
  static_assert(Config.stem_channels > 0 && Config.stage1_planes > 0, "HRNet stem and stage-1 widths must be positive.");

  static constexpr hrnet_config config = Config;
  static constexpr hrnet_detail::name_text name_storage = hrnet_detail::make_name(Config);
  static constexpr std::string_view name{name_storage.text, name_storage.size};
  static constexpr int output_stride = Config.head_upsample ? 2 : 4;
  static constexpr bool global_class_head = true;

  static hrnet_network build(const build_options& options) { return hrnet_network(Config, options); }
};

static_assert(model_spec<hrnet<hrnet_w32>>);

}  // namespace mixtrain::model

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/model/impl/hrnet.ipp>
#endif
