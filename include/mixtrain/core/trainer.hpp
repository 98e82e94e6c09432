#pragma once
// The trainer specialised for one recipe: it owns the loop and raises the
// events of core/events.hpp on the recipe's policies. A policy that is not in
// the recipe leaves no member, no byte and no branch here.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/hana.hpp>
#include <fmt/core.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <ATen/CPUGeneratorImpl.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/events.hpp>
#include <mixtrain/core/recipe.hpp>
#include <mixtrain/data/aariz.hpp>
#include <mixtrain/data/aariz_reader.hpp>
#include <mixtrain/data/batch_pipeline.hpp>
#include <mixtrain/data/worker_count.hpp>
#include <mixtrain/heatmap/render.hpp>
#include <mixtrain/io/checkpoint.hpp>
#include <mixtrain/io/state_dict.hpp>
#include <mixtrain/metric/landmark_metrics.hpp>

namespace mixtrain {

// Values that flags may override; structure stays as compiled.
struct run_settings {
  fit_config fit;
  std::filesystem::path dataset_path;
  std::filesystem::path output_dir;
  std::filesystem::path resume;
  std::string recipe_name = "recipe";
  bool skip_bad_samples = false;
  std::string device = "cpu";
  // A new run from another run's weights (nothing else); strict: every
  // tensor must match by name and shape.
  std::filesystem::path init_from;
  bool init_strict = true;
};

// Predictions and errors of one pass over a split.
struct evaluation {
  metric::radial_errors errors{0};
  metric::radial_errors baseline_errors{0};
  std::vector<std::vector<data::point>> predictions;  // per image, original pixels
  double seconds = 0;
};

namespace detail {
// hana::basic_tuple inherits its elements (empty-base optimisation), so stateless
// policies take no bytes; hana::tuple holds them as a member, one byte at least.
template <class Tuple>
struct stored_policies;
template <class... Policies>
struct stored_policies<hana::tuple<Policies...>> {
  using type = hana::basic_tuple<Policies...>;
};
}  // namespace detail

template <class Recipe>
class trainer {
 public:
  using recipe_type = Recipe;
  using model_spec = typename Recipe::model;
  using module_type = decltype(model_spec::build(model::build_options{}));
  using data_spec = typename Recipe::data;
  using loss_type = typename Recipe::loss;
  using optimizer_spec = typename Recipe::optimizer;
  using optimizer_type = typename optimizer_spec::optimizer_type;
  using policy_tuple = typename detail::stored_policies<typename Recipe::policies>::type;
  using decoder = typename Recipe::decoder;
  static constexpr std::size_t policy_count = decltype(hana::length(policy_tuple{}))::value;

  // Compiled defaults; the command line binds into these before build().
  data_spec data;
  optimizer_spec optimizer_settings;
  [[no_unique_address]] loss_type loss;
  [[no_unique_address]] policy_tuple policies;
  run_settings run{Recipe::fit_defaults, {}, {}, {}, "recipe", false, "cpu", {}, true};

  // Raises one event on every policy that implements it, in recipe order.
  template <class Event, class... Args>
  void emit(const Event& event, Args&&... args) {
    hana::for_each(policies, [&](auto& p) {
      if constexpr (std::is_invocable_v<const Event&, decltype(p), Args&...>) event(p, args...);
    });
  }

  // True unless some policy's before_optimizer_step returned false.
  bool emit_all_agree(context& ctx) {
    bool proceed = true;
    hana::for_each(policies, [&](auto& p) {
      if constexpr (std::is_invocable_v<decltype(event::before_optimizer_step), decltype(p), context&>)
        proceed = event::before_optimizer_step(p, ctx) && proceed;
    });
    return proceed;
  }

  [[nodiscard]] torch::Device device() const { return torch::Device(run.device); }

  // Builds model and optimizer for a landmark set (policies may reshape the
  // model, e.g. channels-last, before the optimizer sees its parameters).
  void build(const data::landmark_set& landmarks) {
    landmarks_ = landmarks;
    model_.emplace(model_spec::build({static_cast<std::int64_t>(landmarks.size()), 1}));
    (*model_)->to(device());
    emit(event::prepare_model, *model_->ptr());
    optimizer_.emplace(optimizer_settings.build((*model_)->parameters()));
    ctx_ = std::make_unique<context>(*model_->ptr(), *optimizer_, device());
    ctx_->epochs = run.fit.epochs;
    ctx_->output_dir = run.output_dir;
    ctx_->write_checkpoint = [this](const std::filesystem::path& path) { save_checkpoint(path); };
    ctx_->copy_model = [this] { return copy_model(); };
    emit(event::on_model_ready, *ctx_);
  }

  // A deep copy of the model: clone() where the module supports it, else a
  // fresh module of the same type given copies of every tensor (clone keeps
  // the memory format, so a channels-last model copies as channels-last).
  [[nodiscard]] std::shared_ptr<torch::nn::Module> copy_model() {
    using impl = typename module_type::ContainedType;
    if constexpr (std::is_base_of_v<torch::nn::Cloneable<impl>, impl>) {
      return (*model_)->clone();
    } else {
      auto fresh = model_spec::build({static_cast<std::int64_t>(landmarks_.size()), 1});
      torch::NoGradGuard no_grad;
      auto source = (*model_)->named_parameters(true);
      for (auto& p : fresh->named_parameters(true)) p.value().set_data(source[p.key()].detach().clone());
      auto source_buffers = (*model_)->named_buffers(true);
      for (auto& b : fresh->named_buffers(true)) b.value().set_data(source_buffers[b.key()].detach().clone());
      fresh->train((*model_)->is_training());
      return fresh.ptr();
    }
  }

  [[nodiscard]] module_type& model() { return *model_; }
  [[nodiscard]] optimizer_type& optimizer() { return *optimizer_; }
  [[nodiscard]] context& ctx() { return *ctx_; }
  [[nodiscard]] const data::landmark_set& landmarks() const { return landmarks_; }

  [[nodiscard]] std::int64_t parameter_count() {
    std::int64_t n = 0;
    for (const auto& p : (*model_)->parameters()) n += p.numel();
    return n;
  }

  [[nodiscard]] io::preprocessing_contract contract() const {
    io::preprocessing_contract c;
    c.recipe = run.recipe_name;
    c.model = std::string(model_spec::name);
    c.symbols = landmarks_.symbols;
    c.input_width = data.config.image_size.width;
    c.input_height = data.config.image_size.height;
    c.mean = data.config.mean;
    c.std_dev = data.config.std_dev;
    c.in_channels = 1;
    c.heatmap_stride = model_spec::output_stride;
    c.heatmap_sigma = data.config.heatmap_sigma;
    c.decoder = std::string(decoder::name);
    return c;
  }

  [[nodiscard]] nlohmann::json describe() {
    nlohmann::json policy_list = nlohmann::json::array();
    hana::for_each(policies, [&](auto& p) {
      nlohmann::json entry = {{"name", p.name}};
      if constexpr (std::is_invocable_v<decltype(event::describe), decltype(p)>) entry["settings"] = p.describe();
      policy_list.push_back(entry);
    });
    return {{"recipe", run.recipe_name},
            {"model", model_spec::name},
            {"params", parameter_count()},
            {"num_landmarks", landmarks_.size()},
            {"landmarks", landmarks_.symbols},
            {"data", data.describe()},
            {"loss", loss_type::name},
            {"optimizer", optimizer_settings.describe()},
            {"decoder", decoder::name},
            {"policies", policy_list},
            {"fit", {{"epochs", run.fit.epochs}, {"batch_size", run.fit.batch_size}, {"seed", run.fit.seed}}}};
  }

  // --- one training micro-batch ------------------------------------------
  struct device_batch {
    torch::Tensor input;    // [B, 1, H, W] normalised float
    torch::Tensor target;   // [B, L, h, w]
    torch::Tensor weight;   // [B, L]
  };

  // uint8 pixels and coordinates become float input and Gaussian targets here,
  // on the training device, at heatmap resolution.
  device_batch to_device(const data::batch& b) {
    const auto dev = device();
    auto pixels = torch::from_blob(const_cast<std::uint8_t*>(b.pixels.data()), {b.size, 1, b.height, b.width}, torch::kUInt8)
                      .to(dev);
    auto input = pixels.to(torch::kFloat32).mul_(1.0 / (255.0 * data.config.std_dev)).sub_(data.config.mean / data.config.std_dev);
    const double stride = model_spec::output_stride;
    auto coords = torch::from_blob(const_cast<float*>(b.landmarks.data()), {b.size, b.num_landmarks, 2}, torch::kFloat32).to(dev);
    coords = (coords + 0.5) / stride - 0.5;
    auto target = heatmap::render_gaussian(coords, b.height / model_spec::output_stride, b.width / model_spec::output_stride,
                                           data.config.heatmap_sigma);
    auto weight = torch::from_blob(const_cast<float*>(b.present.data()), {b.size, b.num_landmarks}, torch::kFloat32).to(dev);
    return {input, target, weight};
  }

  // Forward, loss and backward for one micro-batch; at the end of an
  // accumulation window, the optimizer step and its events. Returns the loss.
  double train_micro_batch(device_batch&& batch, bool window_ends) {
    auto& c = *ctx_;
    emit(event::prepare_input, c, batch.input);
    {
      auto scopes = hana::transform(policies, [&](auto& p) {
        if constexpr (std::is_invocable_v<decltype(event::forward_scope), decltype(p), context&>)
          return event::forward_scope(p, c);
        else
          return hana::nothing;
      });
      const auto output = (*model_)->forward(batch.input);
      c.loss = loss(output, batch.target, batch.weight);
      (void)scopes;
    }
    c.loss_value = c.loss.template item<double>();
    auto scaled = c.loss / static_cast<double>(c.window_length);
    emit(event::scale_loss, c, scaled);
    scaled.backward();
    ++c.micro_step;
    if (window_ends) {
      emit(event::unscale_gradients, c);
      if (emit_all_agree(c)) {
        optimizer_->step();
        ++c.global_step;
        emit(event::after_optimizer_step, c);
      } else {
        emit(event::after_skipped_step, c);
      }
      optimizer_->zero_grad();
    }
    return c.loss_value;
  }

  // Where micro-batch `batch_in_epoch` falls in its accumulation window:
  // windows restart each epoch and the last one may be shorter.
  struct window_position {
    std::int64_t length = 1;  // micro-batches in this window (the loss divisor)
    bool ends = true;         // the optimizer steps after this micro-batch
  };
  [[nodiscard]] static window_position window_at(std::int64_t batch_in_epoch, std::int64_t batches_per_epoch,
                                                 std::int64_t steps) {
    const auto start = (batch_in_epoch / steps) * steps;
    const auto length = std::min(steps, batches_per_epoch - start);
    return {length, batch_in_epoch + 1 == start + length};
  }

  // Micro-batches per optimizer update, from an accumulate policy if present.
  [[nodiscard]] std::int64_t accumulation_steps() const {
    std::int64_t steps = 1;
    hana::for_each(policies, [&](const auto& p) {
      if constexpr (std::remove_cvref_t<decltype(p)>::kind == policy_kind::accumulate) steps = p.config.steps;
    });
    return steps;
  }

  // --- evaluation ---------------------------------------------------------
  torch::nn::Module& evaluation_module() {
    torch::nn::Module* chosen = model_->ptr().get();
    hana::for_each(policies, [&](auto& p) {
      if constexpr (std::is_invocable_v<decltype(event::evaluation_model), decltype(p), context&>)
        if (auto* m = event::evaluation_model(p, *ctx_)) chosen = m;
    });
    return *chosen;
  }

  // Predicts every image of a split at original resolution and collects radial
  // errors, with the mean-shape baseline beside them. Training's validation
  // and the evaluate subcommand both run exactly this.
  evaluation evaluate(const data::split& split, const metric::mean_shape_baseline* baseline) {
    const auto started = std::chrono::steady_clock::now();
    auto& module = evaluation_module();
    const bool was_training = module.is_training();
    module.eval();
    torch::NoGradGuard no_grad;
    data::aariz_samples<typename data_spec::augmentations_type> samples(split, data.config.image_size, data.augmentations,
                                                                        false, run.fit.seed, 0);
    auto options = pipeline_options(false);
    data::batch_pipeline pipeline(split.images.size(), static_cast<int>(landmarks_.size()), options, samples);
    pipeline.start_epoch(0);
    evaluation result;
    result.errors = metric::radial_errors(landmarks_.size());
    result.baseline_errors = metric::radial_errors(landmarks_.size());
    result.predictions.resize(split.images.size());
    auto& forward_module = *model_;
    while (auto b = pipeline.next()) {
      auto batch = to_device(*b);
      emit(event::prepare_input, *ctx_, batch.input);
      torch::Tensor output;
      {
        auto scopes = hana::transform(policies, [&](auto& p) {
          if constexpr (std::is_invocable_v<decltype(event::forward_scope), decltype(p), context&>)
            return event::forward_scope(p, *ctx_);
          else
            return hana::nothing;
        });
        output = forward_with(module, forward_module, batch.input).to(torch::kFloat32);
        (void)scopes;
      }
      const auto coords = decoder::decode(output, data.config.heatmap_sigma).to(torch::kCPU).contiguous();
      const auto acc = coords.template accessor<float, 3>();
      const double stride = model_spec::output_stride;
      for (int i = 0; i < b->size; ++i) {
        const auto index = b->dataset_indices[static_cast<std::size_t>(i)];
        const auto& record = split.images[index];
        const auto original_from_input = data::invert(b->input_from_original[static_cast<std::size_t>(i)]);
        std::vector<data::point> predicted(landmarks_.size());
        for (std::size_t k = 0; k < landmarks_.size(); ++k) {
          const data::point in_input{(acc[i][static_cast<long>(k)][0] + 0.5) * stride - 0.5,
                                     (acc[i][static_cast<long>(k)][1] + 0.5) * stride - 0.5};
          predicted[k] = data::apply(original_from_input, in_input);
        }
        result.errors.add(record, predicted);
        if (baseline) result.baseline_errors.add(record, baseline->predict(record));
        result.predictions[index] = std::move(predicted);
      }
    }
    if (was_training) module.train();
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    return result;
  }

  // --- checkpoints ----------------------------------------------------------
  void save_checkpoint(const std::filesystem::path& path) {
    io::write_atomically(path, [&](const std::filesystem::path& temporary) {
      torch::serialize::OutputArchive archive;
      torch::serialize::OutputArchive model_archive;
      (*model_)->save(model_archive);
      archive.write("model", model_archive);
      torch::serialize::OutputArchive optimizer_archive;
      optimizer_->save(optimizer_archive);
      archive.write("optimizer", optimizer_archive);
      archive.write("contract", c10::IValue(contract().to_json().dump()));
      const nlohmann::json counters = {{"epoch", ctx_->epoch},           {"batch_in_epoch", ctx_->batch_in_epoch},
                                       {"micro_step", ctx_->micro_step}, {"global_step", ctx_->global_step},
                                       {"metrics", ctx_->metrics}};
      archive.write("counters", c10::IValue(counters.dump()));
      archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
      hana::for_each(policies, [&](auto& p) {
        if constexpr (std::is_invocable_v<decltype(event::save_state), decltype(p), torch::serialize::OutputArchive&>) {
          torch::serialize::OutputArchive policy_archive;
          event::save_state(p, policy_archive);
          archive.write(std::string("policy_") + std::string(p.name), policy_archive);
        }
      });
      archive.save_to(temporary.string());
    });
  }

  enum class restore { weights_only, everything };

  // Loads a checkpoint after checking its contract against this recipe and
  // data; `everything` also restores optimizer, counters and policy states.
  void load_checkpoint(const std::filesystem::path& path, restore what) {
    if (!std::filesystem::exists(path)) throw std::runtime_error(path.string() + ": checkpoint file does not exist");
    torch::serialize::InputArchive archive;
    c10::IValue contract_value;
    try {
      archive.load_from(path.string());
      archive.read("contract", contract_value);
    } catch (const c10::Error& e) {
      throw std::runtime_error(path.string() + ": not a mixtrain checkpoint (" + first_line(e.what()) + ")");
    }
    const auto stored = io::preprocessing_contract::from_json(nlohmann::json::parse(contract_value.toStringRef()));
    auto differences = stored.differences(contract());
    std::erase_if(differences, [](const std::string& d) { return d.rfind("recipe:", 0) == 0; });
    if (!differences.empty()) {
      std::string message = path.string() + ": checkpoint does not fit this recipe and data:";
      for (const auto& d : differences) message += "\n  " + d;
      throw std::runtime_error(message);
    }
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    (*model_)->load(model_archive);
    if (what == restore::weights_only) {
      read_policy_states(archive);
      return;
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer_->load(optimizer_archive);
    c10::IValue counters_value;
    archive.read("counters", counters_value);
    const auto counters = nlohmann::json::parse(counters_value.toStringRef());
    ctx_->epoch = counters.at("epoch");
    ctx_->batch_in_epoch = counters.at("batch_in_epoch");
    ctx_->micro_step = counters.at("micro_step");
    ctx_->global_step = counters.at("global_step");
    ctx_->metrics = counters.at("metrics").get<std::map<std::string, double>>();
    torch::Tensor rng;
    archive.read("torch_rng", rng, true);
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // a shared handle
    generator.set_state(rng);
    read_policy_states(archive);
  }

  // The weights a new run starts from: run.init_from, else a policy's
  // `init_from` (the checkpoint policy registers --init_from and --init_strict).
  struct weights_source {
    std::filesystem::path path;
    bool strict = true;
  };
  [[nodiscard]] weights_source initial_weights() const {
    weights_source source{run.init_from, run.init_strict};
    hana::for_each(policies, [&](const auto& p) {
      if constexpr (requires { std::filesystem::path(p.init_from); bool(p.init_strict); })
        if (source.path.empty()) source = {p.init_from, p.init_strict};
    });
    return source;
  }

  // Loads only model weights from a mixtrain checkpoint or a torch.save()
  // tensor file, matching by name. Strict: throws, loading nothing, and lists
  // every missing, unexpected and mis-shaped tensor; otherwise loads what
  // matches and returns the same report.
  io::load_report load_weights(const std::filesystem::path& path, bool strict = true) {
    if (!std::filesystem::exists(path)) throw std::runtime_error(path.string() + ": weights file does not exist");
    io::tensor_map tensors;
    bool is_checkpoint = false;
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(path.string());
      torch::serialize::InputArchive model_archive;
      if (archive.try_read("model", model_archive)) {
        flatten_archive(model_archive, "", tensors);
        is_checkpoint = true;
      }
    } catch (const std::exception&) {
      // not a checkpoint archive: try a tensor file below
    }
    if (!is_checkpoint) tensors = io::load_tensor_file(path);
    try {
      return io::load_state_dict(*model_->ptr(), tensors, {.strict = strict, .rename = {}});
    } catch (const std::runtime_error& e) {
      throw std::runtime_error(path.string() + ": " + e.what());
    }
  }

  // --- the fit loop -------------------------------------------------------------
  struct fit_result {
    evaluation validation;
    std::int64_t epochs_run = 0;
  };

  fit_result fit(const data::split& train, const data::split& valid) {
    auto& c = *ctx_;
    std::filesystem::create_directories(run.output_dir);
    const metric::mean_shape_baseline baseline(train);
    data::aariz_samples<typename data_spec::augmentations_type> samples(
        train, data.config.image_size, data.augmentations, true, run.fit.seed,
        static_cast<std::size_t>(run.fit.cache_mb) << 20);
    auto train_options = pipeline_options(true);
    if (run.fit.num_workers == 0) {  // --num_workers auto: measure the real producer, then keep the count
      run.fit.num_workers = data::choose_num_workers(train.images.size(), static_cast<int>(landmarks_.size()),
                                                     train_options, samples, {.log = c.log});
      train_options.num_workers = run.fit.num_workers;
    }
    data::batch_pipeline pipeline(train.images.size(), static_cast<int>(landmarks_.size()), train_options, samples);
    c.batches_per_epoch = pipeline.batches_per_epoch();
    const auto window = accumulation_steps();
    c.updates_per_epoch = (c.batches_per_epoch + window - 1) / window;
    c.epochs = run.fit.epochs;

    std::ofstream csv;
    const auto csv_path = run.output_dir / "metrics.csv";
    const bool resuming = c.epoch > 0 || c.batch_in_epoch > 0;
    csv.open(csv_path, resuming ? std::ios::app : std::ios::trunc);
    if (!resuming)
      csv << "epoch,train_loss,val_mre_mm,val_sd_mm,val_sdr_2mm,val_sdr_2_5mm,val_sdr_3mm,val_sdr_4mm,lr,images_per_s,"
             "data_wait_fraction,epoch_s\n";

    if (const auto init = initial_weights(); !init.path.empty()) {
      if (resuming || c.global_step > 0)
        throw std::runtime_error("--init_from starts a new run from weights; it cannot be combined with --resume");
      const auto report = load_weights(init.path, init.strict);
      *c.log << "initialised from " << init.path.string() << ": " << report.describe() << "\n";
    }
    emit(event::on_fit_begin, c);
    (*model_)->train();
    optimizer_->zero_grad();
    fit_result result;
    for (; c.epoch < run.fit.epochs && !c.stop_requested; ++c.epoch) {
      const auto epoch_started = std::chrono::steady_clock::now();
      const auto wait_before = pipeline.stats().consumer_wait_s;
      pipeline.start_epoch(static_cast<std::uint64_t>(c.epoch), c.batch_in_epoch);
      emit(event::on_epoch_begin, c);
      double loss_sum = 0;
      std::int64_t loss_count = 0, images = 0;
      while (auto b = pipeline.next()) {
        for (const auto& message : b->skipped) *c.log << "warning: skipped bad sample: " << message << "\n";
        const auto position = window_at(c.batch_in_epoch, c.batches_per_epoch, window);
        c.window_length = position.length;
        const bool window_ends = position.ends;
        images += b->size;
        loss_sum += train_micro_batch(to_device(*b), window_ends);
        ++loss_count;
        ++c.batch_in_epoch;
        if (c.stop_requested && window_ends) break;
      }
      const bool epoch_complete = c.batch_in_epoch >= c.batches_per_epoch;
      const double train_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_started).count();
      const double waited = pipeline.stats().consumer_wait_s - wait_before;
      if (!epoch_complete) {
        // Stopped at a window boundary mid-epoch; the counters point at the
        // next micro-batch, so a checkpoint written now resumes exactly there.
        emit(event::on_interrupt, c);
        break;
      }
      c.batch_in_epoch = 0;

      result.validation = evaluate(valid, &baseline);
      const auto summary = result.validation.errors.overall();
      c.metrics = {{"val_mre", summary.mre_mm},     {"val_sd", summary.sd_mm},        {"val_sdr_2mm", summary.sdr[0]},
                   {"val_sdr_2_5mm", summary.sdr[1]}, {"val_sdr_3mm", summary.sdr[2]}, {"val_sdr_4mm", summary.sdr[3]},
                   {"train_loss", loss_count ? loss_sum / static_cast<double>(loss_count) : 0.0}};
      emit(event::on_validation_end, c);
      const double lr = optimizer_->param_groups().front().options().get_lr();
      const double epoch_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_started).count();
      *c.log << fmt::format(
          "epoch {:>3}/{}  loss {:.5f}  val MRE {:.3f} mm  SDR@2mm {:5.1f}%  lr {:.2e}  {:.1f} img/s  data wait {:4.1f}%  "
          "{:.1f}s\n",
          c.epoch + 1, run.fit.epochs, c.metrics["train_loss"], summary.mre_mm, 100 * summary.sdr[0], lr,
          static_cast<double>(images) / std::max(train_seconds, 1e-9), 100 * waited / std::max(train_seconds, 1e-9),
          epoch_seconds)
             << std::flush;
      csv << fmt::format("{},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6f},{:.6e},{:.3f},{:.4f},{:.3f}\n", c.epoch + 1,
                         c.metrics["train_loss"], summary.mre_mm, summary.sd_mm, summary.sdr[0], summary.sdr[1],
                         summary.sdr[2], summary.sdr[3], lr, static_cast<double>(images) / std::max(train_seconds, 1e-9),
                         waited / std::max(train_seconds, 1e-9), epoch_seconds);
      csv.flush();
      ++result.epochs_run;
      {
        // The epoch is done: counters point at the next one, so a checkpoint
        // written now resumes there.
        ++c.epoch;
        emit(event::on_epoch_end, c);
        save_checkpoint(run.output_dir / "last.pt");
        --c.epoch;
      }
    }
    emit(event::on_fit_end, c);
    pipeline.stop();
    return result;
  }

  [[nodiscard]] data::pipeline_options pipeline_options(bool training) const {
    data::pipeline_options o;
    o.input = data.config.image_size;
    o.batch_size = run.fit.batch_size;
    o.num_workers = std::max(1, run.fit.num_workers);
    o.prefetch_batches = run.fit.prefetch_batches;
    o.memory_budget_bytes = static_cast<std::size_t>(run.fit.memory_budget_mb) << 20;
    o.seed = run.fit.seed;
    o.shuffle = training;
    o.skip_bad_samples = run.skip_bad_samples;
    return o;
  }

 private:
  static torch::Tensor forward_with(torch::nn::Module& chosen, module_type& own, const torch::Tensor& input) {
    // The evaluation module is the model itself or a copy of the same type
    // (EMA); dynamic_cast because Cloneable modules derive virtually from Module.
    if (&chosen == own.ptr().get()) return own->forward(input);
    return dynamic_cast<typename module_type::ContainedType&>(chosen).forward(input);
  }

  void read_policy_states(torch::serialize::InputArchive& archive) {
    hana::for_each(policies, [&](auto& p) {
      if constexpr (std::is_invocable_v<decltype(event::load_state), decltype(p), torch::serialize::InputArchive&>) {
        torch::serialize::InputArchive policy_archive;
        if (archive.try_read(std::string("policy_") + std::string(p.name), policy_archive))
          event::load_state(p, policy_archive);
      }
    });
  }

  static std::string first_line(const std::string& s) { return s.substr(0, s.find('\n')); }

  // Module::save nests one archive per submodule; this yields dotted names.
  static void flatten_archive(torch::serialize::InputArchive& archive, const std::string& prefix, io::tensor_map& out) {
    for (const auto& key : archive.keys()) {
      c10::IValue value;
      if (archive.try_read(key, value) && value.isTensor()) {
        out.emplace(prefix + key, value.toTensor());
        continue;
      }
      torch::serialize::InputArchive child;
      if (archive.try_read(key, child)) flatten_archive(child, prefix + key + ".", out);
    }
  }

  data::landmark_set landmarks_;
  std::optional<module_type> model_;
  std::optional<optimizer_type> optimizer_;
  std::unique_ptr<context> ctx_;
};

}  // namespace mixtrain
