#!/usr/bin/python3
"""Convert a PyTorch checkpoint into a tensor file that mixtrain loads.

The output is `torch.save()` of a plain {name: tensor} dict (contiguous CPU
tensors), which C++ reads with mixtrain::io::load_tensor_file /
load_state_dict_file. Typical use, for a public HRNet pose checkpoint:

    /usr/bin/python3 scripts/export_pytorch_weights.py pose_hrnet_w32_256x192.pth \\
        hrnet_w32_gray.pt --gray --drop-prefix final_layer.

Steps, in order:
  1. unwrap: a dict holding the weights under 'state_dict', 'model' or
     'model_state_dict' (training checkpoints) is unwrapped, repeatedly;
  2. 'module.' prefixes (DataParallel / DistributedDataParallel) are stripped;
  3. --rename OLD=NEW prefix rewrites, --drop-prefix removals;
  4. --gray sums the first conv's weights over its input channels, so an RGB
     stem accepts one grayscale channel with the same response to gray input;
  5. --merge adds the tensors of other torch.save()'d dicts (e.g. test data).

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import collections
import sys

import torch

WRAPPER_KEYS = ("state_dict", "model", "model_state_dict")


def unwrap(obj):
    while isinstance(obj, dict):
        inner = next((obj[k] for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
        if inner is None:
            break
        obj = inner
    if not isinstance(obj, dict):
        raise SystemExit(f"error: the checkpoint holds a {type(obj).__name__}, not a state dict")
    return obj


def strip_module_prefix(state):
    out = collections.OrderedDict()
    for name, value in state.items():
        while name.startswith("module."):
            name = name[len("module."):]
        out[name] = value
    return out


def rename(state, rewrites, drops):
    out = collections.OrderedDict()
    for name, value in state.items():
        if any(name.startswith(d) for d in drops):
            continue
        for old, new in rewrites:
            if name.startswith(old):
                name = new + name[len(old):]
                break
        if name in out:
            raise SystemExit(f"error: two tensors are named '{name}' after renaming")
        out[name] = value
    return out


def to_gray(state, first_conv):
    if first_conv not in state:
        raise SystemExit(f"error: --gray: no tensor '{first_conv}' (set --first-conv)")
    w = state[first_conv]
    if w.dim() != 4:
        raise SystemExit(f"error: --gray: '{first_conv}' has shape {list(w.shape)}, not a conv weight")
    # The sum keeps the response to a gray image (R = G = B) unchanged.
    state[first_conv] = w.sum(dim=1, keepdim=True)
    return state


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="PyTorch checkpoint or state dict (.pth)")
    p.add_argument("output", help="tensor file for mixtrain (.pt)")
    p.add_argument("--gray", action="store_true", help="sum the first conv over input channels (RGB -> 1 channel)")
    p.add_argument("--first-conv", default="conv1.weight", help="name of the first conv weight (after renaming)")
    p.add_argument("--rename", action="append", default=[], metavar="OLD=NEW", help="prefix rewrite, repeatable")
    p.add_argument("--drop-prefix", action="append", default=[], metavar="PREFIX",
                   help="leave out tensors starting with PREFIX, e.g. a head with another landmark count")
    p.add_argument("--keep-module-prefix", action="store_true", help="do not strip 'module.' prefixes")
    p.add_argument("--merge", action="append", default=[], metavar="FILE",
                   help="also copy the tensors of this torch.save()'d dict into the output")
    p.add_argument("--dtype", choices=["keep", "float32"], default="float32",
                   help="floating tensors are written as float32 unless 'keep'")
    args = p.parse_args(argv)

    try:
        checkpoint = torch.load(args.input, map_location="cpu")
    except Exception as e:  # torch raises many kinds; the message is what matters
        raise SystemExit(f"error: cannot load '{args.input}': {e}")
    state = unwrap(checkpoint)
    if not args.keep_module_prefix:
        state = strip_module_prefix(state)
    rewrites = []
    for r in args.rename:
        old, sep, new = r.partition("=")
        if not sep:
            raise SystemExit(f"error: --rename '{r}' is not OLD=NEW")
        rewrites.append((old, new))
    state = rename(state, rewrites, args.drop_prefix)
    if args.gray:
        state = to_gray(state, args.first_conv)
    for extra in args.merge:
        for name, value in unwrap(torch.load(extra, map_location="cpu")).items():
            if name in state:
                raise SystemExit(f"error: --merge {extra}: '{name}' is already in the output")
            state[name] = value

    out = {}
    for name, value in state.items():
        if not isinstance(value, torch.Tensor):
            print(f"skipping non-tensor entry '{name}'", file=sys.stderr)
            continue
        value = value.detach().cpu()
        if args.dtype == "float32" and value.is_floating_point():
            value = value.float()
        out[name] = value.clone().contiguous()  # own storage: no views into shared buffers
    torch.save(out, args.output)  # a plain dict: C++'s pickle loader has no OrderedDict
    print(f"wrote {len(out)} tensors to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
