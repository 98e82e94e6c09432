#pragma once
// Definitions of the functions declared in <mixtrain/app/gallery.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/app/gallery.hpp>

namespace mixtrain::app {

MIXTRAIN_COLD cv::Mat grayscale_at_original_size(const std::filesystem::path& path) {
  const auto decoded = data::decode_grayscale(path);
  if (decoded.pixels.size() == decoded.original_size) return decoded.pixels;
  cv::Mat gray;
  cv::resize(decoded.pixels, gray, decoded.original_size);
  return gray;
}

MIXTRAIN_COLD std::string file_safe(const std::string& text) {
  std::string out = text;
  for (auto& ch : out)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-') ch = '_';
  return out;
}

MIXTRAIN_COLD std::vector<gallery_entry> write_gallery(const std::filesystem::path& folder, const data::split& set,
                                                       const std::vector<std::vector<data::point>>& predicted,
                                                       const data::landmark_set& landmarks, const error_table& errors,
                                                       std::size_t per_landmark, int thumbnail_side) {
  std::vector<gallery_entry> entries;
  for (std::size_t k = 0; k < landmarks.size(); ++k) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < set.images.size(); ++i)
      if (!std::isnan(errors[i][k])) order.push_back(i);
    const auto n = std::min(per_landmark, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                      [&](std::size_t a, std::size_t b) { return errors[a][k] > errors[b][k]; });
    for (std::size_t r = 0; r < n; ++r) {
      const auto i = order[r];
      gallery_entry e{k, r, i, errors[i][k], {}, {}, {}};
      e.file = fmt::format("{:02}_{}_{}_{}.png", k + 1, file_safe(landmarks.symbols[k]), r + 1, file_safe(set.images[i].id));
      e.caption = fmt::format("{}: {:.2f} mm on {}", landmarks.symbols[k], errors[i][k], set.images[i].id);
      entries.push_back(std::move(e));
    }
  }
  if (entries.empty()) return entries;
  if (!folder.empty()) std::filesystem::create_directories(folder);
  std::map<std::size_t, std::vector<gallery_entry*>> by_image;
  for (auto& e : entries) by_image[e.image].push_back(&e);
  for (const auto& [i, list] : by_image) {
    const auto& truth = set.images[i];
    const auto drawn = draw_landmarks(grayscale_at_original_size(truth.image_path), landmarks.symbols, predicted[i], {&truth.landmarks, &truth.present, truth.pixel_size_mm});
    const int unit = overlay_unit(drawn.size());
    for (auto* e : list) {
      const auto& t = truth.landmarks[e->landmark];
      const double error_px = e->error_mm / std::max(truth.pixel_size_mm, 1e-9);
      const int half = static_cast<int>(std::max(24.0 * unit, 1.3 * error_px + 12.0 * unit));
      const auto thumb = crop_thumbnail(drawn, t, half, thumbnail_side);
      e->png = encode_png(thumb);
      if (!folder.empty()) io::write_text_atomically(folder / e->file, std::string(e->png.begin(), e->png.end()));
      if (e->rank > 0) e->png.clear();
    }
  }
  return entries;
}

}  // namespace mixtrain::app
