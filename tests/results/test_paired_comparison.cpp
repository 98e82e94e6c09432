// Paired comparison of two models: the Wilcoxon signed-rank test against hand
// values, a textbook example and brute-force enumeration of sign assignments;
// compare() against hand-computed rows, A/B symmetry and bootstrap behaviour.
#include <catch2/catch.hpp>

#include <mixtrain/metric/paired_comparison.hpp>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

using namespace mixtrain;
using metric::wilcoxon_method;

namespace {
const double missing = std::numeric_limits<double>::quiet_NaN();

// Independent reference: enumerate all 2^n sign assignments of ranks 1..n
// and count those with W+ at or below / at or above the observed value.
double brute_force_p(int n, int observed_w_plus) {
  long long lower = 0, upper = 0;
  for (long long mask = 0; mask < (1LL << n); ++mask) {
    int w = 0;
    for (int i = 0; i < n; ++i)
      if (mask >> i & 1) w += i + 1;
    lower += w <= observed_w_plus;
    upper += w >= observed_w_plus;
  }
  return std::min(1.0, 2.0 * static_cast<double>(std::min(lower, upper)) / static_cast<double>(1LL << n));
}

metric::error_table random_table(std::size_t images, std::size_t landmarks, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.2, 4.0);
  metric::error_table t(images, std::vector<double>(landmarks));
  for (auto& row : t)
    for (auto& e : row) e = u(rng);
  return t;
}
}  // namespace

TEST_CASE("Wilcoxon: five positive differences give the exact p of 2 over 32", "[compare]") {
  const std::vector<double> d = {0.1, 0.4, 0.2, 0.5, 0.3};
  const auto r = metric::wilcoxon_signed_rank(d);
  CHECK(r.method == wilcoxon_method::exact);
  CHECK(r.n == 5);
  CHECK(r.w_plus == 15);
  CHECK(r.w_minus == 0);
  CHECK(r.statistic == 0);
  CHECK(r.p_value == Approx(2.0 / 32.0));
}

TEST_CASE("Wilcoxon: n = 10 and W = 8 gives the tabled two-sided p of 50 over 1024", "[compare]") {
  // Ranks 1, 3, 4 negative: W- = 8, W+ = 47. P(W+ <= 8) = 25/1024 for n = 10,
  // the two-sided 5 % critical value in textbook tables.
  std::vector<double> d;
  for (int i = 1; i <= 10; ++i) d.push_back((i == 1 || i == 3 || i == 4) ? -i : i);
  const auto r = metric::wilcoxon_signed_rank(d);
  CHECK(r.method == wilcoxon_method::exact);
  CHECK(r.statistic == 8);
  CHECK(r.p_value == Approx(50.0 / 1024.0));
}

TEST_CASE("Wilcoxon: the exact null matches brute-force enumeration up to n = 12", "[compare]") {
  std::mt19937 rng(7);
  for (int n = 1; n <= 12; ++n) {
    const long long masks = n <= 9 ? (1LL << n) : 200;  // every sign pattern for small n
    for (long long m = 0; m < masks; ++m) {
      const long long mask = n <= 9 ? m : static_cast<long long>(rng() % (1u << n));
      std::vector<double> d;
      int w_plus = 0;
      for (int i = 0; i < n; ++i) {
        const bool positive = mask >> i & 1;
        d.push_back((positive ? 1 : -1) * 0.37 * (i + 1));
        if (positive) w_plus += i + 1;
      }
      d.push_back(0.0);  // a zero is dropped, not ranked
      std::shuffle(d.begin(), d.end(), rng);
      const auto r = metric::wilcoxon_signed_rank(d);
      INFO("n = " << n << ", mask = " << mask);
      REQUIRE(r.method == wilcoxon_method::exact);
      REQUIRE(r.n == static_cast<std::size_t>(n));
      REQUIRE(r.zeros == 1);
      REQUIRE(r.w_plus == w_plus);
      REQUIRE(r.p_value == Approx(brute_force_p(n, w_plus)).epsilon(1e-12));
    }
  }
}

TEST_CASE("Wilcoxon: textbook example with ties uses the normal approximation", "[compare]") {
  // The Wikipedia example: differences 15, -7, 5, 20, 0, -9, 17, -12, 5, -10.
  // The zero is dropped (n = 9); |5| twice shares rank 1.5. W+ = 1.5 + 1.5 + 7
  // + 8 + 9 = 27, W- = 18. Variance 9*10*19/24 - (2^3 - 2)/48 = 71.125;
  // z = (27 - 22.5 - 0.5) / sqrt(71.125) = 0.47430, p = 0.63529.
  const std::vector<double> d = {15, -7, 5, 20, 0, -9, 17, -12, 5, -10};
  const auto r = metric::wilcoxon_signed_rank(d);
  CHECK(r.method == wilcoxon_method::normal);
  CHECK(r.n == 9);
  CHECK(r.zeros == 1);
  CHECK(r.w_plus == 27);
  CHECK(r.w_minus == 18);
  CHECK(r.statistic == 18);
  CHECK(r.z == Approx(4.0 / std::sqrt(71.125)));
  CHECK(r.p_value == Approx(0.6352893188).epsilon(1e-8));
}

TEST_CASE("Wilcoxon: three tie groups, z worked by hand", "[compare]") {
  // |d| sorted 1 1 2 2 2 3 4 5 5 -> ranks 1.5 1.5 4 4 4 6 7 8.5 8.5.
  // W+ = 1.5 + 12 + 7 + 17 = 37.5, W- = 1.5 + 6 = 7.5. Ties t = 2, 3, 2:
  // variance 71.25 - (6 + 24 + 6)/48 = 70.5; z = (15 - 0.5)/sqrt(70.5) = 1.72692,
  // p = erfc(z / sqrt 2) = 0.0841812.
  const std::vector<double> d = {0, 1, -1, 2, 2, 2, -3, 4, 5, 5};
  const auto r = metric::wilcoxon_signed_rank(d);
  CHECK(r.method == wilcoxon_method::normal);
  CHECK(r.w_plus == 37.5);
  CHECK(r.w_minus == 7.5);
  CHECK(r.z == Approx(14.5 / std::sqrt(70.5)));
  CHECK(r.p_value == Approx(0.0841811574).epsilon(1e-8));
  // Negating the differences mirrors W and z and keeps p.
  std::vector<double> neg;
  for (double x : d) neg.push_back(-x);
  const auto m = metric::wilcoxon_signed_rank(neg);
  CHECK(m.w_plus == 7.5);
  CHECK(m.z == Approx(-r.z));
  CHECK(m.p_value == r.p_value);
}

TEST_CASE("Wilcoxon: above the exact limit the normal approximation is close to the exact p", "[compare]") {
  // n = 40 distinct: exact by default, normal when the limit is lowered.
  std::vector<double> d;
  for (int i = 1; i <= 40; ++i) d.push_back(i % 3 == 0 ? -i : i);
  const auto exact = metric::wilcoxon_signed_rank(d);
  const auto normal = metric::wilcoxon_signed_rank(d, 10);
  REQUIRE(exact.method == wilcoxon_method::exact);
  REQUIRE(normal.method == wilcoxon_method::normal);
  CHECK(exact.w_plus == normal.w_plus);
  // Hand: W- = 3(1 + ... + 13) = 273, W+ = 820 - 273 = 547; mean 410,
  // variance 40*41*81/24 = 5535, z = (137 - 0.5)/sqrt(5535).
  CHECK(normal.w_plus == 547);
  CHECK(normal.z == Approx(136.5 / std::sqrt(5535.0)));
  CHECK(normal.p_value == Approx(std::erfc(normal.z / std::sqrt(2.0))));
  CHECK(normal.p_value == Approx(exact.p_value).margin(0.002));
}

TEST_CASE("Wilcoxon: no non-zero differences give p = 1", "[compare]") {
  const auto empty = metric::wilcoxon_signed_rank(std::vector<double>{});
  CHECK(empty.method == wilcoxon_method::none);
  CHECK(empty.p_value == 1);
  const auto zeros = metric::wilcoxon_signed_rank(std::vector<double>{0, 0, 0});
  CHECK(zeros.n == 0);
  CHECK(zeros.zeros == 3);
  CHECK(zeros.p_value == 1);
  // One non-zero difference: exact, P(W+ >= 1) = 1/2 each side, p = 1.
  CHECK(metric::wilcoxon_signed_rank(std::vector<double>{0.3}).p_value == 1);
}

TEST_CASE("Holm adjustment and percentile quantiles match hand values", "[compare]") {
  // Sorted 0.01, 0.03, 0.04 -> 3*0.01 = 0.03, 2*0.03 = 0.06, max(0.06, 0.04) = 0.06.
  const auto h = metric::holm_adjust({0.01, 0.04, 0.03});
  CHECK(h[0] == Approx(0.03));
  CHECK(h[1] == Approx(0.06));
  CHECK(h[2] == Approx(0.06));
  CHECK(metric::holm_adjust({0.5, 0.6})[0] == 1.0);  // capped at 1
  // Type 7: h = 0.25 * 4 = 1 -> 2; h = 0.9 * 4 = 3.6 -> 4 + 0.6 * 6.
  const std::vector<double> v = {1, 2, 3, 4, 10};
  CHECK(metric::quantile_sorted(v, 0.25) == Approx(2));
  CHECK(metric::quantile_sorted(v, 0.9) == Approx(7.6));
  CHECK(metric::quantile_sorted(v, 1.0) == 10);
}

TEST_CASE("compare: landmark and overall rows match hand values", "[compare]") {
  const metric::error_table a = {{1.0, 2.0}, {2.0, missing}, {3.0, 1.0}};
  const metric::error_table b = {{1.5, 1.0}, {1.0, missing}, {3.5, 2.0}};
  const auto c = metric::compare(a, b, {"sella", "nasion"}, {.resamples = 500});
  REQUIRE(c.landmarks.size() == 2);
  // sella: differences +0.5, -1, +0.5 -> ties, W+ = 1.5 + 1.5 = 3 = W-.
  const auto& s = c.landmarks[0];
  CHECK(s.name == "sella");
  CHECK(s.n == 3);
  CHECK(s.mean_a_mm == Approx(2.0));
  CHECK(s.mean_b_mm == Approx(2.0));
  CHECK(s.mean_difference_mm == Approx(0.0).margin(1e-12));
  CHECK(s.median_difference_mm == Approx(0.5));
  CHECK(s.test.method == wilcoxon_method::normal);
  CHECK(s.test.w_plus == 3);
  CHECK(s.test.p_value == 1);
  // nasion is missing in image 2: two pairs, -1 and +1.
  CHECK(c.landmarks[1].n == 2);
  CHECK(c.landmarks[1].mean_a_mm == Approx(1.5));
  // Overall: per-image MRE differences -0.25, -1, +0.75 (distinct -> exact);
  // ranks 1, 3, 2 -> W+ = 2; n = 3: P(W+ <= 2) = 3/8 -> p = 0.75.
  const auto& o = c.overall;
  CHECK(o.n == 3);
  CHECK(o.pairs == 5);
  CHECK(o.mean_a_mm == Approx(1.8));
  CHECK(o.mean_b_mm == Approx(1.8));
  CHECK(o.median_difference_mm == Approx(-0.25));
  CHECK(o.test.method == wilcoxon_method::exact);
  CHECK(o.test.w_plus == 2);
  CHECK(o.test.p_value == Approx(0.75));
  CHECK(o.verdict(0.05) == "no significant difference (p = 0.750)");
  CHECK(o.resamples_used == 500);
  CHECK(o.ci_low_mm <= o.ci_high_mm);
}

TEST_CASE("compare: one image gives a degenerate interval at its difference", "[compare]") {
  const auto c = metric::compare({{1.0, 3.0}}, {{2.0, 2.5}}, {}, {.resamples = 100});
  CHECK(c.landmarks[0].name == "L1");
  CHECK(c.overall.ci_low_mm == Approx(0.25));
  CHECK(c.overall.ci_high_mm == Approx(0.25));
  CHECK(c.landmarks[1].ci_low_mm == Approx(-0.5));
}

TEST_CASE("compare: swapping A and B negates the differences and keeps p", "[compare]") {
  auto a = random_table(25, 4, 1), b = random_table(25, 4, 2);
  a[3][1] = b[3][1] = missing;
  a[7][2] = b[7][2] = missing;
  const auto ab = metric::compare(a, b), ba = metric::compare(b, a);
  const auto check = [](const metric::comparison_row& x, const metric::comparison_row& y) {
    CHECK(x.n == y.n);
    CHECK(x.test.p_value == y.test.p_value);
    CHECK(x.test.statistic == y.test.statistic);
    CHECK(x.test.w_plus == y.test.w_minus);
    CHECK(x.p_holm == y.p_holm);
    CHECK(x.mean_difference_mm == Approx(-y.mean_difference_mm).margin(1e-12));
    CHECK(x.median_difference_mm == Approx(-y.median_difference_mm).margin(1e-12));
    CHECK(x.ci_low_mm == Approx(-y.ci_high_mm).margin(1e-12));
    CHECK(x.ci_high_mm == Approx(-y.ci_low_mm).margin(1e-12));
  };
  check(ab.overall, ba.overall);
  for (std::size_t k = 0; k < 4; ++k) check(ab.landmarks[k], ba.landmarks[k]);
  CHECK(ab.landmarks[1].n == 24);
}

TEST_CASE("compare: the bootstrap interval contains a constructed shift and is reproducible", "[compare]") {
  // B = A + 0.3 + e, where images 2j and 2j + 1 get e = +u and -u: the true
  // (and sample) mean difference is 0.3 for every landmark and overall.
  const std::size_t images = 40, landmarks = 3;
  const auto a = random_table(images, landmarks, 11);
  const auto u = random_table(images / 2, landmarks, 12);  // |e| in [0.2, 4] / 10
  auto b = a;
  for (std::size_t i = 0; i < images; ++i)
    for (std::size_t k = 0; k < landmarks; ++k) b[i][k] += 0.3 + (i % 2 ? -0.1 : 0.1) * u[i / 2][k];
  const auto c = metric::compare(a, b, {}, {.label_a = "old.pt", .label_b = "new.pt"});
  CHECK(c.overall.mean_difference_mm == Approx(0.3));
  CHECK(c.overall.ci_low_mm < 0.3);
  CHECK(c.overall.ci_high_mm > 0.3);
  CHECK(c.overall.ci_low_mm > 0.0);  // clearly excludes no difference
  // Width near the normal interval's 2 * 1.96 * s / sqrt(n), s the sample SD
  // of the per-image mean differences (equal weights: no landmark is missing).
  std::vector<double> d(images);
  double mean = 0, squares = 0;
  for (std::size_t i = 0; i < images; ++i) {
    for (std::size_t k = 0; k < landmarks; ++k) d[i] += (b[i][k] - a[i][k]) / landmarks;
    mean += d[i] / images;
  }
  for (double x : d) squares += (x - mean) * (x - mean);
  const double normal_width = 2 * 1.96 * std::sqrt(squares / (images - 1)) / std::sqrt(double(images));
  CHECK(c.overall.ci_high_mm - c.overall.ci_low_mm == Approx(normal_width).epsilon(0.15));
  for (const auto& r : c.landmarks) {
    CHECK(r.ci_low_mm < 0.3);
    CHECK(r.ci_high_mm > 0.3);
    CHECK(r.resamples_used == 10000);
    CHECK(r.verdict(0.05).rfind("A better, p = ", 0) == 0);
  }
  CHECK(c.overall.verdict(0.05).rfind("A better, p = ", 0) == 0);
  const auto again = metric::compare(a, b);
  CHECK(again.overall.ci_low_mm == c.overall.ci_low_mm);
  CHECK(again.overall.ci_high_mm == c.overall.ci_high_mm);
  CHECK(again.landmarks[2].ci_low_mm == c.landmarks[2].ci_low_mm);
  const auto other_seed = metric::compare(a, b, {}, {.seed = 99});
  CHECK(other_seed.overall.ci_low_mm != c.overall.ci_low_mm);
  CHECK(other_seed.overall.ci_low_mm == Approx(c.overall.ci_low_mm).margin(0.02));
}

TEST_CASE("compare: the percentile interval covers a known shift about 95 percent of the time", "[compare]") {
  // 200 simulated splits of 30 images, differences N(0.5, 1): the interval
  // should contain 0.5 in roughly 95 % of them (percentile intervals run a
  // little short at n = 30, so the band is 88 % to 99 %).
  std::mt19937_64 rng(2024);
  std::normal_distribution<double> noise(0.5, 1.0);
  int covered = 0;
  for (int trial = 0; trial < 200; ++trial) {
    metric::error_table a(30, std::vector<double>(1, 5.0)), b = a;
    for (auto& row : b) row[0] += noise(rng);
    const auto c = metric::compare(a, b, {}, {.resamples = 2000, .seed = static_cast<std::uint64_t>(trial)});
    covered += c.overall.ci_low_mm <= 0.5 && 0.5 <= c.overall.ci_high_mm;
  }
  CHECK(covered >= 176);
  CHECK(covered <= 198);
}

TEST_CASE("compare: a landmark missing in only one model, or mismatched shapes, throws", "[compare]") {
  CHECK_THROWS_AS(metric::compare({{1.0, missing}}, {{1.0, 2.0}}), std::invalid_argument);
  CHECK_THROWS_AS(metric::compare({{1.0}}, {{1.0}, {2.0}}), std::invalid_argument);
  CHECK_THROWS_AS(metric::compare({{1.0, 2.0}}, {{1.0}}), std::invalid_argument);
  CHECK_THROWS_AS(metric::compare({{1.0}}, {{1.0}}, {"a", "b"}), std::invalid_argument);
  CHECK_THROWS_AS(metric::compare({{1.0}}, {{std::numeric_limits<double>::infinity()}}), std::invalid_argument);
}

TEST_CASE("compare: a landmark absent everywhere, and identical models, give p = 1", "[compare]") {
  const metric::error_table a = {{1.0, missing}, {2.0, missing}};
  const auto c = metric::compare(a, a);
  CHECK(c.landmarks[1].n == 0);
  CHECK(c.landmarks[1].test.p_value == 1);
  CHECK(c.landmarks[1].resamples_used == 0);
  CHECK(std::isnan(c.landmarks[1].ci_low_mm));
  CHECK(c.landmarks[1].verdict(0.05) == "no pairs");
  CHECK(c.landmarks[0].test.zeros == 2);
  CHECK(c.landmarks[0].verdict(0.05) == "no difference (all pairs equal)");
  CHECK(c.json()["landmarks"][1]["ci_mm"][0].is_null());
  CHECK(c.markdown().find("| L2 | 0 | – | – | – | – | – | 0 (none) | 1 | 1 | no pairs |") != std::string::npos);
}

TEST_CASE("compare: small p values keep two significant digits in the verdict", "[compare]") {
  // Eight images, B better on each: exact p = 2/256 = 0.0078125.
  metric::error_table a, b;
  for (int i = 1; i <= 8; ++i) a.push_back({2.0}), b.push_back({2.0 - 0.1 * i});
  const auto c = metric::compare(a, b);
  CHECK(c.overall.test.p_value == Approx(2.0 / 256.0));
  CHECK(c.overall.verdict(0.05) == "B better, p = 0.0078");
  CHECK(c.landmarks[0].verdict(0.05) == "B better, p = 0.0078, Holm 0.0078");
}

TEST_CASE("compare: JSON and Markdown carry the rows and the verdicts", "[compare]") {
  // Five images, B better by 0.1 to 0.5 mm on both landmarks.
  metric::error_table a = {{2, 3}, {2, 3}, {2, 3}, {2, 3}, {2, 3}}, b = a;
  for (std::size_t i = 0; i < 5; ++i) b[i][0] -= 0.1 * (i + 1), b[i][1] -= 0.1 * (i + 1) + 0.05;
  const auto c = metric::compare(a, b, {"sella", "nasion"}, {.label_a = "run/best.pt", .label_b = "other.pt"});
  // Each landmark: 5 negative distinct differences -> exact p = 2/32; Holm over
  // two landmarks gives 0.125, not significant; the overall p = 0.0625 too.
  CHECK(c.landmarks[0].test.p_value == Approx(0.0625));
  CHECK(c.landmarks[0].p_holm == Approx(0.125));
  CHECK(c.landmarks[0].verdict(0.05) == "no significant difference (p = 0.062, Holm 0.125)");
  CHECK(c.landmarks[0].verdict(0.1) == "no significant difference (p = 0.062, Holm 0.125)");
  CHECK(c.landmarks[0].verdict(0.2) == "B better, p = 0.062, Holm 0.125");
  CHECK(c.overall.verdict(0.1) == "B better, p = 0.062");

  const auto j = c.json();
  CHECK(j["a"] == "run/best.pt");
  CHECK(j["b"] == "other.pt");
  CHECK(j["bootstrap"]["resamples"] == 10000);
  CHECK(j["bootstrap"]["seed"] == 12);
  CHECK(j["overall"]["n"] == 5);
  CHECK(j["overall"]["pairs"] == 10);
  CHECK(j["overall"]["wilcoxon"]["method"] == "exact");
  CHECK(j["overall"]["wilcoxon"]["z"].is_null());
  CHECK(j["landmarks"].size() == 2);
  CHECK(j["landmarks"][1]["name"] == "nasion");
  CHECK(j["landmarks"][1]["mean_difference_mm"].get<double>() == Approx(-0.35));
  CHECK(j["landmarks"][0]["ci_mm"].size() == 2);
  CHECK(j["landmarks"][0]["verdict"] == "no significant difference (p = 0.062, Holm 0.125)");

  const auto md = c.markdown();
  CHECK(md.find("A = run/best.pt, B = other.pt") != std::string::npos);
  CHECK(md.find("| **overall** | 5 images | 2.500 | 2.175 | -0.325 |") != std::string::npos);
  CHECK(md.find("| sella | 5 | 2.000 | 1.700 | -0.300 |") != std::string::npos);
  CHECK(md.find("| 0 (exact) | 0.0625 | 0.125 | no significant difference") != std::string::npos);
  CHECK(md.find("not independent") != std::string::npos);
}

TEST_CASE("image_radial_errors gives NaN where the truth lacks a landmark", "[compare]") {
  data::annotated_image truth;
  truth.landmarks = {{10, 10}, {0, 0}};
  truth.present = {1, 0};
  truth.pixel_size_mm = 0.1;
  const auto e = metric::image_radial_errors(truth, {{13, 14}, {5, 5}});
  CHECK(e[0] == Approx(0.5));  // 3-4-5 triangle: 5 px
  CHECK(std::isnan(e[1]));
}
