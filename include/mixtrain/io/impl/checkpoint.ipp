#pragma once
// Definitions of the functions declared in <mixtrain/io/checkpoint.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/io/checkpoint.hpp>

namespace mixtrain::io {

MIXTRAIN_COLD std::vector<std::string> contract_differences(const nlohmann::json& stored, const nlohmann::json& here,
                                                            const std::vector<std::string>& ignored) {
  std::vector<std::string> out;
  auto skip = [&](const std::string& key) { return std::find(ignored.begin(), ignored.end(), key) != ignored.end(); };
  for (const auto& [key, value] : stored.items()) {
    if (skip(key)) continue;
    if (!here.contains(key)) out.push_back(key + ": checkpoint has " + value.dump() + ", this run has none");
    else if (here.at(key) != value)
      out.push_back(key + ": checkpoint has " + value.dump() + ", this run has " + here.at(key).dump());
  }
  for (const auto& [key, value] : here.items())
    if (!skip(key) && !stored.contains(key)) out.push_back(key + ": checkpoint has none, this run has " + value.dump());
  return out;
}

MIXTRAIN_COLD opened_checkpoint open_checkpoint(const std::filesystem::path& path) {
  if (!std::filesystem::exists(path)) throw std::runtime_error(path.string() + ": checkpoint file does not exist");
  opened_checkpoint opened{path, {}, {}};
  c10::IValue value;
  try {
    opened.archive.load_from(path.string());
    opened.archive.read("contract", value);
    opened.contract = nlohmann::json::parse(value.toStringRef());
  } catch (const std::exception& e) {
    const std::string what = e.what();
    throw std::runtime_error(path.string() + ": not a mixtrain checkpoint (" + what.substr(0, what.find('\n')) + ")");
  }
  return opened;
}

MIXTRAIN_COLD nlohmann::json read_contract(const std::filesystem::path& path) { return open_checkpoint(path).contract; }

MIXTRAIN_COLD void write_checkpoint(const std::filesystem::path& path, const torch::nn::Module& model,
                                    const torch::optim::Optimizer& optimizer, const nlohmann::json& contract,
                                    const nlohmann::json& counters,
                                    const std::function<void(torch::serialize::OutputArchive&)>& extra) {
  write_atomically(path, [&](const std::filesystem::path& temporary) {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive;
    model.save(model_archive);
    archive.write("model", model_archive);
    torch::serialize::OutputArchive optimizer_archive;
    optimizer.save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    archive.write("contract", c10::IValue(contract.dump()));
    archive.write("counters", c10::IValue(counters.dump()));
    archive.write("torch_rng", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
    extra(archive);
    file_sink sink(temporary);  // not save_to(path): see file_sink
    archive.save_to([&](const void* data, std::size_t size) { return sink.write(data, size); });
    sink.finish();
  });
}

MIXTRAIN_COLD nlohmann::json read_training_state(opened_checkpoint& opened, torch::optim::Optimizer& optimizer) {
  torch::serialize::InputArchive optimizer_archive;
  opened.archive.read("optimizer", optimizer_archive);
  optimizer.load(optimizer_archive);
  c10::IValue counters;
  opened.archive.read("counters", counters);
  torch::Tensor rng;
  opened.archive.read("torch_rng", rng, true);
  at::Generator generator = at::detail::getDefaultCPUGenerator();  // a shared handle
  generator.set_state(rng);
  return nlohmann::json::parse(counters.toStringRef());
}

MIXTRAIN_COLD void read_model(opened_checkpoint& opened, torch::nn::Module& model) {
  torch::serialize::InputArchive model_archive;
  opened.archive.read("model", model_archive);
  model.load(model_archive);
}

MIXTRAIN_COLD void opened_checkpoint::require_contract(const nlohmann::json& here) const {
  const auto differences = contract_differences(contract, here);
  if (differences.empty()) return;
  std::string message = path.string() + ": checkpoint does not fit this recipe and data:";
  for (const auto& d : differences) message += "\n  " + d;
  throw std::runtime_error(message);
}

}  // namespace mixtrain::io
