// Tensor files and strict / non-strict state-dict loading; the PyTorch parity
// case reads a file that a ctest fixture produces with Python (see CMakeLists).
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

#include <torch/torch.h>

#include "mixtrain/io/state_dict.hpp"
#include "mixtrain/model/hrnet.hpp"

namespace mio = mixtrain::io;
namespace mm = mixtrain::model;
namespace fs = std::filesystem;

namespace test_weights {
namespace {

// A scratch file in the build tree's temp area, removed at scope exit.
struct temp_file {
  fs::path path;
  explicit temp_file(const std::string& name)
      : path(fs::temp_directory_path() / ("mixtrain_test_" + std::to_string(::getpid()) + "_" + name)) {}
  ~temp_file() {
    std::error_code ignored;
    fs::remove(path, ignored);
  }
};

mm::hrnet_network small_model(std::int64_t landmarks = 3) {
  return mm::hrnet<mm::hrnet_small>::build({.num_landmarks = landmarks, .in_channels = 1});
}

bool same_state(const torch::nn::Module& a, const torch::nn::Module& b) {
  const auto ta = mio::module_tensors(a), tb = mio::module_tensors(b);
  if (ta.size() != tb.size()) return false;
  for (const auto& [name, t] : ta)
    if (!tb.count(name) || !torch::equal(t, tb.at(name))) return false;
  return true;
}

void randomise(torch::nn::Module& m) {
  torch::NoGradGuard no_grad;
  for (auto& p : m.parameters()) p.normal_();
}

}  // namespace

TEST_CASE("tensor files round-trip through save and load", "[weights]") {
  temp_file file("roundtrip.pt");
  const mio::tensor_map tensors{{"a.weight", torch::randn({3, 4})},
                                {"b.count", torch::tensor({7}, torch::kInt64)},
                                {"c", torch::arange(6.0).view({2, 3}).t()}};  // non-contiguous
  mio::save_tensor_file(tensors, file.path);
  const auto loaded = mio::load_tensor_file(file.path);
  REQUIRE(loaded.size() == 3);
  for (const auto& [name, t] : tensors) {
    INFO(name);
    CHECK(torch::equal(loaded.at(name), t));
    CHECK(loaded.at(name).dtype() == t.dtype());
  }
}

TEST_CASE("missing or corrupt tensor files are errors naming the file", "[weights]") {
  const auto missing = fs::temp_directory_path() / "mixtrain_no_such_file.pt";
  CHECK_THROWS_WITH(mio::load_tensor_file(missing), Catch::Contains(missing.string()));

  temp_file corrupt("corrupt.pt");
  std::ofstream(corrupt.path) << "this is not a zip archive";
  CHECK_THROWS_WITH(mio::load_tensor_file(corrupt.path), Catch::Contains(corrupt.path.string()));

  auto model = small_model();
  CHECK_THROWS_WITH(mio::load_state_dict_file(*model, missing), Catch::Contains(missing.string()));
}

TEST_CASE("strict loading copies every tensor of a matching state", "[weights]") {
  auto source = small_model();
  randomise(*source);
  auto target = small_model();
  REQUIRE_FALSE(same_state(*source, *target));

  temp_file file("model.pt");
  mio::save_tensor_file(mio::module_tensors(*source), file.path);
  const auto report = mio::load_state_dict_file(*target, file.path);
  CHECK(report.ok());
  CHECK(report.loaded == mio::module_tensors(*target).size());
  CHECK(same_state(*source, *target));
}

TEST_CASE("strict loading lists every problem and loads nothing", "[weights]") {
  auto source = small_model(/*landmarks=*/4);  // head shape differs
  randomise(*source);
  auto tensors = mio::module_tensors(*source);
  tensors.erase("bn1.running_var");
  tensors.emplace("extra.weight", torch::zeros({1}));

  auto target = small_model(3);
  const auto before = mio::module_tensors(*target);
  std::map<std::string, torch::Tensor> snapshot;
  for (const auto& [name, t] : before) snapshot.emplace(name, t.clone());

  try {
    mio::load_state_dict(*target, tensors);
    FAIL("strict load of a mismatching state did not throw");
  } catch (const std::runtime_error& e) {
    const std::string message = e.what();
    INFO(message);
    CHECK_THAT(message, Catch::Contains("missing: bn1.running_var"));
    CHECK_THAT(message, Catch::Contains("unexpected: extra.weight"));
    CHECK_THAT(message, Catch::Contains("mis-shaped: final_layer.weight: file [4, 18, 1, 1] vs module [3, 18, 1, 1]"));
    CHECK_THAT(message, Catch::Contains("mis-shaped: final_layer.bias"));
  }
  for (const auto& [name, t] : before) {
    INFO(name);
    CHECK(torch::equal(t, snapshot.at(name)));  // untouched
  }
}

TEST_CASE("non-strict loading loads what matches and reports the rest", "[weights]") {
  auto source = small_model(4);
  randomise(*source);
  auto target = small_model(3);
  const auto report = mio::load_state_dict(*target, mio::module_tensors(*source), {.strict = false});
  CHECK_FALSE(report.ok());
  CHECK(report.missing.empty());
  CHECK(report.unexpected.empty());
  CHECK(report.mismatched.size() == 2);  // the head's weight and bias
  CHECK(report.loaded == mio::module_tensors(*target).size() - 2);
  CHECK(torch::equal(target->named_parameters()["conv1.weight"], source->named_parameters()["conv1.weight"]));
  CHECK_FALSE(torch::equal(target->named_parameters()["final_layer.bias"].narrow(0, 0, 3),
                           source->named_parameters()["final_layer.bias"].narrow(0, 0, 3)));
}

TEST_CASE("prefix rewrites rename file tensors before matching", "[weights]") {
  CHECK(mio::apply_name_map("module.conv1.weight", {{"module.", ""}}) == "conv1.weight");
  CHECK(mio::apply_name_map("head.weight", {{"module.", ""}, {"head.", "final_layer."}}) == "final_layer.weight");
  CHECK(mio::apply_name_map("conv1.weight", {{"module.", ""}}) == "conv1.weight");

  auto source = small_model();
  randomise(*source);
  mio::tensor_map wrapped;
  for (const auto& [name, t] : mio::module_tensors(*source)) wrapped.emplace("module." + name, t);
  auto target = small_model();
  CHECK_THROWS(mio::load_state_dict(*target, wrapped));
  CHECK(mio::load_state_dict(*target, wrapped, {.rename = {{"module.", ""}}}).ok());
  CHECK(same_state(*source, *target));
}

// Produced by the ctest fixture: benchmarks/hrnet_reference.py --roundtrip
// writes a random PyTorch HRNet-small checkpoint (RGB, 'module.' prefixes,
// wrapped in 'state_dict') and the grayscale model's output on a fixed input;
// scripts/export_pytorch_weights.py --gray --merge turns both into one file.
TEST_CASE("weights exported from PyTorch reproduce PyTorch's output", "[weights][python]") {
  const char* env = std::getenv("MIXTRAIN_HRNET_ROUNDTRIP_FILE");
  const fs::path path = env ? fs::path(env) : fs::path("hrnet_roundtrip") / "weights.pt";
  if (!fs::exists(path))
    FAIL("no " << path << ": it is made by the ctest fixture test_model:python_export_weights "
                          "(run `ctest -R weight` in the build tree; needs /usr/bin/python3 with torch)");
  auto tensors = mio::load_tensor_file(path);
  const auto input = tensors.at("roundtrip.input");
  const auto expected = tensors.at("roundtrip.output");
  tensors.erase("roundtrip.input");
  tensors.erase("roundtrip.output");

  auto model = mm::hrnet<mm::hrnet_small>::build({.num_landmarks = expected.size(1), .in_channels = 1});
  const auto report = mio::load_state_dict(*model, tensors);  // strict: every name and shape matches
  CHECK(report.ok());
  model->eval();
  torch::NoGradGuard no_grad;
  const auto output = model->forward(input);
  REQUIRE(output.sizes() == expected.sizes());
  const double scale = expected.abs().max().item<double>();
  const double error = (output - expected).abs().max().item<double>();
  INFO("max |C++ - PyTorch| = " << error << " (output scale " << scale << ")");
  CHECK(scale > 0);
  CHECK(error <= 1e-4 * scale);
}

}  // namespace test_weights
