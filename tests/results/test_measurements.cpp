// Clinical measurements on constructed faces whose angles and distances are
// known by construction (trigonometry here, in image pixels: x right, y
// down, profile facing +x), the ISBI 2015 class boundaries, what is not
// available and why, and the truth-versus-prediction agreement by hand.
#include <catch2/catch.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include <mixtrain/metric/cephalometric.hpp>
#include <mixtrain/metric/measurement_agreement.hpp>

using namespace mixtrain;
using metric::cephalometry;
using metric::measurement_value;

namespace {

constexpr double pi = 3.14159265358979323846;
using face = std::map<std::string, data::point>;

// Screen direction in degrees, clockwise from +x (so 90 points down).
data::point polar(data::point from, double degrees, double length) {
  const double t = degrees * pi / 180.0;
  return {from.x + length * std::cos(t), from.y + length * std::sin(t)};
}

std::size_t index_of(const std::string& name) {
  const auto& table = metric::cephalometric_measurements();
  for (std::size_t d = 0; d < table.size(); ++d)
    if (table[d].name == name) return d;
  FAIL("no measurement " << name);
  return 0;
}

const std::vector<std::string> isbi_symbols = {"S",   "N",   "Or", "Po", "A",  "B",  "Pog",  "Me",  "Gn", "Go",
                                               "LIT", "UIT", "UL", "LL", "Sn", "Pog'", "PNS", "ANS", "Ar"};

// The synthetic Aariz template (unit head box times 1000 px).
const face aariz_template = {
    {"A", {740, 600}},   {"ANS", {770, 550}},  {"B", {730, 800}},    {"Me", {690, 940}},  {"N", {780, 300}},
    {"Or", {690, 410}},  {"Pog", {750, 880}},  {"PNS", {490, 560}},  {"Pn", {930, 500}},  {"R", {370, 660}},
    {"S", {390, 350}},   {"Ar", {310, 520}},   {"Co", {290, 470}},   {"Gn", {730, 920}},  {"Go", {390, 810}},
    {"Po", {240, 420}},  {"LPM", {660, 725}},  {"LIT", {775, 705}},  {"LMT", {580, 725}}, {"UPM", {660, 685}},
    {"UIA", {720, 580}}, {"UIT", {790, 695}},  {"UMT", {580, 685}},  {"LIA", {710, 820}}, {"Li", {865, 760}},
    {"Ls", {875, 665}},  {"N'", {840, 300}},   {"Pog'", {830, 890}}, {"Sn", {860, 585}}};

std::vector<std::string> symbols_of(const face& f) {
  std::vector<std::string> out;
  for (const auto& [symbol, p] : f) out.push_back(symbol);
  return out;
}

// Measures `f` on a landmark set of `symbols`; symbols `f` lacks are not annotated.
std::vector<measurement_value> measure(const face& f, const std::vector<std::string>& symbols, double pixel_size = 0.1) {
  data::landmark_set set{symbols, symbols};
  std::vector<data::point> points;
  std::vector<std::uint8_t> present;
  for (const auto& s : symbols) {
    const auto it = f.find(s);
    points.push_back(it == f.end() ? data::point{} : it->second);
    present.push_back(it == f.end() ? 0 : 1);
  }
  return cephalometry(set).measure(points, present, pixel_size);
}
std::vector<measurement_value> measure(const face& f) { return measure(f, symbols_of(f)); }

double value(const std::vector<measurement_value>& v, const std::string& name) {
  const auto& m = v.at(index_of(name));
  INFO(name << ": " << m.reason);
  REQUIRE(m.value);
  return *m.value;
}

std::string class_id(const std::vector<measurement_value>& v, const std::string& name) {
  const auto d = index_of(name);
  REQUIRE(v.at(d).class_index);
  return metric::cephalometric_measurements()[d].classes[*v[d].class_index].id;
}

// S, N, A, B with SNA and SNB as given: S sits behind N and a little lower.
face steiner_face(double sna, double snb) {
  const data::point n{780, 300};
  const double sn_direction = 172.7;  // from N towards S
  return {{"N", n},
          {"S", polar(n, sn_direction, 390)},
          {"A", polar(n, sn_direction - sna, 300)},
          {"B", polar(n, sn_direction - snb, 500)}};
}

double angle_by_dot_product(data::point p, data::point vertex, data::point q) {
  const double ax = p.x - vertex.x, ay = p.y - vertex.y, bx = q.x - vertex.x, by = q.y - vertex.y;
  return std::acos((ax * bx + ay * by) / (std::hypot(ax, ay) * std::hypot(bx, by))) * 180.0 / pi;
}

}  // namespace

TEST_CASE("measurements: SNA, SNB and ANB equal the angles the face was built with", "[measurements]") {
  const auto v = measure(steiner_face(82.0, 78.0));
  CHECK(value(v, "SNA") == Approx(82.0).margin(1e-9));
  CHECK(value(v, "SNB") == Approx(78.0).margin(1e-9));
  CHECK(value(v, "ANB") == Approx(4.0).margin(1e-9));
  CHECK(class_id(v, "SNA") == "C1");
  CHECK(class_id(v, "SNB") == "C1");
  CHECK(class_id(v, "ANB") == "C1");
}

TEST_CASE("measurements: a prognathic mandible gives a negative ANB and class III", "[measurements]") {
  const auto v = measure(steiner_face(80.0, 84.0));
  CHECK(value(v, "ANB") == Approx(-4.0).margin(1e-9));
  CHECK(class_id(v, "ANB") == "C3");
  CHECK(class_id(v, "SNB") == "C3");  // prognathic mandible
  const auto retrusive = measure(steiner_face(84.0, 76.0));
  CHECK(value(retrusive, "ANB") == Approx(8.0).margin(1e-9));
  CHECK(class_id(retrusive, "ANB") == "C2");
  CHECK(class_id(retrusive, "SNA") == "C2");  // prognathic maxilla
}

TEST_CASE("measurements: the synthetic template face measures as computed by hand", "[measurements]") {
  const auto& f = aariz_template;
  const auto v = measure(f);
  const double sna = angle_by_dot_product(f.at("S"), f.at("N"), f.at("A"));
  const double snb = angle_by_dot_product(f.at("S"), f.at("N"), f.at("B"));
  CHECK(value(v, "SNA") == Approx(sna).epsilon(1e-12));
  CHECK(value(v, "SNB") == Approx(snb).epsilon(1e-12));
  CHECK(value(v, "ANB") == Approx(sna - snb).margin(1e-9));
  // Moving B back (a retrusive mandible) must raise ANB, moving it forward lower it.
  auto back = f, forward = f;
  back["B"].x -= 70;
  forward["B"].x += 50;
  CHECK(value(measure(back), "ANB") > value(v, "ANB") + 4.0);
  CHECK(value(measure(forward), "ANB") < value(v, "ANB") - 3.0);
  CHECK(class_id(measure(back), "ANB") == "C2");
  // Every one of the eleven measurements is available on the 29 Aariz landmarks.
  for (const auto& m : v) CHECK(m.available());
}

TEST_CASE("measurements: a profile facing left measures the same as its mirror image", "[measurements]") {
  auto f = aariz_template;
  f["B"].x += 20;  // some asymmetry in the signed terms
  face mirrored;
  for (const auto& [symbol, p] : f) mirrored[symbol] = {1000.0 - p.x, p.y};
  const auto right = measure(f), left = measure(mirrored);
  for (std::size_t d = 0; d < right.size(); ++d) {
    INFO(metric::cephalometric_measurements()[d].name);
    REQUIRE(left[d].value);
    CHECK(*left[d].value == Approx(*right[d].value).margin(1e-9));
  }
}

TEST_CASE("measurements: FHI is the ratio S-Go over N-Me", "[measurements]") {
  face f = {{"N", {780, 300}}, {"Me", {780, 800}}, {"S", {400, 350}}, {"Go", {400, 700}}};
  auto v = measure(f);
  CHECK(value(v, "FHI") == Approx(0.7).epsilon(1e-12));
  CHECK(class_id(v, "FHI") == "C1");
  f["Go"] = {400, 725};  // exactly 0.75: the upper edge of normal
  CHECK(value(measure(f), "FHI") == 0.75);
  CHECK(class_id(measure(f), "FHI") == "C1");
  f["Go"] = {400, 750};
  CHECK(class_id(measure(f), "FHI") == "C2");  // short face tendency
  f["Go"] = {400, 650};
  CHECK(class_id(measure(f), "FHI") == "C3");  // long face tendency
}

TEST_CASE("measurements: ODI adds the AB to mandibular plane angle and the palatal tilt", "[measurements]") {
  const data::point pns{490, 560}, me{690, 940};
  auto odi_face = [&](double ab_mp, double palatal_down) {
    return face{{"Po", {240, 420}}, {"Or", {690, 420}},  // FH horizontal
                {"PNS", pns},       {"ANS", polar(pns, palatal_down, 280)},
                {"A", {730, 600}},  {"B", {730, 800}},  // AB vertical, B->A up
                {"Me", me},         {"Go", polar(me, -90.0 - ab_mp, 300)}};
  };
  CHECK(value(measure(odi_face(70, 2)), "ODI") == Approx(72.0).margin(1e-9));
  CHECK(class_id(measure(odi_face(70, 2)), "ODI") == "C1");
  CHECK(value(measure(odi_face(70, -2)), "ODI") == Approx(68.0).margin(1e-9));  // palate tilted up anteriorly
  CHECK(class_id(measure(odi_face(70, -2)), "ODI") == "C3");                    // open bite tendency
  CHECK(class_id(measure(odi_face(78, 3)), "ODI") == "C2");                     // 81: deep bite tendency
}

TEST_CASE("measurements: APDI adds facial angle, AB to facial plane and palatal tilt with their signs", "[measurements]") {
  const data::point n{780, 300}, a{740, 600}, pns{490, 560};
  auto apdi_face = [&](double ab_direction) {
    return face{{"Po", {240, 420}}, {"Or", {690, 420}}, {"N", n},
                {"Pog", polar(n, 90, 590)},  // facial plane straight down: 90 deg to FH
                {"A", a},           {"B", polar(a, ab_direction, 200)},
                {"PNS", pns},       {"ANS", polar(pns, 1, 280)}};
  };
  // B 10 deg behind A counts negative, 10 deg ahead positive (Kim and Vietas).
  CHECK(value(measure(apdi_face(100)), "APDI") == Approx(90 - 10 + 1).margin(1e-9));
  CHECK(class_id(measure(apdi_face(100)), "APDI") == "C1");
  CHECK(value(measure(apdi_face(80)), "APDI") == Approx(90 + 10 + 1).margin(1e-9));
  CHECK(class_id(measure(apdi_face(80)), "APDI") == "C3");  // class III tendency
  CHECK(class_id(measure(apdi_face(110)), "APDI") == "C2");  // 71: class II tendency
}

TEST_CASE("measurements: ODI and APDI follow the challenge's own vector formulas", "[measurements]") {
  // The ISBI 2015 formulas restated: acos of each vector pair, negated by the
  // sign of the 2D cross product (image coordinates, y down).
  const auto& f = aariz_template;
  auto vec = [&](const char* from, const char* to) {
    return std::array<double, 2>{f.at(to).x - f.at(from).x, f.at(to).y - f.at(from).y};
  };
  auto acos_angle = [](std::array<double, 2> a, std::array<double, 2> b) {
    return std::acos((a[0] * b[0] + a[1] * b[1]) / (std::hypot(a[0], a[1]) * std::hypot(b[0], b[1]))) * 180.0 / pi;
  };
  auto cross = [](std::array<double, 2> a, std::array<double, 2> b) { return a[0] * b[1] - a[1] * b[0]; };
  const auto fh = vec("Po", "Or"), pp = vec("PNS", "ANS"), facial = vec("N", "Pog"), ab = vec("A", "B");
  const double palatal = cross(fh, pp) < 0 ? -acos_angle(fh, pp) : acos_angle(fh, pp);
  const double odi = acos_angle(vec("Me", "Go"), vec("B", "A")) + palatal;
  const double apdi = acos_angle(vec("Or", "Po"), facial) +
                      (cross(facial, ab) > 0 ? -acos_angle(facial, ab) : acos_angle(facial, ab)) + palatal;
  const auto v = measure(f);
  CHECK(value(v, "ODI") == Approx(odi).margin(1e-9));
  CHECK(value(v, "APDI") == Approx(apdi).margin(1e-9));
  CHECK(value(v, "FMA") == Approx(acos_angle(vec("S", "N"), vec("Go", "Gn"))).margin(1e-9));
  CHECK(value(v, "SN-MP") == Approx(acos_angle(vec("S", "N"), vec("Go", "Me"))).margin(1e-9));
  CHECK(value(v, "FH-MP") == Approx(acos_angle(fh, vec("Go", "Me"))).margin(1e-9));
}

TEST_CASE("measurements: MW is the incisal tip distance, negative when the upper incisor is behind", "[measurements]") {
  face f = {{"LIT", {775, 705}}, {"UIT", {805, 695}}};
  CHECK(value(measure(f, {"LIT", "UIT"}, 0.1), "MW") == Approx(std::hypot(30, 10) * 0.1).epsilon(1e-12));
  CHECK(class_id(measure(f, {"LIT", "UIT"}, 0.1), "MW") == "C1");
  f["UIT"] = {745, 695};
  CHECK(value(measure(f, {"LIT", "UIT"}, 0.1), "MW") == Approx(-std::hypot(30, 10) * 0.1).epsilon(1e-12));
  CHECK(class_id(measure(f, {"LIT", "UIT"}, 0.1), "MW") == "C3");  // anterior cross bite
  f["UIT"] = {835, 695};                                             // 6.1 mm
  CHECK(class_id(measure(f, {"LIT", "UIT"}, 0.1), "MW") == "C4");  // large overjet
}

TEST_CASE("measurements: Wits projects A and B on the functional occlusal plane", "[measurements]") {
  // Occlusal plane tilted 10 deg down anteriorly, through the molar and
  // premolar overlaps; A 30 px ahead of B along it (3 mm at 0.1 mm/px).
  const double tilt = 10;
  const data::point molars{580, 705};
  const data::point premolars = polar(molars, tilt, 80);
  const data::point a = polar(polar(molars, tilt, 150), tilt - 90, 100);  // 100 px above the plane
  const data::point b = polar(polar(molars, tilt, 120), tilt + 90, 100);  // 100 px below
  face f = {{"A", a},
            {"B", b},
            {"UMT", {molars.x, molars.y - 20}},
            {"LMT", {molars.x, molars.y + 20}},
            {"UPM", {premolars.x, premolars.y - 15}},
            {"LPM", {premolars.x, premolars.y + 15}}};
  const std::vector<std::string> symbols = {"A", "B", "UMT", "LMT", "UPM", "LPM"};
  CHECK(value(measure(f, symbols, 0.1), "Wits") == Approx(3.0).margin(1e-9));
  CHECK(value(measure(f, symbols, 0.2), "Wits") == Approx(6.0).margin(1e-9));
  CHECK_FALSE(measure(f, symbols, 0.1)[index_of("Wits")].class_index);  // reported without classes
  std::swap(f["A"], f["B"]);
  CHECK(value(measure(f, symbols, 0.1), "Wits") == Approx(-3.0).margin(1e-9));  // BO ahead: class III direction
}

TEST_CASE("measurements: ISBI's 19 landmarks give all but Wits, which says why", "[measurements]") {
  const auto v = measure(aariz_template, isbi_symbols);
  const auto& table = metric::cephalometric_measurements();
  for (std::size_t d = 0; d < table.size(); ++d) {
    INFO(table[d].name << ": " << v[d].reason);
    CHECK(v[d].available() == (table[d].name != "Wits"));
  }
  const auto& wits = v[index_of("Wits")];
  CHECK_FALSE(wits.class_index);
  CHECK(wits.reason == "the landmark set has no UMT, LMT, UPM, LPM");
  const cephalometry isbi(data::landmark_set{isbi_symbols, isbi_symbols});
  CHECK_FALSE(isbi.computable(index_of("Wits")));
  CHECK(isbi.computable(index_of("MW")));
}

TEST_CASE("measurements: a landmark not annotated on the image makes only its measurements unavailable", "[measurements]") {
  auto f = aariz_template;
  f.erase("UIT");
  const auto v = measure(f, symbols_of(aariz_template));
  CHECK_FALSE(v[index_of("MW")].available());
  CHECK(v[index_of("MW")].reason == "not annotated on this image: UIT");
  CHECK(v[index_of("SNA")].available());
  CHECK(v[index_of("Wits")].available());
}

TEST_CASE("measurements: without a pixel size only the mm measurements are unavailable", "[measurements]") {
  const auto v = measure(aariz_template, symbols_of(aariz_template), 0.0);
  CHECK(v[index_of("MW")].reason == "no pixel size");
  CHECK(v[index_of("Wits")].reason == "no pixel size");
  CHECK(v[index_of("FHI")].available());
  CHECK(v[index_of("ANB")].available());
}

TEST_CASE("measurements: coincident points give no value rather than a guess", "[measurements]") {
  auto f = aariz_template;
  f["A"] = f["N"];
  const auto v = measure(f);
  CHECK_FALSE(v[index_of("SNA")].available());
  CHECK(v[index_of("SNA")].reason == "coincident points");
  CHECK(v[index_of("SNB")].available());
}

TEST_CASE("measurements: symbols are matched through aliases and case", "[measurements]") {
  const auto f = steiner_face(82.0, 78.0);
  const face renamed = {{"sella", f.at("S")}, {"Na", f.at("N")}, {"A point", f.at("A")}, {"b", f.at("B")}};
  const auto v = measure(renamed, {"sella", "Na", "A point", "b"});
  CHECK(value(v, "SNA") == Approx(82.0).margin(1e-9));
  CHECK(value(v, "ANB") == Approx(4.0).margin(1e-9));
}

TEST_CASE("measurements: class boundaries belong to the normal range", "[measurements]") {
  const auto& table = metric::cephalometric_measurements();
  auto id = [&](const std::string& name, double x) {
    const auto& definition = table[index_of(name)];
    const auto c = metric::classify(definition, x);
    REQUIRE(c);
    return definition.classes[*c].id;
  };
  CHECK(id("ANB", 3.2) == "C1");
  CHECK(id("ANB", 5.7) == "C1");
  CHECK(id("ANB", 5.7001) == "C2");
  CHECK(id("ANB", 3.1999) == "C3");
  CHECK(id("SNB", 74.6) == "C1");
  CHECK(id("SNB", 74.59) == "C2");
  CHECK(id("SNA", 83.21) == "C2");
  CHECK(id("ODI", 68.4) == "C1");
  CHECK(id("APDI", 85.2) == "C1");
  CHECK(id("FMA", 31.41) == "C2");
  CHECK(id("MW", 2.0) == "C1");
  CHECK(id("MW", 4.5) == "C1");
  CHECK(id("MW", 0.0) == "C2");
  CHECK(id("MW", 1.0) == "C2");
  CHECK(id("MW", -0.01) == "C3");
  CHECK(id("MW", 4.51) == "C4");
  // Each definition's terms read points it has, in its own unit.
  for (const auto& definition : table)
    for (const auto& term : definition.terms) {
      INFO(definition.name);
      CHECK((metric::op_unit(term.op) == definition.unit ||
             (definition.unit == metric::measurement_unit::ratio && term.op == metric::geometry_op::distance_ratio)));
      for (std::size_t i = 0; i < metric::op_arity(term.op); ++i) CHECK(term.p[i] < definition.points.size());
    }
}

TEST_CASE("measurements: agreement counts MAE, bias, accuracy and confusion by hand", "[measurements]") {
  const auto& table = metric::cephalometric_measurements();
  const auto anb = index_of("ANB"), mw = index_of("MW");
  auto values = [&](std::optional<double> anb_value, std::optional<double> mw_value) {
    std::vector<measurement_value> out(table.size(), measurement_value{std::nullopt, std::nullopt, "n/a"});
    for (auto [d, x] : {std::pair{anb, anb_value}, std::pair{mw, mw_value}})
      if (x) out[d] = {x, metric::classify(table[d], *x), ""};
    return out;
  };
  metric::measurement_agreement agreement;
  agreement.add(values(4.0, 3.0), values(5.0, std::nullopt));  // C1 -> C1; MW lost
  agreement.add(values(6.0, std::nullopt), values(5.0, 3.0));  // C2 -> C1; MW without truth
  agreement.add(values(2.0, std::nullopt), values(1.0, std::nullopt));  // C3 -> C3
  const auto& s = agreement.of(anb);
  CHECK(s.count == 3);
  CHECK(*s.mae() == Approx(1.0));
  CHECK(*s.bias() == Approx(-1.0 / 3.0));
  CHECK(*s.accuracy() == Approx(2.0 / 3.0));
  CHECK(s.confusion == std::vector<std::vector<std::size_t>>{{1, 0, 0}, {1, 0, 0}, {0, 0, 1}});
  CHECK(agreement.of(mw).count == 0);
  CHECK(agreement.of(mw).truth_only == 1);

  const auto json = agreement.json();
  CHECK(json["images"] == 3);
  CHECK(json["measurements"]["ANB"]["unit"] == "deg");
  CHECK(json["measurements"]["ANB"]["confusion"][1][0] == 1);
  CHECK(json["measurements"]["ANB"]["classes"][2]["label"] == "class III");
  CHECK(json["measurements"]["MW"]["mae"].is_null());
  CHECK_FALSE(json["measurements"]["Wits"].contains("accuracy"));
  const auto table_text = agreement.markdown(true);
  CHECK_THAT(table_text, Catch::Contains("| ANB | deg | 3 | 1.00 | -0.33 | 66.7% (2/3) |"));
  CHECK_THAT(table_text, Catch::Contains("| Wits | mm | 0 | n/a | n/a | - |"));
  CHECK_THAT(table_text, Catch::Contains("| C2 class II | 1 | 0 | 0 |"));
}

TEST_CASE("measurements: the per-image JSON names value, class and why a value is missing", "[measurements]") {
  const auto& table = metric::cephalometric_measurements();
  const auto json = metric::measurements_json(table, measure(steiner_face(82.0, 78.0)));
  CHECK(json["SNA"]["unit"] == "deg");
  CHECK(json["SNA"]["value"].get<double>() == Approx(82.0));
  CHECK(json["SNA"]["class"] == "C1");
  CHECK(json["SNA"]["label"] == "normal maxilla");
  CHECK(json["Wits"]["value"].is_null());
  CHECK(json["Wits"]["reason"] == "the landmark set has no UMT, LMT, UPM, LPM");
  CHECK(json.size() == table.size());
}
