#pragma once
// Definitions of the functions declared in <mixtrain/metric/paired_comparison.hpp>: included at its end
// (header-only), or compiled once into mixtrain_cold (core/separate_compilation.hpp).
#include <mixtrain/metric/paired_comparison.hpp>

namespace mixtrain::metric {

MIXTRAIN_COLD std::string comparison_row::verdict(double alpha) const {
  if (test.n == 0) return n == 0 ? "no pairs" : "no difference (all pairs equal)";
  // 0.062, 0.0016, 8.9e-06: two significant digits at least.
  const auto fp = [](double p) { return p >= 0.01 ? fmt::format("{:.3f}", p) : fmt::format("{:.2g}", p); };
  const std::string p = adjusted ? fmt::format("p = {}, Holm {}", fp(test.p_value), fp(p_holm))
                                 : fmt::format("p = {}", fp(test.p_value));
  if (!significant(alpha)) return fmt::format("no significant difference ({})", p);
  return fmt::format("{} better, {}", test.w_minus > test.w_plus ? "B" : "A", p);
}

MIXTRAIN_COLD nlohmann::json paired_comparison::json() const {
  // NaN (no pairs) becomes null explicitly, for readers of the json value too.
  const auto num = [](double x) { return std::isnan(x) ? nlohmann::json(nullptr) : nlohmann::json(x); };
  const auto row = [&](const comparison_row& r) {
    const auto& t = r.test;
    nlohmann::json w = {{"method", to_string(t.method)}, {"statistic", t.statistic}, {"w_plus", t.w_plus},
                        {"w_minus", t.w_minus},          {"n_nonzero", t.n},         {"zeros", t.zeros},
                        {"p_value", t.p_value}};
    w["z"] = t.method == wilcoxon_method::normal ? nlohmann::json(t.z) : nlohmann::json(nullptr);
    return nlohmann::json{{"name", r.name},
                          {"n", r.n},
                          {"pairs", r.pairs},
                          {"mean_a_mm", num(r.mean_a_mm)},
                          {"mean_b_mm", num(r.mean_b_mm)},
                          {"mean_difference_mm", num(r.mean_difference_mm)},
                          {"median_difference_mm", num(r.median_difference_mm)},
                          {"wilcoxon", w},
                          {"p_holm", r.p_holm},
                          {"ci_mm", {num(r.ci_low_mm), num(r.ci_high_mm)}},
                          {"resamples_used", r.resamples_used},
                          {"significant", r.significant(options.alpha)},
                          {"verdict", r.verdict(options.alpha)}};
  };
  nlohmann::json out = {
      {"a", options.label_a},
      {"b", options.label_b},
      {"difference", "B - A in mm; negative: B has smaller errors"},
      {"alpha", options.alpha},
      {"overall_unit", "image: Wilcoxon on per-image MRE differences"},
      {"bootstrap",
       {{"resamples", options.resamples},
        {"seed", options.seed},
        {"confidence", options.confidence},
        {"unit", "image"},
        {"interval", "percentile"},
        {"rng", "mt19937_64"}}},
      {"overall", row(overall)},
      {"landmarks", nlohmann::json::array()}};
  for (const auto& r : landmarks) out["landmarks"].push_back(row(r));
  return out;
}

MIXTRAIN_COLD std::string paired_comparison::markdown() const {
  std::string s = fmt::format("A = {}, B = {}; differences are B − A in mm (negative: B has smaller errors).\n\n",
                              options.label_a, options.label_b);
  s += fmt::format("| | n | MRE A (mm) | MRE B (mm) | B − A (mm) | median B − A (mm) | {:g}% CI B − A (mm) | W | p | "
                   "p (Holm) | verdict |\n",
                   options.confidence * 100);
  s += "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|---|\n";
  const auto mm = [](double x, bool sign) {
    return std::isnan(x) ? std::string("–") : sign ? fmt::format("{:+.3f}", x) : fmt::format("{:.3f}", x);
  };
  const auto line = [&](const comparison_row& r, const std::string& name, const std::string& n) {
    const auto& t = r.test;
    const auto ci = std::isnan(r.ci_low_mm) ? std::string("–")
                                            : fmt::format("[{}, {}]", mm(r.ci_low_mm, true), mm(r.ci_high_mm, true));
    return fmt::format("| {} | {} | {} | {} | {} | {} | {} | {:g} ({}) | {:.4g} | {} | {} |\n", name, n,
                       mm(r.mean_a_mm, false), mm(r.mean_b_mm, false), mm(r.mean_difference_mm, true),
                       mm(r.median_difference_mm, true), ci, t.statistic, to_string(t.method), t.p_value,
                       r.adjusted ? fmt::format("{:.4g}", r.p_holm) : std::string("–"), r.verdict(options.alpha));
  };
  s += line(overall, "**overall**", fmt::format("{} images", overall.n));
  for (const auto& r : landmarks) s += line(r, r.name, std::to_string(r.n));
  s += fmt::format(
      "\nOverall: means over all {} image-landmark pairs; the test pairs per-image MREs, since landmarks of one image "
      "are not independent. Landmark rows: Holm-adjusted over the {} landmarks with pairs. Intervals: {} bootstrap resamples of "
      "images (seed {}), percentile. Significant: p < {:g}.\n",
      overall.pairs, std::count_if(landmarks.begin(), landmarks.end(), [](const auto& r) { return r.test.n > 0; }),
      options.resamples, options.seed, options.alpha);
  return s;
}

MIXTRAIN_COLD std::vector<double> image_radial_errors(const data::annotated_image& truth,
                                                      const std::vector<data::point>& predicted) {
  std::vector<double> out(truth.landmarks.size(), std::numeric_limits<double>::quiet_NaN());
  for (std::size_t k = 0; k < out.size(); ++k) {
    if (!truth.present[k]) continue;
    out[k] = radial_error_mm(truth, predicted, k);
  }
  return out;
}

namespace detail {

MIXTRAIN_COLD double normal_cdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

MIXTRAIN_COLD double wilcoxon_exact_p(std::size_t n, long long w_plus) {
  const std::size_t max_sum = n * (n + 1) / 2;
  std::vector<std::uint64_t> counts(max_sum + 1, 0);
  counts[0] = 1;
  for (std::size_t r = 1; r <= n; ++r)
    for (std::size_t s = r * (r + 1) / 2; s >= r; --s) counts[s] += counts[s - r];
  std::uint64_t lower = 0, upper = 0;
  for (std::size_t s = 0; s <= max_sum; ++s) {
    if (static_cast<long long>(s) <= w_plus) lower += counts[s];
    if (static_cast<long long>(s) >= w_plus) upper += counts[s];
  }
  const double tail = static_cast<double>(std::min(lower, upper)) / std::ldexp(1.0, static_cast<int>(n));
  return std::min(1.0, 2.0 * tail);
}

MIXTRAIN_COLD double median(std::vector<double> v) {
  if (v.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(v.begin(), v.end());
  const std::size_t h = v.size() / 2;
  return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

}  // namespace detail

MIXTRAIN_COLD wilcoxon_result wilcoxon_signed_rank(std::span<const double> differences, std::size_t exact_max_n) {
  wilcoxon_result r;
  std::vector<double> d;
  for (double x : differences) {
    if (std::isnan(x)) throw std::invalid_argument("wilcoxon_signed_rank: NaN difference");
    if (x == 0.0)
      ++r.zeros;
    else
      d.push_back(x);
  }
  r.n = d.size();
  if (r.n == 0) return r;
  std::sort(d.begin(), d.end(), [](double x, double y) { return std::abs(x) < std::abs(y); });
  double tie_term = 0;  // sum of t^3 − t over tie groups
  bool ties = false;
  for (std::size_t i = 0; i < d.size();) {
    std::size_t j = i;
    while (j + 1 < d.size() && std::abs(d[j + 1]) == std::abs(d[i])) ++j;
    const double t = static_cast<double>(j - i + 1);
    const double rank = 0.5 * static_cast<double>(i + 1 + j + 1);  // average of ranks i+1..j+1
    for (std::size_t q = i; q <= j; ++q) (d[q] > 0 ? r.w_plus : r.w_minus) += rank;
    if (t > 1) ties = true;
    tie_term += t * t * t - t;
    i = j + 1;
  }
  r.statistic = std::min(r.w_plus, r.w_minus);
  const double n = static_cast<double>(r.n);
  if (!ties && r.n <= std::min<std::size_t>(exact_max_n, 60)) {
    r.method = wilcoxon_method::exact;
    r.p_value = detail::wilcoxon_exact_p(r.n, std::llround(r.w_plus));
    return r;
  }
  r.method = wilcoxon_method::normal;
  const double mean = n * (n + 1) / 4;
  const double sd = std::sqrt(n * (n + 1) * (2 * n + 1) / 24 - tie_term / 48);
  const double dev = r.w_plus - mean;
  if (!(sd > 0)) return r;  // cannot happen for n >= 1; kept as a guard
  r.z = std::copysign(std::max(std::abs(dev) - 0.5, 0.0), dev) / sd;
  const double lower = detail::normal_cdf((dev + 0.5) / sd);   // P(W+ <= w)
  const double upper = detail::normal_cdf((-dev + 0.5) / sd);  // P(W+ >= w)
  r.p_value = std::min(1.0, 2.0 * std::min(lower, upper));
  return r;
}

MIXTRAIN_COLD std::vector<double> holm_adjust(const std::vector<double>& p) {
  std::vector<std::size_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return p[x] < p[y]; });
  std::vector<double> out(p.size());
  double running = 0;
  for (std::size_t i = 0; i < order.size(); ++i) {
    running = std::max(running, std::min(1.0, static_cast<double>(p.size() - i) * p[order[i]]));
    out[order[i]] = running;
  }
  return out;
}

MIXTRAIN_COLD double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return std::numeric_limits<double>::quiet_NaN();
  const double h = q * static_cast<double>(sorted.size() - 1);
  const auto lo = static_cast<std::size_t>(std::floor(h));
  if (lo + 1 >= sorted.size()) return sorted.back();
  return sorted[lo] + (h - static_cast<double>(lo)) * (sorted[lo + 1] - sorted[lo]);
}

namespace detail {

MIXTRAIN_COLD std::size_t draw_index(std::mt19937_64& rng, std::size_t n) {
  const std::uint64_t bound = n, threshold = (0 - bound) % bound;  // 2^64 mod n
  std::uint64_t x = rng();
  while (x < threshold) x = rng();
  return static_cast<std::size_t>(x % bound);
}

MIXTRAIN_COLD void fill_interval(comparison_row& row, std::vector<double>& stats, double confidence) {
  row.resamples_used = stats.size();
  if (stats.empty()) return;
  std::sort(stats.begin(), stats.end());
  row.ci_low_mm = quantile_sorted(stats, (1 - confidence) / 2);
  row.ci_high_mm = quantile_sorted(stats, 1 - (1 - confidence) / 2);
}

}  // namespace detail

MIXTRAIN_COLD paired_comparison compare(const error_table& a, const error_table& b, std::vector<std::string> names,
                                        comparison_options options) {
  if (a.size() != b.size()) throw std::invalid_argument("compare: A and B have different numbers of images");
  const std::size_t num_landmarks = a.empty() ? names.size() : a.front().size();
  if (!names.empty() && names.size() != num_landmarks)
    throw std::invalid_argument("compare: landmark names do not match the number of landmarks");
  std::vector<std::vector<double>> diff(a.size(), std::vector<double>(num_landmarks));
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].size() != num_landmarks || b[i].size() != num_landmarks)
      throw std::invalid_argument(fmt::format("compare: image {} has a different number of landmarks", i));
    for (std::size_t k = 0; k < num_landmarks; ++k) {
      if (std::isnan(a[i][k]) != std::isnan(b[i][k]))
        throw std::invalid_argument(fmt::format("compare: image {} landmark {} is missing in only one model", i, k));
      if (std::isinf(a[i][k]) || std::isinf(b[i][k]))
        throw std::invalid_argument(fmt::format("compare: image {} landmark {} is infinite", i, k));
      diff[i][k] = b[i][k] - a[i][k];  // NaN stays NaN
    }
  }

  paired_comparison out;
  const auto fill = [&](comparison_row& row, const std::vector<double>& d, double sum_a, double sum_b,
                        std::size_t pairs, std::size_t n) {
    row.n = n;
    row.pairs = pairs;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    row.mean_a_mm = pairs ? sum_a / static_cast<double>(pairs) : nan;
    row.mean_b_mm = pairs ? sum_b / static_cast<double>(pairs) : nan;
    row.mean_difference_mm = row.mean_b_mm - row.mean_a_mm;
    row.median_difference_mm = detail::median(d);
    row.test = wilcoxon_signed_rank(d, options.exact_max_n);
    row.p_holm = row.test.p_value;
  };

  // Landmark rows.
  std::vector<double> p_tested;
  for (std::size_t k = 0; k < num_landmarks; ++k) {
    comparison_row row;
    row.name = names.empty() ? fmt::format("L{}", k + 1) : names[k];
    row.adjusted = true;
    std::vector<double> d;
    double sa = 0, sb = 0;
    for (std::size_t i = 0; i < a.size(); ++i)
      if (!std::isnan(diff[i][k])) d.push_back(diff[i][k]), sa += a[i][k], sb += b[i][k];
    fill(row, d, sa, sb, d.size(), d.size());
    if (row.test.n > 0) p_tested.push_back(row.test.p_value);
    out.landmarks.push_back(std::move(row));
  }
  const auto adjusted = holm_adjust(p_tested);
  for (std::size_t k = 0, j = 0; k < num_landmarks; ++k)
    if (out.landmarks[k].test.n > 0) out.landmarks[k].p_holm = adjusted[j++];

  // Overall row: images with at least one pair are the units.
  std::vector<std::size_t> units;
  std::vector<double> image_diff;
  double sa = 0, sb = 0;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    double ia = 0, ib = 0;
    std::size_t c = 0;
    for (std::size_t k = 0; k < num_landmarks; ++k)
      if (!std::isnan(diff[i][k])) ia += a[i][k], ib += b[i][k], ++c;
    if (c == 0) continue;
    units.push_back(i);
    image_diff.push_back((ib - ia) / static_cast<double>(c));
    sa += ia, sb += ib, pairs += c;
  }
  out.overall.name = "overall";
  fill(out.overall, image_diff, sa, sb, pairs, units.size());

  // Bootstrap: one draw of images per resample, shared by all rows; a row's
  // statistic is its pooled mean difference over the drawn images' pairs.
  std::vector<std::vector<double>> stats(num_landmarks);
  std::vector<double> overall_stats;
  if (!units.empty() && options.resamples > 0) {
    std::mt19937_64 rng(options.seed);
    std::vector<double> sum(num_landmarks);
    std::vector<std::size_t> count(num_landmarks);
    for (std::size_t r = 0; r < options.resamples; ++r) {
      std::fill(sum.begin(), sum.end(), 0.0);
      std::fill(count.begin(), count.end(), 0);
      for (std::size_t j = 0; j < units.size(); ++j) {
        const auto& row = diff[units[detail::draw_index(rng, units.size())]];
        for (std::size_t k = 0; k < num_landmarks; ++k)
          if (!std::isnan(row[k])) sum[k] += row[k], ++count[k];
      }
      double total = 0;
      std::size_t total_count = 0;
      for (std::size_t k = 0; k < num_landmarks; ++k) {
        total += sum[k], total_count += count[k];
        if (count[k]) stats[k].push_back(sum[k] / static_cast<double>(count[k]));
      }
      overall_stats.push_back(total / static_cast<double>(total_count));
    }
  }
  for (std::size_t k = 0; k < num_landmarks; ++k) detail::fill_interval(out.landmarks[k], stats[k], options.confidence);
  detail::fill_interval(out.overall, overall_stats, options.confidence);
  out.options = std::move(options);
  return out;
}

}  // namespace mixtrain::metric
