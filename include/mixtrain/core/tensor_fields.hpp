#pragma once
// The tensors of a task's device batch, visited in declaration order. A
// device batch is a plain aggregate of tensors (and of such aggregates: the
// landmarks of landmarks_and_classes), so a policy that must copy whole
// batches (cuda_graph's static batch) needs no per-task code: the fields are
// reached through structured bindings, their number found by which brace
// initialisations compile.
#include <cstddef>
#include <tuple>
#include <type_traits>
#include <utility>

#include <torch/torch.h>

namespace mixtrain {

namespace tensor_fields_detail {

// Converts to any field type; only named in unevaluated requires-expressions.
struct any_field {
  template <class T>
  operator T() const;
};

template <class T, class... Fields>
constexpr std::size_t field_count() {
  if constexpr (requires { T{Fields{}..., any_field{}}; }) return field_count<T, Fields..., any_field>();
  else return sizeof...(Fields);
}

template <class T>
inline constexpr bool is_tensor = std::is_same_v<std::remove_const_t<T>, torch::Tensor>;

// References to the fields of an aggregate of up to six.
template <class T>
auto tie_fields(T& value) {
  using plain = std::remove_const_t<T>;
  static_assert(std::is_aggregate_v<plain>,
                "a device batch holds torch::Tensor fields and aggregates of them only (no constructors, no other types)");
  constexpr auto n = field_count<plain>();
  static_assert(n >= 1 && n <= 6, "a device batch aggregate has between 1 and 6 fields");
  if constexpr (n == 1) {
    auto& [a] = value;
    return std::tie(a);
  } else if constexpr (n == 2) {
    auto& [a, b] = value;
    return std::tie(a, b);
  } else if constexpr (n == 3) {
    auto& [a, b, c] = value;
    return std::tie(a, b, c);
  } else if constexpr (n == 4) {
    auto& [a, b, c, d] = value;
    return std::tie(a, b, c, d);
  } else if constexpr (n == 5) {
    auto& [a, b, c, d, e] = value;
    return std::tie(a, b, c, d, e);
  } else {
    auto& [a, b, c, d, e, f] = value;
    return std::tie(a, b, c, d, e, f);
  }
}

}  // namespace tensor_fields_detail

// f(tensor) for each tensor of `batch`, depth first in declaration order.
template <class Batch, class F>
void for_each_tensor(Batch& batch, F&& f) {
  if constexpr (tensor_fields_detail::is_tensor<Batch>) {
    f(batch);
  } else {
    std::apply([&](auto&... field) { (for_each_tensor(field, f), ...); }, tensor_fields_detail::tie_fields(batch));
  }
}

// f(a_tensor, b_tensor) for the tensors of two batches of one type, pairwise.
template <class A, class B, class F>
void for_each_tensor_pair(A& a, B& b, F&& f) {
  static_assert(std::is_same_v<std::remove_const_t<A>, std::remove_const_t<B>>, "both batches must have one type");
  if constexpr (tensor_fields_detail::is_tensor<A>) {
    f(a, b);
  } else {
    auto fields_a = tensor_fields_detail::tie_fields(a);
    auto fields_b = tensor_fields_detail::tie_fields(b);
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (for_each_tensor_pair(std::get<I>(fields_a), std::get<I>(fields_b), f), ...);
    }(std::make_index_sequence<std::tuple_size_v<decltype(fields_a)>>{});
  }
}

}  // namespace mixtrain
