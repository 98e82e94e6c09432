// Checkpoints inside real fits on a small synthetic dataset: periodic and
// best-k files written atomically, --init_from, and an exact resume after a
// stop or a SIGINT. (test_policy_training.cpp: accumulation, early stopping.)
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <torch/torch.h>

#include <mixtrain/policy/accumulate.hpp>
#include <mixtrain/policy/amp.hpp>
#include <mixtrain/policy/checkpoint.hpp>
#include <mixtrain/policy/ema.hpp>
#include <mixtrain/policy/grad_clip.hpp>
#include <mixtrain/policy/lr_schedule.hpp>

#include "policy_test_support.hpp"

namespace mt = mixtrain;
namespace hana = boost::hana;
using namespace policy_test;

namespace test_policy_checkpoints {
namespace {

// Stops the run at an optimizer update, or raises SIGINT during a training
// micro-batch (scale_loss: validation does not raise it).
struct interrupter {
  static constexpr std::string_view name = "interrupter";
  std::int64_t stop_at_update = -1;
  std::int64_t signal_at_micro_step = -1;
  void scale_loss(auto& ctx, torch::Tensor&) const {
    if (ctx.micro_step == signal_at_micro_step) std::raise(SIGINT);
  }
  void after_optimizer_step(auto& ctx) const {
    if (ctx.global_step == stop_at_update) ctx.request_stop("test stop");
  }
};

std::string file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::set<std::string> files_in(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) names.insert(entry.path().filename().string());
  return names;
}

}  // namespace

// --- checkpoint ---------------------------------------------------------------------------------

TEST_CASE("checkpoint: periodic files, the best k by metric and best.pt, all written atomically", "[checkpoint]") {
  temp_dir out("checkpoint_files");
  using recipe = unet_recipe<mt::policy::checkpoint<{.every_epochs = 2, .keep_best = 2}>>;
  mt::trainer<recipe> t;
  quick_run(t, out.path, 4);
  build_seeded(t, dataset().landmarks, 6);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  auto names = files_in(out.path);
  CHECK(names.count("last.pt"));
  CHECK(names.count("epoch_002.pt"));
  CHECK(names.count("epoch_004.pt"));
  CHECK_FALSE(names.count("epoch_001.pt"));
  CHECK(names.count("best.pt"));
  for (const auto& n : names) CHECK(n.find(".partial") == std::string::npos);
  const auto& kept = hana::at_c<0>(t.policies).best();
  REQUIRE(!kept.empty());
  CHECK(kept.size() <= 2);
  CHECK(file_bytes(out.path / "best.pt") == file_bytes(out.path / kept.front().file));

  // Driven with chosen metrics: 5, 4, 6, 3 keep epochs 4 and 2, delete 1.
  temp_dir out2("checkpoint_best");
  mt::trainer<recipe> d;
  build_seeded(d, dataset().landmarks, 6);
  d.ctx().output_dir = out2.path;
  const std::vector<double> values = {5, 4, 6, 3};
  for (std::size_t i = 0; i < values.size(); ++i) {
    d.ctx().epoch = static_cast<std::int64_t>(i + 1);
    d.ctx().metrics.val_mre = values[i];
    d.emit(mt::hook::on_epoch_end{}, d.ctx());
  }
  const auto& best = hana::at_c<0>(d.policies).best();
  REQUIRE(best.size() == 2);
  CHECK(best[0].epoch == 4);
  CHECK(best[0].value == 3);
  CHECK(best[1].epoch == 2);
  names = files_in(out2.path);
  names.erase("metrics.csv");  // the default CSV log also handles on_epoch_end
  CHECK(names == std::set<std::string>{"best.pt", "best_epoch002.pt", "best_epoch004.pt", "epoch_002.pt", "epoch_004.pt"});
  CHECK(file_bytes(out2.path / "best.pt") == file_bytes(out2.path / "best_epoch004.pt"));
  // The list travels with checkpoints.
  torch::serialize::OutputArchive archive;
  hana::at_c<0>(d.policies).save_state(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);
  std::istringstream in(bytes.str());
  torch::serialize::InputArchive read;
  read.load_from(in);
  mt::policy::checkpoint<{.every_epochs = 2, .keep_best = 2}> restored;
  restored.load_state(read);
  REQUIRE(restored.best().size() == 2);
  CHECK(restored.best()[1].file == "best_epoch002.pt");
}

TEST_CASE("checkpoint: --init_from loads weights only, strictly, naming every mismatch", "[checkpoint]") {
  temp_dir out("init_from");
  using recipe = unet_recipe<mt::policy::ema<>, mt::policy::checkpoint<>>;
  mt::trainer<recipe> source;
  build_seeded(source, dataset().landmarks, 7);
  source.save_checkpoint(out.path / "source.pt");
  const auto weights = snapshot(*source.model().ptr());

  // A new run from those weights: weights equal, EMA starts from them, counters 0.
  mt::trainer<recipe> t;
  quick_run(t, out.path / "run", 0);
  build_seeded(t, dataset().landmarks, 8);
  REQUIRE_FALSE(bit_identical(snapshot(*t.model().ptr()), weights));
  t.run.init_from = out.path / "source.pt";
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  CHECK(bit_identical(snapshot(*t.model().ptr()), weights));
  CHECK(bit_identical(snapshot(*hana::at_c<0>(t.policies).shadow()->ptr()), weights));
  CHECK(t.ctx().global_step == 0);
  CHECK(log.str().find("initialised from") != std::string::npos);
  // ... and it cannot be combined with a resumed state.
  t.ctx().global_step = 1;
  CHECK_THROWS_WITH(t.fit(dataset().train, dataset().valid), Catch::Contains("cannot be combined with --resume"));

  // Another landmark count: the head is mis-shaped; strict loads nothing.
  mt::trainer<unet_recipe<>> other;
  build_seeded(other, numbered_landmarks(5), 9);
  const auto before = snapshot(*other.model().ptr());
  try {
    other.load_weights(out.path / "source.pt");
    FAIL("strict loading of a mis-shaped head must throw");
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    CHECK(message.find("source.pt") != std::string::npos);
    CHECK(message.find("mis-shaped: head.weight: file [29, 8, 1, 1] vs module [5, 8, 1, 1]") != std::string::npos);
    CHECK(message.find("mis-shaped: head.bias") != std::string::npos);
  }
  CHECK(bit_identical(snapshot(*other.model().ptr()), before));
  // Non-strict loads the rest and reports the two.
  const auto report = other.load_weights(out.path / "source.pt", false);
  CHECK(report.mismatched.size() == 2);
  CHECK(report.loaded == weights.size() - 2);
  const auto after = snapshot(*other.model().ptr());
  CHECK(torch::equal(after.at("stem.0.conv.weight"), weights.at("stem.0.conv.weight")));

  // A tensor file with a renamed tensor: one missing, one unexpected, by name.
  auto renamed = mixtrain::io::module_tensors(*source.model().ptr());
  renamed["extra.weight"] = renamed.at("stem.0.conv.weight");
  renamed.erase("stem.0.conv.weight");
  mixtrain::io::save_tensor_file(renamed, out.path / "renamed.pt");
  CHECK_THROWS_WITH(t.load_weights(out.path / "renamed.pt"),
                    Catch::Contains("missing: stem.0.conv.weight") && Catch::Contains("unexpected: extra.weight"));
}

// --- resume ---------------------------------------------------------------------------------------

namespace {

using resume_recipe =
    unet_recipe<mt::policy::amp<mt::fp16>, mt::policy::ema<>, mt::policy::accumulate<{.steps = 3}>,
                mt::policy::grad_clip<{.max_norm = 5.0}>, mt::policy::warmup_cosine<{.warmup_steps = 2}>,
                mt::policy::checkpoint<{.keep_best = 1}>, interrupter>;

struct final_state {
  std::map<std::string, torch::Tensor> model, shadow;
  std::int64_t global_step = 0, micro_step = 0;
  double scale = 0, lr = 0;
};

final_state state_of(mt::trainer<resume_recipe>& t) {
  return {snapshot(*t.model().ptr()),
          snapshot(*hana::at_c<1>(t.policies).shadow()->ptr()),
          t.ctx().global_step,
          t.ctx().micro_step,
          hana::at_c<0>(t.policies).scale(),
          lr_of(t)};
}

// Three epochs straight through.
final_state straight_run(const std::filesystem::path& out) {
  mt::trainer<resume_recipe> t;
  quick_run(t, out, 3);
  build_seeded(t, dataset().landmarks, 10);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  return state_of(t);
}

// Resumes `checkpoint` in a fresh trainer (initialised differently) and finishes.
final_state resumed_run(const std::filesystem::path& checkpoint, const std::filesystem::path& out,
                        std::int64_t expect_epoch, std::int64_t expect_batch) {
  mt::trainer<resume_recipe> t;
  quick_run(t, out, 3);
  build_seeded(t, dataset().landmarks, 99);
  t.load_checkpoint(checkpoint, mt::trainer<resume_recipe>::restore::everything);
  CHECK(t.ctx().epoch == expect_epoch);
  CHECK(t.ctx().batch_in_epoch == expect_batch);
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  CHECK_FALSE(t.ctx().stop_requested);
  return state_of(t);
}

void check_same(const final_state& a, const final_state& b) {
  CHECK(bit_identical(a.model, b.model));
  CHECK(bit_identical(a.shadow, b.shadow));
  CHECK(a.global_step == b.global_step);
  CHECK(a.micro_step == b.micro_step);
  CHECK(a.scale == b.scale);
  CHECK(a.lr == b.lr);
}

}  // namespace

TEST_CASE("resume: stopped mid-epoch and resumed in a fresh trainer, the run ends bit-identical", "[resume]") {
  torch::set_num_threads(1);
  temp_dir out("resume");
  const auto straight = straight_run(out.path / "straight");
  CHECK(straight.global_step == 6);  // 3 epochs x windows [3, 1]

  // Stop after update 3: epoch 2 (index 1), after its first window of 3.
  mt::trainer<resume_recipe> t;
  quick_run(t, out.path / "stopped", 3);
  build_seeded(t, dataset().landmarks, 10);
  hana::at_c<6>(t.policies).stop_at_update = 3;
  std::ostringstream log;
  t.ctx().log = &log;
  const auto result = t.fit(dataset().train, dataset().valid);
  CHECK(result.epochs_run == 1);
  CHECK(t.ctx().stop_reason == "test stop");
  REQUIRE(std::filesystem::exists(out.path / "stopped" / "recovery.pt"));
  CHECK(log.str().find("wrote " + (out.path / "stopped" / "recovery.pt").string() + " at epoch 2, batch 3") !=
        std::string::npos);

  const auto resumed = resumed_run(out.path / "stopped" / "recovery.pt", out.path / "resumed", 1, 3);
  check_same(straight, resumed);
}

TEST_CASE("loop: SIGINT writes recovery.pt at the next window end and --resume continues exactly",
          "[signal][resume]") {
  torch::set_num_threads(1);
  temp_dir out("sigint");
  const auto straight = straight_run(out.path / "straight");

  // SIGINT before micro-batch 8 (epoch 3, first of a 3-batch window): the run
  // finishes that window, writes recovery.pt and stops cleanly.
  mt::trainer<resume_recipe> t;
  quick_run(t, out.path / "stopped", 3);
  build_seeded(t, dataset().landmarks, 10);
  hana::at_c<6>(t.policies).signal_at_micro_step = 8;
  std::ostringstream log;
  t.ctx().log = &log;
  t.fit(dataset().train, dataset().valid);
  CHECK(t.ctx().stop_reason == "SIGINT received");
  CHECK(t.ctx().micro_step == 11);
  CHECK(t.ctx().batch_in_epoch == 3);
  CHECK(log.str().find("SIGINT received: wrote") != std::string::npos);
  // The handler is gone after the fit.
  const auto previous = std::signal(SIGINT, SIG_DFL);
  CHECK(previous != mt::stop_signals_detail::note);
  std::signal(SIGINT, previous);

  const auto resumed = resumed_run(out.path / "stopped" / "recovery.pt", out.path / "resumed", 2, 3);
  check_same(straight, resumed);
}

}  // namespace test_policy_checkpoints
