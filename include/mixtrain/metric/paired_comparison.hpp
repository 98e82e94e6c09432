#pragma once
// Paired comparison of two models' radial errors (mm) on the same split
// (`evaluate --compare`): per landmark and overall, the Wilcoxon signed-rank
// test on B − A and a bootstrap interval for the MRE difference that resamples
// images. Differences are always B − A: negative means B has smaller errors.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numeric>
#include <random>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <mixtrain/data/annotation.hpp>
#include <mixtrain/metric/landmark_metrics.hpp>
#include <mixtrain/core/separate_compilation.hpp>

namespace mixtrain::metric {

// errors[image][landmark] in mm. NaN marks a landmark absent from that image's
// ground truth; it must be NaN in both tables (same truth), else compare() throws.
using error_table = std::vector<std::vector<double>>;

// One image's row of an error_table: NaN where the truth lacks the landmark.
MIXTRAIN_COLD std::vector<double> image_radial_errors(const data::annotated_image& truth,
                                                      const std::vector<data::point>& predicted);

enum class wilcoxon_method { none, exact, normal };

inline const char* to_string(wilcoxon_method m) {
  return m == wilcoxon_method::exact ? "exact" : m == wilcoxon_method::normal ? "normal" : "none";
}

struct wilcoxon_result {
  std::size_t n = 0;      // non-zero differences ranked
  std::size_t zeros = 0;  // zero differences dropped (Wilcoxon's method)
  double w_plus = 0;      // rank sum of positive differences (B worse)
  double w_minus = 0;     // rank sum of negative differences (B better)
  double statistic = 0;   // W = min(W+, W−), as SciPy reports for two-sided tests
  double z = 0;           // normal method only: continuity-corrected, signed like W+ − n(n+1)/4
  double p_value = 1;     // two-sided
  wilcoxon_method method = wilcoxon_method::none;
};

namespace detail {
MIXTRAIN_COLD double normal_cdf(double x);

// Two-sided exact p for integer W+ with ranks 1..n (no ties): the null gives
// every sign assignment probability 2^-n; counts[s] = assignments with W+ = s,
// built one rank at a time. They sum to 2^n: exact in uint64 for n <= 60.
MIXTRAIN_COLD double wilcoxon_exact_p(std::size_t n, long long w_plus);

MIXTRAIN_COLD double median(std::vector<double> v);
}  // namespace detail

// Wilcoxon signed-rank test of "differences are symmetric about 0". Zeros are
// dropped, tied |d| share the average rank (ties are exact equality, as in
// SciPy and R). Exact null when n <= min(exact_max_n, 60) and no ties; otherwise
// the normal approximation with the tie-corrected variance and a continuity
// correction applied to each tail. n = 0 gives p = 1: no non-zero difference
// is no evidence against the null, and the test has nothing to rank.
MIXTRAIN_COLD wilcoxon_result wilcoxon_signed_rank(std::span<const double> differences, std::size_t exact_max_n = 50);

// Holm step-down adjustment (controls the family-wise error over the landmarks).
MIXTRAIN_COLD std::vector<double> holm_adjust(const std::vector<double>& p);

// Linear interpolation between order statistics (R type 7) on sorted values.
MIXTRAIN_COLD double quantile_sorted(const std::vector<double>& sorted, double q);

struct comparison_options {
  std::string label_a = "A", label_b = "B";  // shown in JSON and Markdown (e.g. checkpoint paths)
  std::size_t resamples = 10000;
  std::uint64_t seed = 12;  // fixed so a rerun prints the same interval
  double confidence = 0.95;
  double alpha = 0.05;  // verdict threshold; landmark rows use Holm-adjusted p
  std::size_t exact_max_n = 50;
};

struct comparison_row {
  std::string name;  // landmark name, or "overall"
  std::size_t n = 0;  // paired units tested: images with the landmark; overall: images with any landmark
  std::size_t pairs = 0;  // image-landmark pairs behind the means (== n for a landmark)
  double mean_a_mm = 0, mean_b_mm = 0;
  double mean_difference_mm = 0;    // mean_b − mean_a over the pairs
  double median_difference_mm = 0;  // over the tested units (overall: per-image MRE differences)
  wilcoxon_result test;
  double p_holm = 1;  // landmark rows: Holm over landmarks with n > 0; overall: = p
  double ci_low_mm = std::numeric_limits<double>::quiet_NaN();
  double ci_high_mm = std::numeric_limits<double>::quiet_NaN();
  std::size_t resamples_used = 0;  // resamples holding at least one pair for this row
  bool adjusted = false;  // p_holm differs in meaning from p (landmark rows)

  [[nodiscard]] bool significant(double alpha) const { return test.n > 0 && p_holm < alpha; }

  [[nodiscard]] std::string verdict(double alpha) const;
};

struct paired_comparison {
  comparison_options options;
  comparison_row overall;
  std::vector<comparison_row> landmarks;

  [[nodiscard]] nlohmann::json json() const;

  [[nodiscard]] std::string markdown() const;
};

namespace detail {
// Unbiased index in [0, n) by rejection; unlike std::uniform_int_distribution
// its output is the same in every standard library, so the seed reproduces.
MIXTRAIN_COLD std::size_t draw_index(std::mt19937_64& rng, std::size_t n);

MIXTRAIN_COLD void fill_interval(comparison_row& row, std::vector<double>& stats, double confidence);
}  // namespace detail

// Compares model A with model B. Landmark rows pair images; the overall row
// reports pooled means over all pairs (the usual MRE) but tests per-image MRE
// differences, and its interval resamples whole images, because pairs within
// an image share the image and are not independent.
MIXTRAIN_COLD paired_comparison compare(const error_table& a, const error_table& b, std::vector<std::string> names = {},
                                        comparison_options options = {});

}  // namespace mixtrain::metric

#if MIXTRAIN_COLD_DEFINITIONS_HERE
#include <mixtrain/metric/impl/paired_comparison.ipp>
#endif
