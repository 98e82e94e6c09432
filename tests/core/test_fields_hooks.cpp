// One member list per config generates describe, flags and state; hooks are
// found by name whatever their parameters, then their signatures are checked.
#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>
#include <vector>
#include <string>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/flag_set.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/policy/early_stopping.hpp>

namespace mt = mixtrain;

namespace test_fields_hooks {
namespace {
struct with_template_hook {
  static constexpr std::string_view name = "t";
  void on_epoch_end(auto& ctx) { (void)ctx; }
};
struct with_overloads {
  static constexpr std::string_view name = "o";
  void on_epoch_end(int) {}
  void on_epoch_end(double) {}
};
struct with_data_member {
  static constexpr std::string_view name = "d";
  int on_epoch_end = 0;
};
struct with_nothing {
  static constexpr std::string_view name = "n";
};
// A component written against CLI11 before flag_set existed.
struct cli11_policy {
  static constexpr std::string_view name = "cli11";
  int value = 0;
  void add_flags(CLI::App& cli) { cli.add_option("--cli11_value", value)->check(CLI::Range(1, 9)); }
};
struct fake_module {};
struct fake_owner {};
using fake_context = mt::basic_context<fake_module, int, int, fake_owner>;
}  // namespace

TEST_CASE("a hook is found by its name whatever its parameters") {
  STATIC_REQUIRE(mt::hook::on_epoch_end::present<with_template_hook>);
  STATIC_REQUIRE(mt::hook::on_epoch_end::present<with_overloads>);
  STATIC_REQUIRE(mt::hook::on_epoch_end::present<with_data_member>);
  STATIC_REQUIRE_FALSE(mt::hook::on_epoch_end::present<with_nothing>);
  STATIC_REQUIRE_FALSE(mt::hook::on_epoch_begin::present<with_template_hook>);
  // ... then its signature decides: only the `auto&` one is accepted.
  STATIC_REQUIRE(mt::hook::on_epoch_end::accepts<with_template_hook, fake_context>);
  STATIC_REQUIRE_FALSE(mt::hook::on_epoch_end::accepts<with_overloads, fake_context>);
  STATIC_REQUIRE_FALSE(mt::hook::on_epoch_end::accepts<with_data_member, fake_context>);
  // The context cannot be copied or moved.
  STATIC_REQUIRE_FALSE(std::is_copy_constructible_v<fake_context>);
  STATIC_REQUIRE_FALSE(std::is_move_constructible_v<fake_context>);
}

TEST_CASE("flag_set registers bound flags, functions, checks and subcommands as CLI11 would") {
  CLI::App app;
  mt::flag_set flags(app);
  int steps = 3;
  double rate = 0.5;
  bool quick = false;
  std::string mode = "mean";
  std::vector<int> size;
  std::string last;
  flags.add_option("--steps", steps, "steps").check(mt::at_least(2));
  flags.add_option("--rate", rate, "rate").check(mt::within(0, 1));
  flags.add_flag("--quick", quick, "quick");
  flags.add_option("--mode", mode, "mode").check(mt::one_of({"mean", "senior"}));
  flags.add_option_function("--size", [&](const std::vector<int>& v) { size = v; }, "W H").expected(2);
  flags.add_option_function("--tag", [&](const std::string& v) { last = v; }, "tag").take_last();
  auto sub = flags.add_subcommand("go", "a subcommand");
  int speed = 1;
  sub.add_option("--speed", speed, "speed").check(mt::positive_number());
  sub.fallthrough();
  const char* argv[] = {"t", "go", "--steps", "4", "--quick", "--size", "64", "32", "--tag", "a", "--tag", "b", "--speed", "7"};
  app.parse(14, argv);
  CHECK(steps == 4);
  CHECK(rate == 0.5);  // not given: the compiled default stands
  CHECK(quick);
  CHECK(size == std::vector<int>{64, 32});
  CHECK(last == "b");
  CHECK(speed == 7);
  CHECK(sub.parsed());
  CHECK(flags.given("--steps"));
  CHECK_FALSE(flags.given("--rate"));
  CHECK(flags.has_option("--mode"));
  CHECK_FALSE(flags.has_option("--nothing"));
  CHECK_FALSE(mt::flag_set{}.parsed());  // a subcommand the recipe does not have

  // Each check refuses with the flag's name and what is wrong.
  const auto refusal = [](std::vector<std::string> args) -> std::string {
    CLI::App strict;
    mt::flag_set f(strict);
    int steps = 3;
    double rate = 0.5;
    std::string mode;
    f.add_option("--steps", steps, "").check(mt::at_least(2));
    f.add_option("--rate", rate, "").check(mt::within(0, 1));
    f.add_option("--mode", mode, "").check(mt::one_of({"mean", "senior"}));
    f.add_option("--odd", steps, "").check([](const std::string& v) { return v.size() == 1 ? "" : "one digit, got " + v; });
    std::reverse(args.begin(), args.end());
    try {
      strict.parse(args);
    } catch (const CLI::ValidationError& e) {
      return e.what();
    }
    return "";
  };
  CHECK_THAT(refusal({"--steps", "1"}), Catch::Contains("--steps") && Catch::Contains("must be at least 2, got 1"));
  CHECK_THAT(refusal({"--rate", "1.5"}), Catch::Contains("--rate") && Catch::Contains("must be at most 1, got 1.5"));
  CHECK_THAT(refusal({"--rate", "x"}), Catch::Contains("must be a number, got 'x'"));
  CHECK_THAT(refusal({"--rate", "nan"}), Catch::Contains("must be at least 0, got nan"));
  CHECK_THAT(refusal({"--mode", "junior"}), Catch::Contains("--mode") && Catch::Contains("junior"));
  CHECK_THAT(refusal({"--odd", "12"}), Catch::Contains("one digit, got 12"));
  CHECK(refusal({"--steps", "2", "--rate", "1", "--mode", "senior"}).empty());
  CHECK(std::string(mt::flag_error("--min_side", "must not exceed --max_side").what()) == "--min_side: must not exceed --max_side");
}

TEST_CASE("an add_flags written against CLI::App is still a valid hook and gets the recipe's command line") {
  STATIC_REQUIRE(mt::hook::add_flags::accepts<cli11_policy, fake_context>);
  CLI::App app;
  mt::flag_set flags(app);
  cli11_policy p;
  mt::hook::add_flags::call(p, flags);
  const char* ok[] = {"t", "--cli11_value", "5"};
  app.parse(3, ok);
  CHECK(p.value == 5);
  CLI::App strict;
  cli11_policy q;
  mt::hook::add_flags::call(q, mt::flag_set(strict));
  const char* bad[] = {"t", "--cli11_value", "10"};
  CHECK_THROWS_AS(strict.parse(3, bad), CLI::ValidationError);
}

TEST_CASE("a config's field list gives its describe JSON, its flags with bounds and its state") {
  mt::policy::early_stopping_config config;
  const auto j = mt::describe_fields(config);
  CHECK(j.at("patience") == 20);
  CHECK(j.at("monitor") == "val_mre");
  CHECK(j.at("mode") == "min");
  CHECK(j.at("enabled") == true);
  CHECK(j.size() == 5);

  CLI::App cli;
  mt::add_field_flags(cli, config);
  const char* ok[] = {"t", "--patience", "7", "--min_delta", "0.25", "--early_stopping=false"};
  cli.parse(6, ok);
  CHECK(config.patience == 7);
  CHECK(config.min_delta == 0.25);
  CHECK_FALSE(config.enabled);
  CHECK(mt::field_flag_names<mt::policy::early_stopping_config>() ==
        std::vector<std::string_view>{"--early_stopping", "--patience", "--min_delta"});

  CLI::App strict;
  mt::policy::early_stopping_config other;
  mt::add_field_flags(strict, other);
  const char* bad[] = {"t", "--patience", "0"};
  try {
    strict.parse(3, bad);
    FAIL("--patience 0 was accepted");
  } catch (const CLI::ValidationError& e) {
    CHECK(std::string(e.what()).find("--patience") != std::string::npos);
    CHECK(std::string(e.what()).find("at least 1") != std::string::npos);
  }

  mt::policy::plateau_state state{0.5, 3, 2};
  torch::serialize::OutputArchive out;
  mt::save_fields(out, state);
  std::ostringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  std::istringstream read(bytes.str());
  in.load_from(read);
  mt::policy::plateau_state back;
  mt::load_fields(in, back);
  CHECK(back.best == 0.5);
  CHECK(back.best_epoch == 3);
  CHECK(back.wait == 2);
}

}  // namespace test_fields_hooks
