#pragma once
// A model's 4-D weights and buffers in one memory format (NHWC for
// channels-last). set_data keeps each tensor's identity, so references to it
// (an optimizer built afterwards, EMA's list) see the converted tensors.
// Used by policy::channels_last, the start-up timing of `auto` switches and
// the GPU bench, so the three convert alike.
#include <torch/torch.h>

namespace mixtrain {

inline void set_memory_format(torch::nn::Module& model, torch::MemoryFormat format) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters())
    if (p.dim() == 4) p.set_data(p.contiguous(format));
  for (auto& b : model.buffers())
    if (b.dim() == 4) b.set_data(b.contiguous(format));
}

}  // namespace mixtrain
