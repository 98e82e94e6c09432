// Prints the axis values compiled in, as mixtrain_variant.hpp gives them.
#include <iostream>

#include <mixtrain_variant.hpp>

namespace v = mixtrain::variant;

int main() {
  static_assert(v::amp == "off" || v::amp == "bf16");
  std::cout << v::name << " amp=" << v::amp << " width=" << v::width << " channels_last=" << v::channels_last << "\n";
}
