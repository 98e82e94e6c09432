#pragma once
// Clinical cephalometric measurements as data: each definition names the
// points it needs (symbols, with the aliases datasets use), the geometry that
// turns them into a value, its unit and, where the literature gives them, its
// classification ranges. Which dataset can compute what follows from the
// symbols alone; docs/measurements.md cites the source of every entry.
#include <array>
#include <cstddef>
#include <initializer_list>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::metric {

enum class measurement_unit { deg, mm, ratio };

inline const char* unit_name(measurement_unit unit) {
  switch (unit) {
    case measurement_unit::deg: return "deg";
    case measurement_unit::mm: return "mm";
    case measurement_unit::ratio: return "ratio";
  }
  return "?";
}

// One geometric step on a definition's points (p0..p3 index its `points`).
// Coordinates are image pixels (x right, y down) mirrored, when the profile
// faces left, so that it faces +x; the signs below assume that frame.
enum class geometry_op {
  vertex_angle,      // angle p0-p1-p2 at p1, degrees in [0, 180]
  vector_angle,      // angle between vectors p0->p1 and p2->p3, degrees in [0, 180]
  turn_angle,        // the same, signed: + when p2->p3 is turned clockwise on screen
                     // from p0->p1 (anterior end tilted down), as in Kim's ODI/APDI
  distance_ratio,    // |p0 p1| / |p2 p3|
  forward_distance,  // |p0 p1| in mm, negative when p1 lies behind p0 (smaller x)
  projected_offset,  // (p0 - p1) along the unit direction p2->p3, in mm (Wits)
};

MIXTRAIN_COLD measurement_unit op_unit(geometry_op op);

// How many of p0..p3 an op reads.
MIXTRAIN_COLD std::size_t op_arity(geometry_op op);

struct measurement_term {
  geometry_op op;
  std::array<std::size_t, 4> p{};
  double weight = 1.0;  // the value is the weighted sum of the terms
};

// A point of a definition: one landmark, or the midpoint of several (the
// functional occlusal plane runs through molar and premolar overlaps). Each
// part lists interchangeable symbols, matched case-insensitively.
struct point_spec {
  std::string name;
  std::vector<std::vector<std::string>> parts;
};

// A closed interval [low, high]; the first range of a definition containing a
// value names its class, so a boundary value belongs to the range listed first.
struct class_range {
  std::string id;     // the source's class code, e.g. "C1"
  std::string label;  // e.g. "normal maxilla"
  double low = -std::numeric_limits<double>::infinity();
  double high = std::numeric_limits<double>::infinity();
};

struct measurement_definition {
  std::string name;   // short, unique: the key in JSON and tables
  std::string title;
  measurement_unit unit = measurement_unit::deg;
  std::vector<point_spec> points;
  std::vector<measurement_term> terms;
  std::vector<class_range> classes;  // empty: reported without a class
  std::string source;
};

MIXTRAIN_COLD std::optional<std::size_t> classify(const measurement_definition& definition, double value);

namespace detail {

// Symbols by which the datasets (and common clinical tools) name each point.
MIXTRAIN_COLD std::vector<std::string> landmark_aliases(std::string_view symbol);

MIXTRAIN_COLD point_spec landmark(std::string_view symbol);

MIXTRAIN_COLD point_spec midpoint(std::string name, std::string_view a, std::string_view b);

MIXTRAIN_COLD std::vector<point_spec> landmarks(std::initializer_list<std::string_view> symbols);

constexpr double inf = std::numeric_limits<double>::infinity();
inline constexpr const char* isbi_source = "ISBI 2015 challenge (Wang et al. 2016, Med Image Anal 31)";

MIXTRAIN_COLD std::vector<measurement_definition> build_cephalometric_measurements();

}  // namespace detail

// The standard table, built once; its order is the order of every result.
inline const std::vector<measurement_definition>& cephalometric_measurements() {
  static const std::vector<measurement_definition> table = detail::build_cephalometric_measurements();
  return table;
}

}  // namespace mixtrain::metric

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/metric/impl/cephalometric_definitions.ipp>
#endif
