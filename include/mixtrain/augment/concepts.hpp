#pragma once
// What makes a type an augmentation. Any type from any namespace that meets
// one of the three shapes plugs into a data source's augmentation list:
//
//   geometric:   data::affine sample(std::mt19937_64&, data::input_size) const;
//                double largest_scale() const;
//                Moves image and points together; all geometric augmentations
//                of a sample are fused with the letterbox into ONE warp, and
//                each has an exact inverse (the inverse matrix).
//   photometric: void apply(cv::Mat& image, std::mt19937_64&) const;
//                Changes pixels only (uint8, one channel, at input size).
//   general:     void apply(cv::Mat& image, std::vector<data::point>& points,
//                           std::mt19937_64&) const;
//                Image and points (input pixels) in, image and points out:
//                blur, cutout, elastic warps. A point moved outside the image
//                counts as missing. It may offer an exact inverse for
//                test-time augmentation: `data::point invert(data::point) const`.
//
// Each also has `static constexpr std::string_view name`. Geometric ones run
// first (one warp), then photometric and general ones in recipe order.
#include <concepts>
#include <random>
#include <string_view>
#include <vector>

#include <opencv2/core.hpp>

#include <mixtrain/data/geometry.hpp>

namespace mixtrain::augment {

template <class A>
concept named = requires {
  { A::name } -> std::convertible_to<std::string_view>;
};

template <class A>
concept geometric = named<A> && requires(const A& a, std::mt19937_64& rng, data::input_size input) {
  { a.sample(rng, input) } -> std::same_as<data::affine>;
  { a.largest_scale() } -> std::convertible_to<double>;
};

template <class A>
concept photometric = named<A> && requires(const A& a, cv::Mat& image, std::mt19937_64& rng) {
  { a.apply(image, rng) } -> std::same_as<void>;
};

template <class A>
concept general = named<A> && requires(const A& a, cv::Mat& image, std::vector<data::point>& points,
                                       std::mt19937_64& rng) {
  { a.apply(image, points, rng) } -> std::same_as<void>;
};

template <class A>
concept augmentation = std::copy_constructible<A> && (geometric<A> || photometric<A> || general<A>);

// Known at compile time: whether an augmentation moves points, and whether
// that move can be undone exactly.
template <class A>
inline constexpr bool is_geometric_v = geometric<A> || general<A>;

template <class A>
inline constexpr bool has_inverse_v =
    geometric<A> || photometric<A> || requires(const A& a, data::point p) {
      { a.invert(p) } -> std::same_as<data::point>;
    };

// With a sentence naming the missing shape; the type is named in the instantiation.
template <class A>
struct check_augmentation {
  static_assert(named<A>, "augmentation: missing `static constexpr std::string_view name`.");
  static constexpr bool ok = augmentation<A>;
  static_assert(ok, "augmentation: needs one of sample(rng, input_size) -> data::affine with largest_scale() "
                    "(geometric), apply(cv::Mat&, rng) (photometric) or apply(cv::Mat&, std::vector<data::point>&, "
                    "rng) (general); see augment/concepts.hpp.");
};

}  // namespace mixtrain::augment
