#!/usr/bin/python3
"""PyTorch reference of mixtrain's HRNet (include/mixtrain/model/hrnet.hpp).

Same architecture and parameter names as the C++ model and as the public
HRNet pose implementation (Sun et al., CVPR 2019), so that state dicts move
between them without renaming. Used to
  * check parameter counts:      hrnet_reference.py --count
  * produce a weight-import parity case for the C++ test:
        hrnet_reference.py --roundtrip DIR --config small --in_channels 1 ...
  * as the model of benchmarks/hrnet_step_peer.py.

Run with /usr/bin/python3 (Debian's python3-torch).
"""
import argparse
import dataclasses
import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

BN_MOMENTUM = 0.1


@dataclasses.dataclass(frozen=True)
class HRNetConfig:
    width: int = 32                       # C: branch widths are C, 2C, 4C, 8C
    stage_branches: tuple = (2, 3, 4)     # stages 2, 3, 4
    stage_modules: tuple = (1, 4, 3)
    blocks: int = 4                       # basic blocks per branch
    stem_channels: int = 64
    stage1_blocks: int = 4                # bottlenecks in stage 1
    stage1_planes: int = 64
    head_upsample: bool = False           # 1/2-resolution heatmaps via a transposed conv


CONFIGS = {
    "w18": HRNetConfig(width=18),
    "w32": HRNetConfig(width=32),
    "w48": HRNetConfig(width=48),
    "small": HRNetConfig(width=18, stage_modules=(1, 1, 1), blocks=2),
}


def conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, 3, stride, 1, bias=False)


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, inplanes, planes, downsample=None):
        super().__init__()
        self.conv1 = conv3x3(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(out + residual)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv2 = conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes, momentum=BN_MOMENTUM)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4, momentum=BN_MOMENTUM)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        residual = x if self.downsample is None else self.downsample(x)
        return F.relu(out + residual)


def make_layer(block, inplanes, planes, count):
    downsample = None
    if inplanes != planes * block.expansion:
        downsample = nn.Sequential(
            nn.Conv2d(inplanes, planes * block.expansion, 1, bias=False),
            nn.BatchNorm2d(planes * block.expansion, momentum=BN_MOMENTUM))
    layers = [block(inplanes, planes, downsample)]
    layers += [block(planes * block.expansion, planes) for _ in range(count - 1)]
    return nn.Sequential(*layers)


class HighResolutionModule(nn.Module):
    def __init__(self, channels, blocks, multi_scale_output):
        super().__init__()
        n = len(channels)
        self.branches = nn.ModuleList(
            make_layer(BasicBlock, c, c, blocks) for c in channels)
        fuse = []
        for i in range(n if multi_scale_output else 1):
            row = []
            for j in range(n):
                if j > i:    # lower resolution: 1x1 conv to C_i, upsampled in forward
                    row.append(nn.Sequential(
                        nn.Conv2d(channels[j], channels[i], 1, bias=False),
                        nn.BatchNorm2d(channels[i], momentum=BN_MOMENTUM)))
                elif j == i:
                    row.append(None)
                else:        # higher resolution: i - j strided 3x3 convs
                    steps = []
                    for k in range(i - j):
                        last = k == i - j - 1
                        cout = channels[i] if last else channels[j]
                        step = [conv3x3(channels[j], cout, 2),
                                nn.BatchNorm2d(cout, momentum=BN_MOMENTUM)]
                        if not last:
                            step.append(nn.ReLU())
                        steps.append(nn.Sequential(*step))
                    row.append(nn.Sequential(*steps))
            fuse.append(nn.ModuleList(row))
        self.fuse_layers = nn.ModuleList(fuse) if n > 1 else None

    def forward(self, xs):
        xs = [branch(x) for branch, x in zip(self.branches, xs)]
        if self.fuse_layers is None:
            return xs
        out = []
        for i, row in enumerate(self.fuse_layers):
            y = None
            for j, x in enumerate(xs):
                if j == i:
                    z = x
                elif j > i:
                    z = F.interpolate(row[j](x), size=xs[i].shape[-2:], mode="nearest")
                else:
                    z = row[j](x)
                y = z if y is None else y + z
            out.append(F.relu(y))
        return out


def make_transition(pre, cur):
    layers = []
    for i, c in enumerate(cur):
        if i < len(pre):
            if pre[i] == c:
                layers.append(None)
            else:
                layers.append(nn.Sequential(conv3x3(pre[i], c),
                                            nn.BatchNorm2d(c, momentum=BN_MOMENTUM), nn.ReLU()))
        else:  # new branch: strided convs from the lowest-resolution input
            steps = []
            for k in range(i + 1 - len(pre)):
                cout = c if k == i - len(pre) else pre[-1]
                steps.append(nn.Sequential(conv3x3(pre[-1], cout, 2),
                                           nn.BatchNorm2d(cout, momentum=BN_MOMENTUM), nn.ReLU()))
            layers.append(nn.Sequential(*steps))
    return nn.ModuleList(layers)


class HRNet(nn.Module):
    def __init__(self, cfg: HRNetConfig, num_landmarks: int, in_channels: int = 3):
        super().__init__()
        self.cfg = cfg
        stem = cfg.stem_channels
        self.conv1 = conv3x3(in_channels, stem, 2)
        self.bn1 = nn.BatchNorm2d(stem, momentum=BN_MOMENTUM)
        self.conv2 = conv3x3(stem, stem, 2)
        self.bn2 = nn.BatchNorm2d(stem, momentum=BN_MOMENTUM)
        self.layer1 = make_layer(Bottleneck, stem, cfg.stage1_planes, cfg.stage1_blocks)
        pre = [cfg.stage1_planes * Bottleneck.expansion]
        last_stage = len(cfg.stage_branches) - 1
        for s, (branches, modules) in enumerate(zip(cfg.stage_branches, cfg.stage_modules)):
            cur = [cfg.width << b for b in range(branches)]
            setattr(self, f"transition{s + 1}", make_transition(pre, cur))
            setattr(self, f"stage{s + 2}", nn.Sequential(*[
                HighResolutionModule(cur, cfg.blocks,
                                     not (s == last_stage and m == modules - 1))
                for m in range(modules)]))
            pre = cur
        if cfg.head_upsample:
            self.upsample_layer = nn.Sequential(
                nn.ConvTranspose2d(cfg.width, cfg.width, 4, 2, 1, bias=False),
                nn.BatchNorm2d(cfg.width, momentum=BN_MOMENTUM), nn.ReLU())
        self.final_layer = nn.Conv2d(cfg.width, num_landmarks, 1)
        self.init_weights()

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(m.weight, std=0.001)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        ys = [self.layer1(x)]
        for s in range(len(self.cfg.stage_branches)):
            transition = getattr(self, f"transition{s + 1}")
            xs = []
            for i, t in enumerate(transition):
                src = ys[i] if i < len(ys) else ys[-1]
                xs.append(src if t is None else t(src))
            ys = getattr(self, f"stage{s + 2}")(xs)
        y = ys[0]
        if self.cfg.head_upsample:
            y = self.upsample_layer(y)
        return self.final_layer(y)


def count_parameters(model):
    return sum(p.numel() for p in model.parameters())


def roundtrip(args):
    """Random-init model, a checkpoint in the usual training layout (wrapped in
    'state_dict', DataParallel 'module.' prefix, RGB stem) and the expected
    output of the grayscale-converted model on a fixed input."""
    torch.manual_seed(args.seed)
    cfg = dataclasses.replace(CONFIGS[args.config], head_upsample=args.head_upsample)
    model = HRNet(cfg, args.num_landmarks, in_channels=3)
    # Non-trivial weights and BN statistics so a misplaced tensor shows up.
    with torch.no_grad():
        for name, t in model.state_dict().items():
            if name.endswith("running_var"):
                t.copy_(torch.rand_like(t) + 0.5)
            elif t.is_floating_point():
                t.copy_(torch.randn_like(t) * 0.1)
    model.eval()
    os.makedirs(args.roundtrip, exist_ok=True)
    checkpoint = {"epoch": 3, "state_dict": {"module." + k: v for k, v in model.state_dict().items()}}
    torch.save(checkpoint, os.path.join(args.roundtrip, "checkpoint.pth"))

    # The grayscale model the export script's --gray produces: conv1 summed over RGB.
    gray = HRNet(cfg, args.num_landmarks, in_channels=1)
    state = model.state_dict()
    state["conv1.weight"] = state["conv1.weight"].sum(dim=1, keepdim=True)
    gray.load_state_dict(state)
    gray.eval()
    x = torch.randn(2, 1, args.size, args.size, generator=torch.Generator().manual_seed(args.seed + 1))
    with torch.no_grad():
        y = gray(x)
    torch.save({"roundtrip.input": x, "roundtrip.output": y}, os.path.join(args.roundtrip, "io.pth"))
    print(json.dumps({"config": args.config, "params": count_parameters(gray),
                      "output_shape": list(y.shape)}))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--count", action="store_true", help="print parameter counts of the presets")
    p.add_argument("--num_landmarks", type=int, default=17)
    p.add_argument("--in_channels", type=int, default=3)
    p.add_argument("--roundtrip", metavar="DIR", help="write checkpoint.pth and io.pth for the C++ import test")
    p.add_argument("--config", choices=sorted(CONFIGS), default="small")
    p.add_argument("--head_upsample", action="store_true")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    if args.roundtrip:
        roundtrip(args)
    if args.count or not args.roundtrip:
        for name, cfg in CONFIGS.items():
            for up in (False, True):
                model = HRNet(dataclasses.replace(cfg, head_upsample=up), args.num_landmarks, args.in_channels)
                print(json.dumps({"config": name, "head_upsample": up, "num_landmarks": args.num_landmarks,
                                  "in_channels": args.in_channels, "params": count_parameters(model)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
