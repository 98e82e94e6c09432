#pragma once
// Definitions of the functions declared in <mixtrain/metric/cephalometric.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/metric/cephalometric.hpp>

namespace mixtrain::metric {
namespace detail {

MIXTRAIN_COLD bool same_symbol(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

MIXTRAIN_COLD std::optional<std::size_t> find_symbol(const data::landmark_set& set, const std::vector<std::string>& aliases) {
  for (const auto& alias : aliases)
    for (std::size_t k = 0; k < set.size(); ++k)
      if (set.symbols[k] == alias) return k;
  for (const auto& alias : aliases)
    for (std::size_t k = 0; k < set.size(); ++k)
      if (same_symbol(set.symbols[k], alias)) return k;
  return std::nullopt;
}

MIXTRAIN_COLD std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

MIXTRAIN_COLD vec2 operator-(vec2 a, vec2 b) { return {a.x - b.x, a.y - b.y}; }

MIXTRAIN_COLD double dot(vec2 a, vec2 b) { return a.x * b.x + a.y * b.y; }

MIXTRAIN_COLD double cross(vec2 a, vec2 b) { return a.x * b.y - a.y * b.x; }

MIXTRAIN_COLD double norm(vec2 a) { return std::hypot(a.x, a.y); }

MIXTRAIN_COLD std::optional<double> evaluate(const measurement_term& term, const std::vector<vec2>& p, double pixel_size_mm) {
  const auto& i = term.p;
  switch (term.op) {
    case geometry_op::vertex_angle:
    case geometry_op::vector_angle:
    case geometry_op::turn_angle: {
      const bool vertex = term.op == geometry_op::vertex_angle;
      const vec2 a = vertex ? p[i[0]] - p[i[1]] : p[i[1]] - p[i[0]];
      const vec2 b = vertex ? p[i[2]] - p[i[1]] : p[i[3]] - p[i[2]];
      if (norm(a) < tiny || norm(b) < tiny) return std::nullopt;
      const double c = cross(a, b);
      const double angle = std::atan2(term.op == geometry_op::turn_angle ? c : std::abs(c), dot(a, b));
      return angle * degrees_per_radian;
    }
    case geometry_op::distance_ratio: {
      const double denominator = norm(p[i[3]] - p[i[2]]);
      if (denominator < tiny) return std::nullopt;
      return norm(p[i[1]] - p[i[0]]) / denominator;
    }
    case geometry_op::forward_distance: {
      const vec2 d = p[i[1]] - p[i[0]];
      return (d.x < 0 ? -1.0 : 1.0) * norm(d) * pixel_size_mm;
    }
    case geometry_op::projected_offset: {
      const vec2 direction = p[i[3]] - p[i[2]];
      if (norm(direction) < tiny) return std::nullopt;
      return dot(p[i[0]] - p[i[1]], direction) / norm(direction) * pixel_size_mm;
    }
  }
  return std::nullopt;
}

}  // namespace detail

MIXTRAIN_COLD std::vector<measurement_value> measure(const data::landmark_set& set, const std::vector<data::point>& points_px,
                                                     const std::vector<std::uint8_t>& present, double pixel_size_mm) {
  return cephalometry(set).measure(points_px, present, pixel_size_mm);
}

MIXTRAIN_COLD nlohmann::json measurements_json(const std::vector<measurement_definition>& definitions,
                                               const std::vector<measurement_value>& values) {
  auto out = nlohmann::json::object();
  for (std::size_t d = 0; d < definitions.size() && d < values.size(); ++d) {
    const auto& v = values[d];
    nlohmann::json entry = {{"unit", unit_name(definitions[d].unit)}, {"value", nullptr}};
    if (v.value) entry["value"] = *v.value;
    else entry["reason"] = v.reason;
    if (v.value && !definitions[d].classes.empty()) {
      entry["class"] = v.class_index ? nlohmann::json(definitions[d].classes[*v.class_index].id) : nlohmann::json();
      entry["label"] = v.class_index ? nlohmann::json(definitions[d].classes[*v.class_index].label) : nlohmann::json();
    }
    out[definitions[d].name] = std::move(entry);
  }
  return out;
}

MIXTRAIN_COLD cephalometry::cephalometry(const data::landmark_set& set,
                                         std::vector<measurement_definition> definitions)
    : definitions_(std::move(definitions)), symbols_(set.symbols) {
  for (const auto& definition : definitions_) {
    resolved r;
    for (const auto& point : definition.points) {
      std::vector<std::size_t> parts;
      for (const auto& aliases : point.parts) {
        if (auto k = detail::find_symbol(set, aliases)) parts.push_back(*k);
        else r.missing.push_back(aliases.front());
      }
      r.points.push_back(std::move(parts));
    }
    resolved_.push_back(std::move(r));
  }
  // Which way the profile faces, from the first pair an image has (back, front).
  for (auto [back, front] : {std::pair{"S", "N"}, {"Po", "Or"}, {"PNS", "ANS"}, {"Go", "Me"}}) {
    auto b = detail::find_symbol(set, detail::landmark_aliases(back));
    auto f = detail::find_symbol(set, detail::landmark_aliases(front));
    if (b && f) facing_pairs_.emplace_back(*b, *f);
  }
}

}  // namespace mixtrain::metric
