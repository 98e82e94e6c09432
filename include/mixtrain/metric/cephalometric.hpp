#pragma once
// Clinical measurements on one image's landmarks: the table of
// cephalometric_definitions.hpp resolved against a landmark set and computed
// per image; measurement_agreement.hpp compares truth with prediction.
#include <cctype>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/metric/cephalometric_definitions.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::metric {

// One measurement on one image: a value (and class, if the definition has
// ranges), or the reason there is none. Never a guess.
struct measurement_value {
  std::optional<double> value;             // in the definition's unit
  std::optional<std::size_t> class_index;  // into definition.classes
  std::string reason;                      // empty when there is a value
  [[nodiscard]] bool available() const { return value.has_value(); }
};

namespace detail {

MIXTRAIN_COLD bool same_symbol(std::string_view a, std::string_view b);

// The first alias the set holds; an exact spelling wins over a case-folded one.
MIXTRAIN_COLD std::optional<std::size_t> find_symbol(const data::landmark_set& set, const std::vector<std::string>& aliases);

MIXTRAIN_COLD std::string join(const std::vector<std::string>& items);

struct vec2 {
  double x = 0, y = 0;
};
MIXTRAIN_COLD vec2 operator-(vec2 a, vec2 b);
MIXTRAIN_COLD double dot(vec2 a, vec2 b);
MIXTRAIN_COLD double cross(vec2 a, vec2 b);
MIXTRAIN_COLD double norm(vec2 a);
inline constexpr double degrees_per_radian = 57.29577951308232;
inline constexpr double tiny = 1e-9;  // pixels: coincident points make no line

// One term's value, or nullopt when its points coincide.
MIXTRAIN_COLD std::optional<double> evaluate(const measurement_term& term, const std::vector<vec2>& p, double pixel_size_mm);

}  // namespace detail

// The table resolved against one landmark set (once per dataset): which
// landmark each point reads, or which symbols the set lacks.
class cephalometry {
 public:
  MIXTRAIN_COLD explicit cephalometry(const data::landmark_set& set,
                                      std::vector<measurement_definition> definitions = cephalometric_measurements());

  [[nodiscard]] const std::vector<measurement_definition>& definitions() const { return definitions_; }
  [[nodiscard]] std::size_t size() const { return definitions_.size(); }
  // Symbols (canonical spelling) definition k needs and the set lacks.
  [[nodiscard]] const std::vector<std::string>& missing_symbols(std::size_t k) const { return resolved_.at(k).missing; }
  [[nodiscard]] bool computable(std::size_t k) const { return resolved_.at(k).missing.empty(); }

  // points_px: original pixels, one per symbol; present: 0 where the landmark
  // was not annotated (pass the truth's mask for predictions too, so both
  // sides are measured on the same landmarks).
  [[nodiscard]] std::vector<measurement_value> measure(const std::vector<data::point>& points_px,
                                                       const std::vector<std::uint8_t>& present,
                                                       double pixel_size_mm) const {
    const auto usable = [&](std::size_t k) {
      return k < points_px.size() && (present.empty() || (k < present.size() && present[k])) &&
             std::isfinite(points_px[k].x) && std::isfinite(points_px[k].y);
    };
    double facing = 1.0;  // -1 mirrors x so that the profile faces +x
    for (auto [back, front] : facing_pairs_)
      if (usable(back) && usable(front)) {
        facing = points_px[front].x < points_px[back].x ? -1.0 : 1.0;
        break;
      }
    std::vector<measurement_value> out;
    for (std::size_t d = 0; d < definitions_.size(); ++d) out.push_back(measure_one(d, points_px, usable, facing, pixel_size_mm));
    return out;
  }

 private:
  struct resolved {
    std::vector<std::vector<std::size_t>> points;  // landmark index of each part
    std::vector<std::string> missing;
  };

  template <typename Usable>
  measurement_value measure_one(std::size_t d, const std::vector<data::point>& points_px, const Usable& usable,
                                double facing, double pixel_size_mm) const {
    const auto& definition = definitions_[d];
    const auto& r = resolved_[d];
    measurement_value out;
    if (!r.missing.empty()) {
      out.reason = "the landmark set has no " + detail::join(r.missing);
      return out;
    }
    std::vector<std::string> absent;
    std::vector<detail::vec2> p;
    for (const auto& parts : r.points) {
      detail::vec2 sum;
      for (auto k : parts) {
        if (!usable(k)) absent.push_back(symbols_[k]);
        else sum = {sum.x + facing * points_px[k].x, sum.y + points_px[k].y};
      }
      p.push_back({sum.x / static_cast<double>(parts.size()), sum.y / static_cast<double>(parts.size())});
    }
    if (!absent.empty()) {
      out.reason = "not annotated on this image: " + detail::join(absent);
      return out;
    }
    bool needs_mm = false;
    for (const auto& term : definition.terms) needs_mm = needs_mm || op_unit(term.op) == measurement_unit::mm;
    if (needs_mm && !(std::isfinite(pixel_size_mm) && pixel_size_mm > 0)) {
      out.reason = "no pixel size";
      return out;
    }
    double value = 0;
    for (const auto& term : definition.terms) {
      const auto v = detail::evaluate(term, p, pixel_size_mm);
      if (!v) {
        out.reason = "coincident points";
        return out;
      }
      value += term.weight * *v;
    }
    out.value = value;
    out.class_index = classify(definition, value);
    return out;
  }

  std::vector<measurement_definition> definitions_;
  std::vector<std::string> symbols_;
  std::vector<resolved> resolved_;
  std::vector<std::pair<std::size_t, std::size_t>> facing_pairs_;
};

// One-off form; resolve a cephalometry once when measuring many images.
MIXTRAIN_COLD std::vector<measurement_value> measure(const data::landmark_set& set, const std::vector<data::point>& points_px,
                                                     const std::vector<std::uint8_t>& present, double pixel_size_mm);

// Per image, keyed by measurement name:
// {"SNA": {"unit": "deg", "value": 81.2, "class": "C1", "label": "normal maxilla"},
//  "Wits": {"unit": "mm", "value": null, "reason": "the landmark set has no UMT, ..."}}
MIXTRAIN_COLD nlohmann::json measurements_json(const std::vector<measurement_definition>& definitions,
                                               const std::vector<measurement_value>& values);

}  // namespace mixtrain::metric

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/metric/impl/cephalometric.ipp>
#endif
