#pragma once
// Definitions of the functions declared in <mixtrain/metric/cephalometric_definitions.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/metric/cephalometric_definitions.hpp>

namespace mixtrain::metric {

MIXTRAIN_COLD measurement_unit op_unit(geometry_op op) {
  switch (op) {
    case geometry_op::vertex_angle:
    case geometry_op::vector_angle:
    case geometry_op::turn_angle: return measurement_unit::deg;
    case geometry_op::distance_ratio: return measurement_unit::ratio;
    case geometry_op::forward_distance:
    case geometry_op::projected_offset: return measurement_unit::mm;
  }
  return measurement_unit::ratio;
}

MIXTRAIN_COLD std::size_t op_arity(geometry_op op) {
  return op == geometry_op::vertex_angle ? 3 : op == geometry_op::forward_distance ? 2 : 4;
}

MIXTRAIN_COLD std::optional<std::size_t> classify(const measurement_definition& definition, double value) {
  for (std::size_t c = 0; c < definition.classes.size(); ++c)
    if (value >= definition.classes[c].low && value <= definition.classes[c].high) return c;
  return std::nullopt;
}

namespace detail {

MIXTRAIN_COLD std::vector<std::string> landmark_aliases(std::string_view symbol) {
  static const std::vector<std::vector<std::string>> table = {
      {"S", "Sella"},
      {"N", "Na", "Nasion"},
      {"Or", "Orbitale"},
      {"Po", "Por", "Porion"},
      {"A", "Ss", "Subspinale", "A point", "A-point"},
      {"B", "Sm", "Supramentale", "B point", "B-point"},
      {"Pog", "Pg", "Pogonion"},
      {"Me", "Menton"},
      {"Gn", "Gnathion"},
      {"Go", "Gonion"},
      {"UIT", "UIE", "U1", "Is", "Upper incisor tip", "Upper incisal incision"},
      {"LIT", "LIE", "L1", "Ii", "Lower incisor tip", "Lower incisal incision"},
      {"PNS", "Posterior nasal spine"},
      {"ANS", "Anterior nasal spine"},
      {"UMT", "U6", "Upper molar tip"},
      {"LMT", "L6", "Lower molar tip"},
      {"UPM", "U4", "Upper premolar"},
      {"LPM", "L4", "Lower premolar"},
  };
  for (const auto& row : table)
    if (row.front() == symbol) return row;
  return {std::string(symbol)};
}

MIXTRAIN_COLD point_spec landmark(std::string_view symbol) {
  return {std::string(symbol), {landmark_aliases(symbol)}};
}

MIXTRAIN_COLD point_spec midpoint(std::string name, std::string_view a, std::string_view b) {
  return {std::move(name), {landmark_aliases(a), landmark_aliases(b)}};
}

MIXTRAIN_COLD std::vector<point_spec> landmarks(std::initializer_list<std::string_view> symbols) {
  std::vector<point_spec> out;
  for (auto s : symbols) out.push_back(landmark(s));
  return out;
}

MIXTRAIN_COLD std::vector<measurement_definition> build_cephalometric_measurements() {
  using op = geometry_op;
  using unit = measurement_unit;
  std::vector<measurement_definition> table;
  table.push_back({"SNA", "Sella-nasion to A point", unit::deg, landmarks({"S", "N", "A"}),
                   {{op::vertex_angle, {0, 1, 2}}},
                   {{"C1", "normal maxilla", 79.4, 83.2},
                    {"C2", "prognathic maxilla", 83.2, inf},
                    {"C3", "retrognathic maxilla", -inf, 79.4}},
                   std::string("Steiner 1953; classes: ") + isbi_source});
  table.push_back({"SNB", "Sella-nasion to B point", unit::deg, landmarks({"S", "N", "B"}),
                   {{op::vertex_angle, {0, 1, 2}}},
                   {{"C1", "normal mandible", 74.6, 78.7},
                    {"C2", "retrognathic mandible", -inf, 74.6},
                    {"C3", "prognathic mandible", 78.7, inf}},
                   std::string("Steiner 1953; classes: ") + isbi_source});
  // SNA - SNB: negative when B lies ahead of A (a prognathic mandible).
  table.push_back({"ANB", "A point-nasion-B point (SNA - SNB)", unit::deg, landmarks({"S", "N", "A", "B"}),
                   {{op::vertex_angle, {0, 1, 2}}, {op::vertex_angle, {0, 1, 3}, -1.0}},
                   {{"C1", "class I", 3.2, 5.7}, {"C2", "class II", 5.7, inf}, {"C3", "class III", -inf, 3.2}},
                   std::string("Steiner 1953; classes: ") + isbi_source});
  // AB plane to mandibular plane, plus the palatal plane's tilt to FH.
  table.push_back({"ODI", "Overbite depth indicator", unit::deg,
                   landmarks({"Me", "Go", "B", "A", "Po", "Or", "PNS", "ANS"}),
                   {{op::vector_angle, {0, 1, 2, 3}}, {op::turn_angle, {4, 5, 6, 7}}},
                   {{"C1", "normal", 68.4, 80.5},
                    {"C2", "deep bite tendency", 80.5, inf},
                    {"C3", "open bite tendency", -inf, 68.4}},
                   std::string("Kim 1974; as computed by the ") + isbi_source});
  // Facial plane to FH, -/+ AB plane to facial plane, + palatal plane to FH.
  table.push_back({"APDI", "Anteroposterior dysplasia indicator", unit::deg,
                   landmarks({"Or", "Po", "N", "Pog", "A", "B", "PNS", "ANS"}),
                   {{op::vector_angle, {0, 1, 2, 3}}, {op::turn_angle, {2, 3, 4, 5}, -1.0}, {op::turn_angle, {1, 0, 6, 7}}},
                   {{"C1", "normal", 77.6, 85.2},
                    {"C2", "class II tendency", -inf, 77.6},
                    {"C3", "class III tendency", 85.2, inf}},
                   std::string("Kim and Vietas 1978; as computed by the ") + isbi_source});
  table.push_back({"FHI", "Facial height index (S-Go / N-Me)", unit::ratio, landmarks({"S", "Go", "N", "Me"}),
                   {{op::distance_ratio, {0, 1, 2, 3}}},
                   {{"C1", "normal", 0.65, 0.75},
                    {"C2", "short face tendency", 0.75, inf},
                    {"C3", "long face tendency", -inf, 0.65}},
                   isbi_source});
  // The challenge's "FMA" is measured from S-N, not FH; FH-MP below is Tweed's.
  table.push_back({"FMA", "ISBI 2015 'FMA': S-N to Go-Gn", unit::deg, landmarks({"S", "N", "Go", "Gn"}),
                   {{op::vector_angle, {0, 1, 2, 3}}},
                   {{"C1", "normal", 26.8, 31.4},
                    {"C2", "high angle tendency", 31.4, inf},
                    {"C3", "low angle tendency", -inf, 26.8}},
                   isbi_source});
  // Incisal tips apart, + when the upper incisor leads. The source gives
  // edge-to-edge as "MW = 0"; [0, 2) is given to it so every value has a class.
  table.push_back({"MW", "Modified Wits (LIT to UIT)", unit::mm, landmarks({"LIT", "UIT"}),
                   {{op::forward_distance, {0, 1}}},
                   {{"C1", "normal", 2.0, 4.5},
                    {"C4", "large overjet", 4.5, inf},
                    {"C2", "edge to edge", 0.0, 2.0},
                    {"C3", "anterior cross bite", -inf, 0.0}},
                   isbi_source});
  table.push_back({"SN-MP", "S-N to mandibular plane (Go-Me)", unit::deg, landmarks({"S", "N", "Go", "Me"}),
                   {{op::vector_angle, {0, 1, 2, 3}}},
                   {},
                   "Steiner 1953 (SN to mandibular plane)"});
  table.push_back({"FH-MP", "Frankfort to mandibular plane (Po-Or to Go-Me)", unit::deg,
                   landmarks({"Po", "Or", "Go", "Me"}),
                   {{op::vector_angle, {0, 1, 2, 3}}},
                   {},
                   "Tweed 1946 (FMA); Downs 1948"});
  // A and B projected on the functional occlusal plane, run back to front
  // through the molar and premolar overlaps; + when AO lies ahead of BO.
  table.push_back({"Wits", "Wits appraisal (AO-BO on the functional occlusal plane)", unit::mm,
                   {landmark("A"), landmark("B"), midpoint("molars (UMT+LMT)/2", "UMT", "LMT"),
                    midpoint("premolars (UPM+LPM)/2", "UPM", "LPM")},
                   {{op::projected_offset, {0, 1, 2, 3}}},
                   {},
                   "Jacobson 1975"});
  return table;
}

}  // namespace detail
}  // namespace mixtrain::metric
