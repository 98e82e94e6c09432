// One member list per config generates describe, flags and state; hooks are
// found by name whatever their parameters, then their signatures are checked.
#include <catch2/catch.hpp>

#include <sstream>
#include <string>

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <mixtrain/core/context.hpp>
#include <mixtrain/core/fields.hpp>
#include <mixtrain/core/hooks.hpp>
#include <mixtrain/policy/early_stopping.hpp>

namespace mt = mixtrain;

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
